//! Feeds arbitrary bytes to the Mesos JSON decoder as a scheduler `Call` (the body of
//! `POST /api/v1/scheduler`): it must never panic, and whatever it accepts must render
//! and parse back to the same JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesos_protos::json;
use mesos_protos::mesos::v1::scheduler::Call;

fuzz_target!(|data: &[u8]| {
    let Ok(call) = json::from_slice::<Call>(data) else {
        return;
    };
    let rendered = json::to_vec(&call);
    let again: Call = json::from_slice(&rendered).expect("our own output parses");
    // Compared as JSON values: NaN doubles are equal there (both render as "NaN").
    assert_eq!(json::to_value(&again), json::to_value(&call));
});
