//! Identifiers the master hands out: `<masterid>-<NNNN>` frameworks, `<masterid>-S<n>`
//! agents, `<masterid>-O<n>` offers. The master id is new for every master process, so
//! counters start at zero without colliding with a previous leader's ids.

/// Hands out framework, agent and offer ids under one master id.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    master_id: String,
    next_framework: u64,
    next_agent: u64,
    next_offer: u64,
}

impl IdGenerator {
    /// Counters at zero under `master_id`.
    pub fn new(master_id: impl Into<String>) -> Self {
        IdGenerator {
            master_id: master_id.into(),
            next_framework: 0,
            next_agent: 0,
            next_offer: 0,
        }
    }

    /// A fresh random master id (a UUID string), as Mesos uses.
    pub fn random_master_id() -> String {
        uuid::Uuid::new_v4().to_string()
    }

    /// The master id.
    pub fn master_id(&self) -> &str {
        &self.master_id
    }

    /// The next framework id, `<masterid>-0000`, `<masterid>-0001`, ...
    pub fn framework(&mut self) -> String {
        let n = self.next_framework;
        self.next_framework += 1;
        format!("{}-{:04}", self.master_id, n)
    }

    /// The next agent id, `<masterid>-S0`, `<masterid>-S1`, ...
    pub fn agent(&mut self) -> String {
        let n = self.next_agent;
        self.next_agent += 1;
        format!("{}-S{}", self.master_id, n)
    }

    /// The next offer id, `<masterid>-O0`, `<masterid>-O1`, ...
    pub fn offer(&mut self) -> String {
        let n = self.next_offer;
        self.next_offer += 1;
        format!("{}-O{}", self.master_id, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_mesos_patterns() {
        let mut ids = IdGenerator::new("m1");
        assert_eq!(ids.framework(), "m1-0000");
        assert_eq!(ids.framework(), "m1-0001");
        assert_eq!(ids.agent(), "m1-S0");
        assert_eq!(ids.agent(), "m1-S1");
        assert_eq!(ids.offer(), "m1-O0");
        assert_eq!(ids.offer(), "m1-O1");
        for _ in 0..20_000 {
            ids.framework();
        }
        assert_eq!(ids.framework(), "m1-20002");
    }

    #[test]
    fn random_master_ids_are_uuids_and_differ() {
        let a = IdGenerator::random_master_id();
        let b = IdGenerator::random_master_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }
}
