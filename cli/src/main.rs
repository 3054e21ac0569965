//! The one `mesos` binary. Subcommands arrive with the master and agent issues.

fn main() {
    eprintln!("mesos: no subcommands yet (see the open issues)");
    std::process::exit(2);
}
