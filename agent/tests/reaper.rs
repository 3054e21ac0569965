//! The subreaper and orphan reaping. Its own test binary (its own process): reaping
//! untracked children would be unsafe beside other tests that spawn processes.

use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

use libprocess::{block_on, Clock};
use mesos_agent::reaper::{become_subreaper, reap_orphans};
use mesos_agent::sys::WaitStatus;

fn eventually<T>(clock: &Clock, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..500 {
        if let Some(t) = f() {
            return Some(t);
        }
        block_on(clock.sleep(Duration::from_millis(10)));
    }
    None
}

#[test]
fn orphans_are_reparented_to_us_and_reaped_but_tracked_children_are_left_alone() {
    let clock = Clock::new();
    become_subreaper().unwrap();
    // A tracked child that exits: ours to leave for its own waiter.
    let mut tracked_child = Command::new("/bin/sh")
        .args(["-c", "exit 4"])
        .spawn()
        .unwrap();
    let tracked: HashSet<i32> = [tracked_child.id() as i32].into();
    // The shell exits at once, orphaning its background child, which we then inherit.
    let out = Command::new("/bin/sh")
        .args(["-c", "/bin/sh -c 'sleep 0.1; exit 7' & echo $!"])
        .output()
        .unwrap();
    let orphan: i32 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let reaped = eventually(&clock, || {
        let r = reap_orphans(&tracked);
        r.iter().find(|(pid, _)| *pid == orphan).copied()
    });
    assert_eq!(reaped, Some((orphan, WaitStatus::Exited(7))));
    // The tracked child was not taken from its waiter.
    assert_eq!(tracked_child.wait().unwrap().code(), Some(4));
}
