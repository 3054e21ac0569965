//! Flag loading with stout's syntax (the flags library Mesos's libprocess ships), shared by
//! every component: the master, the agent and the `mesos` binary.
//!
//! A component describes its flags as a table of [`FlagSpec`]s; [`load`] reads an explicit
//! argument list and an explicit environment map (never the process environment), checks
//! every value against its [`FlagKind`] and returns the effective `name → value` strings.
//! Values come from, in increasing priority: the default, `<PREFIX><UPPER_NAME>` in the
//! environment, the command line. Typed accessors then parse the checked strings.
//!
//! Durations use stout's units (`ns us ms secs mins hrs days weeks`, fractional numbers
//! allowed: `1.5days`); byte sizes use `B KB MB GB TB` with an integral number.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Errors from loading or converting flags; each names the flag and the bad value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    /// A command-line flag that is not in the table.
    #[error("failed to load unknown flag '{0}'")]
    Unknown(String),
    /// The same flag given twice on the command line.
    #[error("duplicate flag '{0}' on command line")]
    Duplicate(String),
    /// A command-line word that is not `--name[=value]`.
    #[error("unexpected argument '{0}' (flags look like --name=value)")]
    NotAFlag(String),
    /// A non-boolean flag given without `=value`.
    #[error("flag '{0}' needs a value (--{0}=VALUE)")]
    MissingValue(String),
    /// `--no-name` used for a flag that is not boolean.
    #[error("flag '{0}' is not a boolean; '--no-{0}' is not allowed")]
    NotBoolean(String),
    /// A value that does not parse as the flag's kind.
    #[error("failed to load flag '{flag}': invalid value '{value}': {reason}")]
    Invalid {
        /// The flag's canonical name.
        flag: String,
        /// The value as given.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A flag the component requires was not given.
    #[error("flag '{0}' is required but was not set")]
    Required(String),
}

/// What a flag's value must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// `true`/`false` (also `1`/`0`); `--name` alone means true, `--no-name` false.
    Bool,
    /// A stout duration such as `15secs`.
    Duration,
    /// A stout byte size such as `1GB`.
    Bytes,
    /// An unsigned integer.
    Unsigned,
    /// An unsigned 16-bit integer (ports).
    Port,
    /// A floating-point number.
    Float,
    /// Free text, checked later by the component.
    Text,
}

/// One flag: its canonical name, older spellings, kind and default value (as text).
#[derive(Debug, Clone, Copy)]
pub struct FlagSpec {
    /// The canonical name, as printed by `/flags`.
    pub name: &'static str,
    /// Deprecated spellings that load into the same flag (e.g. `slave_ping_timeout`).
    pub aliases: &'static [&'static str],
    /// How the value is checked.
    pub kind: FlagKind,
    /// The default, if the flag has one; flags without a default are optional.
    pub default: Option<&'static str>,
    /// One line of help text.
    pub help: &'static str,
}

/// The outcome of [`load`]: effective values by canonical name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadedFlags {
    values: BTreeMap<&'static str, String>,
    explicit: BTreeSet<&'static str>,
}

impl LoadedFlags {
    /// The effective value of a flag (default included), if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Whether the flag was given on the command line or in the environment.
    pub fn is_explicit(&self, name: &str) -> bool {
        self.explicit.contains(name)
    }

    /// All effective values, sorted by name (what `/flags` shows).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        self.values.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// A string flag's value.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// A boolean flag's value (false when unset).
    pub fn bool(&self, name: &str) -> Result<bool, FlagError> {
        match self.get(name) {
            None => Ok(false),
            Some(v) => parse_bool(v).map_err(|reason| invalid(name, v, reason)),
        }
    }

    /// A duration flag's value, if set.
    pub fn duration(&self, name: &str) -> Result<Option<Duration>, FlagError> {
        self.get(name)
            .map(|v| parse_duration(v).map_err(|reason| invalid(name, v, reason)))
            .transpose()
    }

    /// A byte-size flag's value, if set.
    pub fn bytes(&self, name: &str) -> Result<Option<u64>, FlagError> {
        self.get(name)
            .map(|v| parse_bytes(v).map_err(|reason| invalid(name, v, reason)))
            .transpose()
    }

    /// An unsigned flag's value, if set.
    pub fn unsigned(&self, name: &str) -> Result<Option<u64>, FlagError> {
        self.get(name)
            .map(|v| parse_unsigned(v).map_err(|reason| invalid(name, v, reason)))
            .transpose()
    }

