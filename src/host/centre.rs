//! The POS centre's message handling: one decoded request in, one response (or a deliberate
//! silence) out, decided from the journal, the terminal's session and the test's behaviours.
//!
//! Transport-free on purpose: the TCP and serial servers, the reference terminal's in-process
//! link and the tests all drive this same function.

use std::collections::HashMap;

use serde_json::{json, Value as Json};

use super::behaviour::{Action, Behaviours};
use super::journal::{Journal, OriginalRef, Outcome, Request};
use crate::crypto::pin_block::decrypt_pin_block;
use crate::crypto::track::decrypt_track;
use crate::crypto::working_keys::{encode_field62, KeyLayout, WorkingKeys};
use crate::crypto::{check_value, DesKey, MacAlgorithm};
use crate::fixtures::Fixtures;
use crate::iso8583::frame::{DecodedFrame, Frame, Header, ProcessingRequest};
use crate::iso8583::table::{cup_tables, path_text, Presence};
use crate::iso8583::txn::{classify, TxnKind};
use crate::iso8583::{Codec, Message, Value};
use crate::profile::Profile;

/// What a terminal has done with the centre since it was first seen.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub keys: Option<WorkingKeys>,
    pub layout: Option<KeyLayout>,
    /// Batch the centre expects in 60.2.
    pub batch: String,
    pub signed_in: bool,
    /// Consecutive requests whose MAC did not verify.
    pub mac_failures: u32,
    /// Items reported by batch upload in the current batch.
    pub uploaded: u32,
    /// The last 0500 left a currency block unbalanced: batch upload is due.
    pub upload_due: bool,
    /// Batches this terminal has settled (balanced 0500 or upload end): closed for good.
    pub settled: Vec<String>,
}

/// The result of handling one frame.
#[derive(Debug, Default)]
pub struct Handled {
    /// Response bytes (TPDU + header + body; the transport adds its framing).
    pub reply: Option<Vec<u8>>,
    pub delay_ms: u64,
    pub close: bool,
    /// Journal events for the transcript (keys issued, balances, totals, verdicts).
    pub events: Vec<Json>,
}

/// Host clock: (MMDD, hhmmss). Injected so transcripts can be snapshot-tested.
pub type Clock = Box<dyn Fn() -> (String, String) + Send>;
/// Randomness for working keys. Injected for the same reason.
pub type Random = Box<dyn FnMut(&mut [u8]) + Send>;

/// The centre.
pub struct Centre {
    pub profile: Profile,
    codec: Codec<'static>,
    mac: MacAlgorithm,
    fixtures: Fixtures,
    pub journal: Journal,
    sessions: HashMap<String, Session>,
    pub behaviours: Behaviours,
    clock: Clock,
    random: Random,
    acquirer_id: String,
    /// The issuer role for PBOC loads (issue 5; `host::issuer`).
    pub pboc: super::issuer::PbocHost,
}

/// Local wall clock as (MMDD, hhmmss), UTC+8 (China Standard Time, no DST).
pub fn system_clock() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + 8 * 3600;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    let _ = y;
    (
        format!("{m:02}{d:02}"),
        format!("{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Operating-system randomness.
pub fn system_random(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        // Never hand out predictable keys silently: fall back to time-mixed bytes and say so.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (t >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(151);
        }
        eprintln!("posconf host: warning: OS randomness unavailable, working keys are weak");
    }
}

fn text(msg: &Message, n: u8) -> String {
    msg.text(n).map(str::to_string).unwrap_or_default()
}

fn amount(msg: &Message) -> u64 {
    msg.text(4).and_then(|a| a.parse().ok()).unwrap_or(0)
}

/// The PAN of a request: field 2, else track 2 up to the separator.
pub fn request_pan(msg: &Message) -> Option<String> {
    if let Some(p) = msg.text(2) {
        return Some(p.to_string());
    }
    msg.text(35)
        .and_then(|t| t.split('=').next())
        .map(str::to_string)
}

impl Centre {
    pub fn new(
        profile: Profile,
        fixtures: Fixtures,
        behaviours: Behaviours,
        clock: Clock,
        random: Random,
    ) -> Result<Centre, String> {
        let codec = profile.codec().map_err(|e| e.to_string())?;
        let mac = profile.mac().map_err(|e| e.to_string())?;
        let journal = Journal::new(fixtures.accounts());
        Ok(Centre {
            profile,
            codec,
            mac,
            fixtures,
            journal,
            sessions: HashMap::new(),
            behaviours,
            clock,
            random,
            acquirer_id: "48020000".into(),
            pboc: super::issuer::PbocHost::builtin(),
        })
    }

