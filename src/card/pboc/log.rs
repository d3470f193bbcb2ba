//! The 23-byte transaction-log record of EF18 (digest §1), shared by the card and the terminal.

use serde::Serialize;

pub const RECORD_LEN: usize = 23;
/// EF18 is cyclic with this many records; record 1 is the newest.
pub const LOG_RECORDS: usize = 10;

/// Transaction type ids (MAC input and log).
pub mod txn_type {
    pub const ED_LOAD: u8 = 0x01;
    pub const EP_LOAD: u8 = 0x02;
    /// Unconfirmed in the digest ([U]); used by the virtual card for e-passbook purchases.
    pub const ED_PURCHASE: u8 = 0x05;
    pub const EP_PURCHASE: u8 = 0x06;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LogRecord {
    /// The online (load) or offline (purchase) counter before the transaction.
    pub serial: u16,
    pub overdraft: u32,
    pub amount: u32,
    pub txn_type: u8,
    #[serde(serialize_with = "hex_ser")]
    pub terminal_id: [u8; 6],
    #[serde(serialize_with = "hex_ser")]
    pub date: [u8; 4],
    #[serde(serialize_with = "hex_ser")]
    pub time: [u8; 3],
}

fn hex_ser<S: serde::Serializer, const N: usize>(b: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode_upper(b))
}

impl LogRecord {
    pub fn to_bytes(&self) -> [u8; RECORD_LEN] {
        let mut r = [0u8; RECORD_LEN];
        r[0..2].copy_from_slice(&self.serial.to_be_bytes());
        r[2..5].copy_from_slice(&self.overdraft.to_be_bytes()[1..]);
        r[5..9].copy_from_slice(&self.amount.to_be_bytes());
        r[9] = self.txn_type;
        r[10..16].copy_from_slice(&self.terminal_id);
        r[16..20].copy_from_slice(&self.date);
        r[20..23].copy_from_slice(&self.time);
        r
    }

    /// Decode a record; None unless exactly 23 bytes.
    pub fn parse(b: &[u8]) -> Option<LogRecord> {
        if b.len() != RECORD_LEN {
            return None;
        }
        let mut terminal_id = [0u8; 6];
        terminal_id.copy_from_slice(&b[10..16]);
        Some(LogRecord {
            serial: u16::from_be_bytes([b[0], b[1]]),
            overdraft: u32::from_be_bytes([0, b[2], b[3], b[4]]),
            amount: u32::from_be_bytes([b[5], b[6], b[7], b[8]]),
            txn_type: b[9],
            terminal_id,
            date: [b[16], b[17], b[18], b[19]],
            time: [b[20], b[21], b[22]],
        })
    }

    pub fn type_name(&self) -> &'static str {
        match self.txn_type {
            txn_type::ED_LOAD => "ED load",
            txn_type::EP_LOAD => "EP load",
            txn_type::ED_PURCHASE => "ED purchase",
            txn_type::EP_PURCHASE => "EP purchase",
            0x09 => "CAPP purchase",
            _ => "other",
        }
    }
}

impl std::fmt::Display for LogRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "#{:04} {:<11} {:>9}.{:02} CNY  terminal {}  {} {}",
            self.serial,
            self.type_name(),
            self.amount / 100,
            self.amount % 100,
            hex::encode_upper(self.terminal_id),
            hex::encode_upper(self.date),
            hex::encode_upper(self.time)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_digest_table() {
        let r = LogRecord {
            serial: 7,
            overdraft: 0x010203,
            amount: 2000,
            txn_type: 2,
            terminal_id: [0x11, 0x22, 0x33, 0x44, 0x55, 0x66],
            date: [0x20, 0x25, 0x03, 0x14],
            time: [0x10, 0x30, 0x00],
        };
        let b = r.to_bytes();
        assert_eq!(
            hex::encode_upper(b),
            "0007010203000007D00211223344556620250314103000"
        );
        assert_eq!(LogRecord::parse(&b), Some(r));
        assert_eq!(LogRecord::parse(&b[1..]), None);
    }
}
