//! Framing around the ISO 8583 body: the TCP length prefix, the serial STX/len/ETX/LRC frame,
//! the 5-byte TPDU and the 6-byte CUP header (digest §1).

use std::fmt;
use std::str::FromStr;

use super::codec::{Codec, FieldSpan};
use super::error::{DecodeError, DecodeErrorKind, EncodeError, PartialDecode};
use super::message::Message;

/// Transport protocol data unit: `60` + destination (2 B) + source (2 B).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tpdu(pub [u8; 5]);

impl Tpdu {
    pub fn id(&self) -> u8 {
        self.0[0]
    }
    pub fn dest(&self) -> [u8; 2] {
        [self.0[1], self.0[2]]
    }
    pub fn src(&self) -> [u8; 2] {
        [self.0[3], self.0[4]]
    }
    /// The TPDU a host answers with: destination and source swapped.
    pub fn swapped(&self) -> Tpdu {
        Tpdu([self.0[0], self.0[3], self.0[4], self.0[1], self.0[2]])
    }
    pub fn from_hex(s: &str) -> Result<Tpdu, EncodeError> {
        let b =
            hex::decode(s.trim()).map_err(|e| EncodeError::new("tpdu", format!("{e}: {s:?}")))?;
        let arr: [u8; 5] = b.try_into().map_err(|b: Vec<u8>| {
            EncodeError::new("tpdu", format!("TPDU is 5 bytes, got {}", b.len()))
        })?;
        Ok(Tpdu(arr))
    }
}

impl fmt::Display for Tpdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_upper(self.0))
    }
}

impl fmt::Debug for Tpdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tpdu({self})")
    }
}

/// The CUP 6-byte message header (application type, version, terminal status / processing
/// requirement nibbles, software sub-version).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header(pub [u8; 6]);

/// What the host asks of the terminal in the response header's low nibble of byte 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessingRequest {
    None,
    DownloadParameters,
    UploadStatus,
    SignInAgain,
    UpdateCapk,
    UpdateAid,
    TmsDownload,
    Other(u8),
}

impl ProcessingRequest {
    pub fn from_nibble(n: u8) -> Self {
        match n {
            0 => Self::None,
            1 => Self::DownloadParameters,
            2 => Self::UploadStatus,
            3 => Self::SignInAgain,
            4 => Self::UpdateCapk,
            5 => Self::UpdateAid,
            6 => Self::TmsDownload,
            x => Self::Other(x),
        }
    }
    pub fn nibble(self) -> u8 {
        match self {
            Self::None => 0,
            Self::DownloadParameters => 1,
            Self::UploadStatus => 2,
            Self::SignInAgain => 3,
            Self::UpdateCapk => 4,
            Self::UpdateAid => 5,
            Self::TmsDownload => 6,
            Self::Other(x) => x & 0x0F,
        }
    }
    pub fn describe(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::DownloadParameters => "download terminal parameters",
            Self::UploadStatus => "upload terminal status",
            Self::SignInAgain => "sign in again",
            Self::UpdateCapk => "update IC CAPK",
            Self::UpdateAid => "update IC AID parameters",
            Self::TmsDownload => "TMS download",
            Self::Other(_) => "unknown",
        }
    }
}

