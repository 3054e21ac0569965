//! `mesos execute` (the real binary) against a real master with simulated agents (the
//! `mesos-integration` cluster on a real-time clock, HTTP transport): the framework
//! logic end to end — subscribe, offers, LAUNCH and LAUNCH_GROUP, updates, progress, exit
//! code — and the list commands showing the running tasks. Real processes on real agents
//! are covered once `mesos local` has agents (TODO, agent issue).

mod support;

use std::time::Duration;

use mesos_integration::agent::{AgentConfig, TaskScript};
use mesos_integration::cluster::{Cluster, Transport};
use support::{run, stderr, stdout, Daemon};

fn cluster(agents: usize, script: TaskScript) -> Cluster {
    Cluster::builder()
        .paused(false)
        .transport(Transport::Http)
        .master_flag("--allocation_interval=50ms")
        .agents(agents, AgentConfig::default().script(script))
        .start()
        .expect("cluster")
}

fn master_flag(c: &Cluster) -> String {
    format!("--master={}", c.master_address())
}

#[test]
fn one_command_runs_to_finished_and_exits_0() {
    let c = cluster(1, TaskScript::finish_after(Duration::from_millis(100)));
    let out = run(&[
        "execute",
        &master_flag(&c),
        "--name=hello",
        "--command=echo hi",
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    let running = text
        .find("task hello: TASK_RUNNING on localhost-0")
        .expect(&text);
    let finished = text.find("task hello: TASK_FINISHED").expect(&text);
    assert!(running < finished, "{text}");
    assert!(
        text.contains("launching 1 task(s) on agent localhost-0"),
        "{text}"
    );
    assert!(text.contains("all 1 task(s) finished"), "{text}");
    assert_eq!(c.agents()[0].stats().tasks_launched, 1);
}

#[test]
fn a_failed_task_is_reported_with_its_reason_and_exits_1() {
    let c = cluster(1, TaskScript::fail("exited with status 3"));
    let out = run(&[
        "execute",
        &master_flag(&c),
        "--name=bad",
        "--command=exit 3",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", stderr(&out));
    assert!(
        text.contains(
            "task bad: TASK_FAILED on localhost-0 (REASON_COMMAND_EXECUTOR_FAILED): \
             exited with status 3"
        ),
        "{text}"
    );
    assert!(text.contains("0 task(s) finished, 1 did not:"), "{text}");
    assert!(text.contains("  bad: TASK_FAILED"), "{text}");
}

#[test]
fn many_instances_spread_over_agents_with_a_progress_line() {
    let c = cluster(2, TaskScript::finish_after(Duration::from_millis(50)));
    let out = run(&[
        "execute",
        &master_flag(&c),
        "--name=batch",
        "--command=true",
        "--instances=40",
        "--resources=cpus:0.5;mem:64",
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(
        text.contains("[40/40 done] finished 40, failed 0"),
        "{text}"
    );
    assert!(text.contains("all 40 task(s) finished"), "{text}");
    // Progress lines, not one line per update.
    assert!(!text.contains("task batch-7: TASK_RUNNING"), "{text}");
    let launched: u64 = c.agents().iter().map(|a| a.stats().tasks_launched).sum();
    assert_eq!(launched, 40);
    // cpus:4 per agent fits 8 tasks of cpus:0.5 at a time: both agents were used.
    assert!(c.agents().iter().all(|a| a.stats().tasks_launched > 0));
}

#[test]
fn a_task_group_launches_together_in_one_offer() {
    let c = cluster(1, TaskScript::finish_after(Duration::from_millis(50)));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("group.json");
    let task = |name: &str| {
        format!(
            r#"{{"name":"{name}","command":{{"value":"echo {name}"}},
                "resources":[{{"name":"cpus","type":"SCALAR","scalar":{{"value":0.1}}}},
                             {{"name":"mem","type":"SCALAR","scalar":{{"value":32}}}}]}}"#
        )
    };
    std::fs::write(
        &file,
        format!(r#"{{"tasks":[{},{},{}]}}"#, task("a"), task("b"), task("c")),
    )
    .unwrap();
    let out = run(&[
        "execute",
        &master_flag(&c),
        &format!("--task_group={}", file.display()),
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(
        text.contains("launching 3 task(s) on agent localhost-0"),
        "{text}"
    );
    for t in ["a", "b", "c"] {
        assert!(text.contains(&format!("task {t}: TASK_FINISHED")), "{text}");
    }
    assert!(text.contains("all 3 task(s) finished"), "{text}");
    assert_eq!(c.agents()[0].stats().tasks_launched, 3);
}

#[test]
fn list_commands_show_running_tasks_agents_and_frameworks() {
    let c = cluster(1, TaskScript::run_forever());
    let master = master_flag(&c);
    let mut exec = Daemon::start(&["execute", &master, "--name=forever", "--command=sleep 1000"]);
    exec.wait_for("task forever: TASK_RUNNING");

    let out = run(&["task", "list", &master]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    let row: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("forever "))
        .unwrap_or_else(|| panic!("task row: {text}"))
        .split_whitespace()
        .collect();
    assert_eq!(row[1], "forever");
    assert_eq!(row[2], "TASK_RUNNING");
    assert_eq!(row[5], "localhost-0");
    assert_eq!(&row[6..], ["0.1", "32", "MB", "0", "MB"]);

    let out = run(&["agent", "list", &master]);
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.contains("localhost-0"))
        .unwrap_or_else(|| panic!("agent row: {text}"));
    assert!(row.contains("0.1/4"), "{row}");
    assert!(row.contains("32/4096 MB"), "{row}");
    assert!(row.contains("[31000-32000]"), "{row}");

    let out = run(&["framework", "list", &master]);
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.contains("mesos-execute instance"))
        .unwrap_or_else(|| panic!("framework row: {text}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    // ID, NAME (two words), USER, ROLE, ACTIVE, TASKS, CPUS, ...
    assert_eq!(&cells[3..8], ["root", "*", "true", "1", "0.1"], "{row}");
    drop(exec);
}

/// Builds the agent's command executor (`mesos-executor`) and returns its folder, the
/// `--launcher_dir` of real agents.
fn launcher_dir() -> std::path::PathBuf {
    let run = escargot::CargoBuild::new()
        .package("mesos-agent")
        .bin("mesos-executor")
        .run()
        .expect("building mesos-executor");
    run.path().parent().expect("a folder").to_path_buf()
}

#[test]
fn real_tasks_run_on_mesos_local_and_their_output_is_in_the_sandbox() {
    let launcher = launcher_dir();
    let dir = tempfile::tempdir().unwrap();
    let mut local = Daemon::start(&[
        "local",
        "--num_slaves=2",
        "--port=0",
        "--allocation_interval=100ms",
        "--resources=cpus:1;mem:512",
        &format!("--work_dir={}", dir.path().display()),
        &format!("--launcher_dir={}", launcher.display()),
    ]);
    let master = format!("--master={}", local.master_address());
    local.wait_for("local cluster: master at");

    let out = run(&[
        "execute",
        &master,
        "--name=real",
        "--command=echo out-$((6*7)); echo err >&2",
        "--instances=4",
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(text.contains("all 4 task(s) finished"), "{text}");
    for i in 0..4 {
        assert!(
            text.contains(&format!("task real-{i}: TASK_FINISHED")),
            "{text}"
        );
    }
    let shown = text
        .lines()
        .find(|l| l.contains("real-0 output: "))
        .unwrap_or_else(|| panic!("an output location: {text}"));
    assert!(shown.contains("/executors/real-0/runs/latest"), "{shown}");

    // Every task's stdout is in its sandbox under one of the agents' work dirs.
    let mut found = 0;
    for agent in 0..2 {
        let slaves = dir.path().join(format!("agents/{agent}/slaves"));
        let Ok(entries) = std::fs::read_dir(&slaves) else {
            continue;
        };
        for slave in entries.flatten() {
            for fw in std::fs::read_dir(slave.path().join("frameworks"))
                .unwrap()
                .flatten()
            {
                for ex in std::fs::read_dir(fw.path().join("executors"))
                    .unwrap()
                    .flatten()
                {
                    let out = std::fs::read_to_string(ex.path().join("runs/latest/stdout"))
                        .unwrap_or_default();
                    let err = std::fs::read_to_string(ex.path().join("runs/latest/stderr"))
                        .unwrap_or_default();
                    assert!(out.contains("out-42"), "{}: {out}", ex.path().display());
                    assert!(err.contains("err"), "{}: {err}", ex.path().display());
                    found += 1;
                }
            }
        }
    }
    assert_eq!(found, 4);

    let out = run(&["execute", &master, "--name=bad", "--command=exit 3"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", stderr(&out));
    let line = text
        .lines()
        .find(|l| l.starts_with("task bad: TASK_FAILED"))
        .unwrap_or_else(|| panic!("a failure line: {text}"));
    assert!(line.contains("status 3"), "{line}");

    let out = run(&["task", "list", &master, "--all"]);
    let text = stdout(&out);
    assert_eq!(
        text.lines().filter(|l| l.contains("TASK_FINISHED")).count(),
        4,
        "{text}"
    );
    assert!(text
        .lines()
        .any(|l| l.starts_with("bad ") && l.contains("TASK_FAILED")));
    // Each run tore its framework down when done.
    let out = run(&["framework", "list", &master]);
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
    let out = run(&["framework", "list", &master, "--all"]);
    let text = stdout(&out);
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("mesos-execute instance"))
            .count(),
        2,
        "{text}"
    );
    let (ok, _) = local.terminate();
    assert!(ok);
}
