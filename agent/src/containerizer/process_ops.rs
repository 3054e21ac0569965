//! The OS effects a launcher has: start a process, watch one, signal a process group.
//!
//! [`RealProcessOps`] does them; [`RecordingProcessOps`] records every call and lets a
//! test decide when and how each fake process exits, so launcher logic (pid checkpoints,
//! kill escalation, recovery) is tested without real processes or root.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
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

/// Stack size of the small threads that block waiting for one process each.
const WAITER_STACK: usize = 64 * 1024;

/// The real thing: `std::process` plus a few raw calls from [`crate::sys`].
#[derive(Debug, Default, Clone, Copy)]
pub struct RealProcessOps;

impl ProcessOps for RealProcessOps {
    fn spawn(&self, spec: &ProcessSpec) -> io::Result<(i32, ExitWatch)> {
        let Some((program, args)) = spec.argv.split_first() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "empty command line",
            ));
        };
        let open = |p: &PathBuf| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(&spec.env)
            .current_dir(&spec.cwd)
            .stdin(Stdio::null())
            .stdout(open(&spec.stdout)?)
            .stderr(open(&spec.stderr)?);
        if let Some((uid, gid)) = spec.user {
            cmd.uid(uid).gid(gid);
        }
        sys::new_session_on_spawn(&mut cmd);
        let mut child = cmd.spawn()?;
        let pid = child.id() as i32;
        let (tx, rx) = oneshot::channel();
        std::thread::Builder::new()
            .name(format!("wait-{pid}"))
            .stack_size(WAITER_STACK)
            .spawn(move || {
                use std::os::unix::process::ExitStatusExt;
                let status = child.wait().ok().map(|s| match (s.code(), s.signal()) {
                    (Some(code), _) => WaitStatus::Exited(code),
                    (None, Some(sig)) => WaitStatus::Signaled(sig),
                    (None, None) => WaitStatus::Exited(-1),
                });
                let _ = tx.send(status);
            })?;
        Ok((pid, watch_from_channel(rx)))
    }

    fn watch(&self, pid: i32) -> io::Result<ExitWatch> {
        let fd = sys::PidFd::open(pid)?;
        let (tx, rx) = oneshot::channel();
        std::thread::Builder::new()
            .name(format!("watch-{pid}"))
            .stack_size(WAITER_STACK)
            .spawn(move || {
                if let Err(e) = fd.wait_exit() {
                    tracing::warn!("failed to wait for pid {pid}: {e}");
                }
                let _ = tx.send(None);
            })?;
        Ok(watch_from_channel(rx))
    }

    fn signal_group(&self, pgid: i32, signal: i32) -> io::Result<()> {
        sys::kill_process_group(pgid, signal)?;
        // The leader started a session too: processes that moved to a group of their own
        // (a task started by an executor, a shell's job) are still in that session.
        for p in crate::proc_stat::session_processes(pgid) {
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
