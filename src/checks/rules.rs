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

/// Seed 5.2.3: the PIN block the centre received decrypts under the PIK to ANSI X9.8 with the
/// PAN. (Whether 52, 53 and 26 are there is the message tables' business: `fields.table`.)
struct PinBlockWithPinEntry;
impl Rule for PinBlockWithPinEntry {
    fn id(&self) -> &'static str {
        "pin.block_format"
    }
    fn requirement(&self) -> &'static str {
        "5.2.3"
    }
    fn title(&self) -> &'static str {
        "the PIN block decrypts to ANSI X9.8 format 0 with the PAN"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
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
            bad_frames: vec![],
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
