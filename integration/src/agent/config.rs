//! What a simulated agent looks like and how its pretend tasks behave.

use std::time::Duration;

use mesos_protos::v1::task_status::Reason;
use mesos_protos::v1::TaskState;

/// One step of a task's life: after `after` (from the previous step), report `state`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Clock time since the previous step (or since the task arrived, for the first).
    pub after: Duration,
    /// The state reported.
    pub state: TaskState,
    /// The reason attached to the update, if any.
    pub reason: Option<Reason>,
    /// The message attached to the update, if any.
    pub message: Option<String>,
}

impl Step {
    /// A step without reason or message.
    pub fn new(after: Duration, state: TaskState) -> Self {
        Step {
            after,
            state,
            reason: None,
            message: None,
        }
    }
}

/// The status updates a simulated agent reports for every task it is given.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskScript {
    /// The steps, in order; the task stays in the last state reported.
    pub steps: Vec<Step>,
}

impl TaskScript {
    /// TASK_RUNNING at once, and nothing more (the task runs until killed).
    pub fn run_forever() -> Self {
        TaskScript {
            steps: vec![Step::new(Duration::ZERO, TaskState::TaskRunning)],
        }
    }

    /// TASK_RUNNING at once, then TASK_FINISHED after `d` of clock time.
    pub fn finish_after(d: Duration) -> Self {
        TaskScript {
            steps: vec![
                Step::new(Duration::ZERO, TaskState::TaskRunning),
                Step::new(d, TaskState::TaskFinished),
            ],
        }
    }

    /// TASK_FAILED at once, with `message`.
    pub fn fail(message: &str) -> Self {
        TaskScript {
            steps: vec![Step {
                after: Duration::ZERO,
                state: TaskState::TaskFailed,
                reason: Some(Reason::CommandExecutorFailed),
                message: Some(message.to_owned()),
            }],
        }
    }

    /// A fixed script of `(delay, state)` pairs.
    pub fn script(steps: impl IntoIterator<Item = (Duration, TaskState)>) -> Self {
        TaskScript {
            steps: steps
                .into_iter()
                .map(|(after, state)| Step::new(after, state))
                .collect(),
        }
    }
}

impl Default for TaskScript {
    fn default() -> Self {
        TaskScript::run_forever()
    }
}

/// Settings of one simulated agent.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// `AgentInfo.hostname`.
    pub hostname: String,
    /// Total resources in Mesos's text form (`cpus:4;mem:1024;ports:[31000-32000]`).
    pub resources: String,
    /// How every task behaves.
    pub script: TaskScript,
    /// Upper bound of the random delay before the first registration attempt, and the
    /// first retry interval (Mesos `--registration_backoff_factor`, default 1 s). Zero
    /// registers at once and retries after 1 s.
    pub registration_backoff_factor: Duration,
    /// Largest registration retry interval (Mesos: 1 min).
    pub registration_backoff_max: Duration,
    /// First status update retry interval, doubling up to `update_retry_max` (Mesos:
    /// 10 s to 10 min); `None` sends each update once (benchmarks, where nobody acks).
    pub update_retry: Option<Duration>,
    /// Largest status update retry interval.
    pub update_retry_max: Duration,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            hostname: "localhost".into(),
            resources: "cpus:4;mem:4096;disk:10240;ports:[31000-32000]".into(),
            script: TaskScript::default(),
            registration_backoff_factor: Duration::ZERO,
            registration_backoff_max: Duration::from_secs(60),
            update_retry: Some(Duration::from_secs(10)),
            update_retry_max: Duration::from_secs(600),
        }
    }
}

impl AgentConfig {
    /// Sets the resources.
    pub fn resources(mut self, text: &str) -> Self {
        self.resources = text.to_owned();
        self
    }

    /// Sets the hostname.
    pub fn hostname(mut self, name: &str) -> Self {
        self.hostname = name.to_owned();
        self
    }

    /// Sets the task script.
    pub fn script(mut self, script: TaskScript) -> Self {
        self.script = script;
        self
    }

    /// Sets the first status update retry interval (`None`: never retry).
    pub fn update_retry(mut self, retry: Option<Duration>) -> Self {
        self.update_retry = retry;
        self
    }

    /// Sets the registration back-off factor.
    pub fn registration_backoff(mut self, factor: Duration) -> Self {
        self.registration_backoff_factor = factor;
        self
    }
}
