//! Generic pack/unpack of an ISO 8583 body (MTI, primary bitmap, fields) under a [`Dialect`].
//!
//! Nothing here knows a field number: every decision comes from the [`FieldSpec`] table.

use compact_str::CompactString;

use super::bcd;
use super::error::{DecodeError, DecodeErrorKind, EncodeError, PartialDecode};
use super::message::{Message, Mti, Value};
use super::spec::{Align, Dialect, Encoding, FieldSpec, FieldType, LenKind};

/// Where one element sits in the input, for display and for computing the MAC block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpan {
    /// Field number; 0 for the MTI, 1 for the bitmap.
    pub number: u8,
    /// Absolute offset of the element (its length prefix, if any) in the input.
    pub offset: usize,
    /// Bytes of the length prefix.
    pub prefix_len: usize,
    /// Total bytes, prefix included.
    pub len: usize,
}

/// Packs and unpacks bodies of one dialect.
#[derive(Clone, Copy)]
pub struct Codec<'d> {
    pub dialect: &'d Dialect,
    /// Nibble used to fill odd-length BCD data (`0` by default; some acquirers use `F`) [var].
    pub pad: u8,
}

impl std::fmt::Debug for Codec<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Codec({}, pad {:X})", self.dialect.name, self.pad)
    }
}

impl<'d> Codec<'d> {
    pub fn new(dialect: &'d Dialect) -> Self {
        Codec { dialect, pad: 0 }
    }

    pub fn with_pad(mut self, pad: u8) -> Self {
        self.pad = pad & 0x0F;
        self
    }

