//! Reaping orphans: the agent is a child subreaper, so task processes whose executor died
//! are re-parented to it and must be reaped by it, or they stay zombies.
//!
//! Only zombies that nobody else waits for are reaped: the launcher's own children are
//! watched by the process waiter (`containerizer::spawn`), and `tracked` plus
//! [`is_watched`] tell which pids those are. Zombies are found through
//! `/proc` and reaped one pid at a time (`waitpid(pid)`), never with `waitpid(-1)`, which
//! would steal the exit status of a child someone else is waiting for.

use std::collections::HashSet;

use crate::containerizer::spawn::is_watched;
use crate::proc_stat::zombie_children;
use crate::sys::{self, WaitStatus};

/// Makes this process a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`).
pub fn become_subreaper() -> std::io::Result<()> {
    sys::set_child_subreaper()
}

/// Reaps every zombie child of this process whose pid `tracked` does not claim.
/// The agent calls this periodically (on its Clock).
pub fn reap_orphans(tracked: &HashSet<i32>) -> Vec<(i32, WaitStatus)> {
    let me = std::process::id() as i32;
    let mut reaped = Vec::new();
    for pid in zombie_children(me) {
        if tracked.contains(&pid) || is_watched(pid) {
            continue;
        }
        match sys::reap(pid) {
            Ok(Some(status)) => reaped.push((pid, status)),
            Ok(None) => {}
            Err(e) => tracing::debug!("could not reap pid {pid}: {e}"),
        }
    }
    reaped
}
