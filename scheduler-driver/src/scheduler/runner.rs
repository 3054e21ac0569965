//! The `Scheduler` callback trait and the loop that drives it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use mesos_protos::v1::scheduler::{event, Event};
use mesos_protos::v1::{
    AgentId, ExecutorId, InverseOffer, Offer, OfferId, OperationStatus, TaskStatus,
};

use super::{connect, AckMode, Client, Config, DriverEvent, Events};
use crate::error::Error;

/// Callbacks for scheduler events. Every method has a do-nothing default; the `client`
/// argument issues calls (and [`Client::stop`] ends [`run`]).
pub trait Scheduler: Send {
    /// SUBSCRIBED (also after every re-subscription).
    fn subscribed(
        &mut self,
        _client: &Client,
        _subscribed: &event::Subscribed,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// OFFERS.
    fn offers(&mut self, _client: &Client, _offers: Vec<Offer>) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// INVERSE_OFFERS.
    fn inverse_offers(
        &mut self,
        _client: &Client,
        _inverse_offers: Vec<InverseOffer>,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// RESCIND of an offer.
    fn rescind(&mut self, _client: &Client, _offer_id: OfferId) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// RESCIND_INVERSE_OFFER.
    fn rescind_inverse_offer(
        &mut self,
        _client: &Client,
        _inverse_offer_id: OfferId,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// UPDATE of a task; acknowledged after this returns in [`AckMode::Implicit`].
    fn update(
        &mut self,
        _client: &Client,
        _status: &TaskStatus,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// UPDATE_OPERATION_STATUS; acknowledged after this returns in [`AckMode::Implicit`].
    fn update_operation_status(
        &mut self,
        _client: &Client,
        _status: &OperationStatus,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// MESSAGE from an executor.
    fn message(
        &mut self,
        _client: &Client,
        _agent_id: AgentId,
        _executor_id: ExecutorId,
        _data: Vec<u8>,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// FAILURE: an agent was removed or an executor exited.
    fn failure(
        &mut self,
        _client: &Client,
        _failure: event::Failure,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// ERROR: the master ended the subscription for good; [`run`] returns afterwards.
    fn error(&mut self, _client: &Client, _message: String) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// HEARTBEAT (the watchdog is handled by the driver).
    fn heartbeat(&mut self, _client: &Client) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// The subscription was lost; the driver is reconnecting.
    fn disconnected(
        &mut self,
        _client: &Client,
        _error: &Error,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Connects with `config` and drives `scheduler` until [`Client::stop`] (`Ok`) or the driver
/// gives up (`Err`, e.g. [`Error::Mesos`] after an ERROR event).
pub async fn run<S: Scheduler>(config: Config, scheduler: &mut S) -> Result<(), Error> {
    let ack_mode = config.ack_mode;
    let (client, events) = connect(config)?;
    run_with(&client, events, scheduler, ack_mode).await
}

/// Drives `scheduler` with events from an existing driver.
pub async fn run_with<S: Scheduler>(
    client: &Client,
    mut events: Events,
    scheduler: &mut S,
    ack_mode: AckMode,
) -> Result<(), Error> {
    let original = client;
    let stop = Arc::new(AtomicBool::new(false));
    let callback_client = client.with_deferred_stop(stop.clone());
    let client = &callback_client;
    let mut connected = false;
    while let Some(item) = events.next().await {
        match item {
            DriverEvent::Event(event) => {
                if event.r#type() == event::Type::Subscribed {
                    connected = true;
                }
                dispatch(client, scheduler, *event, ack_mode).await;
                if stop.load(Ordering::SeqCst) {
                    original.stop();
                    return Ok(());
                }
            }
            DriverEvent::Disconnected { error, .. } => {
                if connected {
                    connected = false;
                    scheduler.disconnected(client, &error).await;
                    if stop.load(Ordering::SeqCst) {
                        original.stop();
                        return Ok(());
                    }
                }
            }
            DriverEvent::Failed(error) => return Err(error),
        }
    }
    Ok(())
}

async fn dispatch<S: Scheduler>(client: &Client, scheduler: &mut S, event: Event, ack: AckMode) {
    match event.r#type() {
        event::Type::Subscribed => {
            if let Some(s) = &event.subscribed {
                scheduler.subscribed(client, s).await;
            }
        }
        event::Type::Offers => {
            let offers = event.offers.map(|o| o.offers).unwrap_or_default();
            scheduler.offers(client, offers).await;
        }
        event::Type::InverseOffers => {
            let offers = event
                .inverse_offers
                .map(|o| o.inverse_offers)
                .unwrap_or_default();
            scheduler.inverse_offers(client, offers).await;
        }
        event::Type::Rescind => {
            if let Some(r) = event.rescind {
                scheduler.rescind(client, r.offer_id).await;
            }
        }
        event::Type::RescindInverseOffer => {
            if let Some(r) = event.rescind_inverse_offer {
                scheduler
                    .rescind_inverse_offer(client, r.inverse_offer_id)
                    .await;
            }
        }
        event::Type::Update => {
            if let Some(u) = event.update {
                scheduler.update(client, &u.status).await;
                if ack == AckMode::Implicit {
                    if let Err(error) = client.acknowledge_update(&u.status).await {
                        tracing::warn!(%error, task = %u.status.task_id.value, "implicit acknowledgement failed");
                    }
                }
            }
        }
        event::Type::UpdateOperationStatus => {
            if let Some(u) = event.update_operation_status {
                scheduler.update_operation_status(client, &u.status).await;
                if ack == AckMode::Implicit {
                    if let Err(error) = client.acknowledge_operation_update(&u.status).await {
                        tracing::warn!(%error, "implicit operation acknowledgement failed");
                    }
                }
            }
        }
        event::Type::Message => {
            if let Some(m) = event.message {
                scheduler
                    .message(client, m.agent_id, m.executor_id, m.data)
                    .await;
            }
        }
        event::Type::Failure => {
            if let Some(f) = event.failure {
                scheduler.failure(client, f).await;
            }
        }
        event::Type::Error => {
            let message = event.error.map(|e| e.message).unwrap_or_default();
            scheduler.error(client, message).await;
        }
        event::Type::Heartbeat => scheduler.heartbeat(client).await,
        event::Type::Unknown => {
            tracing::debug!("ignoring scheduler event of unknown type");
        }
    }
}