    pub fn codec(&self) -> Codec<'static> {
        self.codec
    }

    pub fn session(&self, tid: &str) -> Option<&Session> {
        self.sessions.get(tid)
    }

    /// Handle one decoded request. `raw` is the exact input `frame` was decoded from.
    pub fn handle(&mut self, frame: &DecodedFrame, raw: &[u8]) -> Handled {
        let mut out = Handled::default();
        let req = &frame.message;
        let tid = text(req, 41);
        // The TPDU id is 60 (digest §1); the network access point routes nothing else, so a
        // frame with another id is recorded and never answered as if it were valid.
        if let Some(t) = frame.tpdu.filter(|t| t.id() != 0x60) {
            out.events.push(json!({
                "event": "bad_tpdu",
                "tid": tid,
                "mti": req.mti.as_str(),
                "stan": text(req, 11),
                "field": "tpdu",
                "expected": "60",
                "found": format!("{:02X}", t.id()),
                "reason": format!("TPDU {} does not start with id 60: not answered", hex::encode_upper(t.0)),
            }));
            return out;
        }
        let mut actions = self.behaviours.decide(req, tid.trim_end());
        if !actions.is_empty() {
            out.events
                .push(json!({"event": "behaviour", "tid": tid, "actions": format!("{actions:?}")}));
        }
        let mut forced_code: Option<String> = None;
        let mut request_nibble: Option<ProcessingRequest> = None;
        let mut bad_mac = false;
        let mut garble: Vec<u8> = Vec::new();
        let mut no_reply = false;
        for a in actions.drain(..) {
            match a {
                Action::Respond { code } => forced_code = Some(code),
                Action::Delay { ms } => out.delay_ms += ms,
                // Processed, but the answer is lost: the case a terminal must reverse.
                Action::NoReply => no_reply = true,
                Action::Close => {
                    out.close = true;
                    return out;
                }
                Action::BadMac => bad_mac = true,
                Action::Garble { field } => garble.push(field),
                Action::ResignIn => request_nibble = Some(ProcessingRequest::SignInAgain),
                Action::RequestParams => {
                    request_nibble = Some(ProcessingRequest::DownloadParameters)
                }
                Action::RequestStatus => request_nibble = Some(ProcessingRequest::UploadStatus),
            }
        }
        let (date, time) = (self.clock)();
        let mut resp = Message::new(req.mti.response());
        let Some(terminal) = self.fixtures.terminal(tid.trim_end()).cloned() else {
            out.events
                .push(json!({"event": "unknown_terminal", "tid": tid}));
            self.echo_common(req, &mut resp, &date, &time);
            resp.set(39, "97");
            out.reply = self.finish(frame, resp, None, request_nibble, bad_mac, &garble);
            return out;
        };
        let session = self
            .sessions
            .entry(terminal.tid.clone())
            .or_insert_with(|| Session {
                batch: terminal.batch.clone(),
                ..Session::default()
            });
        if req.text(42).is_some_and(|m| m.trim_end() != terminal.mid) {
            out.events.push(json!({"event": "merchant_mismatch", "tid": tid, "expected": terminal.mid, "found": text(req, 42)}));
            self.echo_common(req, &mut resp, &date, &time);
            resp.set(39, "03");
            out.reply = self.finish(frame, resp, None, request_nibble, bad_mac, &garble);
            return out;
        }
        let c = classify(req);
        let keys = session.keys.clone();
        let code = match (c.kind, c.reversal) {
            // PBOC loads (60.1 = 48): the issuer role decides, after the usual MAC check.
            _ if super::issuer::is_pboc(req) => {
                self.echo_common(req, &mut resp, &date, &time);
                let s = self.sessions.get(&terminal.tid).filter(|s| s.signed_in);
                let keys = s.and_then(|s| s.keys.clone());
                self.pboc.handle(
                    frame,
                    raw,
                    keys.as_ref(),
                    self.mac,
                    &terminal.tid,
                    &mut resp,
                    &date,
                    &time,
                    &mut out.events,
                )
            }
            (TxnKind::SignIn, _) => self.sign_in(req, &terminal, &mut resp, &date, &time, &mut out),
            (
                TxnKind::SignOff
                | TxnKind::EchoTest
                | TxnKind::StatusUpload
                | TxnKind::ParamDownload,
                _,
            ) => self.management(req, c.kind, &terminal, &mut resp, &date, &time),
            (TxnKind::Settlement, _) => {
                self.settle(req, &terminal.tid, &mut resp, &date, &time, &mut out)
            }
            (TxnKind::BatchUpload | TxnKind::BatchUploadEnd, _) => self.batch_upload(
                req,
                c.kind,
                &terminal.tid,
                &mut resp,
                &date,
                &time,
                &mut out,
            ),
            (TxnKind::Unknown, false) => {
                self.echo_common(req, &mut resp, &date, &time);
                Some("12".to_string())
            }
            (kind, reversal) => self.financial(
                frame,
                raw,
                kind,
                reversal,
                &terminal.tid,
                forced_code.take(),
                &mut resp,
                &date,
                &time,
                &mut out,
            ),
        };
        if let Some(code) = forced_code.or(code) {
            resp.set(39, code);
        }
        let mac_key = keys
            .or_else(|| {
                self.sessions
                    .get(&terminal.tid)
                    .and_then(|s| s.keys.clone())
            })
            .map(|k| k.mak);
        let mac_key = if needs_mac(&resp) { mac_key } else { None };
        if request_nibble.is_none()
            && self
                .sessions
                .get(&terminal.tid)
                .is_some_and(|s| s.mac_failures >= 3)
        {
            request_nibble = Some(ProcessingRequest::SignInAgain);
        }
        out.reply = self.finish(
            frame,
            resp,
            mac_key.as_ref(),
            request_nibble,
            bad_mac,
            &garble,
        );
        if no_reply {
            out.events
                .push(json!({"event": "reply_withheld", "tid": tid, "stan": text(req, 11)}));
            out.reply = None;
        }
        out
    }

    /// What the centre's format check refuses before a request reaches the books, judged
    /// against the row of the message tables (`iso8583/cup_messages.yaml`, digest
    /// cup-message-tables.md §1.1) the request's MTI + 60.1 (+ 60.3) select:
    /// - no such row (a refund, pre-authorisation or offline settlement under another MTI, a
    ///   reversal of a kind that is never reversed) or a processing code (3) other than the
    ///   row's: `12` invalid transaction (digest §10 "12 invalid txn"; RC-A class C);
    /// - a zero or malformed amount (4): `13` invalid amount (digest §10 "13 invalid amount");
    /// - a mandatory field missing, another fixed value (25) or a value outside its field's
    ///   domain (an expiry 2513, a batch 000000...): `30` format error (digest §10).
    ///
    /// Extra fields and the C-field conditions are not refused: a centre reads what it needs
    /// and the checks layer (`fields.table`) judges the rest.
    fn screen(&self, req: &Message, tid: &str) -> Option<(&'static str, Json)> {
        let tables = cup_tables();
        let dialect = self.codec.dialect;
        let f60 = text(req, 60);
        let refuse = |code: &'static str,
                      event: &str,
                      row: &str,
                      requirement: &str,
                      field: &str,
                      expected: String,
                      found: String| {
            (
                code,
                json!({
                    "event": event,
                    "tid": tid,
                    "mti": req.mti.as_str(),
                    "stan": text(req, 11),
                    "row": row,
                    "requirement": requirement,
                    "field": field,
                    "expected": expected,
                    "found": found,
                    "code": code,
                }),
            )
        };
        let Some(row) = tables.row_for(dialect, req) else {
            let near: Vec<String> = tables
                .near_rows(dialect, req)
                .iter()
                .map(|r| format!("{} is {}", r.title, r.mti))
                .collect();
            return Some(refuse(
                "12",
                "invalid_transaction",
                "",
                "10.3.1",
                "mti",
                if near.is_empty() {
                    "a message kind of the tables (MTI with its 60.1 / 60.3)".into()
                } else {
                    near.join("; ")
                },
                format!("{} with 60 = {f60}", req.mti),
            ));
        };
        let requirement = |path: &str| {
            tables
                .field_requirements
                .get(path.split('.').next().unwrap_or(path))
                .cloned()
                .unwrap_or_else(|| row.requirement.clone())
        };
        for (path, allowed) in &row.fixed {
            let Some(found) = path_text(dialect, req, path) else {
                continue;
            };
            if !allowed.iter().any(|a| a == found) {
                let (code, event) = if path == "3" {
                    ("12", "invalid_transaction")
                } else {
                    ("30", "format_error")
                };
                return Some(refuse(
                    code,
                    event,
                    &row.id,
                    &requirement(path),
                    path,
                    allowed.join(" or "),
                    found.to_string(),
                ));
            }
        }
        for (&n, p) in &row.fields {
            if *p == Presence::Mandatory && !req.has(n) {
                return Some(refuse(
                    "30",
                    "format_error",
                    &row.id,
                    &row.requirement,
                    &n.to_string(),
                    "present (M)".into(),
                    "absent".into(),
                ));
            }
        }
        for (checks, own) in [(&row.values, true), (&tables.values, false)] {
            for (path, list) in checks {
                let Some(f) = path.split('.').next().and_then(|x| x.parse::<u8>().ok()) else {
                    continue;
                };
                if !req.has(f) || (!own && !row.fields.contains_key(&f)) {
                    continue;
                }
                let Some(found) = path_text(dialect, req, path) else {
                    continue;
                };
                for c in list {
                    if c.when
                        .as_deref()
                        .is_some_and(|w| !tables.holds(dialect, req, w))
                    {
                        continue;
                    }
                    let ok = c.pattern.as_ref().is_none_or(|p| p.is_match(found))
                        && c.is_in
                            .as_ref()
                            .is_none_or(|v| v.iter().any(|x| x == found))
                        && c.not_in
                            .as_ref()
                            .is_none_or(|v| !v.iter().any(|x| x == found));
                    if !ok {
                        let code = if f == 4 { "13" } else { "30" };
                        return Some(refuse(
                            code,
                            "format_error",
                            &row.id,
                            &c.requirement.clone().unwrap_or_else(|| requirement(path)),
                            path,
                            c.expected(),
                            found.to_string(),
                        ));
                    }
                }
            }
        }
        None
    }

    /// Fields every response echoes or the centre sets (11, 12, 13, 32, 37, 41, 42).
    fn echo_common(&self, req: &Message, resp: &mut Message, date: &str, time: &str) {
        for n in [2u8, 3, 4, 11, 14, 22, 25, 41, 42, 49, 60, 61] {
            if let Some(v) = req.get(n) {
                if !(n == 22 && resp.mti.as_str() == "0410") {
                    resp.set(n, v.clone());
                }
            }
        }
        resp.set(12, time.to_string());
        resp.set(13, date.to_string());
        resp.set(32, self.acquirer_id.clone());
    }

    fn sign_in(
        &mut self,
        req: &Message,
        terminal: &crate::fixtures::TerminalFixture,
        resp: &mut Message,
        date: &str,
        time: &str,
        out: &mut Handled,
    ) -> Option<String> {
        for n in [11u8, 41, 42] {
            if let Some(v) = req.get(n) {
                resp.set(n, v.clone());
            }
        }
        resp.set(12, time.to_string());
        resp.set(13, date.to_string());
        resp.set(32, self.acquirer_id.clone());
        resp.set(37, format!("{time}{}", text(req, 11)));
        let f60 = text(req, 60);
        let code603 = f60.get(8..11).unwrap_or("");
        let layout = match KeyLayout::from_code(code603) {
            Ok(l) => l,
            Err(e) => {
                out.events.push(json!({"event": "sign_in_refused", "tid": terminal.tid, "reason": e.to_string()}));
                return Some("30".into());
            }
        };
        let kek = match terminal.active_kek() {
            Ok(k) => k,
            Err(e) => {
                out.events.push(json!({"event": "sign_in_refused", "tid": terminal.tid, "reason": e.to_string()}));
                return Some("96".into());
            }
        };
        let keys = WorkingKeys::generate(layout, &mut |b: &mut [u8]| (self.random)(b));
        let block = match encode_field62(&kek, &keys, layout) {
            Ok(b) => b,
            Err(e) => {
                out.events.push(json!({"event": "sign_in_refused", "tid": terminal.tid, "reason": e.to_string()}));
                return Some("96".into());
            }
        };
        let session = self.sessions.entry(terminal.tid.clone()).or_default();
        resp.set(
            60,
            format!(
                "{}{}{}",
                f60.get(0..2).unwrap_or("00"),
                session.batch,
                code603
            ),
        );
        resp.set(62, Value::Binary(block));
        out.events.push(json!({
            "event": "keys_issued",
            "tid": terminal.tid,
            "layout": code603,
            "batch": session.batch,
            "kek_kcv": hex::encode_upper(check_value(&kek)),
            "pik_kcv": hex::encode_upper(check_value(&keys.pik)),
            "mak_kcv": hex::encode_upper(check_value(&keys.mak)),
            "tdk_kcv": keys.tdk.as_ref().map(|k| hex::encode_upper(check_value(k))),
        }));
        session.keys = Some(keys);
        session.layout = Some(layout);
        session.signed_in = true;
        session.mac_failures = 0;
        Some("00".into())
    }

    fn management(
        &mut self,
        req: &Message,
        kind: TxnKind,
        terminal: &crate::fixtures::TerminalFixture,
        resp: &mut Message,
        date: &str,
        time: &str,
    ) -> Option<String> {
        for n in [11u8, 41, 42, 60] {
            if let Some(v) = req.get(n) {
                resp.set(n, v.clone());
            }
        }
        resp.set(12, time.to_string());
        resp.set(13, date.to_string());
        match kind {
            TxnKind::SignOff => {
                resp.set(32, self.acquirer_id.clone());
                resp.set(37, format!("{time}{}", text(req, 11)));
                if let Some(s) = self.sessions.get_mut(&terminal.tid) {
                    s.signed_in = false;
                    s.keys = None;
                }
            }
            TxnKind::ParamDownload => {
                resp.set(37, format!("{time}000000"));
                resp.set(62, Value::Binary(terminal.param_block()));
            }
            TxnKind::StatusUpload => {
                resp.set(
                    62,
                    req.get(62).cloned().unwrap_or(Value::Binary(Vec::new())),
                );
            }
            _ => {}
        }
        Some("00".into())
    }

    #[allow(clippy::too_many_arguments)]
    fn financial(
        &mut self,
        frame: &DecodedFrame,
        raw: &[u8],
        kind: TxnKind,
        reversal: bool,
        tid: &str,
        forced: Option<String>,
        resp: &mut Message,
        date: &str,
        time: &str,
        out: &mut Handled,
    ) -> Option<String> {
        let req = &frame.message;
        self.echo_common(req, resp, date, time);
        let session = self.sessions.get(tid).cloned().unwrap_or_default();
        let Some(keys) = session.keys.clone().filter(|_| session.signed_in) else {
            out.events.push(json!({"event": "not_signed_in", "tid": tid, "mti": req.mti.as_str(), "stan": text(req, 11)}));
            return Some("A0".into());
        };
        // MAC over MTI..63 with the MAK of this terminal's last sign-in.
        match (req.bytes(64), frame.mab(raw)) {
            (Some(found), Some(mab)) => {
                let ok = self
                    .mac
                    .compute(&keys.mak, mab)
                    .map(|m| m.as_slice() == found)
                    .unwrap_or(false);
                if !ok {
                    let s = self.sessions.entry(tid.to_string()).or_default();
                    s.mac_failures += 1;
                    out.events.push(json!({"event": "mac_failed", "tid": tid, "stan": text(req, 11), "consecutive": s.mac_failures}));
                    return Some("A0".into());
                }
                self.sessions
                    .entry(tid.to_string())
                    .or_default()
                    .mac_failures = 0;
            }
            _ => {
                out.events
                    .push(json!({"event": "mac_missing", "tid": tid, "stan": text(req, 11)}));
                return Some("A0".into());
            }
        }
        if let Some((code, event)) = self.screen(req, tid) {
            out.events.push(event);
            return Some(code.into());
        }
        let f60 = text(req, 60);
        let batch = f60.get(2..8).unwrap_or("").to_string();
        if batch != session.batch {
            out.events.push(json!({"event": "batch_mismatch", "tid": tid, "expected": session.batch, "found": batch}));
            return Some("77".into());
        }
        if let Some(code) = forced {
            return Some(code);
        }
        let stan = text(req, 11);
        // Track data under the TDK (53 digit 3 = 1, digest §7): decrypted before the centre
        // reads the card number from it.
        let track2 = match clear_track2(req, keys.tdk.as_ref()) {
            Ok(t) => t,
            Err(reason) => {
                out.events.push(json!({"event": "track_decrypt_failed", "tid": tid, "stan": stan, "field": "35", "reason": reason}));
                return Some("30".into());
            }
        };
        let pan = req
            .text(2)
            .map(str::to_string)
            .or_else(|| {
                track2
                    .as_deref()
                    .and_then(|t| t.split('=').next())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        if reversal {
            let o = self
                .journal
                .reverse_kind(tid, &batch, &stan, Some(kind), amount(req));
            out.events.push(outcome_event(tid, &stan, kind, true, &o));
            return Some(o.code.to_string());
        }
        // PIN: decrypt with the PIK and compare with the card's PIN.
        let pin_ok = match req.bytes(52) {
            None => None,
            Some(block) => {
                let Ok(block) = <[u8; 8]>::try_from(block) else {
                    return Some("99".into());
                };
                let with_pan = text(req, 53).starts_with('2');
                match decrypt_pin_block(&keys.pik, &block, with_pan.then_some(pan.as_str())) {
                    Ok(pin) => Some(
                        self.fixtures
                            .card_by_pan(&pan)
                            .is_some_and(|c| c.pin.expose() == pin),
                    ),
                    Err(e) => {
                        out.events.push(json!({"event": "pin_block_invalid", "tid": tid, "stan": stan, "reason": e.to_string()}));
                        return Some("99".into());
                    }
                }
            }
        };
        let f61 = text(req, 61);
        let original = OriginalRef {
            rrn: req.text(37).map(str::to_string),
            auth_code: req
                .text(38)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            batch: f61.get(0..6).map(str::to_string),
            stan: f61.get(6..12).map(str::to_string),
            date: f61.get(12..16).map(str::to_string),
        };
        let tip = if kind == TxnKind::AdjustTip {
            text(req, 48).parse().unwrap_or(0)
        } else {
            0
        };
        let request = Request {
            tid: tid.to_string(),
            batch,
            stan: stan.clone(),
            kind,
            pan: pan.clone(),
            amount: amount(req),
            pin_ok,
            original,
            tip,
            offline: req.mti.as_str() == "0220",
            date: date.to_string(),
            time: time.to_string(),
        };
        let o = self.journal.authorise(&request);
        out.events.push(outcome_event(tid, &stan, kind, false, &o));
        if let Some(rrn) = &o.rrn {
            resp.set(37, rrn.clone());
        }
        // Never rewrite a terminal's field: an offline 0220 carries its own authorisation
        // code, which the 0230 echoes as sent.
        match req.get(38) {
            Some(v) if req.mti.as_str() == "0220" => {
                resp.set(38, v.clone());
            }
            _ => {
                if let Some(a) = &o.auth_code {
                    resp.set(38, a.clone());
                }
            }
        }
        if o.code == "00" {
            let card = self.fixtures.card_by_pan(&pan);
            let org = card
                .map(|c| c.card_org.clone())
                .unwrap_or_else(|| "CUP".into());
            let issuer = card.map(|c| c.issuer.clone()).unwrap_or_default();
            resp.set(44, format!("{:<11}{:<11}", "01020000", self.acquirer_id));
            resp.set(63, format!("{org:<3}{}", truncate_gbk(&issuer, 20)));
            if kind == TxnKind::BalanceInquiry {
                if let Some(b) = o.balance {
                    resp.set(
                        54,
                        format!(
                            "1002156{}{:012}",
                            if b < 0 { 'D' } else { 'C' },
                            b.unsigned_abs()
                        ),
                    );
                }
            }
        }
        if kind == TxnKind::BalanceInquiry {
            resp.remove(4);
        }
        Some(o.code.to_string())
    }

    #[allow(clippy::too_many_arguments)]
    fn settle(
        &mut self,
        req: &Message,
        tid: &str,
        resp: &mut Message,
        date: &str,
        time: &str,
        out: &mut Handled,
    ) -> Option<String> {
        for n in [11u8, 41, 42, 49, 60, 63] {
            if let Some(v) = req.get(n) {
                resp.set(n, v.clone());
            }
        }
        resp.set(12, time.to_string());
        resp.set(13, date.to_string());
        resp.set(15, date.to_string());
        resp.set(32, self.acquirer_id.clone());
        resp.set(37, format!("{time}{}", text(req, 11)));
        let batch = text(req, 60).get(2..8).unwrap_or("").to_string();
        // A refused 0500 is answered with 39 (the 0510 of a settlement has none) and the
        // terminal's 48 as sent, its result digits still 0: no verdict, the batch unchanged.
        if let Some((code, event)) = self.screen(req, tid) {
            out.events.push(event);
            if let Some(v) = req.get(48) {
                resp.set(48, v.clone());
            }
            return Some(code.into());
        }
        let session = self.sessions.get(tid).cloned().unwrap_or_default();
        if batch != session.batch {
            // RC-A note 2: a POS batch other than the centre's is answered 77. A batch already
            // settled stays closed: settling it again must not move the centre's batch on.
            let settled = session.settled.contains(&batch);
            out.events.push(json!({"event": "batch_mismatch", "tid": tid, "expected": session.batch, "found": batch}));
            out.events.push(json!({
                "event": "settlement_refused",
                "tid": tid,
                "batch": batch,
                "code": "77",
                "reason": if settled {
                    format!("batch {batch} is already settled; the centre's batch is {}", session.batch)
                } else {
                    format!("batch {batch} is not the centre's batch {}", session.batch)
                },
            }));
            if let Some(v) = req.get(48) {
                resp.set(48, v.clone());
            }
            return Some("77".into());
        }
        let (rmb, foreign) = self.journal.totals(tid, &batch);
        let f48 = text(req, 48);
        let parse = |s: &str, a: usize, b: usize| s.get(a..b).and_then(|x| x.parse::<u64>().ok());
        let block = |off: usize| -> Option<(u64, u64, u64, u64)> {
            Some((
                parse(&f48, off, off + 12)?,
                parse(&f48, off + 12, off + 15)?,
                parse(&f48, off + 15, off + 27)?,
                parse(&f48, off + 27, off + 30)?,
            ))
        };
        let judge = |found: Option<(u64, u64, u64, u64)>, t: super::journal::Totals| match found {
            None => '3',
            Some(f)
                if f == (
                    t.debit_amount,
                    t.debit_count as u64,
                    t.credit_amount,
                    t.credit_count as u64,
                ) =>
            {
                '1'
            }
            Some(_) => '2',
        };
        let r1 = judge(block(0), rmb);
        let r2 = judge(block(31), foreign);
        let mut echoed = if f48.len() >= 62 {
            f48.clone()
        } else {
            format!("{f48:0<62}")
        };
        echoed.replace_range(30..31, &r1.to_string());
        echoed.replace_range(61..62, &r2.to_string());
        resp.set(48, echoed);
        out.events.push(json!({"event": "settlement", "tid": tid, "batch": batch, "journal_rmb": rmb, "journal_foreign": foreign, "terminal_48": f48, "result_rmb": r1.to_string(), "result_foreign": r2.to_string()}));
        if let Some(s) = self.sessions.get_mut(tid) {
            if r1 == '1' && r2 == '1' {
                s.settled.push(s.batch.clone());
                s.batch = next_batch(&s.batch);
                s.uploaded = 0;
                s.upload_due = false;
            } else {
                s.upload_due = true;
                s.uploaded = 0;
            }
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn batch_upload(
        &mut self,
        req: &Message,
        kind: TxnKind,
        tid: &str,
        resp: &mut Message,
        date: &str,
        time: &str,
        out: &mut Handled,
    ) -> Option<String> {
        for n in [2u8, 3, 4, 11, 41, 42, 60] {
            if let Some(v) = req.get(n) {
                resp.set(n, v.clone());
            }
        }
        resp.set(12, time.to_string());
        resp.set(13, date.to_string());
        resp.set(32, self.acquirer_id.clone());
        resp.set(37, format!("{time}{}", text(req, 11)));
        let session = self.sessions.get(tid).cloned().unwrap_or_default();
        let f60 = text(req, 60);
        let batch = f60.get(2..8).unwrap_or("").to_string();
        let f48 = text(req, 48);
        if kind == TxnKind::BatchUploadEnd {
            let total: u32 = f48.get(0..4).and_then(|x| x.parse().ok()).unwrap_or(0);
            out.events.push(json!({"event": "batch_upload_end", "tid": tid, "batch": batch, "terminal_count": total, "received": session.uploaded}));
            if let Some(s) = self.sessions.get_mut(tid) {
                s.settled.push(batch.clone());
                s.batch = next_batch(&s.batch);
                s.uploaded = 0;
                s.upload_due = false;
            }
            return Some("00".into());
        }
        let type601 = f60.get(0..2).unwrap_or("00");
        if type601 != "00" {
            // An offline/notice transaction uploaded one per message with its original fields.
            let ok = self
                .journal
                .mark_uploaded(tid, &batch, &text(req, 11), amount(req));
            out.events.push(json!({"event": "batch_upload_item", "tid": tid, "stan": text(req, 11), "in_journal": ok}));
            if let Some(s) = self.sessions.get_mut(tid) {
                s.uploaded += 1;
            }
            return Some("00".into());
        }
        let count: usize = f48.get(0..2).and_then(|x| x.parse().ok()).unwrap_or(0);
        let mut items = Vec::new();
        for i in 0..count {
            let off = 2 + i * 40;
            let Some(item) = f48.get(off..off + 40) else {
                out.events.push(json!({"event": "batch_upload_malformed", "tid": tid, "reason": format!("48 declares {count} items but holds {}", (f48.len().saturating_sub(2)) / 40)}));
                return Some("30".into());
            };
            let stan = &item[2..8];
            let amt: u64 = item[28..40].parse().unwrap_or(0);
            let ok = self.journal.mark_uploaded(tid, &batch, stan, amt);
            items.push(json!({"stan": stan, "amount": amt, "in_journal": ok}));
        }
        if let Some(s) = self.sessions.get_mut(tid) {
            s.uploaded += count as u32;
        }
        out.events
            .push(json!({"event": "batch_upload", "tid": tid, "batch": batch, "items": items}));
        Some("00".into())
    }

    /// Build the response frame: swapped TPDU, the request header (with a processing request
    /// if asked), MAC if a key is given, then any deliberate corruption.
    fn finish(
        &self,
        frame: &DecodedFrame,
        mut resp: Message,
        mak: Option<&DesKey>,
        nibble: Option<ProcessingRequest>,
        bad_mac: bool,
        garble: &[u8],
    ) -> Option<Vec<u8>> {
        for f in garble {
            if let Some(v) = resp.get(*f).cloned() {
                let g = match v {
                    Value::Text(t) => Value::text(t.chars().rev().collect::<String>()),
                    Value::Binary(mut b) => {
                        if let Some(x) = b.last_mut() {
                            *x ^= 0xFF;
                        }
                        Value::Binary(b)
                    }
                };
                resp.set(*f, g);
            }
        }
        let header = frame.header.map(|h| match nibble {
            Some(n) => h.with_processing_request(n),
            None => h.with_processing_request(ProcessingRequest::None),
        });
        if let Some(key) = mak {
            resp.set(64, Value::Binary(vec![0; 8]));
            let mut body = self.codec.pack(&resp).ok()?;
            let mab_len = body.len() - 8;
            let mut mac = self.mac.compute(key, &body[..mab_len]).ok()?;
            if bad_mac {
                mac[0] ^= 0x01;
            }
            body.truncate(mab_len);
            body.extend_from_slice(&mac);
            let mut out = Vec::with_capacity(body.len() + 11);
            if let Some(t) = frame.tpdu {
                out.extend_from_slice(&t.swapped().0);
            }
            if let Some(h) = header {
                out.extend_from_slice(&h.0);
            }
            out.extend_from_slice(&body);
            return Some(out);
        }
        let f = Frame {
            tpdu: frame.tpdu.map(|t| t.swapped()),
            header: header.or_else(|| frame.header.map(|_| Header([0x60, 0x31, 0, 0x31, 0, 0]))),
            message: resp,
        };
        f.payload(&self.codec).ok()
    }
}

/// Track 2 in clear: as sent, or decrypted under the TDK when 53 digit 3 says it is encrypted
/// (digest §7). An encrypted track without a TDK, or one that does not decrypt to a track
/// (PAN, separator, YYMM), is an error in words.
fn clear_track2(req: &Message, tdk: Option<&DesKey>) -> Result<Option<String>, String> {
    let Some(t2) = req.text(35) else {
        return Ok(None);
    };
    if req.text(53).and_then(|s| s.get(2..3)) != Some("1") {
        return Ok(Some(t2.to_string()));
    }
    let Some(tdk) = tdk else {
        return Err(
            "53 digit 3 says the tracks are TDK-encrypted, but this sign-in issued no TDK (60.3 is not 004)"
                .into(),
        );
    };
    let clear = decrypt_track(tdk, t2).map_err(|e| e.to_string())?;
    let (pan, rest) = clear.split_once('=').unwrap_or((clear.as_str(), ""));
    let looks_right = (12..=19).contains(&pan.len())
        && pan.bytes().all(|b| b.is_ascii_digit())
        && rest.len() >= 4
        && rest.bytes().all(|b| b.is_ascii_digit());
    if !looks_right {
        return Err(format!(
            "track 2 does not decrypt under the TDK to PAN=YYMM... (found {} nibbles that are not a track)",
            clear.len()
        ));
    }
    Ok(Some(clear))
}

/// Responses that carry field 64: financial, offline and reversal answers.
fn needs_mac(resp: &Message) -> bool {
    matches!(resp.mti.as_str(), "0110" | "0210" | "0230" | "0410")
}

fn next_batch(b: &str) -> String {
    let n: u32 = b.parse().unwrap_or(0);
    format!("{:06}", if n >= 999_999 { 1 } else { n + 1 })
}

fn truncate_gbk(s: &str, max_bytes: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = if c.is_ascii() { 1 } else { 2 };
        if used + w > max_bytes {
            break;
        }
        used += w;
        out.push(c);
    }
    out
}

fn outcome_event(tid: &str, stan: &str, kind: TxnKind, reversal: bool, o: &Outcome) -> Json {
    json!({
        "event": if reversal { "reversal" } else { "authorisation" },
        "tid": tid,
        "stan": stan,
        "txn": kind.id(),
        "code": o.code,
        "rrn": o.rrn,
        "balance": o.balance,
        "reason": o.reason,
    })
}
