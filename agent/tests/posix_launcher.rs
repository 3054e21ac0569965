//! The POSIX launcher and Mesos containerizer with real processes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use libprocess::{block_on, Clock};
use mesos_agent::containerizer::isolator::{create_isolators, ContainerConfig};
use mesos_agent::containerizer::{
    Containerizer, LaunchRequest, MesosContainerizer, PosixLauncher, RealProcessOps,
};
use mesos_agent::flags::AgentFlags;
use mesos_agent::sys::WaitStatus;

fn request(sandbox: &Path, id: &str, script: &str) -> LaunchRequest {
    let mut env = BTreeMap::new();
    env.insert("FOO".to_string(), "bar".to_string());
    env.insert("PATH".to_string(), "/usr/bin:/bin".to_string());
    LaunchRequest {
        config: ContainerConfig {
            container_id: id.into(),
            sandbox: sandbox.to_path_buf(),
            ..Default::default()
        },
        argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env,
        pid_files: vec![sandbox.join("forked.pid")],
        user: None,
    }
}

fn containerizer(run: &Path) -> MesosContainerizer {
    let isolators = create_isolators(&AgentFlags::defaults()).unwrap();
    MesosContainerizer::new(Arc::new(RealProcessOps), run, isolators)
}

/// True once `pid` is gone or a zombie.
fn dead(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn eventually(clock: &Clock, mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if f() {
            return true;
        }
        block_on(clock.sleep(Duration::from_millis(10)));
    }
    false
}

#[test]
fn a_command_runs_in_its_sandbox_with_its_environment_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let c = containerizer(&dir.path().join("run"));
    let pid = c
        .launch(request(
            dir.path(),
            "c1",
            "echo out $FOO; echo err >&2; pwd > where; exit 3",
        ))
        .unwrap();
    assert!(pid > 1);
    let status = c.containers();
    assert_eq!(status, vec!["c1"]);
    let t = block_on(c.wait("c1").unwrap());
    assert_eq!(t.status, Some(WaitStatus::Exited(3)));
    assert_eq!(t.status.unwrap().raw(), 3 << 8);
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
    assert_eq!(read("stdout"), "out bar\n");
    assert_eq!(read("stderr"), "err\n");
    assert_eq!(
        read("where").trim(),
        dir.path().canonicalize().unwrap().to_str().unwrap()
    );
    assert_eq!(read("forked.pid"), pid.to_string());
    block_on(c.destroy("c1")).unwrap();
    assert!(c.containers().is_empty());
}

#[test]
fn destroy_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::new();
    let c = containerizer(&dir.path().join("run"));
    c.launch(request(
        dir.path(),
        "c1",
        "sleep 100 & echo $! > child.pid; wait",
    ))
    .unwrap();
    let child_file = dir.path().join("child.pid");
    assert!(eventually(&clock, || std::fs::read_to_string(&child_file)
        .is_ok_and(|s| s.ends_with('\n'))));
    let child: i32 = std::fs::read_to_string(&child_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let usage = c.usage("c1").unwrap();
    assert!(usage.mem_rss_bytes.unwrap() > 0);
    assert!(c.status("c1").unwrap().executor_pid.is_some());
    let t = block_on(c.destroy("c1")).unwrap();
    assert_eq!(t.status, Some(WaitStatus::Signaled(libc::SIGKILL)));
    assert!(
        eventually(&clock, || dead(child)),
        "grandchild {child} survived"
    );
}

#[test]
fn terminate_sends_sigterm_then_sigkill_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::new();
    let launcher = PosixLauncher::new(Arc::new(RealProcessOps), dir.path().join("run"));
    let spec = |script: &str| mesos_agent::containerizer::ProcessSpec {
        argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: BTreeMap::new(),
        cwd: dir.path().to_path_buf(),
        stdout: dir.path().join("stdout"),
        stderr: dir.path().join("stderr"),
        user: None,
    };
    // Ignores SIGTERM (and so does the sleep it runs), so only SIGKILL ends it.
    launcher
        .fork("stubborn", &spec("trap '' TERM; /bin/sleep 100"), &[])
        .unwrap();
    let grace = Duration::from_millis(300);
    let start = clock.now();
    let status = block_on(launcher.terminate("stubborn", grace, &clock)).unwrap();
    assert_eq!(status, Some(WaitStatus::Signaled(libc::SIGKILL)));
    assert!(clock.now() - start >= grace);
    // Exits on SIGTERM right away.
    launcher
        .fork("polite", &spec("exec /bin/sleep 100"), &[])
        .unwrap();
    let status = block_on(launcher.terminate("polite", Duration::from_secs(60), &clock)).unwrap();
    assert_eq!(status, Some(WaitStatus::Signaled(libc::SIGTERM)));
}

#[test]
fn a_restarted_launcher_finds_and_watches_running_containers() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let first = containerizer(&run);
    let pid = first
        .launch(request(dir.path(), "c1", "exec /bin/sleep 100"))
        .unwrap();
    // A second containerizer over the same runtime dir plays the restarted agent.
    let second = containerizer(&run);
    let recovered = second.recover(&["c1".to_string()]).unwrap();
    assert_eq!(recovered.len(), 1);
    assert!(recovered[0].alive);
    assert_eq!(recovered[0].pid, pid);
    assert!(second.usage("c1").is_ok());
    let wait = second.wait("c1").unwrap();
    let t = block_on(second.destroy("c1")).unwrap();
    // Not our child from the second one's point of view: no exit status.
    assert_eq!(t.status, None);
    block_on(wait);
    let t = block_on(first.wait("c1").unwrap());
    assert_eq!(t.status, Some(WaitStatus::Signaled(libc::SIGKILL)));
}
