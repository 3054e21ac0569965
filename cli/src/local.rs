//! `mesos local` (a master and `--num_slaves` agents in one process, under a fresh
//! temporary work dir unless `--work_dir` is given) and `mesos agent`.
//!
//! Flags are split by name: `mesos local`'s own (`--num_slaves`, `--work_dir`), the
//! master's, and the agents' (a name both know, such as `--ip`, goes to both; `--port` is
//! the master's, agents bind port 0). Agent `i` gets `<work_dir>/agents/<i>` and its own
//! `ports` range so tasks on different agents never collide.

use std::path::PathBuf;
use std::process::ExitCode;

use libprocess::Clock;
use mesos_master::flags::{MasterFlags, MASTER_FLAGS};

use crate::master::{mesos_env, print_flags, tokio_runtime};
use crate::signals::Shutdown;
use crate::Env;

/// Agents started by default.
pub const DEFAULT_NUM_SLAVES: usize = 1;

/// The first task port handed to local agents.
const FIRST_PORT: u32 = 31000;
/// The last port local agents may use.
const LAST_PORT: u32 = 65000;

/// `mesos local`'s own flags, split from the master's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalArgs {
    /// `--num_slaves` (also `MESOS_NUM_SLAVES`).
    pub num_slaves: usize,
    /// `--work_dir`; a fresh temporary folder when absent.
    pub work_dir: Option<PathBuf>,
    /// Words for the master's flag parser.
    pub master_words: Vec<String>,
    /// Words for every agent's flag parser.
    pub agent_words: Vec<String>,
}

fn flag_name(word: &str) -> &str {
    let body = word.trim_start_matches('-');
    let name = body.split_once('=').map(|(n, _)| n).unwrap_or(body);
    name.strip_prefix("no-").unwrap_or(name)
}

/// The `ports` range of agent `i` out of `n`: equal, disjoint slices of
/// `[31000-65000]`, at most 1000 ports each.
pub fn ports_range(i: usize, n: usize) -> String {
    let n = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    let width = ((LAST_PORT - FIRST_PORT + 1) / n).clamp(1, 1000);
    let i = u32::try_from(i).unwrap_or(0);
    let first = FIRST_PORT + i * width;
    format!("[{first}-{}]", first + width - 1)
}

/// Agent `i`'s `--resources`: the user's text (flag or `MESOS_RESOURCES`) plus its own
/// ports range unless the text names ports.
pub fn agent_resources_text(user: Option<&str>, i: usize, n: usize) -> String {
    let ports = format!("ports:{}", ports_range(i, n));
    match user.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) if u.contains("ports") => u.to_string(),
        Some(u) => format!("{};{ports}", u.trim_end_matches(';')),
        None => ports,
    }
}

/// Splits `mesos local`'s words; `--ip` defaults to `127.0.0.1`.
pub fn split_args(words: &[&str], env: &Env) -> Result<LocalArgs, String> {
    let mut num_slaves = env.get("MESOS_NUM_SLAVES").cloned();
    let mut work_dir = env.get("MESOS_WORK_DIR").cloned();
    let mut master_words = Vec::new();
    let mut agent_words = Vec::new();
    let mut ip_given = env.contains_key("MESOS_IP");
    for w in words {
        if let Some(v) = w.strip_prefix("--num_slaves=") {
            num_slaves = Some(v.to_string());
        } else if let Some(v) = w.strip_prefix("--work_dir=") {
            work_dir = Some(v.to_string());
        } else {
            let name = flag_name(w);
            ip_given |= name == "ip";
            let master = MASTER_FLAGS.iter().any(|s| s.name == name);
            let agent = name != "port" && crate::agent::is_agent_flag(name);
            if master || !agent {
                master_words.push(w.to_string());
            }
            if agent {
                agent_words.push(w.to_string());
            }
        }
    }
    if !ip_given {
        master_words.push("--ip=127.0.0.1".into());
        agent_words.push("--ip=127.0.0.1".into());
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
        agent_words,
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
        let master_upid = master.runtime.upid(mesos_master::master::MASTER_ID);
        let mut agents = Vec::new();
        for i in 0..local.num_slaves {
            let mut words = agent_words(&local.agent_words, env, &work_dir, i, local.num_slaves);
            words.push(format!("--master={master_upid}"));
            // Several agents share this process, so none of them may reap the others'
            // children as orphans.
            let started = crate::agent::load_flags(&words, env)
                .map_err(crate::agent::AgentStartError::from)
                .and_then(|f| crate::agent::start(f, env, &clock, false));
            match started {
                Ok(a) => agents.push(a),
                Err(e) => {
                    eprintln!("mesos local: agent {i}: {e}");
                    for a in &agents {
                        a.runtime.shutdown().await;
                    }
                    master.runtime.shutdown().await;
                    return ExitCode::FAILURE;
                }
            }
        }
        tracing::info!(
            "local cluster: master at {} with {} agent(s), work dir {}",
            master.address(),
            local.num_slaves,
            work_dir.display()
        );
        tracing::info!(
            "try: mesos execute --master={} --name=hello --command='echo hello'",
            master.address()
        );
        let signal = shutdown.wait().await;
        tracing::info!("received {signal}; shutting down the local cluster");
        for a in &agents {
            a.runtime.shutdown().await;
        }
        master.runtime.shutdown().await;
        tracing::info!("local cluster stopped");
        ExitCode::SUCCESS
    })
}

