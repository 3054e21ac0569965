//! Unmodified third-party clients: the Python `pymesos` 0.3.15 scheduler and executor
//! drivers (from PyPI) against `mesos local` with a real agent.
//!
//! The virtualenv is built once per target dir by `../shared/tools/setup-pymesos-venv.sh`
//! (pymesos's `http-parser` dependency needs rebuilding on Python 3.11) and kept in
//! `<target>/pymesos-venv`. Without python3 (or when the venv cannot be built) the tests
//! skip with the reason, unless `MESOS_TEST_REQUIRE_ALL=1`, when they fail.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc::channel;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use support::Daemon;

/// How long one pymesos script may run before the test kills it.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cargo target dir this test binary was built into (`<target>/debug/deps/<exe>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir().join("../target"))
}

fn require_all() -> bool {
    std::env::var("MESOS_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// Skips (or, under `MESOS_TEST_REQUIRE_ALL=1`, fails) with `reason`.
fn skip(reason: &str) -> Option<PathBuf> {
    assert!(!require_all(), "MESOS_TEST_REQUIRE_ALL=1: {reason}");
    eprintln!("SKIPPED: {reason}");
    None
}

/// The venv's python, building the venv on first use; `None` when the test must skip.
fn venv_python() -> Option<PathBuf> {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = VENV.get_or_init(|| {
        let venv = target_dir().join("pymesos-venv");
        let python = venv.join("bin/python");
        let ready = venv.join(".pymesos-ready");
        if ready.exists() && python.exists() {
            return Ok(python);
        }
        let found = Command::new("python3")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !found.is_ok_and(|s| s.success()) {
            return Err("python3 is not installed".into());
        }
        let script = manifest_dir().join("../../shared/tools/setup-pymesos-venv.sh");
        if !script.exists() {
            return Err(format!("{} is missing", script.display()));
        }
        let out = Command::new("bash")
            .arg(&script)
            .env("VENV", &venv)
            .output()
            .map_err(|e| format!("running {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "building the pymesos venv failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        std::fs::write(&ready, String::from_utf8_lossy(&out.stdout).as_bytes())
            .map_err(|e| format!("writing {}: {e}", ready.display()))?;
        Ok(python)
    });
    match result {
        Ok(p) => Some(p.clone()),
        Err(reason) => skip(reason),
    }
}

/// Builds the agent's command executor and returns its folder (`--launcher_dir`).
fn launcher_dir() -> PathBuf {
    // Two tests building at once only wait on cargo's lock; one at a time is quieter.
    static BUILD: Mutex<()> = Mutex::new(());
    let _one = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let run = escargot::CargoBuild::new()
        .package("mesos-agent")
        .bin("mesos-executor")
        .run()
        .expect("building mesos-executor");
    run.path().parent().expect("a folder").to_path_buf()
}

/// `mesos local` with one agent on port 0, its work dir in `dir`.
fn local_cluster(dir: &Path) -> (Daemon, String) {
    let launcher = launcher_dir();
    let mut local = Daemon::start(&[
        "local",
        "--num_slaves=1",
        "--port=0",
        "--allocation_interval=100ms",
        "--resources=cpus:2;mem:1024",
        &format!("--work_dir={}", dir.display()),
        &format!("--launcher_dir={}", launcher.display()),
    ]);
    let master = local.master_address();
    local.wait_for("local cluster: master at");
    (local, master)
}

/// Runs `python script args...` with extra `env`, killing it after [`SCRIPT_TIMEOUT`].
fn run_script(python: &Path, script: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(python)
        .envs(env.iter().copied())
        .arg(manifest_dir().join("tests/pymesos").join(script))
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        .env(
            "PYMESOS_TEST_TIMEOUT",
            (SCRIPT_TIMEOUT.as_secs() - 10).to_string(),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting python");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stderr.read_to_end(&mut b);
        b
    });
    // The readers end when the script exits (or is killed): wait for stdout's with a bound.
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let _ = tx.send(out_reader.join().unwrap_or_default());
    });
    let stdout = match rx.recv_timeout(SCRIPT_TIMEOUT) {
        Ok(b) => b,
        Err(_) => {
            let _ = child.kill();
            rx.recv().unwrap_or_default()
        }
    };
    let status = child.wait().expect("waiting for python");
    let stderr = err_reader.join().unwrap_or_default();
    Output {
        status,
        stdout,
        stderr,
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The `UPDATE <task> <state> ...` lines of a scheduler run, as (task, state, rest).
fn updates(o: &Output) -> Vec<(String, String, String)> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.splitn(4, ' ');
            (w.next() == Some("UPDATE")).then(|| {
                (
                    w.next().unwrap_or_default().to_string(),
                    w.next().unwrap_or_default().to_string(),
                    w.next().unwrap_or_default().to_string(),
                )
            })
        })
        .collect()
}

fn registered_framework(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("REGISTERED ").map(str::to_string))
        .unwrap_or_else(|| panic!("no REGISTERED line\n{}", text(o)))
}

