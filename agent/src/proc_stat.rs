//! Reading `/proc/<pid>/stat`: process trees for usage, zombies for the reaper.

/// The fields of `/proc/<pid>/stat` the posix isolators read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// Process id.
    pub pid: i32,
    /// State letter (`R`, `S`, `Z`, ...).
    pub state: char,
    /// Parent process id.
    pub ppid: i32,
    /// Process group.
    pub pgrp: i32,
    /// Session id.
    pub session: i32,
    /// User CPU time in clock ticks.
    pub utime: u64,
    /// System CPU time in clock ticks.
    pub stime: u64,
    /// Resident set size in pages.
    pub rss_pages: u64,
}

/// Parses one `/proc/<pid>/stat` line (the command name may hold spaces and parentheses).
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text.get(..open)?.trim().parse().ok()?;
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let field = |i: usize| rest.get(i).copied();
    Some(ProcStat {
        pid,
        state: field(0)?.chars().next()?,
        ppid: field(1)?.parse().ok()?,
        pgrp: field(2)?.parse().ok()?,
        session: field(3)?.parse().ok()?,
        utime: field(11)?.parse().ok()?,
        stime: field(12)?.parse().ok()?,
        rss_pages: field(21)?.parse().ok()?,
    })
}

/// Every process in `/proc`.
pub fn all_processes() -> Vec<ProcStat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|t| parse_stat(&t))
        .collect()
}

/// Every process of session `sid`.
pub fn session_processes(sid: i32) -> Vec<ProcStat> {
    all_processes()
        .into_iter()
        .filter(|s| s.session == sid)
        .collect()
}

/// The stat line of one process, if it still exists.
pub fn read_stat(pid: i32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// The children of `pid`, from every thread's `/proc/<pid>/task/<tid>/children`;
/// `None` if the kernel does not provide those files (or `pid` has gone).
pub fn children(pid: i32) -> Option<Vec<i32>> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut out = Vec::new();
    let mut any = false;
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        any = true;
        out.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    any.then_some(out)
}

/// The descendants of `root` in session `sid`, not looking below the pids in `skip`;
/// `None` if `root`'s children cannot be listed.
pub fn session_descendants(
    root: i32,
    sid: i32,
    skip: &std::collections::HashSet<i32>,
) -> Option<Vec<ProcStat>> {
    let mut stack: Vec<i32> = children(root)?
        .into_iter()
        .filter(|p| !skip.contains(p))
        .collect();
    let mut found = Vec::new();
    while let Some(pid) = stack.pop() {
        let Some(stat) = read_stat(pid) else {
            continue;
        };
        if stat.session == sid {
            found.push(stat);
        }
        // A member's parent may have left the session (setsid after forking), so every
        // subtree is walked, not only the members'.
        stack.extend(children(pid).unwrap_or_default());
    }
    Some(found)
}

/// The pids of our exited-but-unreaped children (zombies whose parent is `parent`).
pub fn zombie_children(parent: i32) -> Vec<i32> {
    all_processes()
        .into_iter()
        .filter(|s| s.ppid == parent && s.state == 'Z')
        .map(|s| s.pid)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_names() {
        let line = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 123 4096000 250 18446744073709551615";
        let s = parse_stat(line).unwrap();
        assert_eq!(
            s,
            ProcStat {
                pid: 4242,
                state: 'S',
                ppid: 1,
                pgrp: 4242,
                session: 4242,
                utime: 7,
                stime: 3,
                rss_pages: 250
            }
        );
        assert!(parse_stat("garbage").is_none());
        assert!(parse_stat("1 (x) S 1").is_none());
    }
}
