//! The master's `/metrics/snapshot` entries (`master/...`, `registrar/...`), computed
//! from the state model and the counters as one flat list of `(name, number)`.

use mesos_protos::resources::{ResourceValue, Resources, Scalar};
use mesos_protos::v1::TaskState;

use crate::state::MasterState;
use crate::status::task_state;

/// Counters the actor keeps (messages and transitions since start).
#[derive(Debug, Default, Clone)]
pub struct MasterCounters {
    /// `master/slave_registrations`.
    pub slave_registrations: u64,
    /// `master/slave_reregistrations`.
    pub slave_reregistrations: u64,
    /// `master/slave_removals`.
    pub slave_removals: u64,
    /// `master/slave_removals/reason_unhealthy`.
    pub slave_removals_unhealthy: u64,
    /// `master/slave_removals/reason_unregistered`.
    pub slave_removals_unregistered: u64,
    /// `master/messages_register_slave`.
    pub messages_register_slave: u64,
    /// `master/messages_reregister_slave`.
    pub messages_reregister_slave: u64,
    /// `master/messages_status_update`.
    pub messages_status_update: u64,
    /// `master/valid_status_updates`.
    pub valid_status_updates: u64,
    /// `master/invalid_status_updates`.
    pub invalid_status_updates: u64,
    /// `master/valid_status_update_acknowledgements`.
    pub valid_status_update_acknowledgements: u64,
    /// `master/invalid_status_update_acknowledgements`.
    pub invalid_status_update_acknowledgements: u64,
    /// `master/messages_launch_tasks`.
    pub messages_launch_tasks: u64,
    /// `master/messages_decline_offers`.
    pub messages_decline_offers: u64,
    /// `master/messages_revive_offers`.
    pub messages_revive_offers: u64,
    /// `master/messages_suppress_offers`.
    pub messages_suppress_offers: u64,
    /// `master/messages_kill_task`.
    pub messages_kill_task: u64,
    /// `master/messages_reconcile_tasks`.
    pub messages_reconcile_tasks: u64,
    /// `master/dropped_messages`.
    pub dropped_messages: u64,
    /// Terminal task transitions by state (`master/tasks_finished`, ...).
    pub tasks_terminal: [u64; 8],
    /// `master/tasks_unreachable` transitions.
    pub tasks_unreachable: u64,
}

/// The terminal states in the order of `MasterCounters::tasks_terminal`, with their
/// metric names.
pub const TERMINAL_TASK_METRICS: [(TaskState, &str); 8] = [
    (TaskState::TaskFinished, "master/tasks_finished"),
    (TaskState::TaskFailed, "master/tasks_failed"),
    (TaskState::TaskKilled, "master/tasks_killed"),
    (TaskState::TaskLost, "master/tasks_lost"),
    (TaskState::TaskError, "master/tasks_error"),
    (TaskState::TaskDropped, "master/tasks_dropped"),
    (TaskState::TaskGone, "master/tasks_gone"),
    (
        TaskState::TaskGoneByOperator,
        "master/tasks_gone_by_operator",
    ),
];

impl MasterCounters {
    /// Counts a task entering `state` (terminal states and UNREACHABLE are counters).
    pub fn task_entered(&mut self, state: TaskState) {
        if state == TaskState::TaskUnreachable {
            self.tasks_unreachable += 1;
        }
        if let Some(i) = TERMINAL_TASK_METRICS.iter().position(|(s, _)| *s == state) {
            self.tasks_terminal[i] += 1;
        }
    }
}

/// Everything else the snapshot needs besides the model and counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsInputs {
    /// Seconds since the master started.
    pub uptime_secs: f64,
    /// Whether this master leads.
    pub elected: bool,
    /// Registry operations waiting for the next write.
    pub registrar_queued_operations: usize,
    /// Agents in the registry.
    pub registry_agents: usize,
    /// Open operator event streams.
    pub operator_event_stream_subscribers: usize,
}

fn percent(used: f64, total: f64) -> f64 {
    if total > 0.0 {
        used / total
    } else {
        0.0
    }
}

/// cpus/gpus/mem/disk quantities, non-revocable and revocable, in fixed point.
#[derive(Default)]
struct ScalarTotals([[Scalar; 2]; 4]);

