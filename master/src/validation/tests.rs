use mesos_protos::resources::Resources;
use mesos_protos::v1;

use super::*;
use crate::state::{Connection, MasterState};
use crate::testing::*;

fn setup() -> (MasterState, String) {
    let mut s = master_state();
    let fid = s.add_framework(framework_info("fw", &[]), http("s"), 1.0);
    s.add_agent(agent(
        "m-S0",
        "cpus:4;mem:1024;disk:1024;ports:[31000-32000]",
    ));
    s.add_agent(agent("m-S1", "cpus:4;mem:1024;disk:1024"));
    (s, fid)
}

fn offered(text: &str) -> Resources {
    Resources::from_resources(&alloc_res(text, "*"))
}

fn check(s: &MasterState, fid: &str, task: &v1::TaskInfo, avail: &str) -> Result {
    validate_task(
        task,
        &s.frameworks[fid],
        &s.agents.registered["m-S0"],
        &offered(avail),
    )
}

fn err(r: Result) -> String {
    r.expect_err("expected a validation error").0
}

#[test]
fn a_good_task_passes() {
    let (s, fid) = setup();
    let t = alloc_task("t1", "m-S0", "cpus:1;mem:128");
    check(&s, &fid, &t, "cpus:2;mem:256").unwrap();
}

#[test]
fn task_id_rules() {
    let (mut s, fid) = setup();
    let bad = alloc_task("a/b", "m-S0", "cpus:1;mem:128");
    assert!(err(check(&s, &fid, &bad, "cpus:2;mem:256")).starts_with("'TaskID.value'"));
    let empty = alloc_task("", "m-S0", "cpus:1;mem:128");
    assert!(check(&s, &fid, &empty, "cpus:2;mem:256").is_err());

    s.add_task(&fid, &alloc_task("t1", "m-S0", "cpus:1;mem:128"), None)
        .unwrap();
    let dup = alloc_task("t1", "m-S0", "cpus:1;mem:128");
    assert_eq!(
        err(check(&s, &fid, &dup, "cpus:2;mem:256")),
        "Task has duplicate ID: t1"
    );
    s.mark_agent_unreachable("m-S0", 5.0).unwrap();
    s.add_agent(agent("m-S0", "cpus:4;mem:1024"));
    assert_eq!(
        err(check(&s, &fid, &dup, "cpus:2;mem:256")),
        "Task reuses the ID of an unreachable task: t1"
    );
}

#[test]
fn agent_must_match_the_offer() {
    let (s, fid) = setup();
    let t = alloc_task("t1", "m-S1", "cpus:1;mem:128");
    assert_eq!(
        err(check(&s, &fid, &t, "cpus:2;mem:256")),
        "Task uses invalid agent m-S1 while agent m-S0 is expected"
    );
}

#[test]
fn durations_must_be_non_negative() {
    let (s, fid) = setup();
    let mut t = alloc_task("t1", "m-S0", "cpus:1;mem:128");
    t.kill_policy = Some(v1::KillPolicy {
        grace_period: Some(v1::DurationInfo { nanoseconds: -1 }),
    });
    assert_eq!(
        err(check(&s, &fid, &t, "cpus:2;mem:256")),
        "Task's 'kill_policy.grace_period' must be non-negative"
    );
    let mut t = alloc_task("t1", "m-S0", "cpus:1;mem:128");
    t.max_completion_time = Some(v1::DurationInfo { nanoseconds: -5 });
    assert_eq!(
        err(check(&s, &fid, &t, "cpus:2;mem:256")),
        "Task's `max_completion_time` must be non-negative"
    );
}

