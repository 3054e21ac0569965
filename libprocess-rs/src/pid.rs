//! Process identifiers: the `id@ip:port` UPID and Mesos-style id generation.
//!
//! A [`Upid`] names one process on one runtime. The text form is `id@ip:port`; the parser
//! splits at the first `@` (the id may be empty: that is an anonymous sender), then at the
//! last `:`. A host that is not an IPv4 literal is resolved once, at parse time, to its first
//! IPv4 address (`localhost` becomes `127.0.0.1`); the name is not kept. IPv6 is not supported,
//! as in Mesos.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;
use std::sync::Arc;

use parking_lot::Mutex;

/// The address of one process: its id plus the address of the runtime that hosts it.
///
/// The text form is computed once and shared by clones, because the transport writes it into
/// every outgoing request.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Upid(Arc<Inner>);

// One pointer wide, so events carrying a sender stay small as they move through mailboxes.
#[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Inner {
    text: Box<str>,
    id_len: usize,
    addr: SocketAddr,
}

impl Upid {
    /// A UPID from an id and the hosting runtime's address.
    pub fn new(id: impl AsRef<str>, addr: SocketAddr) -> Self {
        let id = id.as_ref();
        Upid(Arc::new(Inner {
            text: format!("{id}@{addr}").into(),
            id_len: id.len(),
            addr,
        }))
    }

    /// The process id (the part before `@`); empty for an anonymous sender.
    pub fn id(&self) -> &str {
        &self.0.text[..self.0.id_len]
    }

    /// The text form `id@ip:port`.
    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// The text form of the address (`ip:port`).
    pub fn address_str(&self) -> &str {
        &self.0.text[self.0.id_len + 1..]
    }

    /// The socket address of the runtime hosting this process.
    pub fn address(&self) -> SocketAddr {
        self.0.addr
    }

    /// The IP part of the address.
    pub fn ip(&self) -> IpAddr {
        self.0.addr.ip()
    }

    /// The port part of the address.
    pub fn port(&self) -> u16 {
        self.0.addr.port()
    }

    /// True for the anonymous sender (empty id).
    pub fn is_anonymous(&self) -> bool {
        self.0.id_len == 0
    }
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.text)
    }
}

impl fmt::Debug for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a string is not a valid UPID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpidError {
    /// No `@` separates the id from the address.
    #[error("upid {0:?} has no '@'")]
    MissingAt(String),
    /// No `:` separates the host from the port.
    #[error("upid {0:?} has no ':' before the port")]
    MissingPort(String),
    /// The host part is empty.
    #[error("upid {0:?} has an empty host")]
    EmptyHost(String),
    /// The port is not a number in 0..=65535.
    #[error("upid {input:?} has a bad port {port:?}")]
    BadPort {
        /// The whole input.
        input: String,
        /// The offending port text.
        port: String,
    },
    /// The host is neither an IPv4 literal nor a name resolving to an IPv4 address.
    #[error("upid {input:?} has host {host:?} that does not resolve to an ipv4 address")]
    BadHost {
        /// The whole input.
        input: String,
        /// The offending host text.
        host: String,
    },
    /// The id contains whitespace or `/`, which cannot travel in a request path.
    #[error("upid {0:?} has an id with whitespace or '/'")]
    BadId(String),
}

impl FromStr for Upid {
    type Err = UpidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (id, hostport) = s
            .split_once('@')
            .ok_or_else(|| UpidError::MissingAt(s.to_string()))?;
        if id.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(UpidError::BadId(s.to_string()));
        }
        let (host, port) = hostport
            .rsplit_once(':')
            .ok_or_else(|| UpidError::MissingPort(s.to_string()))?;
        if host.is_empty() {
            return Err(UpidError::EmptyHost(s.to_string()));
        }
        let port: u16 = port.parse().map_err(|_| UpidError::BadPort {
            input: s.to_string(),
            port: port.to_string(),
        })?;
        let ip = resolve_ipv4(host).ok_or_else(|| UpidError::BadHost {
            input: s.to_string(),
            host: host.to_string(),
        })?;
        Ok(Upid::new(id, SocketAddr::new(IpAddr::V4(ip), port)))
    }
}

fn resolve_ipv4(host: &str) -> Option<Ipv4Addr> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some(ip);
    }
    if host.contains(':') || host.chars().any(char::is_whitespace) {
        return None;
    }
    (host, 0)
        .to_socket_addrs()
        .ok()?
        .find_map(|a| match a.ip() {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
}

/// Generates unique ids in Mesos's `name(N)` style, counting per prefix, per runtime.
#[derive(Debug, Default)]
pub struct IdGenerator {
    counters: Mutex<HashMap<String, u64>>,
}

impl IdGenerator {
    /// A generator whose counters all start at 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next id for `prefix`: `prefix(1)`, `prefix(2)`, ...
    pub fn generate(&self, prefix: &str) -> String {
        let mut counters = self.counters.lock();
        let n = counters.entry(prefix.to_string()).or_insert(0);
        *n += 1;
        format!("{prefix}({n})")
    }
}
