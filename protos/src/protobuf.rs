//! Protobuf binary helpers: decoding with a typed error, thin over prost.
//!
//! prost reports every problem as one opaque `DecodeError`; a cheap pre-scan of the outer
//! message's wire structure names the common ones (truncation, bad varints, bad wire types)
//! with their offset, and anything deeper falls through as [`ProtobufError::Malformed`].

/// Errors from decoding protobuf bytes.
#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    /// The input ends inside a field.
    #[error("truncated {type_name}: field at byte {offset} needs {needed} more bytes than the {available} left")]
    Truncated {
        /// Full name of the message type.
        type_name: String,
        /// Offset of the field's tag.
        offset: usize,
        /// Bytes the field still needs.
        needed: usize,
        /// Bytes actually left.
        available: usize,
    },
    /// A varint is longer than ten bytes or ends the input.
    #[error("invalid varint in {type_name} at byte {offset}")]
    InvalidVarint {
        /// Full name of the message type.
        type_name: String,
        /// Offset of the varint.
        offset: usize,
    },
    /// A tag carries an unknown wire type or field number 0.
    #[error("invalid tag {tag} in {type_name} at byte {offset}")]
    InvalidTag {
        /// Full name of the message type.
        type_name: String,
        /// The raw tag value.
        tag: u64,
        /// Offset of the tag.
        offset: usize,
    },
    /// prost rejected the bytes (e.g. a nested message is malformed).
    #[error("malformed {type_name}: {source}")]
    Malformed {
        /// Full name of the message type.
        type_name: String,
        /// prost's complaint.
        source: prost::DecodeError,
    },
    /// The message type is not in the descriptor pool.
    #[error("unknown message type '{0}'")]
    UnknownType(String),
    /// Required fields are absent (only from [`decode_checked`]).
    #[error("{type_name} is missing required fields: {}", .fields.join(", "))]
    MissingRequired {
        /// Full name of the message type.
        type_name: String,
        /// Paths of the missing fields.
        fields: Vec<String>,
    },
}

/// Decodes a message, naming the problem when the bytes are not a valid message.
pub fn decode<M: prost::Message + prost::Name + Default>(bytes: &[u8]) -> Result<M, ProtobufError> {
    M::decode(bytes).map_err(|source| {
        let type_name = M::full_name();
        scan(bytes, &type_name)
            .err()
            .unwrap_or(ProtobufError::Malformed { type_name, source })
    })
}

/// Like [`decode`], and also rejects messages whose required fields are unset, as protobuf's
/// C++ `ParseFromString` (used by Mesos) does.
pub fn decode_checked<M: prost::Message + prost::Name + Default>(
    bytes: &[u8],
) -> Result<M, ProtobufError> {
    let message: M = decode(bytes)?;
    let type_name = M::full_name();
    let dynamic = crate::json::decode_protobuf(&type_name, bytes).map_err(|e| match e {
        crate::json::JsonError::Protobuf { type_name, source } => {
            ProtobufError::Malformed { type_name, source }
        }
        _ => ProtobufError::UnknownType(type_name.clone()),
    })?;
    let fields = crate::json::missing_required(&dynamic);
    if fields.is_empty() {
        Ok(message)
    } else {
        Err(ProtobufError::MissingRequired { type_name, fields })
    }
}

fn read_varint(bytes: &[u8], pos: &mut usize, type_name: &str) -> Result<u64, ProtobufError> {
    let start = *pos;
    let mut value = 0u64;
    for shift in 0..10 {
        let Some(&byte) = bytes.get(*pos) else {
            return Err(ProtobufError::InvalidVarint {
                type_name: type_name.to_string(),
                offset: start,
            });
        };
        *pos += 1;
        value |= u64::from(byte & 0x7f) << (7 * shift);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(ProtobufError::InvalidVarint {
        type_name: type_name.to_string(),
        offset: start,
    })
}

/// Walks the outer message's fields without interpreting them.
fn scan(bytes: &[u8], type_name: &str) -> Result<(), ProtobufError> {
    let mut pos = 0;
    while pos < bytes.len() {
        let offset = pos;
        let tag = read_varint(bytes, &mut pos, type_name)?;
        let invalid_tag = || ProtobufError::InvalidTag {
            type_name: type_name.to_string(),
            tag,
            offset,
        };
        if tag >> 3 == 0 || tag >> 3 > u64::from(u32::MAX >> 3) {
            return Err(invalid_tag());
        }
        let needed = match tag & 7 {
            0 => {
                read_varint(bytes, &mut pos, type_name)?;
                0
            }
            1 => 8,
            2 => {
                let len = read_varint(bytes, &mut pos, type_name)?;
                usize::try_from(len).unwrap_or(usize::MAX)
            }
            // Groups are not used by Mesos; prost reports them precisely if they appear.
            3 | 4 => 0,
            5 => 4,
            _ => return Err(invalid_tag()),
        };
        let available = bytes.len() - pos;
        if needed > available {
            return Err(ProtobufError::Truncated {
                type_name: type_name.to_string(),
                offset,
                needed,
                available,
            });
        }
        pos += needed;
    }
    Ok(())
}
