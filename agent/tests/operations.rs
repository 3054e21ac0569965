//! Operations on agent default resources against a fake master on a paused Clock:
//! each operation is applied, checkpointed and answered with a status update that is
//! retried until acknowledged (also across an agent restart); reconciliation; the legacy
//! `CheckpointResourcesMessage`; and persistent volumes used by real tasks.

use std::time::Duration;

use mesos_protos::mesos::internal;
use mesos_protos::resources::Resources;
use mesos_protos::v1;
use mesos_protos::v1::{OperationState, TaskState};

#[path = "support/ops_master.rs"]
mod support;
use support::*;

fn registered(c: &mut OpsCluster) -> libprocess::Pid<mesos_agent::slave::Slave> {
    let agent = c.start_agent("slave(1)");
    c.drain();
    agent
}

fn only_update(c: &mut OpsCluster) -> internal::UpdateOperationStatusMessage {
    let ups = op_updates(&c.drain());
    assert_eq!(ups.len(), 1, "{ups:?}");
    ups.into_iter().next().unwrap()
}

fn state_file(c: &OpsCluster) -> std::path::PathBuf {
    c.work_dir()
        .join("meta/resources/resources_and_operations.state")
}

fn saved_state(c: &OpsCluster) -> mesos_agent::operations::state::ResourceState {
    let bytes = std::fs::read(state_file(c)).unwrap();
    prost::Message::decode(bytes.as_slice()).unwrap()
}

fn scalar(rs: &Resources, reserved_to: Option<&str>, name: &str) -> f64 {
    rs.filter(|r| r.name() == name && r.reservation_role() == reserved_to)
        .iter()
        .map(|r| match r.value() {
            mesos_protos::resources::ResourceValue::Scalar(s) => s.as_f64(),
            _ => 0.0,
        })
        .sum()
}

