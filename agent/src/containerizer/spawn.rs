//! Starting container processes cheaply and waiting for them with one thread.
//!
//! A `fork` of the agent copies its page tables, which grow with its heap and threads;
//! `std::process::Command` falls back to `fork` whenever a `pre_exec` hook is set (ours
//! called `setsid`). `posix_spawn` with `POSIX_SPAWN_SETSID` (glibc ≥ 2.26) gives the
//! child its own session from a `vfork`-style clone instead. Only a run as another user
//! still needs the `fork` path (`posix_spawn` cannot change credentials).
//!
//! Exits are watched through pidfds in one epoll set served by one thread, not by a
//! blocked thread per child. The same table tells which of our children are container
//! leaders (for the orphan reaper and for the session walk in `process_ops`).
// posix_spawn, pidfds and epoll have no safe std wrapper that starts a new session.
#![allow(unsafe_code)]

use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use futures::channel::oneshot;
use parking_lot::Mutex;

use super::process_ops::ProcessSpec;
use crate::sys::{self, PidFd, WaitStatus};

struct Watched {
    pid: i32,
    fd: PidFd,
    tx: oneshot::Sender<Option<WaitStatus>>,
    /// Our own child (its status can be reaped), not a process recovered after a restart.
    child: bool,
}

struct Waiter {
    epoll: OwnedFd,
    /// By a token of their own: two launchers may watch one pid (an agent restarted in
    /// the same process watches the first one's child).
    watched: Mutex<HashMap<u64, Watched>>,
    next_token: std::sync::atomic::AtomicU64,
    /// Sessions this process started (leaders' pids); a session id is not reused while
    /// any member lives, so the set only grows with the pids handed out to us.
    sessions: Mutex<HashSet<i32>>,
}

fn waiter() -> io::Result<&'static Waiter> {
    static WAITER: OnceLock<Result<&'static Waiter, i32>> = OnceLock::new();
    let w = WAITER.get_or_init(|| {
        // SAFETY: epoll_create1 takes flags and returns a new descriptor or -1.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
        }
        let waiter: &'static Waiter = Box::leak(Box::new(Waiter {
            // SAFETY: the kernel just returned this descriptor; nobody else owns it.
            epoll: unsafe { OwnedFd::from_raw_fd(fd) },
            watched: Mutex::new(HashMap::new()),
            next_token: std::sync::atomic::AtomicU64::new(0),
            sessions: Mutex::new(HashSet::new()),
        }));
        std::thread::Builder::new()
            .name("process-waiter".into())
            .stack_size(128 * 1024)
            .spawn(move || waiter.run())
            .map_err(|e| e.raw_os_error().unwrap_or(0))?;
        Ok(waiter)
    });
    w.map_err(io::Error::from_raw_os_error)
}

