//! The real `mesos` binary as an operator runs it: `mesos master`, `mesos local` and the
//! list commands against them. Every master binds port 0 and a temp work dir.

mod support;

use support::{http_get, run, stderr, stdout, Daemon};

fn start_master(work_dir: &std::path::Path) -> (Daemon, String) {
    let dir = format!("--work_dir={}", work_dir.display());
    let mut d = Daemon::start(&["master", "--ip=127.0.0.1", "--port=0", &dir]);
    let addr = d.master_address();
    (d, addr)
}

#[test]
fn master_on_port_0_prints_its_address_answers_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (d, addr) = start_master(dir.path());
    assert!(
        !addr.ends_with(":0"),
        "the log shows the bound port: {addr}"
    );
    let (status, body) = http_get(&addr, "/health");
    assert_eq!(status, 200);
    assert!(body.is_empty(), "{body:?}");
    let (status, body) = http_get(&addr, "/version");
    assert_eq!(status, 200);
    assert!(body.contains("\"1.8.0\""), "{body}");
    let (ok, log) = d.terminate();
    assert!(ok, "clean exit after SIGTERM; log:\n{}", log.join("\n"));
    assert!(
        log.iter().any(|l| l.contains("received SIGTERM")),
        "{log:?}"
    );
    assert!(log.iter().any(|l| l.contains("master stopped")), "{log:?}");
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "nothing listens on {addr} after shutdown"
    );
}

#[test]
fn master_takes_flags_from_mesos_env_and_rejects_bad_flags() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = support::mesos();
    cmd.args(["master"])
        .env("MESOS_IP", "127.0.0.1")
        .env("MESOS_PORT", "0")
        .env("MESOS_WORK_DIR", dir.path());
    let mut d = Daemon::from_command(cmd);
    let addr = d.master_address();
    let (status, body) = http_get(&addr, "/flags");
    assert_eq!(status, 200);
    let flags: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        flags["flags"]["work_dir"].as_str(),
        Some(dir.path().to_str().unwrap())
    );
    let (ok, _) = d.terminate();
    assert!(ok);

    let out = run(&["master", "--port=0", "--no_such_flag=1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no_such_flag"), "{}", stderr(&out));
    let out = run(&["master", "--port=notaport"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("notaport"), "{}", stderr(&out));
}

#[test]
fn list_commands_print_tables_and_show_a_subscribed_framework() {
    let dir = tempfile::tempdir().unwrap();
    let (d, addr) = start_master(dir.path());
    let master = format!("--master={addr}");
    for kind in ["task", "agent", "framework"] {
        let out = run(&[kind, "list", &master]);
        assert!(out.status.success(), "{kind} list: {}", stderr(&out));
        let text = stdout(&out);
        assert_eq!(text.lines().count(), 1, "only the header: {text}");
        assert!(text.starts_with("ID  "), "{text}");
    }

    // A framework that subscribes and waits for offers (the master has no agents).
    let mut exec = Daemon::start(&["execute", &master, "--name=waiting", "--command=true"]);
    let line = exec.wait_for("subscribed as framework ");
    let fid = line.rsplit(' ').next().unwrap().to_string();
    let out = run(&["framework", "list", &master]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.starts_with(&fid))
        .unwrap_or_else(|| panic!("framework {fid} listed: {text}"));
    assert!(row.contains("mesos-execute instance"), "{row}");
    assert!(row.contains("true"), "active: {row}");
    drop(exec);
    drop(d);
}

#[test]
fn list_commands_explain_an_unreachable_master() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run(&["task", "list", &format!("--master=127.0.0.1:{port}")]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot reach http://127.0.0.1:{port}/state")),
        "{err}"
    );
    assert!(err.contains("--master"), "{err}");
    let out = run(&[
        "execute",
        &format!("--master=127.0.0.1:{port}"),
        "--name=x",
        "--command=true",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot reach http://127.0.0.1:{port}/health")),
        "{err}"
    );
    let out = run(&["task", "list", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bogus"));
}

#[test]
fn local_runs_a_master_in_a_fresh_temp_dir_by_default() {
    let mut d = Daemon::start(&["local", "--num_slaves=0", "--port=0"]);
    let addr = d.master_address();
    let line = d.wait_for("local cluster: master at");
    let work_dir = line.rsplit("work dir ").next().unwrap().trim().to_string();
    let work_dir = std::path::PathBuf::from(work_dir);
    assert!(
        work_dir.starts_with(std::env::temp_dir()),
        "{}",
        work_dir.display()
    );
    assert!(work_dir.join("master").is_dir());
    assert_eq!(http_get(&addr, "/health").0, 200);
    let (ok, _) = d.terminate();
    assert!(ok);
    std::fs::remove_dir_all(&work_dir).unwrap();
}

#[test]
fn local_starts_agents_with_their_own_work_dirs_and_ports() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&[
        "local",
        "--num_slaves=2",
        "--port=0",
        &format!("--work_dir={}", dir.path().display()),
        "--resources=cpus:1;mem:256",
    ]);
    let addr = d.master_address();
    for i in 0..2 {
        let agent_dir = dir.path().join("agents").join(i.to_string());
        d.wait_for(&format!("work dir {}", agent_dir.display()));
    }
    // Both agents registered (each logs it once).
    let mut registered = d
        .log
        .iter()
        .filter(|l| l.contains("registered with master"))
        .count();
    while registered < 2 {
        d.wait_for_next("registered with master");
        registered += 1;
    }
    let out = run(&["agent", "list", &format!("--master={addr}")]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(
        rows.iter()
            .all(|r| r.contains("0/1 ") && r.contains("0/256 MB")),
        "{text}"
    );
    assert!(rows.iter().any(|r| r.ends_with("[31000-31999]")), "{text}");
    assert!(rows.iter().any(|r| r.ends_with("[32000-32999]")), "{text}");
    let (ok, _) = d.terminate();
    assert!(ok);
}

#[test]
fn agent_needs_a_master() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "agent",
        "--port=0",
        &format!("--work_dir={}", dir.path().display()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--master"), "{}", stderr(&out));
    let out = run(&["agent", "--no_such_flag=1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no_such_flag"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown command 'frobnicate'"));
    let out = run(&["execute", "--name=x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--command"), "{}", stderr(&out));
    let out = run(&["--help"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("mesos execute") || stdout(&out).contains("execute "));
}
