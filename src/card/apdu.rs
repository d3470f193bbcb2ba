//! Short ISO 7816-4 command APDUs (cases 1–4) and status words. Extended length is refused:
//! PBOC commands never need it, and refusing keeps the card emulator's parser small.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApduError {
    #[error("APDU too short: {0} bytes (a header is 4)")]
    TooShort(usize),
    #[error("extended-length APDU (Lc = 00 followed by more bytes) is not supported")]
    Extended,
    #[error("Lc = {lc} but {got} data bytes follow (with at most one Le byte)")]
    LengthMismatch { lc: usize, got: usize },
    #[error("data of {0} bytes does not fit a short APDU (max 255)")]
    DataTooLong(usize),
    #[error("response of {0} bytes has no status word")]
    NoStatusWord(usize),
    #[error("not hex: {0}")]
    Hex(String),
}

/// A parsed short command APDU. `le`: None = no Le (cases 1, 3); Some(256) = Le byte `00`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apdu {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    pub le: Option<u16>,
}

impl Apdu {
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Apdu {
        Apdu {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Apdu {
        self.data = data.into();
        self
    }

    /// Le 1..=256 (256 is written as `00`).
    pub fn with_le(mut self, le: u16) -> Apdu {
        self.le = Some(le);
        self
    }

    /// Parse cases 1–4 (short).
    pub fn parse(b: &[u8]) -> Result<Apdu, ApduError> {
        if b.len() < 4 {
            return Err(ApduError::TooShort(b.len()));
        }
        let mut a = Apdu::new(b[0], b[1], b[2], b[3]);
        match b.len() {
            4 => {}
            5 => a.le = Some(if b[4] == 0 { 256 } else { u16::from(b[4]) }),
            n => {
                let lc = usize::from(b[4]);
                if lc == 0 {
                    return Err(ApduError::Extended);
                }
                let rest = n - 5;
                if rest == lc {
                    a.data = b[5..].to_vec();
                } else if rest == lc + 1 {
                    a.data = b[5..5 + lc].to_vec();
                    let le = b[5 + lc];
                    a.le = Some(if le == 0 { 256 } else { u16::from(le) });
                } else {
                    return Err(ApduError::LengthMismatch { lc, got: rest });
                }
            }
        }
        Ok(a)
    }

    /// Encode (short).
    pub fn to_bytes(&self) -> Result<Vec<u8>, ApduError> {
        if self.data.len() > 255 {
            return Err(ApduError::DataTooLong(self.data.len()));
        }
        let mut v = vec![self.cla, self.ins, self.p1, self.p2];
        if !self.data.is_empty() {
            v.push(self.data.len() as u8);
            v.extend(&self.data);
        }
        if let Some(le) = self.le {
            v.push(if le >= 256 { 0 } else { le as u8 });
        }
        Ok(v)
    }
}

/// Parse hex (spaces allowed) into bytes: for APDUs typed by people and fixtures.
pub fn from_hex(s: &str) -> Result<Vec<u8>, ApduError> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(&clean).map_err(|e| ApduError::Hex(e.to_string()))
}

/// A response APDU split into data and SW1SW2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: u16,
}

impl Response {
    pub fn parse(b: &[u8]) -> Result<Response, ApduError> {
        if b.len() < 2 {
            return Err(ApduError::NoStatusWord(b.len()));
        }
        let n = b.len() - 2;
        Ok(Response {
            data: b[..n].to_vec(),
            sw: u16::from_be_bytes([b[n], b[n + 1]]),
        })
    }

    pub fn ok(&self) -> bool {
        self.sw == sw::OK
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = self.data.clone();
        v.extend(self.sw.to_be_bytes());
        v
    }
}

