//! The reference terminal: a conformant CUP direct-connect POS in software, the device under
//! test every suite runs against when no rig is given, and the proof that host and checks agree
//! with a conformant terminal. Fault switches make it misbehave on purpose so tests can prove a
//! check fires.
//!
//! Implemented per seed 001 and the digests: trace 000001-999999 with wrap (reversals reuse the
//! original's), batch from sign-in, PIN block and MAC on every message that needs one, response
//! MAC check on approvals, a reversal record saved before every reversible request and sent
//! before the next online transaction with reason 98/A0/06 and a retry limit, settlement totals,
//! batch upload in lists of 8 with the 202/207 end message, sign-off, echo.

use std::time::Duration;

/// PBOC load and e-purse purchase (issue 5): `src/terminal/load.rs`, a child of this module.
#[path = "load.rs"]
pub mod load;

use super::link::{HostLink, LinkError};
use super::{Terminal, TerminalError};
use crate::crypto::pin_block::encrypt_pin_block;
use crate::crypto::{check_value, decode_field62, DesKey, KeyLayout, MacAlgorithm, WorkingKeys};
use crate::iso8583::frame::{decode_frame, Framing};
use crate::iso8583::txn::TxnKind;
use crate::iso8583::{Codec, Frame, Header, Message, Mti, Tpdu, Value};

/// A card as the terminal reads it (swipe + keyed PIN).
#[derive(Debug, Clone)]
pub struct CardInput {
    pub pan: String,
    pub track2: String,
    pub expiry: String,
    /// The PIN the cardholder types; `None` for no-PIN transactions.
    pub pin: Option<String>,
}

/// Deliberate misbehaviour, one switch per conformance rule a check must catch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Send a wrong MAC on financial requests.
    pub wrong_mac: bool,
    /// Skip a trace number between messages.
    pub skip_trace: bool,
    /// Never send the pending reversal.
    pub no_reversal: bool,
    /// Keep using the old batch after settlement.
    pub stale_batch: bool,
    /// Report settlement totals off by one fen.
    pub wrong_totals: bool,
    /// Accept responses without checking their MAC.
    pub ignore_response_mac: bool,
    /// Fail to complete after an approval (printer jam, card declined afterwards): the terminal
    /// must reverse with reason 96.
    pub fail_after_approval: bool,
    /// Leave the voucher number off sales slips (a check must catch the missing element).
    pub missing_voucher_on_slip: bool,
}

impl Faults {
    /// Every switch by name, as suites and rig files spell them.
    pub const NAMES: &'static [&'static str] = &[
        "wrong_mac",
        "skip_trace",
        "no_reversal",
        "stale_batch",
        "wrong_totals",
        "ignore_response_mac",
        "fail_after_approval",
        "missing_voucher_on_slip",
    ];

    /// Turn on the named switches; an unknown name is an error naming the known ones.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Faults, String> {
        let mut f = Faults::default();
        for n in names {
            let slot = match n.as_ref() {
                "wrong_mac" => &mut f.wrong_mac,
                "skip_trace" => &mut f.skip_trace,
                "no_reversal" => &mut f.no_reversal,
                "stale_batch" => &mut f.stale_batch,
                "wrong_totals" => &mut f.wrong_totals,
                "ignore_response_mac" => &mut f.ignore_response_mac,
                "fail_after_approval" => &mut f.fail_after_approval,
                "missing_voucher_on_slip" => &mut f.missing_voucher_on_slip,
                other => {
                    return Err(format!(
                        "unknown fault switch {other:?} (known: {})",
                        Faults::NAMES.join(", ")
                    ))
                }
            };
            *slot = true;
        }
        Ok(f)
    }
}

/// Terminal configuration (parameters the centre would download).
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub tid: String,
    pub mid: String,
    pub tpdu: Tpdu,
    pub header: Header,
    pub kek: DesKey,
    pub layout: KeyLayout,
    pub operator: String,
    /// Response timeout.
    pub timeout: Duration,
    /// Reversal attempts before giving up (消息重发次数).
    pub retries: u32,
    /// Printed on slips (<= 40 chars).
    pub merchant_name: String,
    /// Sign off automatically after settlement (a downloadable parameter, seed 6.3.2).
    pub auto_sign_off: bool,
    /// Most transactions one batch may hold (seed 3.5: at least 300).
    pub max_transactions: usize,
    /// Operator table: (code, password, supervisor?).
    pub operators: Vec<(String, String, bool)>,
    pub faults: Faults,
}

impl SimConfig {
    /// The default terminal of `fixtures/terminals.yaml`.
    pub fn default_terminal(kek: DesKey) -> SimConfig {
        SimConfig {
            tid: "12345678".into(),
            mid: "898110048120001".into(),
            tpdu: Tpdu([0x60, 0x00, 0x03, 0x00, 0x00]),
            header: Header([0x60, 0x31, 0x00, 0x31, 0x00, 0x00]),
            kek,
            layout: KeyLayout::DoubleTdk004,
            operator: "01".into(),
            timeout: Duration::from_secs(5),
            retries: 3,
            merchant_name: "银联测试商户".into(),
            auto_sign_off: false,
            max_transactions: 500,
            operators: vec![
                ("00".into(), "123456".into(), true),
                ("01".into(), "0000".into(), false),
                ("02".into(), "0000".into(), false),
                ("03".into(), "0000".into(), false),
            ],
            faults: Faults::default(),
        }
    }
}

/// One approved transaction in the terminal's batch log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub kind: TxnKind,
    pub stan: String,
    pub pan: String,
    pub amount: u64,
    pub rrn: String,
    pub auth_code: Option<String>,
    pub date: String,
    pub voided: bool,
    /// Reported in a batch upload of this batch (resume skips these).
    pub uploaded: bool,
    /// Replaced by a settlement adjust.
    pub adjusted: bool,
    /// Tip added by an adjust (34), in fen.
    pub tip: u64,
    /// Offline transactions: the stored 0220, `None` once delivered.
    pub pending_offline: Option<Message>,
    /// A foreign card (63.1 of the approval is not CUP): settled in the foreign block.
    pub foreign: bool,
    /// Notices (refund 25, offline 30, adjust 32/34): the 0220 as built, uploaded unchanged
    /// except MTI 0320 and no 64 when the batch does not balance (tables §1.1).
    pub notice: Option<Message>,
}

/// A reversal waiting to be sent.
#[derive(Debug, Clone)]
pub struct PendingReversal {
    pub message: Message,
    /// The card number: a swiped request has no field 2 and the 0400 drops the track, but
    /// the fault slip must name the card.
    pub pan: String,
    pub reason: &'static str,
    pub attempts: u32,
}

/// What an operator action ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Field 39 of the answer, if one came.
    pub code: Option<String>,
    /// What the terminal shows.
    pub display: String,
}

impl Outcome {
    pub fn approved(&self) -> bool {
        self.code.as_deref() == Some("00")
    }
}

