//! The vocabulary a dialect table is written in: one [`FieldSpec`] per field.
//!
//! The codec ([`super::codec`]) is generic over these declarations, the way jPOS packagers and
//! moov-io/iso8583 `specs/` keep a dialect as data. A lab with a different acquirer profile
//! changes a table, not code.

/// Data type of a field as the spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Numeric digits `0-9`.
    N,
    /// Track data: digits and the `=` separator (nibble `D`). Encrypted tracks carry any nibble.
    Z,
    /// Alphanumeric text.
    An,
    /// Alphanumeric and special characters (printable ASCII; GBK bytes tolerated on decode).
    Ans,
    /// Binary bytes.
    B,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::N => "n",
            FieldType::Z => "z",
            FieldType::An => "an",
            FieldType::Ans => "ans",
            FieldType::B => "b",
        }
    }
}

/// How the length of a field is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LenKind {
    /// Always `max_len` units.
    Fixed,
    /// One-byte BCD length prefix (up to 99 units).
    LlVar,
    /// Two-byte BCD length prefix (up to 999 units).
    LllVar,
}

impl LenKind {
    /// Bytes taken by the length prefix on the wire.
    pub fn prefix_bytes(self) -> usize {
        match self {
            LenKind::Fixed => 0,
            LenKind::LlVar => 1,
            LenKind::LllVar => 2,
        }
    }
}

/// How the value travels on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Packed BCD, two digits a byte; length counts digits.
    Bcd,
    /// One ASCII byte per character; length counts bytes.
    Ascii,
    /// Raw bytes; length counts bytes.
    Binary,
}

/// Where an odd number of BCD digits sits inside its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Digits first, pad nibble last (variable n/z fields, field 22).
    Left,
    /// Pad nibble first (fixed n fields).
    Right,
}

/// What a report must hide unless the user asks for `--reveal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensitivity {
    None,
    /// A primary account number: keep the first 6 and last 4 digits.
    Pan,
    /// Track data: mask the PAN part and the discretionary data.
    Track,
    /// Secret material (PIN block): hide entirely.
    Secret,
}

/// One named piece of a composite field (`60.1`, `61.3`, `63.1`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubFieldSpec {
    pub id: &'static str,
    pub name_en: &'static str,
    pub name_zh: &'static str,
    /// Length in the parent's units (digits for BCD parents, bytes for ASCII ones).
    /// `0` means "the rest of the value".
    pub len: u16,
}

/// The declaration of one ISO 8583 field in a dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub number: u8,
    pub name_en: &'static str,
    pub name_zh: &'static str,
    pub ftype: FieldType,
    pub len_kind: LenKind,
    /// Maximum (or fixed) length: digits for n/z, bytes for an/ans/b.
    pub max_len: u16,
    pub encoding: Encoding,
    pub align: Align,
    pub sensitivity: Sensitivity,
    /// Composite layout, in order; empty for plain fields.
    pub subfields: &'static [SubFieldSpec],
}

impl FieldSpec {
    /// Number of wire bytes the data part takes for `units` length units.
    pub fn data_bytes(&self, units: usize) -> usize {
        match self.encoding {
            Encoding::Bcd => units.div_ceil(2),
            Encoding::Ascii | Encoding::Binary => units,
        }
    }

    /// A short format string as the spec prints it, e.g. `n..017 LLLVAR BCD`.
    pub fn format_label(&self) -> String {
        let dots = if self.len_kind == LenKind::Fixed {
            ""
        } else {
            ".."
        };
        let kind = match self.len_kind {
            LenKind::Fixed => "",
            LenKind::LlVar => " LLVAR",
            LenKind::LllVar => " LLLVAR",
        };
        let enc = match self.encoding {
            Encoding::Bcd => "BCD",
            Encoding::Ascii => "ASCII",
            Encoding::Binary => "binary",
        };
        let len = if self.ftype == FieldType::B && self.len_kind == LenKind::Fixed {
            self.max_len * 8
        } else {
            self.max_len
        };
        format!("{}{dots}{len}{kind} {enc}", self.ftype.as_str())
    }
}

/// A complete dialect: the field table for bits 2..=64 (index = field number).
pub struct Dialect {
    pub name: &'static str,
    pub fields: [Option<FieldSpec>; 65],
}

impl Dialect {
    pub fn field(&self, number: u8) -> Option<&FieldSpec> {
        self.fields.get(number as usize).and_then(Option::as_ref)
    }

    /// Find a subfield declaration by id (`"60.3"`).
    pub fn subfield(&self, id: &str) -> Option<(&FieldSpec, usize, &SubFieldSpec)> {
        let (num, _) = id.split_once('.')?;
        let spec = self.field(num.parse().ok()?)?;
        spec.subfields
            .iter()
            .enumerate()
            .find(|(_, s)| s.id == id)
            .map(|(i, s)| (spec, i, s))
    }
}
