//! Fast input path: Mesos JSON → protobuf bytes in one walk over the plans, with no
//! `DynamicMessage` in between. It accepts exactly what the reference parser (`de.rs`)
//! accepts; on anything it would reject, or is unsure about, it returns `None` and the
//! caller runs the reference parser, which then produces the precise error.

use base64::Engine as _;
use serde_json::{Map, Value as Json};

use super::plan::{FieldPlan, Plans, Scalar, PLANS};
use super::MAX_DEPTH;

/// Encodes the JSON object as the named message, or `None` to defer to the reference path.
pub(crate) fn encode(type_name: &str, json: &Json) -> Option<Vec<u8>> {
    let plans = &*PLANS;
    let index = *plans.by_name.get(type_name)?;
    let Json::Object(object) = json else {
        return None;
    };
    let mut out = Vec::with_capacity(256);
    encode_object(plans, index, object, 0, &mut out)?;
    Some(out)
}

fn encode_object(
    plans: &Plans,
    index: usize,
    object: &Map<String, Json>,
    depth: usize,
    out: &mut Vec<u8>,
) -> Option<()> {
    if depth >= MAX_DEPTH {
        return None;
    }
    let plan = &plans.messages[index];
    let mut required_set = 0usize;
    for (key, value) in object {
        let Some(field) = plan.field_by_name(key) else {
            continue;
        };
        let set = encode_field(plans, field, value, depth, out)?;
        if set && field.required {
            required_set += 1;
        }
    }
    if plan.has_required {
        let required = plan.fields.iter().filter(|f| f.required).count();
        if required_set != required {
            return None;
        }
    }
    Some(())
}

/// Encodes one JSON key's value; returns whether the field ended up set.
fn encode_field(
    plans: &Plans,
    field: &FieldPlan,
    json: &Json,
    depth: usize,
    out: &mut Vec<u8>,
) -> Option<bool> {
    match json {
        Json::Null => Some(false),
        Json::Array(items) if field.list || field.map.is_some() => {
            for item in items {
                encode_element(plans, field, item, depth, out)?;
            }
            Some(!items.is_empty())
        }
        Json::Array(_) => None,
        _ if field.list || field.map.is_some() => {
            encode_element(plans, field, json, depth, out)?;
            Some(true)
        }
        _ => encode_single(plans, field.number, field.scalar, json, depth, out),
    }
}

fn encode_element(
    plans: &Plans,
    field: &FieldPlan,
    json: &Json,
    depth: usize,
    out: &mut Vec<u8>,
) -> Option<()> {
    if json.is_null() {
        return Some(());
    }
    let Some((key_kind, value_kind)) = field.map else {
        encode_single(plans, field.number, field.scalar, json, depth, out)?;
        return Some(());
    };
    let Json::Object(entries) = json else {
        return None;
    };
    for (key, value) in entries {
        let mut entry = Vec::new();
        let key_json = Json::String(key.clone());
        if !encode_single(plans, 1, key_kind, &key_json, depth, &mut entry)? {
            // An unknown enum name as a key would be an error in the reference path.
            return None;
        }
        if value.is_null() {
            // The reference path stores a default value, whose required fields are unset.
            if let Scalar::Message(index) = value_kind {
                if plans.messages[index].has_required {
                    return None;
                }
            }
        } else if !encode_single(plans, 2, value_kind, value, depth, &mut entry)? {
            continue; // unknown enum name as a value: the entry is dropped
        }
        write_len_delimited(field.number, &entry, out);
    }
    Some(())
}

fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        #[allow(clippy::cast_possible_truncation)]
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    #[allow(clippy::cast_possible_truncation)]
    out.push(value as u8);
}

fn write_tag(number: u32, wire_type: u8, out: &mut Vec<u8>) {
    write_varint((u64::from(number) << 3) | u64::from(wire_type), out);
}

fn write_len_delimited(number: u32, payload: &[u8], out: &mut Vec<u8>) {
    write_tag(number, 2, out);
    write_varint(payload.len() as u64, out);
    out.extend_from_slice(payload);
}