/// The simulated terminal.
pub struct SimTerminal<L: HostLink> {
    pub config: SimConfig,
    link: L,
    codec: Codec<'static>,
    trace: u32,
    pub batch: String,
    keys: Option<WorkingKeys>,
    pub signed_in: bool,
    /// The centre or a response asked for a new sign-in.
    pub must_sign_in: bool,
    pub reversal: Option<PendingReversal>,
    pub log: Vec<LogEntry>,
    /// Host date MMDD and time from the last sign-in / approval.
    pub clock: (String, String),
    pub display: String,
    /// Reversals given up after the retry limit (for the fault slip).
    pub failed_reversals: Vec<Message>,
    /// Signed-in operator code. A new terminal starts with `config.operator` signed in (the
    /// suites begin at the POS sign-in); a power cycle or a failed operator password clears
    /// it, and nothing can be done until an operator signs in (seed 5.1, 6.3.1.1).
    pub operator: Option<String>,
    /// Test state: header terminal-status nibble 1, TEST on slips.
    pub test_mode: bool,
    /// Everything printed, oldest first.
    pub printed: Vec<String>,
    /// How many of `printed` [`Terminal::take_printed`] has handed out.
    printed_taken: usize,
    /// Why the last exchange produced no answer: "98" timeout, "06" network error.
    last_failure: Option<&'static str>,
    /// Locked by the operator (seed 6.1.4.4): no transactions until unlocked.
    pub locked: bool,
    /// A batch upload was interrupted: the 0510 flags it answers; settle resumes it.
    pub upload_pending: Option<(char, char)>,
    /// Offline transactions the centre refused on upload (printed on the failure list).
    pub failed_offline: Vec<LogEntry>,
    /// The centre asked (header nibble 1) for a parameter download.
    pub params_due: bool,
    /// The centre asked (header nibble 2) for a status upload: sent right after the
    /// transaction that carried the request (seed 6.3.7).
    pub status_due: bool,
    /// Parameters received by the last download.
    pub params: std::collections::BTreeMap<String, String>,
    last_slip: Option<crate::receipt::SalesSlip>,
    /// The total slip of a settlement whose batch upload has not ended yet: printed when it
    /// does (seed 6.3.3), also after an interrupted upload is resumed.
    settlement_slip: Option<crate::receipt::SettlementSlip>,
}

/// The terminal's calendar year (the centre sends only MMDD and hhmmss), China Standard Time.
fn current_year() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + 8 * 3600;
    crate::host::centre::civil_from_days((secs / 86_400) as i64).0
}

fn ok_codes(code: &str) -> bool {
    matches!(code, "00" | "12" | "25")
}

impl<L: HostLink> SimTerminal<L> {
    pub fn new(config: SimConfig, link: L) -> SimTerminal<L> {
        let operator = Some(config.operator.clone());
        SimTerminal {
            config,
            link,
            codec: crate::iso8583::cup_codec(),
            trace: 0,
            batch: "000001".into(),
            keys: None,
            signed_in: false,
            must_sign_in: false,
            reversal: None,
            log: Vec::new(),
            clock: ("0101".into(), "000000".into()),
            display: String::new(),
            failed_reversals: Vec::new(),
            operator,
            test_mode: false,
            printed: Vec::new(),
            printed_taken: 0,
            last_slip: None,
            settlement_slip: None,
            last_failure: None,
            locked: false,
            upload_pending: None,
            failed_offline: Vec::new(),
            params_due: false,
            status_due: false,
            params: std::collections::BTreeMap::new(),
        }
    }

    fn print_sales_slip(&mut self, kind: TxnKind, req: &Message, resp: &Message, card: &CardInput) {
        let mut reference = Vec::new();
        if let Some(f61) = req.text(61) {
            if f61.get(6..12).is_some_and(|s| s != "000000") {
                reference.push(format!("原凭证号 {}", &f61[6..12]));
            }
            if kind == TxnKind::Refund {
                reference.push(format!(
                    "原参考号 {} 原交易日期 {}",
                    req.text(37).unwrap_or(""),
                    f61.get(12..16).unwrap_or("")
                ));
            }
        }
        if matches!(kind, TxnKind::CompletionRequest | TxnKind::PreAuthVoid) {
            reference.push(format!("预授权码 {}", req.text(38).unwrap_or("").trim()));
        }
        if let Some(t) = resp
            .text(63)
            .and_then(|t| t.get(3..))
            .filter(|t| !t.trim().is_empty())
        {
            reference.push(t.trim().to_string());
        }
        let slip = crate::receipt::SalesSlip {
            copy: crate::receipt::Copy::Merchant,
            test_mode: self.test_mode,
            reprint: false,
            merchant_name: self.config.merchant_name.clone(),
            merchant_no: self.config.mid.clone(),
            terminal_no: self.config.tid.clone(),
            operator_no: self.config.operator.clone(),
            issuer: resp
                .text(44)
                .and_then(|t| t.get(..11))
                .map(|t| t.trim().to_string()),
            acquirer: resp
                .text(44)
                .and_then(|t| t.get(11..))
                .map(|t| t.trim().to_string()),
            card_org: resp.text(63).and_then(|t| t.get(..3)).map(str::to_string),
            pan: card.pan.clone(),
            entry: crate::receipt::Entry::Swipe,
            txn: kind,
            expiry: Some(card.expiry.clone()),
            batch: self.batch.clone(),
            voucher: if self.config.faults.missing_voucher_on_slip {
                String::new()
            } else {
                req.text(11).unwrap_or("").to_string()
            },
            auth_code: resp.text(38).map(str::to_string),
            year: current_year().to_string(),
            date: self.clock.0.clone(),
            time: self.clock.1.clone(),
            rrn: resp.text(37).map(str::to_string),
            amount: req.text(4).and_then(|a| a.parse().ok()).unwrap_or(0),
            tip: None,
            negative_sign: false,
            reference,
        };
        self.printed.push(crate::receipt::render(&slip));
        self.last_slip = Some(slip);
    }

    /// The slip of a stored (offline-type) transaction: offline settlement or adjust, printed
    /// when stored, full card number, with 小费/总计 for a tip (tables §2.1 elements 6, 14).
    #[allow(clippy::too_many_arguments)]
    fn print_stored_slip(
        &mut self,
        kind: TxnKind,
        pan: &str,
        expiry: Option<&str>,
        voucher: &str,
        auth_code: Option<&str>,
        rrn: Option<&str>,
        amount: u64,
        tip: u64,
        reference: Vec<String>,
    ) {
        let slip = crate::receipt::SalesSlip {
            copy: crate::receipt::Copy::Merchant,
            test_mode: self.test_mode,
            reprint: false,
            merchant_name: self.config.merchant_name.clone(),
            merchant_no: self.config.mid.clone(),
            terminal_no: self.config.tid.clone(),
            operator_no: self.config.operator.clone(),
            issuer: None,
            acquirer: None,
            card_org: None,
            pan: pan.to_string(),
            entry: crate::receipt::Entry::Manual,
            txn: kind,
            expiry: expiry.map(str::to_string),
            batch: self.batch.clone(),
            voucher: voucher.to_string(),
            auth_code: auth_code.map(str::to_string),
            year: current_year().to_string(),
            date: self.clock.0.clone(),
            time: self.clock.1.clone(),
            rrn: rrn.filter(|r| !r.is_empty()).map(str::to_string),
            amount,
            tip: (tip > 0).then_some(tip),
            negative_sign: false,
            reference,
        };
        self.printed.push(crate::receipt::render(&slip));
        self.last_slip = Some(slip);
    }

    /// Reprint the last sales slip with the DUPLICATED marker.
    pub fn reprint(&mut self) -> Option<String> {
        let mut slip = self.last_slip.clone()?;
        slip.reprint = true;
        let text = crate::receipt::render(&slip);
        self.printed.push(text.clone());
        Some(text)
    }

    fn header(&self) -> Header {
        self.config
            .header
            .with_terminal_status(u8::from(self.test_mode))
    }

    fn supervisor_ok(&self, password: &str) -> Result<(), TerminalError> {
        if self
            .config
            .operators
            .iter()
            .any(|(_, p, sup)| *sup && p == password)
        {
            Ok(())
        } else {
            self.refuse("主管密码错 supervisor password required")
        }
    }

    fn refuse<T>(&self, why: &str) -> Result<T, TerminalError> {
        Err(TerminalError::Refused(why.to_string()))
    }

    /// A POS sign-in or a transaction needs a general operator signed in: nobody after a
    /// power cycle or a failed password check (seed 5.1 "校验失败时禁止交易"), and not the
    /// supervisor, who "本身不能做POS签到和进行交易" (seed 6.2.2.1).
    fn operator_may_trade(&mut self) -> Result<(), TerminalError> {
        let Some(code) = self.operator.clone() else {
            self.display = "请操作员签到".into();
            return Err(TerminalError::NoOperator);
        };
        if self
            .config
            .operators
            .iter()
            .any(|(c, _, sup)| *sup && *c == code)
        {
            self.display = "主管不能签到或交易".into();
            return self
                .refuse("主管操作员不能签到或交易 the supervisor cannot sign in the POS or trade");
        }
        Ok(())
    }