    /// Pack a message body: MTI, bitmap, fields.
    pub fn pack(&self, msg: &Message) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(256);
        self.pack_into(msg, &mut out)?;
        Ok(out)
    }

    pub fn pack_into(&self, msg: &Message, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        bcd::pack_nibbles(out, msg.mti.as_str().bytes().map(|c| c - b'0'), true, 0);
        out.extend_from_slice(&msg.bitmap());
        for (n, value) in msg.fields() {
            let spec = self.dialect.field(n).ok_or_else(|| {
                EncodeError::new(n.to_string(), "field is not declared in this dialect")
            })?;
            self.pack_field(spec, value, out)?;
        }
        Ok(())
    }

    /// Pack one field (length prefix included) under its declaration.
    pub fn pack_field(
        &self,
        spec: &FieldSpec,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let path = || spec.number.to_string();
        let max = spec.max_len as usize;
        let check_len = |units: usize| -> Result<(), EncodeError> {
            match spec.len_kind {
                LenKind::Fixed if units != max && spec.encoding != Encoding::Ascii => {
                    Err(EncodeError::new(
                        path(),
                        format!("{} is fixed length {max}, got {units}", spec.format_label()),
                    ))
                }
                _ if units > max => Err(EncodeError::new(
                    path(),
                    format!("{} allows at most {max}, got {units}", spec.format_label()),
                )),
                _ => Ok(()),
            }
        };
        match (spec.encoding, value) {
            (Encoding::Bcd, Value::Text(s)) => {
                let units = s.len();
                check_len(units)?;
                let numeric = spec.ftype == FieldType::N;
                if let Some(i) = s.bytes().position(|c| {
                    if numeric {
                        !c.is_ascii_digit()
                    } else {
                        bcd::NIBBLE[c as usize] == 0xFF
                    }
                }) {
                    let c = s[i..].chars().next().unwrap_or('?');
                    return Err(EncodeError::new(
                        subfield_path(spec, i),
                        format!(
                            "character {c:?} at position {i} is not allowed in {}",
                            spec.format_label()
                        ),
                    ));
                }
                bcd::write_len(out, units, spec.len_kind.prefix_bytes());
                bcd::pack_ascii(out, s.as_bytes(), spec.align == Align::Left, self.pad);
            }
            (Encoding::Ascii, Value::Text(s)) => {
                let gbk;
                let bytes: &[u8] = if s.bytes().all(|b| (0x20..0x7F).contains(&b)) {
                    s.as_bytes()
                } else {
                    gbk = text_to_wire(spec, s)?;
                    &gbk
                };
                if bytes.len() > max {
                    return Err(EncodeError::new(
                        path(),
                        format!(
                            "{} allows at most {max} bytes, got {}",
                            spec.format_label(),
                            bytes.len()
                        ),
                    ));
                }
                bcd::write_len(out, bytes.len(), spec.len_kind.prefix_bytes());
                out.extend_from_slice(bytes);
                if spec.len_kind == LenKind::Fixed {
                    // Fixed text is left-aligned, space padded.
                    out.resize(out.len() + (max - bytes.len()), b' ');
                }
            }
            (Encoding::Binary, Value::Binary(b)) => {
                check_len(b.len())?;
                bcd::write_len(out, b.len(), spec.len_kind.prefix_bytes());
                out.extend_from_slice(b);
            }
            (Encoding::Binary, Value::Text(_)) => {
                return Err(EncodeError::new(
                    path(),
                    "binary field needs bytes (hex), got text",
                ));
            }
            (_, Value::Binary(_)) => {
                return Err(EncodeError::new(
                    path(),
                    format!("{} needs text, got bytes", spec.format_label()),
                ));
            }
        }
        Ok(())
    }

    /// Unpack a body that starts at absolute offset 0.
    pub fn unpack(&self, body: &[u8]) -> Result<Message, PartialDecode> {
        self.unpack_at(body, 0, None)
    }

    /// Unpack a body; `base` is its offset inside the caller's input (for error offsets) and
    /// `layout`, when given, receives the span of every element.
    pub fn unpack_at(
        &self,
        body: &[u8],
        base: usize,
        mut layout: Option<&mut Vec<FieldSpan>>,
    ) -> Result<Message, PartialDecode> {
        let fail =
            |msg: Option<Message>, path: &str, local: usize, kind: DecodeErrorKind| PartialDecode {
                error: DecodeError::new(path, base + local, kind, body, local),
                partial: msg,
            };
        if body.len() < 2 {
            return Err(fail(
                None,
                "mti",
                0,
                DecodeErrorKind::Truncated {
                    needed: 2,
                    available: body.len(),
                },
            ));
        }
        let mut d = [0u8; 4];
        for (i, nib) in bcd::nibbles(&body[..2]).enumerate() {
            if nib > 9 {
                return Err(fail(
                    None,
                    "mti",
                    0,
                    DecodeErrorKind::BadBcd {
                        nibble: nib,
                        digit: i,
                    },
                ));
            }
            d[i] = b'0' + nib;
        }
        let present = body
            .get(2..10)
            .map_or(0, |b| b.iter().map(|x| x.count_ones() as usize).sum());
        let mut msg = Message::with_capacity(Mti::from_digits(d), present);
        if let Some(l) = layout.as_deref_mut() {
            l.push(FieldSpan {
                number: 0,
                offset: base,
                prefix_len: 0,
                len: 2,
            });
        }
        if body.len() < 10 {
            let available = body.len() - 2;
            return Err(fail(
                Some(msg),
                "bitmap",
                2,
                DecodeErrorKind::Truncated {
                    needed: 8,
                    available,
                },
            ));
        }
        let bitmap: [u8; 8] = [
            body[2], body[3], body[4], body[5], body[6], body[7], body[8], body[9],
        ];
        if bitmap[0] & 0x80 != 0 {
            return Err(fail(
                Some(msg),
                "bitmap",
                2,
                DecodeErrorKind::SecondaryBitmap,
            ));
        }
        if let Some(l) = layout.as_deref_mut() {
            l.push(FieldSpan {
                number: 1,
                offset: base + 2,
                prefix_len: 0,
                len: 8,
            });
        }
        let mut pos = 10usize;
        for bit in 2..=64u8 {
            let idx = (bit - 1) as usize;
            if bitmap[idx / 8] & (0x80 >> (idx % 8)) == 0 {
                continue;
            }
            let Some(spec) = self.dialect.field(bit) else {
                return Err(fail(
                    Some(msg),
                    "bitmap",
                    2,
                    DecodeErrorKind::UnknownField(bit),
                ));
            };
            match self.unpack_field(spec, body, pos, &mut msg) {
                Ok((prefix_len, used)) => {
                    if let Some(l) = layout.as_deref_mut() {
                        l.push(FieldSpan {
                            number: bit,
                            offset: base + pos,
                            prefix_len,
                            len: used,
                        });
                    }
                    pos += used;
                }
                Err(e) => {
                    let (path, local, kind) = *e;
                    return Err(fail(Some(msg), &path, local, kind));
                }
            }
        }
        if pos < body.len() {
            let extra = body.len() - pos;
            return Err(fail(
                Some(msg),
                "body",
                pos,
                DecodeErrorKind::TrailingBytes { extra },
            ));
        }
        Ok(msg)
    }

    /// Appends the field to `msg`; returns (prefix bytes, total bytes used) or
    /// (path, local offset, error).
    fn unpack_field(
        &self,
        spec: &FieldSpec,
        body: &[u8],
        pos: usize,
        msg: &mut Message,
    ) -> Result<(usize, usize), FieldFail> {
        let path = || spec.number.to_string();
        let prefix_len = spec.len_kind.prefix_bytes();
        let units = if prefix_len == 0 {
            spec.max_len as usize
        } else {
            let Some(raw) = body.get(pos..pos + prefix_len) else {
                let available = body.len().saturating_sub(pos);
                return Err(Box::new((
                    path(),
                    pos,
                    DecodeErrorKind::Truncated {
                        needed: prefix_len,
                        available,
                    },
                )));
            };
            let Some(units) = bcd::read_len(raw) else {
                let prefix = hex::encode_upper(raw);
                return Err(Box::new((
                    path(),
                    pos,
                    DecodeErrorKind::BadLengthPrefix { prefix },
                )));
            };
            if units > spec.max_len as usize {
                let max = spec.max_len as usize;
                return Err(Box::new((
                    path(),
                    pos,
                    DecodeErrorKind::TooLong { len: units, max },
                )));
            }
            units
        };
        let start = pos + prefix_len;
        let nbytes = spec.data_bytes(units);
        let Some(data) = body.get(start..start + nbytes) else {
            let available = body.len().saturating_sub(start);
            return Err(Box::new((
                path(),
                start,
                DecodeErrorKind::Truncated {
                    needed: nbytes,
                    available,
                },
            )));
        };
        let value = match spec.encoding {
            Encoding::Bcd => {
                Value::Text(decode_bcd(spec, data, units).map_err(|(digit, kind)| {
                    let at = if spec.align == Align::Right && units % 2 == 1 {
                        digit + 1
                    } else {
                        digit
                    };
                    Box::new((subfield_path(spec, digit), start + at / 2, kind))
                })?)
            }
            Encoding::Ascii => text_from_wire(spec, data)
                .map_err(|(i, kind)| Box::new((path(), start + i, kind)))?,
            Encoding::Binary => Value::Binary(data.to_vec()),
        };
        msg.push_unchecked(spec.number, value);
        Ok((prefix_len, prefix_len + nbytes))
    }
}

