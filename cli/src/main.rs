//! The one `mesos` binary: `master`, `agent`, `local`, `execute`, `task list`,
//! `agent list`, `framework list`.
//!
//! Arguments and the environment are read once here and passed down explicitly, so every
//! subcommand (and its tests) works from plain values. `master`, `agent` and `local` hand
//! their `--flag=value` words to the components' own flag parsers (Mesos names, `MESOS_*`
//! variables); the client subcommands take a few flags of their own ([`args`]).

/// mimalloc instead of glibc's malloc: the allocator's cycle makes a handful of small
/// allocations per offer, and with glibc's allocator they were over a third of the cycle
/// (BENCHMARKS.md, allocator run E).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod agent;
mod args;
mod execute;
mod list;
mod local;
mod logging;
mod master;
mod signals;
mod table;

use std::collections::BTreeMap;
use std::process::ExitCode;

/// The process environment, collected once.
pub type Env = BTreeMap<String, String>;

const USAGE: &str = "\
Usage: mesos <command> [--flag=value ...]

Commands:
  master [--flags]            run a master (Mesos master flags, MESOS_* variables)
  agent [--flags]             run an agent (Mesos agent flags, MESOS_* variables)
  local [--flags]             run a master and --num_slaves agents in one process
  execute --command=CMD ...   run a command (or many, or a task group) on a cluster
  task list                   list the tasks a master knows
  agent list                  list the agents registered with a master
  framework list              list the frameworks a master knows

Client commands take --master=host:port (default 127.0.0.1:5050).
Run `mesos <command> --help` for the flags of a command.
Logging: RUST_LOG (default info for master/agent/local, warn otherwise).";

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let env: Env = std::env::vars().collect();
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let daemon = matches!(words.as_slice(), ["master" | "local", ..])
        || matches!(words.as_slice(), ["agent", next, ..] if *next != "list")
        || words.as_slice() == ["agent"];
    logging::init(&env, if daemon { "info" } else { "warn" });
    match words.as_slice() {
        [] | ["--help" | "-h" | "help", ..] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        ["--version" | "version", ..] => {
            println!("mesos {}", mesos_master::render::MESOS_VERSION);
            ExitCode::SUCCESS
        }
        ["master", rest @ ..] => master::main(rest, &env),
        ["agent", "list", rest @ ..] => list::main(list::Kind::Agents, rest, &env),
        ["agent", rest @ ..] => agent::main(rest, &env),
        ["local", rest @ ..] => local::main(rest, &env),
        ["execute", rest @ ..] => execute::main(rest, &env),
        ["task", "list", rest @ ..] => list::main(list::Kind::Tasks, rest, &env),
        ["framework", "list", rest @ ..] => list::main(list::Kind::Frameworks, rest, &env),
        [cmd @ ("task" | "framework"), ..] => {
            eprintln!("mesos {cmd}: expected `mesos {cmd} list`");
            ExitCode::from(2)
        }
        [other, ..] => {
            eprintln!("mesos: unknown command '{other}'\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