#[test]
fn resource_rules() {
    let (s, fid) = setup();
    let mut t = alloc_task("t1", "m-S0", "cpus:1;mem:128");
    t.resources.clear();
    assert_eq!(err(check(&s, &fid, &t, "cpus:2")), "Task uses no resources");

    let unallocated = task_info("t1", "m-S0", "cpus:1;mem:128");
    assert_eq!(
        err(check(&s, &fid, &unallocated, "cpus:2;mem:256")),
        "Invalid task resources: The resources are not allocated to a role"
    );

    let mut two_roles = alloc_task("t1", "m-S0", "cpus:1");
    two_roles.resources.extend(alloc_res("mem:128", "other"));
    assert!(
        err(check(&s, &fid, &two_roles, "cpus:2;mem:256")).contains("multiple allocation roles")
    );

    let mut negative = alloc_task("t1", "m-S0", "cpus:1;mem:128");
    if let Some(sc) = negative.resources[0].scalar.as_mut() {
        sc.value = -1.0;
    }
    assert!(err(check(&s, &fid, &negative, "cpus:2;mem:256"))
        .starts_with("Task uses invalid resources: "));

    let big = alloc_task("t1", "m-S0", "cpus:3;mem:128");
    assert!(err(check(&s, &fid, &big, "cpus:2;mem:256"))
        .starts_with("Total resources cpus(allocated: *):3"));
}

#[test]
fn command_xor_executor() {
    let (s, fid) = setup();
    let mut both = alloc_task("t1", "m-S0", "cpus:1;mem:128");
    both.executor = Some(executor_info(&fid, "e", "cpus:0.1;mem:32"));
    let msg = "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present";
    assert_eq!(err(check(&s, &fid, &both, "cpus:2;mem:256")), msg);
    let mut neither = alloc_task("t1", "m-S0", "cpus:1;mem:128");
    neither.command = None;
    assert_eq!(err(check(&s, &fid, &neither, "cpus:2;mem:256")), msg);
}

#[test]
fn executor_rules() {
    let (mut s, fid) = setup();
    let with_exec = |e: v1::ExecutorInfo| {
        let mut t = alloc_task("t1", "m-S0", "cpus:1;mem:128");
        t.command = None;
        t.executor = Some(e);
        t
    };
    let mut e = executor_info(&fid, "e1", "cpus:0.1;mem:32");
    e.resources = alloc_res("cpus:0.1;mem:32", "*");
    // Fits only with the executor's share included.
    check(&s, &fid, &with_exec(e.clone()), "cpus:1.1;mem:160").unwrap();
    assert!(check(&s, &fid, &with_exec(e.clone()), "cpus:1;mem:128").is_err());

    let mut no_fw = e.clone();
    no_fw.framework_id = None;
    assert_eq!(
        err(check(&s, &fid, &with_exec(no_fw), "cpus:2;mem:256")),
        "'ExecutorInfo.framework_id' must be set"
    );
    let mut other_fw = e.clone();
    other_fw.framework_id = Some(v1::FrameworkId { value: "x".into() });
    assert!(err(check(&s, &fid, &with_exec(other_fw), "cpus:2;mem:256"))
        .starts_with("ExecutorInfo has an invalid FrameworkID (Actual: x"));
    let mut no_cmd = e.clone();
    no_cmd.command = None;
    assert_eq!(
        err(check(&s, &fid, &with_exec(no_cmd), "cpus:2;mem:256")),
        "'ExecutorInfo.command' must be set for 'CUSTOM' executor"
    );

    // Once the executor runs, a different ExecutorInfo under its id is refused and the
    // same one is not charged again.
    s.add_task(&fid, &with_exec(e.clone()), None).unwrap();
    let mut t2 = with_exec(e.clone());
    t2.task_id.value = "t2".into();
    check(&s, &fid, &t2, "cpus:1;mem:128").unwrap();
    let mut changed = e.clone();
    changed.name = Some("different".into());
    let mut t3 = with_exec(changed);
    t3.task_id.value = "t3".into();
    assert!(
        err(check(&s, &fid, &t3, "cpus:2;mem:256")).starts_with("ExecutorInfo is not compatible")
    );
}