impl Header {
    /// A header with the common defaults: application `60`, version `31`, given sub-version.
    pub fn new(app: u8, version: u8, sub_version: [u8; 3]) -> Header {
        Header([
            app,
            version,
            0x00,
            sub_version[0],
            sub_version[1],
            sub_version[2],
        ])
    }
    pub fn app(&self) -> u8 {
        self.0[0]
    }
    pub fn version(&self) -> u8 {
        self.0[1]
    }
    /// High nibble of byte 2: 0 normal, 1 test.
    pub fn terminal_status(&self) -> u8 {
        self.0[2] >> 4
    }
    pub fn is_test(&self) -> bool {
        self.terminal_status() == 1
    }
    pub fn processing_request(&self) -> ProcessingRequest {
        ProcessingRequest::from_nibble(self.0[2] & 0x0F)
    }
    pub fn with_terminal_status(mut self, status: u8) -> Header {
        self.0[2] = (status << 4) | (self.0[2] & 0x0F);
        self
    }
    pub fn with_processing_request(mut self, req: ProcessingRequest) -> Header {
        self.0[2] = (self.0[2] & 0xF0) | req.nibble();
        self
    }
    pub fn sub_version(&self) -> [u8; 3] {
        [self.0[3], self.0[4], self.0[5]]
    }
    pub fn from_hex(s: &str) -> Result<Header, EncodeError> {
        let b =
            hex::decode(s.trim()).map_err(|e| EncodeError::new("header", format!("{e}: {s:?}")))?;
        let arr: [u8; 6] = b.try_into().map_err(|b: Vec<u8>| {
            EncodeError::new("header", format!("header is 6 bytes, got {}", b.len()))
        })?;
        Ok(Header(arr))
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_upper(self.0))
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Header({self})")
    }
}

/// How a frame is wrapped on its link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Guess from the bytes (decode only).
    Auto,
    /// 2-byte big-endian length + TPDU + header + body (TCP, GPRS, CDMA, WiFi).
    Tcp,
    /// `STX | len (2 B BCD) | TPDU + header + body | ETX | LRC` (RS-232 to a NAC).
    Serial,
    /// TPDU + header + body with no length (dial-up SDLC).
    Bare,
    /// The ISO 8583 body alone (MTI first).
    Body,
}

impl Framing {
    pub fn as_str(self) -> &'static str {
        match self {
            Framing::Auto => "auto",
            Framing::Tcp => "tcp",
            Framing::Serial => "serial",
            Framing::Bare => "bare",
            Framing::Body => "body",
        }
    }
}

impl FromStr for Framing {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "auto" => Framing::Auto,
            "tcp" => Framing::Tcp,
            "serial" => Framing::Serial,
            "bare" | "tpdu" => Framing::Bare,
            "body" => Framing::Body,
            _ => {
                return Err(format!(
                    "unknown framing {s:?} (auto, tcp, serial, bare, body)"
                ))
            }
        })
    }
}

pub const STX: u8 = 0x02;
pub const ETX: u8 = 0x03;

/// Longest payload the TCP length prefix can carry.
pub const MAX_TCP_PAYLOAD: usize = u16::MAX as usize;

