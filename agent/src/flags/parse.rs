//! A small stout-style flag loader: `--name=value`, `--name` / `--no-name` for booleans,
//! `MESOS_<UPPER_NAME>` in an explicit environment map, defaults from a table.
//!
//! The master has a fuller parser of the same syntax; once it moves to a shared crate the
//! agent will use it and this module goes away.

use std::collections::BTreeMap;
use std::time::Duration;

/// Errors from loading flags; each names the flag and the bad value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    /// A flag that is not in the table.
    #[error("failed to load unknown flag '{0}'")]
    Unknown(String),
    /// The same flag twice on the command line.
    #[error("duplicate flag '{0}' on command line")]
    Duplicate(String),
    /// A word that is not `--name[=value]`.
    #[error("unexpected argument '{0}' (flags look like --name=value)")]
    NotAFlag(String),
    /// A non-boolean flag without `=value`.
    #[error("flag '{0}' needs a value (--{0}=VALUE)")]
    MissingValue(String),
    /// `--no-name` for a non-boolean flag.
    #[error("flag '{0}' is not a boolean; '--no-{0}' is not allowed")]
    NotBoolean(String),
    /// A value that does not parse as the flag's kind.
    #[error("failed to load flag '{flag}': invalid value '{value}': {reason}")]
    Invalid {
        /// The flag's name.
        flag: String,
        /// The value as given.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
}

/// What a flag's value must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true`/`false`/`1`/`0`.
    Bool,
    /// A stout duration (`15secs`, `1.5mins`).
    Duration,
    /// A stout byte size (`2GB`).
    Bytes,
    /// An unsigned integer.
    Unsigned,
    /// A TCP port (0 allowed).
    Port,
    /// A floating-point number.
    Float,
    /// Free text, checked by the component.
    Text,
}

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
    let mut values: BTreeMap<&'static str, String> = BTreeMap::new();
    for spec in table {
        if let Some(d) = spec.default {
            values.insert(spec.name, d.to_string());
        }
    }
    for spec in table {
        let key = format!("{prefix}{}", spec.name.to_ascii_uppercase());
        if let Some(v) = env.get(&key) {
            check(spec, v)?;
            values.insert(spec.name, v.clone());
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for arg in args {
        let Some(body) = arg.strip_prefix("--") else {
            return Err(FlagError::NotAFlag(arg.clone()));
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let (spec, value) = match (find(table, name), value) {
            (Some(spec), Some(v)) => (spec, v.to_string()),
            (Some(spec), None) if spec.kind == Kind::Bool => (spec, "true".to_string()),
            (Some(spec), None) => return Err(FlagError::MissingValue(spec.name.into())),
            (None, None) => match name.strip_prefix("no-").and_then(|n| find(table, n)) {
                Some(spec) if spec.kind == Kind::Bool => (spec, "false".to_string()),
                Some(spec) => return Err(FlagError::NotBoolean(spec.name.into())),
                None => return Err(FlagError::Unknown(name.into())),
            },
            (None, Some(_)) => return Err(FlagError::Unknown(name.into())),
        };
        if !seen.insert(spec.name) {
            return Err(FlagError::Duplicate(spec.name.into()));
        }
        check(spec, &value)?;
        values.insert(spec.name, value);
    }
    Ok(values)
}

fn find<'a>(table: &'a [Spec], name: &str) -> Option<&'a Spec> {
    table.iter().find(|s| s.name == name)
}

fn check(spec: &Spec, value: &str) -> Result<(), FlagError> {
    let result = match spec.kind {
        Kind::Bool => parse_bool(value).map(|_| ()),
        Kind::Duration => parse_duration(value).map(|_| ()),
        Kind::Bytes => parse_bytes(value).map(|_| ()),
        Kind::Unsigned => value.parse::<u64>().map(|_| ()).map_err(|e| e.to_string()),
        Kind::Port => value.parse::<u16>().map(|_| ()).map_err(|e| e.to_string()),
        Kind::Float => match value.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(()),
            Ok(_) => Err("not a finite number".to_string()),
            Err(e) => Err(e.to_string()),
        },
        Kind::Text => Ok(()),
    };
    result.map_err(|reason| FlagError::Invalid {
        flag: spec.name.into(),
        value: value.into(),
        reason,
    })
}

/// Parses a boolean as stout does (`true`, `false`, `1`, `0`).
pub fn parse_bool(value: &str) -> Result<bool, String> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err("expecting a boolean (true/false)".to_string()),
    }
}

/// Splits `12.5secs` into the number and the unit.
fn split_number(value: &str) -> Result<(f64, &str), String> {
    let end = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (num, unit) = value.split_at(end);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("expecting a number before the unit in '{value}'"))?;
    Ok((n, unit))
}

/// Parses a stout duration: a non-negative number and a unit out of
/// `ns us ms secs mins hrs days weeks`.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let (n, unit) = split_number(value)?;
    let nanos_per = match unit {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "secs" => 1e9,
        "mins" => 60e9,
        "hrs" => 3600e9,
        "days" => 86400e9,
        "weeks" => 7.0 * 86400e9,
        _ => return Err(format!("unknown duration unit '{unit}'")),
    };
    let nanos = n * nanos_per;
    if !nanos.is_finite() || nanos > u64::MAX as f64 {
        return Err("duration out of range".to_string());
    }
    Ok(Duration::from_nanos(nanos as u64))
}

/// Parses a stout byte size: an integer and a unit out of `B KB MB GB TB`.
pub fn parse_bytes(value: &str) -> Result<u64, String> {
    let (n, unit) = split_number(value)?;
    if n.fract() != 0.0 {
        return Err("expecting an integral number of bytes".to_string());
    }
    let shift = match unit {
        "B" => 0,
        "KB" => 10,
        "MB" => 20,
        "GB" => 30,
        "TB" => 40,
        _ => return Err(format!("unknown bytes unit '{unit}'")),
    };
    let n = n as u64;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| "byte size out of range".to_string())
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

    #[test]
    fn durations_and_bytes() {
        assert_eq!(parse_duration("5secs").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1.5mins").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10ms").unwrap(), Duration::from_millis(10));
        assert_eq!(
            parse_duration("1weeks").unwrap(),
            Duration::from_secs(7 * 86400)
        );
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("secs").is_err());
        assert!(parse_duration("-1secs").is_err());
        assert!(parse_duration("1e400secs").is_err());
        assert_eq!(parse_bytes("2GB").unwrap(), 2 << 30);
        assert!(parse_bytes("1.5GB").is_err());
        assert!(parse_bytes("99999999999TB").is_err());
    }
}
