//! posconf: a conformance test harness for China UnionPay direct-connect POS terminals.
//!
//! Layers, lowest first (data flows one way):
//! - [`iso8583`]: the CUP direct-connect ISO 8583 dialect, declared as data, and its framing.
//! - [`crypto`]: MAC, PIN block, key check values, sign-in key blocks, PBOC e-purse crypto.

pub mod crypto;
pub mod iso8583;
pub mod cli;
