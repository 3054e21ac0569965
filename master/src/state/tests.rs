use super::*;
use crate::testing::*;

#[test]
fn frameworks_get_sequential_ids_unless_given() {
    let mut s = master_state();
    let a = s.add_framework(framework_info("a", &[]), http("s1"), 1.0);
    let b = s.add_framework(framework_info("b", &[]), http("s2"), 1.0);
    assert_eq!(a, "m-0000");
    assert_eq!(b, "m-0001");
    let mut info = framework_info("c", &[]);
    info.id = Some(v1::FrameworkId {
        value: "old-0007".into(),
    });
    assert_eq!(
        s.add_framework(info, Connection::Recovered, 1.0),
        "old-0007"
    );
    assert!(!s.frameworks["old-0007"].active);
    assert!(s.frameworks["m-0000"].connected());
}

#[test]
fn task_lifecycle_charges_and_releases_resources() {
    let mut s = master_state();
    let fid = s.add_framework(framework_info("fw", &[]), http("s"), 1.0);
    s.add_agent(agent("m-S0", "cpus:4;mem:1024"));
    let t = task_info("t1", "m-S0", "cpus:1;mem:128");
    s.add_task(&fid, &t, None).unwrap();
    let agent = &s.agents.registered["m-S0"];
    assert_eq!(agent.used_total().cpus(), Some(1.0));
    assert_eq!(agent.available().cpus(), Some(3.0));
    assert_eq!(agent.task_count(), 1);
    assert_eq!(
        s.frameworks[&fid].tasks["t1"].state,
        TaskState::TaskStaging as i32
    );

    s.update_task(&agent_update(
        &fid,
        "m-S0",
        "t1",
        TaskState::TaskRunning,
        b"u1",
    ))
    .unwrap();
    assert_eq!(
        s.frameworks[&fid].tasks["t1"].state,
        TaskState::TaskRunning as i32
    );

    s.update_task(&agent_update(
        &fid,
        "m-S0",
        "t1",
        TaskState::TaskFinished,
        b"u2",
    ))
    .unwrap();
    // Terminal: resources are free at once, the task stays until acknowledged.
    assert_eq!(s.agents.registered["m-S0"].used_total().cpus(), None);
    assert!(s.frameworks[&fid].tasks.contains_key("t1"));
    // Acknowledging an older update does not remove it.
    assert!(!s.acknowledge(&fid, "t1", b"u1").unwrap());
    assert!(s.acknowledge(&fid, "t1", b"u2").unwrap());
    assert!(!s.frameworks[&fid].tasks.contains_key("t1"));
    assert_eq!(s.frameworks[&fid].completed_tasks.len(), 1);
    assert_eq!(s.agents.registered["m-S0"].task_count(), 0);
    let done = s.frameworks[&fid].completed_tasks.iter().next().unwrap();
    assert_eq!(done.statuses.len(), 2);
}

#[test]
fn latest_state_wins_over_the_status_state() {
    let mut s = master_state();
    let fid = s.add_framework(framework_info("fw", &[]), http("s"), 1.0);
    s.add_agent(agent("m-S0", "cpus:4;mem:1024"));
    s.add_task(&fid, &task_info("t1", "m-S0", "cpus:1;mem:128"), None)
        .unwrap();
    let mut u = agent_update(&fid, "m-S0", "t1", TaskState::TaskRunning, b"u1");
    u.latest_state = Some(TaskState::TaskFailed as i32);
    s.update_task(&u).unwrap();
    let task = &s.frameworks[&fid].tasks["t1"];
    assert_eq!(task.state, TaskState::TaskFailed as i32);
    assert_eq!(
        task.status_update_state,
        Some(TaskState::TaskRunning as i32)
    );
    assert_eq!(s.agents.registered["m-S0"].used_total().cpus(), None);
}

#[test]
fn executor_resources_are_charged_once() {
    let mut s = master_state();
    let fid = s.add_framework(framework_info("fw", &[]), http("s"), 1.0);
    s.add_agent(agent("m-S0", "cpus:4;mem:1024"));
    let mut t1 = task_info("t1", "m-S0", "cpus:1;mem:128");
    t1.command = None;
    t1.executor = Some(executor_info(&fid, "e1", "cpus:0.5;mem:32"));
    let mut t2 = t1.clone();
    t2.task_id.value = "t2".into();
    s.add_task(&fid, &t1, None).unwrap();
    s.add_task(&fid, &t2, None).unwrap();
    assert_eq!(s.agents.registered["m-S0"].used_total().cpus(), Some(2.5));
    assert!(s.frameworks[&fid].has_executor("m-S0", "e1"));
}

