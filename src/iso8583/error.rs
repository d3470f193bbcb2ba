//! Codec errors. A decode error names the place (field path such as `60.2`, or `bitmap`,
//! `length`, `tpdu`...), the byte offset from the start of the input, and keeps the bytes there.

use std::fmt;

use thiserror::Error;

use super::message::Message;

/// What went wrong while reading bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeErrorKind {
    #[error("truncated: needs {needed} bytes, only {available} left")]
    Truncated { needed: usize, available: usize },
    #[error("invalid BCD nibble {nibble:X} at digit {digit}")]
    BadBcd { nibble: u8, digit: usize },
    #[error("invalid pad nibble {nibble:X} (expected 0 or F)")]
    BadPad { nibble: u8 },
    #[error("invalid length prefix {prefix} (not BCD)")]
    BadLengthPrefix { prefix: String },
    #[error("length {len} exceeds the field maximum {max}")]
    TooLong { len: usize, max: usize },
    #[error("bit {0} is set but this dialect declares no field {0}")]
    UnknownField(u8),
    #[error("secondary bitmap (bit 1) is not used by this dialect")]
    SecondaryBitmap,
    #[error("text field holds a non-printable byte {byte:02X} at position {pos}")]
    BadText { byte: u8, pos: usize },
    #[error("{extra} bytes left over after the last field")]
    TrailingBytes { extra: usize },
    #[error("length prefix says {declared} bytes but {actual} follow")]
    FrameLength { declared: usize, actual: usize },
    #[error("{0}")]
    Framing(String),
}

/// A decode failure at a named place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Field path (`35`, `60.2`) or frame part (`length`, `tpdu`, `header`, `mti`, `bitmap`).
    pub path: String,
    /// Offset of the failing element from the start of the input.
    pub offset: usize,
    pub kind: DecodeErrorKind,
    /// The bytes from `offset` on (at most 32), for display.
    pub raw: Vec<u8>,
}

impl DecodeError {
    pub(crate) fn new(
        path: impl Into<String>,
        offset: usize,
        kind: DecodeErrorKind,
        input: &[u8],
        local: usize,
    ) -> Self {
        let start = local.min(input.len());
        let end = (start + 32).min(input.len());
        DecodeError {
            path: path.into(),
            offset,
            kind,
            raw: input[start..end].to_vec(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = if self.path.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            format!("field {}", self.path)
        } else {
            self.path.clone()
        };
        write!(f, "{place} at offset {}: {}", self.offset, self.kind)?;
        if self.raw.is_empty() {
            write!(f, " (no bytes left)")
        } else {
            write!(f, " (bytes there: {})", hex::encode_upper(&self.raw))
        }
    }
}

impl std::error::Error for DecodeError {}

/// A failed decode that still carries what was read before the failure, for display.
#[derive(Debug, Clone)]
pub struct PartialDecode {
    pub error: DecodeError,
    /// The message as far as it decoded (MTI may be `0000` if even that failed).
    pub partial: Option<Message>,
}

impl fmt::Display for PartialDecode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for PartialDecode {}

/// A value that cannot be packed under its field's declaration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot encode {path}: {reason}")]
pub struct EncodeError {
    pub path: String,
    pub reason: String,
}

impl EncodeError {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        EncodeError {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
