//! Crypto errors: what was wrong, with the offending bytes where that leaks no secret.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CryptoError {
    #[error("key must be 8, 16 or 24 bytes, got {len} bytes")]
    KeyLength { len: usize },
    #[error("{what}: not hex: {detail}")]
    Hex { what: &'static str, detail: String },
    #[error("{what}: length {len} is not a multiple of 8")]
    BlockLength { what: &'static str, len: usize },
    #[error("{what} needs a {need}-byte key, got {got} bytes")]
    KeyKind {
        what: &'static str,
        need: usize,
        got: usize,
    },
    #[error("PIN must be 4 to 12 digits, got {len} characters{}", if *.digits { "" } else { " (not all digits)" })]
    PinFormat { len: usize, digits: bool },
    #[error("PAN must be 13 to 19 digits, got {0:?}")]
    PanFormat(String),
    #[error("clear PIN block is malformed: {0}")]
    PinBlock(String),
    #[error("{key} check value mismatch: expected {expected}, computed {computed}")]
    CheckValue {
        key: &'static str,
        expected: String,
        computed: String,
    },
    #[error("field 62 for 60.3 = {layout} must be {need} bytes, got {got}")]
    Field62Length {
        layout: &'static str,
        need: usize,
        got: usize,
    },
    #[error("60.3 = {0:?} is not a sign-in key layout (001, 003, 004)")]
    Layout(String),
    #[error("MAC mismatch ({algorithm}): expected {expected}, found {found}")]
    MacMismatch {
        algorithm: String,
        expected: String,
        found: String,
    },
    #[error("unknown MAC algorithm {0:?} (ecb, x9.9, x9.19)")]
    MacAlgorithm(String),
    #[error("track data: {0}")]
    Track(String),
}
