//! posconf: a conformance test harness for China UnionPay direct-connect POS terminals.
//!
//! Layers, lowest first (data flows one way):
//! - [`iso8583`]: the CUP direct-connect ISO 8583 dialect, declared as data, and its framing.
//! - [`crypto`]: MAC, PIN block, key check values, sign-in key blocks, PBOC e-purse crypto.
//! - [`inspect`] and [`craft`]: readable, masked views of frames and building frames by hand.
//! - [`profile`]: acquirer variants ([var] facts of the spec) as settings.
//! - [`yaml`]: the one module that parses YAML.

pub mod bench;
pub mod checks;
pub mod cli;
pub mod craft;
pub mod crypto;
pub mod fixtures;
pub mod host;
pub mod inspect;
pub mod iso8583;
pub mod pcap;
pub mod profile;
pub mod receipt;
pub mod report;
pub mod slip;
pub mod suite;
pub mod terminal;
pub mod transcript;
pub mod yaml;