    /// May a transaction start: signed in (and not asked to sign in again), not locked, and
    /// (for anything that is logged) room in the batch.
    fn ready(&mut self, logged: bool) -> Result<(), TerminalError> {
        if !self.signed_in || self.must_sign_in {
            return Err(TerminalError::NotSignedIn);
        }
        self.operator_may_trade()?;
        if self.locked {
            return self.refuse("终端已锁定 terminal locked");
        }
        if logged {
            self.storage_ok()?;
        }
        Ok(())
    }

    fn storage_ok(&mut self) -> Result<(), TerminalError> {
        if self.log.len() >= self.config.max_transactions {
            self.display = "存储满,请先结算".into();
            return self.refuse("存储满,请先结算 storage full, settle first");
        }
        Ok(())
    }

    /// The next trace number: 000001..999999, then 000001 again.
    pub fn next_trace(&mut self) -> String {
        let step = if self.config.faults.skip_trace { 2 } else { 1 };
        self.trace = (self.trace + step - 1) % 999_999 + 1;
        format!("{:06}", self.trace)
    }

    /// Set the trace counter (a settable parameter, seed 6.1.3.3); the next message uses n+1.
    pub fn set_trace(&mut self, n: u32) {
        self.trace = n % 999_999;
    }

    fn frame(&self, msg: Message) -> Result<Vec<u8>, TerminalError> {
        Frame {
            tpdu: Some(self.config.tpdu),
            header: Some(self.header()),
            message: msg,
        }
        .payload(&self.codec)
        .map_err(|e| TerminalError::Internal(e.to_string()))
    }

    /// Fill field 64 with this terminal's MAC (or a wrong one under the fault switch).
    fn mac(&self, msg: &mut Message) -> Result<(), TerminalError> {
        let keys = self.keys.as_ref().ok_or(TerminalError::NotSignedIn)?;
        msg.set(64, Value::Binary(vec![0; 8]));
        let body = self
            .codec
            .pack(msg)
            .map_err(|e| TerminalError::Internal(e.to_string()))?;
        let mut mac = MacAlgorithm::CupEcb
            .compute(&keys.mak, &body[..body.len() - 8])
            .map_err(|e| TerminalError::Internal(e.to_string()))?;
        if self.config.faults.wrong_mac {
            mac[7] ^= 0x01;
        }
        msg.set(64, Value::Binary(mac.to_vec()));
        Ok(())
    }

    /// Is `resp` the answer to `req` (digest §1, LY `ProcRspPacket`)? MTI = request + 10;
    /// 3, 11, 41 as sent; 4 as sent; 42 on approvals. `Err` names the first field that differs.
    fn answer_matches(req: &Message, resp: &Message) -> Result<(), String> {
        if resp.mti != req.mti.response() {
            return Err(format!("MTI {} to a {}", resp.mti, req.mti));
        }
        let approved = resp.text(39) == Some("00");
        for n in [3u8, 11, 41, 4, 42] {
            if n == 42 && !approved {
                continue;
            }
            if let (Some(a), Some(b)) = (req.text(n), resp.text(n)) {
                if a.trim_end() != b.trim_end() {
                    return Err(format!("field {n}: sent {a:?}, answered {b:?}"));
                }
            } else if req.has(n) && matches!(n, 11 | 41) {
                return Err(format!("field {n} missing from the answer"));
            }
        }
        Ok(())
    }

    /// Send and decode; `Ok(None)` on timeout, a dropped link, or an answer that is not this
    /// request's (another trace or terminal id): that one is discarded and the terminal keeps
    /// waiting in vain, so a reversible request keeps its reason 98.
    async fn exchange(&mut self, msg: Message) -> Result<Option<(Message, bool)>, TerminalError> {
        let sent = msg.clone();
        let payload = self.frame(msg)?;
        match self.link.exchange(&payload, self.config.timeout).await {
            Ok(reply) => {
                let d = decode_frame(&self.codec, &reply, Framing::Bare).map_err(|e| {
                    TerminalError::Internal(format!("response does not decode: {e}"))
                })?;
                if let Err(why) = Self::answer_matches(&sent, &d.message) {
                    self.last_failure = Some("98");
                    self.display = format!("应答不符 {why}");
                    return Ok(None);
                }
                match d.header.map(|h| h.processing_request()) {
                    Some(crate::iso8583::ProcessingRequest::SignInAgain) => {
                        self.must_sign_in = true
                    }
                    Some(crate::iso8583::ProcessingRequest::DownloadParameters) => {
                        self.params_due = true
                    }
                    Some(crate::iso8583::ProcessingRequest::UploadStatus) => self.status_due = true,
                    _ => {}
                }
                let mac_ok = match (d.message.bytes(64), d.mab(&reply), &self.keys) {
                    (Some(found), Some(mab), Some(keys)) => MacAlgorithm::CupEcb
                        .compute(&keys.mak, mab)
                        .is_ok_and(|m| m.as_slice() == found),
                    (None, _, _) => true,
                    _ => false,
                };
                Ok(Some((
                    d.message,
                    mac_ok || self.config.faults.ignore_response_mac,
                )))
            }
            Err(LinkError::Timeout(_)) => {
                self.last_failure = Some("98");
                Ok(None)
            }
            // A dropped or refused link is a network error: reversal reason 06 (BW).
            Err(LinkError::Closed(_) | LinkError::Connect { .. } | LinkError::Io(_)) => {
                self.last_failure = Some("06");
                Ok(None)
            }
            Err(e) => Err(TerminalError::Internal(e.to_string())),
        }
    }

    /// POS sign-in (0800/0810): working keys, batch and clock from the centre.
    pub async fn sign_in(&mut self) -> Result<Outcome, TerminalError> {
        self.operator_may_trade()?;
        let stan = self.next_trace();
        let msg = Message::new(Mti::parse("0800").map_err(|e| TerminalError::Internal(e.reason))?)
            .with(11, stan)
            .with(41, self.config.tid.as_str())
            .with(42, self.config.mid.as_str())
            .with(60, format!("00{}{}", self.batch, self.config.layout.code()))
            .with(63, format!("{:<3}", self.config.operator));
        let Some((resp, _)) = self.exchange(msg).await? else {
            self.display = "签到失败:通讯超时".into();
            return Ok(Outcome {
                code: None,
                display: self.display.clone(),
            });
        };
        let code = resp.text(39).unwrap_or("").to_string();
        if code != "00" {
            self.display = format!("签到失败 {code}");
            return Ok(Outcome {
                code: Some(code),
                display: self.display.clone(),
            });
        }
        let f62 = resp
            .bytes(62)
            .ok_or_else(|| TerminalError::SignIn("0810 without field 62".into()))?;
        let keys = decode_field62(&self.config.kek, f62, self.config.layout)
            .map_err(|e| TerminalError::SignIn(e.to_string()))?;
        if let Some(b) = resp.text(60).and_then(|f| f.get(2..8)) {
            if !self.config.faults.stale_batch || self.batch == "000001" {
                self.batch = b.to_string();
            }
        }
        self.clock = (
            resp.text(13).unwrap_or("0101").to_string(),
            resp.text(12).unwrap_or("000000").to_string(),
        );
        self.display = format!("签到成功 MAK {}", hex::encode_upper(check_value(&keys.mak)));
        self.keys = Some(keys);
        self.signed_in = true;
        self.must_sign_in = false;
        Ok(Outcome {
            code: Some(code),
            display: self.display.clone(),
        })
    }

