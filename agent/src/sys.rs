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
    fn raw_wait_status() {
        assert_eq!(WaitStatus::Exited(3).raw(), 768);
        assert_eq!(WaitStatus::Signaled(9).raw(), 9);
    }
}
