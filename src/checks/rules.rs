//! The rules. Each is small and named for the requirement it enforces.

use std::collections::HashMap;

use super::{violation, FrameRec, Rule, Transcript, Violation};
use crate::iso8583::txn::{classify, TxnKind};

pub fn all_rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(TraceIncrements),
        Box::new(MacPresence),
        Box::new(MacVerifies),
        Box::new(PinBlockWithPinEntry),
        Box::new(SignInBeforeFinancial),
        Box::new(BatchFromSignIn),
        Box::new(ReversalReason),
        Box::new(ReversalBeforeNext),
        Box::new(SettlementTotals),
        Box::new(BatchUploadCount),
        Box::new(FinancialMandatoryFields),
        Box::new(FieldFormats),
    ]
}

fn is_financial(f: &FrameRec) -> bool {
    matches!(f.message.mti.as_str(), "0100" | "0200" | "0220" | "0400")
}

/// Messages that consume a trace number (echo and parameter download carry none; reversals
/// reuse the original's).
/// Offline transactions keep the trace they were given when stored and travel later, so
/// they are not part of the live sequence; nor are notices re-sent in a batch upload (0320
/// with 60.1 of the original, carrying the original's 11).
fn consumes_trace(f: &FrameRec) -> bool {
    let c = classify(&f.message);
    let upload_of_notice = f.message.mti.as_str() == "0320"
        && f.message
            .text(60)
            .and_then(|t| t.get(..2))
            .is_some_and(|t| t != "00");
    !c.reversal
        && !upload_of_notice
        && f.message.has(11)
        && !matches!(
            c.kind,
            TxnKind::EchoTest
                | TxnKind::ParamDownload
                | TxnKind::StatusUpload
                | TxnKind::OfflineSettlement
                | TxnKind::Adjust
                | TxnKind::AdjustTip
        )
}

/// The chapter-11 requirement id of a message's field table.
fn message_requirement(kind: TxnKind, reversal: bool) -> &'static str {
    use TxnKind::*;
    match (kind, reversal) {
        (BalanceInquiry, _) => "11.2.1",
        (Purchase, false) => "11.2.2",
        (Purchase, true) => "11.2.3",
        (PurchaseVoid, false) => "11.2.4",
        (PurchaseVoid, true) => "11.2.5",
        (Refund, _) => "11.2.6",
        (PreAuth, false) => "11.2.7",
        (PreAuth, true) => "11.2.8",
        (PreAuthVoid, false) => "11.2.9",
        (PreAuthVoid, true) => "11.2.10",
        (CompletionRequest | CompletionNotice, false) => "11.2.11",
        (CompletionRequest | CompletionNotice, true) => "11.2.12",
        (CompletionVoid, false) => "11.2.13",
        (CompletionVoid, true) => "11.2.14",
        (OfflineSettlement, _) => "11.3.1",
        (Adjust | AdjustTip, _) => "11.3.2",
        _ => "11.1.1",
    }
}

/// Seed §2.13 / field 11: +1 per message, 999999 → 000001.
struct TraceIncrements;
impl Rule for TraceIncrements {
    fn id(&self) -> &'static str {
        "trace.increment"
    }
    fn requirement(&self) -> &'static str {
        "10.3.5"
    }
    fn title(&self) -> &'static str {
        "trace number +1 per message, wrapping 999999 to 000001"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        // Numbers taken by offline transactions (stored now, uploaded later) are skipped by the
        // live sequence legitimately.
        let mut offline: HashMap<String, std::collections::HashSet<u32>> = HashMap::new();
        for f in t
            .requests()
            .filter(|f| !consumes_trace(f) && f.message.mti.as_str() == "0220")
        {
            if let Some(n) = f.stan().and_then(|s| s.parse::<u32>().ok()) {
                offline.entry(f.tid()).or_default().insert(n);
            }
        }
        let next = |n: u32| if n >= 999_999 { 1 } else { n + 1 };
        let mut last: HashMap<String, u32> = HashMap::new();
        for f in t.requests().filter(|f| consumes_trace(f)) {
            let Some(stan) = f.stan().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(prev) = last.get(&f.tid()) {
                let taken = offline.get(&f.tid());
                let mut want = next(*prev);
                while taken.is_some_and(|s| s.contains(&want)) && want != stan {
                    want = next(want);
                }
                if stan != want {
                    out.push(violation(
                        self,
                        Some(f),
                        Some("11"),
                        Some(format!("{want:06}")),
                        Some(format!("{stan:06}")),
                        format!("trace after {prev:06} must be {want:06}"),
                    ));
                }
            }
            last.insert(f.tid(), stan);
        }
    }
}