impl ScalarTotals {
    const NAMES: [&'static str; 4] = ["cpus", "gpus", "mem", "disk"];

    fn add(&mut self, r: &Resources) {
        for e in r.iter() {
            if let ResourceValue::Scalar(s) = e.value() {
                if let Some(i) = Self::NAMES.iter().position(|n| *n == e.name()) {
                    let slot = &mut self.0[i][usize::from(e.is_revocable())];
                    *slot = slot.saturating_add(*s);
                }
            }
        }
    }

    fn get(&self, i: usize, revocable: bool) -> f64 {
        self.0[i][usize::from(revocable)].as_f64()
    }
}

/// The master's metrics, by Mesos's names.
pub fn master_metrics(
    state: &MasterState,
    counters: &MasterCounters,
    inputs: &MetricsInputs,
) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::with_capacity(96);
    let mut put = |k: &str, v: f64| out.push((k.to_owned(), v));
    put("master/uptime_secs", inputs.uptime_secs);
    put("master/elected", if inputs.elected { 1.0 } else { 0.0 });

    let agents = &state.agents.registered;
    let active = agents.values().filter(|a| a.active).count();
    let connected = agents.values().filter(|a| a.connected).count();
    put("master/slaves_active", active as f64);
    put("master/slaves_inactive", (agents.len() - active) as f64);
    put("master/slaves_connected", connected as f64);
    put(
        "master/slaves_disconnected",
        (agents.len() - connected) as f64,
    );
    put(
        "master/slaves_unreachable",
        state.agents.unreachable.len() as f64,
    );

    let fws = &state.frameworks;
    let f_active = fws.values().filter(|f| f.active).count();
    let f_connected = fws.values().filter(|f| f.connected()).count();
    put("master/frameworks_active", f_active as f64);
    put("master/frameworks_inactive", (fws.len() - f_active) as f64);
    put("master/frameworks_connected", f_connected as f64);
    put(
        "master/frameworks_disconnected",
        (fws.len() - f_connected) as f64,
    );

    let mut live = [0u64; 4];
    for f in fws.values() {
        for t in f.tasks.values() {
            match task_state(t.state) {
                TaskState::TaskStaging => live[0] += 1,
                TaskState::TaskStarting => live[1] += 1,
                TaskState::TaskRunning => live[2] += 1,
                TaskState::TaskKilling => live[3] += 1,
                _ => {}
            }
        }
    }
    put("master/tasks_staging", live[0] as f64);
    put("master/tasks_starting", live[1] as f64);
    put("master/tasks_running", live[2] as f64);
    put("master/tasks_killing", live[3] as f64);
    for (i, (_, name)) in TERMINAL_TASK_METRICS.iter().enumerate() {
        put(name, counters.tasks_terminal[i] as f64);
    }
    put(
        "master/tasks_unreachable",
        counters.tasks_unreachable as f64,
    );

    // Summed straight from the entries (no intermediate `Resources`): this runs every
    // allocation interval over every agent and every framework using it.
    let mut total = ScalarTotals::default();
    let mut used = ScalarTotals::default();
    for a in agents.values() {
        total.add(&a.total);
        for r in a.used.values() {
            used.add(r);
        }
    }
    for (i, name) in ScalarTotals::NAMES.iter().enumerate() {
        let (t, u) = (total.get(i, false), used.get(i, false));
        put(&format!("master/{name}_total"), t);
        put(&format!("master/{name}_used"), u);
        put(&format!("master/{name}_percent"), percent(u, t));
        let (rt, ru) = (total.get(i, true), used.get(i, true));
        put(&format!("master/{name}_revocable_total"), rt);
        put(&format!("master/{name}_revocable_used"), ru);
        put(&format!("master/{name}_revocable_percent"), percent(ru, rt));
    }
    put("master/outstanding_offers", state.offers.len() as f64);
    put("master/dropped_messages", counters.dropped_messages as f64);
    put("master/event_queue_messages", 0.0);
    put("master/event_queue_dispatches", 0.0);
    put("master/event_queue_http_requests", 0.0);