/// Wrap a payload (TPDU + header + body) in the TCP length prefix.
pub fn wrap_tcp(payload: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let len = u16::try_from(payload.len()).map_err(|_| {
        EncodeError::new(
            "length",
            format!("payload of {} bytes exceeds 65535", payload.len()),
        )
    })?;
    let mut out = Vec::with_capacity(payload.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

/// Wrap a payload in the serial frame; the length is 4 BCD digits.
pub fn wrap_serial(payload: &[u8]) -> Result<Vec<u8>, EncodeError> {
    if payload.len() > 9999 {
        return Err(EncodeError::new(
            "length",
            format!("serial payload of {} bytes exceeds 9999", payload.len()),
        ));
    }
    let mut out = Vec::with_capacity(payload.len() + 5);
    out.push(STX);
    super::bcd::write_len(&mut out, payload.len(), 2);
    out.extend_from_slice(payload);
    out.push(ETX);
    out.push(lrc(&out[1..]));
    Ok(out)
}

/// XOR of the length bytes, the payload and ETX.
pub fn lrc(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

/// Find one complete TCP frame at the start of `buf`: `Ok(Some((payload range, consumed)))`,
/// `Ok(None)` when more bytes are needed, or an error for a length above `max`.
pub fn split_tcp(
    buf: &[u8],
    max: usize,
) -> Result<Option<(std::ops::Range<usize>, usize)>, DecodeError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let len = u16::from_be_bytes([buf[0], buf[1]]) as usize;
    if len > max || len == 0 {
        let kind = DecodeErrorKind::Framing(format!("length prefix {len} outside 1..={max}"));
        return Err(DecodeError::new("length", 0, kind, buf, 0));
    }
    if buf.len() < 2 + len {
        return Ok(None);
    }
    Ok(Some((2..2 + len, 2 + len)))
}

/// Find one complete serial frame at the start of `buf`, verifying ETX and LRC.
pub fn split_serial(buf: &[u8]) -> Result<Option<(std::ops::Range<usize>, usize)>, DecodeError> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] != STX {
        let kind = DecodeErrorKind::Framing(format!("expected STX 02, found {:02X}", buf[0]));
        return Err(DecodeError::new("stx", 0, kind, buf, 0));
    }
    if buf.len() < 3 {
        return Ok(None);
    }
    let Some(len) = super::bcd::read_len(&buf[1..3]) else {
        let prefix = hex::encode_upper(&buf[1..3]);
        return Err(DecodeError::new(
            "length",
            1,
            DecodeErrorKind::BadLengthPrefix { prefix },
            buf,
            1,
        ));
    };
    let total = 3 + len + 2;
    if buf.len() < total {
        return Ok(None);
    }
    let etx_at = 3 + len;
    if buf[etx_at] != ETX {
        let kind = DecodeErrorKind::Framing(format!(
            "expected ETX 03 after {len} payload bytes, found {:02X}",
            buf[etx_at]
        ));
        return Err(DecodeError::new("etx", etx_at, kind, buf, etx_at));
    }
    let want = lrc(&buf[1..=etx_at]);
    if buf[etx_at + 1] != want {
        let kind = DecodeErrorKind::Framing(format!(
            "LRC {:02X} does not match computed {want:02X}",
            buf[etx_at + 1]
        ));
        return Err(DecodeError::new("lrc", etx_at + 1, kind, buf, etx_at + 1));
    }
    Ok(Some((3..3 + len, total)))
}

/// A message with its routing wrapper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub tpdu: Option<Tpdu>,
    pub header: Option<Header>,
    pub message: Message,
}

impl Frame {
    /// TPDU + header + packed body.
    pub fn payload(&self, codec: &Codec) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(256);
        if let Some(t) = &self.tpdu {
            out.extend_from_slice(&t.0);
        }
        if let Some(h) = &self.header {
            out.extend_from_slice(&h.0);
        }
        codec.pack_into(&self.message, &mut out)?;
        Ok(out)
    }

    /// The frame as sent on a link of the given framing (`Auto` means TCP).
    pub fn pack(&self, codec: &Codec, framing: Framing) -> Result<Vec<u8>, EncodeError> {
        let payload = self.payload(codec)?;
        match framing {
            Framing::Tcp | Framing::Auto => wrap_tcp(&payload),
            Framing::Serial => wrap_serial(&payload),
            Framing::Bare | Framing::Body => Ok(payload),
        }
    }
}

/// A decoded frame with the position of every element in the input.
#[derive(Debug, Clone)]
pub struct DecodedFrame {
    pub framing: Framing,
    pub tpdu: Option<Tpdu>,
    pub header: Option<Header>,
    pub message: Message,
    /// MTI (number 0), bitmap (1) and fields, with absolute offsets.
    pub spans: Vec<FieldSpan>,
    /// The body's range (MTI to the end of the last field) in the input.
    pub body: std::ops::Range<usize>,
}

impl DecodedFrame {
    /// The MAC block (MTI through field 63) when field 64 is present.
    pub fn mab<'a>(&self, input: &'a [u8]) -> Option<&'a [u8]> {
        let f64 = self.spans.iter().find(|s| s.number == 64)?;
        input.get(self.body.start..f64.offset)
    }

    /// The wire bytes of field `n` (length prefix included).
    pub fn raw<'a>(&self, input: &'a [u8], n: u8) -> Option<&'a [u8]> {
        let s = self.spans.iter().find(|s| s.number == n)?;
        input.get(s.offset..s.offset + s.len)
    }
}

