//! `mesos agent` as an operator runs it.

mod support;

use support::Daemon;

/// With `--recover=cleanup` the agent shuts down what an earlier run left, never registers,
/// and the process exits by itself (Mesos's cleanup mode), here with nothing to clean up.
#[test]
fn agent_with_recover_cleanup_exits_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let runtime = dir.path().join("run");
    let mut d = Daemon::start(&[
        "agent",
        // Nothing listens on port 1: a cleanup run must not need a master.
        "--master=127.0.0.1:1",
        "--ip=127.0.0.1",
        "--port=0",
        &format!("--work_dir={}", work.display()),
        &format!("--runtime_dir={}", runtime.display()),
        "--recover=cleanup",
        "--resources=cpus:1;mem:128;disk:128;ports:[31000-31009]",
    ]);
    d.wait_for("recovery cleanup done");
    let status = d.child.wait().expect("waiting for mesos agent");
    assert!(status.success(), "exit status {status}: {:?}", d.log);
}
