//! `mesos local` (a master and `--num_slaves` agents in one process, under a fresh
//! temporary work dir unless `--work_dir` is given) and `mesos agent`.
//!
//! TODO(agent issue): the agent actor in `mesos-agent` cannot run tasks yet, so `mesos
//! agent` and agents under `mesos local` answer with a clear error; `mesos local
//! --num_slaves=0` runs the master alone.

use std::path::PathBuf;
use std::process::ExitCode;

use libprocess::Clock;
use mesos_master::flags::{MasterFlags, MASTER_FLAGS};

use crate::master::{mesos_env, print_flags, tokio_runtime};
use crate::signals::Shutdown;
use crate::Env;

/// Agents started by default.
pub const DEFAULT_NUM_SLAVES: usize = 1;

const AGENTS_TODO: &str = "agents are not available yet: the agent actor in mesos-agent \
                           cannot run tasks (TODO, agent issue)";

/// `mesos local`'s own flags, split from the master's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalArgs {
    /// `--num_slaves` (also `MESOS_NUM_SLAVES`).
    pub num_slaves: usize,
    /// `--work_dir`; a fresh temporary folder when absent.
    pub work_dir: Option<PathBuf>,
    /// The rest, for the master's flag parser.
    pub master_words: Vec<String>,
}

/// Splits `mesos local`'s words; `--ip` defaults to `127.0.0.1`.
pub fn split_args(words: &[&str], env: &Env) -> Result<LocalArgs, String> {
    let mut num_slaves = env.get("MESOS_NUM_SLAVES").cloned();
    let mut work_dir = env.get("MESOS_WORK_DIR").cloned();
    let mut master_words = Vec::new();
    let mut ip_given = env.contains_key("MESOS_IP");
    for w in words {
        if let Some(v) = w.strip_prefix("--num_slaves=") {
            num_slaves = Some(v.to_string());
        } else if let Some(v) = w.strip_prefix("--work_dir=") {
            work_dir = Some(v.to_string());
        } else {
            ip_given |= w.starts_with("--ip=");
            master_words.push(w.to_string());
        }
    }
    if !ip_given {
        master_words.push("--ip=127.0.0.1".into());
    }
    let num_slaves = match num_slaves {
        None => DEFAULT_NUM_SLAVES,
        Some(v) => v
            .parse()
            .map_err(|_| format!("invalid --num_slaves '{v}': expected a number"))?,
    };
    Ok(LocalArgs {
        num_slaves,
        work_dir: work_dir.map(PathBuf::from),
        master_words,
    })
}

/// The work dir of a local cluster: the given one, or a fresh one under the temp dir
/// (kept afterwards so task sandboxes can be read).
fn prepare_work_dir(given: Option<PathBuf>) -> std::io::Result<PathBuf> {
    match given {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            Ok(dir)
        }
        None => Ok(tempfile::Builder::new()
            .prefix("mesos-local-")
            .tempdir()?
            .keep()),
    }
}

/// `mesos local [--flags]`.
pub fn main(words: &[&str], env: &Env) -> ExitCode {
    if words.iter().any(|w| *w == "--help" || *w == "-h") {
        println!(
            "Usage: mesos local [--num_slaves=N] [--work_dir=DIR] [master flags]\n\n  \
             --num_slaves  agents to start (default {DEFAULT_NUM_SLAVES})\n  \
             --work_dir    root of the master's and agents' work dirs \
             (default: a fresh temporary folder)\n"
        );
        print_flags("Master flags:", MASTER_FLAGS);
        return ExitCode::SUCCESS;
    }
    let local = match split_args(words, env) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("mesos local: {e}");
            return ExitCode::from(2);
        }
    };
    if local.num_slaves > 0 {
        eprintln!(
            "mesos local: {AGENTS_TODO}.\n\
             Run `mesos local --num_slaves=0` for a master alone."
        );
        return ExitCode::FAILURE;
    }
    let work_dir = match prepare_work_dir(local.work_dir) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mesos local: cannot create the work dir: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut master_words = local.master_words;
    master_words.push(format!("--work_dir={}", work_dir.join("master").display()));
    let flags = match MasterFlags::load(
        master_words.iter().map(String::as_str),
        mesos_env(env).filter(|(k, _)| *k != "MESOS_WORK_DIR"),
    ) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("mesos local: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mesos local: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let mut shutdown = match Shutdown::register() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("mesos local: cannot install signal handlers: {e}");
                return ExitCode::FAILURE;
            }
        };
        let clock = Clock::new();
        let master = match crate::master::start(flags, env, &clock) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("mesos local: {e}");
                return ExitCode::FAILURE;
            }
        };
        tracing::info!(
            "local cluster: master at {} with {} agent(s), work dir {}",
            master.address(),
            local.num_slaves,
            work_dir.display()
        );
        let signal = shutdown.wait().await;
        tracing::info!("received {signal}; shutting down the local cluster");
        master.runtime.shutdown().await;
        tracing::info!("local cluster stopped");
        ExitCode::SUCCESS
    })
}

/// `mesos agent [--flags]`.
pub fn agent_main(words: &[&str], _env: &Env) -> ExitCode {
    if words.iter().any(|w| *w == "--help" || *w == "-h") {
        println!("Usage: mesos agent --master=host:port [agent flags]\n\n{AGENTS_TODO}.");
        return ExitCode::SUCCESS;
    }
    eprintln!("mesos agent: {AGENTS_TODO}.");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_flags_are_split_from_the_master_flags() {
        let env: Env = [("MESOS_NUM_SLAVES".to_string(), "3".to_string())].into();
        let l = split_args(&["--port=0", "--work_dir=/w"], &env).unwrap();
        assert_eq!(l.num_slaves, 3);
        assert_eq!(l.work_dir, Some(PathBuf::from("/w")));
        assert_eq!(l.master_words, ["--port=0", "--ip=127.0.0.1"]);
        let l = split_args(&["--num_slaves=0", "--ip=0.0.0.0"], &Env::new()).unwrap();
        assert_eq!(l.num_slaves, 0);
        assert_eq!(l.work_dir, None);
        assert_eq!(l.master_words, ["--ip=0.0.0.0"]);
        let e = split_args(&["--num_slaves=x"], &Env::new()).unwrap_err();
        assert!(e.contains("'x'"), "{e}");
    }
}
