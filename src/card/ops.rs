//! Terminal-side PBOC commands that are not a load or a purchase: select, PIN, balance, EF15,
//! log. Each sends one APDU through `&mut dyn Card` and checks the answer's shape, so a card
//! that answers garbage is named rather than misread.

use thiserror::Error;

use super::apdu::{sw, sw_meaning, Apdu, Response};
use super::pboc::{LogRecord, PurseKind, LOG_RECORDS, RECORD_LEN, SFI_EF15, SFI_LOG};
use super::{Card, CardError};

#[derive(Debug, Error)]
pub enum PbocError {
    #[error(transparent)]
    Card(#[from] CardError),
    /// The card answered a status word other than 9000.
    #[error("{command}: card answered {sw:04X} ({})", sw_meaning(*.sw))]
    Refused { command: &'static str, sw: u16 },
    #[error("{command}: {detail}")]
    Malformed {
        command: &'static str,
        detail: String,
    },
    /// A MAC or TAC computed by the other side does not verify.
    #[error("{what} does not verify: expected {expected}, got {got}")]
    BadMac {
        what: &'static str,
        expected: String,
        got: String,
    },
    #[error("{0}")]
    Usage(String),
}

impl PbocError {
    /// 1 the card (or issuer) refused, 2 usage/fixture, 3 infrastructure.
    pub fn exit_code(&self) -> i32 {
        match self {
            PbocError::Card(e) if e.is_infrastructure() => 3,
            PbocError::Card(e) if e.is_config() => 2,
            PbocError::Usage(_) => 2,
            _ => 1,
        }
    }

    /// The status word the card answered, if that is what this is.
    pub fn sw(&self) -> Option<u16> {
        match self {
            PbocError::Refused { sw, .. } => Some(*sw),
            _ => None,
        }
    }
}

/// Send `apdu`, parse the answer, and demand 9000 and a data length in `len`.
pub fn exchange(
    card: &mut dyn Card,
    command: &'static str,
    apdu: &Apdu,
    len: std::ops::RangeInclusive<usize>,
) -> Result<Vec<u8>, PbocError> {
    let bytes = apdu.to_bytes().map_err(CardError::from)?;
    let raw = card.transmit(&bytes)?;
    let r = Response::parse(&raw).map_err(|e| PbocError::Malformed {
        command,
        detail: e.to_string(),
    })?;
    if r.sw != sw::OK {
        return Err(PbocError::Refused { command, sw: r.sw });
    }
    if !len.contains(&r.data.len()) {
        return Err(PbocError::Malformed {
            command,
            detail: format!(
                "{} data bytes, expected {}..={} ({})",
                r.data.len(),
                len.start(),
                len.end(),
                hex::encode_upper(&r.data)
            ),
        });
    }
    Ok(r.data)
}

/// SELECT the PBOC application by FID 1001 (what most cards and the virtual card answer).
pub fn select_app(card: &mut dyn Card) -> Result<(), PbocError> {
    let a = Apdu::new(0x00, 0xA4, 0x00, 0x00).with_data(vec![0x10, 0x01]);
    exchange(card, "SELECT 1001", &a, 0..=255).map(|_| ())
}

/// VERIFY the PIN (digits; odd lengths padded with F).
pub fn verify_pin(card: &mut dyn Card, pin: &str) -> Result<(), PbocError> {
    if !(4..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PbocError::Usage("PIN must be 4 to 12 digits".into()));
    }
    let mut s = pin.to_string();
    if s.len() % 2 == 1 {
        s.push('F');
    }
    let data = hex::decode(&s).map_err(|e| PbocError::Usage(e.to_string()))?;
    let a = Apdu::new(0x00, 0x20, 0x00, 0x00).with_data(data);
    exchange(card, "VERIFY", &a, 0..=0).map(|_| ())
}

pub fn get_challenge(card: &mut dyn Card) -> Result<[u8; 4], PbocError> {
    let a = Apdu::new(0x00, 0x84, 0x00, 0x00).with_le(4);
    let d = exchange(card, "GET CHALLENGE", &a, 4..=4)?;
    Ok([d[0], d[1], d[2], d[3]])
}

/// GET BALANCE of one purse, in fen.
pub fn get_balance(card: &mut dyn Card, purse: PurseKind) -> Result<u32, PbocError> {
    let a = Apdu::new(0x80, 0x5C, 0x00, purse.p2()).with_le(4);
    let d = exchange(card, "GET BALANCE", &a, 4..=4)?;
    Ok(u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
}

/// EF15 (public basic data), read by SFI.
pub fn read_ef15(card: &mut dyn Card) -> Result<Vec<u8>, PbocError> {
    let a = Apdu::new(0x00, 0xB0, 0x80 | SFI_EF15, 0x00).with_le(256);
    exchange(card, "READ BINARY EF15", &a, 20..=255)
}

/// The application serial number (EF15[10..20]).
pub fn app_serial(ef15: &[u8]) -> Result<[u8; 10], PbocError> {
    ef15.get(10..20)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| PbocError::Malformed {
            command: "READ BINARY EF15",
            detail: format!("{} bytes, no serial at [10..20]", ef15.len()),
        })
}

/// The diversification factor the issuer uses: the serial's rightmost 8 bytes.
pub fn factor_of(serial: &[u8; 10]) -> [u8; 8] {
    let mut d = [0u8; 8];
    d.copy_from_slice(&serial[2..]);
    d
}

/// One log record (1 = newest); `Ok(None)` when the card has no such record (6A83).
pub fn read_log_record(card: &mut dyn Card, n: u8) -> Result<Option<LogRecord>, PbocError> {
    let a = Apdu::new(0x00, 0xB2, n, (SFI_LOG << 3) | 0x04).with_le(RECORD_LEN as u16);
    match exchange(card, "READ RECORD", &a, RECORD_LEN..=RECORD_LEN) {
        Ok(d) => Ok(LogRecord::parse(&d)),
        Err(PbocError::Refused {
            sw: sw::RECORD_NOT_FOUND,
            ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The whole log, newest first.
pub fn read_log(card: &mut dyn Card) -> Result<Vec<LogRecord>, PbocError> {
    let mut v = Vec::new();
    for n in 1..=LOG_RECORDS as u8 {
        match read_log_record(card, n)? {
            Some(r) => v.push(r),
            None => break,
        }
    }
    Ok(v)
}

/// BCD date and time (YYYYMMDD, hhmmss) from digits.
pub fn bcd_datetime(date: &str, time: &str) -> Result<([u8; 4], [u8; 3]), PbocError> {
    let bad = || {
        PbocError::Usage(format!(
            "date/time {date:?} {time:?} is not YYYYMMDD hhmmss"
        ))
    };
    if date.len() != 8
        || time.len() != 6
        || !(date.to_string() + time)
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let d = hex::decode(date).map_err(|_| bad())?;
    let t = hex::decode(time).map_err(|_| bad())?;
    Ok(([d[0], d[1], d[2], d[3]], [t[0], t[1], t[2]]))
}

/// A 6-byte terminal id from 12 hex digits.
pub fn terminal_id(s: &str) -> Result<[u8; 6], PbocError> {
    let b = hex::decode(s).map_err(|e| PbocError::Usage(format!("terminal id {s:?}: {e}")))?;
    b.try_into()
        .map_err(|_| PbocError::Usage(format!("terminal id {s:?} must be 12 hex digits")))
}

/// What GET TRANSACTION PROVE answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prove {
    /// MAC2 of the transaction.
    pub mac: [u8; 4],
    pub tac: [u8; 4],
}

/// GET TRANSACTION PROVE (`80 5A 00 type 02 ctr 08`): the MAC and TAC of a finished
/// transaction, for a terminal that lost the card's answer. `Ok(None)` when the card has no
/// such transaction (9406).
pub fn get_transaction_prove(
    card: &mut dyn Card,
    txn_type: u8,
    ctr: u16,
) -> Result<Option<Prove>, PbocError> {
    let a = Apdu::new(0x80, 0x5A, 0x00, txn_type)
        .with_data(ctr.to_be_bytes().to_vec())
        .with_le(8);
    match exchange(card, "GET TRANSACTION PROVE", &a, 8..=8) {
        Ok(d) => Ok(Some(Prove {
            mac: [d[0], d[1], d[2], d[3]],
            tac: [d[4], d[5], d[6], d[7]],
        })),
        Err(PbocError::Refused {
            sw: sw::MAC_NOT_AVAILABLE,
            ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Set a posconf virtual card's fault switches through APDUs (`80 F0 00 00 01 mask`), which
/// works across pcscd/vpcd; an in-process virtual card is set directly. A card without test
/// hooks answers 6D00, reported as a refusal.
pub fn set_faults(card: &mut dyn Card, faults: super::pboc::Faults) -> Result<(), PbocError> {
    if let Some(v) = card.as_virtual() {
        v.set_faults(faults);
        return Ok(());
    }
    let a = Apdu::new(0x80, 0xF0, 0x00, 0x00).with_data(vec![faults.to_mask()]);
    exchange(card, "posconf test hooks (80 F0)", &a, 0..=0).map(|_| ())
}
