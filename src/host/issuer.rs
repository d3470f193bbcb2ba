//! The issuer role for PBOC e-purse / e-passbook loads (圈存, issue 5) inside the centre.
//!
//! # Message choice (posconf's own; the seeds define no ISO 8583 encoding for loads)
//!
//! Every load message is a financial message with **60.1 = `48`** (a type code the seed's table
//! leaves free) and **field 3 = `600000`** (load to the chip from the cardholder's account).
//! The card data travels in **field 62** (binary LLLVAR, which the dialect already has for
//! private data); field 55 stays reserved for EMV TLV data and is not used. Fixed layouts,
//! every one opening with a version byte `01`:
//!
//! | message | field 62 |
//! |---|---|
//! | 0200 load request | `01` ‖ purse (01 ED, 02 EP) ‖ application serial 10 ‖ INITIALIZE FOR LOAD answer 16 (old balance 4, online counter 2, key version, algorithm id, random 4, MAC1 4) ‖ PBOC terminal id 6 — 34 bytes; the amount is field 4 |
//! | 0210 approval | `01` ‖ host date 4 (YYYYMMDD BCD) ‖ host time 3 ‖ MAC2 4 — 12 bytes |
//! | 0220 confirmation (TAC upload) | `01` ‖ original trace 3 (BCD) ‖ TAC 4 — 8 bytes |
//! | 0400 reversal | none: field 11 is the original trace (as for every CUP reversal) |
//!
//! Response codes: `00` approved; `A7` (security failure) when MAC1 or the TAC does not verify;
//! `30` when field 62 is malformed; `25` when a confirmation or reversal names no load;
//! `94` for a second confirmation; `12` for a reversal of a load the card has confirmed.
//! The request MAC (field 64) and sign-in are checked as for every financial message.
//!
//! The host books each load in [`PbocHost::loads`] (and a `pboc_*` event in the transcript):
//! approved (the account debited, MAC2 sent), then confirmed (TAC verified) or reversed (the
//! card was not credited, money back).

use serde::Serialize;
use serde_json::{json, Value as Json};

use crate::card::fixture::PbocFixtures;
use crate::card::issuer::{Issuer, LoadRequest};
use crate::card::load::InitLoadResponse;
use crate::card::pboc::PurseKind;
use crate::crypto::pboc::LoadMacInput;
use crate::crypto::working_keys::WorkingKeys;
use crate::crypto::MacAlgorithm;
use crate::iso8583::frame::DecodedFrame;
use crate::iso8583::{Message, Value};

/// 60.1 of every load message.
pub const LOAD_TYPE: &str = "48";
/// Field 3 of every load message.
pub const LOAD_PROC: &str = "600000";
const VERSION: u8 = 0x01;

/// True for the load messages this module answers (0200, 0220, 0400 with 60.1 = 48).
pub fn is_pboc(req: &Message) -> bool {
    matches!(req.mti.as_str(), "0200" | "0220" | "0400")
        && req.text(60).and_then(|f| f.get(0..2)) == Some(LOAD_TYPE)
}

/// Field 62 of a load request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadRequest62 {
    pub purse: PurseKind,
    pub serial: [u8; 10],
    pub init: InitLoadResponse,
    pub terminal_id: [u8; 6],
}

impl LoadRequest62 {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![VERSION, self.purse.p2()];
        v.extend(self.serial);
        v.extend(self.init.to_bytes());
        v.extend(self.terminal_id);
        v
    }

    pub fn parse(b: &[u8]) -> Option<LoadRequest62> {
        if b.len() != 34 || b[0] != VERSION {
            return None;
        }
        Some(LoadRequest62 {
            purse: PurseKind::from_p2(b[1])?,
            serial: b[2..12].try_into().ok()?,
            init: InitLoadResponse::parse(&b[12..28])?,
            terminal_id: b[28..34].try_into().ok()?,
        })
    }
}

/// Field 62 of a load approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadAnswer62 {
    pub host_date: [u8; 4],
    pub host_time: [u8; 3],
    pub mac2: [u8; 4],
}

impl LoadAnswer62 {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![VERSION];
        v.extend(self.host_date);
        v.extend(self.host_time);
        v.extend(self.mac2);
        v
    }

    pub fn parse(b: &[u8]) -> Option<LoadAnswer62> {
        if b.len() != 12 || b[0] != VERSION {
            return None;
        }
        Some(LoadAnswer62 {
            host_date: b[1..5].try_into().ok()?,
            host_time: b[5..8].try_into().ok()?,
            mac2: b[8..12].try_into().ok()?,
        })
    }
}