    /// Send the pending reversal, up to the retry limit (seed 6.1.3.3).
    pub async fn flush_reversal(&mut self) -> Result<(), TerminalError> {
        if self.config.faults.no_reversal {
            return Ok(());
        }
        while let Some(mut pending) = self.reversal.take() {
            pending.attempts += 1;
            let mut msg = pending.message.clone();
            msg.set(39, pending.reason);
            self.mac(&mut msg)?;
            match self.exchange(msg).await? {
                Some((resp, _)) if resp.text(39).is_some_and(ok_codes) => return Ok(()),
                _ if pending.attempts >= self.config.retries => {
                    self.display = "冲正不成功,请人工处理".into();
                    let m = &pending.message;
                    let amount = m.text(4).and_then(|a| a.parse().ok()).unwrap_or(0);
                    let pan = pending.pan.clone();
                    self.printed.push(crate::receipt::render_fault(
                        &self.config.tid,
                        m.text(11).unwrap_or(""),
                        &pan,
                        amount,
                    ));
                    self.failed_reversals.push(pending.message);
                    return Ok(());
                }
                _ => self.reversal = Some(pending),
            }
        }
        Ok(())
    }

    fn financial(
        &mut self,
        mti: &str,
        proc: &str,
        type601: &str,
        amount: Option<u64>,
        card: &CardInput,
    ) -> Result<Message, TerminalError> {
        // Refuse locally before a trace number is consumed: a refused action sends nothing.
        self.ready(type601 != "01")?;
        let condition = if matches!(type601, "10" | "11" | "20" | "21" | "24") {
            "06"
        } else {
            "00"
        };
        let keys = self.keys.clone().ok_or(TerminalError::NotSignedIn)?;
        // A PIN the pad cannot format (not 4-12 digits) is refused here, before the trace
        // number is taken: nothing is sent, so nothing may be consumed (seed 2.13).
        let block = match &card.pin {
            Some(pin) => Some(
                encrypt_pin_block(&keys.pik, pin, Some(&card.pan)).map_err(|e| {
                    self.display = "密码格式错,请重输".into();
                    TerminalError::Refused(format!("PIN rejected by the pad: {e}"))
                })?,
            ),
            None => None,
        };
        let stan = self.next_trace();
        let mut m = Message::new(Mti::parse(mti).map_err(|e| TerminalError::Internal(e.reason))?)
            .with(3, proc)
            .with(11, stan)
            .with(14, card.expiry.as_str())
            .with(22, if card.pin.is_some() { "021" } else { "022" })
            .with(25, condition)
            .with(35, card.track2.as_str())
            .with(41, self.config.tid.as_str())
            .with(42, self.config.mid.as_str())
            .with(49, "156")
            .with(60, format!("{type601}{}", self.batch));
        if let Some(a) = amount {
            m.set(4, format!("{a:012}"));
        }
        if let Some(block) = block {
            m.set(26, "12");
            m.set(52, Value::Binary(block.to_vec()));
            m.set(53, "2600000000000000");
        }
        Ok(m)
    }

    /// The 0400 a reversible request turns into (digest §8): same trace and amounts, no PIN or
    /// track data.
    fn reversal_of(req: &Message) -> Message {
        let mut r = req.clone();
        r.mti = Mti::parse("0400").unwrap_or(r.mti);
        for n in [26u8, 35, 36, 37, 52, 53, 64] {
            r.remove(n);
        }
        r
    }

    /// Run one online transaction, then the status upload the centre asked for in its answer
    /// (seed 6.3.7 "收到…状态上送要求后,立刻…上送"); the outcome is the transaction's.
    async fn online(
        &mut self,
        kind: TxnKind,
        req: Message,
        card: &CardInput,
    ) -> Result<Outcome, TerminalError> {
        let out = self.online_transaction(kind, req, card).await?;
        if self.status_due {
            self.status_due = false;
            let display = self.display.clone();
            self.upload_status().await?;
            self.display = display;
        }
        Ok(out)
    }

    /// One online transaction: pending reversal first, reversal record saved before
    /// sending, response MAC checked on approvals.
    async fn online_transaction(
        &mut self,
        kind: TxnKind,
        mut req: Message,
        card: &CardInput,
    ) -> Result<Outcome, TerminalError> {
        // `financial()` already refused what may not start; a download the centre asked for
        // comes first.
        if self.params_due {
            self.download_parameters().await?;
        }
        self.flush_reversal().await?;
        self.mac(&mut req)?;
        let reversible = kind.is_reversible();
        if reversible {
            self.reversal = Some(PendingReversal {
                message: Self::reversal_of(&req),
                pan: card.pan.clone(),
                reason: "98",
                attempts: 0,
            });
        }
        let stan = req.text(11).unwrap_or("").to_string();
        let amount = req.text(4).and_then(|a| a.parse().ok()).unwrap_or(0);
        let sent = req.clone();
        let Some((resp, mac_ok)) = self.exchange(req).await? else {
            if let (Some(r), Some(reason)) = (self.reversal.as_mut(), self.last_failure) {
                r.reason = reason;
            }
            self.display = "交易超时,请重试".into();
            return Ok(Outcome {
                code: None,
                display: self.display.clone(),
            });
        };
        let code = resp.text(39).unwrap_or("").to_string();
        if code == "00" && !mac_ok {
            // Approved but the answer cannot be trusted: reverse with A0 and sign in again.
            if let Some(r) = self.reversal.as_mut() {
                r.reason = "A0";
            }
            self.must_sign_in = true;
            self.display = "MAC校验错,请重新签到".into();
            return Ok(Outcome {
                code: Some("A0".into()),
                display: self.display.clone(),
            });
        }
        if reversible && code == "00" && self.config.faults.fail_after_approval {
            if let Some(r) = self.reversal.as_mut() {
                r.reason = "96";
            }
            self.display = "交易失败,已冲正 (96)".into();
            return Ok(Outcome {
                code: Some("96".into()),
                display: self.display.clone(),
            });
        }
        if reversible {
            self.reversal = None;
        }
        if matches!(code.as_str(), "99" | "A0" | "77") {
            self.must_sign_in = true;
        }
        if let Some(t) = resp.text(12) {
            self.clock.1 = t.to_string();
        }
        if let Some(d) = resp.text(13) {
            self.clock.0 = d.to_string();
        }
        // Inquiries are not batch transactions (seed 6.3.3): not logged, so they neither fill
        // the storage nor become "the first transaction" of the batch.
        if code == "00" && kind != TxnKind::BalanceInquiry {
            self.log.push(LogEntry {
                kind,
                stan,
                pan: card.pan.clone(),
                amount,
                rrn: resp.text(37).unwrap_or("").to_string(),
                auth_code: resp.text(38).map(str::to_string),
                date: self.clock.0.clone(),
                voided: false,
                uploaded: false,
                adjusted: false,
                tip: 0,
                pending_offline: None,
                foreign: resp
                    .text(63)
                    .and_then(|o| o.get(..3))
                    .is_some_and(|o| o != "CUP"),
                notice: (sent.mti.as_str() == "0220").then(|| sent.clone()),
            });
            self.display = "交易成功".into();
            self.print_sales_slip(kind, &sent, &resp, card);
        } else if code == "00" {
            // 54: account type 2, amount type 2, currency 3, sign C/D, amount n12 (digest §3).
            let bal = resp.text(54).and_then(|b| {
                let fen: u64 = b.get(8..20)?.parse().ok()?;
                let sign = if b.get(7..8)? == "D" { "-" } else { "" };
                Some(format!("余额 RMB {sign}{}.{:02}", fen / 100, fen % 100))
            });
            self.display = match bal {
                Some(b) => format!("交易成功 {b}"),
                None => "交易成功".into(),
            };
        } else {
            self.display = format!("{} ({code})", super::display::response_text(&code));
        }
        Ok(Outcome {
            code: Some(code),
            display: self.display.clone(),
        })
    }

    pub async fn purchase(
        &mut self,
        card: &CardInput,
        amount: u64,
    ) -> Result<Outcome, TerminalError> {
        let req = self.financial("0200", "000000", "22", Some(amount), card)?;
        self.online(TxnKind::Purchase, req, card).await
    }