/// Decide how `input` is framed.
pub fn detect(input: &[u8]) -> Framing {
    if input.len() >= 6 && input[0] == STX {
        if let Some(len) = super::bcd::read_len(&input[1..3]) {
            if input.len() == len + 5 && input[len + 3] == ETX {
                return Framing::Serial;
            }
        }
    }
    if input.len() >= 2 && u16::from_be_bytes([input[0], input[1]]) as usize == input.len() - 2 {
        return Framing::Tcp;
    }
    if input.first().is_some_and(|b| *b == 0x60 || *b == 0x68) {
        return Framing::Bare;
    }
    Framing::Body
}

/// Decode a whole frame; the error keeps whatever decoded before it.
pub fn decode_frame(
    codec: &Codec,
    input: &[u8],
    framing: Framing,
) -> Result<DecodedFrame, PartialDecode> {
    let no_partial = |error: DecodeError| PartialDecode {
        error,
        partial: None,
    };
    let framing = if framing == Framing::Auto {
        detect(input)
    } else {
        framing
    };
    let payload = match framing {
        Framing::Tcp => {
            let Some((range, used)) = split_tcp(input, MAX_TCP_PAYLOAD).map_err(no_partial)? else {
                let declared = if input.len() >= 2 {
                    u16::from_be_bytes([input[0], input[1]]) as usize
                } else {
                    0
                };
                let kind = DecodeErrorKind::FrameLength {
                    declared,
                    actual: input.len().saturating_sub(2),
                };
                return Err(no_partial(DecodeError::new("length", 0, kind, input, 0)));
            };
            if used != input.len() {
                let kind = DecodeErrorKind::FrameLength {
                    declared: range.len(),
                    actual: input.len() - 2,
                };
                return Err(no_partial(DecodeError::new("length", 0, kind, input, 0)));
            }
            range
        }
        Framing::Serial => {
            let Some((range, used)) = split_serial(input).map_err(no_partial)? else {
                let kind = DecodeErrorKind::Framing("serial frame is incomplete".into());
                return Err(no_partial(DecodeError::new("length", 1, kind, input, 1)));
            };
            if used != input.len() {
                let kind = DecodeErrorKind::TrailingBytes {
                    extra: input.len() - used,
                };
                return Err(no_partial(DecodeError::new("lrc", used, kind, input, used)));
            }
            range
        }
        Framing::Bare | Framing::Body | Framing::Auto => 0..input.len(),
    };
    let mut pos = payload.start;
    let (mut tpdu, mut header) = (None, None);
    if framing != Framing::Body {
        let Some(t) = input.get(pos..pos + 5) else {
            let kind = DecodeErrorKind::Truncated {
                needed: 5,
                available: payload.end - pos,
            };
            return Err(no_partial(DecodeError::new("tpdu", pos, kind, input, pos)));
        };
        tpdu = Some(Tpdu([t[0], t[1], t[2], t[3], t[4]]));
        pos += 5;
        // An MTI starts with nibble 0; the CUP header starts with 6x.
        if input.get(pos).is_some_and(|b| b >> 4 != 0) {
            let Some(h) = input.get(pos..pos + 6).filter(|_| pos + 6 <= payload.end) else {
                let kind = DecodeErrorKind::Truncated {
                    needed: 6,
                    available: payload.end - pos,
                };
                return Err(no_partial(DecodeError::new(
                    "header", pos, kind, input, pos,
                )));
            };
            header = Some(Header([h[0], h[1], h[2], h[3], h[4], h[5]]));
            pos += 6;
        }
    }
    let mut spans = Vec::with_capacity(32);
    let body = &input[pos..payload.end];
    let message = codec.unpack_at(body, pos, Some(&mut spans))?;
    Ok(DecodedFrame {
        framing,
        tpdu,
        header,
        message,
        spans,
        body: pos..payload.end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso8583::cup::CUP_DIRECT;
    use crate::iso8583::message::Mti;

    fn signin() -> Frame {
        Frame {
            tpdu: Some(Tpdu([0x60, 0x00, 0x03, 0x00, 0x00])),
            header: Some(Header([0x60, 0x31, 0x00, 0x31, 0x00, 0x00])),
            message: Message::new(Mti::parse("0800").unwrap())
                .with(11, "000001")
                .with(41, "12345678")
                .with(42, "898110048120001")
                .with(60, "00000001004")
                .with(63, "01 "),
        }
    }

    /// cup-direct-8583.md §13 V2: the 0800 sign-in frame.
    #[test]
    fn digest_signin_frame_packs_byte_for_byte() {
        let codec = Codec::new(&CUP_DIRECT);
        let bytes = signin().pack(&codec, Framing::Tcp).unwrap();
        let want = "003C6000030000603100310000080000200000 00C00012000001313233343536373838393831313030343831323030303100110000000100400003303120"
            .replace(' ', "");
        assert_eq!(hex::encode_upper(&bytes), want);
        let d = decode_frame(&codec, &bytes, Framing::Auto).unwrap();
        assert_eq!(d.framing, Framing::Tcp);
        assert_eq!(d.message, signin().message);
        assert_eq!(d.tpdu.unwrap().swapped().to_string(), "6000000003");
    }

    #[test]
    fn serial_frames_carry_bcd_length_and_lrc() {
        let codec = Codec::new(&CUP_DIRECT);
        let bytes = signin().pack(&codec, Framing::Serial).unwrap();
        assert_eq!(
            &bytes[..3],
            &[0x02, 0x00, 0x60],
            "60 payload bytes as BCD 0060"
        );
        assert_eq!(bytes[bytes.len() - 2], ETX);
        assert_eq!(detect(&bytes), Framing::Serial);
        assert_eq!(
            decode_frame(&codec, &bytes, Framing::Auto).unwrap().message,
            signin().message
        );
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xFF;
        let e = decode_frame(&codec, &bad, Framing::Serial)
            .unwrap_err()
            .error;
        assert_eq!((e.path.as_str(), e.offset), ("lrc", last));
    }

    #[test]
    fn wrong_length_prefix_is_reported() {
        let codec = Codec::new(&CUP_DIRECT);
        let mut bytes = signin().pack(&codec, Framing::Tcp).unwrap();
        bytes[1] += 1;
        let e = decode_frame(&codec, &bytes, Framing::Tcp)
            .unwrap_err()
            .error;
        assert_eq!(e.path, "length");
        assert_eq!(
            e.kind,
            DecodeErrorKind::FrameLength {
                declared: 61,
                actual: 60
            }
        );
    }

    #[test]
    fn body_and_bare_frames_are_detected() {
        let codec = Codec::new(&CUP_DIRECT);
        let s = signin();
        let body = codec.pack(&s.message).unwrap();
        assert_eq!(detect(&body), Framing::Body);
        let bare = s.pack(&codec, Framing::Bare).unwrap();
        assert_eq!(detect(&bare), Framing::Bare);
        let d = decode_frame(&codec, &bare, Framing::Auto).unwrap();
        assert_eq!(d.header.unwrap().to_string(), "603100310000");
        assert_eq!(d.body, 11..bare.len());
    }

    #[test]
    fn header_nibbles() {
        let h = Header::from_hex("603110310000").unwrap();
        assert!(h.is_test());
        let r = h.with_processing_request(ProcessingRequest::SignInAgain);
        assert_eq!(r.to_string(), "603113310000");
        assert_eq!(r.processing_request(), ProcessingRequest::SignInAgain);
    }

    #[test]
    fn streaming_split_waits_for_the_whole_frame() {
        let codec = Codec::new(&CUP_DIRECT);
        let bytes = signin().pack(&codec, Framing::Tcp).unwrap();
        assert_eq!(split_tcp(&bytes[..10], 4096).unwrap(), None);
        assert_eq!(
            split_tcp(&bytes, 4096).unwrap(),
            Some((2..bytes.len(), bytes.len()))
        );
        assert!(split_tcp(&[0xFF, 0xFF], 4096).is_err());
    }
}
