//! The registrar: what must survive a master restart (admitted, unreachable and gone
//! agents; weights; quota), changed only through [`Operation`]s applied in batches.
//!
//! ```text
//! master ── ops ──▶ Registrar::apply(batch)
//!                     ├─ apply each op to the in-memory RegistryState (refusals are
//!                     │  per-op results and change nothing)
//!                     └─ RegistryStore::store(changed ops, new state)  ← durable first
//!                   ◀── per-op results, only after the store returned
//! ```
//! The store is a trait: [`FileStore`] (embedded, under `--work_dir`) and
//! [`InMemoryStore`] (`--registry=in_memory`) here; a ZooKeeper store can follow. A
//! failed store is fatal, as in Mesos (the master aborts): the registrar refuses all
//! later work.

pub mod codec;
pub mod file_store;
pub mod ops;

use std::path::Path;

pub use file_store::FileStore;
pub use ops::{Operation, OperationError, RegistryState};

/// Failures of the storage underneath the registrar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A file system call failed.
    #[error("registry i/o error on '{path}': {message}")]
    Io {
        /// The file or folder.
        path: String,
        /// The OS error.
        message: String,
    },
    /// Stored data that cannot be read back.
    #[error("registry data is corrupt: {0}")]
    Corrupt(String),
    /// The registrar failed earlier and refuses further work.
    #[error("registrar failed earlier: {0}")]
    Failed(String),
}

impl StoreError {
    /// An I/O error on a path.
    pub fn io(path: &Path, e: std::io::Error) -> Self {
        StoreError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}

/// Durable storage of the registry. Implementations must have made a batch durable
/// before `store` returns.
pub trait RegistryStore: Send {
    /// Reads the stored registry (empty if nothing was stored yet).
    fn recover(&mut self) -> Result<RegistryState, StoreError>;
    /// Stores a batch of operations that turned the registry into `after`.
    fn store(&mut self, ops: &[Operation], after: &RegistryState) -> Result<(), StoreError>;
}

/// A store that keeps nothing (`--registry=in_memory`, tests).
#[derive(Debug, Default)]
pub struct InMemoryStore {
    stored: RegistryState,
    batches: u64,
}

impl InMemoryStore {
    /// Number of batches stored.
    pub fn batches(&self) -> u64 {
        self.batches
    }
}

impl RegistryStore for InMemoryStore {
    fn recover(&mut self) -> Result<RegistryState, StoreError> {
        Ok(self.stored.clone())
    }

    fn store(&mut self, ops: &[Operation], after: &RegistryState) -> Result<(), StoreError> {
        if !ops.is_empty() {
            self.stored = after.clone();
            self.batches += 1;
        }
        Ok(())
    }
}

/// Result of one operation in a batch: whether it changed the registry.
pub type OpResult = Result<bool, OperationError>;

/// The registrar over some store.
pub struct Registrar {
    store: Box<dyn RegistryStore>,
    state: RegistryState,
    failed: Option<String>,
}

impl std::fmt::Debug for Registrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registrar")
            .field("agents", &self.state.agents.len())
            .field("failed", &self.failed)
            .finish()
    }
}

impl Registrar {
    /// Recovers the registry from `store`.
    pub fn recover(mut store: Box<dyn RegistryStore>) -> Result<Self, StoreError> {
        let state = store.recover()?;
        Ok(Registrar {
            store,
            state,
            failed: None,
        })
    }

    /// The current registry.
    pub fn state(&self) -> &RegistryState {
        &self.state
    }

    /// Applies a batch in order and stores the changing operations with one durable
    /// write. Per-operation results are returned only after the write succeeded.
    pub fn apply(&mut self, batch: Vec<Operation>) -> Result<Vec<OpResult>, StoreError> {
        if let Some(why) = &self.failed {
            return Err(StoreError::Failed(why.clone()));
        }
        let mut results = Vec::with_capacity(batch.len());
        let mut changed = Vec::new();
        for op in batch {
            let r = op.apply(&mut self.state);
            if matches!(r, Ok(true)) {
                changed.push(op);
            }
            results.push(r);
        }
        if let Err(e) = self.store.store(&changed, &self.state) {
            // The in-memory state is now ahead of storage; refuse everything from here
            // on, as Mesos aborts the master when the registry cannot be stored.
            self.failed = Some(e.to_string());
            return Err(e);
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests;
