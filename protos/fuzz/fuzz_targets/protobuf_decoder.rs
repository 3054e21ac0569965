//! Feeds arbitrary bytes to the protobuf decoder as a scheduler `Call`: decoding must
//! never panic, rendering any decoded message as JSON must not panic (and both renderers
//! agree), and a message that passes the required-field check and parses back from its
//! JSON must render the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesos_protos::mesos::v1::scheduler::Call;
use mesos_protos::{json, protobuf};

fuzz_target!(|data: &[u8]| {
    let Ok(call) = protobuf::decode::<Call>(data) else {
        return;
    };
    let value = json::to_value(&call);
    // The fast writer (`to_vec`) and the reference serializer (`to_value`) agree.
    let text: serde_json::Value = serde_json::from_slice(&json::to_vec(&call)).expect("valid json");
    assert_eq!(text, value);
    if protobuf::decode_checked::<Call>(data).is_err() {
        return;
    }
    // Unknown enum numbers are not rendered, so a required one makes the JSON incomplete;
    // everything the JSON parser does accept must render identically.
    if let Ok(again) = json::from_value::<Call>(&value) {
        assert_eq!(json::to_value(&again), value);
    }
});
