//! Reserves disk, creates a persistent volume on it, then destroys the volume and
//! unreserves the disk, following each operation through its feedback.
//!
//! ```text
//! cargo run -p mesos-scheduler --example reserve_and_create -- \
//!     --master 127.0.0.1:5050 [--role storage] [--disk 64] [--json]
//! ```
//!
//! Every operation carries an id, so the master reports it with UPDATE_OPERATION_STATUS;
//! the example acknowledges each update that has a uuid (explicitly, to show the call),
//! then reconciles its operations (answers come as events without uuid) and exits 0 once
//! RESERVE, CREATE, DESTROY and UNRESERVE all reached OPERATION_FINISHED.

use std::process::ExitCode;
use std::time::Duration;

use mesos_scheduler::operations::{self as ops, OperationUpdate};
use mesos_scheduler::scheduler::{self, AckMode, Client, Config, Scheduler};
use mesos_scheduler::v1::scheduler::{call, event};
use mesos_scheduler::v1::{
    framework_info, Filters, FrameworkInfo, Offer, OperationId, OperationState, OperationStatus,
    Resource,
};
use mesos_scheduler::{ContentType, Error};

/// The framework's principal (reservations and volumes are made in its name).
const PRINCIPAL: &str = "reserve-and-create";
/// The persistence id of the volume.
const VOLUME_ID: &str = "example-volume";

/// How the run ended: each operation id with its final state, in the order they ended.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    /// `(operation id, final state)`.
    pub finished: Vec<(String, OperationState)>,
    /// Answers to RECONCILE_OPERATIONS: `(operation id, state)`.
    pub reconciled: Vec<(String, OperationState)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Waiting for an offer with enough unreserved disk.
    Reserve,
    /// RESERVE and CREATE sent; waiting for both to finish.
    Creating,
    /// Waiting for an offer that holds the volume.
    Destroy,
    /// DESTROY and UNRESERVE sent.
    Destroying,
    /// Reconciling; done when the answers are in.
    Reconciling,
}

struct ReserveAndCreate {
    role: String,
    disk: f64,
    phase: Phase,
    summary: Summary,
}

fn no_filter() -> Option<Filters> {
    Some(Filters {
        refuse_seconds: Some(0.0),
    })
}

fn unreserved_disk(offer: &Offer) -> f64 {
    offer
        .resources
        .iter()
        .filter(|r| r.name == "disk" && r.reservations.is_empty() && r.disk.is_none())
        .filter_map(|r| r.scalar.as_ref().map(|s| s.value))
        .sum()
}

fn find_volume(offer: &Offer) -> Option<Resource> {
    offer
        .resources
        .iter()
        .find(|r| {
            r.disk
                .as_ref()
                .and_then(|d| d.persistence.as_ref())
                .is_some_and(|p| p.id == VOLUME_ID)
        })
        .cloned()
}

impl ReserveAndCreate {
    fn operations_done(&self, ids: &[&str]) -> bool {
        ids.iter()
            .all(|id| self.summary.finished.iter().any(|(f, _)| f == id))
    }

    fn all_finished(&self) -> bool {
        self.summary
            .finished
            .iter()
            .all(|(_, s)| *s == OperationState::OperationFinished)
    }

    async fn first_offer(&mut self, client: &Client, offer: Offer) -> Result<(), Error> {
        if unreserved_disk(&offer) < self.disk {
            return client.decline(vec![offer.id], no_filter()).await;
        }
        let disk = ops::scalar("disk", self.disk, &self.role);
        let reserved = ops::dynamically_reserved(&disk, &self.role, Some(PRINCIPAL));
        let mut half = reserved.clone();
        if let Some(s) = half.scalar.as_mut() {
            s.value = (self.disk / 2.0).floor();
        }
        let volume = ops::persistent_volume(&half, VOLUME_ID, "data", Some(PRINCIPAL));
        println!(
            "reserving {} MB of disk for {} and creating a volume on half of it",
            self.disk, self.role
        );
        self.phase = Phase::Creating;
        client
            .accept(
                vec![offer.id],
                vec![
                    ops::reserve("reserve-disk", vec![reserved]),
                    ops::create("create-volume", vec![volume]),
                ],
                no_filter(),
            )
            .await
    }

    async fn volume_offer(&mut self, client: &Client, offer: Offer) -> Result<(), Error> {
        let Some(volume) = find_volume(&offer) else {
            return client.decline(vec![offer.id], no_filter()).await;
        };
        println!(
            "offered the volume on {}: destroying it and unreserving the disk",
            offer.hostname
        );
        let mut whole = ops::dynamically_reserved(
            &ops::scalar("disk", self.disk, &self.role),
            &self.role,
            Some(PRINCIPAL),
        );
        whole.allocation_info.clone_from(&volume.allocation_info);
        self.phase = Phase::Destroying;
        client
            .accept(
                vec![offer.id],
                vec![
                    ops::destroy("destroy-volume", vec![volume]),
                    ops::unreserve("unreserve-disk", vec![whole]),
                ],
                no_filter(),
            )
            .await
    }
}