#[test]
fn pymesos_scheduler_runs_command_tasks_to_finished() {
    let Some(python) = venv_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (local, master) = local_cluster(dir.path());

    let out = run_script(&python, "scheduler.py", &[&master, "4"], &[]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("DONE finished"), "{all}");
    let framework = registered_framework(&out);
    assert!(!framework.is_empty(), "{all}");
    let ups = updates(&out);
    for i in 0..4 {
        let task = format!("task-{i}");
        let states: Vec<&str> = ups
            .iter()
            .filter(|(t, _, _)| *t == task)
            .map(|(_, s, _)| s.as_str())
            .collect();
        assert_eq!(states.last(), Some(&"TASK_FINISHED"), "{task}: {all}");
        assert!(states.contains(&"TASK_RUNNING"), "{task}: {all}");
    }

    // The command executor ran each `echo` in its sandbox.
    let mut outputs = Vec::new();
    collect_files(dir.path(), "stdout", &mut outputs);
    for i in 0..4 {
        let needle = format!("pymesos-command-task task-{i}");
        assert!(
            outputs.iter().any(|(_, s)| s.contains(&needle)),
            "no sandbox stdout with {needle:?}: {outputs:?}"
        );
    }
    // pymesos tore its framework down when it stopped.
    drop(local);
}

#[test]
fn pymesos_executor_given_in_executor_info_runs_its_tasks() {
    let Some(python) = venv_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (local, master) = local_cluster(dir.path());
    // The executor script reaches the sandbox through the fetcher (CommandInfo.uris);
    // the command runs the fetched copy.
    let script = manifest_dir().join("tests/pymesos/executor.py");
    let executor = format!("{} executor.py", python.display());
    let script_uri = script.display().to_string();
    let out = run_script(
        &python,
        "scheduler.py",
        &[&master, "3", &executor],
        &[("PYMESOS_TEST_EXECUTOR_URI", &script_uri)],
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("DONE finished"), "{all}");
    let framework = registered_framework(&out);
    let ups = updates(&out);
    let mut pids = Vec::new();
    for i in 0..3 {
        let task = format!("task-{i}");
        let finished = ups
            .iter()
            .find(|(t, s, _)| *t == task && s == "TASK_FINISHED")
            .unwrap_or_else(|| panic!("{task} not finished: {all}"));
        // The message comes from the executor, built from the agent's environment.
        let msg = &finished.2;
        assert!(
            msg.contains("message=pymesos executor pymesos-executor pid "),
            "{msg}"
        );
        assert!(msg.contains(&format!("framework {framework} ")), "{msg}");
        assert!(msg.contains("source=SOURCE_EXECUTOR"), "{msg}");
        let pid = msg
            .split(" pid ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_default()
            .to_string();
        pids.push(pid);
        assert!(
            ups.iter()
                .any(|(t, s, _)| *t == task && s == "TASK_RUNNING"),
            "{task}: {all}"
        );
    }
    // The executor's framework messages reached the scheduler (before each
    // TASK_FINISHED, as the executor sent them).
    let stdout = String::from_utf8_lossy(&out.stdout);
    for i in 0..3 {
        let message = format!("hello from task-{i}");
        let at = stdout
            .lines()
            .position(|l| l.starts_with("MESSAGE pymesos-executor ") && l.ends_with(&message))
            .unwrap_or_else(|| panic!("no MESSAGE {message:?}: {all}"));
        let finished = stdout
            .lines()
            .position(|l| l.starts_with(&format!("UPDATE task-{i} TASK_FINISHED")))
            .unwrap_or_else(|| panic!("no TASK_FINISHED line: {all}"));
        assert!(at < finished, "{all}");
    }
    // One executor process ran all three tasks.
    pids.dedup();
    assert_eq!(pids.len(), 1, "{pids:?}");

    // The fetched script is in the executor's sandbox.
    let mut fetched = Vec::new();
    collect_files(dir.path(), "executor.py", &mut fetched);
    let original = std::fs::read_to_string(&script).unwrap();
    assert_eq!(fetched.len(), 1, "{fetched:?}");
    assert_eq!(fetched[0].1, original);
    assert!(
        fetched[0]
            .0
            .to_string_lossy()
            .contains("/executors/pymesos-executor/runs/"),
        "{fetched:?}"
    );

    // Each task's data was written into the executor's sandbox.
    let mut files = Vec::new();
    for i in 0..3 {
        collect_files(dir.path(), &format!("task-{i}.out"), &mut files);
    }
    for i in 0..3 {
        let want = format!("payload of task-{i}");
        assert!(
            files.iter().any(|(p, s)| s == &want
                && p.to_string_lossy()
                    .contains("/executors/pymesos-executor/runs/")),
            "no sandbox file with {want:?}: {files:?}"
        );
    }
    drop(local);
}

#[test]
fn pymesos_scheduler_kills_running_tasks() {
    let Some(python) = venv_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (local, master) = local_cluster(dir.path());

    let out = run_script(
        &python,
        "scheduler.py",
        &[&master, "2"],
        &[("PYMESOS_TEST_KILL", "1")],
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let ups = updates(&out);
    for i in 0..2 {
        let task = format!("task-{i}");
        let states: Vec<&str> = ups
            .iter()
            .filter(|(t, _, _)| *t == task)
            .map(|(_, s, _)| s.as_str())
            .collect();
        assert_eq!(states.first(), Some(&"TASK_RUNNING"), "{task}: {all}");
        assert_eq!(states.last(), Some(&"TASK_KILLED"), "{task}: {all}");
        assert!(all.contains(&format!("KILL {task}")), "{all}");
    }
    drop(local);
}

/// Every file named `name` under `root`, with its contents.
fn collect_files(root: &Path, name: &str, found: &mut Vec<(PathBuf, String)>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            collect_files(&path, name, found);
        } else if kind.is_file() && e.file_name() == name {
            found.push((
                path.clone(),
                std::fs::read_to_string(&path).unwrap_or_default(),
            ));
        }
    }
}
