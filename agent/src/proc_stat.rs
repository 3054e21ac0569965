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
