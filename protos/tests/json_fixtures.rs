//! Golden fixtures (`tests/fixtures/*.json`, each `{"type": <full name>, "value": <JSON>}`):
//! every fixture must round-trip exactly through our typed structs, in JSON and in protobuf,
//! and the JSON-decoded and protobuf-decoded forms must be equal.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mesos_protos::json;
use mesos_protos::mesos::{internal, v1};
use prost::{Message, Name};
use prost_reflect::{DynamicMessage, Kind, ReflectMessage, Value};
use serde_json::Value as Json;

/// A fixture file, loaded.
struct Fixture {
    file: String,
    type_name: String,
    value: Json,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load_fixtures() -> Vec<Fixture> {
    let mut paths: Vec<_> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("read fixture");
            let mut wrapper: Json =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
            let type_name = wrapper["type"]
                .as_str()
                .unwrap_or_else(|| panic!("{file}: no \"type\""))
                .to_string();
            let value = wrapper
                .get_mut("value")
                .map(Json::take)
                .unwrap_or_else(|| panic!("{file}: no \"value\""));
            Fixture {
                file,
                type_name,
                value,
            }
        })
        .collect()
}

/// Paths where two JSON values differ, for readable failures.
fn json_diff(path: &str, a: &Json, b: &Json, out: &mut Vec<String>) {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(l), Some(r)) => json_diff(&p, l, r, out),
                    (Some(l), None) => out.push(format!("{p}: only in fixture: {l}")),
                    (None, Some(r)) => out.push(format!("{p}: only in output: {r}")),
                    (None, None) => {}
                }
            }
        }
        (Json::Array(x), Json::Array(y)) if x.len() == y.len() => {
            for (i, (l, r)) in x.iter().zip(y).enumerate() {
                json_diff(&format!("{path}[{i}]"), l, r, out);
            }
        }
        _ if a != b => out.push(format!("{path}: fixture {a} != output {b}")),
        _ => {}
    }
}

fn expect_same_json(what: &str, fixture: &Json, output: &Json) -> Result<(), String> {
    if fixture == output {
        return Ok(());
    }
    let mut diffs = Vec::new();
    json_diff("", fixture, output, &mut diffs);
    Err(format!("{what}:\n    {}", diffs.join("\n    ")))
}

/// All checks for one fixture through the typed struct `M`.
fn check<M: Message + Name + Default + PartialEq + Clone + std::fmt::Debug>(
    value: &Json,
) -> Result<(), String> {
    let name = M::full_name();
    // 1. JSON → M → JSON is the identity.
    let typed: M = json::from_value(value).map_err(|e| format!("parse: {e}"))?;
    expect_same_json("json round trip", value, &json::to_value(&typed))?;
    let text: Json = serde_json::from_str(&json::to_string(&typed)).map_err(|e| e.to_string())?;
    expect_same_json("to_string round trip", value, &text)?;

    // 2. JSON → M → protobuf → M is the identity, and re-encoding is stable.
    let bytes = typed.encode_to_vec();
    let decoded: M =
        mesos_protos::protobuf::decode_checked(&bytes).map_err(|e| format!("decode: {e}"))?;
    if decoded != typed {
        return Err(format!(
            "protobuf round trip differs:\n{decoded:?}\n!=\n{typed:?}"
        ));
    }
    // Byte equality would be too strict: prost's `HashMap` maps encode in hash order.
    let reencoded = decoded.encode_to_vec();
    if reencoded.len() != bytes.len() || M::decode(reencoded.as_slice()).ok() != Some(typed.clone())
    {
        return Err("protobuf re-encoding differs".into());
    }

    // 3. The protobuf-decoded form renders the fixture too, also through the dynamic path.
    expect_same_json("json of protobuf-decoded", value, &json::to_value(&decoded))?;
    let dynamic_json = json::protobuf_to_value(&name, &bytes).map_err(|e| e.to_string())?;
    expect_same_json("dynamic json of protobuf", value, &dynamic_json)?;

    // 4. JSON decoded by the dynamic path gives the same message as the typed path.
    let dynamic_bytes = json::value_to_protobuf(&name, value).map_err(|e| e.to_string())?;
    let from_dynamic: M = M::decode(dynamic_bytes.as_slice()).map_err(|e| e.to_string())?;
    if from_dynamic != typed {
        return Err("dynamic and typed JSON decoding differ".into());
    }
    Ok(())
}

