//! Mesos's JSON form of our protobuf types, implemented once over the descriptor pool.
//!
//! The rules are those of stout's `JSON::protobuf` (output) and `protobuf::parse` (input):
//! proto field names, enum value names, base64 `bytes`, numbers for every integer width,
//! repeated fields only when non-empty, maps as objects, and unset optional fields omitted
//! except non-deprecated fields declaring an explicit `[default = ...]`, which Mesos always
//! prints. Parsing ignores unknown keys, treats `null` as unset, drops unknown enum names on
//! optional fields and reports missing required fields by path.
//!
//! Deliberate differences from stout (Mesos 1.8), all on inputs Mesos handles badly:
//! a fractional or out-of-range number for an integer field is an error (stout truncates or
//! wraps), and non-finite doubles are written as the strings `"Infinity"`, `"-Infinity"`
//! and `"NaN"` (stout's writer aborts), which this parser reads back.

mod de;
mod encoder;
mod plan;
mod ser;
mod writer;

use std::sync::LazyLock;

use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};

pub(crate) use de::collect_missing;
pub use de::parse_dynamic;
pub use ser::MessageJson;

/// The encoded `FileDescriptorSet` of every `.proto` file in this crate.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/file_descriptor_set.bin"));

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    // The bytes are produced by our own build script from the same `.proto` files as the
    // generated types, so failing to load them is a build defect, not an input error.
    DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("embedded descriptor set is valid")
});

/// Nesting deeper than this is rejected while parsing (prost's own decode limit is 100).
pub const MAX_DEPTH: usize = 64;

/// The descriptor pool holding every message of this crate.
pub fn descriptor_pool() -> &'static DescriptorPool {
    &POOL
}

/// Looks up a message descriptor by its full protobuf name (e.g. `mesos.v1.Offer`).
pub fn message_descriptor(full_name: &str) -> Result<MessageDescriptor, JsonError> {
    POOL.get_message_by_name(full_name)
        .ok_or_else(|| JsonError::UnknownType(full_name.to_string()))
}

/// Errors from converting between Mesos JSON and protobuf messages.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The input is not valid JSON text.
    #[error("invalid json: {0}")]
    Syntax(#[from] serde_json::Error),
    /// The message type is not in the descriptor pool.
    #[error("unknown message type '{0}'")]
    UnknownType(String),
    /// The top-level value is not a JSON object.
    #[error("expecting a json object for '{type_name}', got {found}")]
    NotAnObject {
        /// Full name of the expected message type.
        type_name: String,
        /// JSON kind that was found.
        found: &'static str,
    },
    /// A field holds a JSON value of the wrong kind.
    #[error("field '{path}': expecting {expected}, got {found}")]
    WrongType {
        /// Dotted path of the field (`subscribe.framework_info.roles[0]`).
        path: String,
        /// What the field accepts.
        expected: &'static str,
        /// JSON kind that was found.
        found: &'static str,
    },
    /// A required enum field names no value of its enum.
    #[error("field '{path}': unknown value '{value}' of enum '{enum_name}'")]
    UnknownEnumValue {
        /// Dotted path of the field.
        path: String,
        /// The enum's full name.
        enum_name: String,
        /// The name that was given.
        value: String,
    },
    /// A string could not be read as the field's scalar type.
    #[error("field '{path}': cannot parse '{value}' as {expected}")]
    BadString {
        /// Dotted path of the field.
        path: String,
        /// The string that was given.
        value: String,
        /// What the field accepts.
        expected: &'static str,
    },
    /// A number does not fit the field's type (or is fractional for an integer).
    #[error("field '{path}': number {value} cannot be stored in {expected}")]
    NumberOutOfRange {
        /// Dotted path of the field.
        path: String,
        /// The number as written.
        value: String,
        /// The field's protobuf type.
        expected: &'static str,
    },
    /// A `bytes` field is not valid base64.
    #[error("field '{path}': invalid base64: {source}")]
    Base64 {
        /// Dotted path of the field.
        path: String,
        /// The decoder's complaint.
        source: base64::DecodeError,
    },
    /// Messages nest deeper than [`MAX_DEPTH`].
    #[error("field '{path}': messages nested deeper than {max}")]
    TooDeep {
        /// Dotted path where the limit was hit.
        path: String,
        /// The limit.
        max: usize,
    },
    /// Required fields are absent after parsing.
    #[error("missing required fields: {}", .0.join(", "))]
    MissingRequired(Vec<String>),
    /// The binary form handed to the dynamic API is not a valid message.
    #[error("invalid protobuf for '{type_name}': {source}")]
    Protobuf {
        /// Full name of the message type.
        type_name: String,
        /// prost's complaint.
        source: prost::DecodeError,
    },
}

/// Reads a typed message's encoding as a dynamic message (the typed encoding keeps proto2
/// presence).
fn decode_dynamic(type_name: &str, bytes: &[u8]) -> DynamicMessage {
    // `M::full_name()` comes from the same descriptor set as the pool, and prost's own
    // encoding always decodes: a failure here is a build defect, not an input error.
    let desc = message_descriptor(type_name)
        .unwrap_or_else(|e| panic!("{e}: generated type is missing from the descriptor pool"));
    let mut message = DynamicMessage::decode(desc, bytes)
        .unwrap_or_else(|e| panic!("re-decoding {type_name} failed: {e}"));
    ser::restore_map_defaults(&mut message);
    message
}

