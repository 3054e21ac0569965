//! Fast output path: renders Mesos JSON straight from a message's protobuf encoding,
//! guided by per-message plans built once from the descriptor pool. It skips the
//! `DynamicMessage` (one allocation per field) that the reference path in `ser.rs` builds.
//!
//! It relies on prost's encoding: fields in field-number order, each singular field at
//! most once. Anything else (or malformed bytes) returns `None` and the caller falls back
//! to the reference path, so both always agree; the fixture tests check they do.

use base64::Engine as _;

use super::plan::{Plans, Scalar, PLANS};

/// Renders the message of the named type encoded in `bytes`, or `None` if the encoding is
/// not one this path handles (the caller then uses the reference path).
pub(crate) fn write(type_name: &str, bytes: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let plans = &*PLANS;
    let index = *plans.by_name.get(type_name)?;
    let start = out.len();
    let mut scratch = Vec::with_capacity(64);
    let result = write_message(plans, index, bytes, false, &mut scratch, out);
    if result.is_none() {
        out.truncate(start);
    }
    result
}

/// One field occurrence on the wire.
#[derive(Clone, Copy)]
enum Raw<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
}

fn read_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in 0..10 {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(b & 0x7f) << (7 * shift);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn read_field<'a>(bytes: &mut &'a [u8]) -> Option<(u32, Raw<'a>)> {
    let tag = read_varint(bytes)?;
    let number = u32::try_from(tag >> 3).ok()?;
    let raw = match tag & 7 {
        0 => Raw::Varint(read_varint(bytes)?),
        1 => {
            let (head, rest) = bytes.split_at_checked(8)?;
            *bytes = rest;
            Raw::Fixed64(u64::from_le_bytes(head.try_into().ok()?))
        }
        2 => {
            let len = usize::try_from(read_varint(bytes)?).ok()?;
            let (head, rest) = bytes.split_at_checked(len)?;
            *bytes = rest;
            Raw::Len(head)
        }
        5 => {
            let (head, rest) = bytes.split_at_checked(4)?;
            *bytes = rest;
            Raw::Fixed32(u32::from_le_bytes(head.try_into().ok()?))
        }
        _ => return None,
    };
    Some((number, raw))
}

/// Field occurrences of the messages being written, innermost last; one buffer per call.
type Scratch<'a> = Vec<(u32, Raw<'a>)>;

/// `map_value`: the message is a map entry's value, where the reference path restores
/// unset required fields; this path only handles map values that have them all.
fn write_message<'a>(
    plans: &Plans,
    index: usize,
    mut bytes: &'a [u8],
    map_value: bool,
    scratch: &mut Scratch<'a>,
    out: &mut Vec<u8>,
) -> Option<()> {
    let plan = &plans.messages[index];
    // Occurrences grouped by field; prost writes them in field-number order.
    let base = scratch.len();
    while !bytes.is_empty() {
        let (number, raw) = read_field(&mut bytes)?;
        if scratch.len() > base && number < scratch[scratch.len() - 1].0 {
            return None;
        }
        scratch.push((number, raw));
    }
    let end = scratch.len();

    out.push(b'{');
    let mut first = true;
    let mut cursor = base;
    for field in &plan.fields {
        while cursor < end && scratch[cursor].0 < field.number {
            cursor += 1; // unknown field: not rendered
        }
        let begin = cursor;
        while cursor < end && scratch[cursor].0 == field.number {
            cursor += 1;
        }
        if begin == cursor {
            if map_value && field.required {
                return None;
            }
            if let Some(default) = &field.default {
                separator(out, &mut first);
                out.extend_from_slice(&field.key);
                out.extend_from_slice(default);
            }
            continue;
        }
        if let Some((key_kind, value_kind)) = field.map {
            separator(out, &mut first);
            out.extend_from_slice(&field.key);
            let entries: Vec<Raw<'a>> = scratch[begin..cursor].iter().map(|e| e.1).collect();
            write_map(plans, key_kind, value_kind, &entries, scratch, out)?;
        } else if field.list {
            if !(begin..cursor).any(|i| renders(plans, field.scalar, scratch[i].1)) {
                continue;
            }
            separator(out, &mut first);
            out.extend_from_slice(&field.key);
            out.push(b'[');
            let mut first_item = true;
            for i in begin..cursor {
                let raw = scratch[i].1;
                if !renders(plans, field.scalar, raw) {
                    continue;
                }
                separator(out, &mut first_item);
                write_value(plans, field.scalar, raw, scratch, out)?;
            }
            out.push(b']');
        } else {
            // Repeated singular message fields would need merging: not prost's output.
            if cursor - begin > 1 && matches!(field.scalar, Scalar::Message(_)) {
                return None;
            }
            let raw = scratch[cursor - 1].1;
            if !renders(plans, field.scalar, raw) {
                continue;
            }
            separator(out, &mut first);
            out.extend_from_slice(&field.key);
            write_value(plans, field.scalar, raw, scratch, out)?;
        }
    }
    out.push(b'}');
    scratch.truncate(base);
    Some(())
}

