//! Mesos v1 types (issue 3).

/// Generated protobuf types, by package.
pub mod mesos {
    /// `mesos.v1`
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/mesos.v1.rs"));
    }
}