#[test]
fn registration_reports_capabilities_and_the_resource_version() {
    let mut c = ops_cluster();
    let agent = c.start_agent("slave(1)");
    let seen = c.drain();
    let Some(Seen::Register(reg)) = seen.first() else {
        panic!("{seen:?}")
    };
    let caps: Vec<_> = reg
        .agent_capabilities
        .iter()
        .filter_map(|c| c.r#type)
        .collect();
    use v1::agent_info::capability::Type;
    for t in [
        Type::ResourceProvider,
        Type::AgentOperationFeedback,
        Type::ReservationRefinement,
    ] {
        assert!(caps.contains(&(t as i32)), "{caps:?}");
    }
    let version = block_version(&agent);
    assert_eq!(reg.resource_version_uuid.as_ref(), Some(&version));
    assert!(reg.checkpointed_resources.is_empty());
    // After registering, the agent reports its (no) operations.
    let update = seen
        .iter()
        .find_map(|s| match s {
            Seen::UpdateSlave(u) => Some(u.clone()),
            _ => None,
        })
        .expect("an UpdateSlaveMessage");
    assert_eq!(update.slave_id.value, AGENT_ID);
    assert!(update.operations.unwrap().operations.is_empty());
    assert_eq!(update.resource_version_uuid, Some(version));
    // A duplicate answer (to a retried registration) reports nothing again.
    c.send(
        &agent,
        internal::SlaveRegisteredMessage {
            slave_id: v1::AgentId {
                value: AGENT_ID.into(),
            },
            connection: None,
        },
    );
    let seen = c.drain();
    assert!(
        !seen.iter().any(|s| matches!(s, Seen::UpdateSlave(_))),
        "{seen:?}"
    );
}

fn block_version(agent: &libprocess::Pid<mesos_agent::slave::Slave>) -> v1::Uuid {
    libprocess::block_on(agent.dispatch(|s, _| s.resource_version().clone())).unwrap()
}

#[test]
fn each_operation_is_applied_checkpointed_and_acknowledged() {
    let mut c = ops_cluster();
    let agent = registered(&mut c);

    // RESERVE: the update is FINISHED, names the operation, and the reservation and the
    // unacknowledged operation are on disk before the master hears of it.
    let op = c.apply(&agent, reserve("r", vec![disk(512.0, Some("r1"))]));
    let u = only_update(&mut c);
    assert_eq!(u.operation_uuid.as_ref().unwrap().value, op);
    assert_eq!(u.status.state(), OperationState::OperationFinished);
    assert_eq!(u.status.operation_id.as_ref().unwrap().value, "r");
    assert_eq!(u.slave_id.as_ref().unwrap().value, AGENT_ID);
    assert_eq!(u.framework_id.as_ref().unwrap().value, "fw");
    assert!(u.status.uuid.is_some());
    assert_eq!(
        u.latest_status.as_ref().unwrap().state(),
        OperationState::OperationFinished
    );
    let saved = saved_state(&c);
    assert_eq!(saved.operations.len(), 1);
    assert_eq!(saved.operations[0].uuid.value, op);
    assert_eq!(
        scalar(
            &Resources::from(saved.resources.clone()),
            Some("r1"),
            "disk"
        ),
        512.0
    );
    let total = c.total(&agent);
    assert_eq!(scalar(&total, Some("r1"), "disk"), 512.0);
    assert_eq!(scalar(&total, None, "disk"), 512.0);
    // `/state` reports the total with the reservation applied.
    let body = reqwest::blocking::get(format!("http://{}/slave(1)/state", c.rt.address()))
        .unwrap()
        .text()
        .unwrap();
    let state: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(state["reserved_resources"]["r1"]["disk"], 512.0, "{state}");
    assert_eq!(state["unreserved_resources"]["disk"], 512.0, "{state}");
    let op_dir = c
        .work_dir()
        .join("meta/slaves")
        .join(AGENT_ID)
        .join("operations")
        .join(uuid::Uuid::from_slice(&op).unwrap().to_string());
    assert!(op_dir.join("operation.updates").is_file());
    // The ack ends the operation: gone from the agent, its state and its folder.
    c.ack(&agent, &u);
    assert!(c.operations(&agent).is_empty());
    assert!(saved_state(&c).operations.is_empty());
    assert!(!op_dir.exists());

    // CREATE a volume from the reservation: its folder appears.
    let v = volume(256.0, "r1", "v1", "data");
    c.apply(&agent, create("c", vec![v.clone()]));
    let u = only_update(&mut c);
    assert_eq!(u.status.state(), OperationState::OperationFinished);
    assert!(c.volume_dir("r1", "v1").is_dir());
    let total = c.total(&agent);
    assert_eq!(total.persistent_volumes().len(), 1);
    c.ack(&agent, &u);

    // GROW_VOLUME by 128 of the reserved disk, then SHRINK_VOLUME back by 64.
    let mut grown = v.clone();
    grown.scalar = Some(v1::value::Scalar { value: 384.0 });
    c.apply(
        &agent,
        v1::offer::Operation {
            grow_volume: Some(v1::offer::operation::GrowVolume {
                volume: v.clone(),
                addition: disk(128.0, Some("r1")),
            }),
            ..operation("g", v1::offer::operation::Type::GrowVolume)
        },
    );
    let u = only_update(&mut c);
    assert_eq!(u.status.state(), OperationState::OperationFinished, "{u:?}");
    c.ack(&agent, &u);
    assert!(c.total(&agent).contains(&Resources::from(&grown)));
    c.apply(
        &agent,
        v1::offer::Operation {
            shrink_volume: Some(v1::offer::operation::ShrinkVolume {
                volume: grown.clone(),
                subtract: v1::value::Scalar { value: 64.0 },
            }),
            ..operation("s", v1::offer::operation::Type::ShrinkVolume)
        },
    );
    let u = only_update(&mut c);
    assert_eq!(u.status.state(), OperationState::OperationFinished, "{u:?}");
    c.ack(&agent, &u);
    let mut shrunk = v.clone();
    shrunk.scalar = Some(v1::value::Scalar { value: 320.0 });
    assert!(c.total(&agent).contains(&Resources::from(&shrunk)));
    assert!(c.volume_dir("r1", "v1").is_dir());

    // DESTROY removes the folder; UNRESERVE gives the disk back to `*`.
    c.apply(&agent, destroy("d", vec![shrunk]));
    let u = only_update(&mut c);
    assert_eq!(u.status.state(), OperationState::OperationFinished);
    c.ack(&agent, &u);
    assert!(!c.volume_dir("r1", "v1").exists());
    c.apply(&agent, unreserve("u", vec![disk(512.0, Some("r1"))]));
    let u = only_update(&mut c);
    assert_eq!(u.status.state(), OperationState::OperationFinished);
    c.ack(&agent, &u);
    let total = c.total(&agent);
    assert_eq!(scalar(&total, None, "disk"), 1024.0);
    assert!(total.reserved_any().is_empty());
    assert!(saved_state(&c).resources.is_empty());
}

#[test]
fn an_operation_that_does_not_fit_fails_with_a_message() {
    let mut c = ops_cluster();
    let agent = registered(&mut c);
    let before = c.total(&agent);
    c.apply(&agent, unreserve("u", vec![disk(100.0, Some("r1"))]));
    let u = only_update(&mut c);
    assert_eq!(u.status.state(), OperationState::OperationFailed);
    let message = u.status.message.clone().unwrap();
    assert!(message.contains("does not contain"), "{message}");
    assert_eq!(c.total(&agent), before);
    // A failure is still reported reliably and ends with its ack.
    c.ack(&agent, &u);
    assert!(c.operations(&agent).is_empty());
    // A volume whose persistence id cannot name a folder fails.
    c.apply(&agent, reserve("r", vec![disk(10.0, Some("r1"))]));
    let u = only_update(&mut c);
    c.ack(&agent, &u);
    c.apply(
        &agent,
        create("bad", vec![volume(10.0, "r1", "..", "data")]),
    );
    let u = only_update(&mut c);
    assert_eq!(u.status.state(), OperationState::OperationFailed);
    assert!(u.status.message.clone().unwrap().contains("'..'"), "{u:?}");
    assert!(c.total(&agent).persistent_volumes().is_empty());
    c.ack(&agent, &u);
    // An unsupported type fails too.
    c.apply(
        &agent,
        operation("x", v1::offer::operation::Type::CreateDisk),
    );
    let u = only_update(&mut c);
    assert_eq!(u.status.state(), OperationState::OperationFailed);
    assert!(u.status.message.unwrap().contains("CREATE_DISK"));
}

#[test]
fn an_unacknowledged_update_is_retried_with_back_off() {
    let mut c = ops_cluster();
    let agent = registered(&mut c);
    c.apply(&agent, reserve("r", vec![disk(10.0, Some("r1"))]));
    let first = only_update(&mut c);
    // The master "drops" the ack: 10 s, then 20 s, then 40 s later it comes again.
    let mut waits = Vec::new();
    for wait in [10, 20, 40] {
        c.advance(Duration::from_secs(wait - 1));
        assert!(op_updates(&c.drain()).is_empty(), "re-sent before {wait} s");
        c.advance(Duration::from_secs(1));
        let again = only_update(&mut c);
        assert_eq!(again.status, first.status);
        waits.push(wait);
    }
    c.ack(&agent, &first);
    c.advance(Duration::from_secs(1200));
    assert!(op_updates(&c.drain()).is_empty());
}

#[test]
fn a_lost_master_gets_the_update_again_after_reregistration() {
    let mut c = ops_cluster();
    let agent = registered(&mut c);
    let op = c.apply(&agent, reserve("r", vec![disk(10.0, Some("r1"))]));
    let first = only_update(&mut c);
    // No pings for 75 s: the agent takes its master for lost and re-registers (the fake
    // master answers at once, like a newly elected one).
    c.advance(Duration::from_secs(76));
    // Re-registration goes out within the 1 s back-off factor.
    c.advance(Duration::from_secs(2));
    let seen = c.drain();
    let rereg = seen
        .iter()
        .position(|s| matches!(s, Seen::Reregister(_)))
        .unwrap_or_else(|| panic!("no re-registration in {seen:?}"));
    let after = &seen[rereg..];
    let Some(Seen::UpdateSlave(update)) = after
        .iter()
        .find(|s| matches!(s, Seen::UpdateSlave(_)))
        .cloned()
    else {
        panic!("{after:?}")
    };
    let ops = update.operations.unwrap().operations;
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].uuid.value, op);
    let resent = op_updates(after);
    assert!(!resent.is_empty(), "{after:?}");
    assert!(resent.iter().all(|u| u.status == first.status));
    c.ack(&agent, &first);
    assert!(c.operations(&agent).is_empty());
}

