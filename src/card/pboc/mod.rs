//! A virtual PBOC 2.0 e-purse / e-passbook card, in process. It answers the APDUs of the
//! digest §1 with the status words of §2 and the crypto of `crate::crypto::pboc`, keeps its
//! balance, counters and log atomically (a CREDIT or DEBIT is one state swap), and has fault
//! switches so negative tests need no special hardware.
//!
//! Nothing here panics on APDU input: every command is parsed with [`Apdu::parse`] and checked
//! for length before any byte is indexed (a property test throws random APDUs at it).

pub mod log;

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::apdu::{sw, Apdu, Response};
use super::{Card, CardError};
use crate::card::fixture::{PbocCardFixture, PbocFixtures, PurseFixture};
use crate::crypto::pboc::{self, LoadMacInput, PurchaseMacInput};
use crate::crypto::DesKey;
use crate::fixtures::FixtureError;
pub use log::{txn_type, LogRecord, LOG_RECORDS, RECORD_LEN};

/// EF15 (public basic data) short file id and FID.
pub const SFI_EF15: u8 = 0x15;
/// EF18 (transaction log) short file id.
pub const SFI_LOG: u8 = 0x18;
/// The PSE name: selects the MF.
pub const PSE: &[u8] = b"1PAY.SYS.DDF01";

/// The card's own keys (already diversified) and what INIT answers about them.
#[derive(Debug, Clone)]
pub struct CardKeys {
    pub dlk: DesKey,
    pub dpk: DesKey,
    pub dtk: DesKey,
    pub damk: DesKey,
    pub key_index: u8,
    pub key_version: u8,
    pub alg_id: u8,
}

/// Which purse: the P2 of GET BALANCE and INITIALIZE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PurseKind {
    /// E-passbook (电子存折), P2 = 01.
    Ed,
    /// E-purse (电子钱包), P2 = 02.
    Ep,
}

impl PurseKind {
    pub fn p2(self) -> u8 {
        match self {
            PurseKind::Ed => 0x01,
            PurseKind::Ep => 0x02,
        }
    }
    pub fn from_p2(p2: u8) -> Option<PurseKind> {
        match p2 {
            0x01 => Some(PurseKind::Ed),
            0x02 => Some(PurseKind::Ep),
            _ => None,
        }
    }
    pub fn load_type(self) -> u8 {
        match self {
            PurseKind::Ed => txn_type::ED_LOAD,
            PurseKind::Ep => txn_type::EP_LOAD,
        }
    }
    pub fn purchase_type(self) -> u8 {
        match self {
            PurseKind::Ed => txn_type::ED_PURCHASE,
            PurseKind::Ep => txn_type::EP_PURCHASE,
        }
    }
}

/// One purse's persistent state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PurseState {
    pub balance: u32,
    pub online_ctr: u16,
    pub offline_ctr: u16,
    pub overdraft: u32,
}

impl From<PurseFixture> for PurseState {
    fn from(p: PurseFixture) -> PurseState {
        PurseState {
            balance: p.balance,
            online_ctr: p.online_ctr,
            offline_ctr: p.offline_ctr,
            overdraft: p.overdraft,
        }
    }
}

/// Everything that survives a power cycle (the card's EEPROM). Updated only by whole-struct
/// replacement, so a torn write is either all applied or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Persistent {
    pub ep: Option<PurseState>,
    pub ed: Option<PurseState>,
    /// Newest first, at most [`LOG_RECORDS`].
    pub log: Vec<LogRecord>,
    #[serde(serialize_with = "hex_vec")]
    pub ef15: Vec<u8>,
    pub pin_tries_left: u8,
    /// What GET TRANSACTION PROVE answers for the last transactions, newest first.
    pub proofs: Vec<Proof>,
}

/// The MAC and TAC of a completed transaction, kept so a terminal that lost the answer (card
/// pulled during CREDIT/DEBIT) can still get the TAC for the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Proof {
    pub txn_type: u8,
    /// The counter before the transaction (as in the log).
    pub ctr: u16,
    /// MAC2 (the host's, for a load; the card's, for a purchase).
    #[serde(serialize_with = "hex4")]
    pub mac: [u8; 4],
    #[serde(serialize_with = "hex4")]
    pub tac: [u8; 4],
}

