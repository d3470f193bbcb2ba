//! An ISO 8583 message as values, independent of its wire bytes.

use std::fmt;

use compact_str::CompactString;

use super::error::EncodeError;

/// A field value. Numeric and track fields hold their digit string (track separator as `=`),
/// text fields the text exactly as on the wire (fixed fields keep their space padding), binary
/// fields the bytes. Text up to 24 bytes is stored inline (most CUP fields), which keeps
/// decoding free of per-field allocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(CompactString),
    Binary(Vec<u8>),
}

impl Value {
    /// The value as text: the string itself, or uppercase hex for binary.
    pub fn display(&self) -> String {
        match self {
            Value::Text(s) => s.to_string(),
            Value::Binary(b) => hex::encode_upper(b),
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            Value::Binary(_) => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Text(_) => None,
            Value::Binary(b) => Some(b),
        }
    }
}

impl Value {
    /// A text value.
    pub fn text(s: impl AsRef<str>) -> Value {
        Value::Text(CompactString::new(s.as_ref()))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s.into())
    }
}

impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::Binary(b)
    }
}

impl From<&[u8]> for Value {
    fn from(b: &[u8]) -> Self {
        Value::Binary(b.to_vec())
    }
}

/// Message type indicator as four ASCII digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mti([u8; 4]);

impl Mti {
    pub fn parse(s: &str) -> Result<Mti, EncodeError> {
        let b = s.as_bytes();
        if b.len() != 4 || !b.iter().all(u8::is_ascii_digit) {
            return Err(EncodeError::new(
                "mti",
                format!("MTI must be 4 digits, got {s:?}"),
            ));
        }
        Ok(Mti([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn from_digits(d: [u8; 4]) -> Mti {
        Mti(d)
    }

    pub fn as_str(&self) -> &str {
        // Always four ASCII digits by construction.
        std::str::from_utf8(&self.0).unwrap_or("????")
    }

    /// The MTI of the response to this request (`0200` → `0210`).
    pub fn response(&self) -> Mti {
        let mut d = self.0;
        d[2] = if d[2] == b'9' { b'0' } else { d[2] + 1 };
        Mti(d)
    }

    /// Whether this is a response MTI (third digit odd).
    pub fn is_response(&self) -> bool {
        (self.0[2] - b'0') % 2 == 1
    }
}

impl fmt::Display for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mti({})", self.as_str())
    }
}

/// An ISO 8583 message: MTI plus the fields present, kept in field-number order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub mti: Mti,
    fields: Vec<(u8, Value)>,
}

impl Message {
    pub fn new(mti: Mti) -> Message {
        Message::with_capacity(mti, 24)
    }

    pub fn with_capacity(mti: Mti, fields: usize) -> Message {
        Message {
            mti,
            fields: Vec::with_capacity(fields),
        }
    }

    /// Set (or replace) a field.
    pub fn set(&mut self, number: u8, value: impl Into<Value>) -> &mut Self {
        let value = value.into();
        match self.fields.binary_search_by_key(&number, |(n, _)| *n) {
            Ok(i) => self.fields[i].1 = value,
            Err(i) => self.fields.insert(i, (number, value)),
        }
        self
    }

    /// Builder form of [`Message::set`].
    pub fn with(mut self, number: u8, value: impl Into<Value>) -> Self {
        self.set(number, value);
        self
    }

    pub fn get(&self, number: u8) -> Option<&Value> {
        self.fields
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()
            .map(|i| &self.fields[i].1)
    }

    /// A text field's value (numeric, track or text fields).
    pub fn text(&self, number: u8) -> Option<&str> {
        self.get(number).and_then(Value::as_text)
    }

    pub fn bytes(&self, number: u8) -> Option<&[u8]> {
        self.get(number).and_then(Value::as_bytes)
    }

    pub fn has(&self, number: u8) -> bool {
        self.get(number).is_some()
    }

    pub fn remove(&mut self, number: u8) -> Option<Value> {
        match self.fields.binary_search_by_key(&number, |(n, _)| *n) {
            Ok(i) => Some(self.fields.remove(i).1),
            Err(_) => None,
        }
    }

    /// Fields in ascending number order.
    pub fn fields(&self) -> impl Iterator<Item = (u8, &Value)> {
        self.fields.iter().map(|(n, v)| (*n, v))
    }

    pub fn field_numbers(&self) -> impl Iterator<Item = u8> + '_ {
        self.fields.iter().map(|(n, _)| *n)
    }

    /// The primary bitmap this message packs with.
    pub fn bitmap(&self) -> [u8; 8] {
        let mut bm = [0u8; 8];
        for (n, _) in &self.fields {
            let bit = (*n - 1) as usize;
            bm[bit / 8] |= 0x80 >> (bit % 8);
        }
        bm
    }

    /// Shorthand for field 11, the trace number, when present.
    pub fn stan(&self) -> Option<&str> {
        self.text(11)
    }

    #[inline]
    pub(crate) fn push_unchecked(&mut self, number: u8, value: Value) {
        self.fields.push((number, value));
    }
}
