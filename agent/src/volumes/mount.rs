//! Bind mounts for persistent volumes (`mount(2)` / `umount2(2)`).
//!
//! `unsafe` is allowed in this module only: each function wraps one libc call whose
//! C strings are built in safe code right beside it. Kept apart from `sys` so the
//! volume code stays in the files that own it.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path holds a NUL byte"))
}

/// Bind-mounts `source` on `target` (both must exist), then makes the mount private so
/// it does not propagate into other mount namespaces, and read-only if asked.
pub fn bind(source: &Path, target: &Path, read_only: bool) -> io::Result<()> {
    let src = c_path(source)?;
    let dst = c_path(target)?;
    // SAFETY: both strings are valid NUL-terminated paths that outlive the call; a bind
    // mount takes no file system type or data.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above; MS_PRIVATE only changes the propagation of the new mount.
    let rc = unsafe {
        libc::mount(
            std::ptr::null(),
            dst.as_ptr(),
            std::ptr::null(),
            libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        let e = io::Error::last_os_error();
        tracing::debug!("making {} private: {e}", target.display());
    }
    if read_only {
        // SAFETY: as above; a bind remount only changes the flags of this mount.
        let rc = unsafe {
            libc::mount(
                std::ptr::null(),
                dst.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
                std::ptr::null(),
            )
        };
        if rc != 0 {
            let e = io::Error::last_os_error();
            let _ = unmount(target);
            return Err(e);
        }
    }
    Ok(())
}

/// Unmounts `target`, lazily if it is busy (a process still has a file open in it).
pub fn unmount(target: &Path) -> io::Result<()> {
    let dst = c_path(target)?;
    // SAFETY: a valid NUL-terminated path; flags 0 is a plain unmount.
    let rc = unsafe { libc::umount2(dst.as_ptr(), 0) };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::EBUSY) {
        return Err(e);
    }
    // SAFETY: as above; MNT_DETACH detaches now and frees the mount when unused.
    let rc = unsafe { libc::umount2(dst.as_ptr(), libc::MNT_DETACH) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// True if `path` is a mount point listed in `/proc/self/mountinfo`.
pub fn is_mount_point(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.as_os_str().as_bytes();
    text.lines().any(|line| {
        line.split(' ')
            .nth(4)
            .is_some_and(|p| unescape(p).as_slice() == want)
    })
}

/// Mount points strictly below `dir`, deepest first (so nested ones go first).
pub fn mount_points_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut out: Vec<std::path::PathBuf> = text
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|p| std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&unescape(p))))
        .filter(|p| p != dir && p.starts_with(dir))
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out.dedup();
    out
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> Vec<u8> {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_unescape() {
        assert_eq!(unescape(r"/a\040b"), b"/a b");
        assert_eq!(unescape("/plain"), b"/plain");
        assert!(is_mount_point(Path::new("/")));
    }
}