    pub async fn balance(&mut self, card: &CardInput) -> Result<Outcome, TerminalError> {
        let req = self.financial("0200", "310000", "01", None, card)?;
        self.online(TxnKind::BalanceInquiry, req, card).await
    }

    /// Void a purchase of this batch by its voucher number.
    pub async fn void(
        &mut self,
        card: &CardInput,
        voucher: &str,
    ) -> Result<Outcome, TerminalError> {
        self.void_of(
            card,
            voucher,
            TxnKind::Purchase,
            TxnKind::PurchaseVoid,
            false,
        )
        .await
    }

    /// Void (23) or completion void (21): 4 = the original amount, 37/38 from the original,
    /// 61 = batch + voucher (+ date for a completion void); marks the original on approval.
    async fn void_of(
        &mut self,
        card: &CardInput,
        voucher: &str,
        original: TxnKind,
        kind: TxnKind,
        with_date: bool,
    ) -> Result<Outcome, TerminalError> {
        let orig = self
            .log
            .iter()
            .find(|e| e.stan == voucher && e.kind == original && !e.voided)
            .cloned()
            .ok_or_else(|| TerminalError::NoOriginal(voucher.to_string()))?;
        let type601 = kind.type_code().unwrap_or("23");
        let mut req = self.financial("0200", "200000", type601, Some(orig.amount), card)?;
        req.set(37, orig.rrn.as_str());
        if let Some(a) = &orig.auth_code {
            req.set(38, a.as_str());
        }
        let date = if with_date { orig.date.as_str() } else { "" };
        req.set(61, format!("{}{}{date}", self.batch, orig.stan));
        let out = self.online(kind, req, card).await?;
        if out.approved() {
            if let Some(e) = self
                .log
                .iter_mut()
                .find(|e| e.stan == voucher && e.kind == original)
            {
                e.voided = true;
            }
        }
        Ok(out)
    }

    /// Refund (0220) against an original's RRN and date.
    pub async fn refund(
        &mut self,
        card: &CardInput,
        amount: u64,
        orig_rrn: &str,
        orig_date: &str,
    ) -> Result<Outcome, TerminalError> {
        let mut req = self.financial("0220", "200000", "25", Some(amount), card)?;
        req.set(37, orig_rrn);
        req.set(61, format!("000000000000{orig_date}"));
        req.set(63, "CUP");
        self.online(TxnKind::Refund, req, card).await
    }

    /// RMB settlement totals of the log: (debit amount, count, credit amount, count).
    pub fn totals(&self) -> (u64, u32, u64, u32) {
        self.block_totals(false)
    }

    /// Totals of the RMB (`false`) or foreign (`true`) block.
    pub fn block_totals(&self, foreign: bool) -> (u64, u32, u64, u32) {
        let mut t = (0u64, 0u32, 0u64, 0u32);
        for e in self.log.iter().filter(|e| e.foreign == foreign) {
            match e.kind {
                // An adjusted original counts only through its adjustment (seed 6.3.2).
                TxnKind::Purchase | TxnKind::CompletionRequest | TxnKind::OfflineSettlement
                    if e.adjusted => {}
                TxnKind::Purchase
                | TxnKind::CompletionRequest
                | TxnKind::OfflineSettlement
                | TxnKind::Adjust
                | TxnKind::AdjustTip => {
                    t.0 += e.amount + e.tip;
                    t.1 += 1;
                }
                TxnKind::Refund | TxnKind::PurchaseVoid | TxnKind::CompletionVoid => {
                    t.2 += e.amount;
                    t.3 += 1;
                }
                _ => {}
            }
        }
        if self.config.faults.wrong_totals && !foreign {
            t.0 += 1;
        }
        t
    }

    /// Batch settlement (0500): pending reversal and offline transactions first, batch upload
    /// (0320) when the centre does not balance, resuming an interrupted upload at its break
    /// point. Returns the 0510 result flags (RMB, foreign).
    pub async fn settle(&mut self) -> Result<(char, char), TerminalError> {
        if !self.signed_in {
            return Err(TerminalError::NotSignedIn);
        }
        self.flush_reversal().await?;
        self.trickle_offline().await?;
        if let Some(flags) = self.upload_pending {
            self.batch_upload().await?;
            self.print_settlement_end();
            return self.close_batch(flags).await;
        }
        let (da, dc, ca, cc) = self.totals();
        let (fa, fc, fca, fcc) = self.block_totals(true);
        let f48 = format!("{da:012}{dc:03}{ca:012}{cc:03}0{fa:012}{fc:03}{fca:012}{fcc:03}0");
        let stan = self.next_trace();
        let msg = Message::new(Mti::parse("0500").map_err(|e| TerminalError::Internal(e.reason))?)
            .with(11, stan)
            .with(41, self.config.tid.as_str())
            .with(42, self.config.mid.as_str())
            .with(48, f48)
            .with(49, "156")
            .with(60, format!("00{}201", self.batch))
            .with(63, format!("{:<3}", self.config.operator));
        let Some((resp, _)) = self.exchange(msg).await? else {
            self.display = "结算超时".into();
            return self.refuse("结算超时 no answer to 0500");
        };
        let r48 = resp.text(48).unwrap_or("");
        let flags = (
            r48.chars().nth(30).unwrap_or('3'),
            r48.chars().nth(61).unwrap_or('3'),
        );
        self.settlement_slip = Some(crate::receipt::SettlementSlip {
            merchant_name: self.config.merchant_name.clone(),
            merchant_no: self.config.mid.clone(),
            terminal_no: self.config.tid.clone(),
            batch: self.batch.clone(),
            datetime: {
                let (d, t) = (
                    resp.text(13).unwrap_or("0000"),
                    resp.text(12).unwrap_or("000000"),
                );
                format!(
                    "{}/{}/{} {}:{}:{}",
                    current_year(),
                    d.get(..2).unwrap_or(""),
                    d.get(2..4).unwrap_or(""),
                    t.get(..2).unwrap_or(""),
                    t.get(2..4).unwrap_or(""),
                    t.get(4..6).unwrap_or("")
                )
            },
            result: flags,
            rmb: (da, dc, ca, cc),
            foreign: (fa, fc, fca, fcc),
        });
        if flags != ('1', '1') {
            self.upload_pending = Some(flags);
            self.batch_upload().await?;
        }
        self.print_settlement_end();
        self.close_batch(flags).await
    }

    /// Settlement done (balanced, or the batch upload ended): the total slip, then the list
    /// of offline transactions the centre refused, which must be printed (seed 6.3.2, 6.3.3
    /// "POS批上送全部完成后,POS必须打印未成功上送的离线类交易明细单").
    fn print_settlement_end(&mut self) {
        if let Some(slip) = self.settlement_slip.take() {
            self.printed.push(crate::receipt::render_settlement(&slip));
        }
        if !self.failed_offline.is_empty() {
            let mut out = String::from(
                "上送后被平台拒绝交易明细 / OFFLINE REFUSED\n凭证号 类型 授权码 金额 卡号\nVOUCHER TYPE AUTH NO AMOUNT CARD NO.\n",
            );
            for e in std::mem::take(&mut self.failed_offline) {
                out.push_str(&Self::detail_line(&e));
            }
            self.printed.push(out);
        }
    }

    /// Send stored offline transactions (0220); 00 or 94 means delivered, anything else goes
    /// on the failure list (seed 6.3.2).
    async fn trickle_offline(&mut self) -> Result<(), TerminalError> {
        for i in 0..self.log.len() {
            let Some(mut msg) = self.log[i].pending_offline.clone() else {
                continue;
            };
            self.mac(&mut msg)?;
            let Some((resp, _)) = self.exchange(msg).await? else {
                return self.refuse("离线交易上送失败 offline upload got no answer");
            };
            let code = resp.text(39).unwrap_or("").to_string();
            self.log[i].pending_offline = None;
            if code == "00" || code == "94" {
                if let Some(rrn) = resp.text(37) {
                    self.log[i].rrn = rrn.to_string();
                }
            } else {
                self.failed_offline.push(self.log[i].clone());
            }
        }
        let failed: Vec<String> = self.failed_offline.iter().map(|e| e.stan.clone()).collect();
        self.log.retain(|e| !failed.contains(&e.stan));
        Ok(())
    }

