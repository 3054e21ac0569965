use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::noop_waker;
use libprocess::Clock;

use super::process_ops::OpCall;
use super::*;
use crate::checkpoint;

fn spec(dir: &std::path::Path) -> ProcessSpec {
    ProcessSpec {
        argv: vec!["/bin/true".into()],
        env: BTreeMap::new(),
        cwd: dir.to_path_buf(),
        stdout: dir.join("stdout"),
        stderr: dir.join("stderr"),
        user: None,
    }
}

fn poll<F: std::future::Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let waker = noop_waker();
    Pin::new(f).poll(&mut Context::from_waker(&waker))
}

#[test]
fn fork_checkpoints_the_pid_everywhere_first() {
    let dir = tempfile::tempdir().unwrap();
    let ops = RecordingProcessOps::new();
    let launcher = PosixLauncher::new(Arc::new(ops.clone()), dir.path().join("run"));
    let forked = dir.path().join("meta/pids/forked.pid");
    let pid = launcher.fork("c1", &spec(dir.path()), &[&forked]).unwrap();
    assert_eq!(
        checkpoint::read_text(&dir.path().join("run/containers/c1/pid")).unwrap(),
        Some(pid.to_string())
    );
    assert_eq!(
        checkpoint::read_text(&forked).unwrap(),
        Some(pid.to_string())
    );
    assert!(matches!(
        launcher.fork("c1", &spec(dir.path()), &[]),
        Err(LauncherError::AlreadyLaunched(_))
    ));
    assert!(matches!(
        launcher.fork("../c", &spec(dir.path()), &[]),
        Err(LauncherError::BadId(_))
    ));
    assert_eq!(launcher.containers(), vec!["c1"]);
    assert_eq!(
        ops.calls(),
        vec![OpCall::Spawn(vec!["/bin/true".into()], pid)]
    );
}

#[test]
fn failed_pid_checkpoint_kills_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let ops = RecordingProcessOps::new();
    let launcher = PosixLauncher::new(Arc::new(ops.clone()), dir.path().join("run"));
    // A pid file whose parent is a regular file cannot be written.
    std::fs::write(dir.path().join("file"), "x").unwrap();
    let bad = dir.path().join("file/forked.pid");
    let e = launcher.fork("c1", &spec(dir.path()), &[&bad]).unwrap_err();
    assert!(matches!(e, LauncherError::Checkpoint { .. }), "{e}");
    let calls = ops.calls();
    let OpCall::Spawn(_, pid) = calls[0].clone() else {
        panic!("{calls:?}")
    };
    assert_eq!(calls[1], OpCall::Signal(pid, libc::SIGKILL));
    assert!(launcher.containers().is_empty());
}

#[test]
fn terminate_escalates_to_sigkill_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::new();
    clock.pause();
    let ops = RecordingProcessOps::new();
    let launcher = PosixLauncher::new(Arc::new(ops.clone()), dir.path().join("run"));
    let pid = launcher.fork("c", &spec(dir.path()), &[]).unwrap();
    let grace = Duration::from_secs(5);
    let mut fut = Box::pin(launcher.terminate("c", grace, &clock));
    assert!(poll(&mut fut).is_pending());
    clock.advance(grace - Duration::from_millis(1));
    assert!(poll(&mut fut).is_pending());
    assert_eq!(
        ops.calls().last(),
        Some(&OpCall::Signal(pid, libc::SIGTERM))
    );
    clock.advance(Duration::from_millis(1));
    let status = loop {
        if let Poll::Ready(r) = poll(&mut fut) {
            break r.unwrap();
        }
    };
    assert_eq!(status, Some(WaitStatus::Signaled(libc::SIGKILL)));
    assert_eq!(
        ops.calls().last(),
        Some(&OpCall::Signal(pid, libc::SIGKILL))
    );
    assert!(launcher.containers().is_empty());
    assert!(!dir.path().join("run/containers/c").exists());
}