fn separator(out: &mut Vec<u8>, first: &mut bool) {
    if !*first {
        out.push(b',');
    }
    *first = false;
}

/// Enum numbers without a name are not rendered, like the reference path.
fn renders(plans: &Plans, scalar: Scalar, raw: Raw<'_>) -> bool {
    match (scalar, raw) {
        #[allow(clippy::cast_possible_truncation)]
        (Scalar::Enum(e), Raw::Varint(n)) => plans.enums[e].get(n as i32).is_some(),
        _ => true,
    }
}

fn write_map<'a>(
    plans: &Plans,
    key_kind: Scalar,
    value_kind: Scalar,
    entries: &[Raw<'a>],
    scratch: &mut Scratch<'a>,
    out: &mut Vec<u8>,
) -> Option<()> {
    let mut rendered: Vec<(String, Vec<u8>)> = Vec::with_capacity(entries.len());
    for raw in entries {
        let Raw::Len(mut entry) = *raw else {
            return None;
        };
        let (mut key, mut value) = (None, None);
        while !entry.is_empty() {
            match read_field(&mut entry)? {
                (1, raw) => key = Some(raw),
                (2, raw) => value = Some(raw),
                _ => {}
            }
        }
        let mut key_json = Vec::new();
        match key {
            Some(raw) => write_value(plans, key_kind, raw, scratch, &mut key_json)?,
            None => write_value(plans, key_kind, zero_of(key_kind), scratch, &mut key_json)?,
        }
        // Keys are JSON strings: a quoted key stays as is, numbers and booleans get quoted.
        let key_string = match serde_json::from_slice::<serde_json::Value>(&key_json).ok()? {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let mut value_json = Vec::new();
        match value {
            Some(raw) if !renders(plans, value_kind, raw) => continue,
            Some(raw) => write_map_value(plans, value_kind, raw, scratch, &mut value_json)?,
            None => {
                let zero = zero_of(value_kind);
                write_map_value(plans, value_kind, zero, scratch, &mut value_json)?;
            }
        }
        rendered.push((key_string, value_json));
    }
    // Sorted like the reference path; a later duplicate key wins, as in protobuf.
    rendered.reverse();
    rendered.sort_by(|a, b| a.0.cmp(&b.0));
    rendered.dedup_by(|later, earlier| later.0 == earlier.0);
    out.push(b'{');
    for (i, (key, value)) in rendered.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, key).ok()?;
        out.push(b':');
        out.extend_from_slice(value);
    }
    out.push(b'}');
    Some(())
}

