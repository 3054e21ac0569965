//! Independent protobuf vectors: bytes produced by Mesos's own compiled v0 types (PyPI
//! `mesos.interface`, see `tests/vectors/generate.py`), decoded with our v1 types.
//!
//! For each vector: our decode of the foreign bytes equals our parse of the vector's JSON,
//! renders that JSON back exactly, and our encoding of the message is byte-identical to the
//! foreign bytes (both encoders write fields in field-number order; no vector has a map).
//! On a mismatch both sides are shown in field-number order to make the diff readable.

use std::path::Path;

use mesos_protos::json;
use mesos_protos::v1;
use prost::{Message, Name};
use prost_reflect::{Kind, MessageDescriptor};
use serde_json::Value as Json;

fn load() -> Vec<Json> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/mesos_interface_v0.json");
    let file: Json = serde_json::from_str(&std::fs::read_to_string(path).expect("vectors file"))
        .expect("vectors json");
    file["vectors"].as_array().expect("vectors array").clone()
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Re-emits a message with its fields (recursively) stably sorted by field number.
fn canonical(desc: &MessageDescriptor, mut bytes: &[u8]) -> Vec<u8> {
    use prost::encoding::{decode_varint, encode_varint};
    let mut fields: Vec<(u32, Vec<u8>)> = Vec::new();
    while !bytes.is_empty() {
        let tag = decode_varint(&mut bytes).expect("tag");
        let number = u32::try_from(tag >> 3).expect("field number");
        let mut out = Vec::new();
        encode_varint(tag, &mut out);
        match tag & 7 {
            0 => encode_varint(decode_varint(&mut bytes).expect("varint"), &mut out),
            1 | 5 => {
                let n = if tag & 7 == 1 { 8 } else { 4 };
                out.extend_from_slice(&bytes[..n]);
                bytes = &bytes[n..];
            }
            2 => {
                let len = usize::try_from(decode_varint(&mut bytes).expect("len")).unwrap();
                let (payload, rest) = bytes.split_at(len);
                bytes = rest;
                let payload = match desc.get_field(number).map(|f| f.kind()) {
                    Some(Kind::Message(inner)) => canonical(&inner, payload),
                    _ => payload.to_vec(),
                };
                encode_varint(payload.len() as u64, &mut out);
                out.extend_from_slice(&payload);
            }
            other => panic!("unexpected wire type {other}"),
        }
        fields.push((number, out));
    }
    fields.sort_by_key(|(n, _)| *n);
    fields.into_iter().flat_map(|(_, b)| b).collect()
}

/// Result of checking one vector: whether our bytes were identical, not just equivalent.
fn check<M: Message + Name + Default + PartialEq + std::fmt::Debug>(
    vector: &Json,
) -> Result<bool, String> {
    let foreign = unhex(vector["hex"].as_str().ok_or("no hex")?);
    let expected_json = &vector["json"];

    let decoded: M = mesos_protos::protobuf::decode_checked(&foreign)
        .map_err(|e| format!("decoding foreign bytes: {e}"))?;
    let expected: M = json::from_value(expected_json).map_err(|e| format!("parsing json: {e}"))?;
    if decoded != expected {
        return Err(format!("decoded {decoded:?}\n!= expected {expected:?}"));
    }
    if &json::to_value(&decoded) != expected_json {
        return Err(format!(
            "json of decoded {}\n!= vector json {expected_json}",
            json::to_value(&decoded)
        ));
    }

    let ours = expected.encode_to_vec();
    let desc = json::message_descriptor(&M::full_name()).map_err(|e| e.to_string())?;
    let (ours_c, foreign_c) = (canonical(&desc, &ours), canonical(&desc, &foreign));
    if foreign_c != foreign {
        return Err("foreign bytes are not in field-number order (generator changed?)".into());
    }
    if ours_c != foreign_c {
        return Err(format!(
            "encodings differ:\n ours    {}\n foreign {}",
            hex(&ours_c),
            hex(&foreign_c)
        ));
    }
    Ok(ours == foreign)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn mesos_interface_vectors_decode_and_encode_identically() {
    let vectors = load();
    assert!(vectors.len() >= 10, "only {} vectors", vectors.len());
    let mut failures = Vec::new();
    let mut byte_identical = 0;
    for v in &vectors {
        let name = v["name"].as_str().unwrap_or("?");
        let result = match v["v1_type"].as_str().unwrap_or("") {
            "mesos.v1.FrameworkInfo" => check::<v1::FrameworkInfo>(v),
            "mesos.v1.Resource" => check::<v1::Resource>(v),
            "mesos.v1.Attribute" => check::<v1::Attribute>(v),
            "mesos.v1.AgentInfo" => check::<v1::AgentInfo>(v),
            "mesos.v1.MasterInfo" => check::<v1::MasterInfo>(v),
            "mesos.v1.Offer" => check::<v1::Offer>(v),
            "mesos.v1.TaskInfo" => check::<v1::TaskInfo>(v),
            "mesos.v1.TaskStatus" => check::<v1::TaskStatus>(v),
            "mesos.v1.ExecutorInfo" => check::<v1::ExecutorInfo>(v),
            other => Err(format!("no typed check for {other}")),
        };
        match result {
            Ok(identical) => byte_identical += usize::from(identical),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
    assert_eq!(
        byte_identical,
        vectors.len(),
        "some encodings differ only in field order"
    );
}

#[test]
fn flipping_a_field_number_is_detected() {
    // Guard against a vacuous comparison: corrupt one tag in a foreign vector (cpus
    // `name`, field 1 → field 15) and the typed decode must no longer equal the JSON.
    let vector = load()
        .into_iter()
        .find(|v| v["name"] == "resource_scalar_pre_refinement")
        .expect("vector");
    let mut bytes = unhex(vector["hex"].as_str().unwrap());
    assert_eq!(
        bytes[0], 0x0a,
        "first field is `name` (1, length-delimited)"
    );
    bytes[0] = (15 << 3) | 2;
    let decoded: v1::Resource = mesos_protos::protobuf::decode(&bytes).unwrap();
    let expected: v1::Resource = json::from_value(&vector["json"]).unwrap();
    assert_ne!(decoded, expected);
    assert!(mesos_protos::protobuf::decode_checked::<v1::Resource>(&bytes).is_err());
}
