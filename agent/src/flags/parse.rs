//! The agent's flag table format over the shared stout-style loader in
//! [`libprocess::flags`]: `--name=value`, `--name` / `--no-name` for booleans,
//! `MESOS_<UPPER_NAME>` in an explicit environment map, defaults from a table.

use std::collections::BTreeMap;

use libprocess::flags::FlagSpec;
pub use libprocess::flags::{parse_bool, parse_bytes, parse_duration, FlagError, FlagKind as Kind};

/// One flag of a component's table.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Canonical name, as `/flags` prints it.
    pub name: &'static str,
    /// How the value is checked.
    pub kind: Kind,
    /// Default value as text; `None` means optional and unset.
    pub default: Option<&'static str>,
}

/// Loads flags from `args` (without the program name) and `env`, over `table`'s defaults.
///
/// Environment variables `<prefix><UPPER_NAME>` that name no flag are ignored (the
/// environment holds many unrelated `MESOS_*` variables, as executors see).
pub fn load(
    table: &[Spec],
    prefix: &str,
    args: &[String],
    env: &BTreeMap<String, String>,
) -> Result<BTreeMap<&'static str, String>, FlagError> {
    let specs: Vec<FlagSpec> = table
        .iter()
        .map(|s| FlagSpec {
            name: s.name,
            aliases: &[],
            kind: s.kind,
            default: s.default,
            help: "",
        })
        .collect();
    let loaded = libprocess::flags::load(
        &specs,
        args.iter().map(String::as_str),
        env.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        prefix,
    )?;
    Ok(loaded.iter().map(|(k, v)| (k, v.to_owned())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[Spec] = &[
        Spec {
            name: "port",
            kind: Kind::Port,
            default: Some("5051"),
        },
        Spec {
            name: "strict",
            kind: Kind::Bool,
            default: Some("true"),
        },
        Spec {
            name: "master",
            kind: Kind::Text,
            default: None,
        },
        Spec {
            name: "gc_delay",
            kind: Kind::Duration,
            default: Some("1weeks"),
        },
    ];

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_env_and_args_in_priority_order() {
        let mut env = BTreeMap::new();
        env.insert("MESOS_PORT".to_string(), "6000".to_string());
        env.insert("MESOS_MASTER".to_string(), "a:1".to_string());
        env.insert("MESOS_UNRELATED".to_string(), "x".to_string());
        let v = load(
            TABLE,
            "MESOS_",
            &args(&["--master=b:2", "--no-strict"]),
            &env,
        )
        .unwrap();
        assert_eq!(v["port"], "6000");
        assert_eq!(v["master"], "b:2");
        assert_eq!(v["strict"], "false");
        assert_eq!(v["gc_delay"], "1weeks");
    }

    #[test]
    fn bad_input_is_an_error_naming_the_flag() {
        let env = BTreeMap::new();
        let e = load(TABLE, "MESOS_", &args(&["--port=70000"]), &env).unwrap_err();
        assert!(e.to_string().contains("'port'") && e.to_string().contains("70000"));
        assert_eq!(
            load(TABLE, "MESOS_", &args(&["--bogus=1"]), &env).unwrap_err(),
            FlagError::Unknown("bogus".into())
        );
        assert_eq!(
            load(TABLE, "MESOS_", &args(&["--master"]), &env).unwrap_err(),
            FlagError::MissingValue("master".into())
        );
        assert_eq!(
            load(TABLE, "MESOS_", &args(&["--no-port"]), &env).unwrap_err(),
            FlagError::NotBoolean("port".into())
        );
        assert_eq!(
            load(TABLE, "MESOS_", &args(&["port=1"]), &env).unwrap_err(),
            FlagError::NotAFlag("port=1".into())
        );
        assert_eq!(
            load(TABLE, "MESOS_", &args(&["--port=1", "--port=2"]), &env).unwrap_err(),
            FlagError::Duplicate("port".into())
        );
    }
}
