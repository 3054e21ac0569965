//! The few raw system calls the agent needs that `std` does not offer.
//!
//! `unsafe` is allowed here and nowhere else in the crate: each function wraps one libc
//! call whose arguments are built and checked in safe code right beside it, so the rest of
//! the agent stays safe Rust.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// Number of online CPUs (`sysconf(_SC_NPROCESSORS_ONLN)`), as Mesos counts them.
pub fn cpus_online() -> io::Result<u64> {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n <= 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as u64)
}

/// Clock ticks per second, the unit of CPU times in `/proc/<pid>/stat`.
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if n <= 0 {
        100
    } else {
        n as u64
    }
}

/// The memory page size, the unit of RSS in `/proc/<pid>/stat`.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n <= 0 {
        4096
    } else {
        n as u64
    }
}

/// Total size in bytes of the file system holding `path`.
pub fn filesystem_total_bytes(path: &Path) -> io::Result<u64> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: `statvfs` is plain old data, so an all-zero value is valid; `c` is a valid
    // NUL-terminated string and `buf` a valid out-pointer for the duration of the call.
    let mut buf: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut buf) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((buf.f_blocks as u64).saturating_mul(buf.f_frsize as u64))
}

/// Makes this process a child subreaper: orphaned descendants (task processes whose
/// executor died) are re-parented to us instead of init, so we can reap them.
pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer argument and touches no memory.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// True if this process is a child subreaper (see [`set_child_subreaper`]).
pub fn is_child_subreaper() -> bool {
    let mut flag: libc::c_int = 0;
    // SAFETY: PR_GET_CHILD_SUBREAPER writes one int through the pointer we pass.
    let rc = unsafe {
        libc::prctl(
            libc::PR_GET_CHILD_SUBREAPER,
            &mut flag as *mut libc::c_int as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    rc == 0 && flag != 0
}

/// This process's pid.
pub fn own_pid() -> i32 {
    std::process::id() as i32
}

/// Starts the child in a new session (hence its own process group, with no controlling
/// terminal), so that killing the group reaches every process of the container.
pub fn new_session_on_spawn(cmd: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and calls only setsid,
    // which is async-signal-safe; it allocates nothing and takes no locks.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Sends `signal` to the process group `pgid`. `ESRCH` (the group is gone) is not an error.
pub fn kill_process_group(pgid: i32, signal: i32) -> io::Result<()> {
    if pgid <= 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to signal process group {pgid}"),
        ));
    }
    // SAFETY: killpg takes plain integers; the guard above keeps us from signalling our
    // own group (0) or every process (1 and below).
    let rc = unsafe { libc::killpg(pgid, signal) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ESRCH) {
            return Ok(());
        }
        return Err(err);
    }
    Ok(())
}

/// Sends `signal` to one process. `ESRCH` is not an error.
pub fn kill_process(pid: i32, signal: i32) -> io::Result<()> {
    if pid <= 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to signal pid {pid}"),
        ));
    }
    // SAFETY: kill takes plain integers; the guard rejects the broadcast pids.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ESRCH) {
            return Ok(());
        }
        return Err(err);
    }
    Ok(())
}

/// True if a process with this pid exists (and is not a zombie we could see).
pub fn process_exists(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// A pidfd: a handle on a process that is not (or no longer) our child, so that its exit
/// can be awaited without polling (`pidfd_open(2)`, Linux 5.3+).
#[derive(Debug)]
pub struct PidFd(std::os::fd::OwnedFd);

impl std::os::fd::AsRawFd for PidFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

impl PidFd {
    /// Opens a pidfd for `pid`; fails with `ESRCH` if the process is gone.
    pub fn open(pid: i32) -> io::Result<PidFd> {
        if pid <= 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid pid {pid}"),
            ));
        }
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just returned this descriptor to us; nobody else owns it.
        Ok(PidFd(unsafe {
            <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32)
        }))
    }

    /// Blocks the calling thread until the process exits.
    pub fn wait_exit(&self) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let mut pfd = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            // SAFETY: `pfd` is one valid pollfd; -1 waits without a timeout.
            let rc = unsafe { libc::poll(&mut pfd, 1, -1) };
            if rc > 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