fn write_map_value<'a>(
    plans: &Plans,
    scalar: Scalar,
    raw: Raw<'a>,
    scratch: &mut Scratch<'a>,
    out: &mut Vec<u8>,
) -> Option<()> {
    match (scalar, raw) {
        (Scalar::Message(m), Raw::Len(b)) => write_message(plans, m, b, true, scratch, out),
        _ => write_value(plans, scalar, raw, scratch, out),
    }
}

/// The wire form of an absent map key or value: prost leaves out defaults.
fn zero_of(scalar: Scalar) -> Raw<'static> {
    match scalar {
        Scalar::Double | Scalar::Fixed64 | Scalar::Sfixed64 => Raw::Fixed64(0),
        Scalar::Float | Scalar::Fixed32 | Scalar::Sfixed32 => Raw::Fixed32(0),
        Scalar::Message(m) => Raw::Len(&PLANS.messages[m].zero),
        Scalar::String | Scalar::Bytes => Raw::Len(&[]),
        _ => Raw::Varint(0),
    }
}

fn write_double(value: f64, out: &mut Vec<u8>) -> Option<()> {
    if value.is_finite() {
        serde_json::to_writer(&mut *out, &value).ok()
    } else if value.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
        Some(())
    } else if value > 0.0 {
        out.extend_from_slice(b"\"Infinity\"");
        Some(())
    } else {
        out.extend_from_slice(b"\"-Infinity\"");
        Some(())
    }
}

fn write_number<T: serde::Serialize>(value: T, out: &mut Vec<u8>) -> Option<()> {
    serde_json::to_writer(&mut *out, &value).ok()
}

#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
fn write_value<'a>(
    plans: &Plans,
    scalar: Scalar,
    raw: Raw<'a>,
    scratch: &mut Scratch<'a>,
    out: &mut Vec<u8>,
) -> Option<()> {
    match (scalar, raw) {
        (Scalar::Double, Raw::Fixed64(n)) => write_double(f64::from_bits(n), out),
        (Scalar::Float, Raw::Fixed32(n)) => write_double(f64::from(f32::from_bits(n)), out),
        (Scalar::Int32, Raw::Varint(n)) => write_number(n as i32, out),
        (Scalar::Int64, Raw::Varint(n)) => write_number(n as i64, out),
        (Scalar::Uint32, Raw::Varint(n)) => write_number(n as u32, out),
        (Scalar::Uint64, Raw::Varint(n)) => write_number(n, out),
        (Scalar::Sint32, Raw::Varint(n)) => {
            let n = n as u32;
            write_number((n >> 1) as i32 ^ -((n & 1) as i32), out)
        }
        (Scalar::Sint64, Raw::Varint(n)) => write_number((n >> 1) as i64 ^ -((n & 1) as i64), out),
        (Scalar::Fixed32, Raw::Fixed32(n)) => write_number(n, out),
        (Scalar::Fixed64, Raw::Fixed64(n)) => write_number(n, out),
        (Scalar::Sfixed32, Raw::Fixed32(n)) => write_number(n as i32, out),
        (Scalar::Sfixed64, Raw::Fixed64(n)) => write_number(n as i64, out),
        (Scalar::Bool, Raw::Varint(n)) => {
            out.extend_from_slice(if n != 0 { b"true" } else { b"false" });
            Some(())
        }
        (Scalar::String, Raw::Len(b)) => {
            serde_json::to_writer(&mut *out, std::str::from_utf8(b).ok()?).ok()
        }
        (Scalar::Bytes, Raw::Len(b)) => {
            out.push(b'"');
            let encoded = base64::engine::general_purpose::STANDARD.encode(b);
            out.extend_from_slice(encoded.as_bytes());
            out.push(b'"');
            Some(())
        }
        (Scalar::Enum(e), Raw::Varint(n)) => {
            let name = plans.enums[e].get(n as i32)?;
            serde_json::to_writer(&mut *out, name).ok()
        }
        (Scalar::Message(m), Raw::Len(b)) => write_message(plans, m, b, false, scratch, out),
        _ => None,
    }
}
