//! An in-memory network between runtimes of one OS process.
//!
//! Runtimes built with the same [`Network`] hand each other messages directly (no encoding,
//! no sockets): delivery is synchronous, so per-sender order holds and nothing is ever "in
//! flight" for `settle`. When a member shuts down, every other member's processes linked to
//! a pid at its address get `exited`, as if its connection had closed. Addresses outside the
//! network are still reached over HTTP.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::runtime::Core;

/// A set of runtimes that deliver to each other in memory. Cheap to clone.
#[derive(Clone, Default)]
pub struct Network {
    members: Arc<Mutex<HashMap<SocketAddr, Weak<Core>>>>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("members", &self.members.lock().keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Network {
    /// An empty network.
    pub fn new() -> Self {
        Self::default()
    }

    /// The addresses of the live members.
    pub fn members(&self) -> Vec<SocketAddr> {
        self.members.lock().keys().copied().collect()
    }

    pub(crate) fn join(&self, addr: SocketAddr, core: Weak<Core>) {
        self.members.lock().insert(addr, core);
    }

    pub(crate) fn get(&self, addr: SocketAddr) -> Option<Arc<Core>> {
        self.members.lock().get(&addr).and_then(Weak::upgrade)
    }

    /// Removes `addr` and tells every other member that it is gone.
    pub(crate) fn leave(&self, addr: SocketAddr) {
        let others: Vec<Arc<Core>> = {
            let mut members = self.members.lock();
            members.remove(&addr);
            members.values().filter_map(Weak::upgrade).collect()
        };
        for core in others {
            crate::transport::outbound::peer_gone(&core, addr);
        }
    }
}