/// Field 64 on financial, offline and reversal messages; not on 08xx, 0500, 0320.
struct MacPresence;
impl Rule for MacPresence {
    fn id(&self) -> &'static str {
        "mac.present"
    }
    fn requirement(&self) -> &'static str {
        "5.2.2"
    }
    fn title(&self) -> &'static str {
        "MAC (field 64) on every message that needs one"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for f in t.requests() {
            let needs = is_financial(f);
            if needs && !f.message.has(64) {
                out.push(violation(
                    self,
                    Some(f),
                    Some("64"),
                    Some("present".into()),
                    Some("absent".into()),
                    "financial message without MAC".into(),
                ));
            }
            if !needs && f.message.has(64) {
                out.push(violation(
                    self,
                    Some(f),
                    Some("64"),
                    Some("absent".into()),
                    Some("present".into()),
                    "management/settlement message must not carry a MAC".into(),
                ));
            }
        }
    }
}

fn event_frame(t: &Transcript, seq: u64) -> Option<&FrameRec> {
    t.requests().filter(|f| f.seq < seq).last()
}

/// The centre verified every MAC with the MAK of the terminal's last sign-in.
struct MacVerifies;
impl Rule for MacVerifies {
    fn id(&self) -> &'static str {
        "mac.valid"
    }
    fn requirement(&self) -> &'static str {
        "5.2.2"
    }
    fn title(&self) -> &'static str {
        "MAC verifies with the working MAK (CUP ECB algorithm)"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for (seq, e) in &t.events {
            match e["event"].as_str() {
                Some("mac_failed") => {
                    let f = event_frame(t, *seq);
                    let found = f.and_then(|f| f.message.bytes(64)).map(hex::encode_upper);
                    out.push(violation(
                        self,
                        f,
                        Some("64"),
                        Some("MAC over MTI..63 with the session MAK".into()),
                        found,
                        "field 64 does not verify".into(),
                    ));
                }
                Some("mac_missing") => {
                    let f = event_frame(t, *seq);
                    out.push(violation(
                        self,
                        f,
                        Some("64"),
                        Some("present".into()),
                        Some("absent".into()),
                        "no MAC to verify".into(),
                    ));
                }
                _ => {}
            }
        }
    }
}

/// Seed §2.17: if 22 says a PIN was entered, 52 must be there (and 53, 26).
struct PinBlockWithPinEntry;
impl Rule for PinBlockWithPinEntry {
    fn id(&self) -> &'static str {
        "pin.block_present"
    }
    fn requirement(&self) -> &'static str {
        "5.2.3"
    }
    fn title(&self) -> &'static str {
        "PIN entered (22 digit 3 = 1) means a PIN block in 52 and security control in 53"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for f in t
            .requests()
            .filter(|f| is_financial(f) && f.message.mti.as_str() != "0400")
        {
            let pin_entered = f.message.text(22).is_some_and(|e| e.ends_with('1'));
            if pin_entered && !f.message.has(52) {
                out.push(violation(
                    self,
                    Some(f),
                    Some("52"),
                    Some("PIN block".into()),
                    Some("absent".into()),
                    "22 says a PIN was entered".into(),
                ));
            }
            if f.message.has(52) && !f.message.has(53) {
                out.push(violation(
                    self,
                    Some(f),
                    Some("53"),
                    Some("security control information".into()),
                    Some("absent".into()),
                    "52 without 53".into(),
                ));
            }
        }
        for (seq, e) in &t.events {
            if e["event"] == "pin_block_invalid" {
                out.push(violation(
                    self,
                    event_frame(t, *seq),
                    Some("52"),
                    Some("ANSI X9.8 format 0 with PAN".into()),
                    e["reason"].as_str().map(str::to_string),
                    "PIN block does not decrypt to a valid format".into(),
                ));
            }
        }
    }
}