impl Waiter {
    fn run(&self) {
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 64];
        loop {
            // SAFETY: `events` is a valid buffer of 64 entries; -1 waits without timeout.
            let n = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    events.as_mut_ptr(),
                    events.len() as i32,
                    -1,
                )
            };
            if n < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                tracing::error!("process waiter stops: {err}");
                return;
            }
            for ev in &events[..n as usize] {
                // Removed before reaping: once reaped, the pid may be reused.
                let token = ev.u64;
                let Some(w) = self.watched.lock().remove(&token) else {
                    continue;
                };
                // SAFETY: removing a descriptor we registered; the event pointer may be
                // null for EPOLL_CTL_DEL.
                unsafe {
                    libc::epoll_ctl(
                        self.epoll.as_raw_fd(),
                        libc::EPOLL_CTL_DEL,
                        w.fd.as_raw_fd(),
                        std::ptr::null_mut(),
                    );
                }
                let status = if w.child { wait_blocking(w.pid) } else { None };
                let _ = w.tx.send(status);
            }
        }
    }

    /// Adds `pid` (whose pidfd is `fd`) to the set; the caller holds `watched`.
    fn register(
        &self,
        watched: &mut HashMap<u64, Watched>,
        pid: i32,
        fd: PidFd,
        child: bool,
    ) -> io::Result<oneshot::Receiver<Option<WaitStatus>>> {
        let (tx, rx) = oneshot::channel();
        let token = self
            .next_token
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: `fd` is an open pidfd we own and `ev` is a valid event.
        let rc = unsafe {
            libc::epoll_ctl(
                self.epoll.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                &mut ev,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        watched.insert(token, Watched { pid, fd, tx, child });
        Ok(rx)
    }
}

/// Reaps child `pid`, which has exited; `None` if someone else reaped it.
fn wait_blocking(pid: i32) -> Option<WaitStatus> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` is a valid out-pointer; a positive pid waits for that child.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        if rc < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return None;
    }
    Some(if libc::WIFEXITED(status) {
        WaitStatus::Exited(libc::WEXITSTATUS(status))
    } else {
        WaitStatus::Signaled(libc::WTERMSIG(status))
    })
}

/// Starts `spec` as the leader of a new session and watches it.
pub(super) fn spawn(
    spec: &ProcessSpec,
) -> io::Result<(i32, oneshot::Receiver<Option<WaitStatus>>)> {
    let waiter = waiter()?;
    // Held across start and registration, so that the orphan reaper, which asks
    // [`is_watched`], never takes the exit status of a child not yet registered.
    let mut watched = waiter.watched.lock();
    let pid = match spec.user {
        None => posix_spawn_session(spec)?,
        Some(user) => fork_session(spec, user)?,
    };
    waiter.sessions.lock().insert(pid);
    let registered = PidFd::open(pid).and_then(|fd| waiter.register(&mut watched, pid, fd, true));
    match registered {
        Ok(rx) => Ok((pid, rx)),
        Err(e) => {
            let _ = sys::kill_process(pid, libc::SIGKILL);
            drop(watched);
            let _ = wait_blocking(pid);
            Err(e)
        }
    }
}

/// Watches a process that is not our child.
pub(super) fn watch(pid: i32) -> io::Result<oneshot::Receiver<Option<WaitStatus>>> {
    let fd = PidFd::open(pid)?;
    let waiter = waiter()?;
    let mut watched = waiter.watched.lock();
    waiter.register(&mut watched, pid, fd, false)
}

/// True if `pid` is a process we started (or watch) and have not yet seen exit.
pub fn is_watched(pid: i32) -> bool {
    waiter().is_ok_and(|w| w.watched.lock().values().any(|e| e.pid == pid))
}

/// Our live children that lead containers, except `but`.
pub(super) fn live_leaders_except(but: i32) -> HashSet<i32> {
    match waiter() {
        Ok(w) => w
            .watched
            .lock()
            .values()
            .filter(|e| e.child && e.pid != but)
            .map(|e| e.pid)
            .collect(),
        Err(_) => HashSet::new(),
    }
}

/// True if this process started session `sid` (with [`spawn`]).
pub(super) fn started_session(sid: i32) -> bool {
    waiter().is_ok_and(|w| w.sessions.lock().contains(&sid))
}

fn open_output(p: &Path) -> io::Result<std::fs::File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))
}

fn cstring(bytes: &[u8], what: &str) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} contains a NUL byte"),
        )
    })
}

/// Finds a bare program name on the `PATH` of the child's environment, as std does when
/// the environment sets `PATH`.
fn resolve_program(program: &str, env: &std::collections::BTreeMap<String, String>) -> PathBuf {
    if program.contains('/') {
        return PathBuf::from(program);
    }
    let path = env
        .get("PATH")
        .map(String::as_str)
        .unwrap_or("/usr/local/bin:/usr/bin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(program);
        if let Ok(meta) = std::fs::metadata(&candidate) {
            use std::os::unix::fs::PermissionsExt;
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return candidate;
            }
        }
    }
    PathBuf::from(program)
}

/// Frees posix_spawn's attribute and file-action objects however we leave.
struct SpawnObjects {
    attr: libc::posix_spawnattr_t,
    actions: libc::posix_spawn_file_actions_t,
}

impl Drop for SpawnObjects {
    fn drop(&mut self) {
        // SAFETY: both were initialised in `posix_spawn_session` before this guard exists.
        unsafe {
            libc::posix_spawnattr_destroy(&mut self.attr);
            libc::posix_spawn_file_actions_destroy(&mut self.actions);
        }
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

fn posix_spawn_session(spec: &ProcessSpec) -> io::Result<i32> {
    let Some((program, _)) = spec.argv.split_first() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "empty command line",
        ));
    };
    let path = cstring(
        resolve_program(program, &spec.env).as_os_str().as_bytes(),
        "program",
    )?;
    let argv: Vec<CString> = spec
        .argv
        .iter()
        .map(|a| cstring(a.as_bytes(), "argument"))
        .collect::<io::Result<_>>()?;
    let envp: Vec<CString> = spec
        .env
        .iter()
        .map(|(k, v)| cstring(format!("{k}={v}").as_bytes(), "environment"))
        .collect::<io::Result<_>>()?;
    let cwd = cstring(spec.cwd.as_os_str().as_bytes(), "working directory")?;
    let stdout = open_output(&spec.stdout)?;
    let stderr = open_output(&spec.stderr)?;
    let mut argv_ptrs: Vec<*mut libc::c_char> = argv.iter().map(|a| a.as_ptr() as *mut _).collect();
    argv_ptrs.push(std::ptr::null_mut());
    let mut envp_ptrs: Vec<*mut libc::c_char> = envp.iter().map(|a| a.as_ptr() as *mut _).collect();
    envp_ptrs.push(std::ptr::null_mut());

    // SAFETY: every pointer handed to libc below points into values (`objs`, the
    // CStrings, the pointer arrays, the open files) that outlive the calls; the objects
    // are initialised before use and destroyed once by `SpawnObjects::drop`.
    unsafe {
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        check(libc::posix_spawnattr_init(&mut attr))?;
        let mut actions: libc::posix_spawn_file_actions_t = std::mem::zeroed();
        if let Err(e) = check(libc::posix_spawn_file_actions_init(&mut actions)) {
            libc::posix_spawnattr_destroy(&mut attr);
            return Err(e);
        }
        let mut objs = SpawnObjects { attr, actions };
        // Rust ignores SIGPIPE and the agent's threads may block signals: the child
        // starts with default dispositions and an empty mask, as std's spawn does.
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        check(libc::posix_spawnattr_setsigmask(&mut objs.attr, &empty))?;
        let mut defaults: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut defaults);
        libc::sigaddset(&mut defaults, libc::SIGPIPE);
        check(libc::posix_spawnattr_setsigdefault(
            &mut objs.attr,
            &defaults,
        ))?;
        let flags = libc::c_int::from(libc::POSIX_SPAWN_SETSID)
            | libc::POSIX_SPAWN_SETSIGMASK
            | libc::POSIX_SPAWN_SETSIGDEF;
        check(libc::posix_spawnattr_setflags(
            &mut objs.attr,
            flags as libc::c_short,
        ))?;
        check(libc::posix_spawn_file_actions_addopen(
            &mut objs.actions,
            0,
            c"/dev/null".as_ptr(),
            libc::O_RDONLY,
            0,
        ))?;
        check(libc::posix_spawn_file_actions_adddup2(
            &mut objs.actions,
            stdout.as_raw_fd(),
            1,
        ))?;
        check(libc::posix_spawn_file_actions_adddup2(
            &mut objs.actions,
            stderr.as_raw_fd(),
            2,
        ))?;
        check(libc::posix_spawn_file_actions_addchdir_np(
            &mut objs.actions,
            cwd.as_ptr(),
        ))?;
        let mut pid: libc::pid_t = 0;
        check(libc::posix_spawn(
            &mut pid,
            path.as_ptr(),
            &objs.actions,
            &objs.attr,
            argv_ptrs.as_ptr(),
            envp_ptrs.as_ptr(),
        ))?;
        Ok(pid)
    }
}

/// The `fork` path, for a process that runs as another user.
fn fork_session(spec: &ProcessSpec, (uid, gid): (u32, u32)) -> io::Result<i32> {
    let Some((program, args)) = spec.argv.split_first() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "empty command line",
        ));
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(&spec.env)
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(open_output(&spec.stdout)?)
        .stderr(open_output(&spec.stderr)?)
        .uid(uid)
        .gid(gid);
    sys::new_session_on_spawn(&mut cmd);
    // The child is reaped by the waiter (by pid); dropping `Child` neither waits nor kills.
    let child = cmd.spawn()?;
    Ok(child.id() as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use std::collections::BTreeMap;

    fn spec(dir: &Path, script: &str) -> ProcessSpec {
        ProcessSpec {
            argv: vec!["bash".into(), "-c".into(), script.into()],
            env: BTreeMap::from([("PATH".to_string(), "/usr/bin:/bin".to_string())]),
            cwd: dir.to_path_buf(),
            stdout: dir.join("stdout"),
            stderr: dir.join("stderr"),
            user: None,
        }
    }

    fn read_pid(file: &Path) -> i32 {
        let clock = libprocess::Clock::new();
        for _ in 0..500 {
            if let Ok(s) = std::fs::read_to_string(file) {
                if s.ends_with('\n') {
                    return s.trim().parse().unwrap();
                }
            }
            block_on(clock.sleep(std::time::Duration::from_millis(10)));
        }
        panic!("{} never written", file.display());
    }

    #[test]
    fn spawned_process_leads_a_session_and_its_status_is_reaped() {
        let dir = tempfile::tempdir().unwrap();
        let (pid, rx) = spawn(&spec(dir.path(), "pwd; echo $PATH; exit 3")).unwrap();
        assert_eq!(block_on(rx).unwrap(), Some(WaitStatus::Exited(3)));
        assert!(!is_watched(pid));
        let out = std::fs::read_to_string(dir.path().join("stdout")).unwrap();
        let cwd = dir.path().canonicalize().unwrap();
        assert_eq!(out, format!("{}\n/usr/bin:/bin\n", cwd.display()));

        let (pid, rx) = spawn(&spec(dir.path(), "echo $$ > me; sleep 100")).unwrap();
        assert_eq!(read_pid(&dir.path().join("me")), pid);
        let stat = crate::proc_stat::read_stat(pid).unwrap();
        assert_eq!((stat.pgrp, stat.session), (pid, pid));
        assert!(started_session(pid) && is_watched(pid));
        sys::kill_process(pid, libc::SIGKILL).unwrap();
        assert_eq!(
            block_on(rx).unwrap(),
            Some(WaitStatus::Signaled(libc::SIGKILL))
        );
    }

    #[test]
    fn missing_program_fails_to_spawn() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(dir.path(), "");
        s.argv = vec!["no-such-program-here".into()];
        assert!(spawn(&s).is_err());
        s.argv = vec![dir.path().join("nope").display().to_string()];
        assert!(spawn(&s).is_err());
    }

    #[test]
    fn session_walk_finds_a_member_in_its_own_group() {
        let dir = tempfile::tempdir().unwrap();
        let (pid, rx) =
            spawn(&spec(dir.path(), "set -m; sleep 100 & echo $! > job; wait")).unwrap();
        let job = read_pid(&dir.path().join("job"));
        let stat = crate::proc_stat::read_stat(job).unwrap();
        assert_eq!(stat.session, pid);
        assert_ne!(stat.pgrp, pid);
        let found =
            crate::proc_stat::session_descendants(sys::own_pid(), pid, &live_leaders_except(pid))
                .expect("children files readable");
        let pids: Vec<i32> = found.iter().map(|p| p.pid).collect();
        assert!(pids.contains(&pid) && pids.contains(&job), "{pids:?}");
        // Skipping the leader's subtree hides the job: the skip set is honoured.
        let skip = HashSet::from([pid]);
        let hidden = crate::proc_stat::session_descendants(sys::own_pid(), pid, &skip).unwrap();
        assert!(hidden.is_empty(), "{hidden:?}");
        sys::kill_process(job, libc::SIGKILL).unwrap();
        sys::kill_process(pid, libc::SIGKILL).unwrap();
        assert!(block_on(rx).is_ok());
    }
}