#[test]
fn an_agent_restart_before_the_ack_sends_the_update_again() {
    let mut c = ops_cluster();
    let agent = registered(&mut c);
    let op = c.apply(&agent, reserve("r", vec![disk(300.0, Some("r1"))]));
    let first = only_update(&mut c);
    c.stop_agent(&agent);

    let again = c.start_agent("slave(2)");
    let seen = c.drain();
    let Some(Seen::Reregister(rereg)) = seen.first() else {
        panic!("{seen:?}")
    };
    // The reservation is reported as checkpointed, the operation as known.
    let ckpt = Resources::from(rereg.checkpointed_resources.clone());
    assert_eq!(scalar(&ckpt, Some("r1"), "disk"), 300.0);
    let update = seen
        .iter()
        .find_map(|s| match s {
            Seen::UpdateSlave(u) => Some(u.clone()),
            _ => None,
        })
        .unwrap();
    let ops = update.operations.unwrap().operations;
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].uuid.value, op);
    assert_eq!(
        ops[0].latest_status.state(),
        OperationState::OperationFinished
    );
    // The same status (same status uuid) is re-sent.
    let resent = op_updates(&seen);
    assert_eq!(resent.len(), 1, "{seen:?}");
    assert_eq!(resent[0].status, first.status);
    assert_eq!(scalar(&c.total(&again), Some("r1"), "disk"), 300.0);

    // Reconciliation: known operations answer with their latest status (no uuid),
    // unknown ones OPERATION_UNKNOWN for a framework and OPERATION_DROPPED for the master.
    let unknown = uuid::Uuid::new_v4().as_bytes().to_vec();
    c.send(
        &again,
        internal::ReconcileOperationsMessage {
            operations: vec![
                internal::reconcile_operations_message::Operation {
                    operation_uuid: None,
                    resource_provider_id: None,
                    operation_id: Some(v1::OperationId { value: "r".into() }),
                },
                internal::reconcile_operations_message::Operation {
                    operation_uuid: None,
                    resource_provider_id: None,
                    operation_id: Some(v1::OperationId {
                        value: "nope".into(),
                    }),
                },
            ],
            framework_id: Some(v1::FrameworkId { value: "fw".into() }),
        },
    );
    let answers = op_updates(&c.drain());
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_eq!(answers[0].status.state(), OperationState::OperationFinished);
    assert!(answers[0].status.uuid.is_none());
    assert_eq!(answers[1].status.state(), OperationState::OperationUnknown);
    assert_eq!(
        answers[1].status.operation_id.as_ref().unwrap().value,
        "nope"
    );
    c.send(
        &again,
        internal::ReconcileOperationsMessage {
            operations: vec![
                internal::reconcile_operations_message::Operation {
                    operation_uuid: Some(v1::Uuid { value: op.clone() }),
                    resource_provider_id: None,
                    operation_id: None,
                },
                internal::reconcile_operations_message::Operation {
                    operation_uuid: Some(v1::Uuid {
                        value: unknown.clone(),
                    }),
                    resource_provider_id: None,
                    operation_id: None,
                },
            ],
            framework_id: None,
        },
    );
    let answers = op_updates(&c.drain());
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0].status.state(), OperationState::OperationDropped);
    assert_eq!(answers[0].operation_uuid.as_ref().unwrap().value, unknown);

    c.ack(&again, &resent[0]);
    assert!(c.operations(&again).is_empty());
    // A second restart has nothing left to send, and keeps the reservation.
    c.stop_agent(&again);
    let third = c.start_agent("slave(3)");
    let seen = c.drain();
    assert!(op_updates(&seen).is_empty(), "{seen:?}");
    assert_eq!(scalar(&c.total(&third), Some("r1"), "disk"), 300.0);
}

