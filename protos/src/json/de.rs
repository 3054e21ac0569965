//! Input side: Mesos JSON → dynamic message, following stout's `protobuf::parse`.
//!
//! stout's leniencies are kept: a scalar or object given for a repeated field counts as one
//! element, numbers and booleans may be written as strings, `null` anywhere means unset.

use base64::Engine as _;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage, Value,
};
use serde_json::Value as Json;

use super::{JsonError, MAX_DEPTH};

/// Parses a JSON value into a dynamic message of the given type, checking required fields.
pub fn parse_dynamic(desc: &MessageDescriptor, json: &Json) -> Result<DynamicMessage, JsonError> {
    let Json::Object(object) = json else {
        return Err(JsonError::NotAnObject {
            type_name: desc.full_name().to_string(),
            found: json_kind(json),
        });
    };
    let mut path = Path::default();
    let message = parse_object(desc, object, &mut path)?;
    let mut missing = Vec::new();
    collect_missing(&message, &mut String::new(), &mut missing);
    if missing.is_empty() {
        Ok(message)
    } else {
        Err(JsonError::MissingRequired(missing))
    }
}

/// The field path being parsed, rendered only when an error needs it.
#[derive(Default)]
struct Path {
    segments: Vec<Segment>,
}

enum Segment {
    Field(String),
    Index(usize),
    Key(String),
}

impl Path {
    fn render(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Segment::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
                Segment::Key(key) => {
                    out.push('[');
                    out.push_str(&serde_json::to_string(key).unwrap_or_default());
                    out.push(']');
                }
            }
        }
        out
    }

    fn depth(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Field(_)))
            .count()
    }
}

pub(crate) fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn parse_object(
    desc: &MessageDescriptor,
    object: &serde_json::Map<String, Json>,
    path: &mut Path,
) -> Result<DynamicMessage, JsonError> {
    if path.depth() > MAX_DEPTH {
        return Err(JsonError::TooDeep {
            path: path.render(),
            max: MAX_DEPTH,
        });
    }
    let mut message = DynamicMessage::new(desc.clone());
    for (key, value) in object {
        // Unknown keys are ignored, as Mesos does.
        let Some(field) = desc.get_field_by_name(key) else {
            continue;
        };
        path.segments.push(Segment::Field(key.clone()));
        let result = apply_field(&mut message, &field, value, path);
        path.segments.pop();
        result?;
    }
    Ok(message)
}

fn apply_field(
    message: &mut DynamicMessage,
    field: &FieldDescriptor,
    json: &Json,
    path: &mut Path,
) -> Result<(), JsonError> {
    match json {
        Json::Null => Ok(()),
        Json::Array(items) if field.is_list() || field.is_map() => {
            for (i, item) in items.iter().enumerate() {
                path.segments.push(Segment::Index(i));
                let result = apply_element(message, field, item, path);
                path.segments.pop();
                result?;
            }
            Ok(())
        }
        Json::Array(_) => Err(wrong_type(field, json, path)),
        _ if field.is_list() || field.is_map() => apply_element(message, field, json, path),
        _ => {
            if let Some(value) = parse_single(&field.kind(), field.is_required(), json, path)? {
                message.set_field(field, value);
            }
            Ok(())
        }
    }
}

/// One element of a repeated field, or one object of map entries.
fn apply_element(
    message: &mut DynamicMessage,
    field: &FieldDescriptor,
    json: &Json,
    path: &mut Path,
) -> Result<(), JsonError> {
    if json.is_null() {
        return Ok(());
    }
    if field.is_map() {
        let Json::Object(object) = json else {
            return Err(wrong_type(field, json, path));
        };
        let Kind::Message(entry) = field.kind() else {
            return Err(wrong_type(field, json, path));
        };
        let key_kind = entry.map_entry_key_field().kind();
        let value_field = entry.map_entry_value_field();
        let value_kind = value_field.kind();
        for (key, value) in object {
            path.segments.push(Segment::Key(key.clone()));
            let result = parse_map_entry(&key_kind, &value_field, &value_kind, key, value, path);
            path.segments.pop();
            if let Some((k, v)) = result? {
                if let Value::Map(map) = message.get_field_mut(field) {
                    map.insert(k, v);
                }
            }
        }
        return Ok(());
    }
    if let Some(value) = parse_single(&field.kind(), false, json, path)? {
        if let Value::List(list) = message.get_field_mut(field) {
            list.push(value);
        }
    }
    Ok(())
}

fn parse_map_entry(
    key_kind: &Kind,
    value_field: &FieldDescriptor,
    value_kind: &Kind,
    key: &str,
    value: &Json,
    path: &mut Path,
) -> Result<Option<(MapKey, Value)>, JsonError> {
    // Keys are JSON strings; non-string key types are read from them like stout does.
    let key_json = Json::String(key.to_string());
    let Some(key) = parse_single(key_kind, true, &key_json, path)?.and_then(Value::into_map_key)
    else {
        return Ok(None);
    };
    let value = if value.is_null() {
        Value::default_value_for_field(value_field)
    } else {
        match parse_single(value_kind, false, value, path)? {
            Some(v) => v,
            None => return Ok(None),
        }
    };
    Ok(Some((key, value)))
}

fn wrong_type(field: &FieldDescriptor, json: &Json, path: &Path) -> JsonError {
    JsonError::WrongType {
        path: path.render(),
        expected: expected_for(field),
        found: json_kind(json),
    }
}

fn expected_for(field: &FieldDescriptor) -> &'static str {
    if field.is_map() {
        "an object (map)"
    } else if field.is_list() {
        "an array"
    } else {
        kind_name(&field.kind())
    }
}

fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Double | Kind::Float => "a number",
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => "an int32",
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => "an int64",
        Kind::Uint32 | Kind::Fixed32 => "a uint32",
        Kind::Uint64 | Kind::Fixed64 => "a uint64",
        Kind::Bool => "a boolean",
        Kind::String => "a string",
        Kind::Bytes => "a base64 string",
        Kind::Message(_) => "an object",
        Kind::Enum(_) => "an enum name string",
    }
}

/// Parses one non-repeated value. `Ok(None)` means "drop it" (unknown optional enum name).
fn parse_single(
    kind: &Kind,
    required: bool,
    json: &Json,
    path: &mut Path,
) -> Result<Option<Value>, JsonError> {
    let wrong = |path: &Path| JsonError::WrongType {
        path: path.render(),
        expected: kind_name(kind),
        found: json_kind(json),
    };
    let value = match kind {
        Kind::Message(desc) => match json {
            Json::Object(object) => Value::Message(parse_object(desc, object, path)?),
            _ => return Err(wrong(path)),
        },
        Kind::Enum(desc) => match json {
            Json::String(name) => match desc.get_value_by_name(name) {
                Some(v) => Value::EnumNumber(v.number()),
                None if required => {
                    return Err(JsonError::UnknownEnumValue {
                        path: path.render(),
                        enum_name: desc.full_name().to_string(),
                        value: name.clone(),
                    })
                }
                None => return Ok(None),
            },
            _ => return Err(wrong(path)),
        },
        Kind::String => match json {
            Json::String(s) => Value::String(s.clone()),
            _ => return Err(wrong(path)),
        },
        Kind::Bytes => match json {
            Json::String(s) => Value::Bytes(decode_base64(s, path)?.into()),
            _ => return Err(wrong(path)),
        },
        Kind::Bool => match json {
            Json::Bool(b) => Value::Bool(*b),
            Json::String(s) => match s.trim() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(bad_string(s, kind, path)),
            },
            _ => return Err(wrong(path)),
        },
        Kind::Double | Kind::Float => {
            let n = match json {
                Json::Number(n) => n.as_f64().unwrap_or(f64::NAN),
                Json::String(s) => {
                    parse_double_string(s).ok_or_else(|| bad_string(s, kind, path))?
                }
                _ => return Err(wrong(path)),
            };
            if matches!(kind, Kind::Float) {
                // Narrowing like C++'s `as<float>()`; out-of-range values become infinite.
                #[allow(clippy::cast_possible_truncation)]
                Value::F32(n as f32)
            } else {
                Value::F64(n)
            }
        }
        _ => {
            let number = match json {
                Json::Number(n) => n.clone(),
                Json::String(s) => serde_json::from_str::<serde_json::Number>(s)
                    .map_err(|_| bad_string(s, kind, path))?,
                _ => return Err(wrong(path)),
            };
            integer_value(kind, &number).ok_or_else(|| JsonError::NumberOutOfRange {
                path: path.render(),
                value: number.to_string(),
                expected: kind_name(kind),
            })?
        }
    };
    Ok(Some(value))
}

fn bad_string(s: &str, kind: &Kind, path: &Path) -> JsonError {
    JsonError::BadString {
        path: path.render(),
        value: s.to_string(),
        expected: kind_name(kind),
    }
}

/// Numeric strings, plus the spellings of non-finite doubles Mesos accepts.
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

/// An integer of the field's width; integral floats (`5.0`) are accepted, fractions are not.
fn integer_value(kind: &Kind, number: &serde_json::Number) -> Option<Value> {
    let as_i128 = if let Some(i) = number.as_i64() {
        i128::from(i)
    } else if let Some(u) = number.as_u64() {
        i128::from(u)
    } else {
        let f = number.as_f64()?;
        // 2^64 is the first double past u64's range.
        if f.fract() != 0.0 || !(-9.3e18..=1.85e19).contains(&f) {
            return None;
        }
        #[allow(clippy::cast_possible_truncation)]
        let i = f as i128;
        i
    };
    Some(match kind {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(i32::try_from(as_i128).ok()?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(i64::try_from(as_i128).ok()?),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(u32::try_from(as_i128).ok()?),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(u64::try_from(as_i128).ok()?),
        _ => return None,
    })
}

fn decode_base64(s: &str, path: &Path) -> Result<Vec<u8>, JsonError> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    // Standard alphabet; padding optional, as some clients strip it.
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT.decode(s).map_err(|source| JsonError::Base64 {
        path: path.render(),
        source,
    })
}

/// Collects the paths of unset required fields, like protobuf's initialization check.
pub(crate) fn collect_missing(
    message: &DynamicMessage,
    prefix: &mut String,
    out: &mut Vec<String>,
) {
    for field in message.descriptor().fields() {
        let base = prefix.len();
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(field.name());
        if field.is_required() && !message.has_field(&field) {
            out.push(prefix.clone());
        } else if matches!(field.kind(), Kind::Message(_)) && message.has_field(&field) {
            match message.get_field(&field).as_ref() {
                Value::Message(m) => collect_missing(m, prefix, out),
                Value::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Value::Message(m) = item {
                            let before = prefix.len();
                            prefix.push_str(&format!("[{i}]"));
                            collect_missing(m, prefix, out);
                            prefix.truncate(before);
                        }
                    }
                }
                Value::Map(entries) => {
                    for (key, value) in entries {
                        if let Value::Message(m) = value {
                            let before = prefix.len();
                            prefix.push_str(&format!("[{}]", map_key_json(key)));
                            collect_missing(m, prefix, out);
                            prefix.truncate(before);
                        }
                    }
                }
                _ => {}
            }
        }
        prefix.truncate(base);
    }
}

fn map_key_json(key: &MapKey) -> String {
    match key {
        MapKey::String(s) => serde_json::to_string(s).unwrap_or_default(),
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
    }
}
