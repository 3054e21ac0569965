//! The actor runtime (issue 2).