    async fn close_batch(&mut self, flags: (char, char)) -> Result<(char, char), TerminalError> {
        self.display = if flags == ('1', '1') {
            "对帐平".into()
        } else {
            "对帐不平,已批上送".into()
        };
        self.upload_pending = None;
        self.log.clear();
        if !self.config.faults.stale_batch {
            let n: u32 = self.batch.parse().unwrap_or(0);
            self.batch = format!("{:06}", if n >= 999_999 { 1 } else { n + 1 });
        }
        if self.config.auto_sign_off {
            self.send_sign_off().await?;
        }
        Ok(flags)
    }

    /// Batch upload (seed 6.3.3) of the blocks the 0510 left unbalanced (RMB only, foreign
    /// only, or both): the approved online transactions not yet uploaded, 8 per 0320 (201),
    /// then each notice (refund, offline, adjust) in its own 0320 with its original fields,
    /// then the end message (202) with the total count. An original replaced by an adjust is
    /// not uploaded: its adjust notice stands for it (seed 6.3.2). An unanswered 0320 stops
    /// the upload; the next `settle` resumes from there.
    async fn batch_upload(&mut self) -> Result<(), TerminalError> {
        let (rmb, foreign) = self.upload_pending.unwrap_or(('2', '2'));
        let due = |e: &LogEntry| {
            if e.foreign {
                foreign != '1'
            } else {
                rmb != '1'
            }
        };
        let online: Vec<usize> = (0..self.log.len())
            .filter(|&i| {
                let e = &self.log[i];
                matches!(
                    e.kind,
                    TxnKind::Purchase
                        | TxnKind::PurchaseVoid
                        | TxnKind::CompletionRequest
                        | TxnKind::CompletionVoid
                ) && !e.uploaded
                    && !e.adjusted
                    && due(e)
            })
            .collect();
        for chunk in online.chunks(8) {
            let mut f48 = format!("{:02}", chunk.len());
            for &i in chunk {
                let e = &self.log[i];
                let class = if e.foreign { "01" } else { "00" };
                f48.push_str(&format!("{class}{}{:0>20}{:012}", e.stan, e.pan, e.amount));
            }
            let stan = self.next_trace();
            let msg =
                Message::new(Mti::parse("0320").map_err(|e| TerminalError::Internal(e.reason))?)
                    .with(11, stan)
                    .with(41, self.config.tid.as_str())
                    .with(42, self.config.mid.as_str())
                    .with(48, f48)
                    .with(60, format!("00{}201", self.batch));
            if self.exchange(msg).await?.is_none() {
                self.display = "批上送中断,请重新结算".into();
                return self.refuse("批上送中断 batch upload interrupted; settle again to resume");
            }
            for &i in chunk {
                self.log[i].uploaded = true;
            }
        }
        let notices: Vec<usize> = (0..self.log.len())
            .filter(|&i| {
                let e = &self.log[i];
                e.notice.is_some() && !e.uploaded && !e.adjusted && due(e)
            })
            .collect();
        for i in notices {
            let Some(mut msg) = self.log[i].notice.clone() else {
                continue;
            };
            msg.mti = Mti::parse("0320").map_err(|e| TerminalError::Internal(e.reason))?;
            msg.remove(64);
            if self.exchange(msg).await?.is_none() {
                self.display = "批上送中断,请重新结算".into();
                return self.refuse("批上送中断 batch upload interrupted; settle again to resume");
            }
            self.log[i].uploaded = true;
        }
        let total = self.log.iter().filter(|e| e.uploaded).count();
        let stan = self.next_trace();
        let end = Message::new(Mti::parse("0320").map_err(|e| TerminalError::Internal(e.reason))?)
            .with(11, stan)
            .with(41, self.config.tid.as_str())
            .with(42, self.config.mid.as_str())
            .with(48, format!("{total:04}"))
            .with(60, format!("00{}202", self.batch));
        if self.exchange(end).await?.is_none() {
            self.display = "批上送中断,请重新结算".into();
            return self
                .refuse("批上送结束报文无应答 upload end unanswered; settle again to resume");
        }
        Ok(())
    }

    /// Offline settlement (离线结算): stored now with the issuer's phone authorisation code, sent
    /// as 0220 before the next settlement.
    pub async fn offline_settlement(
        &mut self,
        pan: &str,
        expiry: &str,
        amount: u64,
        auth_code: &str,
    ) -> Result<Outcome, TerminalError> {
        self.ready(true)?;
        let stan = self.next_trace();
        let msg = Message::new(Mti::parse("0220").map_err(|e| TerminalError::Internal(e.reason))?)
            .with(2, pan)
            .with(3, "000000")
            .with(4, format!("{amount:012}"))
            .with(11, stan.as_str())
            .with(14, expiry)
            .with(22, "012")
            .with(25, "00")
            .with(38, format!("{auth_code:<6}"))
            .with(41, self.config.tid.as_str())
            .with(42, self.config.mid.as_str())
            .with(49, "156")
            .with(60, format!("30{}", self.batch))
            .with(61, format!("{}00{}", "0".repeat(16), "0".repeat(11)))
            .with(63, "CUP")
            .with(64, Value::Binary(vec![0; 8]));
        self.log.push(LogEntry {
            kind: TxnKind::OfflineSettlement,
            stan: stan.clone(),
            pan: pan.to_string(),
            amount,
            rrn: String::new(),
            auth_code: Some(auth_code.to_string()),
            date: self.clock.0.clone(),
            voided: false,
            uploaded: false,
            adjusted: false,
            tip: 0,
            pending_offline: Some(msg.clone()),
            foreign: false,
            notice: Some(msg),
        });
        self.print_stored_slip(
            TxnKind::OfflineSettlement,
            pan,
            Some(expiry),
            &stan,
            Some(auth_code),
            None,
            amount,
            0,
            Vec::new(),
        );
        self.display = "离线结算已保存".into();
        Ok(Outcome {
            code: None,
            display: self.display.clone(),
        })
    }

    pub async fn pre_auth(
        &mut self,
        card: &CardInput,
        amount: u64,
    ) -> Result<Outcome, TerminalError> {
        let req = self.financial("0100", "030000", "10", Some(amount), card)?;
        self.online(TxnKind::PreAuth, req, card).await
    }

    pub async fn pre_auth_void(
        &mut self,
        card: &CardInput,
        amount: u64,
        auth_code: &str,
        orig_date: &str,
    ) -> Result<Outcome, TerminalError> {
        self.against_pre_auth(TxnKind::PreAuthVoid, card, amount, auth_code, orig_date)
            .await
    }

    pub async fn completion(
        &mut self,
        card: &CardInput,
        amount: u64,
        auth_code: &str,
        orig_date: &str,
    ) -> Result<Outcome, TerminalError> {
        self.against_pre_auth(
            TxnKind::CompletionRequest,
            card,
            amount,
            auth_code,
            orig_date,
        )
        .await
    }

    /// Pre-auth void (0100, 11) or completion (0200, 20): both name the pre-authorisation by
    /// its code in 38 and its date in 61.3.
    async fn against_pre_auth(
        &mut self,
        kind: TxnKind,
        card: &CardInput,
        amount: u64,
        auth_code: &str,
        orig_date: &str,
    ) -> Result<Outcome, TerminalError> {
        let (mti, proc) = if kind == TxnKind::PreAuthVoid {
            ("0100", "200000")
        } else {
            ("0200", "000000")
        };
        let mut req = self.financial(
            mti,
            proc,
            kind.type_code().unwrap_or("20"),
            Some(amount),
            card,
        )?;
        req.set(38, format!("{auth_code:<6}"));
        req.set(61, format!("000000000000{orig_date}"));
        self.online(kind, req, card).await
    }

