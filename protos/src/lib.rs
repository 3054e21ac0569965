//! Mesos v1 types: protobuf (prost, Mesos's field numbers), Mesos-identical JSON, the
//! `Resources` algebra, RecordIO and validation. No I/O, no async.

#[allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/mesos_protos.rs"));
}

/// Generated protobuf types, nested by package (`mesos::v1`, `mesos::v1::scheduler`, ...).
pub use generated::mesos;
/// The `mesos.v1` core types.
pub use generated::mesos::v1;

pub mod json;
pub mod protobuf;
pub mod recordio;
pub mod resources;
pub mod validation;
