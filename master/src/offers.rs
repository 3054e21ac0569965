//! Building the `Offer` a framework sees from an allocation.

use mesos_protos::resources::{convert_resources_format, ResourceFormat, Resources};
use mesos_protos::v1;
use mesos_protos::v1::framework_info::capability::Type as Capability;

use crate::state::{Agent, Framework, OfferEntry};

/// Builds the offer of `resources` (allocated to `role`) on `agent` for `framework`.
///
/// The wire form follows the framework's capabilities: without MULTI_ROLE the
/// `allocation_info` is stripped from the offer and its resources; without
/// RESERVATION_REFINEMENT resources use the pre-refinement `role`/`reservation` fields.
/// Refined reservations cannot be shown to such a framework, so they are left out.
pub fn build_offer(
    offer_id: String,
    framework: &Framework,
    agent: &Agent,
    role: &str,
    resources: &Resources,
    now: f64,
) -> OfferEntry {
    let multi_role = framework.has_capability(Capability::MultiRole);
    let refinement = framework.has_capability(Capability::ReservationRefinement);
    let mut held = resources.clone();
    held.allocate(role);
    let mut shown = held.clone();
    if !refinement {
        shown = shown.filter(|r| r.reservations().len() <= 1);
    }
    if !multi_role {
        shown.unallocate();
    }
    let mut list = shown.to_vec();
    if !refinement {
        // Entries with one reservation layer always convert; others were left out.
        let _ = convert_resources_format(&mut list, ResourceFormat::PreReservationRefinement);
    }
    let mut executor_ids: Vec<v1::ExecutorId> = framework
        .executors
        .get(&agent.id)
        .into_iter()
        .flat_map(|m| m.values().map(|e| e.executor_id.clone()))
        .collect();
    executor_ids.sort_by(|a, b| a.value.cmp(&b.value));

    let offer = v1::Offer {
        id: v1::OfferId { value: offer_id },
        framework_id: v1::FrameworkId {
            value: framework.id.clone(),
        },
        agent_id: v1::AgentId {
            value: agent.id.clone(),
        },
        hostname: agent.info.hostname.clone(),
        url: Some(agent_url(agent)),
        domain: agent.info.domain.clone(),
        resources: list,
        attributes: agent.info.attributes.clone(),
        executor_ids,
        allocation_info: multi_role.then(|| v1::resource::AllocationInfo {
            role: Some(role.to_owned()),
        }),
        unavailability: None,
    };
    OfferEntry {
        offer,
        resources: held,
        role: role.to_owned(),
        created: now,
    }
}

/// The agent's URL as Mesos puts it in offers: `http://<ip>:<port>/<id>` from its pid.
pub fn agent_url(agent: &Agent) -> v1::Url {
    let (id, addr) = agent.pid.split_once('@').unwrap_or(("slave(1)", ""));
    let (ip, port) = addr.rsplit_once(':').unwrap_or((addr, "5051"));
    v1::Url {
        scheme: "http".into(),
        address: v1::Address {
            hostname: Some(agent.info.hostname.clone()),
            ip: Some(ip.to_owned()),
            port: port.parse().unwrap_or(5051),
        },
        path: Some(format!("/{id}")),
        query: Vec::new(),
        fragment: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn single_role_frameworks_get_plain_resources() {
        let mut s = master_state();
        let fid = s.add_framework(framework_info("fw", &[]), http("s"), 1.0);
        s.add_agent(agent("m-S0", "cpus:4;mem:1024"));
        let r = Resources::from_resources(&res("cpus:2;mem:512"));
        let e = build_offer(
            "m-O0".into(),
            &s.frameworks[&fid],
            &s.agents.registered["m-S0"],
            "*",
            &r,
            3.0,
        );
        assert!(e.offer.allocation_info.is_none());
        assert!(e
            .offer
            .resources
            .iter()
            .all(|r| r.allocation_info.is_none()));
        #[allow(deprecated)]
        let roles: Vec<_> = e.offer.resources.iter().map(|r| r.role.clone()).collect();
        assert!(roles.iter().all(|r| r.as_deref() == Some("*")));
        // The master keeps the allocated form to match ACCEPTs against.
        assert!(e.resources.iter().all(|r| r.allocation_role() == Some("*")));
        assert_eq!(e.offer.hostname, "host-m-S0");
        let url = e.offer.url.unwrap();
        assert_eq!(url.path.as_deref(), Some("/slave(1)"));
        assert_eq!(url.address.ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(url.address.port, 5051);
    }

    #[test]
    fn multi_role_frameworks_see_allocation_info() {
        let mut s = master_state();
        let mut info = framework_info("fw", &[MULTI_ROLE]);
        info.roles = vec!["web".into()];
        let fid = s.add_framework(info, http("s"), 1.0);
        s.add_agent(agent("m-S0", "cpus:4;mem:1024"));
        let r = Resources::from_resources(&res("cpus:2"));
        let e = build_offer(
            "m-O0".into(),
            &s.frameworks[&fid],
            &s.agents.registered["m-S0"],
            "web",
            &r,
            3.0,
        );
        assert_eq!(
            e.offer.allocation_info.unwrap().role.as_deref(),
            Some("web")
        );
        assert!(e.offer.resources.iter().all(|r| r
            .allocation_info
            .as_ref()
            .and_then(|a| a.role.as_deref())
            == Some("web")));
    }
}