/// Field 62 of a confirmation (TAC upload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm62 {
    /// The load's trace number, 6 digits.
    pub orig_stan: String,
    pub tac: [u8; 4],
}

impl Confirm62 {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![VERSION];
        v.extend(hex::decode(format!("{:0>6}", self.orig_stan)).unwrap_or_else(|_| vec![0; 3]));
        v.extend(self.tac);
        v
    }

    pub fn parse(b: &[u8]) -> Option<Confirm62> {
        if b.len() != 8 || b[0] != VERSION {
            return None;
        }
        let stan = hex::encode(&b[1..4]);
        if !stan.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        Some(Confirm62 {
            orig_stan: stan,
            tac: b[4..8].try_into().ok()?,
        })
    }
}

/// Where a load stands in the host's book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadState {
    /// MAC1 verified, account debited, MAC2 sent; the TAC is due.
    Authorised,
    /// The terminal uploaded a TAC that verifies.
    Confirmed,
    /// The terminal uploaded a TAC that does not verify (the load stays booked; a human looks).
    TacInvalid,
    /// The terminal reversed it: the card was not credited; the money is back.
    Reversed,
}

/// One load in the host's book.
#[derive(Debug, Clone, Serialize)]
pub struct LoadRecord {
    pub tid: String,
    pub stan: String,
    pub serial: String,
    pub purse: PurseKind,
    pub amount: u32,
    pub online_ctr: u16,
    pub state: LoadState,
    #[serde(skip)]
    factor: [u8; 8],
    #[serde(skip)]
    issuer: String,
    #[serde(skip)]
    expected: LoadMacInput,
}

/// Host-side fault switches (negative tests of the terminal and the card).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostFaults {
    /// Approve with a MAC2 that has one bit flipped: the card must answer 9302.
    pub wrong_mac2: bool,
}

/// The issuer role's state in a centre.
#[derive(Debug, Clone)]
pub struct PbocHost {
    fixtures: Option<PbocFixtures>,
    pub loads: Vec<LoadRecord>,
    pub faults: HostFaults,
}

impl Default for PbocHost {
    fn default() -> PbocHost {
        PbocHost::builtin()
    }
}

/// The current year in China Standard Time (the centre's clock gives only MMDD).
fn cst_year() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + 8 * 3600;
    super::centre::civil_from_days((secs / 86_400) as i64).0
}

fn bcd<const N: usize>(digits: &str) -> Option<[u8; N]> {
    if digits.len() != 2 * N || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    hex::decode(digits).ok()?.try_into().ok()
}

impl PbocHost {
    /// With the built-in `fixtures/pboc-cards.yaml` issuers (none if it fails to parse, which
    /// a unit test rules out).
    pub fn builtin() -> PbocHost {
        PbocHost::new(PbocFixtures::builtin().ok())
    }

    pub fn new(fixtures: Option<PbocFixtures>) -> PbocHost {
        PbocHost {
            fixtures,
            loads: Vec::new(),
            faults: HostFaults::default(),
        }
    }

    /// The issuer of the card with this serial: the fixture card's issuer, else the first
    /// issuer (any card it issued diversifies from the same master keys).
    fn issuer_for(&self, serial: &[u8; 10]) -> Option<Issuer> {
        let fx = self.fixtures.as_ref()?;
        let s = hex::encode_upper(serial);
        let name = fx
            .cards
            .iter()
            .find(|c| c.app_serial.eq_ignore_ascii_case(&s))
            .map(|c| c.issuer.clone())
            .or_else(|| fx.issuers.first().map(|i| i.name.clone()))?;
        Issuer::from_fixture(fx.issuer(&name).ok()?).ok()
    }

    fn issuer_named(&self, name: &str) -> Option<Issuer> {
        let fx = self.fixtures.as_ref()?;
        Issuer::from_fixture(fx.issuer(name).ok()?).ok()
    }

    /// The load booked under this terminal and trace.
    pub fn load(&self, tid: &str, stan: &str) -> Option<&LoadRecord> {
        self.loads.iter().find(|l| l.tid == tid && l.stan == stan)
    }