/// Seed 6.3.1.2: no financial transaction before a successful POS sign-in.
struct SignInBeforeFinancial;
impl Rule for SignInBeforeFinancial {
    fn id(&self) -> &'static str {
        "sign_in.first"
    }
    fn requirement(&self) -> &'static str {
        "6.3.1.2"
    }
    fn title(&self) -> &'static str {
        "no financial message before a successful POS sign-in"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        let mut signed: HashMap<String, bool> = HashMap::new();
        for f in t.requests() {
            let c = classify(&f.message);
            if c.kind == TxnKind::SignIn {
                let ok = t
                    .answer_to(f)
                    .is_some_and(|a| a.message.text(39) == Some("00"));
                signed.insert(f.tid(), ok);
            } else if c.kind == TxnKind::SignOff {
                signed.insert(f.tid(), false);
            } else if is_financial(f) && !signed.get(&f.tid()).copied().unwrap_or(false) {
                out.push(violation(
                    self,
                    Some(f),
                    None,
                    Some("a 0810 with 39=00 first".into()),
                    Some("not signed in".into()),
                    "financial message before sign-in".into(),
                ));
            }
        }
    }
}

/// 60.2 is the batch the centre gave at sign-in (+1 after settlement); the centre answers 77.
struct BatchFromSignIn;
impl Rule for BatchFromSignIn {
    fn id(&self) -> &'static str {
        "batch.current"
    }
    fn requirement(&self) -> &'static str {
        "6.3.1.2"
    }
    fn title(&self) -> &'static str {
        "batch number from sign-in, +1 after settlement"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for (seq, e) in &t.events {
            if e["event"] == "batch_mismatch" {
                out.push(violation(
                    self,
                    event_frame(t, *seq),
                    Some("60.2"),
                    e["expected"].as_str().map(str::to_string),
                    e["found"].as_str().map(str::to_string),
                    "batch differs from the centre's".into(),
                ));
            }
        }
    }
}

/// Digest §8: a reversal says why in 39.
struct ReversalReason;
impl Rule for ReversalReason {
    fn id(&self) -> &'static str {
        "reversal.reason"
    }
    fn requirement(&self) -> &'static str {
        "7.1.9"
    }
    fn title(&self) -> &'static str {
        "reversal reason code 98, A0, 96 or 06 in field 39"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for f in t.requests().filter(|f| f.message.mti.as_str() == "0400") {
            let r = f.message.text(39);
            if !r.is_some_and(|r| matches!(r, "98" | "A0" | "96" | "06")) {
                out.push(violation(
                    self,
                    Some(f),
                    Some("39"),
                    Some("98, A0, 96 or 06".into()),
                    Some(r.unwrap_or("absent").to_string()),
                    "reversal without a valid reason".into(),
                ));
            }
        }
    }
}

/// Seed 6.1.3.3 / 7.1.9: an unanswered (or MAC-failed) reversible request is reversed before
/// the terminal's next financial transaction (or settlement), with the original's trace.
struct ReversalBeforeNext;
impl Rule for ReversalBeforeNext {
    fn id(&self) -> &'static str {
        "reversal.before_next"
    }
    fn requirement(&self) -> &'static str {
        "7.1.9"
    }
    fn title(&self) -> &'static str {
        "pending reversal sent before the next online transaction"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        let reqs: Vec<&FrameRec> = t.requests().collect();
        for (i, f) in reqs.iter().enumerate() {
            let c = classify(&f.message);
            if c.reversal || !c.kind.is_reversible() {
                continue;
            }
            let answered = t.answer_to(f).is_some();
            if answered {
                continue;
            }
            // The reversal must precede the terminal's next financial transaction (seed
            // 6.1.3.3, digest §8). Management messages (08xx: a sign-in after a power loss,
            // parameter download, status upload, echo) may come first: a terminal that lost
            // its keys must sign in before it can MAC the 0400. Settlement (0500) and batch
            // upload (0320) count: their totals depend on the reversal.
            let Some(next) = reqs[i + 1..]
                .iter()
                .find(|n| n.tid() == f.tid() && !n.message.mti.as_str().starts_with("08"))
            else {
                continue;
            };
            let is_rev = next.message.mti.as_str() == "0400" && next.stan() == f.stan();
            if !is_rev {
                out.push(violation(
                    self,
                    Some(next),
                    Some("mti"),
                    Some(format!(
                        "0400 reversing trace {}",
                        f.stan().unwrap_or_default()
                    )),
                    Some(format!(
                        "{} trace {}",
                        next.message.mti,
                        next.stan().unwrap_or_default()
                    )),
                    format!(
                        "request {} (trace {}) got no answer and was not reversed first",
                        f.message.mti,
                        f.stan().unwrap_or_default()
                    ),
                ));
            }
        }
    }
}