/// The words agent `i` of `n` is loaded from: the shared agent words (minus
/// `--resources`) plus its own work dir, runtime dir, port 0 and resources.
fn agent_words(
    shared: &[String],
    env: &Env,
    root: &std::path::Path,
    i: usize,
    n: usize,
) -> Vec<String> {
    let user_resources = shared
        .iter()
        .rev()
        .find_map(|w| w.strip_prefix("--resources="))
        .or(env.get("MESOS_RESOURCES").map(String::as_str));
    let dir = root.join("agents").join(i.to_string());
    let mut words: Vec<String> = shared
        .iter()
        .filter(|w| !w.starts_with("--resources="))
        .cloned()
        .collect();
    words.push(format!("--work_dir={}", dir.display()));
    words.push(format!("--runtime_dir={}", dir.join("run").display()));
    words.push("--port=0".into());
    words.push(format!(
        "--resources={}",
        agent_resources_text(user_resources, i, n)
    ));
    words
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
        assert_eq!(l.agent_words, ["--ip=127.0.0.1"]);
        let l = split_args(
            &[
                "--resources=cpus:2",
                "--allocation_interval=50ms",
                "--hostname=h",
                "--bad=1",
            ],
            &Env::new(),
        )
        .unwrap();
        assert_eq!(
            l.master_words,
            [
                "--allocation_interval=50ms",
                "--hostname=h",
                "--bad=1",
                "--ip=127.0.0.1"
            ]
        );
        assert_eq!(
            l.agent_words,
            ["--resources=cpus:2", "--hostname=h", "--ip=127.0.0.1"]
        );
        let l = split_args(&["--num_slaves=0", "--ip=0.0.0.0"], &Env::new()).unwrap();
        assert_eq!(l.num_slaves, 0);
        assert_eq!(l.work_dir, None);
        assert_eq!(l.master_words, ["--ip=0.0.0.0"]);
        assert_eq!(l.agent_words, ["--ip=0.0.0.0"]);
        let e = split_args(&["--num_slaves=x"], &Env::new()).unwrap_err();
        assert!(e.contains("'x'"), "{e}");
    }

    #[test]
    fn agents_get_disjoint_ports_and_their_own_dirs() {
        assert_eq!(ports_range(0, 2), "[31000-31999]");
        assert_eq!(ports_range(1, 2), "[32000-32999]");
        assert_eq!(ports_range(99, 100), "[64660-64999]");
        assert_eq!(agent_resources_text(None, 1, 3), "ports:[32000-32999]");
        assert_eq!(
            agent_resources_text(Some("cpus:2;mem:512;"), 0, 1),
            "cpus:2;mem:512;ports:[31000-31999]"
        );
        assert_eq!(
            agent_resources_text(Some("ports:[1-2]"), 0, 1),
            "ports:[1-2]"
        );
        let w = agent_words(
            &["--resources=cpus:1".into(), "--ip=127.0.0.1".into()],
            &Env::new(),
            std::path::Path::new("/w"),
            2,
            3,
        );
        assert_eq!(
            w,
            [
                "--ip=127.0.0.1",
                "--work_dir=/w/agents/2",
                "--runtime_dir=/w/agents/2/run",
                "--port=0",
                "--resources=cpus:1;ports:[33000-33999]"
            ]
        );
    }
}