macro_rules! typed_dispatch {
    ($($t:ty),* $(,)?) => {
        /// Runs [`check`] with the Rust type whose protobuf name is `name`.
        fn check_typed(name: &str, value: &Json) -> Option<Result<(), String>> {
            $(
                if name == <$t as Name>::full_name() {
                    return Some(check::<$t>(value));
                }
            )*
            None
        }
    };
}

typed_dispatch!(
    v1::AgentId,
    v1::ContainerId,
    v1::Value,
    v1::Resource,
    v1::Attribute,
    v1::FrameworkInfo,
    v1::OfferFilters,
    v1::AgentInfo,
    v1::MasterInfo,
    v1::DomainInfo,
    v1::Offer,
    v1::offer::Operation,
    v1::TaskInfo,
    v1::TaskGroupInfo,
    v1::CommandInfo,
    v1::ExecutorInfo,
    v1::ContainerInfo,
    v1::TaskStatus,
    v1::Operation,
    v1::OperationStatus,
    v1::Filters,
    v1::Labels,
    v1::KillPolicy,
    v1::HealthCheck,
    v1::InverseOffer,
    v1::Task,
    v1::scheduler::Call,
    v1::scheduler::Event,
    v1::executor::Call,
    v1::executor::Event,
    v1::master::Call,
    v1::master::Response,
    v1::master::Event,
    v1::agent::Call,
    v1::agent::Response,
    v1::agent::ProcessIo,
    v1::quota::QuotaInfo,
    v1::quota::QuotaRequest,
    v1::quota::QuotaStatus,
    internal::RegisterSlaveMessage,
    internal::StatusUpdateMessage,
    internal::RunTaskGroupMessage,
    internal::SlaveRegisteredMessage,
);