    /// Answer one load message. `keys`: the terminal's working keys if it is signed in.
    /// Returns field 39; fills field 62 of `resp` on approval.
    #[allow(clippy::too_many_arguments)]
    pub fn handle(
        &mut self,
        frame: &DecodedFrame,
        raw: &[u8],
        keys: Option<&WorkingKeys>,
        mac: MacAlgorithm,
        tid: &str,
        resp: &mut Message,
        date: &str,
        time: &str,
        events: &mut Vec<Json>,
    ) -> Option<String> {
        let req = &frame.message;
        let stan = req.text(11).unwrap_or("").to_string();
        let Some(keys) = keys else {
            events.push(json!({"event": "not_signed_in", "tid": tid, "mti": req.mti.as_str(), "stan": stan}));
            return Some("A0".into());
        };
        let mac_ok = match (req.bytes(64), frame.mab(raw)) {
            (Some(found), Some(mab)) => mac
                .compute(&keys.mak, mab)
                .is_ok_and(|m| m.as_slice() == found),
            _ => false,
        };
        if !mac_ok {
            events.push(json!({"event": "mac_failed", "tid": tid, "stan": stan}));
            return Some("A0".into());
        }
        Some(match req.mti.as_str() {
            "0200" => self.load_request(req, tid, &stan, resp, date, time, events),
            "0220" => self.confirm(req, tid, events),
            _ => self.reverse(tid, &stan, events),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn load_request(
        &mut self,
        req: &Message,
        tid: &str,
        stan: &str,
        resp: &mut Message,
        date: &str,
        time: &str,
        events: &mut Vec<Json>,
    ) -> String {
        // The same load sent again (same terminal and trace) is a duplicate, not a second load:
        // answered 94 and not booked, so the book never counts money twice.
        if self.loads.iter().any(|l| l.tid == tid && l.stan == stan) {
            events.push(
                json!({"event": "pboc_load", "tid": tid, "stan": stan, "result": "duplicate"}),
            );
            return "94".into();
        }
        let amount = req.text(4).and_then(|a| a.parse::<u32>().ok());
        let (Some(r), Some(amount)) = (req.bytes(62).and_then(LoadRequest62::parse), amount) else {
            events.push(
                json!({"event": "pboc_load", "tid": tid, "stan": stan, "result": "format_error"}),
            );
            return "30".into();
        };
        let Some(issuer) = self.issuer_for(&r.serial) else {
            events.push(
                json!({"event": "pboc_load", "tid": tid, "stan": stan, "result": "no_issuer"}),
            );
            return "15".into();
        };
        let factor = crate::card::ops::factor_of(&r.serial);
        let (Some(host_date), Some(host_time)) = (
            bcd::<4>(&format!("{:04}{date}", cst_year())),
            bcd::<3>(time),
        ) else {
            return "96".into();
        };
        let lr = LoadRequest {
            factor,
            purse: r.purse,
            amount,
            terminal_id: r.terminal_id,
            init: r.init,
        };
        let serial = hex::encode_upper(r.serial);
        match issuer.authorise_load(&lr, host_date, host_time) {
            Err(e) => {
                events.push(json!({"event": "pboc_load", "tid": tid, "stan": stan, "serial": serial, "amount": amount, "result": "refused", "reason": e.to_string()}));
                "A7".into()
            }
            Ok(mut auth) => {
                if self.faults.wrong_mac2 {
                    auth.mac2[3] ^= 0x01;
                }
                resp.set(
                    62,
                    Value::Binary(
                        LoadAnswer62 {
                            host_date,
                            host_time,
                            mac2: auth.mac2,
                        }
                        .to_bytes(),
                    ),
                );
                events.push(json!({"event": "pboc_load", "tid": tid, "stan": stan, "serial": serial, "amount": amount, "online_ctr": r.init.online_ctr, "old_balance": r.init.old_balance, "result": "approved"}));
                self.loads.push(LoadRecord {
                    tid: tid.to_string(),
                    stan: stan.to_string(),
                    serial,
                    purse: r.purse,
                    amount,
                    online_ctr: r.init.online_ctr,
                    state: LoadState::Authorised,
                    factor,
                    issuer: issuer.name.clone(),
                    expected: auth.expected,
                });
                "00".into()
            }
        }
    }

    fn confirm(&mut self, req: &Message, tid: &str, events: &mut Vec<Json>) -> String {
        let Some(c) = req.bytes(62).and_then(Confirm62::parse) else {
            return "30".into();
        };
        let Some(i) = self
            .loads
            .iter()
            .position(|l| l.tid == tid && l.stan == c.orig_stan)
        else {
            events.push(json!({"event": "pboc_confirm", "tid": tid, "orig_stan": c.orig_stan, "result": "not_found"}));
            return "25".into();
        };
        match self.loads[i].state {
            LoadState::Confirmed => return "94".into(),
            LoadState::Reversed => return "12".into(),
            LoadState::Authorised | LoadState::TacInvalid => {}
        }
        let l = self.loads[i].clone();
        let ok = self
            .issuer_named(&l.issuer)
            .is_some_and(|iss| iss.verify_load_tac(l.factor, &l.expected, c.tac).is_ok());
        self.loads[i].state = if ok {
            LoadState::Confirmed
        } else {
            LoadState::TacInvalid
        };
        events.push(json!({"event": "pboc_confirm", "tid": tid, "orig_stan": c.orig_stan, "tac": hex::encode_upper(c.tac), "result": if ok { "tac_verified" } else { "tac_invalid" }}));
        if ok { "00" } else { "A7" }.into()
    }

    fn reverse(&mut self, tid: &str, stan: &str, events: &mut Vec<Json>) -> String {
        let Some(l) = self
            .loads
            .iter_mut()
            .find(|l| l.tid == tid && l.stan == stan)
        else {
            events.push(
                json!({"event": "pboc_reversal", "tid": tid, "stan": stan, "result": "not_found"}),
            );
            return "25".into();
        };
        let code = match l.state {
            LoadState::Authorised => {
                l.state = LoadState::Reversed;
                "00"
            }
            LoadState::Reversed => "00",
            LoadState::Confirmed | LoadState::TacInvalid => "12",
        };
        events.push(json!({"event": "pboc_reversal", "tid": tid, "stan": stan, "amount": l.amount, "result": code}));
        code.into()
    }

    /// Net amount the host has moved to cards: loads not reversed.
    pub fn loaded_total(&self) -> u64 {
        self.loads
            .iter()
            .filter(|l| l.state != LoadState::Reversed)
            .map(|l| u64::from(l.amount))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_62_layouts_round_trip_and_refuse_garbage() {
        let r = LoadRequest62 {
            purse: PurseKind::Ep,
            serial: [0, 0, 0x20, 0x25, 0, 0, 0, 0, 0, 1],
            init: InitLoadResponse {
                old_balance: 1000,
                online_ctr: 7,
                key_version: 1,
                alg_id: 0,
                random: [0xA1, 0xB2, 0xC3, 0xD4],
                mac1: [0x41, 0x89, 0x03, 0x66],
            },
            terminal_id: [0x11, 0x22, 0x33, 0x44, 0x55, 0x66],
        };
        let b = r.to_bytes();
        assert_eq!(b.len(), 34);
        assert_eq!(
            hex::encode_upper(&b),
            "01020000202500000000000100000 3E80007010 0A1B2C3D441890366112233445566"
                .replace(' ', "")
        );
        assert_eq!(LoadRequest62::parse(&b), Some(r));
        assert_eq!(LoadRequest62::parse(&b[1..]), None);
        let a = LoadAnswer62 {
            host_date: [0x20, 0x25, 0x03, 0x14],
            host_time: [0x10, 0x30, 0],
            mac2: [0x8D, 0x4D, 0x5E, 0xFF],
        };
        assert_eq!(LoadAnswer62::parse(&a.to_bytes()), Some(a));
        let c = Confirm62 {
            orig_stan: "000123".into(),
            tac: [1, 2, 3, 4],
        };
        assert_eq!(hex::encode_upper(c.to_bytes()), "0100012301020304");
        assert_eq!(Confirm62::parse(&c.to_bytes()), Some(c));
        assert_eq!(Confirm62::parse(&[1, 0xAB, 0, 0, 1, 2, 3, 4]), None);
        assert!(PbocHost::builtin().fixtures.is_some());
    }

    use crate::card::load::{credit_for_load, init_for_load};
    use crate::card::{ops, PbocCard};
    use crate::iso8583::Mti;

    fn msg(mti: &str, amount: u32, f62: Vec<u8>) -> Message {
        Message::new(Mti::parse(mti).unwrap())
            .with(4, format!("{amount:012}"))
            .with(60, "48000001")
            .with(62, Value::Binary(f62))
    }

    /// The issuer's book through a load's life: MAC1 checked, MAC2 accepted by the card, the
    /// TAC confirmed once (94 after), no reversal of a confirmed load, unknown loads 25.
    #[test]
    fn book_states_and_codes() {
        let fx = PbocFixtures::builtin().unwrap();
        let mut host = PbocHost::builtin();
        let mut card = PbocCard::from_fixture(&fx, "ep1").unwrap();
        let c: &mut dyn crate::card::Card = &mut card;
        ops::select_app(c).unwrap();
        let serial = ops::app_serial(&ops::read_ef15(c).unwrap()).unwrap();
        ops::verify_pin(c, "123456").unwrap();
        let tid6 = [0, 0, 0x12, 0x34, 0x56, 0x78];
        let init = init_for_load(c, 1, 500, tid6, PurseKind::Ep).unwrap();
        let req = |init: InitLoadResponse| LoadRequest62 {
            purse: PurseKind::Ep,
            serial,
            init,
            terminal_id: tid6,
        };
        let mut ev = Vec::new();
        let mut resp = Message::new(Mti::parse("0210").unwrap());
        let mut bad = init;
        bad.mac1[0] ^= 1;
        let m = msg("0200", 500, req(bad).to_bytes());
        assert_eq!(
            host.load_request(&m, "T1", "000001", &mut resp, "0314", "103000", &mut ev),
            "A7"
        );
        assert!(host.loads.is_empty() && resp.get(62).is_none());
        let m = msg("0200", 501, req(init).to_bytes());
        assert_eq!(
            host.load_request(&m, "T1", "000001", &mut resp, "0314", "103000", &mut ev),
            "A7",
            "amount differs from the card's"
        );
        let m = msg("0200", 500, vec![1, 2, 3]);
        assert_eq!(
            host.load_request(&m, "T1", "000001", &mut resp, "0314", "103000", &mut ev),
            "30"
        );
        let m = msg("0200", 500, req(init).to_bytes());
        assert_eq!(
            host.load_request(&m, "T1", "000002", &mut resp, "0314", "103000", &mut ev),
            "00"
        );
        let a = LoadAnswer62::parse(resp.bytes(62).unwrap()).unwrap();
        assert_eq!(&hex::encode(a.host_time), "103000");
        // The same request again (same terminal and trace): a duplicate, not a second load.
        let mut again = Message::new(Mti::parse("0210").unwrap());
        assert_eq!(
            host.load_request(&m, "T1", "000002", &mut again, "0314", "103000", &mut ev),
            "94"
        );
        assert_eq!(host.loads.len(), 1, "booked once");
        let tac = credit_for_load(c, a.host_date, a.host_time, a.mac2).unwrap();
        assert_eq!(
            host.load("T1", "000002").unwrap().state,
            LoadState::Authorised
        );
        let confirm = |stan: &str, tac: [u8; 4]| {
            msg(
                "0220",
                500,
                Confirm62 {
                    orig_stan: stan.into(),
                    tac,
                }
                .to_bytes(),
            )
        };
        assert_eq!(host.confirm(&confirm("000009", tac), "T1", &mut ev), "25");
        let mut wrong = tac;
        wrong[2] ^= 4;
        assert_eq!(host.confirm(&confirm("000002", wrong), "T1", &mut ev), "A7");
        assert_eq!(
            host.load("T1", "000002").unwrap().state,
            LoadState::TacInvalid
        );
        assert_eq!(host.confirm(&confirm("000002", tac), "T1", &mut ev), "00");
        assert_eq!(
            host.load("T1", "000002").unwrap().state,
            LoadState::Confirmed
        );
        assert_eq!(host.confirm(&confirm("000002", tac), "T1", &mut ev), "94");
        assert_eq!(host.reverse("T1", "000002", &mut ev), "12");
        assert_eq!(host.reverse("T1", "000077", &mut ev), "25");
        assert_eq!(host.loaded_total(), 500);
        assert!(
            is_pboc(&m)
                && !is_pboc(&Message::new(Mti::parse("0200").unwrap()).with(60, "22000001"))
        );
    }
}