    pub async fn completion_void(
        &mut self,
        card: &CardInput,
        voucher: &str,
    ) -> Result<Outcome, TerminalError> {
        self.void_of(
            card,
            voucher,
            TxnKind::CompletionRequest,
            TxnKind::CompletionVoid,
            true,
        )
        .await
    }

    /// Settlement adjust of an earlier purchase or offline settlement (32: new amount; 34: the
    /// same amount plus a tip in 48). Stored and trickled before the next settlement.
    pub async fn adjust(
        &mut self,
        voucher: &str,
        new_amount: u64,
        tip: u64,
    ) -> Result<Outcome, TerminalError> {
        self.ready(true)?;
        let Some(i) = self.log.iter().position(|e| {
            e.stan == voucher
                && matches!(e.kind, TxnKind::Purchase | TxnKind::OfflineSettlement)
                && !e.voided
                && !e.adjusted
        }) else {
            return Err(TerminalError::NoOriginal(voucher.to_string()));
        };
        if self.log[i].pending_offline.is_some() {
            return self
                .refuse("原交易尚未上送 adjust an offline transaction after it was delivered");
        }
        let orig = self.log[i].clone();
        let (kind, type601, amount) = if tip > 0 {
            (TxnKind::AdjustTip, "34", orig.amount)
        } else {
            (TxnKind::Adjust, "32", new_amount)
        };
        let stan = self.next_trace();
        let mut msg =
            Message::new(Mti::parse("0220").map_err(|e| TerminalError::Internal(e.reason))?)
                .with(2, orig.pan.as_str())
                .with(3, "000000")
                .with(4, format!("{amount:012}"))
                .with(11, stan.as_str())
                .with(22, "012")
                .with(25, "00")
                .with(37, orig.rrn.as_str())
                .with(41, self.config.tid.as_str())
                .with(42, self.config.mid.as_str())
                .with(49, "156")
                .with(60, format!("{type601}{}", self.batch))
                .with(61, format!("{}{}{}", self.batch, orig.stan, orig.date))
                .with(63, "CUP")
                .with(64, Value::Binary(vec![0; 8]));
        if let Some(a) = &orig.auth_code {
            msg.set(38, format!("{a:<6}"));
        }
        if tip > 0 {
            msg.set(48, format!("{tip:012}"));
        }
        self.log[i].adjusted = true;
        self.log.push(LogEntry {
            kind,
            stan,
            pan: orig.pan.clone(),
            amount,
            rrn: String::new(),
            auth_code: orig.auth_code.clone(),
            date: self.clock.0.clone(),
            voided: false,
            uploaded: false,
            adjusted: false,
            tip,
            pending_offline: Some(msg.clone()),
            foreign: orig.foreign,
            notice: Some(msg),
        });
        let adjusted_stan = self.log.last().map(|e| e.stan.clone()).unwrap_or_default();
        self.print_stored_slip(
            kind,
            &orig.pan,
            None,
            &adjusted_stan,
            orig.auth_code.as_deref(),
            Some(orig.rrn.as_str()),
            amount,
            tip,
            vec![format!("原凭证号 {}", orig.stan)],
        );
        self.display = "结算调整已保存".into();
        Ok(Outcome {
            code: None,
            display: self.display.clone(),
        })
    }

    /// One line of a detail slip: voucher, type, auth code, amount, card (full for pre-auth
    /// and offline, tables §2.3).
    fn detail_line(e: &LogEntry) -> String {
        let pan = if matches!(e.kind, TxnKind::PreAuth | TxnKind::OfflineSettlement) {
            e.pan.clone()
        } else {
            crate::iso8583::mask::mask_pan(&e.pan)
        };
        format!(
            "{} {:<4} {:<6} {:>10} {pan}\n",
            e.stan,
            crate::receipt::slip_name_en(e.kind),
            e.auth_code.as_deref().unwrap_or("").trim(),
            format!(
                "{}.{:02}",
                (e.amount + e.tip) / 100,
                (e.amount + e.tip) % 100
            )
        )
    }

    /// The settlement detail slip (结算明细单): one line per transaction, then the offline
    /// transactions the centre refused.
    pub fn detail_slip(&self) -> String {
        let line = Self::detail_line;
        let mut out = String::from("结算明细单 / DETAIL REPORT\n凭证号 类型 授权码 金额 卡号\nVOUCHER TYPE AUTH NO AMOUNT CARD NO.\n");
        for e in self.log.iter().filter(|e| !e.adjusted) {
            out.push_str(&line(e));
        }
        if !self.failed_offline.is_empty() {
            out.push_str("上送后被平台拒绝交易明细 / OFFLINE REFUSED\n");
            for e in &self.failed_offline {
                out.push_str(&line(e));
            }
        }
        out
    }

    /// Parameter download (0800, 60.3 = 360): apply the values the centre sends.
    pub async fn download_parameters(&mut self) -> Result<Outcome, TerminalError> {
        self.params_due = false;
        let msg = Message::new(Mti::parse("0800").map_err(|e| TerminalError::Internal(e.reason))?)
            .with(41, self.config.tid.as_str())
            .with(42, self.config.mid.as_str())
            .with(60, format!("00{}360", self.batch));
        let Some((resp, _)) = self.exchange(msg).await? else {
            // Cut off: ask again at the next online transaction (seed 6.3.6).
            self.params_due = true;
            self.display = "参数下载失败".into();
            return Ok(Outcome {
                code: None,
                display: self.display.clone(),
            });
        };
        let text = resp
            .bytes(62)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        for pair in text.split(';').filter(|p| !p.is_empty()) {
            if let Some((k, v)) = pair.split_once('=') {
                self.params.insert(k.to_string(), v.to_string());
            }
        }
        if let Some(v) = self
            .params
            .get("timeout_s")
            .and_then(|v| v.parse::<u64>().ok())
        {
            self.config.timeout = Duration::from_secs(v);
        }
        if let Some(v) = self.params.get("retries").and_then(|v| v.parse().ok()) {
            self.config.retries = v;
        }
        if let Some(v) = self
            .params
            .get("max_transactions")
            .and_then(|v| v.parse::<usize>().ok())
        {
            self.config.max_transactions = v.max(300);
        }
        if let Some(v) = self.params.get("auto_sign_off") {
            self.config.auto_sign_off = v == "1";
        }
        if let Some(v) = self.params.get("merchant_name") {
            self.config.merchant_name = v.clone();
        }
        self.display = "参数下载成功".into();
        Ok(Outcome {
            code: resp.text(39).map(str::to_string),
            display: self.display.clone(),
        })
    }

    /// Status upload (0820, 60.3 = 362): posconf's documented `name=value;` layout in 62.
    pub async fn upload_status(&mut self) -> Result<Outcome, TerminalError> {
        let status = format!(
            "batch={};trace={:06};log={};test={}",
            self.batch,
            self.trace,
            self.log.len(),
            u8::from(self.test_mode)
        );
        let msg = Message::new(Mti::parse("0820").map_err(|e| TerminalError::Internal(e.reason))?)
            .with(41, self.config.tid.as_str())
            .with(42, self.config.mid.as_str())
            .with(60, format!("00{}362", self.batch))
            .with(62, Value::Binary(status.into_bytes()));
        let out = self.exchange(msg).await?;
        Ok(Outcome {
            code: out.and_then(|(m, _)| m.text(39).map(str::to_string)),
            display: "状态上送".into(),
        })
    }

    /// Operator sign-off (seed 6.3.4): an unsettled batch (or an interrupted upload) is
    /// settled first, "须在签退之前先进行批结算乃至批上送"; then the 0820.
    pub async fn sign_off(&mut self) -> Result<Outcome, TerminalError> {
        if self.signed_in && (!self.log.is_empty() || self.upload_pending.is_some()) {
            self.settle().await?;
            if !self.signed_in {
                // Settlement signed off by itself (auto sign-off).
                return Ok(Outcome {
                    code: Some("00".into()),
                    display: self.display.clone(),
                });
            }
        }
        self.send_sign_off().await
    }