/// Seed 6.3.2: the terminal's totals in 0500 field 48 equal the centre's journal.
struct SettlementTotals;
impl Rule for SettlementTotals {
    fn id(&self) -> &'static str {
        "settlement.totals"
    }
    fn requirement(&self) -> &'static str {
        "6.3.2"
    }
    fn title(&self) -> &'static str {
        "settlement totals equal the journal (RMB and foreign)"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for (seq, e) in &t.events {
            if e["event"] != "settlement" {
                continue;
            }
            for (block, key, flag) in [
                ("RMB", "journal_rmb", "result_rmb"),
                ("foreign", "journal_foreign", "result_foreign"),
            ] {
                if e[flag] != "1" {
                    let j = &e[key];
                    let expected = format!(
                        "debit {:012}/{:03} credit {:012}/{:03}",
                        j["debit_amount"].as_u64().unwrap_or(0),
                        j["debit_count"].as_u64().unwrap_or(0),
                        j["credit_amount"].as_u64().unwrap_or(0),
                        j["credit_count"].as_u64().unwrap_or(0)
                    );
                    out.push(violation(
                        self,
                        event_frame(t, *seq),
                        Some("48"),
                        Some(expected),
                        e["terminal_48"].as_str().map(str::to_string),
                        format!("{block} totals differ from the journal"),
                    ));
                }
            }
        }
    }
}

/// Seed 6.3.3: the end message's count equals the items uploaded.
struct BatchUploadCount;
impl Rule for BatchUploadCount {
    fn id(&self) -> &'static str {
        "batch_upload.count"
    }
    fn requirement(&self) -> &'static str {
        "6.3.3"
    }
    fn title(&self) -> &'static str {
        "batch upload end (202/207) counts every uploaded item"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for (seq, e) in &t.events {
            if e["event"] == "batch_upload_end" && e["terminal_count"] != e["received"] {
                out.push(violation(
                    self,
                    event_frame(t, *seq),
                    Some("48"),
                    Some(e["received"].to_string()),
                    Some(e["terminal_count"].to_string()),
                    "upload end count differs from the items received".into(),
                ));
            }
        }
    }
}

/// Chapter 11: every financial request carries 3, 11, 22, 25, 41, 42, 49, 60 (4 except balance).
struct FinancialMandatoryFields;
impl Rule for FinancialMandatoryFields {
    fn id(&self) -> &'static str {
        "fields.mandatory"
    }
    fn requirement(&self) -> &'static str {
        "11.2.2"
    }
    fn title(&self) -> &'static str {
        "mandatory fields of financial requests (common set of chapter 11)"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for f in t.requests().filter(|f| is_financial(f)) {
            let c = classify(&f.message);
            let mut need: Vec<u8> = vec![3, 11, 22, 25, 41, 42, 49, 60];
            if c.kind != TxnKind::BalanceInquiry {
                need.push(4);
            }
            if c.reversal {
                need.push(39);
            }
            for n in need {
                if !f.message.has(n) {
                    let mut v = violation(
                        self,
                        Some(f),
                        Some(&n.to_string()),
                        Some("present (M)".into()),
                        Some("absent".into()),
                        format!(
                            "{} {} lacks mandatory field {n}",
                            f.message.mti,
                            c.name_en()
                        ),
                    );
                    v.requirement = message_requirement(c.kind, c.reversal);
                    out.push(v);
                }
            }
        }
    }
}