/// A field that failed: (path, offset in the body, what). Boxed to keep the happy path small.
type FieldFail = Box<(String, usize, DecodeErrorKind)>;

/// Decode `units` BCD digits; on error returns (digit index, kind).
fn decode_bcd(
    spec: &FieldSpec,
    data: &[u8],
    units: usize,
) -> Result<CompactString, (usize, DecodeErrorKind)> {
    let odd = units % 2 == 1;
    let right = odd && spec.align == Align::Right;
    let track = spec.ftype == FieldType::Z;
    // Nibble characters land on the stack for all but the longest fields.
    let mut stack = [0u8; 64];
    let mut heap = Vec::new();
    let buf: &mut [u8] = if data.len() * 2 <= stack.len() {
        &mut stack[..data.len() * 2]
    } else {
        heap.resize(data.len() * 2, 0);
        &mut heap
    };
    let mut all_bcd = true;
    for (i, &b) in data.iter().enumerate() {
        all_bcd &= bcd::IS_BCD[b as usize];
        buf[2 * i] = bcd::NIBBLE_CHAR[(b >> 4) as usize];
        buf[2 * i + 1] = bcd::NIBBLE_CHAR[(b & 0x0F) as usize];
    }
    let digits: &[u8] = match (odd, right) {
        (false, _) => buf,
        (true, true) => &buf[1..],
        (true, false) => &buf[..units],
    };
    if odd {
        let pad = if right {
            data[0] >> 4
        } else {
            data[units / 2] & 0x0F
        };
        if pad != 0 && pad != 0xF {
            let digit = if right { 0 } else { units - 1 };
            return Err((digit, DecodeErrorKind::BadPad { nibble: pad }));
        }
        // A pad nibble of F is not a digit; judge the digits alone.
        if !all_bcd && !track {
            all_bcd = digits.iter().all(u8::is_ascii_digit);
        }
    }
    if !all_bcd && !track {
        if let Some(i) = digits.iter().position(|c| !c.is_ascii_digit()) {
            let nibble = bcd::NIBBLE[digits[i] as usize];
            return Err((i, DecodeErrorKind::BadBcd { nibble, digit: i }));
        }
    }
    // Only ASCII digits, `=` and hex letters were written.
    CompactString::from_utf8(digits).map_err(|_| {
        (
            0,
            DecodeErrorKind::Framing("internal: non-ASCII BCD text".into()),
        )
    })
}