/// Encodes one non-repeated value as field `number`. `Some(false)` means "dropped"
/// (an unknown enum name, which only optional fields tolerate: the caller checks).
#[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
fn encode_single(
    plans: &Plans,
    number: u32,
    scalar: Scalar,
    json: &Json,
    depth: usize,
    out: &mut Vec<u8>,
) -> Option<bool> {
    match scalar {
        Scalar::Message(index) => {
            let Json::Object(object) = json else {
                return None;
            };
            let mut inner = Vec::new();
            encode_object(plans, index, object, depth + 1, &mut inner)?;
            write_len_delimited(number, &inner, out);
        }
        Scalar::Enum(e) => {
            let Json::String(name) = json else {
                return None;
            };
            let Some(&n) = plans.enum_numbers[e].get(name) else {
                return Some(false);
            };
            write_tag(number, 0, out);
            write_varint(i64::from(n) as u64, out);
        }
        Scalar::String => {
            let Json::String(s) = json else {
                return None;
            };
            write_len_delimited(number, s.as_bytes(), out);
        }
        Scalar::Bytes => {
            let Json::String(s) = json else {
                return None;
            };
            let bytes = decode_base64(s)?;
            write_len_delimited(number, &bytes, out);
        }
        Scalar::Bool => {
            let b = match json {
                Json::Bool(b) => *b,
                Json::String(s) => match s.trim() {
                    "true" => true,
                    "false" => false,
                    _ => return None,
                },
                _ => return None,
            };
            write_tag(number, 0, out);
            write_varint(u64::from(b), out);
        }
        Scalar::Double | Scalar::Float => {
            let n = match json {
                Json::Number(n) => n.as_f64()?,
                Json::String(s) => parse_double_string(s)?,
                _ => return None,
            };
            if scalar == Scalar::Double {
                write_tag(number, 1, out);
                out.extend_from_slice(&n.to_bits().to_le_bytes());
            } else {
                write_tag(number, 5, out);
                out.extend_from_slice(&(n as f32).to_bits().to_le_bytes());
            }
        }
        _ => {
            let parsed;
            let n = match json {
                Json::Number(n) => n,
                Json::String(s) => {
                    parsed = serde_json::from_str::<serde_json::Number>(s).ok()?;
                    &parsed
                }
                _ => return None,
            };
            let i = integer(n)?;
            encode_integer(number, scalar, i, out)?;
        }
    }
    Some(true)
}

/// Same accepted spellings as the reference parser.
fn parse_double_string(s: &str) -> Option<f64> {
    match s.trim() {
        "Infinity" | "+Infinity" | "inf" => Some(f64::INFINITY),
        "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        other => serde_json::from_str::<serde_json::Number>(other)
            .ok()
            .and_then(|n| n.as_f64()),
    }
}

/// The number as an integer, if it is one (integral floats count, like the reference).
fn integer(number: &serde_json::Number) -> Option<i128> {
    if let Some(i) = number.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = number.as_u64() {
        return Some(i128::from(u));
    }
    let f = number.as_f64()?;
    if f.fract() != 0.0 || !(-9.3e18..=1.85e19).contains(&f) {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    Some(f as i128)
}

#[allow(clippy::cast_sign_loss)]
fn encode_integer(number: u32, scalar: Scalar, i: i128, out: &mut Vec<u8>) -> Option<()> {
    match scalar {
        Scalar::Int32 => {
            let v = i32::try_from(i).ok()?;
            write_tag(number, 0, out);
            write_varint(i64::from(v) as u64, out);
        }
        Scalar::Int64 => {
            let v = i64::try_from(i).ok()?;
            write_tag(number, 0, out);
            write_varint(v as u64, out);
        }
        Scalar::Uint32 => {
            let v = u32::try_from(i).ok()?;
            write_tag(number, 0, out);
            write_varint(u64::from(v), out);
        }
        Scalar::Uint64 => {
            let v = u64::try_from(i).ok()?;
            write_tag(number, 0, out);
            write_varint(v, out);
        }
        Scalar::Sint32 => {
            let v = i32::try_from(i).ok()?;
            write_tag(number, 0, out);
            write_varint(u64::from(((v << 1) ^ (v >> 31)) as u32), out);
        }
        Scalar::Sint64 => {
            let v = i64::try_from(i).ok()?;
            write_tag(number, 0, out);
            write_varint(((v << 1) ^ (v >> 63)) as u64, out);
        }
        Scalar::Fixed32 => {
            let v = u32::try_from(i).ok()?;
            write_tag(number, 5, out);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Scalar::Sfixed32 => {
            let v = i32::try_from(i).ok()?;
            write_tag(number, 5, out);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Scalar::Fixed64 => {
            let v = u64::try_from(i).ok()?;
            write_tag(number, 1, out);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Scalar::Sfixed64 => {
            let v = i64::try_from(i).ok()?;
            write_tag(number, 1, out);
            out.extend_from_slice(&v.to_le_bytes());
        }
        _ => return None,
    }
    Some(())
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT.decode(s).ok()
}
