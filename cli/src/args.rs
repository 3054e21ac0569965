//! Flags of the client subcommands: `--name=value` or `--name value`, each known name
//! at most once; `--help` is reported separately.

use std::collections::BTreeMap;

/// What went wrong reading a client subcommand's flags.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    /// A flag the subcommand does not take.
    #[error("unknown flag '{0}'")]
    Unknown(String),
    /// A word that is not a flag.
    #[error("unexpected argument '{0}' (flags look like --name=value)")]
    NotAFlag(String),
    /// A flag without a value.
    #[error("flag '--{0}' needs a value")]
    MissingValue(String),
    /// The same flag twice.
    #[error("flag '--{0}' given twice")]
    Duplicate(String),
    /// A value that does not parse.
    #[error("invalid value '{value}' for '--{flag}': {reason}")]
    Invalid {
        /// The flag.
        flag: String,
        /// The value given.
        value: String,
        /// Why it is wrong.
        reason: String,
    },
}

/// Parsed flags of a client subcommand.
#[derive(Debug, Default)]
pub struct Args {
    values: BTreeMap<String, String>,
    /// `--help` or `-h` was given.
    pub help: bool,
}

impl Args {
    /// Parses `words` against the flag names in `known` (boolean flags in `switches`).
    pub fn parse(words: &[&str], known: &[&str], switches: &[&str]) -> Result<Args, ArgsError> {
        let mut out = Args::default();
        let mut it = words.iter();
        while let Some(word) = it.next() {
            if *word == "--help" || *word == "-h" {
                out.help = true;
                continue;
            }
            let Some(body) = word.strip_prefix("--") else {
                return Err(ArgsError::NotAFlag((*word).to_string()));
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let value = if switches.contains(&name) {
                value.unwrap_or_else(|| "true".into())
            } else if known.contains(&name) {
                match value {
                    Some(v) => v,
                    None => it
                        .next()
                        .map(|v| v.to_string())
                        .ok_or_else(|| ArgsError::MissingValue(name.into()))?,
                }
            } else {
                return Err(ArgsError::Unknown(name.into()));
            };
            if out.values.insert(name.to_string(), value).is_some() {
                return Err(ArgsError::Duplicate(name.into()));
            }
        }
        Ok(out)
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Whether switch `name` is on.
    pub fn switch(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true" | "1"))
    }

    /// The value of `name` parsed as `T`, or `default` when absent.
    pub fn parsed<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, ArgsError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e: T::Err| ArgsError::Invalid {
                flag: name.into(),
                value: v.into(),
                reason: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_and_switches() {
        let a = Args::parse(
            &["--master=h:1", "--name", "x", "--json", "-h"],
            &["master", "name"],
            &["json"],
        )
        .unwrap();
        assert_eq!(a.get("master"), Some("h:1"));
        assert_eq!(a.get("name"), Some("x"));
        assert!(a.switch("json"));
        assert!(a.help);
    }

    #[test]
    fn errors_name_the_bad_word() {
        let e = Args::parse(&["--nope=1"], &["master"], &[]).unwrap_err();
        assert_eq!(e.to_string(), "unknown flag 'nope'");
        let e = Args::parse(&["list"], &["master"], &[]).unwrap_err();
        assert!(e.to_string().contains("'list'"));
        let e = Args::parse(&["--master"], &["master"], &[]).unwrap_err();
        assert_eq!(e, ArgsError::MissingValue("master".into()));
        let e = Args::parse(&["--master=a", "--master=b"], &["master"], &[]).unwrap_err();
        assert_eq!(e, ArgsError::Duplicate("master".into()));
        let a = Args::parse(&["--instances=x"], &["instances"], &[]).unwrap();
        let e = a.parsed::<usize>("instances", 1).unwrap_err();
        assert!(e.to_string().contains("'x'"), "{e}");
    }
}