/// Chapter 10: the values of fields the terminal composes, per message type.
struct FieldFormats;

impl FieldFormats {
    fn expected_processing_code(kind: TxnKind) -> Option<&'static str> {
        use TxnKind::*;
        Some(match kind {
            BalanceInquiry => "310000",
            Purchase | CompletionRequest | CompletionNotice | OfflineSettlement | Adjust
            | AdjustTip => "000000",
            PurchaseVoid | Refund | PreAuthVoid | CompletionVoid => "200000",
            PreAuth => "030000",
            _ => return None,
        })
    }
}

impl Rule for FieldFormats {
    fn id(&self) -> &'static str {
        "fields.format"
    }
    fn requirement(&self) -> &'static str {
        "10.3.1"
    }
    fn title(&self) -> &'static str {
        "field values the terminal composes (3, 22, 25, 26, 49, 53, 60)"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        let mut push = |f: &FrameRec,
                        field: &str,
                        req: &'static str,
                        expected: String,
                        found: String,
                        why: &str| {
            let mut v = violation(
                self,
                Some(f),
                Some(field),
                Some(expected),
                Some(found),
                why.to_string(),
            );
            v.requirement = req;
            out.push(v);
        };
        for f in t.requests() {
            let m = &f.message;
            let c = classify(m);
            // 60: Q/CUP 007-2005 allows 17 digits; the codec reads later, longer forms.
            if let Some(f60) = m.text(60) {
                if f60.len() > 17 {
                    push(
                        f,
                        "60",
                        "10.3.27",
                        "at most 17 digits".into(),
                        format!("{} digits", f60.len()),
                        "field 60 longer than the profile allows",
                    );
                }
            }
            if !is_financial(f) {
                continue;
            }
            if let (Some(want), Some(found)) = (Self::expected_processing_code(c.kind), m.text(3)) {
                if want != found {
                    push(
                        f,
                        "3",
                        "10.3.3",
                        want.into(),
                        found.into(),
                        &format!("processing code of a {}", c.name_en()),
                    );
                }
            }
            if let Some(e) = m.text(22) {
                let mode_ok = matches!(e.get(..2), Some("01" | "02" | "05" | "07" | "96"));
                let pin_ok = matches!(e.get(2..3), Some("1" | "2"));
                if !mode_ok || !pin_ok {
                    push(
                        f,
                        "22",
                        "10.3.10",
                        "01/02/05/07/96 + PIN flag 1/2".into(),
                        e.into(),
                        "POS entry mode",
                    );
                }
            }
            if let Some(cond) = m.text(25) {
                let preauth = matches!(
                    c.kind,
                    TxnKind::PreAuth
                        | TxnKind::PreAuthVoid
                        | TxnKind::CompletionRequest
                        | TxnKind::CompletionVoid
                        | TxnKind::CompletionNotice
                );
                let want = if preauth { "06" } else { "00" };
                if cond != want {
                    push(
                        f,
                        "25",
                        "10.3.11",
                        want.into(),
                        cond.into(),
                        "POS condition code",
                    );
                }
            }
            if let Some(p) = m.text(26) {
                if p != "12" {
                    push(
                        f,
                        "26",
                        "10.3.12",
                        "12".into(),
                        p.into(),
                        "PIN capture code",
                    );
                }
            }
            if let Some(cur) = m.text(49) {
                if cur != "156" {
                    push(
                        f,
                        "49",
                        "10.3.23",
                        "156".into(),
                        cur.into(),
                        "transaction currency",
                    );
                }
            }
            if m.has(52) {
                let s53 = m.text(53).unwrap_or("");
                if !s53.starts_with('2') && !s53.starts_with('1') {
                    push(
                        f,
                        "53",
                        "10.3.25",
                        "digit 1 = 2 (X9.8 with PAN) or 1".into(),
                        s53.into(),
                        "security control for a PIN block",
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso8583::{Message, Mti};
    use crate::transcript::Direction;

    fn frame(m: Message) -> FrameRec {
        FrameRec {
            seq: 1,
            conn: 1,
            dir: Direction::In,
            header: None,
            message: m,
            raw: String::new(),
        }
    }

    fn purchase() -> Message {
        Message::new(Mti::parse("0200").unwrap())
            .with(3, "000000")
            .with(4, "000000000100")
            .with(11, "000002")
            .with(22, "021")
            .with(25, "00")
            .with(26, "12")
            .with(41, "12345678")
            .with(42, "898110048120001")
            .with(49, "156")
            .with(52, crate::iso8583::Value::Binary(vec![0; 8]))
            .with(53, "2600000000000000")
            .with(60, "22000001")
    }

    fn fired(m: Message) -> Vec<(String, &'static str)> {
        let t = Transcript {
            frames: vec![frame(m)],
            events: vec![],
            receipts: vec![],
        };
        let mut v = Vec::new();
        FieldFormats.check(&t, &mut v);
        v.into_iter()
            .map(|v| (v.field.unwrap_or_default(), v.requirement))
            .collect()
    }

    #[test]
    fn a_conformant_purchase_passes_and_each_wrong_field_is_named() {
        assert!(fired(purchase()).is_empty());
        assert_eq!(
            fired(purchase().with(3, "200000")),
            [("3".to_string(), "10.3.3")]
        );
        assert_eq!(
            fired(purchase().with(22, "031")),
            [("22".to_string(), "10.3.10")]
        );
        assert_eq!(
            fired(purchase().with(25, "06")),
            [("25".to_string(), "10.3.11")]
        );
        assert_eq!(
            fired(purchase().with(26, "06")),
            [("26".to_string(), "10.3.12")]
        );
        assert_eq!(
            fired(purchase().with(49, "840")),
            [("49".to_string(), "10.3.23")]
        );
        assert_eq!(
            fired(purchase().with(53, "0600000000000000")),
            [("53".to_string(), "10.3.25")]
        );
        assert_eq!(
            fired(purchase().with(60, "2200000100050000000")),
            [("60".to_string(), "10.3.27")]
        );
        // A pre-authorisation uses condition 06.
        let pa = purchase()
            .with(3, "030000")
            .with(25, "06")
            .with(60, "10000001");
        assert!(fired(pa).is_empty());
    }

    /// One connection per message; only the first request goes unanswered.
    fn before_next(msgs: Vec<Message>) -> Vec<String> {
        let mut frames = Vec::new();
        for (i, m) in msgs.into_iter().enumerate() {
            let conn = i as u64 + 1;
            let mut answer = m.clone();
            answer.mti = m.mti.response();
            frames.push(FrameRec {
                seq: 2 * conn,
                conn,
                ..frame(m.with(41, "12345678"))
            });
            if i > 0 {
                frames.push(FrameRec {
                    seq: 2 * conn + 1,
                    conn,
                    dir: Direction::Out,
                    ..frame(answer)
                });
            }
        }
        let t = Transcript {
            frames,
            events: vec![],
            receipts: vec![],
        };
        let mut v = Vec::new();
        ReversalBeforeNext.check(&t, &mut v);
        v.into_iter().map(|v| v.found.unwrap_or_default()).collect()
    }

    #[test]
    fn a_sign_in_may_precede_the_reversal_but_a_financial_request_may_not() {
        let sign_in = Message::new(Mti::parse("0800").unwrap())
            .with(11, "000003")
            .with(60, "00000001004");
        let status = Message::new(Mti::parse("0820").unwrap()).with(60, "00000001362");
        let mut reversal = purchase().with(39, "98");
        reversal.mti = Mti::parse("0400").unwrap();
        let next = purchase().with(11, "000004");
        // Unanswered purchase, sign-in and status upload, then the reversal: conformant.
        assert!(before_next(vec![
            purchase(),
            sign_in.clone(),
            status,
            reversal.clone(),
            next.clone()
        ])
        .is_empty());
        // The next purchase before the reversal is still caught, past a sign-in.
        assert_eq!(
            before_next(vec![purchase(), sign_in, next.clone(), reversal]),
            ["0200 trace 000004"]
        );
        // So is a settlement.
        let settle = Message::new(Mti::parse("0500").unwrap()).with(11, "000003");
        assert_eq!(before_next(vec![purchase(), settle]), ["0500 trace 000003"]);
    }
}