#[test]
fn checkpoint_resources_message_replaces_the_checkpointed_resources() {
    let mut c = ops_cluster();
    let agent = registered(&mut c);
    let v = volume(100.0, "r1", "legacy", "data");
    c.send(
        &agent,
        internal::CheckpointResourcesMessage {
            resources: vec![disk(200.0, Some("r1")), v.clone()],
        },
    );
    let total = c.total(&agent);
    assert_eq!(scalar(&total, Some("r1"), "disk"), 300.0);
    assert_eq!(scalar(&total, None, "disk"), 724.0);
    assert!(c.volume_dir("r1", "legacy").is_dir());
    // Resources that do not fit the agent are refused.
    c.send(
        &agent,
        internal::CheckpointResourcesMessage {
            resources: vec![disk(5000.0, Some("r1"))],
        },
    );
    assert_eq!(c.total(&agent), total);
    // Kept across a restart and reported on re-registration.
    c.stop_agent(&agent);
    let again = c.start_agent("slave(2)");
    let seen = c.drain();
    let Some(Seen::Reregister(rereg)) = seen.first() else {
        panic!("{seen:?}")
    };
    let ckpt = Resources::from(rereg.checkpointed_resources.clone());
    assert!(ckpt.contains(&Resources::from(&v)));
    assert_eq!(c.total(&again), total);
    // An empty set drops everything, volume folder included.
    c.send(
        &again,
        internal::CheckpointResourcesMessage { resources: vec![] },
    );
    assert!(!c.volume_dir("r1", "legacy").exists());
    assert!(c.total(&again).reserved_any().is_empty());
}