    /// A port flag's value, if set.
    pub fn port(&self, name: &str) -> Result<Option<u16>, FlagError> {
        self.get(name)
            .map(|v| parse_port(v).map_err(|reason| invalid(name, v, reason)))
            .transpose()
    }

    /// A float flag's value, if set.
    pub fn float(&self, name: &str) -> Result<Option<f64>, FlagError> {
        self.get(name)
            .map(|v| parse_float(v).map_err(|reason| invalid(name, v, reason)))
            .transpose()
    }
}

fn invalid(flag: &str, value: &str, reason: String) -> FlagError {
    FlagError::Invalid {
        flag: flag.to_owned(),
        value: value.to_owned(),
        reason,
    }
}

/// Loads flags from `args` (command-line words, without the program name) and `env`
/// (variables such as `MESOS_PORT`, looked up with `env_prefix`). Unknown environment
/// variables with the prefix are ignored (other components share it); unknown
/// command-line flags are errors.
pub fn load<'a, I, E>(
    specs: &[FlagSpec],
    args: I,
    env: E,
    env_prefix: &str,
) -> Result<LoadedFlags, FlagError>
where
    I: IntoIterator<Item = &'a str>,
    E: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut loaded = LoadedFlags::default();
    for spec in specs {
        if let Some(d) = spec.default {
            loaded.values.insert(spec.name, d.to_owned());
        }
    }

    // Environment first so that the command line wins.
    for (key, value) in env {
        let Some(rest) = key.strip_prefix(env_prefix) else {
            continue;
        };
        let lower = rest.to_ascii_lowercase();
        let Some(spec) = find(specs, &lower) else {
            continue;
        };
        let value = if spec.kind == FlagKind::Bool && value.is_empty() {
            "true".to_owned()
        } else {
            value.to_owned()
        };
        check(spec, &value)?;
        loaded.values.insert(spec.name, value);
        loaded.explicit.insert(spec.name);
    }

    let mut seen = BTreeSet::new();
    for arg in args {
        let Some(body) = arg.strip_prefix("--") else {
            return Err(FlagError::NotAFlag(arg.to_owned()));
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let (spec, value) = match (find(specs, name), value) {
            (Some(spec), Some(v)) => (spec, v.to_owned()),
            (Some(spec), None) if spec.kind == FlagKind::Bool => (spec, "true".to_owned()),
            (Some(spec), None) => return Err(FlagError::MissingValue(spec.name.to_owned())),
            (None, v) => match name.strip_prefix("no-").and_then(|n| find(specs, n)) {
                Some(spec) if spec.kind != FlagKind::Bool => {
                    return Err(FlagError::NotBoolean(spec.name.to_owned()))
                }
                Some(spec) if v.is_none() => (spec, "false".to_owned()),
                Some(spec) => {
                    return Err(invalid(
                        spec.name,
                        v.unwrap_or(""),
                        "'--no-' flags take no value".into(),
                    ))
                }
                None => return Err(FlagError::Unknown(name.to_owned())),
            },
        };
        if !seen.insert(spec.name) {
            return Err(FlagError::Duplicate(spec.name.to_owned()));
        }
        check(spec, &value)?;
        loaded.values.insert(spec.name, value);
        loaded.explicit.insert(spec.name);
    }
    Ok(loaded)
}

fn find<'s>(specs: &'s [FlagSpec], name: &str) -> Option<&'s FlagSpec> {
    specs
        .iter()
        .find(|s| s.name == name || s.aliases.contains(&name))
}

fn check(spec: &FlagSpec, value: &str) -> Result<(), FlagError> {
    let result = match spec.kind {
        FlagKind::Bool => parse_bool(value).map(drop),
        FlagKind::Duration => parse_duration(value).map(drop),
        FlagKind::Bytes => parse_bytes(value).map(drop),
        FlagKind::Unsigned => parse_unsigned(value).map(drop),
        FlagKind::Port => parse_port(value).map(drop),
        FlagKind::Float => parse_float(value).map(drop),
        FlagKind::Text => Ok(()),
    };
    result.map_err(|reason| invalid(spec.name, value, reason))
}

/// Parses a boolean as stout does: `true`/`1` or `false`/`0`.
pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err("expected 'true' or 'false'".to_owned()),
    }
}

/// Parses an unsigned integer.
pub fn parse_unsigned(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .map_err(|e| format!("expected an unsigned integer ({e})"))
}

/// Parses a TCP port number.
pub fn parse_port(text: &str) -> Result<u16, String> {
    text.trim()
        .parse::<u16>()
        .map_err(|e| format!("expected a port number 0-65535 ({e})"))
}

