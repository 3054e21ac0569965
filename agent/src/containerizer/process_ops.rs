//! The OS effects a launcher has: start a process, watch one, signal a process group.
//!
//! [`RealProcessOps`] does them; [`RecordingProcessOps`] records every call and lets a
//! test decide when and how each fake process exits, so launcher logic (pid checkpoints,
//! kill escalation, recovery) is tested without real processes or root.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use futures::channel::oneshot;
use futures::future::{BoxFuture, FutureExt, Shared};
use parking_lot::Mutex;

use crate::sys::{self, WaitStatus};

/// Resolves when a process exits: `Some(status)` for our own child, `None` for a process
/// we only watch (after an agent restart the exit status cannot be known).
pub type ExitWatch = Shared<BoxFuture<'static, Option<WaitStatus>>>;

/// What to run for a container's first process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// Program and arguments; `argv[0]` is the program (found through `PATH` if bare).
    pub argv: Vec<String>,
    /// The complete environment (nothing else is inherited).
    pub env: BTreeMap<String, String>,
    /// Working directory (the sandbox).
    pub cwd: PathBuf,
    /// File receiving standard output (appended, created if missing).
    pub stdout: PathBuf,
    /// File receiving standard error.
    pub stderr: PathBuf,
    /// Run as this uid/gid instead of the agent's.
    pub user: Option<(u32, u32)>,
}

/// Starts, watches and signals processes.
pub trait ProcessOps: Send + Sync + 'static {
    /// Starts `spec` in a new session (so its pid is also its process-group id).
    fn spawn(&self, spec: &ProcessSpec) -> io::Result<(i32, ExitWatch)>;
    /// Watches a process that is not our child (recovered after a restart).
    fn watch(&self, pid: i32) -> io::Result<ExitWatch>;
    /// Signals every process in the group `pgid` and in the session it leads.
    fn signal_group(&self, pgid: i32, signal: i32) -> io::Result<()>;
    /// True if `pid` is alive.
    fn exists(&self, pid: i32) -> bool;
}

fn watch_from_channel(rx: oneshot::Receiver<Option<WaitStatus>>) -> ExitWatch {
    rx.map(|r| r.unwrap_or(None)).boxed().shared()
}

/// The real thing: `posix_spawn` and one pidfd waiter thread (see `spawn`), plus a few
/// raw calls from [`crate::sys`].
#[derive(Debug, Default, Clone, Copy)]
pub struct RealProcessOps;

impl ProcessOps for RealProcessOps {
    fn spawn(&self, spec: &ProcessSpec) -> io::Result<(i32, ExitWatch)> {
        let (pid, rx) = super::spawn::spawn(spec)?;
        Ok((pid, watch_from_channel(rx)))
    }

    fn watch(&self, pid: i32) -> io::Result<ExitWatch> {
        super::spawn::watch(pid).map(watch_from_channel)
    }

    fn signal_group(&self, pgid: i32, signal: i32) -> io::Result<()> {
        sys::kill_process_group(pgid, signal)?;
        // The leader started a session too: processes that moved to a group of their own
        // (a task started by an executor, a shell's job) are still in that session.
        for p in session_members(pgid) {
            if p.pgrp != pgid {
                let _ = sys::kill_process(p.pid, signal);
            }
        }
        Ok(())
    }

    fn exists(&self, pid: i32) -> bool {
        sys::process_exists(pid)
    }
}

/// The processes of session `sid`.
///
/// When we started that session and are a child subreaper, every member descends from
/// us: its ancestors are the session's leader and the leader's descendants, and orphans
/// are re-parented to the nearest subreaper, which is in that line or is us. Members are
/// then found by walking our process tree, skipping the subtrees of the other containers'
/// live leaders (their members are in their own sessions): a few reads instead of one per
/// process on the machine. Otherwise (a session recovered after a restart, no subreaper,
/// no `/proc/<pid>/task/<tid>/children`), every process in `/proc` is read.
fn session_members(sid: i32) -> Vec<crate::proc_stat::ProcStat> {
    if super::spawn::started_session(sid) && sys::is_child_subreaper() {
        let skip = super::spawn::live_leaders_except(sid);
        if let Some(found) = crate::proc_stat::session_descendants(sys::own_pid(), sid, &skip) {
            return found;
        }
    }
    crate::proc_stat::session_processes(sid)
}

