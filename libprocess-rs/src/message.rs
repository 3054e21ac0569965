//! Typed messages with a stable wire name.
//!
//! A message is any `Send + 'static` value that can name itself and turn into bytes and back.
//! Local delivery never encodes: the value moves into the receiver's mailbox and is dispatched
//! by its Rust type. Encoding happens only when a message leaves the runtime; the receiving
//! runtime decodes it by name with the target process's handler table.
//!
//! Two ways to make a message:
//! - every prost message that implements `prost::Name` is one already (wire name =
//!   `full_name()`, e.g. `mesos.internal.RegisterSlaveMessage`), through a blanket impl;
//! - [`bincode_message!`](crate::bincode_message) implements [`Message`] for a type deriving
//!   bincode 2's `Encode` and `Decode<()>` (standard configuration).

use std::any::TypeId;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use parking_lot::RwLock;

/// A typed message: a stable wire name plus an encoding for remote delivery.
pub trait Message: Send + Sized + 'static {
    /// The wire name, used in the request path `POST /<id>/<name>`.
    fn name() -> Cow<'static, str>;
    /// The body bytes sent to a remote runtime.
    fn encode(&self) -> Vec<u8>;
    /// Parses body bytes received from a remote runtime.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError>;
}

/// A message body that does not decode as the message its name announced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode message {name}: {reason}")]
pub struct DecodeError {
    /// The message's wire name.
    pub name: String,
    /// What the decoder said.
    pub reason: String,
}

impl DecodeError {
    /// A decode error for message `M`.
    pub fn new<M: Message>(reason: impl std::fmt::Display) -> Self {
        DecodeError {
            name: M::name().into_owned(),
            reason: reason.to_string(),
        }
    }
}

impl<T> Message for T
where
    T: prost::Message + prost::Name + Default + Send + 'static,
{
    fn name() -> Cow<'static, str> {
        Cow::Borrowed(prost_name::<T>())
    }

    fn encode(&self) -> Vec<u8> {
        prost::Message::encode_to_vec(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        <T as prost::Message>::decode(bytes).map_err(DecodeError::new::<T>)
    }
}

// `prost::Name::full_name` allocates; hot paths ask for the name often, so each type's name
// is computed once and leaked (one small string per message type).
fn prost_name<T: prost::Name + 'static>() -> &'static str {
    static NAMES: OnceLock<RwLock<HashMap<TypeId, &'static str>>> = OnceLock::new();
    let names = NAMES.get_or_init(Default::default);
    if let Some(name) = names.read().get(&TypeId::of::<T>()) {
        return name;
    }
    names
        .write()
        .entry(TypeId::of::<T>())
        .or_insert_with(|| Box::leak(T::full_name().into_boxed_str()))
}

/// Implements [`Message`] for a type deriving bincode 2's `Encode` and `Decode<()>`.
///
/// `bincode_message!(Ping, "example.Ping");` — the body is bincode's standard configuration;
/// decoding rejects trailing bytes. A unit struct encodes to an empty body.
#[macro_export]
macro_rules! bincode_message {
    ($ty:ty, $name:expr) => {
        impl $crate::Message for $ty {
            fn name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed($name)
            }

            fn encode(&self) -> ::std::vec::Vec<u8> {
                $crate::__private::bincode_encode(self)
            }

            fn decode(bytes: &[u8]) -> ::std::result::Result<Self, $crate::DecodeError> {
                $crate::__private::bincode_decode::<Self>(bytes)
            }
        }
    };
}

/// Support for the exported macros; not part of the public API.
#[doc(hidden)]
pub mod __private {
    use super::{DecodeError, Message};

    /// Encodes with bincode's standard configuration.
    pub fn bincode_encode<T: bincode::Encode>(value: &T) -> Vec<u8> {
        // Encoding a derived type into a Vec cannot run out of room; a custom `Encode` that
        // fails is a programming error worth a loud log, not a crash of the runtime.
        bincode::encode_to_vec(value, bincode::config::standard()).unwrap_or_else(|e| {
            tracing::error!(error = %e, "bincode encode failed; sending an empty body");
            Vec::new()
        })
    }

    /// Decodes with bincode's standard configuration, rejecting trailing bytes.
    pub fn bincode_decode<T: bincode::Decode<()> + Message>(
        bytes: &[u8],
    ) -> Result<T, DecodeError> {
        let (value, used) = bincode::decode_from_slice(bytes, bincode::config::standard())
            .map_err(DecodeError::new::<T>)?;
        if used != bytes.len() {
            return Err(DecodeError::new::<T>(format!(
                "{} trailing bytes",
                bytes.len() - used
            )));
        }
        Ok(value)
    }
}