    let c = counters;
    for (name, v) in [
        ("master/messages_register_slave", c.messages_register_slave),
        (
            "master/messages_reregister_slave",
            c.messages_reregister_slave,
        ),
        ("master/messages_status_update", c.messages_status_update),
        ("master/messages_launch_tasks", c.messages_launch_tasks),
        ("master/messages_decline_offers", c.messages_decline_offers),
        ("master/messages_revive_offers", c.messages_revive_offers),
        (
            "master/messages_suppress_offers",
            c.messages_suppress_offers,
        ),
        ("master/messages_kill_task", c.messages_kill_task),
        (
            "master/messages_reconcile_tasks",
            c.messages_reconcile_tasks,
        ),
        ("master/valid_status_updates", c.valid_status_updates),
        ("master/invalid_status_updates", c.invalid_status_updates),
        (
            "master/valid_status_update_acknowledgements",
            c.valid_status_update_acknowledgements,
        ),
        (
            "master/invalid_status_update_acknowledgements",
            c.invalid_status_update_acknowledgements,
        ),
        ("master/slave_registrations", c.slave_registrations),
        ("master/slave_reregistrations", c.slave_reregistrations),
        ("master/slave_removals", c.slave_removals),
        (
            "master/slave_removals/reason_unhealthy",
            c.slave_removals_unhealthy,
        ),
        (
            "master/slave_removals/reason_unregistered",
            c.slave_removals_unregistered,
        ),
    ] {
        put(name, v as f64);
    }
    put(
        "master/operator_event_stream_subscribers",
        inputs.operator_event_stream_subscribers as f64,
    );
    put(
        "registrar/queued_operations",
        inputs.registrar_queued_operations as f64,
    );
    put("registrar/registry_size_bytes", 0.0);
    put("registrar/log/recovered", 1.0);
    put("registrar/agents", inputs.registry_agents as f64);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn snapshot_has_mesos_names_and_numbers() {
        let mut s = master_state();
        let fid = s.add_framework(framework_info("fw", &[]), http("s"), 1.0);
        s.add_agent(agent("m-S0", "cpus:4;mem:1000;disk:10;gpus:1"));
        s.add_task(&fid, &alloc_task("t", "m-S0", "cpus:1;mem:250"), None)
            .unwrap();
        let mut c = MasterCounters::default();
        c.task_entered(TaskState::TaskFinished);
        c.task_entered(TaskState::TaskUnreachable);
        let m: std::collections::HashMap<String, f64> = master_metrics(
            &s,
            &c,
            &MetricsInputs {
                uptime_secs: 3.0,
                elected: true,
                ..Default::default()
            },
        )
        .into_iter()
        .collect();
        let required = [
            "master/uptime_secs",
            "master/elected",
            "master/slaves_active",
            "master/slaves_connected",
            "master/slaves_disconnected",
            "master/slaves_inactive",
            "master/slaves_unreachable",
            "master/frameworks_active",
            "master/frameworks_connected",
            "master/frameworks_disconnected",
            "master/frameworks_inactive",
            "master/tasks_staging",
            "master/tasks_starting",
            "master/tasks_running",
            "master/tasks_killing",
            "master/tasks_finished",
            "master/tasks_failed",
            "master/tasks_killed",
            "master/tasks_lost",
            "master/tasks_error",
            "master/tasks_dropped",
            "master/tasks_unreachable",
            "master/tasks_gone",
            "master/tasks_gone_by_operator",
            "master/cpus_total",
            "master/cpus_used",
            "master/cpus_percent",
            "master/mem_revocable_total",
            "master/disk_revocable_percent",
            "master/gpus_total",
            "master/outstanding_offers",
            "master/dropped_messages",
            "master/event_queue_messages",
            "master/event_queue_dispatches",
            "master/event_queue_http_requests",
            "master/slave_registrations",
            "master/slave_reregistrations",
            "master/slave_removals",
            "master/valid_status_updates",
            "master/invalid_status_updates",
            "master/messages_launch_tasks",
            "registrar/queued_operations",
        ];
        for k in required {
            assert!(m.contains_key(k), "missing {k}");
        }
        assert_eq!(m["master/elected"], 1.0);
        assert_eq!(m["master/cpus_total"], 4.0);
        assert_eq!(m["master/cpus_used"], 1.0);
        assert_eq!(m["master/cpus_percent"], 0.25);
        assert_eq!(m["master/mem_percent"], 0.25);
        assert_eq!(m["master/gpus_total"], 1.0);
        assert_eq!(m["master/tasks_staging"], 1.0);
        assert_eq!(m["master/tasks_finished"], 1.0);
        assert_eq!(m["master/tasks_unreachable"], 1.0);
        assert_eq!(m["master/frameworks_active"], 1.0);
    }
}
