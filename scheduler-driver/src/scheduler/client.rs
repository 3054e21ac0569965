//! The handle frameworks send calls with (reference §2.4): one method per call type, each a
//! separate POST to the leader carrying the live `Mesos-Stream-Id`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mesos_protos::v1::scheduler::{call, Call};
use mesos_protos::v1::{
    offer, AgentId, ExecutorId, Filters, FrameworkId, KillPolicy, OfferId, OperationId,
    OperationStatus, Request, ResourceProviderId, TaskId, TaskStatus,
};
use reqwest::Url;

use super::driver::Shared;
use crate::error::Error;

/// Sends calls on the driver's current subscription. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    /// Set for the copy handed to [`super::Scheduler`] callbacks: `stop` then only records the
    /// wish, and the runner stops once the callback and its implicit acknowledgement are done.
    deferred_stop: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.shared.state.lock();
        f.debug_struct("Client")
            .field("leader", &st.leader.as_ref().map(Url::as_str))
            .field("framework_id", &st.framework_id)
            .field("subscribed", &st.subscribed)
            .finish()
    }
}

fn call_of(kind: call::Type) -> Call {
    Call {
        r#type: Some(kind as i32),
        ..Call::default()
    }
}

impl Client {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Client {
            shared,
            deferred_stop: None,
        }
    }

    /// A copy whose `stop` is deferred through `flag` (see the field's doc).
    pub(crate) fn with_deferred_stop(&self, flag: Arc<AtomicBool>) -> Self {
        Client {
            shared: self.shared.clone(),
            deferred_stop: Some(flag),
        }
    }

    /// The framework id the master assigned (or the one configured), if known.
    pub fn framework_id(&self) -> Option<FrameworkId> {
        self.shared.state.lock().framework_id.clone()
    }

    /// The `Mesos-Stream-Id` of the live subscription.
    pub fn stream_id(&self) -> Option<String> {
        self.shared.state.lock().stream_id.clone()
    }

    /// The master the live (or last) subscription went to.
    pub fn leader(&self) -> Option<Url> {
        self.shared.state.lock().leader.clone()
    }

    /// True between SUBSCRIBED and the end of that stream.
    pub fn is_subscribed(&self) -> bool {
        self.shared.state.lock().subscribed
    }

    /// Stops the driver: the stream closes and the event stream ends. Idempotent. Called from
    /// a [`super::Scheduler`] callback, it takes effect once that callback (and the implicit
    /// acknowledgement of its update) is done.
    pub fn stop(&self) {
        match &self.deferred_stop {
            Some(flag) => flag.store(true, Ordering::SeqCst),
            None => {
                self.shared.shutdown.send_replace(true);
            }
        }
    }

    /// Sends any call; `framework_id` is filled in when absent. `202` is success.
    pub async fn call(&self, mut call: Call) -> Result<(), Error> {
        let name = call.r#type().as_str_name();
        let (url, stream_id, framework_id) = {
            let st = self.shared.state.lock();
            match (&st.leader, &st.stream_id, &st.framework_id, st.subscribed) {
                (Some(u), Some(s), Some(f), true) => (u.clone(), s.clone(), f.clone()),
                _ => return Err(Error::NotSubscribed { call: name }),
            }
        };
        if call.framework_id.is_none() {
            call.framework_id = Some(framework_id);
        }
        self.shared
            .transport
            .post_call(&url, &call, Some(&stream_id))
            .await
    }

    /// ACCEPT: uses `offer_ids` for `operations` (LAUNCH, LAUNCH_GROUP, RESERVE, ...).
    pub async fn accept(
        &self,
        offer_ids: Vec<OfferId>,
        operations: Vec<offer::Operation>,
        filters: Option<Filters>,
    ) -> Result<(), Error> {
        let mut c = call_of(call::Type::Accept);
        c.accept = Some(call::Accept {
            offer_ids,
            operations,
            filters,
        });
        self.call(c).await
    }

    /// DECLINE: returns offers; `filters.refuse_seconds` keeps them away that long.
    pub async fn decline(
        &self,
        offer_ids: Vec<OfferId>,
        filters: Option<Filters>,
    ) -> Result<(), Error> {
        let mut c = call_of(call::Type::Decline);
        c.decline = Some(call::Decline { offer_ids, filters });
        self.call(c).await
    }

    /// ACCEPT_INVERSE_OFFERS.
    pub async fn accept_inverse_offers(
        &self,
        inverse_offer_ids: Vec<OfferId>,
        filters: Option<Filters>,
    ) -> Result<(), Error> {
        let mut c = call_of(call::Type::AcceptInverseOffers);
        c.accept_inverse_offers = Some(call::AcceptInverseOffers {
            inverse_offer_ids,
            filters,
        });
        self.call(c).await
    }

    /// DECLINE_INVERSE_OFFERS.
    pub async fn decline_inverse_offers(
        &self,
        inverse_offer_ids: Vec<OfferId>,
        filters: Option<Filters>,
    ) -> Result<(), Error> {
        let mut c = call_of(call::Type::DeclineInverseOffers);
        c.decline_inverse_offers = Some(call::DeclineInverseOffers {
            inverse_offer_ids,
            filters,
        });
        self.call(c).await
    }

    /// REVIVE: clears filters and unsuppresses `roles` (empty = all roles).
    pub async fn revive(&self, roles: Vec<String>) -> Result<(), Error> {
        let mut c = call_of(call::Type::Revive);
        c.revive = Some(call::Revive { roles });
        self.call(c).await
    }

    /// SUPPRESS: stops offers for `roles` (empty = all roles).
    pub async fn suppress(&self, roles: Vec<String>) -> Result<(), Error> {
        let mut c = call_of(call::Type::Suppress);
        c.suppress = Some(call::Suppress { roles });
        self.call(c).await
    }

    /// KILL a task, optionally overriding its kill policy.
    pub async fn kill(
        &self,
        task_id: TaskId,
        agent_id: Option<AgentId>,
        kill_policy: Option<KillPolicy>,
    ) -> Result<(), Error> {
        let mut c = call_of(call::Type::Kill);
        c.kill = Some(call::Kill {
            task_id,
            agent_id,
            kill_policy,
        });
        self.call(c).await
    }

    /// SHUTDOWN an executor.
    pub async fn shutdown(&self, executor_id: ExecutorId, agent_id: AgentId) -> Result<(), Error> {
        let mut c = call_of(call::Type::Shutdown);
        c.shutdown = Some(call::Shutdown {
            executor_id,
            agent_id,
        });
        self.call(c).await
    }

    /// ACKNOWLEDGE a task status update by its uuid.
    pub async fn acknowledge(
        &self,
        agent_id: AgentId,
        task_id: TaskId,
        uuid: Vec<u8>,
    ) -> Result<(), Error> {
        let mut c = call_of(call::Type::Acknowledge);
        c.acknowledge = Some(call::Acknowledge {
            agent_id,
            task_id,
            uuid,
        });
        self.call(c).await
    }

    /// Acknowledges `status` if it needs it (has a uuid and an agent id); returns whether an
    /// ACKNOWLEDGE was sent.
    pub async fn acknowledge_update(&self, status: &TaskStatus) -> Result<bool, Error> {
        match (&status.uuid, &status.agent_id) {
            (Some(uuid), Some(agent_id)) => {
                self.acknowledge(agent_id.clone(), status.task_id.clone(), uuid.clone())
                    .await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// ACKNOWLEDGE_OPERATION_STATUS.
    pub async fn acknowledge_operation_status(
        &self,
        agent_id: Option<AgentId>,
        resource_provider_id: Option<ResourceProviderId>,
        operation_id: OperationId,
        uuid: Vec<u8>,
    ) -> Result<(), Error> {
        let mut c = call_of(call::Type::AcknowledgeOperationStatus);
        c.acknowledge_operation_status = Some(call::AcknowledgeOperationStatus {
            agent_id,
            resource_provider_id,
            uuid,
            operation_id,
        });
        self.call(c).await
    }

    /// Acknowledges an operation status if it carries a uuid (`status.uuid.value`); returns
    /// whether an acknowledgement was sent.
    pub async fn acknowledge_operation_update(
        &self,
        status: &OperationStatus,
    ) -> Result<bool, Error> {
        match (&status.uuid, &status.operation_id) {
            (Some(uuid), Some(operation_id)) => {
                self.acknowledge_operation_status(
                    status.agent_id.clone(),
                    status.resource_provider_id.clone(),
                    operation_id.clone(),
                    uuid.value.clone(),
                )
                .await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// RECONCILE the given tasks (explicit); an empty list asks about all tasks (implicit).
    pub async fn reconcile(&self, tasks: Vec<(TaskId, Option<AgentId>)>) -> Result<(), Error> {
        let mut c = call_of(call::Type::Reconcile);
        c.reconcile = Some(call::Reconcile {
            tasks: tasks
                .into_iter()
                .map(|(task_id, agent_id)| call::reconcile::Task { task_id, agent_id })
                .collect(),
        });
        self.call(c).await
    }

    /// Implicit RECONCILE: the master answers with the latest state of every known task.
    pub async fn reconcile_all(&self) -> Result<(), Error> {
        self.reconcile(Vec::new()).await
    }

    /// RECONCILE_OPERATIONS (empty = all); answers arrive as UPDATE_OPERATION_STATUS events.
    pub async fn reconcile_operations(
        &self,
        operations: Vec<call::reconcile_operations::Operation>,
    ) -> Result<(), Error> {
        let mut c = call_of(call::Type::ReconcileOperations);
        c.reconcile_operations = Some(call::ReconcileOperations { operations });
        self.call(c).await
    }

    /// MESSAGE: opaque bytes to an executor (unreliable).
    pub async fn message(
        &self,
        agent_id: AgentId,
        executor_id: ExecutorId,
        data: Vec<u8>,
    ) -> Result<(), Error> {
        let mut c = call_of(call::Type::Message);
        c.message = Some(call::Message {
            agent_id,
            executor_id,
            data,
        });
        self.call(c).await
    }

    /// REQUEST resources (ignored by the default allocator).
    pub async fn request(&self, requests: Vec<Request>) -> Result<(), Error> {
        let mut c = call_of(call::Type::Request);
        c.request = Some(call::Request { requests });
        self.call(c).await
    }

    /// TEARDOWN: removes the framework (its tasks are killed) and stops the driver.
    pub async fn teardown(&self) -> Result<(), Error> {
        let result = self.call(call_of(call::Type::Teardown)).await;
        self.stop();
        result
    }
}
