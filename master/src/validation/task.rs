//! Task, task group and executor validation for LAUNCH and LAUNCH_GROUP.
//!
//! Callers normalise first, as Mesos's master does: executors get the framework id
//! filled in, and resources of non-MULTI_ROLE frameworks get `allocation_info` set to
//! the offer's role. `offered` is what remains of the accepted offers after the
//! operations before this one.

use mesos_protos::resources::Resources;
use mesos_protos::v1;
use mesos_protos::v1::executor_info::Type as ExecutorType;
use mesos_protos::validation as common;

use super::resource::{self as res, describe};
use super::{Invalid, Result};
use crate::state::{Agent, Framework};

/// Validates one task of a LAUNCH (task rules, then its executor and resources).
pub fn validate_task(
    task: &v1::TaskInfo,
    framework: &Framework,
    agent: &Agent,
    offered: &Resources,
) -> Result {
    validate_task_fields(task, framework, agent)?;
    validate_task_executor(task, framework, agent, offered)
}

/// The task rules shared by LAUNCH and LAUNCH_GROUP, in Mesos's order.
pub fn validate_task_fields(task: &v1::TaskInfo, framework: &Framework, agent: &Agent) -> Result {
    let id = &task.task_id.value;
    common::validate_id(id).map_err(|e| Invalid::new(format!("'TaskID.value' {}", e.0)))?;
    if framework.tasks.contains_key(id) {
        return Err(Invalid::new(format!("Task has duplicate ID: {id}")));
    }
    if framework.unreachable_tasks.contains_key(id) {
        return Err(Invalid::new(format!(
            "Task reuses the ID of an unreachable task: {id}"
        )));
    }
    if task.agent_id.value != agent.id {
        return Err(Invalid::new(format!(
            "Task uses invalid agent {} while agent {} is expected",
            task.agent_id.value, agent.id
        )));
    }
    if task
        .kill_policy
        .as_ref()
        .and_then(|k| k.grace_period.as_ref())
        .is_some_and(|g| g.nanoseconds < 0)
    {
        return Err(Invalid::new(
            "Task's 'kill_policy.grace_period' must be non-negative",
        ));
    }
    if task
        .max_completion_time
        .as_ref()
        .is_some_and(|d| d.nanoseconds < 0)
    {
        return Err(Invalid::new(
            "Task's `max_completion_time` must be non-negative",
        ));
    }
    if let Some(check) = &task.check {
        common::validate_check_info(check)
            .map_err(|e| Invalid::new(format!("Task uses invalid check: {}", e.0)))?;
    }
    if let Some(hc) = &task.health_check {
        common::validate_health_check(hc)
            .map_err(|e| Invalid::new(format!("Task uses invalid health check: {}", e.0)))?;
    }
    task_resources(task)?;
    if let Some(command) = &task.command {
        common::validate_command_info(command)
            .map_err(|e| Invalid::new(format!("Task's `CommandInfo` is invalid: {}", e.0)))?;
    }
    if let Some(container) = &task.container {
        common::validate_container_info(container)
            .map_err(|e| Invalid::new(format!("Task's `ContainerInfo` is invalid: {}", e.0)))?;
    }
    Ok(())
}

fn task_resources(task: &v1::TaskInfo) -> Result {
    if task.resources.is_empty() {
        return Err(Invalid::new("Task uses no resources"));
    }
    res::validate(&task.resources).map_err(|e| e.context("Task uses invalid resources: "))?;
    let r = Resources::from_resources(&task.resources);
    res::unique_persistence_ids(&r)
        .map_err(|e| e.context("Task uses duplicate persistence ID: "))?;
    res::allocated_to_single_role(&r).map_err(|e| e.context("Invalid task resources: "))?;
    res::revocable_and_non_revocable(&r)
        .map_err(|e| e.context("Task mixes revocable and non-revocable resources: "))
}

fn task_executor_resources(task: &v1::TaskInfo) -> Result {
    let mut list = task.resources.clone();
    if let Some(e) = &task.executor {
        list.extend(e.resources.iter().cloned());
    }
    res::validate(&list).map_err(|e| e.context("Task and its executor use invalid resources: "))?;
    let task_r = Resources::from_resources(&task.resources);
    let total = Resources::from_resources(&list);
    if let Some(e) = &task.executor {
        let exec_r = Resources::from_resources(&e.resources);
        if res::overlapping_ranges_or_sets(&task_r, &exec_r) {
            return Err(Invalid::new(format!(
                "There are overlapping resources in the task resources {} and executor \
                 resources {}",
                describe(&task_r),
                describe(&exec_r)
            )));
        }
    }
    res::unique_persistence_ids(&total)
        .map_err(|e| e.context("Task and its executor use duplicate persistence ID: "))?;
    res::revocable_and_non_revocable(&total)
        .map_err(|e| e.context("Task and its executor mix revocable and non-revocable resources: "))
}