/// Decodes protobuf bytes of the named type as a dynamic message, restoring the map
/// values prost's encoding leaves out (see [`missing_required`]).
pub fn decode_protobuf(type_name: &str, bytes: &[u8]) -> Result<DynamicMessage, JsonError> {
    let desc = message_descriptor(type_name)?;
    let mut message =
        DynamicMessage::decode(desc, bytes).map_err(|source| JsonError::Protobuf {
            type_name: type_name.to_string(),
            source,
        })?;
    ser::restore_map_defaults(&mut message);
    Ok(message)
}

/// Renders a message as Mesos renders it, as a JSON value (reference path).
///
/// Panics only for a message nested deeper than prost's decode limit (100 levels), which
/// no decoded input can reach (decoders enforce the same limit) but code could build, e.g. a
/// chain of 100 `ContainerID` parents; `to_vec` has no such limit.
pub fn to_value<M: prost::Message + prost::Name>(message: &M) -> serde_json::Value {
    dynamic_to_value(&decode_dynamic(&M::full_name(), &message.encode_to_vec()))
}

/// Renders a message as Mesos renders it, as compact JSON text.
pub fn to_string<M: prost::Message + prost::Name>(message: &M) -> String {
    let bytes = to_vec(message);
    // serde_json only writes valid UTF-8.
    String::from_utf8(bytes).expect("serde_json writes utf-8")
}

/// Renders a message as Mesos renders it, as compact JSON bytes (no intermediate value).
pub fn to_vec<M: prost::Message + prost::Name>(message: &M) -> Vec<u8> {
    let type_name = M::full_name();
    let bytes = message.encode_to_vec();
    let mut out = Vec::with_capacity(bytes.len() * 2 + 16);
    if writer::write(&type_name, &bytes, &mut out).is_some() {
        return out;
    }
    dynamic_to_vec(&decode_dynamic(&type_name, &bytes))
}

/// Renders a dynamic message as a JSON value.
pub fn dynamic_to_value(message: &DynamicMessage) -> serde_json::Value {
    // Serializing our own `Serialize` impl into a `Value` cannot fail: keys are strings.
    serde_json::to_value(MessageJson::new(message)).expect("json value serialization")
}

/// Renders a dynamic message as compact JSON bytes.
pub fn dynamic_to_vec(message: &DynamicMessage) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    serde_json::to_writer(&mut out, &MessageJson::new(message)).expect("json serialization");
    out
}

/// Parses a message from Mesos JSON held in a value.
pub fn from_value<M: prost::Message + prost::Name + Default>(
    value: &serde_json::Value,
) -> Result<M, JsonError> {
    let type_name = M::full_name();
    // Fast path first; it defers every input it would not accept to the reference parser,
    // which then reports the precise error.
    if let Some(bytes) = encoder::encode(&type_name, value) {
        if let Ok(message) = M::decode(bytes.as_slice()) {
            return Ok(message);
        }
    }
    let desc = message_descriptor(&type_name)?;
    let dynamic = parse_dynamic(&desc, value)?;
    let bytes = prost::Message::encode_to_vec(&dynamic);
    M::decode(bytes.as_slice()).map_err(|source| JsonError::Protobuf { type_name, source })
}

/// Parses a message from Mesos JSON text.
pub fn from_str<M: prost::Message + prost::Name + Default>(text: &str) -> Result<M, JsonError> {
    from_value(&serde_json::from_str::<serde_json::Value>(text)?)
}

/// Parses a message from Mesos JSON bytes.
pub fn from_slice<M: prost::Message + prost::Name + Default>(bytes: &[u8]) -> Result<M, JsonError> {
    from_value(&serde_json::from_slice::<serde_json::Value>(bytes)?)
}

/// Dynamic form: protobuf bytes of the named type → Mesos JSON text.
pub fn protobuf_to_vec(type_name: &str, bytes: &[u8]) -> Result<Vec<u8>, JsonError> {
    let mut out = Vec::with_capacity(bytes.len() * 2 + 16);
    if writer::write(type_name, bytes, &mut out).is_some() {
        return Ok(out);
    }
    Ok(dynamic_to_vec(&decode_protobuf(type_name, bytes)?))
}

/// Dynamic form: protobuf bytes of the named type → Mesos JSON value.
pub fn protobuf_to_value(type_name: &str, bytes: &[u8]) -> Result<serde_json::Value, JsonError> {
    Ok(dynamic_to_value(&decode_protobuf(type_name, bytes)?))
}

/// Dynamic form: Mesos JSON value of the named type → protobuf bytes.
pub fn value_to_protobuf(type_name: &str, value: &serde_json::Value) -> Result<Vec<u8>, JsonError> {
    let desc = message_descriptor(type_name)?;
    let message = parse_dynamic(&desc, value)?;
    Ok(prost::Message::encode_to_vec(&message))
}

/// Paths of the unset required fields of a dynamic message (empty when initialized).
///
/// Map values are judged as [`decode_protobuf`] restores them: prost omits a map value equal
/// to its default, whose required fields are then implied.
pub fn missing_required(message: &DynamicMessage) -> Vec<String> {
    let mut out = Vec::new();
    collect_missing(message, &mut String::new(), &mut out);
    out
}

#[cfg(test)]
mod tests;
