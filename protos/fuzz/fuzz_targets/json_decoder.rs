//! Feeds arbitrary bytes to the Mesos JSON decoder as a scheduler `Call` (the body of
//! `POST /api/v1/scheduler`): it must never panic, the fast decoder must agree with the
//! reference (descriptor-walking) parser, and whatever is accepted must render and parse
//! back to the same JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesos_protos::json;
use mesos_protos::mesos::v1::scheduler::Call;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        assert!(json::from_slice::<Call>(data).is_err());
        return;
    };
    let fast = json::from_value::<Call>(&value);
    let reference = json::value_to_protobuf("mesos.v1.scheduler.Call", &value);
    assert_eq!(fast.is_ok(), reference.is_ok(), "{fast:?} vs {reference:?}");
    let (Ok(call), Ok(bytes)) = (fast, reference) else {
        return;
    };
    // Compared as JSON values: NaN doubles are equal there (both render as "NaN").
    let from_reference = Call::decode(bytes.as_slice()).expect("reference bytes decode");
    assert_eq!(json::to_value(&from_reference), json::to_value(&call));

    let rendered = json::to_vec(&call);
    let again: Call = json::from_slice(&rendered).expect("our own output parses");
    assert_eq!(json::to_value(&again), json::to_value(&call));
    let text: serde_json::Value = serde_json::from_slice(&rendered).expect("valid json");
    assert_eq!(
        text,
        json::to_value(&call),
        "fast writer vs reference serializer"
    );
});