fn mounts_under(dir: &std::path::Path) -> Vec<String> {
    let dir = dir.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|p| p.starts_with(&dir))
        .collect()
}

/// Runs a task to its terminal update (acknowledging each update); returns the states.
fn run_task(
    c: &mut OpsCluster,
    agent: &libprocess::Pid<mesos_agent::slave::Slave>,
    msg: internal::RunTaskMessage,
) -> Vec<internal::StatusUpdate> {
    let task = msg.task.task_id.value.clone();
    c.send(agent, msg);
    let mut all = Vec::new();
    loop {
        let seen = c.wait_real(|s| !task_updates(s).is_empty());
        for u in task_updates(&seen) {
            assert_eq!(u.status.task_id.value, task);
            c.send(
                agent,
                internal::StatusUpdateAcknowledgementMessage {
                    slave_id: v1::AgentId {
                        value: AGENT_ID.into(),
                    },
                    framework_id: u.framework_id.clone(),
                    task_id: u.status.task_id.clone(),
                    uuid: u.uuid.clone().unwrap_or_default(),
                },
            );
            all.push(u);
        }
        if all.last().is_some_and(|u| {
            mesos_agent::status_update_manager::is_terminal_state(u.status.state())
        }) {
            // The executor exits after its terminal update is acknowledged.
            ack_until_exited(c, agent);
            return all;
        }
    }
}

