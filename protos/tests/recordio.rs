//! RecordIO: framing, records split at every byte boundary, and typed errors.

use mesos_protos::recordio::{encode, encode_into, Decoder, RecordIoError};
use proptest::prelude::*;

fn stream(records: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        encode_into(r, &mut out);
    }
    out
}

#[test]
fn encodes_length_newline_payload() {
    assert_eq!(
        encode(b"{\"type\":\"HEARTBEAT\"}"),
        b"20\n{\"type\":\"HEARTBEAT\"}"
    );
    assert_eq!(encode(b""), b"0\n");
}

#[test]
fn decodes_every_split_point() {
    let records: Vec<&[u8]> = vec![b"hello", b"", b"{\"a\":1}", &[0u8, 10, 255], b"0123456789"];
    let bytes = stream(&records);
    let expected: Vec<Vec<u8>> = records.iter().map(|r| r.to_vec()).collect();
    for i in 0..=bytes.len() {
        for j in i..=bytes.len() {
            let mut d = Decoder::new();
            let mut got = d.feed(&bytes[..i]).unwrap();
            got.extend(d.feed(&bytes[i..j]).unwrap());
            got.extend(d.feed(&bytes[j..]).unwrap());
            assert_eq!(got, expected, "split at {i} and {j}");
            assert!(d.is_idle());
            d.finish().unwrap();
        }
    }
}

#[test]
fn decodes_byte_by_byte() {
    let bytes = stream(&[b"abc", b"defgh"]);
    let mut d = Decoder::new();
    let mut got = Vec::new();
    for b in &bytes {
        got.extend(d.feed(std::slice::from_ref(b)).unwrap());
    }
    assert_eq!(got, vec![b"abc".to_vec(), b"defgh".to_vec()]);
}

#[test]
fn oversize_length_is_a_typed_error() {
    let mut d = Decoder::with_max_record_size(10);
    assert_eq!(d.max_record_size(), 10);
    assert_eq!(d.feed(b"10\n0123456789").unwrap().len(), 1);
    let err = d.feed(b"11\n").unwrap_err();
    assert_eq!(
        err,
        RecordIoError::RecordTooLarge {
            length: 11,
            limit: 10
        }
    );
    assert_eq!(
        err.to_string(),
        "record length 11 exceeds the limit of 10 bytes"
    );
    // The decoder stays failed.
    assert_eq!(d.feed(b"1\na").unwrap_err(), RecordIoError::Failed);
}

#[test]
fn huge_lengths_overflow_cleanly() {
    let mut d = Decoder::new();
    let err = d.feed(b"99999999999999999999999\n").unwrap_err();
    assert!(
        matches!(err, RecordIoError::LengthOverflow { .. }),
        "{err:?}"
    );
    let mut d = Decoder::new();
    let err = d.feed(b"18446744073709551615\n").unwrap_err();
    assert!(
        matches!(
            err,
            RecordIoError::RecordTooLarge {
                length: u64::MAX,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn non_digit_length_is_a_typed_error() {
    let mut d = Decoder::new();
    let err = d.feed(b"1x\nabc").unwrap_err();
    assert_eq!(
        err,
        RecordIoError::InvalidLength {
            length: "1x".into()
        }
    );
    assert!(err.to_string().contains("\"1x\""), "{err}");
    let mut d = Decoder::new();
    assert_eq!(
        d.feed(b"\n").unwrap_err(),
        RecordIoError::InvalidLength {
            length: String::new()
        }
    );
    let mut d = Decoder::new();
    assert!(matches!(
        d.feed(b"-1\n").unwrap_err(),
        RecordIoError::InvalidLength { .. }
    ));
    // Endless leading zeros do not buffer forever.
    let mut d = Decoder::new();
    assert!(d.feed(&[b'0'; 100]).is_err());
}

#[test]
fn truncated_stream_is_reported() {
    let mut d = Decoder::new();
    assert!(d.feed(b"5\nab").unwrap().is_empty());
    assert!(!d.is_idle());
    assert_eq!(
        d.finish().unwrap_err(),
        RecordIoError::Truncated { pending: 2 }
    );
    let mut d = Decoder::new();
    d.feed(b"12").unwrap();
    assert_eq!(
        d.finish().unwrap_err(),
        RecordIoError::Truncated { pending: 2 }
    );
}

proptest! {
    #[test]
    fn random_chunking_round_trips(
        records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..10),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
        let bytes = stream(&refs);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.push(0);
        points.push(bytes.len());
        points.sort_unstable();
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for w in points.windows(2) {
            got.extend(d.feed(&bytes[w[0]..w[1]]).unwrap());
        }
        prop_assert_eq!(got, records);
        prop_assert!(d.finish().is_ok());
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut d = Decoder::with_max_record_size(64);
        let _ = d.feed(&data);
        let _ = d.finish();
    }
}