/// Text fields: printable ASCII; `ans` fields may also carry GBK (Chinese issuer texts in 63).
fn text_from_wire(spec: &FieldSpec, data: &[u8]) -> Result<Value, (usize, DecodeErrorKind)> {
    if let Some(pos) = data.iter().position(|b| !(0x20..0x7F).contains(b)) {
        let byte = data[pos];
        if byte < 0x80 || spec.ftype != FieldType::Ans {
            return Err((pos, DecodeErrorKind::BadText { byte, pos }));
        }
        // GBK text may not hide control bytes either.
        if let Some(ctl) = data.iter().position(|b| *b < 0x20 || *b == 0x7F) {
            return Err((
                ctl,
                DecodeErrorKind::BadText {
                    byte: data[ctl],
                    pos: ctl,
                },
            ));
        }
        let (text, had_errors) = encoding_rs::GBK.decode_without_bom_handling(data);
        if had_errors {
            return Err((pos, DecodeErrorKind::BadText { byte, pos }));
        }
        // Only accept GBK that re-encodes to the same bytes, so pack(unpack(x)) == x.
        let (back, _, _) = encoding_rs::GBK.encode(&text);
        if back.as_ref() != data {
            return Err((pos, DecodeErrorKind::BadText { byte, pos }));
        }
        return Ok(Value::text(text));
    }
    // All bytes are printable ASCII, hence valid UTF-8.
    CompactString::from_utf8(data)
        .map(Value::Text)
        .map_err(|_| {
            (
                0,
                DecodeErrorKind::BadText {
                    byte: data[0],
                    pos: 0,
                },
            )
        })
}

fn text_to_wire(spec: &FieldSpec, s: &str) -> Result<Vec<u8>, EncodeError> {
    if s.bytes().all(|b| (0x20..0x7F).contains(&b)) {
        return Ok(s.as_bytes().to_vec());
    }
    if spec.ftype == FieldType::Ans && !s.chars().any(char::is_control) {
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(s);
        if !unmappable {
            return Ok(bytes.into_owned());
        }
    }
    let (pos, c) = s
        .char_indices()
        .find(|(_, c)| !(' '..='~').contains(c))
        .unwrap_or((0, '?'));
    Err(EncodeError::new(
        spec.number.to_string(),
        format!(
            "character {c:?} at position {pos} is not allowed in {}",
            spec.format_label()
        ),
    ))
}

