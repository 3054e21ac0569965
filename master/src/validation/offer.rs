//! Validation of the offer ids in ACCEPT and DECLINE.

use std::collections::HashSet;

use super::{Invalid, Result};
use crate::state::MasterState;

/// The agent and role that all validated offers share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferTarget {
    /// The one agent the offers are on.
    pub agent_id: String,
    /// The one role the offers are allocated to.
    pub role: String,
}

/// Checks Mesos's offer rules in order: unique ids, offers still outstanding, owned by
/// the framework, one allocation role, one agent (connected and registered).
pub fn validate_offers(
    offer_ids: &[String],
    state: &MasterState,
    framework_id: &str,
) -> Result<OfferTarget> {
    let mut seen = HashSet::new();
    for id in offer_ids {
        if !seen.insert(id.as_str()) {
            return Err(Invalid::new(format!("Duplicate offer {id} in offer list")));
        }
    }
    for id in offer_ids {
        if !state.offers.contains_key(id) {
            return Err(Invalid::new(format!("Offer {id} is no longer valid")));
        }
    }
    let mut target: Option<OfferTarget> = None;
    for id in offer_ids {
        let Some(entry) = state.offers.get(id) else {
            return Err(Invalid::new(format!("Offer {id} is no longer valid")));
        };
        let owner = &entry.offer.framework_id.value;
        if owner != framework_id {
            return Err(Invalid::new(format!(
                "Offer {id} has invalid framework {owner} while framework {framework_id} is \
                 expected"
            )));
        }
    }
    for id in offer_ids {
        let entry = &state.offers[id];
        match &target {
            None => {
                target = Some(OfferTarget {
                    agent_id: entry.offer.agent_id.value.clone(),
                    role: entry.role.clone(),
                })
            }
            Some(t) if t.role != entry.role => {
                return Err(Invalid::new(format!(
                    "Aggregated offers must be allocated to the same role. Offer {id} uses \
                     role '{} but another is using role '{}",
                    entry.role, t.role
                )))
            }
            Some(_) => {}
        }
    }
    for id in offer_ids {
        let entry = &state.offers[id];
        let agent_id = &entry.offer.agent_id.value;
        let registered = state
            .agents
            .registered
            .get(agent_id)
            .is_some_and(|a| a.connected);
        if !registered {
            // An offer never outlives its agent's connection; treat it as stale.
            return Err(Invalid::new(format!("Offer {id} is no longer valid")));
        }
        if let Some(t) = &target {
            if &t.agent_id != agent_id {
                return Err(Invalid::new(format!(
                    "Aggregated offers must belong to one single agent. Offer {id} uses agent \
                     {agent_id} and agent {}",
                    t.agent_id
                )));
            }
        }
    }
    target.ok_or_else(|| Invalid::new("No offers given"))
}
