//! See `crate::l7`.