/// One call seen by [`RecordingProcessOps`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpCall {
    /// `spawn` of this command line, given this fake pid.
    Spawn(Vec<String>, i32),
    /// `watch(pid)`.
    Watch(i32),
    /// `signal_group(pgid, signal)`.
    Signal(i32, i32),
}

#[derive(Default)]
struct FakeState {
    calls: Vec<OpCall>,
    next_pid: i32,
    alive: BTreeMap<i32, oneshot::Sender<Option<WaitStatus>>>,
    watches: BTreeMap<i32, ExitWatch>,
    /// Signals that make a fake process exit, as a real one with default handlers would.
    lethal: Vec<i32>,
}

/// A fake that records calls; processes exit when the test says (or on a lethal signal).
#[derive(Clone)]
pub struct RecordingProcessOps {
    state: Arc<Mutex<FakeState>>,
}

impl Default for RecordingProcessOps {
    fn default() -> Self {
        Self::new()
    }
}

impl RecordingProcessOps {
    /// A fake whose processes die on SIGKILL only (they "trap" SIGTERM).
    pub fn new() -> Self {
        RecordingProcessOps {
            state: Arc::new(Mutex::new(FakeState {
                next_pid: 1000,
                lethal: vec![libc::SIGKILL],
                ..Default::default()
            })),
        }
    }

    /// Makes `signal` kill fake processes too (e.g. SIGTERM for a well-behaved task).
    pub fn die_on(&self, signal: i32) {
        self.state.lock().lethal.push(signal);
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<OpCall> {
        self.state.lock().calls.clone()
    }

    /// Pretends a process that exists (e.g. one a "previous agent" started).
    pub fn adopt(&self, pid: i32) {
        let (tx, rx) = oneshot::channel();
        let mut st = self.state.lock();
        st.alive.insert(pid, tx);
        st.watches.insert(pid, watch_from_channel(rx));
    }

    /// Makes fake process `pid` exit with `status`; false if it is not alive.
    pub fn exit(&self, pid: i32, status: WaitStatus) -> bool {
        let tx = self.state.lock().alive.remove(&pid);
        match tx {
            Some(tx) => {
                let _ = tx.send(Some(status));
                true
            }
            None => false,
        }
    }
}

impl ProcessOps for RecordingProcessOps {
    fn spawn(&self, spec: &ProcessSpec) -> io::Result<(i32, ExitWatch)> {
        if spec.argv.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "empty command line",
            ));
        }
        let (tx, rx) = oneshot::channel();
        let watch = watch_from_channel(rx);
        let mut st = self.state.lock();
        st.next_pid += 1;
        let pid = st.next_pid;
        st.calls.push(OpCall::Spawn(spec.argv.clone(), pid));
        st.alive.insert(pid, tx);
        st.watches.insert(pid, watch.clone());
        Ok((pid, watch))
    }

    fn watch(&self, pid: i32) -> io::Result<ExitWatch> {
        let mut st = self.state.lock();
        st.calls.push(OpCall::Watch(pid));
        if !st.alive.contains_key(&pid) {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        st.watches
            .get(&pid)
            .cloned()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))
    }

    fn signal_group(&self, pgid: i32, signal: i32) -> io::Result<()> {
        let tx = {
            let mut st = self.state.lock();
            st.calls.push(OpCall::Signal(pgid, signal));
            if st.lethal.contains(&signal) {
                st.alive.remove(&pgid)
            } else {
                None
            }
        };
        if let Some(tx) = tx {
            let _ = tx.send(Some(WaitStatus::Signaled(signal)));
        }
        Ok(())
    }

    fn exists(&self, pid: i32) -> bool {
        self.state.lock().alive.contains_key(&pid)
    }
}