/// Parses a finite floating-point number.
pub fn parse_float(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err("expected a number".to_owned()),
    }
}

const NANOS_PER: [(&str, f64); 8] = [
    ("ns", 1.0),
    ("us", 1e3),
    ("ms", 1e6),
    ("secs", 1e9),
    ("mins", 60e9),
    ("hrs", 3_600e9),
    ("days", 86_400e9),
    ("weeks", 604_800e9),
];

/// Parses a stout duration: a non-negative number followed by a unit (`15secs`, `1.5days`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .ok_or_else(|| "missing unit (ns, us, ms, secs, mins, hrs, days, weeks)".to_owned())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{number}' is not a number"))?;
    let per = NANOS_PER
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, n)| *n)
        .ok_or_else(|| {
            format!("unknown unit '{unit}' (expected ns, us, ms, secs, mins, hrs, days, weeks)")
        })?;
    let nanos = value * per;
    if !nanos.is_finite() || nanos < 0.0 {
        return Err("duration must be a non-negative finite amount".to_owned());
    }
    if nanos >= u64::MAX as f64 {
        return Err("duration is too large".to_owned());
    }
    Ok(Duration::from_nanos(nanos.round() as u64))
}

/// Formats a duration as stout prints it: the largest unit that keeps the value ≥ 1
/// (`15secs`, `10mins`, `1.5mins`, `2weeks`).
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos() as f64;
    let mut chosen = NANOS_PER[0];
    for unit in NANOS_PER {
        if nanos >= unit.1 {
            chosen = unit;
        }
    }
    format!("{}{}", format_number(nanos / chosen.1), chosen.0)
}

/// Prints a float without a trailing `.0` and with at most 6 significant decimals,
/// the way a C++ stream does by default.
fn format_number(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_owned()
}

const BYTE_UNITS: [(&str, u64); 5] = [
    ("B", 1),
    ("KB", 1 << 10),
    ("MB", 1 << 20),
    ("GB", 1 << 30),
    ("TB", 1 << 40),
];

/// Parses a stout byte size: an integer followed by `B`, `KB`, `MB`, `GB` or `TB`.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| "missing unit (B, KB, MB, GB, TB)".to_owned())?;
    let (number, unit) = text.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("'{number}' is not an unsigned integer"))?;
    let per = BYTE_UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, n)| *n)
        .ok_or_else(|| format!("unknown unit '{unit}' (expected B, KB, MB, GB, TB)"))?;
    value
        .checked_mul(per)
        .ok_or_else(|| "byte size is too large".to_owned())
}