    /// The sign-off message itself (0820, 60.3 = 002).
    async fn send_sign_off(&mut self) -> Result<Outcome, TerminalError> {
        let stan = self.next_trace();
        let msg = Message::new(Mti::parse("0820").map_err(|e| TerminalError::Internal(e.reason))?)
            .with(11, stan)
            .with(41, self.config.tid.as_str())
            .with(42, self.config.mid.as_str())
            .with(60, format!("00{}002", self.batch));
        let out = self.exchange(msg).await?;
        self.signed_in = false;
        self.keys = None;
        self.display = "已签退".into();
        Ok(Outcome {
            code: out.and_then(|(m, _)| m.text(39).map(str::to_string)),
            display: self.display.clone(),
        })
    }

    /// Echo test (0820, 60.3 = 301); consumes no trace number.
    pub async fn echo(&mut self) -> Result<Outcome, TerminalError> {
        let msg = Message::new(Mti::parse("0820").map_err(|e| TerminalError::Internal(e.reason))?)
            .with(41, self.config.tid.as_str())
            .with(42, self.config.mid.as_str())
            .with(60, format!("00{}301", self.batch));
        let out = self.exchange(msg).await?;
        let code = out.and_then(|(m, _)| m.text(39).map(str::to_string));
        self.display = if code.as_deref() == Some("00") {
            "回响测试成功".into()
        } else {
            "回响测试失败".into()
        };
        Ok(Outcome {
            code,
            display: self.display.clone(),
        })
    }
}

impl<L: HostLink> Terminal for SimTerminal<L> {
    async fn pboc(
        &mut self,
        card: &mut dyn crate::card::Card,
        action: &load::PbocAction,
        st: &mut load::PbocSession,
    ) -> Result<load::PbocOutcome, TerminalError> {
        self.pboc_action(card, action, st).await
    }

    async fn power_on(&mut self) -> Result<Outcome, TerminalError> {
        // Power loss: the operator and the POS must sign in again (seed 6.3.1.2); the batch log
        // and a pending reversal survive (battery-backed storage, seed 3.13).
        self.operator = None;
        self.signed_in = false;
        self.keys = None;
        self.display = "自检通过,请签到".into();
        Ok(Outcome {
            code: None,
            display: self.display.clone(),
        })
    }

    async fn operator_sign_in(
        &mut self,
        code: &str,
        password: &str,
    ) -> Result<Outcome, TerminalError> {
        if !self
            .config
            .operators
            .iter()
            .any(|(c, p, _)| c == code && p == password)
        {
            // Whoever was signed in is signed out: a failed check blocks trading (seed 5.1).
            self.operator = None;
            self.display = "操作员号或密码错".into();
            return self.refuse("unknown operator or wrong password");
        }
        self.operator = Some(code.to_string());
        self.config.operator = code.to_string();
        self.display = format!("操作员 {code} 已签到");
        Ok(Outcome {
            code: None,
            display: self.display.clone(),
        })
    }

    async fn pos_sign_in(&mut self) -> Result<Outcome, TerminalError> {
        self.sign_in().await
    }

    async fn balance_inquiry(&mut self, card: &CardInput) -> Result<Outcome, TerminalError> {
        self.balance(card).await
    }

    async fn purchase(&mut self, card: &CardInput, amount: u64) -> Result<Outcome, TerminalError> {
        SimTerminal::purchase(self, card, amount).await
    }

    async fn void(
        &mut self,
        card: &CardInput,
        voucher: &str,
        supervisor_password: &str,
    ) -> Result<Outcome, TerminalError> {
        self.supervisor_ok(supervisor_password)?;
        SimTerminal::void(self, card, voucher).await
    }

    async fn refund(
        &mut self,
        card: &CardInput,
        amount: u64,
        orig_rrn: &str,
        orig_date: &str,
        supervisor_password: &str,
    ) -> Result<Outcome, TerminalError> {
        self.supervisor_ok(supervisor_password)?;
        SimTerminal::refund(self, card, amount, orig_rrn, orig_date).await
    }

    async fn pre_auth(&mut self, card: &CardInput, amount: u64) -> Result<Outcome, TerminalError> {
        SimTerminal::pre_auth(self, card, amount).await
    }

    async fn pre_auth_void(
        &mut self,
        card: &CardInput,
        amount: u64,
        auth_code: &str,
        orig_date: &str,
    ) -> Result<Outcome, TerminalError> {
        SimTerminal::pre_auth_void(self, card, amount, auth_code, orig_date).await
    }

    async fn completion(
        &mut self,
        card: &CardInput,
        amount: u64,
        auth_code: &str,
        orig_date: &str,
    ) -> Result<Outcome, TerminalError> {
        SimTerminal::completion(self, card, amount, auth_code, orig_date).await
    }

    async fn completion_void(
        &mut self,
        card: &CardInput,
        voucher: &str,
        supervisor_password: &str,
    ) -> Result<Outcome, TerminalError> {
        self.supervisor_ok(supervisor_password)?;
        SimTerminal::completion_void(self, card, voucher).await
    }

    async fn settle(&mut self) -> Result<(char, char), TerminalError> {
        SimTerminal::settle(self).await
    }

    async fn sign_off(&mut self) -> Result<Outcome, TerminalError> {
        SimTerminal::sign_off(self).await
    }

    async fn echo_test(&mut self) -> Result<Outcome, TerminalError> {
        self.echo().await
    }

    fn set_test_mode(&mut self, on: bool) -> Result<(), TerminalError> {
        if !self.log.is_empty() {
            return self.refuse("请先结算 settle before switching the test state");
        }
        self.test_mode = on;
        Ok(())
    }

    fn read_display(&self) -> String {
        self.display.clone()
    }

    async fn offline_settlement(
        &mut self,
        card: &CardInput,
        amount: u64,
        auth_code: &str,
    ) -> Result<Outcome, TerminalError> {
        SimTerminal::offline_settlement(self, &card.pan, &card.expiry, amount, auth_code).await
    }

    async fn adjust(
        &mut self,
        voucher: &str,
        new_amount: u64,
        tip: u64,
    ) -> Result<Outcome, TerminalError> {
        SimTerminal::adjust(self, voucher, new_amount, tip).await
    }

    async fn download_parameters(&mut self) -> Result<Outcome, TerminalError> {
        SimTerminal::download_parameters(self).await
    }

    fn lock(&mut self) -> Result<(), TerminalError> {
        self.locked = true;
        self.display = "终端已锁定".into();
        Ok(())
    }

    fn unlock(&mut self, password: &str) -> Result<(), TerminalError> {
        let code = self.operator.clone().unwrap_or_default();
        if self
            .config
            .operators
            .iter()
            .any(|(c, p, sup)| (c == &code || *sup) && p == password)
        {
            self.locked = false;
            self.display = "已解锁".into();
            Ok(())
        } else {
            self.refuse("密码错 wrong password")
        }
    }

    fn last_receipt(&self) -> Option<String> {
        self.printed.last().cloned()
    }

    fn last_voucher(&self) -> Option<String> {
        self.log.last().map(|e| e.stan.clone())
    }

    fn take_printed(&mut self) -> Vec<String> {
        let start = self.printed_taken.min(self.printed.len());
        self.printed_taken = self.printed.len();
        self.printed[start..].to_vec()
    }

    async fn upload_status(&mut self) -> Result<Outcome, TerminalError> {
        SimTerminal::upload_status(self).await
    }

    async fn reprint(&mut self) -> Result<Outcome, TerminalError> {
        match SimTerminal::reprint(self) {
            Some(_) => Ok(Outcome {
                code: None,
                display: "重打印".into(),
            }),
            None => self.refuse("无交易可重打印 nothing to reprint"),
        }
    }
}
