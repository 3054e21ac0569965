//! Per-message plans built once from the descriptor pool: what the fast JSON writer and
//! the fast JSON encoder need to know about each field, without walking descriptors.

use std::collections::HashMap;
use std::sync::LazyLock;

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind};

use super::ser::{fill_required, prints_default};

/// How one field's wire values are read and written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
    /// Index into `Plans::enums`.
    Enum(usize),
    /// Index into `Plans::messages`.
    Message(usize),
}

pub(crate) struct FieldPlan {
    pub(crate) number: u32,
    /// The proto field name.
    pub(crate) name: String,
    /// `"name":`, ready to copy.
    pub(crate) key: Vec<u8>,
    pub(crate) scalar: Scalar,
    pub(crate) list: bool,
    pub(crate) required: bool,
    /// For maps, the entry message's key and value kinds.
    pub(crate) map: Option<(Scalar, Scalar)>,
    /// The JSON text Mesos prints when the field is unset.
    pub(crate) default: Option<Vec<u8>>,
}

pub(crate) struct MessagePlan {
    /// Sorted by field number.
    pub(crate) fields: Vec<FieldPlan>,
    /// Whether any field is required.
    pub(crate) has_required: bool,
    /// Encoding of the value prost leaves out of a map entry: required fields at defaults.
    pub(crate) zero: Vec<u8>,
}

impl MessagePlan {
    /// The field with this proto name.
    pub(crate) fn field_by_name(&self, name: &str) -> Option<&FieldPlan> {
        self.fields.iter().find(|f| f.name == name)
    }
}

pub(crate) struct Plans {
    pub(crate) messages: Vec<MessagePlan>,
    pub(crate) by_name: HashMap<String, usize>,
    /// Enum value names sorted by number, per enum.
    pub(crate) enums: Vec<EnumNames>,
    /// Enum value name → number, per enum.
    pub(crate) enum_numbers: Vec<HashMap<String, i32>>,
}

/// An enum's value names, sorted by number for binary search.
pub(crate) struct EnumNames(Vec<(i32, String)>);

impl EnumNames {
    /// The name of the value with this number.
    pub(crate) fn get(&self, number: i32) -> Option<&str> {
        self.0
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()
            .map(|i| self.0[i].1.as_str())
    }
}

pub(crate) static PLANS: LazyLock<Plans> = LazyLock::new(build_plans);

fn build_plans() -> Plans {
    let pool = super::descriptor_pool();
    let by_name: HashMap<String, usize> = pool
        .all_messages()
        .enumerate()
        .map(|(i, m)| (m.full_name().to_string(), i))
        .collect();
    let mut enum_index: HashMap<String, usize> = HashMap::new();
    let mut enums = Vec::new();
    let mut enum_numbers = Vec::new();
    for e in pool.all_enums() {
        enum_index.insert(e.full_name().to_string(), enums.len());
        let mut names: Vec<(i32, String)> = e
            .values()
            .map(|v| (v.number(), v.name().to_string()))
            .collect();
        names.sort_by_key(|(n, _)| *n);
        // Aliases share a number; the first declared name is the one protobuf prints.
        names.dedup_by_key(|(n, _)| *n);
        enums.push(EnumNames(names));
        enum_numbers.push(
            e.values()
                .map(|v| (v.name().to_string(), v.number()))
                .collect(),
        );
    }
    let scalar_of = |kind: &Kind| match kind {
        Kind::Double => Scalar::Double,
        Kind::Float => Scalar::Float,
        Kind::Int32 => Scalar::Int32,
        Kind::Int64 => Scalar::Int64,
        Kind::Uint32 => Scalar::Uint32,
        Kind::Uint64 => Scalar::Uint64,
        Kind::Sint32 => Scalar::Sint32,
        Kind::Sint64 => Scalar::Sint64,
        Kind::Fixed32 => Scalar::Fixed32,
        Kind::Fixed64 => Scalar::Fixed64,
        Kind::Sfixed32 => Scalar::Sfixed32,
        Kind::Sfixed64 => Scalar::Sfixed64,
        Kind::Bool => Scalar::Bool,
        Kind::String => Scalar::String,
        Kind::Bytes => Scalar::Bytes,
        Kind::Enum(e) => Scalar::Enum(enum_index[e.full_name()]),
        Kind::Message(m) => Scalar::Message(by_name[m.full_name()]),
    };
    let messages = pool
        .all_messages()
        .map(|desc| {
            let mut fields: Vec<FieldPlan> = desc
                .fields()
                .map(|field| {
                    let kind = field.kind();
                    let map = match (&kind, field.is_map()) {
                        (Kind::Message(entry), true) => Some((
                            scalar_of(&entry.map_entry_key_field().kind()),
                            scalar_of(&entry.map_entry_value_field().kind()),
                        )),
                        _ => None,
                    };
                    FieldPlan {
                        number: field.number(),
                        name: field.name().to_string(),
                        required: field.is_required(),
                        key: format!("{}:", serde_json::Value::from(field.name())).into_bytes(),
                        scalar: scalar_of(&kind),
                        list: field.is_list(),
                        map,
                        default: default_text(&field),
                    }
                })
                .collect();
            fields.sort_by_key(|f| f.number);
            let has_required = fields.iter().any(|f| f.required);
            let mut zero = DynamicMessage::new(desc.clone());
            fill_required(&mut zero);
            MessagePlan {
                fields,
                has_required,
                zero: prost::Message::encode_to_vec(&zero),
            }
        })
        .collect();
    Plans {
        messages,
        by_name,
        enums,
        enum_numbers,
    }
}

/// The rendered default of a field Mesos prints when unset, if any.
fn default_text(field: &FieldDescriptor) -> Option<Vec<u8>> {
    if field.is_list() || !prints_default(field) {
        return None;
    }
    let kind = field.kind();
    let value = field.default_value();
    if !super::ser::renders(&kind, &value) {
        return None;
    }
    serde_json::to_vec(&super::ser::ScalarJson(&kind, &value)).ok()
}