/// Formats a byte size as stout prints it: the largest unit not above the value, integer
/// division (`1GB`, `512MB`, `100B`).
pub fn format_bytes(bytes: u64) -> String {
    let mut chosen = BYTE_UNITS[0];
    for unit in BYTE_UNITS {
        if bytes >= unit.1 {
            chosen = unit;
        }
    }
    format!("{}{}", bytes / chosen.1, chosen.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[FlagSpec] = &[
        FlagSpec {
            name: "port",
            aliases: &[],
            kind: FlagKind::Port,
            default: Some("5050"),
            help: "",
        },
        FlagSpec {
            name: "agent_ping_timeout",
            aliases: &["slave_ping_timeout"],
            kind: FlagKind::Duration,
            default: Some("15secs"),
            help: "",
        },
        FlagSpec {
            name: "checkpoint",
            aliases: &[],
            kind: FlagKind::Bool,
            default: Some("false"),
            help: "",
        },
        FlagSpec {
            name: "cluster",
            aliases: &[],
            kind: FlagKind::Text,
            default: None,
            help: "",
        },
    ];

    #[test]
    fn durations_parse_in_every_unit() {
        assert_eq!(parse_duration("15secs"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("10mins"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(
            parse_duration("2weeks"),
            Ok(Duration::from_secs(14 * 86_400))
        );
        assert_eq!(parse_duration("1.5days"), Ok(Duration::from_secs(129_600)));
        assert_eq!(parse_duration("3hrs"), Ok(Duration::from_secs(3 * 3600)));
        assert_eq!(parse_duration("7us"), Ok(Duration::from_micros(7)));
        assert_eq!(parse_duration("9ns"), Ok(Duration::from_nanos(9)));
    }

    #[test]
    fn bad_durations_are_rejected_with_a_reason() {
        assert!(parse_duration("15").unwrap_err().contains("missing unit"));
        assert!(parse_duration("15s")
            .unwrap_err()
            .contains("unknown unit 's'"));
        assert!(parse_duration("abcsecs")
            .unwrap_err()
            .contains("not a number"));
        assert!(parse_duration("-1secs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn durations_format_like_stout() {
        assert_eq!(format_duration(Duration::from_secs(15)), "15secs");
        assert_eq!(format_duration(Duration::from_secs(600)), "10mins");
        assert_eq!(format_duration(Duration::from_secs(90)), "1.5mins");
        assert_eq!(format_duration(Duration::from_secs(1)), "1secs");
        assert_eq!(format_duration(Duration::from_secs(14 * 86_400)), "2weeks");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::ZERO), "0ns");
    }

    #[test]
    fn bytes_parse_and_format() {
        assert_eq!(parse_bytes("1GB"), Ok(1 << 30));
        assert_eq!(parse_bytes("512MB"), Ok(512 << 20));
        assert_eq!(parse_bytes("100B"), Ok(100));
        assert!(parse_bytes("1.5GB").is_err());
        assert!(parse_bytes("1PB")
            .unwrap_err()
            .contains("unknown unit 'PB'"));
        assert!(parse_bytes("1024").is_err());
        assert!(parse_bytes("99999999999TB").is_err());
        assert_eq!(format_bytes(1 << 30), "1GB");
        assert_eq!(format_bytes(100), "100B");
        assert_eq!(format_bytes(3 << 20), "3MB");
    }

    #[test]
    fn defaults_apply_and_command_line_beats_environment() {
        let f = load(SPECS, [], [], "MESOS_").unwrap();
        assert_eq!(f.port("port").unwrap(), Some(5050));
        assert!(!f.is_explicit("port"));
        assert_eq!(f.get("cluster"), None);

        let f = load(
            SPECS,
            ["--port=6000"],
            [("MESOS_PORT", "7000"), ("MESOS_CLUSTER", "c1")],
            "MESOS_",
        )
        .unwrap();
        assert_eq!(f.port("port").unwrap(), Some(6000));
        assert_eq!(f.text("cluster").as_deref(), Some("c1"));
        assert!(f.is_explicit("cluster"));
    }

    #[test]
    fn aliases_and_booleans() {
        let f = load(
            SPECS,
            ["--slave_ping_timeout=3secs", "--checkpoint"],
            [],
            "MESOS_",
        )
        .unwrap();
        assert_eq!(
            f.duration("agent_ping_timeout").unwrap(),
            Some(Duration::from_secs(3))
        );
        assert!(f.bool("checkpoint").unwrap());
        let f = load(
            SPECS,
            ["--no-checkpoint"],
            [("MESOS_CHECKPOINT", "1")],
            "MESOS_",
        )
        .unwrap();
        assert!(!f.bool("checkpoint").unwrap());
        let f = load(SPECS, [], [("MESOS_SLAVE_PING_TIMEOUT", "2mins")], "MESOS_").unwrap();
        assert_eq!(
            f.duration("agent_ping_timeout").unwrap(),
            Some(Duration::from_secs(120))
        );
    }

    #[test]
    fn errors_name_the_flag_and_value() {
        let e = load(SPECS, ["--port=http"], [], "MESOS_").unwrap_err();
        assert!(
            matches!(&e, FlagError::Invalid { flag, value, .. } if flag == "port" && value == "http")
        );
        assert!(e.to_string().contains("'port'") && e.to_string().contains("'http'"));

        let e = load(SPECS, [], [("MESOS_AGENT_PING_TIMEOUT", "soon")], "MESOS_").unwrap_err();
        assert!(e.to_string().contains("agent_ping_timeout"));

        assert_eq!(
            load(SPECS, ["--bogus=1"], [], "MESOS_").unwrap_err(),
            FlagError::Unknown("bogus".into())
        );
        assert_eq!(
            load(SPECS, ["--port=1", "--port=2"], [], "MESOS_").unwrap_err(),
            FlagError::Duplicate("port".into())
        );
        assert_eq!(
            load(SPECS, ["--port"], [], "MESOS_").unwrap_err(),
            FlagError::MissingValue("port".into())
        );
        assert_eq!(
            load(SPECS, ["--no-port"], [], "MESOS_").unwrap_err(),
            FlagError::NotBoolean("port".into())
        );
        assert_eq!(
            load(SPECS, ["port=1"], [], "MESOS_").unwrap_err(),
            FlagError::NotAFlag("port=1".into())
        );
    }

    #[test]
    fn unknown_environment_variables_are_ignored() {
        let f = load(
            SPECS,
            [],
            [("MESOS_NATIVE_JAVA_LIBRARY", "x"), ("PATH", "/bin")],
            "MESOS_",
        );
        assert!(f.is_ok());
    }
}