#[test]
fn every_fixture_round_trips() {
    let fixtures = load_fixtures();
    assert!(fixtures.len() >= 25, "only {} fixtures", fixtures.len());
    let mut failures = Vec::new();
    for f in &fixtures {
        match check_typed(&f.type_name, &f.value) {
            Some(Ok(())) => {}
            Some(Err(e)) => failures.push(format!("{} ({}): {e}", f.file, f.type_name)),
            None => failures.push(format!("{}: no typed check for {}", f.file, f.type_name)),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// Every message type reachable in a fixture, by full name.
fn collect_types(message: &DynamicMessage, out: &mut BTreeSet<String>) {
    out.insert(message.descriptor().full_name().to_string());
    for (field, value) in message.fields() {
        if !matches!(field.kind(), Kind::Message(_)) {
            continue;
        }
        let mut visit = |v: &Value| {
            if let Value::Message(m) = v {
                collect_types(m, out);
            }
        };
        match value {
            Value::List(items) => items.iter().for_each(&mut visit),
            Value::Map(entries) => entries.values().for_each(&mut visit),
            other => visit(other),
        }
    }
}

/// Each enum value name reached, as `Enum.NAME`.
fn collect_enum_values(message: &DynamicMessage, out: &mut BTreeSet<String>) {
    for (field, value) in message.fields() {
        let mut visit = |v: &Value| match (field.kind(), v) {
            (Kind::Enum(e), Value::EnumNumber(n)) => {
                if let Some(ev) = e.get_value(*n) {
                    out.insert(format!("{}.{}", e.full_name(), ev.name()));
                }
            }
            (_, Value::Message(m)) => collect_enum_values(m, out),
            _ => {}
        };
        match value {
            Value::List(items) => items.iter().for_each(&mut visit),
            Value::Map(entries) => entries.values().for_each(&mut visit),
            other => visit(other),
        }
    }
}

/// The types issue 3 lists must each appear in at least one fixture (README has the table).
#[test]
fn fixtures_cover_the_issue_types() {
    let mut types = BTreeSet::new();
    let mut enums = BTreeSet::new();
    for f in load_fixtures() {
        let desc = json::message_descriptor(&f.type_name).expect("known type");
        let message = json::parse_dynamic(&desc, &f.value).expect("parses");
        collect_types(&message, &mut types);
        collect_enum_values(&message, &mut enums);
    }
    let required_types = [
        "mesos.v1.FrameworkID",
        "mesos.v1.AgentID",
        "mesos.v1.TaskID",
        "mesos.v1.ExecutorID",
        "mesos.v1.OfferID",
        "mesos.v1.OperationID",
        "mesos.v1.ContainerID",
        "mesos.v1.ResourceProviderID",
        "mesos.v1.Resource",
        "mesos.v1.Value",
        "mesos.v1.Value.Scalar",
        "mesos.v1.Value.Ranges",
        "mesos.v1.Value.Set",
        "mesos.v1.Value.Text",
        "mesos.v1.Resource.ReservationInfo",
        "mesos.v1.Resource.AllocationInfo",
        "mesos.v1.Resource.DiskInfo",
        "mesos.v1.Resource.DiskInfo.Persistence",
        "mesos.v1.Resource.DiskInfo.Source",
        "mesos.v1.Resource.SharedInfo",
        "mesos.v1.Resource.RevocableInfo",
        "mesos.v1.Attribute",
        "mesos.v1.FrameworkInfo",
        "mesos.v1.FrameworkInfo.Capability",
        "mesos.v1.OfferFilters",
        "mesos.v1.AgentInfo",
        "mesos.v1.MasterInfo",
        "mesos.v1.Offer",
        "mesos.v1.Offer.Operation",
        "mesos.v1.Offer.Operation.Launch",
        "mesos.v1.Offer.Operation.LaunchGroup",
        "mesos.v1.Offer.Operation.Reserve",
        "mesos.v1.Offer.Operation.Unreserve",
        "mesos.v1.Offer.Operation.Create",
        "mesos.v1.Offer.Operation.Destroy",
        "mesos.v1.TaskInfo",
        "mesos.v1.TaskGroupInfo",
        "mesos.v1.CommandInfo",
        "mesos.v1.CommandInfo.URI",
        "mesos.v1.Environment",
        "mesos.v1.ExecutorInfo",
        "mesos.v1.ContainerInfo",
        "mesos.v1.ContainerInfo.DockerInfo",
        "mesos.v1.ContainerInfo.MesosInfo",
        "mesos.v1.Volume",
        "mesos.v1.Volume.Source",
        "mesos.v1.Image",
        "mesos.v1.LinuxInfo",
        "mesos.v1.SeccompInfo",
        "mesos.v1.CapabilityInfo",
        "mesos.v1.RLimitInfo",
        "mesos.v1.TTYInfo",
        "mesos.v1.NetworkInfo",
        "mesos.v1.TaskStatus",
        "mesos.v1.ContainerStatus",
        "mesos.v1.Operation",
        "mesos.v1.OperationStatus",
        "mesos.v1.UUID",
        "mesos.v1.Filters",
        "mesos.v1.Labels",
        "mesos.v1.Label",
        "mesos.v1.KillPolicy",
        "mesos.v1.HealthCheck",
        "mesos.v1.CheckInfo",
        "mesos.v1.DomainInfo",
        "mesos.v1.URL",
        "mesos.v1.Address",
        "mesos.v1.Secret",
        "mesos.v1.scheduler.Call",
        "mesos.v1.scheduler.Event",
        "mesos.v1.executor.Call",
        "mesos.v1.executor.Event",
        "mesos.v1.master.Call",
        "mesos.v1.master.Response",
        "mesos.v1.master.Event",
        "mesos.v1.agent.Call",
        "mesos.v1.agent.Response",
        "mesos.v1.quota.QuotaInfo",
        "mesos.v1.quota.QuotaRequest",
        "mesos.v1.quota.QuotaStatus",
        "mesos.internal.RegisterSlaveMessage",
        "mesos.internal.StatusUpdateMessage",
    ];
    let missing: Vec<_> = required_types
        .iter()
        .filter(|t| !types.contains(**t))
        .collect();
    assert!(missing.is_empty(), "types without a fixture: {missing:?}");

    // Several kinds of each API message, and every Offer.Operation kind issue 3 names.
    let required_enum_values = [
        "mesos.v1.Offer.Operation.Type.LAUNCH",
        "mesos.v1.Offer.Operation.Type.LAUNCH_GROUP",
        "mesos.v1.Offer.Operation.Type.RESERVE",
        "mesos.v1.Offer.Operation.Type.UNRESERVE",
        "mesos.v1.Offer.Operation.Type.CREATE",
        "mesos.v1.Offer.Operation.Type.DESTROY",
        "mesos.v1.Resource.ReservationInfo.Type.STATIC",
        "mesos.v1.Resource.ReservationInfo.Type.DYNAMIC",
        "mesos.v1.Value.Type.SCALAR",
        "mesos.v1.Value.Type.RANGES",
        "mesos.v1.Value.Type.SET",
        "mesos.v1.Value.Type.TEXT",
        "mesos.v1.scheduler.Call.Type.SUBSCRIBE",
        "mesos.v1.scheduler.Call.Type.ACCEPT",
        "mesos.v1.scheduler.Call.Type.DECLINE",
        "mesos.v1.scheduler.Call.Type.KILL",
        "mesos.v1.scheduler.Call.Type.ACKNOWLEDGE",
        "mesos.v1.scheduler.Call.Type.ACKNOWLEDGE_OPERATION_STATUS",
        "mesos.v1.scheduler.Call.Type.RECONCILE",
        "mesos.v1.scheduler.Call.Type.REVIVE",
        "mesos.v1.scheduler.Call.Type.SUPPRESS",
        "mesos.v1.scheduler.Event.Type.SUBSCRIBED",
        "mesos.v1.scheduler.Event.Type.OFFERS",
        "mesos.v1.scheduler.Event.Type.UPDATE",
        "mesos.v1.scheduler.Event.Type.UPDATE_OPERATION_STATUS",
        "mesos.v1.scheduler.Event.Type.RESCIND",
        "mesos.v1.scheduler.Event.Type.FAILURE",
        "mesos.v1.scheduler.Event.Type.ERROR",
        "mesos.v1.scheduler.Event.Type.HEARTBEAT",
        "mesos.v1.executor.Call.Type.SUBSCRIBE",
        "mesos.v1.executor.Call.Type.UPDATE",
        "mesos.v1.executor.Event.Type.SUBSCRIBED",
        "mesos.v1.executor.Event.Type.LAUNCH_GROUP",
        "mesos.v1.executor.Event.Type.KILL",
        "mesos.v1.executor.Event.Type.ACKNOWLEDGED",
        "mesos.v1.master.Call.Type.GET_STATE",
        "mesos.v1.master.Call.Type.RESERVE_RESOURCES",
        "mesos.v1.master.Call.Type.SET_QUOTA",
        "mesos.v1.master.Response.Type.GET_STATE",
        "mesos.v1.master.Response.Type.GET_VERSION",
        "mesos.v1.master.Response.Type.GET_QUOTA",
        "mesos.v1.master.Event.Type.TASK_ADDED",
        "mesos.v1.master.Event.Type.TASK_UPDATED",
        "mesos.v1.master.Event.Type.AGENT_ADDED",
        "mesos.v1.agent.Call.Type.LAUNCH_NESTED_CONTAINER_SESSION",
        "mesos.v1.agent.Call.Type.ATTACH_CONTAINER_INPUT",
        "mesos.v1.agent.Response.Type.GET_CONTAINERS",
        "mesos.v1.agent.Response.Type.GET_VERSION",
    ];
    let missing: Vec<_> = required_enum_values
        .iter()
        .filter(|t| !enums.contains(**t))
        .collect();
    assert!(
        missing.is_empty(),
        "enum values without a fixture: {missing:?}"
    );
}