fn validate_task_executor(
    task: &v1::TaskInfo,
    framework: &Framework,
    agent: &Agent,
    offered: &Resources,
) -> Result {
    if task.executor.is_some() == task.command.is_some() {
        return Err(Invalid::new(
            "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present",
        ));
    }
    let mut total = Resources::from_resources(&task.resources);
    if let Some(executor) = &task.executor {
        validate_executor(executor, framework, agent)?;
        if executor
            .r#type
            .is_some_and(|t| t != ExecutorType::Custom as i32)
        {
            return Err(Invalid::new("'ExecutorInfo.type' must be 'CUSTOM'"));
        }
        if executor.command.is_none() {
            return Err(Invalid::new("'ExecutorInfo.command' must be set"));
        }
        let exec_r = Resources::from_resources(&executor.resources);
        if !exec_r.shared().is_empty() {
            return Err(Invalid::new(format!(
                "Executor resources {} should not contain any shared resources",
                describe(&exec_r)
            )));
        }
        if !agent.has_executor(&framework.id, &executor.executor_id.value) {
            total += &exec_r;
        }
    }
    task_executor_resources(task)?;
    if !offered.contains(&total) {
        return Err(Invalid::new(format!(
            "Total resources {} required by task and its executor is more than available {}",
            describe(&total),
            describe(offered)
        )));
    }
    Ok(())
}

/// The executor rules common to LAUNCH and LAUNCH_GROUP.
pub fn validate_executor(
    executor: &v1::ExecutorInfo,
    framework: &Framework,
    agent: &Agent,
) -> Result {
    executor_type(executor)?;
    common::validate_id(&executor.executor_id.value)
        .map_err(|e| Invalid::new(format!("'ExecutorID.value' {}", e.0)))?;
    if executor
        .shutdown_grace_period
        .as_ref()
        .is_some_and(|d| d.nanoseconds < 0)
    {
        return Err(Invalid::new(
            "ExecutorInfo's 'shutdown_grace_period' must be non-negative",
        ));
    }
    if let Some(command) = &executor.command {
        common::validate_command_info(command)
            .map_err(|e| Invalid::new(format!("Executor's `CommandInfo` is invalid: {}", e.0)))?;
    }
    if let Some(container) = &executor.container {
        common::validate_container_info(container)
            .map_err(|e| Invalid::new(format!("Executor's `ContainerInfo` is invalid: {}", e.0)))?;
    }
    match &executor.framework_id {
        None => return Err(Invalid::new("'ExecutorInfo.framework_id' must be set")),
        Some(f) if f.value != framework.id => {
            return Err(Invalid::new(format!(
                "ExecutorInfo has an invalid FrameworkID (Actual: {} vs Expected: {})",
                f.value, framework.id
            )))
        }
        Some(_) => {}
    }
    res::validate(&executor.resources)
        .map_err(|e| e.context("Executor uses invalid resources: "))?;
    let r = Resources::from_resources(&executor.resources);
    res::unique_persistence_ids(&r)
        .map_err(|e| e.context("Executor uses duplicate persistence ID: "))?;
    res::allocated_to_single_role(&r).map_err(|e| e.context("Invalid executor resources: "))?;
    res::revocable_and_non_revocable(&r)
        .map_err(|e| e.context("Executor mixes revocable and non-revocable resources: "))?;
    let existing = agent
        .executors
        .get(&framework.id)
        .and_then(|m| m.get(&executor.executor_id.value));
    if existing.is_some_and(|e| e != executor) {
        return Err(Invalid::new(
            "ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID",
        ));
    }
    Ok(())
}

fn executor_type(executor: &v1::ExecutorInfo) -> Result {
    let kind = executor
        .r#type
        .and_then(|t| ExecutorType::try_from(t).ok())
        .unwrap_or(ExecutorType::Unknown);
    match kind {
        ExecutorType::Default => {
            if executor.command.is_some() {
                return Err(Invalid::new(
                    "'ExecutorInfo.command' must not be set for 'DEFAULT' executor",
                ));
            }
            if let Some(c) = &executor.container {
                if c.r#type != v1::container_info::Type::Mesos as i32 {
                    return Err(Invalid::new(
                        "'ExecutorInfo.container.type' must be 'MESOS' for 'DEFAULT' executor",
                    ));
                }
                if c.mesos.as_ref().is_some_and(|m| m.image.is_some()) {
                    return Err(Invalid::new(
                        "'ExecutorInfo.container.mesos.image' must not be set for 'DEFAULT' \
                         executor",
                    ));
                }
            }
        }
        ExecutorType::Custom => {
            if executor.command.is_none() {
                return Err(Invalid::new(
                    "'ExecutorInfo.command' must be set for 'CUSTOM' executor",
                ));
            }
        }
        ExecutorType::Unknown => {}
    }
    Ok(())
}