#[test]
fn task_group_rules() {
    let (s, fid) = setup();
    let fw = &s.frameworks[&fid];
    let agent = &s.agents.registered["m-S0"];
    let mut exec = executor_info(&fid, "default", "cpus:0.1;mem:32;disk:32");
    exec.resources = alloc_res("cpus:0.1;mem:32;disk:32", "*");
    exec.r#type = Some(v1::executor_info::Type::Default as i32);
    exec.command = None;
    let group = v1::TaskGroupInfo {
        tasks: vec![
            alloc_task("a", "m-S0", "cpus:1;mem:64"),
            alloc_task("b", "m-S0", "cpus:1;mem:64"),
        ],
    };
    let avail = offered("cpus:3;mem:512;disk:64");
    validate_task_group(&group, &exec, fw, agent, &avail).unwrap();

    let mut small = exec.clone();
    small.resources = alloc_res("cpus:0.001;mem:32;disk:32", "*");
    assert!(validate_task_group(&group, &small, fw, agent, &avail)
        .unwrap_err()
        .0
        .contains("uses less CPUs"));
    let mut no_disk = exec.clone();
    no_disk.resources = alloc_res("cpus:0.1;mem:32", "*");
    assert_eq!(
        validate_task_group(&group, &no_disk, fw, agent, &avail)
            .unwrap_err()
            .0,
        "Executor 'default' uses no disk"
    );
    let mut untyped = exec.clone();
    untyped.r#type = None;
    assert_eq!(
        validate_task_group(&group, &untyped, fw, agent, &avail)
            .unwrap_err()
            .0,
        "'ExecutorInfo.type' must be set"
    );
    let mut dup = group.clone();
    dup.tasks[1].task_id.value = "a".into();
    assert!(validate_task_group(&dup, &exec, fw, agent, &avail)
        .unwrap_err()
        .0
        .contains("duplicate ID"));
    let tight = offered("cpus:2;mem:512;disk:64");
    assert!(validate_task_group(&group, &exec, fw, agent, &tight)
        .unwrap_err()
        .0
        .starts_with("Total resources"));
}

#[test]
fn offer_rules() {
    let (mut s, fid) = setup();
    let other = s.add_framework(
        framework_info("other", &[]),
        Connection::Http {
            stream_id: "o".into(),
        },
        1.0,
    );
    let o1 = offer_entry(&mut s, &fid, "m-S0", "cpus:1");
    let o2 = offer_entry(&mut s, &fid, "m-S1", "cpus:1");
    let o3 = offer_entry(&mut s, &other, "m-S0", "cpus:1");
    let mut o4 = offer_entry(&mut s, &fid, "m-S0", "mem:10");
    o4.role = "web".into();
    let ids: Vec<String> = [&o1, &o2, &o3, &o4]
        .iter()
        .map(|o| o.offer.id.value.clone())
        .collect();
    for o in [o1, o2, o3, o4] {
        s.add_offer(o).unwrap();
    }
    let v = |list: &[&String]| {
        let list: Vec<String> = list.iter().map(|s| (*s).clone()).collect();
        validate_offers(&list, &s, &fid)
    };
    let ok = v(&[&ids[0]]).unwrap();
    assert_eq!(ok.agent_id, "m-S0");
    assert_eq!(ok.role, "*");
    assert_eq!(
        v(&[&ids[0], &ids[0]]).unwrap_err().0,
        format!("Duplicate offer {} in offer list", ids[0])
    );
    let stale = "m-O99".to_owned();
    assert_eq!(
        v(&[&stale]).unwrap_err().0,
        "Offer m-O99 is no longer valid"
    );
    assert!(v(&[&ids[2]])
        .unwrap_err()
        .0
        .contains("has invalid framework"));
    assert!(v(&[&ids[0], &ids[1]])
        .unwrap_err()
        .0
        .starts_with("Aggregated offers must belong to one single agent"));
    assert!(v(&[&ids[0], &ids[3]])
        .unwrap_err()
        .0
        .starts_with("Aggregated offers must be allocated to the same role"));
}
