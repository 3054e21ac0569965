//! Isolator implementations, one per file.

pub mod posix;
