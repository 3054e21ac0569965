//! The `Executor` callback trait and the loop that drives it.

use std::future::Future;

use futures::StreamExt;
use mesos_protos::v1::executor::{event, Event};
use mesos_protos::v1::{KillPolicy, TaskGroupInfo, TaskId, TaskInfo};

use super::{connect, Config, ExecutorClient, ExecutorEvent, ExecutorEvents};
use crate::error::Error;

/// Callbacks for executor events. Every method has a do-nothing default; the `client`
/// argument sends updates and messages (and [`ExecutorClient::stop`] ends [`run`]).
pub trait Executor: Send {
    /// SUBSCRIBED (also after every re-subscription).
    fn subscribed(
        &mut self,
        _client: &ExecutorClient,
        _subscribed: &event::Subscribed,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// LAUNCH of one task.
    fn launch(
        &mut self,
        _client: &ExecutorClient,
        _task: TaskInfo,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// LAUNCH_GROUP of a task group.
    fn launch_group(
        &mut self,
        _client: &ExecutorClient,
        _group: TaskGroupInfo,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// KILL of a task, with the scheduler's kill policy if any.
    fn kill(
        &mut self,
        _client: &ExecutorClient,
        _task_id: TaskId,
        _kill_policy: Option<KillPolicy>,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// ACKNOWLEDGED: the agent checkpointed the update with this uuid.
    fn acknowledged(
        &mut self,
        _client: &ExecutorClient,
        _task_id: TaskId,
        _uuid: Vec<u8>,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// MESSAGE from the scheduler.
    fn message(
        &mut self,
        _client: &ExecutorClient,
        _data: Vec<u8>,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// SHUTDOWN: kill every task, send their terminal updates, then stop.
    fn shutdown(&mut self, _client: &ExecutorClient) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// ERROR from the agent (e.g. an invalid call).
    fn error(
        &mut self,
        _client: &ExecutorClient,
        _message: String,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// HEARTBEAT.
    fn heartbeat(&mut self, _client: &ExecutorClient) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// The connection to the agent broke; the driver is re-subscribing (if checkpointing).
    fn disconnected(
        &mut self,
        _client: &ExecutorClient,
        _error: &Error,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Connects with `config` and drives `executor` until [`ExecutorClient::stop`] (`Ok`) or the
/// driver gives up (`Err`).
pub async fn run<E: Executor>(config: Config, executor: &mut E) -> Result<(), Error> {
    let (client, events) = connect(config)?;
    run_with(&client, events, executor).await
}

/// Drives `executor` with events from an existing driver.
pub async fn run_with<E: Executor>(
    client: &ExecutorClient,
    mut events: ExecutorEvents,
    executor: &mut E,
) -> Result<(), Error> {
    let mut connected = false;
    while let Some(item) = events.next().await {
        match item {
            ExecutorEvent::Event(event) => {
                if event.r#type() == event::Type::Subscribed {
                    connected = true;
                }
                dispatch(client, executor, *event).await;
            }
            ExecutorEvent::Disconnected { error, .. } => {
                if connected {
                    connected = false;
                    executor.disconnected(client, &error).await;
                }
            }
            ExecutorEvent::Failed(error) => return Err(error),
        }
    }
    Ok(())
}

async fn dispatch<E: Executor>(client: &ExecutorClient, executor: &mut E, event: Event) {
    match event.r#type() {
        event::Type::Subscribed => {
            if let Some(s) = &event.subscribed {
                executor.subscribed(client, s).await;
            }
        }
        event::Type::Launch => {
            if let Some(l) = event.launch {
                executor.launch(client, l.task).await;
            }
        }
        event::Type::LaunchGroup => {
            if let Some(l) = event.launch_group {
                executor.launch_group(client, l.task_group).await;
            }
        }
        event::Type::Kill => {
            if let Some(k) = event.kill {
                executor.kill(client, k.task_id, k.kill_policy).await;
            }
        }
        event::Type::Acknowledged => {
            if let Some(a) = event.acknowledged {
                executor.acknowledged(client, a.task_id, a.uuid).await;
            }
        }
        event::Type::Message => {
            if let Some(m) = event.message {
                executor.message(client, m.data).await;
            }
        }
        event::Type::Shutdown => executor.shutdown(client).await,
        event::Type::Error => {
            let message = event.error.map(|e| e.message).unwrap_or_default();
            executor.error(client, message).await;
        }
        event::Type::Heartbeat => executor.heartbeat(client).await,
        event::Type::Unknown => tracing::debug!("ignoring executor event of unknown type"),
    }
}
