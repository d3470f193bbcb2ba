//! The embedded fake POS centre.

pub mod journal;