/// A user account, as `getpwnam(3)` finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory.
    pub home: String,
}

/// Looks up a user by name; `Ok(None)` if there is no such user.
pub fn lookup_user(name: &str) -> io::Result<Option<User>> {
    let c = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "user name contains NUL"))?;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: `passwd` is plain old data; zeroed is a valid initial value.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call; `buf` outlives every use of the
    // strings `pwd` points into, which we copy out before returning.
    let rc = unsafe {
        libc::getpwnam_r(
            c.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    if result.is_null() {
        return Ok(None);
    }
    let home = if pwd.pw_dir.is_null() {
        String::new()
    } else {
        // SAFETY: getpwnam_r filled `pw_dir` with a NUL-terminated string inside `buf`.
        unsafe { std::ffi::CStr::from_ptr(pwd.pw_dir) }
            .to_string_lossy()
            .into_owned()
    };
    Ok(Some(User {
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
        home,
    }))
}

/// The effective user id of this process.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// How a reaped child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStatus {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
}

impl WaitStatus {
    /// The raw `wait(2)` status Mesos reports in `TaskStatus`/`WaitContainer`.
    pub fn raw(self) -> i32 {
        match self {
            WaitStatus::Exited(code) => (code & 0xff) << 8,
            WaitStatus::Signaled(sig) => sig & 0x7f,
        }
    }
}

/// Reaps the exited child `pid` without blocking: `Ok(None)` if it has not exited.
pub fn reap(pid: i32) -> io::Result<Option<WaitStatus>> {
    if pid <= 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to wait for pid {pid}"),
        ));
    }
    let mut status: libc::c_int = 0;
    // SAFETY: `status` is a valid out-pointer; a positive pid waits for that child only,
    // so children that others wait for (std's `Child::wait`) are never taken.
    let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    if rc == 0 {
        return Ok(None);
    }
    Ok(Some(if libc::WIFEXITED(status) {
        WaitStatus::Exited(libc::WEXITSTATUS(status))
    } else {
        WaitStatus::Signaled(libc::WTERMSIG(status))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_and_disk_are_positive() {
        assert!(cpus_online().unwrap() >= 1);
        let dir = tempfile::tempdir().unwrap();
        assert!(filesystem_total_bytes(dir.path()).unwrap() > 0);
        assert!(filesystem_total_bytes(Path::new("/no/such/dir")).is_err());
    }

    #[test]
    fn refuses_broadcast_signals() {
        assert!(kill_process_group(0, libc::SIGKILL).is_err());
        assert!(kill_process_group(1, libc::SIGKILL).is_err());
        assert!(kill_process(-1, libc::SIGKILL).is_err());
        assert!(!process_exists(0));
        assert!(process_exists(std::process::id() as i32));
    }

    #[test]
    fn users() {
        let root = lookup_user("root").unwrap().unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert_eq!(lookup_user("no-such-user-xyz").unwrap(), None);
        assert!(lookup_user("a\0b").is_err());
    }

    #[test]
    fn pidfd_sees_a_non_child_exit() {
        let mut child = std::process::Command::new("sleep")
            .arg("0.2")
            .spawn()
            .unwrap();
        let fd = PidFd::open(child.id() as i32).unwrap();
        let waiter = std::thread::spawn(move || fd.wait_exit());
        child.wait().unwrap();
        waiter.join().unwrap().unwrap();
        assert!(PidFd::open(-4).is_err());
    }

    #[test]
    fn raw_wait_status() {
        assert_eq!(WaitStatus::Exited(3).raw(), 768);
        assert_eq!(WaitStatus::Signaled(9).raw(), 9);
    }
}