/// The subfield path holding digit/char `index` of a composite field, or the field number.
pub fn subfield_path(spec: &FieldSpec, index: usize) -> String {
    let mut end = 0usize;
    for sub in spec.subfields {
        if sub.len == 0 {
            return sub.id.to_string();
        }
        end += sub.len as usize;
        if index < end {
            return sub.id.to_string();
        }
    }
    spec.number.to_string()
}

/// Split a composite field's value into its subfields (only those present in the value).
pub fn split_subfields<'v>(
    spec: &FieldSpec,
    value: &'v str,
) -> Vec<(&'static super::spec::SubFieldSpec, &'v str)> {
    let mut out = Vec::with_capacity(spec.subfields.len());
    let mut pos = 0usize;
    for sub in spec.subfields {
        if pos >= value.len() {
            break;
        }
        let end = if sub.len == 0 {
            value.len()
        } else {
            (pos + sub.len as usize).min(value.len())
        };
        // Subfield lengths count bytes of ASCII/BCD text; stay on char boundaries for GBK text.
        let Some(part) = value.get(pos..end) else {
            break;
        };
        out.push((sub, part));
        pos = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso8583::cup::CUP_DIRECT;

    fn codec() -> Codec<'static> {
        Codec::new(&CUP_DIRECT)
    }

    #[test]
    fn field_22_is_left_aligned_and_23_right_aligned() {
        let m = Message::new(Mti::parse("0200").unwrap())
            .with(22, "021")
            .with(23, "001");
        let b = codec().pack(&m).unwrap();
        assert_eq!(&b[10..], &[0x02, 0x10, 0x00, 0x01]);
        assert_eq!(codec().unpack(&b).unwrap(), m);
    }

    #[test]
    fn track_separator_is_nibble_d_and_odd_tracks_pad_last() {
        let m =
            Message::new(Mti::parse("0200").unwrap()).with(35, "6225881234567890=2512201123456789");
        let b = codec().pack(&m).unwrap();
        assert_eq!(
            hex::encode_upper(&b[10..]),
            "336225881234567890D25122011234567890"
        );
        assert_eq!(codec().unpack(&b).unwrap(), m);
        let f = codec().with_pad(0xF).pack(&m).unwrap();
        assert!(hex::encode_upper(&f).ends_with("789F"));
        assert_eq!(codec().unpack(&f).unwrap(), m, "an F pad decodes too");
    }

    #[test]
    fn fixed_text_is_space_padded() {
        let m = Message::new(Mti::parse("0800").unwrap()).with(41, "1234");
        let b = codec().pack(&m).unwrap();
        assert_eq!(&b[10..], b"1234    ");
        assert_eq!(codec().unpack(&b).unwrap().text(41), Some("1234    "));
    }

    #[test]
    fn encode_rejects_bad_values_naming_the_field() {
        let bad = Message::new(Mti::parse("0200").unwrap()).with(4, "12");
        let e = codec().pack(&bad).unwrap_err();
        assert_eq!(e.path, "4");
        assert!(e.reason.contains("fixed length 12"), "{e}");
        let bad = Message::new(Mti::parse("0200").unwrap()).with(60, "22A00001");
        assert_eq!(codec().pack(&bad).unwrap_err().path, "60.2");
        let bad = Message::new(Mti::parse("0200").unwrap()).with(52, "12345678");
        assert!(codec().pack(&bad).is_err());
    }

    #[test]
    fn gbk_texts_in_63_round_trip() {
        let m = Message::new(Mti::parse("0210").unwrap()).with(63, "CUP中国银联");
        let b = codec().pack(&m).unwrap();
        assert_eq!(
            &b[10..12],
            &[0x00, 0x11],
            "length counts GBK bytes (BCD 11)"
        );
        assert_eq!(codec().unpack(&b).unwrap(), m);
    }

    #[test]
    fn control_bytes_inside_gbk_text_are_rejected_not_half_decoded() {
        // Found by the fuzzer: CUP + GBK 中 + 0x11: decoded, then refused to re-pack.
        let mut body = codec()
            .pack(&Message::new(Mti::parse("0210").unwrap()).with(63, "CUP中A"))
            .unwrap();
        let last = body.len() - 1;
        body[last] = 0x11;
        let e = codec().unpack(&body).unwrap_err().error;
        assert_eq!((e.path.as_str(), e.offset), ("63", last));
        assert!(matches!(
            e.kind,
            DecodeErrorKind::BadText { byte: 0x11, .. }
        ));
    }

    #[test]
    fn bad_bcd_in_a_subfield_names_the_subfield_and_offset() {
        // 60 = 22 0000A1 000 (A in the batch).
        let mut b = codec()
            .pack(&Message::new(Mti::parse("0200").unwrap()).with(60, "22000001000"))
            .unwrap();
        b[13] = 0x0A;
        let e = codec().unpack(&b).unwrap_err();
        assert_eq!(e.error.path, "60.2");
        assert_eq!(e.error.offset, 13);
        assert!(matches!(
            e.error.kind,
            DecodeErrorKind::BadBcd { nibble: 0xA, .. }
        ));
        assert_eq!(e.partial.map(|m| m.mti.to_string()), Some("0200".into()));
    }

    #[test]
    fn truncated_and_trailing_input_are_errors() {
        let b = codec()
            .pack(
                &Message::new(Mti::parse("0800").unwrap())
                    .with(11, "000001")
                    .with(41, "12345678"),
            )
            .unwrap();
        let e = codec().unpack(&b[..b.len() - 1]).unwrap_err();
        assert_eq!(e.error.path, "41");
        assert!(matches!(
            e.error.kind,
            DecodeErrorKind::Truncated {
                needed: 8,
                available: 7
            }
        ));
        assert_eq!(
            e.partial.unwrap().text(11),
            Some("000001"),
            "fields before the failure are kept"
        );
        let mut long = b.clone();
        long.push(0);
        assert!(matches!(
            codec().unpack(&long).unwrap_err().error.kind,
            DecodeErrorKind::TrailingBytes { extra: 1 }
        ));
    }

    #[test]
    fn over_long_prefix_and_secondary_bitmap_are_errors() {
        let mut b = codec()
            .pack(&Message::new(Mti::parse("0200").unwrap()).with(2, "6225881234567890"))
            .unwrap();
        b[10] = 0x20; // 20 digits > 19
        let e = codec().unpack(&b).unwrap_err().error;
        assert_eq!((e.path.as_str(), e.offset), ("2", 10));
        assert!(matches!(
            e.kind,
            DecodeErrorKind::TooLong { len: 20, max: 19 }
        ));
        b[2] |= 0x80;
        assert_eq!(
            codec().unpack(&b).unwrap_err().error.kind,
            DecodeErrorKind::SecondaryBitmap
        );
    }

    #[test]
    fn subfields_split_by_declared_lengths() {
        let spec = CUP_DIRECT.field(60).unwrap();
        let parts: Vec<_> = split_subfields(spec, "22000001000")
            .iter()
            .map(|(s, v)| (s.id, *v))
            .collect();
        assert_eq!(parts, [("60.1", "22"), ("60.2", "000001"), ("60.3", "000")]);
        let spec63 = CUP_DIRECT.field(63).unwrap();
        let parts: Vec<_> = split_subfields(spec63, "CUP发卡行")
            .iter()
            .map(|(s, v)| (s.id, *v))
            .collect();
        assert_eq!(parts, [("63.1", "CUP"), ("63.2", "发卡行")]);
    }
}