/// Acknowledges task updates as they come until the executor exits.
fn ack_until_exited(
    c: &mut OpsCluster,
    agent: &libprocess::Pid<mesos_agent::slave::Slave>,
) -> Vec<Seen> {
    let mut all = Vec::new();
    loop {
        let seen = c.wait_real(|s| !s.is_empty());
        for u in task_updates(&seen) {
            c.send(
                agent,
                internal::StatusUpdateAcknowledgementMessage {
                    slave_id: v1::AgentId {
                        value: AGENT_ID.into(),
                    },
                    framework_id: u.framework_id.clone(),
                    task_id: u.status.task_id.clone(),
                    uuid: u.uuid.clone().unwrap_or_default(),
                },
            );
        }
        let exited = seen.iter().any(|x| matches!(x, Seen::Exited(_)));
        all.extend(seen);
        if exited {
            return all;
        }
    }
}

fn sandbox_of(c: &OpsCluster, task: &str) -> std::path::PathBuf {
    c.work_dir().join(format!(
        "slaves/{AGENT_ID}/frameworks/fw/executors/{task}/runs/latest"
    ))
}

#[test]
fn a_persistent_volume_outlives_its_tasks_and_an_agent_restart() {
    let mut c = ops_cluster();
    let agent = c.start_real_agent("slave(1)");
    c.drain();
    let v = volume(64.0, "r1", "shared-data", "data");
    for info in [
        reserve("r", vec![disk(64.0, Some("r1"))]),
        create("c", vec![v.clone()]),
    ] {
        c.apply(&agent, info);
        let u = only_update(&mut c);
        assert_eq!(u.status.state(), OperationState::OperationFinished);
        c.ack(&agent, &u);
    }
    let host = c.volume_dir("r1", "shared-data");

    // The first task writes into the volume through its sandbox path.
    let ups = run_task(
        &mut c,
        &agent,
        volume_task("writer", "echo persisted > data/note", v.clone()),
    );
    assert_eq!(
        ups.last().unwrap().status.state(),
        TaskState::TaskFinished,
        "{ups:?}"
    );
    assert_eq!(
        std::fs::read_to_string(host.join("note")).unwrap(),
        "persisted\n"
    );
    // Its sandbox no longer has the volume (unmounted at container exit).
    assert!(!sandbox_of(&c, "writer").join("data/note").exists());

    // The second task reads it.
    let ups = run_task(
        &mut c,
        &agent,
        volume_task("reader", "cat data/note", v.clone()),
    );
    assert_eq!(
        ups.last().unwrap().status.state(),
        TaskState::TaskFinished,
        "{ups:?}"
    );
    let out = std::fs::read_to_string(sandbox_of(&c, "reader").join("stdout")).unwrap();
    assert!(out.contains("persisted"), "{out}");

    // The volume survives an agent restart.
    c.stop_agent(&agent);
    // Same id: executors reach the agent through the runtime's `slave(1)` delegate.
    let agent = c.start_real_agent("slave(1)");
    c.drain();
    assert_eq!(
        std::fs::read_to_string(host.join("note")).unwrap(),
        "persisted\n"
    );
    assert!(c.total(&agent).contains(&Resources::from(&v)));

    // DESTROY while a task uses the volume is refused, with the reason.
    c.send(&agent, volume_task("holder", "sleep 60", v.clone()));
    let seen = c.wait_real(|s| {
        task_updates(s)
            .iter()
            .any(|u| u.status.state() == TaskState::TaskRunning)
    });
    for u in task_updates(&seen) {
        c.send(
            &agent,
            internal::StatusUpdateAcknowledgementMessage {
                slave_id: v1::AgentId {
                    value: AGENT_ID.into(),
                },
                framework_id: u.framework_id.clone(),
                task_id: u.status.task_id.clone(),
                uuid: u.uuid.clone().unwrap_or_default(),
            },
        );
    }
    assert_eq!(
        mounts_under(&c.work_dir()).len(),
        1,
        "the holder's volume mount"
    );
    c.apply(&agent, destroy("d1", vec![v.clone()]));
    let u = only_update(&mut c);
    assert_eq!(u.status.state(), OperationState::OperationFailed);
    let message = u.status.message.clone().unwrap();
    assert!(message.contains("'shared-data' is in use"), "{message}");
    c.ack(&agent, &u);
    assert!(host.join("note").is_file());

    // Once the task is gone, DESTROY removes it.
    c.send(
        &agent,
        internal::KillTaskMessage {
            framework_id: v1::FrameworkId { value: "fw".into() },
            task_id: v1::TaskId {
                value: "holder".into(),
            },
            kill_policy: None,
        },
    );
    let seen = ack_until_exited(&mut c, &agent);
    let killed = task_updates(&seen);
    assert!(
        killed
            .iter()
            .any(|u| u.status.state() == TaskState::TaskKilled),
        "{killed:?}"
    );
    c.apply(&agent, destroy("d2", vec![v.clone()]));
    let u = only_update(&mut c);
    assert_eq!(u.status.state(), OperationState::OperationFinished, "{u:?}");
    assert!(!host.exists());
    assert!(mounts_under(&c.work_dir()).is_empty());
}