#[test]
fn terminate_of_a_well_behaved_process_needs_no_grace() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::new();
    clock.pause();
    let ops = RecordingProcessOps::new();
    ops.die_on(libc::SIGTERM);
    let launcher = PosixLauncher::new(Arc::new(ops.clone()), dir.path().join("run"));
    launcher.fork("c", &spec(dir.path()), &[]).unwrap();
    let mut fut = Box::pin(launcher.terminate("c", Duration::from_secs(5), &clock));
    let status = loop {
        if let Poll::Ready(r) = poll(&mut fut) {
            break r.unwrap();
        }
    };
    assert_eq!(status, Some(WaitStatus::Signaled(libc::SIGTERM)));
}

#[test]
fn recover_rewatches_live_pids_and_kills_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let ops = RecordingProcessOps::new();
    ops.adopt(501);
    ops.adopt(503);
    checkpoint::write_text(&run.join("containers/live/pid"), "501").unwrap();
    checkpoint::write_text(&run.join("containers/dead/pid"), "502").unwrap();
    checkpoint::write_text(&run.join("containers/orphan/pid"), "503").unwrap();
    checkpoint::write_text(&run.join("containers/garbled/pid"), "x").unwrap();
    let c = MesosContainerizer::new(Arc::new(ops.clone()), &run, Vec::new());
    let known = vec!["live".to_string(), "dead".into(), "garbled".into()];
    let recovered = c.recover(&known).unwrap();
    assert_eq!(
        recovered
            .iter()
            .map(|r| (r.container.as_str(), r.alive))
            .collect::<Vec<_>>(),
        [("live", true), ("dead", false), ("garbled", false)]
    );
    assert_eq!(c.containers(), vec!["live"]);
    assert!(ops.calls().contains(&OpCall::Signal(503, libc::SIGKILL)));
    assert!(!run.join("containers/orphan").exists());
    assert!(!run.join("containers/dead").exists());
    // The recovered container's exit is seen through its watch.
    let mut wait = c.wait("live").unwrap();
    assert!(poll(&mut wait).is_pending());
    ops.exit(501, WaitStatus::Exited(0));
    assert!(matches!(poll(&mut wait), Poll::Ready(Termination { .. })));
}

#[test]
fn isolator_table_follows_isolation_flag() {
    let mut flags = crate::flags::AgentFlags::defaults();
    let names: Vec<_> = isolator::create_isolators(&flags)
        .unwrap()
        .iter()
        .map(|i| i.name())
        .collect();
    assert_eq!(names, ["posix/cpu", "posix/mem"]);
    flags.isolation = vec!["posix/mem".into(), "cgroups/bogus".into()];
    let e = isolator::create_isolators(&flags).err().unwrap();
    assert_eq!(e, IsolatorError::Unknown("cgroups/bogus".into()));
}

struct Refusing;

impl Isolator for Refusing {
    fn name(&self) -> &'static str {
        "test/refusing"
    }
    fn prepare(
        &self,
        config: &ContainerConfig,
    ) -> Result<Option<isolator::LaunchAdditions>, IsolatorError> {
        Err(IsolatorError::Failed {
            isolator: self.name(),
            container: config.container_id.clone(),
            reason: "no".into(),
        })
    }
}

#[test]
fn a_failing_isolator_stops_the_launch() {
    let dir = tempfile::tempdir().unwrap();
    let ops = RecordingProcessOps::new();
    let c = MesosContainerizer::new(
        Arc::new(ops.clone()),
        dir.path().join("run"),
        vec![Box::new(Refusing)],
    );
    let req = LaunchRequest {
        config: ContainerConfig {
            container_id: "c".into(),
            sandbox: dir.path().to_path_buf(),
            ..Default::default()
        },
        argv: vec!["/bin/true".into()],
        env: BTreeMap::new(),
        pid_files: Vec::new(),
        user: None,
    };
    assert!(matches!(
        c.launch(req),
        Err(ContainerizerError::Isolator(_))
    ));
    assert!(ops.calls().is_empty());
}