#[test]
fn unreachable_agent_turns_tasks_unreachable_or_lost() {
    let mut s = master_state();
    let aware = s.add_framework(framework_info("aware", &[PARTITION_AWARE]), http("a"), 1.0);
    let plain = s.add_framework(framework_info("plain", &[]), http("b"), 1.0);
    s.add_agent(agent("m-S0", "cpus:4;mem:1024"));
    s.add_task(&aware, &task_info("t1", "m-S0", "cpus:1;mem:128"), None)
        .unwrap();
    s.add_task(&plain, &task_info("t2", "m-S0", "cpus:1;mem:128"), None)
        .unwrap();
    let (_, updates) = s.mark_agent_unreachable("m-S0", 50.0).unwrap();
    assert_eq!(updates.len(), 2);
    let by_fw: HashMap<_, _> = updates
        .iter()
        .map(|u| (u.framework_id.value.clone(), u.status.state))
        .collect();
    assert_eq!(by_fw[&aware], TaskState::TaskUnreachable as i32);
    assert_eq!(by_fw[&plain], TaskState::TaskLost as i32);
    for u in &updates {
        assert_eq!(u.status.reason, Some(Reason::AgentRemoved as i32));
        assert!(u.uuid.is_none());
        assert_eq!(
            u.status.unreachable_time.as_ref().unwrap().nanoseconds,
            50_000_000_000
        );
    }
    assert!(s.frameworks[&aware].tasks.is_empty());
    assert!(s.frameworks[&aware]
        .unreachable_tasks
        .contains_key(&"t1".to_owned()));
    assert!(s.agents.unreachable.contains_key("m-S0"));
    assert!(!s.agents.registered.contains_key("m-S0"));
}

#[test]
fn offers_move_resources_between_available_and_offered() {
    let mut s = master_state();
    let fid = s.add_framework(framework_info("fw", &[]), http("s"), 1.0);
    s.add_agent(agent("m-S0", "cpus:4;mem:1024"));
    let entry = offer_entry(&mut s, &fid, "m-S0", "cpus:2;mem:512");
    let oid = entry.offer.id.value.clone();
    s.add_offer(entry).unwrap();
    assert_eq!(s.agents.registered["m-S0"].available().cpus(), Some(2.0));
    assert!(s.frameworks[&fid].offers.contains(&oid));
    let back = s.remove_offer(&oid).unwrap();
    assert_eq!(back.resources.cpus(), Some(2.0));
    assert_eq!(s.agents.registered["m-S0"].available().cpus(), Some(4.0));
    assert_eq!(
        s.remove_offer(&oid).unwrap_err(),
        StateError::UnknownOffer(oid)
    );
}

#[test]
fn removing_a_framework_kills_tasks_and_completes_it() {
    let mut s = master_state();
    let fid = s.add_framework(framework_info("fw", &[]), http("s"), 1.0);
    s.add_agent(agent("m-S0", "cpus:4;mem:1024"));
    s.add_task(&fid, &task_info("t1", "m-S0", "cpus:1;mem:128"), None)
        .unwrap();
    let entry = offer_entry(&mut s, &fid, "m-S0", "cpus:2;mem:512");
    s.add_offer(entry).unwrap();
    let removed = s.remove_framework(&fid, 9.0).unwrap();
    assert_eq!(removed.offers.len(), 1);
    assert_eq!(removed.agents, vec!["m-S0".to_owned()]);
    assert_eq!(
        removed.updates[0].status.state,
        TaskState::TaskKilled as i32
    );
    assert_eq!(
        removed.updates[0].status.reason,
        Some(Reason::FrameworkRemoved as i32)
    );
    assert!(!s.frameworks.contains_key(&fid));
    let done = s.completed_frameworks.iter().next().unwrap();
    assert_eq!(done.completed_tasks.len(), 1);
    let agent = &s.agents.registered["m-S0"];
    assert_eq!(agent.available().cpus(), Some(4.0));
    assert_eq!(agent.task_count(), 0);
}

#[test]
fn completed_frameworks_and_tasks_are_bounded() {
    let limits = Limits {
        max_completed_frameworks: 2,
        max_completed_tasks_per_framework: 3,
        max_unreachable_tasks_per_framework: 1,
    };
    let mut s = MasterState::new(master_info("m"), limits, 0.0);
    s.add_agent(agent("m-S0", "cpus:100;mem:100000"));
    let fid = s.add_framework(framework_info("fw", &[]), http("s"), 1.0);
    for i in 0..5 {
        let tid = format!("t{i}");
        s.add_task(&fid, &task_info(&tid, "m-S0", "cpus:1;mem:1"), None)
            .unwrap();
        s.remove_task(&fid, &tid, false).unwrap();
    }
    let kept: Vec<_> = s.frameworks[&fid]
        .completed_tasks
        .iter()
        .map(|t| t.task_id.value.clone())
        .collect();
    assert_eq!(kept, vec!["t2", "t3", "t4"]);
    for n in 0..3 {
        let f = s.add_framework(framework_info(&format!("f{n}"), &[]), http("x"), 1.0);
        s.remove_framework(&f, 2.0).unwrap();
    }
    assert_eq!(s.completed_frameworks.len(), 2);
}