#[test]
fn a_volume_in_use_stays_in_use_across_an_agent_restart() {
    let mut c = ops_cluster();
    let agent = c.start_real_agent("slave(1)");
    c.drain();
    let v = volume(32.0, "r1", "busy", "data");
    for info in [
        reserve("r", vec![disk(32.0, Some("r1"))]),
        create("c", vec![v.clone()]),
    ] {
        c.apply(&agent, info);
        let u = only_update(&mut c);
        c.ack(&agent, &u);
    }
    c.send(
        &agent,
        volume_task("holder", "echo held > data/f; sleep 60", v.clone()),
    );
    let seen = c.wait_real(|s| {
        task_updates(s)
            .iter()
            .any(|u| u.status.state() == TaskState::TaskRunning)
    });
    for u in task_updates(&seen) {
        c.send(
            &agent,
            internal::StatusUpdateAcknowledgementMessage {
                slave_id: v1::AgentId {
                    value: AGENT_ID.into(),
                },
                framework_id: u.framework_id.clone(),
                task_id: u.status.task_id.clone(),
                uuid: u.uuid.clone().unwrap_or_default(),
            },
        );
    }
    // The agent restarts while the task runs: the recovered executor keeps its mount,
    // and the restarted agent knows the volume is in use.
    c.stop_agent(&agent);
    let agent = c.start_real_agent("slave(1)");
    assert_eq!(mounts_under(&c.work_dir()).len(), 1);
    // The agent registers once the recovered executor has subscribed again.
    c.wait_registered(&agent);
    c.drain();
    c.apply(&agent, destroy("d", vec![v.clone()]));
    let u = only_update(&mut c);
    assert_eq!(u.status.state(), OperationState::OperationFailed, "{u:?}");
    c.ack(&agent, &u);
    let host = c.volume_dir("r1", "busy");
    assert_eq!(std::fs::read_to_string(host.join("f")).unwrap(), "held\n");
    // Killing the task frees the volume.
    c.send(
        &agent,
        internal::KillTaskMessage {
            framework_id: v1::FrameworkId { value: "fw".into() },
            task_id: v1::TaskId {
                value: "holder".into(),
            },
            kill_policy: None,
        },
    );
    ack_until_exited(&mut c, &agent);
    assert!(mounts_under(&c.work_dir()).is_empty());
    c.apply(&agent, destroy("d2", vec![v]));
    let u = only_update(&mut c);
    assert_eq!(u.status.state(), OperationState::OperationFinished, "{u:?}");
    assert!(!host.exists());
}
