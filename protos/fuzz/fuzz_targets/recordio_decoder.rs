//! Feeds arbitrary bytes, cut into chunks at arbitrary points, to the RecordIO decoder:
//! it must never panic, never hand back a record above its bound, and must agree with a
//! one-shot decode of the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesos_protos::recordio::Decoder;

const LIMIT: usize = 4096;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size, so splits land everywhere across runs.
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);

    let mut whole = Decoder::with_max_record_size(LIMIT);
    let one_shot = whole.feed(rest);

    let mut chunked = Decoder::with_max_record_size(LIMIT);
    let mut records = Vec::new();
    let mut failed = false;
    for chunk in rest.chunks(step) {
        match chunked.feed(chunk) {
            Ok(rs) => records.extend(rs),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(records.iter().all(|r| r.len() <= LIMIT));
    match one_shot {
        Ok(all) => {
            assert!(!failed, "chunked decode failed where one-shot succeeded");
            assert_eq!(all, records);
            assert_eq!(whole.finish().is_ok(), chunked.finish().is_ok());
        }
        Err(_) => assert!(failed, "one-shot failed where chunked decode succeeded"),
    }
});