fn hex4<S: serde::Serializer>(b: &[u8; 4], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode_upper(b))
}

fn hex_vec<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode_upper(b))
}

impl Persistent {
    pub fn purse(&self, k: PurseKind) -> Option<&PurseState> {
        match k {
            PurseKind::Ed => self.ed.as_ref(),
            PurseKind::Ep => self.ep.as_ref(),
        }
    }
    fn purse_mut(&mut self, k: PurseKind) -> Option<&mut PurseState> {
        match k {
            PurseKind::Ed => self.ed.as_mut(),
            PurseKind::Ep => self.ep.as_mut(),
        }
    }
    fn push_log(&mut self, r: LogRecord, mac: [u8; 4], tac: [u8; 4]) {
        self.proofs.insert(
            0,
            Proof {
                txn_type: r.txn_type,
                ctr: r.serial,
                mac,
                tac,
            },
        );
        self.proofs.truncate(LOG_RECORDS);
        self.log.insert(0, r);
        self.log.truncate(LOG_RECORDS);
    }
}

/// Where a torn CREDIT/DEBIT stops: before the state swap (nothing applied) or after it
/// (applied, but the terminal never sees the TAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tear {
    BeforeCommit,
    AfterCommit,
}

/// Fault switches for negative tests. `pull_after_init` and `tear` fire once.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// INITIALIZE FOR LOAD answers a MAC1 with one bit flipped.
    pub wrong_mac1: bool,
    /// CREDIT FOR LOAD / DEBIT FOR PURCHASE answer 9000 without the TAC.
    pub no_tac: bool,
    /// The card is pulled right after answering INITIALIZE (the next command finds no card).
    pub pull_after_init: bool,
    /// The card loses power during the CREDIT/DEBIT write.
    pub tear: Option<Tear>,
}

impl Faults {
    /// The data byte of the `80 F0` test command: 01 wrong MAC1, 02 no TAC, 04 pull after
    /// INIT, 08 tear before commit, 10 tear after commit.
    pub fn to_mask(self) -> u8 {
        u8::from(self.wrong_mac1)
            | u8::from(self.no_tac) << 1
            | u8::from(self.pull_after_init) << 2
            | match self.tear {
                None => 0,
                Some(Tear::BeforeCommit) => 0x08,
                Some(Tear::AfterCommit) => 0x10,
            }
    }

    pub fn from_mask(m: u8) -> Faults {
        Faults {
            wrong_mac1: m & 0x01 != 0,
            no_tac: m & 0x02 != 0,
            pull_after_init: m & 0x04 != 0,
            tear: if m & 0x08 != 0 {
                Some(Tear::BeforeCommit)
            } else if m & 0x10 != 0 {
                Some(Tear::AfterCommit)
            } else {
                None
            },
        }
    }
}