/// The smallest cpus an executor of a task group may use.
pub const MIN_CPUS: f64 = 0.01;
/// The smallest memory (MB) an executor of a task group may use.
pub const MIN_MEM_MB: u64 = 32;

/// Validates a LAUNCH_GROUP: every task, then the executor, then resources.
pub fn validate_task_group(
    group: &v1::TaskGroupInfo,
    executor: &v1::ExecutorInfo,
    framework: &Framework,
    agent: &Agent,
    offered: &Resources,
) -> Result {
    for task in &group.tasks {
        validate_task_fields(task, framework, agent)
            .map_err(|e| e.context(&format!("Task '{}' is invalid: ", task.task_id.value)))?;
        if task
            .container
            .as_ref()
            .is_some_and(|c| c.r#type == v1::container_info::Type::Docker as i32)
        {
            return Err(Invalid::new(format!(
                "Task '{}' is invalid: Docker ContainerInfo is not supported on the task",
                task.task_id.value
            )));
        }
    }
    let mut ids = std::collections::HashSet::new();
    for task in &group.tasks {
        if !ids.insert(&task.task_id.value) {
            return Err(Invalid::new(format!(
                "Task '{}' is invalid: Task has duplicate ID: {}",
                task.task_id.value, task.task_id.value
            )));
        }
    }

    validate_executor(executor, framework, agent)?;
    let kind = executor.r#type.and_then(|t| ExecutorType::try_from(t).ok());
    match kind {
        None => return Err(Invalid::new("'ExecutorInfo.type' must be set")),
        Some(ExecutorType::Unknown) => return Err(Invalid::new("Unknown executor type")),
        _ => {}
    }
    if executor
        .container
        .as_ref()
        .is_some_and(|c| c.r#type == v1::container_info::Type::Docker as i32)
    {
        return Err(Invalid::new(
            "Docker ContainerInfo is not supported on the executor",
        ));
    }
    for task in &group.tasks {
        if task.executor.as_ref().is_some_and(|e| e != executor) {
            return Err(Invalid::new(format!(
                "The `ExecutorInfo` of task '{}' is different from executor '{}'",
                task.task_id.value, executor.executor_id.value
            )));
        }
    }
    let exec_r = Resources::from_resources(&executor.resources);
    let eid = &executor.executor_id.value;
    match exec_r.cpus() {
        Some(c) if c >= MIN_CPUS => {}
        other => {
            return Err(Invalid::new(format!(
                "Executor '{eid}' uses less CPUs ({}) than the minimum required ({MIN_CPUS})",
                other.map_or("None".to_owned(), |c| c.to_string())
            )))
        }
    }
    match exec_r.mem() {
        Some(m) if m >= MIN_MEM_MB => {}
        other => {
            return Err(Invalid::new(format!(
                "Executor '{eid}' uses less memory ({}) than the minimum required (32MB)",
                other.map_or("None".to_owned(), |m| format!("{m}MB"))
            )))
        }
    }
    if exec_r.disk().is_none() {
        return Err(Invalid::new(format!("Executor '{eid}' uses no disk")));
    }

    let mut tasks_r = Resources::new();
    for task in &group.tasks {
        tasks_r += &Resources::from_resources(&task.resources);
    }
    let mut all = tasks_r.clone();
    all += &exec_r;
    res::unique_persistence_ids(&all)
        .map_err(|e| e.context("Task group and executor use duplicate persistence ID: "))?;
    res::revocable_and_non_revocable(&all).map_err(|e| {
        e.context("Task group and executor mix revocable and non-revocable resources: ")
    })?;
    if res::overlapping_ranges_or_sets(&tasks_r, &exec_r) {
        return Err(Invalid::new(format!(
            "There are overlapping resources in the task group's task resources {} and \
             executor resources {}",
            describe(&tasks_r),
            describe(&exec_r)
        )));
    }
    let mut total = tasks_r;
    if !agent.has_executor(&framework.id, eid) {
        total += &exec_r;
    }
    if !offered.contains(&total) {
        return Err(Invalid::new(format!(
            "Total resources {} required by task group and its executor are more than \
             available {}",
            describe(&total),
            describe(offered)
        )));
    }
    Ok(())
}