impl Scheduler for ReserveAndCreate {
    async fn subscribed(&mut self, _client: &Client, subscribed: &event::Subscribed) {
        println!("subscribed as {}", subscribed.framework_id.value);
    }

    async fn offers(&mut self, client: &Client, offers: Vec<Offer>) {
        for offer in offers {
            let id = offer.id.value.clone();
            let result = match self.phase {
                Phase::Reserve => self.first_offer(client, offer).await,
                Phase::Destroy => self.volume_offer(client, offer).await,
                _ => client.decline(vec![offer.id], no_filter()).await,
            };
            if let Err(error) = result {
                eprintln!("answering offer {id} failed: {error}");
            }
        }
    }

    async fn update_operation_status(&mut self, client: &Client, status: &OperationStatus) {
        let update = OperationUpdate::from_status(status);
        let id = update.operation_id.clone().unwrap_or_default();
        println!(
            "operation {id}: {}{}",
            update.state.as_str_name(),
            update
                .message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        );
        if update.needs_acknowledgement() {
            if let Err(error) = client.acknowledge_operation_update(status).await {
                eprintln!("acknowledging {id} failed: {error}");
            }
        }
        if self.phase == Phase::Reconciling {
            self.summary.reconciled.push((id, update.state));
            if self.summary.reconciled.len() >= 2 {
                client.stop();
            }
            return;
        }
        if update.is_terminal() {
            self.summary.finished.push((id, update.state));
        }
        if !self.all_finished() {
            client.stop();
            return;
        }
        if self.phase == Phase::Creating && self.operations_done(&["reserve-disk", "create-volume"])
        {
            self.phase = Phase::Destroy;
        }
        if self.phase == Phase::Destroying
            && self.operations_done(&["destroy-volume", "unreserve-disk"])
        {
            // Ask about one operation the master knows nothing about (any more) and one it
            // never heard of: both answer OPERATION_UNKNOWN, without uuid.
            self.phase = Phase::Reconciling;
            let req = |id: &str| call::reconcile_operations::Operation {
                operation_id: OperationId { value: id.into() },
                agent_id: status.agent_id.clone(),
                resource_provider_id: None,
            };
            if let Err(error) = client
                .reconcile_operations(vec![req("unreserve-disk"), req("never-sent")])
                .await
            {
                eprintln!("reconciling failed: {error}");
                client.stop();
            }
        }
    }

    async fn error(&mut self, _client: &Client, message: String) {
        eprintln!("master error: {message}");
    }
}

/// Runs the example with `config` (its ack mode is set to explicit) for `role`, reserving
/// `disk` MB.
pub async fn reserve_and_create(
    mut config: Config,
    role: &str,
    disk: f64,
) -> Result<Summary, Error> {
    config.ack_mode = AckMode::Explicit;
    let mut scheduler = ReserveAndCreate {
        role: role.to_string(),
        disk,
        phase: Phase::Reserve,
        summary: Summary::default(),
    };
    scheduler::run(config, &mut scheduler).await?;
    Ok(scheduler.summary)
}

/// The framework this example registers as (MULTI_ROLE in `role`).
pub fn framework_info(role: &str) -> FrameworkInfo {
    let caps = [
        framework_info::capability::Type::MultiRole,
        framework_info::capability::Type::ReservationRefinement,
    ];
    FrameworkInfo {
        user: std::env::var("USER").unwrap_or_else(|_| "root".into()),
        name: "reserve_and_create example (Rust)".into(),
        roles: vec![role.into()],
        principal: Some(PRINCIPAL.into()),
        failover_timeout: Some(Duration::from_secs(60).as_secs_f64()),
        capabilities: caps
            .iter()
            .map(|c| framework_info::Capability {
                r#type: Some(*c as i32),
            })
            .collect(),
        ..Default::default()
    }
}

fn main() -> ExitCode {
    let mut master = "127.0.0.1:5050".to_string();
    let mut role = "storage".to_string();
    let mut disk = 64.0;
    let mut content_type = ContentType::Protobuf;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--master" => master = args.next().unwrap_or(master),
            "--role" => role = args.next().unwrap_or(role),
            "--disk" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => disk = n,
                None => {
                    eprintln!("--disk needs a number of MB");
                    return ExitCode::from(2);
                }
            },
            "--json" => content_type = ContentType::Json,
            other => {
                eprintln!("unknown argument {other:?}; see the file's doc comment");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = Config::new([master], framework_info(&role)).with_content_type(content_type);
    match runtime.block_on(reserve_and_create(config, &role, disk)) {
        Ok(summary)
            if summary.finished.len() == 4
                && summary
                    .finished
                    .iter()
                    .all(|(_, s)| *s == OperationState::OperationFinished) =>
        {
            println!("all operations finished: {:?}", summary.finished);
            ExitCode::SUCCESS
        }
        Ok(summary) => {
            eprintln!("operations did not all finish: {:?}", summary.finished);
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("driver failed: {error}");
            ExitCode::FAILURE
        }
    }
}
