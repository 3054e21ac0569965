//! The agent's `/metrics/snapshot` entries (`slave/...`, `containerizer/...`,
//! `system/...`) with Mesos's names. Gauges are computed from the model when a snapshot
//! is taken (Mesos pulls them from the actor the same way); counters are kept by the
//! actor's hooks in [`super::Counters`].

use mesos_protos::resources::{ResourceValue, Resources};
use mesos_protos::v1::TaskState;

use super::{AgentView, Counters};
use crate::slave::model::ExecutorState;

/// Terminal task states counted by the agent, with their metric names (in the order of
/// [`Counters::tasks_terminal`]).
pub const TERMINAL_TASK_METRICS: [(TaskState, &str); 5] = [
    (TaskState::TaskFinished, "slave/tasks_finished"),
    (TaskState::TaskFailed, "slave/tasks_failed"),
    (TaskState::TaskKilled, "slave/tasks_killed"),
    (TaskState::TaskLost, "slave/tasks_lost"),
    (TaskState::TaskGone, "slave/tasks_gone"),
];

fn scalar_sum(r: &Resources, name: &str, revocable: bool) -> f64 {
    r.iter()
        .filter(|e| e.name() == name && e.is_revocable() == revocable)
        .map(|e| match e.value() {
            ResourceValue::Scalar(s) => s.as_f64(),
            _ => 0.0,
        })
        .sum()
}

fn counters(c: &Counters, out: &mut Vec<(String, f64)>) {
    for (i, (_, name)) in TERMINAL_TASK_METRICS.iter().enumerate() {
        out.push(((*name).into(), c.tasks_terminal[i] as f64));
    }
    let plain = [
        ("slave/recovery_errors", c.recovery_errors),
        ("slave/executors_terminated", c.executors_terminated),
        ("slave/executors_preempted", c.executors_preempted),
        ("slave/valid_status_updates", c.valid_status_updates),
        ("slave/invalid_status_updates", c.invalid_status_updates),
        ("slave/valid_framework_messages", c.valid_framework_messages),
        (
            "slave/invalid_framework_messages",
            c.invalid_framework_messages,
        ),
        ("slave/container_launch_errors", c.container_launch_errors),
        (
            "containerizer/mesos/container_destroy_errors",
            c.container_destroy_errors,
        ),
    ];
    for (name, v) in plain {
        out.push((name.into(), v as f64));
    }
}

/// Every agent metric at `now` (seconds since the epoch).
pub fn agent_metrics(view: &AgentView<'_>, now: f64) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::with_capacity(64);
    let start = view.http.start_time.map_or(now, |t| t.as_secs_f64());
    out.push(("slave/uptime_secs".into(), (now - start).max(0.0)));
    out.push((
        "slave/registered".into(),
        if view.registered { 1.0 } else { 0.0 },
    ));
    let mut task_states = [0u64; 4];
    let mut executor_states = [0u64; 3];
    let mut active_frameworks = 0u64;
    for f in view.frameworks.values() {
        if !f.executors.is_empty() {
            active_frameworks += 1;
        }
        for e in f.executors.values() {
            executor_states[match e.state {
                ExecutorState::Registering => 0,
                ExecutorState::Running => 1,
                ExecutorState::Terminating => 2,
            }] += 1;
            for t in e.tasks.values() {
                match t.state() {
                    TaskState::TaskStaging => task_states[0] += 1,
                    TaskState::TaskStarting => task_states[1] += 1,
                    TaskState::TaskRunning => task_states[2] += 1,
                    TaskState::TaskKilling => task_states[3] += 1,
                    _ => {}
                }
            }
        }
    }
    out.push(("slave/frameworks_active".into(), active_frameworks as f64));
    for (name, v) in [
        "slave/tasks_staging",
        "slave/tasks_starting",
        "slave/tasks_running",
        "slave/tasks_killing",
    ]
    .iter()
    .zip(task_states)
    {
        out.push(((*name).into(), v as f64));
    }
    for (name, v) in [
        "slave/executors_registering",
        "slave/executors_running",
        "slave/executors_terminating",
    ]
    .iter()
    .zip(executor_states)
    {
        out.push(((*name).into(), v as f64));
    }
    counters(&view.http.counters, &mut out);
    out.push((
        "slave/executor_directory_max_allowed_age_secs".into(),
        view.flags.gc_delay.as_secs_f64(),
    ));
    let total = Resources::from_resources(&view.info.resources);
    let used = super::state::allocated(view);
    for name in ["cpus", "gpus", "mem", "disk"] {
        for (revocable, infix) in [(false, ""), (true, "_revocable")] {
            let t = scalar_sum(&total, name, revocable);
            let u = scalar_sum(&used, name, revocable);
            let p = if t > 0.0 { u / t } else { 0.0 };
            out.push((format!("slave/{name}{infix}_total"), t));
            out.push((format!("slave/{name}{infix}_used"), u));
            out.push((format!("slave/{name}{infix}_percent"), p));
        }
    }
    system_metrics(&mut out);
    out
}

/// `system/cpus_total`, `system/load_{1,5,15}min`, `system/mem_{total,free}_bytes` from
/// `/proc` (left out when unreadable).
pub fn system_metrics(out: &mut Vec<(String, f64)>) {
    if let Ok(n) = crate::sys::cpus_online() {
        out.push(("system/cpus_total".into(), n as f64));
    }
    if let Ok(text) = std::fs::read_to_string("/proc/loadavg") {
        let loads: Vec<f64> = text
            .split_whitespace()
            .take(3)
            .filter_map(|v| v.parse().ok())
            .collect();
        if let [one, five, fifteen] = loads[..] {
            out.push(("system/load_1min".into(), one));
            out.push(("system/load_5min".into(), five));
            out.push(("system/load_15min".into(), fifteen));
        }
    }
    if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
        let field = |key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .map(|kb| kb * 1024.0)
        };
        if let Some(t) = field("MemTotal:") {
            out.push(("system/mem_total_bytes".into(), t));
        }
        if let Some(f) = field("MemFree:") {
            out.push(("system/mem_free_bytes".into(), f));
        }
    }
}