#[derive(Debug, Clone)]
enum Pending {
    Load {
        purse: PurseKind,
        seslk: DesKey,
        mac: LoadMacInput,
    },
    Purchase {
        purse: PurseKind,
        random: [u8; 4],
        amount: u32,
        terminal_id: [u8; 6],
        old: PurseState,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selected {
    Mf,
    Adf,
    Ef15,
}

/// The virtual card.
pub struct PbocCard {
    name: String,
    atr: Vec<u8>,
    aid: Vec<u8>,
    pin: Vec<u8>,
    pin_tries_max: u8,
    require_pin: bool,
    keys: CardKeys,
    state: Persistent,
    present: bool,
    powered: bool,
    selected: Selected,
    pin_verified: bool,
    challenge: Option<[u8; 8]>,
    pending: Option<Pending>,
    randoms: VecDeque<[u8; 4]>,
    faults: Faults,
    test_hooks: bool,
}

impl std::fmt::Debug for PbocCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PbocCard")
            .field("name", &self.name)
            .field("state", &self.state)
            .field("present", &self.present)
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

/// PIN digits to BCD, odd lengths padded with F (as VERIFY sends them).
fn pin_bcd(pin: &str) -> Vec<u8> {
    let mut s = pin.to_string();
    if s.len() % 2 == 1 {
        s.push('F');
    }
    hex::decode(&s).unwrap_or_default()
}

/// A card's keys from its issuer's master keys and its diversification factor.
pub fn diversified_keys(
    masters: &[DesKey; 4],
    factor: [u8; 8],
    key_index: u8,
    key_version: u8,
    alg_id: u8,
) -> Result<CardKeys, FixtureError> {
    let d = |mk: &DesKey| {
        pboc::diversify(mk, factor).map_err(|e| FixtureError::Invalid {
            origin: "pboc-cards".into(),
            key: "issuers".into(),
            reason: e.to_string(),
        })
    };
    Ok(CardKeys {
        dlk: d(&masters[0])?,
        dpk: d(&masters[1])?,
        dtk: d(&masters[2])?,
        damk: d(&masters[3])?,
        key_index,
        key_version,
        alg_id,
    })
}

impl PbocCard {
    /// A card from the fixture, with keys diversified from its issuer's master keys.
    pub fn from_fixture(fx: &PbocFixtures, name: &str) -> Result<PbocCard, FixtureError> {
        let c = fx.card(name)?;
        let issuer = fx.issuer(&c.issuer)?;
        let keys = diversified_keys(
            &issuer.master_keys()?,
            c.factor()?,
            issuer.key_index,
            issuer.key_version,
            issuer.alg_id,
        )?;
        PbocCard::personalise(c, keys)
    }

    /// A card with the given (already diversified) keys, e.g. the digest's undiversified
    /// vectors A and B.
    pub fn personalise(c: &PbocCardFixture, keys: CardKeys) -> Result<PbocCard, FixtureError> {
        Ok(PbocCard {
            name: c.name.clone(),
            atr: c.atr()?,
            aid: c.aid()?,
            pin: pin_bcd(c.pin.expose()),
            pin_tries_max: c.pin_tries,
            require_pin: c.require_pin,
            keys,
            state: Persistent {
                ep: c.ep.map(PurseState::from),
                ed: c.ed.map(PurseState::from),
                log: Vec::new(),
                ef15: c.ef15()?,
                pin_tries_left: c.pin_tries,
                proofs: Vec::new(),
            },
            present: true,
            powered: false,
            selected: Selected::Mf,
            pin_verified: false,
            challenge: None,
            pending: None,
            randoms: VecDeque::new(),
            faults: Faults::default(),
            test_hooks: false,
        })
    }

    /// The persistent state (balances, counters, log, EF15, PIN tries).
    pub fn state(&self) -> &Persistent {
        &self.state
    }

    /// Overwrite a purse, e.g. to set a counter at its maximum in a test.
    pub fn set_purse(&mut self, k: PurseKind, p: Option<PurseState>) {
        match k {
            PurseKind::Ed => self.state.ed = p,
            PurseKind::Ep => self.state.ep = p,
        }
    }

    pub fn set_require_pin(&mut self, on: bool) {
        self.require_pin = on;
    }

    pub fn faults(&self) -> Faults {
        self.faults
    }

    pub fn set_faults(&mut self, f: Faults) {
        self.faults = f;
    }

    /// Accept posconf's fault-switch command `80 F0 00 00 01 mask` (see [`Faults::to_mask`]),
    /// so a card served through vpcd can be steered by a test on the other side of pcscd.
    /// Off by default: a card under test answers it 6D00 like any unknown instruction.
    pub fn set_test_hooks(&mut self, on: bool) {
        self.test_hooks = on;
    }

    /// Queue the next random numbers the card will use (GET CHALLENGE, INITIALIZE), so tests
    /// reproduce the digest's vectors; when empty the card draws from the OS.
    pub fn queue_randoms(&mut self, r: impl IntoIterator<Item = [u8; 4]>) {
        self.randoms.extend(r);
    }

    pub fn is_present(&self) -> bool {
        self.present
    }

    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    pub fn keys(&self) -> &CardKeys {
        &self.keys
    }

    /// Power off: the volatile session (selection, PIN, challenge, pending INIT) is gone.
    pub fn power_off(&mut self) {
        self.powered = false;
        self.selected = Selected::Mf;
        self.pin_verified = false;
        self.challenge = None;
        self.pending = None;
    }

    fn cold_reset(&mut self) {
        self.power_off();
        self.powered = true;
    }

    fn random4(&mut self) -> [u8; 4] {
        if let Some(r) = self.randoms.pop_front() {
            return r;
        }
        let mut r = [0u8; 4];
        if getrandom::fill(&mut r).is_err() {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0x5A5A_5A5A);
            r = t.to_be_bytes();
        }
        r
    }

    /// Process one C-APDU and return `data ‖ SW`. Never panics. `Err` only when a tear fault
    /// cuts power mid-write: then there is no answer at all, as a terminal would see it.
    pub fn process(&mut self, bytes: &[u8]) -> Result<Response, CardError> {
        let apdu = match Apdu::parse(bytes) {
            Ok(a) => a,
            Err(_) => return Ok(sw_only(sw::WRONG_LENGTH)),
        };
        let lost = |r: Result<Response, Fail>| match r {
            Ok(r) => Ok(r),
            Err(Fail::Sw(s)) => Ok(sw_only(s)),
            Err(Fail::Lost(e)) => Err(e),
        };
        Ok(match (apdu.cla, apdu.ins) {
            (0x00, 0xA4) => self.select(&apdu),
            (0x00, 0x20) => self.verify(&apdu),
            (0x00, 0x84) => self.get_challenge(&apdu),
            (0x80, 0x5C) => self.get_balance(&apdu),
            (0x80, 0x50) => self.initialize(&apdu),
            (0x80, 0x52) => return lost(self.credit_for_load(&apdu)),
            (0x80, 0x54) => return lost(self.debit_for_purchase(&apdu)),
            (0x00, 0xB0) => self.read_binary(&apdu),
            (0x00, 0xD6) => sw_only(sw::SECURITY),
            (0x04, 0xD6) => self.update_binary_sm(&apdu),
            (0x00, 0xB2) => self.read_record(&apdu),
            (0x80, 0x5A) => self.get_transaction_prove(&apdu),
            (0x80, 0xF0) if self.test_hooks => self.test_command(&apdu),
            (_, 0xA4 | 0x20 | 0x84 | 0x5C | 0x50 | 0x52 | 0x54 | 0xB0 | 0xD6 | 0xB2 | 0x5A) => {
                sw_only(sw::CLA_UNSUPPORTED)
            }
            (0x00 | 0x04 | 0x80 | 0x84, _) => sw_only(sw::INS_UNSUPPORTED),
            _ => sw_only(sw::CLA_UNSUPPORTED),
        })
    }

    fn select(&mut self, a: &Apdu) -> Response {
        match (a.p1, a.p2) {
            (0x00, 0x00) => {
                if a.data.len() != 2 {
                    return sw_only(sw::WRONG_LENGTH);
                }
                match (a.data[0], a.data[1]) {
                    (0x3F, 0x00) => {
                        self.selected = Selected::Mf;
                        ok(Vec::new())
                    }
                    (0x10, 0x01) => {
                        self.selected = Selected::Adf;
                        ok(self.fci(&self.aid.clone()))
                    }
                    (0x00, SFI_EF15) if self.selected != Selected::Mf => {
                        self.selected = Selected::Ef15;
                        ok(Vec::new())
                    }
                    _ => sw_only(sw::FILE_NOT_FOUND),
                }
            }
            (0x04, 0x00) => {
                if a.data.is_empty() || a.data.len() > 16 {
                    return sw_only(sw::WRONG_LENGTH);
                }
                if a.data == PSE {
                    self.selected = Selected::Mf;
                    ok(self.fci(PSE))
                } else if a.data == self.aid {
                    self.selected = Selected::Adf;
                    ok(self.fci(&self.aid.clone()))
                } else {
                    sw_only(sw::FILE_NOT_FOUND)
                }
            }
            _ => sw_only(sw::WRONG_P1P2),
        }
    }

    /// A minimal FCI: 6F { 84 name, A5 { 88 01 SFI-of-EF15 } }.
    fn fci(&self, name: &[u8]) -> Vec<u8> {
        let mut inner = vec![0x84, name.len() as u8];
        inner.extend(name);
        inner.extend([0xA5, 0x03, 0x88, 0x01, SFI_EF15]);
        let mut v = vec![0x6F, inner.len() as u8];
        v.extend(inner);
        v
    }

    fn verify(&mut self, a: &Apdu) -> Response {
        if (a.p1, a.p2) != (0, 0) {
            return sw_only(sw::WRONG_P1P2);
        }
        if !(2..=6).contains(&a.data.len()) {
            return sw_only(sw::WRONG_LENGTH);
        }
        if self.state.pin_tries_left == 0 {
            return sw_only(sw::PIN_BLOCKED);
        }
        if a.data == self.pin {
            self.state.pin_tries_left = self.pin_tries_max;
            self.pin_verified = true;
            return ok(Vec::new());
        }
        self.pin_verified = false;
        self.state.pin_tries_left -= 1;
        if self.state.pin_tries_left == 0 {
            sw_only(sw::PIN_BLOCKED)
        } else {
            sw_only(0x63C0 | u16::from(self.state.pin_tries_left))
        }
    }

    fn get_challenge(&mut self, a: &Apdu) -> Response {
        if (a.p1, a.p2) != (0, 0) {
            return sw_only(sw::WRONG_P1P2);
        }
        if !a.data.is_empty() || !matches!(a.le, Some(4) | Some(8)) {
            return sw_only(sw::WRONG_LENGTH);
        }
        let r1 = self.random4();
        let mut c = [0u8; 8];
        c[..4].copy_from_slice(&r1);
        let n = if a.le == Some(8) {
            let r2 = self.random4();
            c[4..].copy_from_slice(&r2);
            8
        } else {
            4
        };
        self.challenge = Some(c);
        ok(c[..n].to_vec())
    }

    fn pin_needed(&self, purse: PurseKind, load: bool) -> bool {
        self.require_pin && !self.pin_verified && (load || purse == PurseKind::Ed)
    }

    /// The purse a balance or INITIALIZE command works on, checked in the card's order:
    /// application selected (6985), purse present (6A82), PIN verified where needed (6982).
    fn open_purse(&self, purse: PurseKind, load: bool) -> Result<PurseState, Response> {
        if self.selected != Selected::Adf {
            return Err(sw_only(sw::CONDITIONS));
        }
        let Some(p) = self.state.purse(purse).copied() else {
            return Err(sw_only(sw::FILE_NOT_FOUND));
        };
        if self.pin_needed(purse, load) {
            return Err(sw_only(sw::SECURITY));
        }
        Ok(p)
    }

    fn get_balance(&mut self, a: &Apdu) -> Response {
        let Some(purse) = PurseKind::from_p2(a.p2).filter(|_| a.p1 == 0) else {
            return sw_only(sw::WRONG_P1P2);
        };
        if !a.data.is_empty() {
            return sw_only(sw::WRONG_LENGTH);
        }
        match self.open_purse(purse, false) {
            Ok(p) => ok(p.balance.to_be_bytes().to_vec()),
            Err(r) => r,
        }
    }

    /// INITIALIZE FOR LOAD (P1 00) and FOR PURCHASE (P1 01).
    fn initialize(&mut self, a: &Apdu) -> Response {
        // Any INITIALIZE ends the previous transaction, answered or not.
        self.pending = None;
        let Some(purse) = PurseKind::from_p2(a.p2) else {
            return sw_only(sw::WRONG_P1P2);
        };
        let load = match a.p1 {
            0x00 => true,
            0x01 => false,
            _ => return sw_only(sw::WRONG_P1P2),
        };
        if a.data.len() != 11 {
            return sw_only(sw::WRONG_LENGTH);
        }
        let p = match self.open_purse(purse, load) {
            Ok(p) => p,
            Err(r) => return r,
        };
        if a.data[0] != self.keys.key_index {
            return sw_only(sw::KEY_INDEX);
        }
        let amount = u32::from_be_bytes([a.data[1], a.data[2], a.data[3], a.data[4]]);
        let mut terminal_id = [0u8; 6];
        terminal_id.copy_from_slice(&a.data[5..11]);
        let r = if load {
            self.init_load(purse, p, amount, terminal_id)
        } else {
            self.init_purchase(purse, p, amount, terminal_id)
        };
        if r.sw == sw::OK && self.faults.pull_after_init {
            // The answer leaves the card; then the card leaves the field.
            self.faults.pull_after_init = false;
            self.present = false;
            self.power_off();
        }
        r
    }

    fn init_load(
        &mut self,
        purse: PurseKind,
        p: PurseState,
        amount: u32,
        terminal_id: [u8; 6],
    ) -> Response {
        if p.online_ctr == u16::MAX {
            return sw_only(sw::COUNTER_MAX);
        }
        let Some(new_balance) = p.balance.checked_add(amount) else {
            return sw_only(sw::CONDITIONS);
        };
        let random = self.random4();
        let Ok(seslk) = pboc::seslk(&self.keys.dlk, random, p.online_ctr.to_be_bytes()) else {
            return sw_only(sw::CONDITIONS);
        };
        let mac = LoadMacInput {
            old_balance: p.balance,
            amount,
            txn_type: purse.load_type(),
            terminal_id,
            host_date: [0; 4],
            host_time: [0; 3],
            online_ctr: p.online_ctr,
            new_balance,
        };
        let mut mac1 = pboc::load_mac1(&seslk, &mac);
        if self.faults.wrong_mac1 {
            mac1[3] ^= 0x01;
        }
        let mut d = Vec::with_capacity(16);
        d.extend(p.balance.to_be_bytes());
        d.extend(p.online_ctr.to_be_bytes());
        d.push(self.keys.key_version);
        d.push(self.keys.alg_id);
        d.extend(random);
        d.extend(mac1);
        self.pending = Some(Pending::Load { purse, seslk, mac });
        ok(d)
    }

    fn init_purchase(
        &mut self,
        purse: PurseKind,
        p: PurseState,
        amount: u32,
        terminal_id: [u8; 6],
    ) -> Response {
        if p.offline_ctr == u16::MAX {
            return sw_only(sw::COUNTER_MAX);
        }
        if u64::from(amount) > u64::from(p.balance) + u64::from(p.overdraft) {
            return sw_only(sw::INSUFFICIENT_BALANCE);
        }
        let random = self.random4();
        let mut d = Vec::with_capacity(15);
        d.extend(p.balance.to_be_bytes());
        d.extend(p.offline_ctr.to_be_bytes());
        d.extend(&p.overdraft.to_be_bytes()[1..]);
        d.push(self.keys.key_version);
        d.push(self.keys.alg_id);
        d.extend(random);
        self.pending = Some(Pending::Purchase {
            purse,
            random,
            amount,
            terminal_id,
            old: p,
        });
        ok(d)
    }

    /// Commit `next` unless a tear fault stops the write; Err = the card lost power.
    fn commit(&mut self, next: Persistent) -> Result<(), CardError> {
        match self.faults.tear.take() {
            None => {
                self.state = next;
                Ok(())
            }
            Some(t) => {
                if t == Tear::AfterCommit {
                    self.state = next;
                }
                self.present = false;
                self.power_off();
                Err(CardError::Removed)
            }
        }
    }

    fn credit_for_load(&mut self, a: &Apdu) -> Result<Response, Fail> {
        if (a.p1, a.p2) != (0, 0) {
            return Err(Fail::Sw(sw::WRONG_P1P2));
        }
        if a.data.len() != 11 {
            return Err(Fail::Sw(sw::WRONG_LENGTH));
        }
        let Some(Pending::Load {
            purse,
            seslk,
            mut mac,
        }) = self.pending.take()
        else {
            return Err(Fail::Sw(sw::CONDITIONS));
        };
        mac.host_date.copy_from_slice(&a.data[0..4]);
        mac.host_time.copy_from_slice(&a.data[4..7]);
        let got = &a.data[7..11];
        if pboc::load_mac2(&seslk, &mac) != got {
            return Err(Fail::Sw(sw::MAC_INVALID));
        }
        let tac_key = pboc::tac_key(&self.keys.dtk).map_err(|_| Fail::Sw(sw::CONDITIONS))?;
        let tac = pboc::load_tac(&tac_key, &mac);
        let mut next = self.state.clone();
        let Some(p) = next.purse_mut(purse) else {
            return Err(Fail::Sw(sw::FILE_NOT_FOUND));
        };
        p.balance = mac.new_balance;
        p.online_ctr = mac.online_ctr.wrapping_add(1);
        let overdraft = p.overdraft;
        next.push_log(
            LogRecord {
                serial: mac.online_ctr,
                overdraft,
                amount: mac.amount,
                txn_type: mac.txn_type,
                terminal_id: mac.terminal_id,
                date: mac.host_date,
                time: mac.host_time,
            },
            [got[0], got[1], got[2], got[3]],
            tac,
        );
        self.commit(next).map_err(Fail::Lost)?;
        Ok(if self.faults.no_tac {
            ok(Vec::new())
        } else {
            ok(tac.to_vec())
        })
    }

    fn debit_for_purchase(&mut self, a: &Apdu) -> Result<Response, Fail> {
        if (a.p1, a.p2) != (0x01, 0x00) {
            return Err(Fail::Sw(sw::WRONG_P1P2));
        }
        if a.data.len() != 15 {
            return Err(Fail::Sw(sw::WRONG_LENGTH));
        }
        let Some(Pending::Purchase {
            purse,
            random,
            amount,
            terminal_id,
            old,
        }) = self.pending.take()
        else {
            return Err(Fail::Sw(sw::CONDITIONS));
        };
        let mut serial = [0u8; 4];
        serial.copy_from_slice(&a.data[0..4]);
        let mut date = [0u8; 4];
        date.copy_from_slice(&a.data[4..8]);
        let mut time = [0u8; 3];
        time.copy_from_slice(&a.data[8..11]);
        let got = &a.data[11..15];
        let sespk = pboc::sespk(
            &self.keys.dpk,
            random,
            old.offline_ctr.to_be_bytes(),
            serial,
        )
        .map_err(|_| Fail::Sw(sw::CONDITIONS))?;
        let mac = PurchaseMacInput {
            amount,
            txn_type: purse.purchase_type(),
            terminal_id,
            terminal_serial: serial,
            date,
            time,
        };
        if pboc::purchase_mac1(&sespk, &mac) != got {
            return Err(Fail::Sw(sw::MAC_INVALID));
        }
        let tac_key = pboc::tac_key(&self.keys.dtk).map_err(|_| Fail::Sw(sw::CONDITIONS))?;
        let tac = pboc::purchase_tac(&tac_key, &mac);
        let mac2 = pboc::purchase_mac2(&sespk, &mac);
        let mut next = self.state.clone();
        let Some(p) = next.purse_mut(purse) else {
            return Err(Fail::Sw(sw::FILE_NOT_FOUND));
        };
        // INIT checked amount ≤ balance + overdraft; the overdraft is not modelled further.
        p.balance = p.balance.saturating_sub(amount);
        p.offline_ctr = old.offline_ctr.wrapping_add(1);
        let overdraft = p.overdraft;
        next.push_log(
            LogRecord {
                serial: old.offline_ctr,
                overdraft,
                amount,
                txn_type: mac.txn_type,
                terminal_id,
                date,
                time,
            },
            mac2,
            tac,
        );
        self.commit(next).map_err(Fail::Lost)?;
        let mut d = Vec::with_capacity(8);
        if !self.faults.no_tac {
            d.extend(tac);
        }
        d.extend(mac2);
        Ok(ok(d))
    }

    fn read_binary(&mut self, a: &Apdu) -> Response {
        let (file, offset) = if a.p1 & 0x80 != 0 {
            if a.p1 & 0x60 != 0 {
                return sw_only(sw::WRONG_P1P2);
            }
            if a.p1 & 0x1F != SFI_EF15 {
                return sw_only(sw::FILE_NOT_FOUND);
            }
            (&self.state.ef15, usize::from(a.p2))
        } else if self.selected == Selected::Ef15 {
            (
                &self.state.ef15,
                usize::from(u16::from_be_bytes([a.p1, a.p2])),
            )
        } else {
            return sw_only(sw::NO_CURRENT_EF);
        };
        if !a.data.is_empty() {
            return sw_only(sw::WRONG_LENGTH);
        }
        if offset > file.len() {
            return sw_only(sw::WRONG_OFFSET);
        }
        let want = usize::from(a.le.unwrap_or(256));
        let end = file.len().min(offset + want);
        ok(file[offset..end].to_vec())
    }

    /// UPDATE BINARY with secure messaging (`04 D6`): data ‖ MAC4, MAC per digest §3.5 under
    /// DAMK with the last GET CHALLENGE as IV. The challenge is single-use.
    fn update_binary_sm(&mut self, a: &Apdu) -> Response {
        let offset = if a.p1 & 0x80 != 0 {
            if a.p1 & 0x1F != SFI_EF15 || a.p1 & 0x60 != 0 {
                return sw_only(sw::FILE_NOT_FOUND);
            }
            usize::from(a.p2)
        } else if self.selected == Selected::Ef15 {
            usize::from(u16::from_be_bytes([a.p1, a.p2]))
        } else {
            return sw_only(sw::NO_CURRENT_EF);
        };
        if a.data.len() < 5 {
            return sw_only(sw::SM_MISSING);
        }
        let Some(ch) = self.challenge.take() else {
            return sw_only(sw::CONDITIONS);
        };
        let n = a.data.len() - 4;
        let (body, mac) = a.data.split_at(n);
        let want = pboc::sm_mac(
            &self.keys.damk,
            [ch[0], ch[1], ch[2], ch[3]],
            [a.cla, a.ins, a.p1, a.p2],
            body,
        );
        if want != mac {
            return sw_only(sw::SM_WRONG);
        }
        if offset + n > self.state.ef15.len() {
            return sw_only(sw::WRONG_OFFSET);
        }
        let mut next = self.state.clone();
        next.ef15[offset..offset + n].copy_from_slice(body);
        self.state = next;
        ok(Vec::new())
    }

    /// GET TRANSACTION PROVE `80 5A 00 type 02 ctr 08` → MAC ‖ TAC of that transaction
    /// (digest §8 [U]: from memory; posconf's virtual card answers it as written here).
    fn get_transaction_prove(&mut self, a: &Apdu) -> Response {
        if a.p1 != 0 {
            return sw_only(sw::WRONG_P1P2);
        }
        if a.data.len() != 2 {
            return sw_only(sw::WRONG_LENGTH);
        }
        let ctr = u16::from_be_bytes([a.data[0], a.data[1]]);
        match self
            .state
            .proofs
            .iter()
            .find(|p| p.txn_type == a.p2 && p.ctr == ctr)
        {
            Some(p) => {
                let mut d = p.mac.to_vec();
                d.extend(p.tac);
                ok(d)
            }
            None => sw_only(sw::MAC_NOT_AVAILABLE),
        }
    }

    fn test_command(&mut self, a: &Apdu) -> Response {
        if (a.p1, a.p2) != (0, 0) {
            return sw_only(sw::WRONG_P1P2);
        }
        if a.data.len() != 1 {
            return sw_only(sw::WRONG_LENGTH);
        }
        self.faults = Faults::from_mask(a.data[0]);
        ok(Vec::new())
    }

    fn read_record(&mut self, a: &Apdu) -> Response {
        if a.p2 & 0x07 != 0x04 {
            return sw_only(sw::WRONG_P1P2);
        }
        if a.p2 >> 3 != SFI_LOG {
            return sw_only(sw::FILE_NOT_FOUND);
        }
        if a.p1 == 0 {
            return sw_only(sw::WRONG_P1P2);
        }
        if !a.data.is_empty() {
            return sw_only(sw::WRONG_LENGTH);
        }
        match self.state.log.get(usize::from(a.p1) - 1) {
            Some(r) => ok(r.to_bytes().to_vec()),
            None => sw_only(sw::RECORD_NOT_FOUND),
        }
    }
}

/// Why a CREDIT/DEBIT did not answer normally: a status word, or the card lost power.
enum Fail {
    Sw(u16),
    Lost(CardError),
}

fn ok(data: Vec<u8>) -> Response {
    Response { data, sw: sw::OK }
}

fn sw_only(sw: u16) -> Response {
    Response {
        data: Vec::new(),
        sw,
    }
}

impl Card for PbocCard {
    fn power_on(&mut self) -> Result<Vec<u8>, CardError> {
        if !self.present {
            return Err(CardError::NoCard {
                reader: format!("virtual:{}", self.name),
                waited_ms: 0,
            });
        }
        self.cold_reset();
        Ok(self.atr.clone())
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        if !self.present {
            return Err(CardError::Removed);
        }
        if !self.powered {
            self.cold_reset();
        }
        self.process(apdu).map(|r| r.to_bytes())
    }

    fn remove(&mut self) -> Result<(), CardError> {
        self.present = false;
        self.power_off();
        Ok(())
    }

    fn reinsert(&mut self) -> Result<(), CardError> {
        self.present = true;
        self.power_off();
        Ok(())
    }

    fn name(&self) -> String {
        format!("virtual PBOC card {:?}", self.name)
    }

    fn as_virtual(&mut self) -> Option<&mut PbocCard> {
        Some(self)
    }
}
