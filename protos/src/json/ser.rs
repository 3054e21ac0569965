//! Output side: a `Serialize` view of a dynamic message that writes Mesos's JSON directly,
//! so `serde_json::to_writer` needs no intermediate `serde_json::Value`.

use base64::Engine as _;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, ReflectMessage, Value};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A message seen through Mesos's JSON rules; serialize it with any serde serializer.
pub struct MessageJson<'a>(&'a DynamicMessage);

impl<'a> MessageJson<'a> {
    /// Wraps a dynamic message.
    pub fn new(message: &'a DynamicMessage) -> Self {
        Self(message)
    }
}

/// Whether Mesos prints this field when it is unset: it declares an explicit default and is
/// not deprecated (deprecated defaults such as `Resource.role = "*"` stay silent).
pub(crate) fn prints_default(field: &FieldDescriptor) -> bool {
    let proto = field.field_descriptor_proto();
    proto.default_value.is_some()
        && !proto
            .options
            .as_ref()
            .and_then(|o| o.deprecated)
            .unwrap_or(false)
}

impl Serialize for MessageJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let message = self.0;
        let mut map = serializer.serialize_map(None)?;
        for field in message.descriptor().fields() {
            if field.is_map() {
                if message.has_field(&field) {
                    if let Value::Map(entries) = message.get_field(&field).as_ref() {
                        let entry = MapJson {
                            field: &field,
                            entries,
                        };
                        map.serialize_entry(field.name(), &entry)?;
                    }
                }
            } else if field.is_list() {
                if message.has_field(&field) {
                    if let Value::List(items) = message.get_field(&field).as_ref() {
                        let kind = field.kind();
                        // Enum numbers without a name would be unknown fields in C++; skip them.
                        if items.iter().any(|v| renders(&kind, v)) {
                            map.serialize_entry(field.name(), &ListJson { kind, items })?;
                        }
                    }
                }
            } else if message.has_field(&field) {
                let value = message.get_field(&field);
                let kind = field.kind();
                if renders(&kind, &value) {
                    map.serialize_entry(field.name(), &ScalarJson(&kind, &value))?;
                }
            } else if prints_default(&field) {
                let kind = field.kind();
                let value = field.default_value();
                if renders(&kind, &value) {
                    map.serialize_entry(field.name(), &ScalarJson(&kind, &value))?;
                }
            }
        }
        map.end()
    }
}

/// An enum number that names no value is not rendered (C++ would keep it as unknown data).
pub(crate) fn renders(kind: &Kind, value: &Value) -> bool {
    match (kind, value) {
        (Kind::Enum(desc), Value::EnumNumber(n)) => desc.get_value(*n).is_some(),
        _ => true,
    }
}

struct ListJson<'a> {
    kind: Kind,
    items: &'a [Value],
}

impl Serialize for ListJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for item in self.items.iter().filter(|v| renders(&self.kind, v)) {
            seq.serialize_element(&ScalarJson(&self.kind, item))?;
        }
        seq.end()
    }
}

struct MapJson<'a> {
    field: &'a FieldDescriptor,
    entries: &'a std::collections::HashMap<MapKey, Value>,
}

impl Serialize for MapJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value_kind = match self.field.kind() {
            Kind::Message(entry) => entry.map_entry_value_field().kind(),
            // A map field's kind is always its entry message.
            other => other,
        };
        // Sorted like Mesos's `std::map`, and so the output is deterministic.
        let mut entries: Vec<_> = self.entries.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (key, value) in entries {
            if !renders(&value_kind, value) {
                continue;
            }
            let key = match key {
                MapKey::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
                MapKey::Bool(b) => b.to_string().into(),
                MapKey::I32(n) => n.to_string().into(),
                MapKey::I64(n) => n.to_string().into(),
                MapKey::U32(n) => n.to_string().into(),
                MapKey::U64(n) => n.to_string().into(),
            };
            map.serialize_entry(key.as_ref(), &ScalarJson(&value_kind, value))?;
        }
        map.end()
    }
}

/// One non-repeated value of the given kind.
pub(crate) struct ScalarJson<'a>(pub(crate) &'a Kind, pub(crate) &'a Value);

fn serialize_double<S: Serializer>(value: f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_finite() {
        serializer.serialize_f64(value)
    } else if value.is_nan() {
        serializer.serialize_str("NaN")
    } else if value > 0.0 {
        serializer.serialize_str("Infinity")
    } else {
        serializer.serialize_str("-Infinity")
    }
}

impl Serialize for ScalarJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.1 {
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::I32(n) => serializer.serialize_i32(*n),
            Value::I64(n) => serializer.serialize_i64(*n),
            Value::U32(n) => serializer.serialize_u32(*n),
            Value::U64(n) => serializer.serialize_u64(*n),
            // Mesos widens floats to double before writing them.
            Value::F32(n) => serialize_double(f64::from(*n), serializer),
            Value::F64(n) => serialize_double(*n, serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::Bytes(b) => {
                serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
            }
            Value::EnumNumber(n) => match self.0 {
                Kind::Enum(desc) => match desc.get_value(*n) {
                    Some(value) => serializer.serialize_str(value.name()),
                    None => serializer.serialize_i32(*n),
                },
                _ => serializer.serialize_i32(*n),
            },
            Value::Message(m) => MessageJson(m).serialize(serializer),
            // Lists and maps only occur at field level, handled above.
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&ScalarJson(self.0, item))?;
                }
                seq.end()
            }
            Value::Map(_) => serializer.serialize_unit(),
        }
    }
}

/// Puts back what prost's encoding of maps drops. prost leaves a map value out when it
/// equals the default, and in a typed struct the default of a message with required
/// fields has them set (prost keeps required fields as plain values), so a decoded map
/// value missing its required fields stands for one with them at their defaults.
pub(crate) fn restore_map_defaults(message: &mut DynamicMessage) {
    for (_, value) in message.fields_mut() {
        match value {
            Value::Message(m) => restore_map_defaults(m),
            Value::List(items) => {
                for item in items {
                    if let Value::Message(m) = item {
                        restore_map_defaults(m);
                    }
                }
            }
            Value::Map(entries) => {
                for entry in entries.values_mut() {
                    if let Value::Message(m) = entry {
                        fill_required(m);
                        restore_map_defaults(m);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Sets every unset required field (recursively) to its default value.
pub(crate) fn fill_required(message: &mut DynamicMessage) {
    for field in message.descriptor().fields() {
        if !field.is_required() || message.has_field(&field) {
            continue;
        }
        let value = match field.kind() {
            Kind::Message(inner) => {
                let mut zero = DynamicMessage::new(inner);
                fill_required(&mut zero);
                Value::Message(zero)
            }
            _ => field.default_value(),
        };
        message.set_field(&field, value);
    }
}