/// Status words the PBOC card and terminal use (digest §2).
pub mod sw {
    pub const OK: u16 = 0x9000;
    pub const MAC_INVALID: u16 = 0x9302;
    pub const APP_LOCKED: u16 = 0x9303;
    pub const INSUFFICIENT_BALANCE: u16 = 0x9401;
    pub const COUNTER_MAX: u16 = 0x9402;
    pub const KEY_INDEX: u16 = 0x9403;
    pub const MAC_NOT_AVAILABLE: u16 = 0x9406;
    pub const PIN_BLOCKED: u16 = 0x6983;
    pub const SECURITY: u16 = 0x6982;
    pub const CONDITIONS: u16 = 0x6985;
    pub const NO_CURRENT_EF: u16 = 0x6986;
    pub const SM_MISSING: u16 = 0x6987;
    pub const SM_WRONG: u16 = 0x6988;
    pub const WRONG_LENGTH: u16 = 0x6700;
    pub const FILE_NOT_FOUND: u16 = 0x6A82;
    pub const RECORD_NOT_FOUND: u16 = 0x6A83;
    pub const WRONG_P1P2: u16 = 0x6A86;
    pub const WRONG_OFFSET: u16 = 0x6B00;
    pub const INS_UNSUPPORTED: u16 = 0x6D00;
    pub const CLA_UNSUPPORTED: u16 = 0x6E00;
    pub const FUNCTION_UNSUPPORTED: u16 = 0x6A81;
}

/// What a status word means, for people reading `posconf card` output and reports.
pub fn sw_meaning(sw: u16) -> String {
    let s = match sw {
        0x9000 => "OK",
        0x9302 => "MAC invalid",
        0x9303 => "application permanently locked",
        0x9401 => "insufficient balance",
        0x9402 => "transaction counter at maximum",
        0x9403 => "key index not supported",
        0x9406 => "required MAC not available",
        0x6983 => "PIN blocked",
        0x6982 => "security status not satisfied",
        0x6984 => "reference data not usable",
        0x6985 => "conditions of use not satisfied",
        0x6986 => "command not allowed (no current EF)",
        0x6987 => "secure-messaging MAC missing",
        0x6988 => "secure-messaging MAC wrong",
        0x6700 => "wrong length",
        0x6A81 => "function not supported",
        0x6A82 => "file not found",
        0x6A83 => "record not found",
        0x6A86 => "wrong P1/P2",
        0x6B00 => "offset outside the file",
        0x6D00 => "instruction not supported",
        0x6E00 => "class not supported",
        _ if sw & 0xFFF0 == 0x63C0 => {
            return format!("PIN wrong, {} tries left", sw & 0x000F);
        }
        _ => "unknown status word",
    };
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_one_to_four_round_trip() {
        for h in [
            "00A40000",
            "0084000004",
            "00A4000002 3F00",
            "805000020B 01 000007D0 112233445566 10",
            "00B0950000",
        ] {
            let b = from_hex(h).unwrap();
            assert_eq!(Apdu::parse(&b).unwrap().to_bytes().unwrap(), b, "{h}");
        }
        let a = Apdu::parse(&from_hex("805000020B01000007D011223344556610").unwrap()).unwrap();
        assert_eq!((a.cla, a.ins, a.p1, a.p2), (0x80, 0x50, 0x00, 0x02));
        assert_eq!(a.data.len(), 11);
        assert_eq!(a.le, Some(0x10));
        assert_eq!(Apdu::parse(&[0, 0xB0, 0, 0, 0]).unwrap().le, Some(256));
    }

    #[test]
    fn malformed_apdus_are_named() {
        assert_eq!(Apdu::parse(&[0, 1, 2]), Err(ApduError::TooShort(3)));
        assert_eq!(
            Apdu::parse(&[0, 1, 2, 3, 0, 1, 2]),
            Err(ApduError::Extended)
        );
        assert_eq!(
            Apdu::parse(&[0, 1, 2, 3, 4, 1]),
            Err(ApduError::LengthMismatch { lc: 4, got: 1 })
        );
        assert!(Apdu::new(0, 0, 0, 0)
            .with_data(vec![0; 256])
            .to_bytes()
            .is_err());
    }

    #[test]
    fn responses_and_meanings() {
        let r = Response::parse(&[1, 2, 0x90, 0]).unwrap();
        assert!(r.ok());
        assert_eq!(r.data, vec![1, 2]);
        assert_eq!(r.to_bytes(), vec![1, 2, 0x90, 0]);
        assert!(Response::parse(&[0x90]).is_err());
        assert_eq!(sw_meaning(0x63C2), "PIN wrong, 2 tries left");
        assert_eq!(sw_meaning(0x9403), "key index not supported");
    }
}
