//! Transactions that name an original (seed 001 §7.1.3–7.1.8, §7.2): a void names its
//! purchase or completion by batch and trace in 61 and carries its amount and reference
//! number; a refund names an approved transaction's reference number and asks no more than it;
//! a pre-auth void or completion names an approved pre-authorisation by its code. Offline
//! notices reach the centre before their batch is settled (§7.2.1).
//!
//! An original outside the recorded transcript (an earlier session) cannot be judged, so a
//! rule only speaks when the transcript holds the original's batch.

use super::{FrameRec, Rule, Transcript, Violation};
use crate::iso8583::txn::{classify, TxnKind};

/// An approved original: the request and the answer's reference number and auth code.
struct Original<'a> {
    req: &'a FrameRec,
    kind: TxnKind,
    batch: String,
    rrn: Option<String>,
    auth: Option<String>,
}

fn text(f: &FrameRec, n: u8) -> Option<String> {
    f.message.text(n).map(|s| s.trim().to_string())
}

fn batch_of(f: &FrameRec) -> String {
    f.message
        .text(60)
        .and_then(|s| s.get(2..8))
        .unwrap_or("")
        .to_string()
}

/// Approved non-reversal transactions before `seq` for the terminal of `f`.
fn originals<'a>(t: &'a Transcript, before: &FrameRec) -> Vec<Original<'a>> {
    let tid = before.tid();
    t.requests()
        .filter(|r| r.seq < before.seq && r.tid() == tid && !classify(&r.message).reversal)
        .filter_map(|r| {
            let a = t.answer_to(r)?;
            (a.message.text(39) == Some("00")).then(|| Original {
                req: r,
                kind: classify(&r.message).kind,
                batch: batch_of(r),
                rrn: text(a, 37),
                auth: text(a, 38),
            })
        })
        .collect()
}

/// Voids, refunds, pre-auth voids and completions name a real original.
pub struct NamesARealOriginal;

impl NamesARealOriginal {
    fn requirement_of(kind: TxnKind) -> &'static str {
        match kind {
            TxnKind::PurchaseVoid => "7.1.3",
            TxnKind::Refund => "7.1.4",
            TxnKind::PreAuthVoid => "7.1.6",
            TxnKind::CompletionRequest => "7.1.7",
            _ => "7.1.8",
        }
    }

    /// One violation: (field, expected, found, message), cited under the transaction's own
    /// requirement.
    fn push(
        &self,
        out: &mut Vec<Violation>,
        f: &FrameRec,
        kind: TxnKind,
        (field, expected, found, message): (&str, String, Option<String>, String),
    ) {
        let mut v = super::violation(
            self,
            Some(f),
            Some(field),
            Some(expected),
            Some(found.unwrap_or_else(|| "absent".into())),
            message,
        );
        v.requirement = Self::requirement_of(kind);
        out.push(v);
    }
}

impl Rule for NamesARealOriginal {
    fn id(&self) -> &'static str {
        "reference.original"
    }
    fn requirement(&self) -> &'static str {
        "7.1.3"
    }
    fn title(&self) -> &'static str {
        "voids, refunds, pre-auth voids and completions name an approved original (61, 37, 38) with its amount"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for f in t.requests() {
            let c = classify(&f.message);
            if c.reversal {
                continue;
            }
            match c.kind {
                TxnKind::PurchaseVoid | TxnKind::CompletionVoid => {
                    let want_kind = if c.kind == TxnKind::PurchaseVoid {
                        TxnKind::Purchase
                    } else {
                        TxnKind::CompletionRequest
                    };
                    let f61 = f.message.text(61).unwrap_or("");
                    let (Some(batch), Some(stan)) = (f61.get(0..6), f61.get(6..12)) else {
                        self.push(
                            out,
                            f,
                            c.kind,
                            (
                                "61",
                                "original batch and trace (61.1, 61.2)".into(),
                                Some(f61.to_string()),
                                "a void must name its original in 61".into(),
                            ),
                        );
                        continue;
                    };
                    let origs = originals(t, f);
                    if !origs.iter().any(|o| o.batch == batch) {
                        continue; // the original's batch is not in this transcript
                    }
                    let Some(o) = origs.iter().rev().find(|o| {
                        o.kind == want_kind
                            && o.batch == batch
                            && o.req.stan().as_deref() == Some(stan)
                    }) else {
                        self.push(
                            out,
                            f,
                            c.kind,
                            (
                                "61.2",
                                format!(
                                    "the trace of an approved {} of batch {batch}",
                                    want_kind.name_en()
                                ),
                                Some(stan.to_string()),
                                "the void names no approved original".into(),
                            ),
                        );
                        continue;
                    };
                    if text(f, 4) != text(o.req, 4) {
                        self.push(
                            out,
                            f,
                            c.kind,
                            (
                                "4",
                                text(o.req, 4).unwrap_or_default(),
                                text(f, 4),
                                "a void carries the original amount".into(),
                            ),
                        );
                    }
                    if o.rrn.is_some() && text(f, 37) != o.rrn {
                        self.push(
                            out,
                            f,
                            c.kind,
                            (
                                "37",
                                o.rrn.clone().unwrap_or_default(),
                                text(f, 37),
                                "a void carries the original's reference number".into(),
                            ),
                        );
                    }
                }
                TxnKind::Refund => {
                    let Some(rrn) = text(f, 37) else {
                        self.push(
                            out,
                            f,
                            c.kind,
                            (
                                "37",
                                "the original's reference number".into(),
                                None,
                                "a refund names its original by 37".into(),
                            ),
                        );
                        continue;
                    };
                    let origs = originals(t, f);
                    if let Some(o) = origs
                        .iter()
                        .rev()
                        .find(|o| o.rrn.as_deref() == Some(rrn.as_str()))
                    {
                        let amount = |x: &FrameRec| text(x, 4).and_then(|a| a.parse::<u64>().ok());
                        if let (Some(a), Some(b)) = (amount(f), amount(o.req)) {
                            if a > b {
                                self.push(
                                    out,
                                    f,
                                    c.kind,
                                    (
                                        "4",
                                        format!("at most {}", text(o.req, 4).unwrap_or_default()),
                                        text(f, 4),
                                        "a refund asks no more than its original".into(),
                                    ),
                                );
                            }
                        }
                    }
                }
                TxnKind::PreAuthVoid | TxnKind::CompletionRequest => {
                    let origs = originals(t, f);
                    let preauths: Vec<&Original> = origs
                        .iter()
                        .filter(|o| o.kind == TxnKind::PreAuth)
                        .collect();
                    if preauths.is_empty() {
                        continue; // no pre-authorisation in this transcript to judge against
                    }
                    let code = text(f, 38);
                    let Some(o) = preauths
                        .iter()
                        .rev()
                        .find(|o| o.auth.is_some() && o.auth == code)
                    else {
                        self.push(
                            out,
                            f,
                            c.kind,
                            (
                                "38",
                                "the authorisation code of an approved pre-authorisation".into(),
                                code,
                                "names no approved pre-authorisation".into(),
                            ),
                        );
                        continue;
                    };
                    if c.kind == TxnKind::PreAuthVoid && text(f, 4) != text(o.req, 4) {
                        self.push(
                            out,
                            f,
                            c.kind,
                            (
                                "4",
                                text(o.req, 4).unwrap_or_default(),
                                text(f, 4),
                                "a pre-auth void carries the pre-authorised amount".into(),
                            ),
                        );
                    }
                }
                _ => {}
            }
        }
    }
}

/// Offline settlements and adjusts (0220) are sent before the 0500 of their batch.
pub struct OfflineBeforeSettlement;

impl Rule for OfflineBeforeSettlement {
    fn id(&self) -> &'static str {
        "offline.before_settlement"
    }
    fn requirement(&self) -> &'static str {
        "7.2.1"
    }
    fn title(&self) -> &'static str {
        "offline settlements and adjusts reach the centre before their batch is settled"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        let mut settled: Vec<(String, String, u64)> = Vec::new(); // (terminal, batch, seq)
        for f in t.requests() {
            let c = classify(&f.message);
            if f.message.mti.as_str() == "0500" {
                settled.push((f.tid(), batch_of(f), f.seq));
                continue;
            }
            let offline = f.message.mti.as_str() == "0220"
                && matches!(
                    c.kind,
                    TxnKind::OfflineSettlement | TxnKind::Adjust | TxnKind::AdjustTip
                );
            if !offline {
                continue;
            }
            let batch = batch_of(f);
            if let Some((_, _, at)) = settled
                .iter()
                .find(|(tid, b, _)| *tid == f.tid() && *b == batch)
            {
                let mut v = super::violation(
                    self,
                    Some(f),
                    Some("60.2"),
                    Some(format!("sent before the 0500 of batch {batch}")),
                    Some(format!("sent after it (record {at})")),
                    "an offline transaction arrived after its batch was settled".into(),
                );
                if c.kind != TxnKind::OfflineSettlement {
                    v.requirement = "7.2.2";
                }
                out.push(v);
            }
        }
    }
}

pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(NamesARealOriginal),
        Box::new(OfflineBeforeSettlement),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso8583::{Message, Mti};
    use crate::transcript::Direction;

    fn rec(seq: u64, dir: Direction, m: Message) -> FrameRec {
        FrameRec {
            seq,
            conn: 1,
            dir,
            header: None,
            message: m,
            raw: String::new(),
        }
    }

    fn req(mti: &str, proc: &str, stan: &str, amount: &str, f60: &str) -> Message {
        Message::new(Mti::parse(mti).unwrap())
            .with(3, proc)
            .with(4, amount)
            .with(11, stan)
            .with(41, "12345678")
            .with(60, f60)
    }

    fn ok(m: &Message, rrn: &str, auth: &str) -> Message {
        let mut a = m.clone();
        a.mti = m.mti.response();
        a.with(37, rrn).with(38, auth).with(39, "00")
    }

    fn fired(frames: Vec<FrameRec>) -> Vec<(String, String, &'static str)> {
        let t = Transcript {
            frames,
            events: vec![],
            receipts: vec![],
            bad_frames: vec![],
        };
        let mut v = Vec::new();
        for r in rules() {
            r.check(&t, &mut v);
        }
        v.into_iter()
            .map(|v| {
                (
                    v.rule.to_string(),
                    v.field.unwrap_or_default(),
                    v.requirement,
                )
            })
            .collect()
    }

    #[test]
    fn a_void_must_name_an_approved_purchase_with_its_amount_and_rrn() {
        let p = req("0200", "000000", "000002", "000000000100", "22000001");
        let day = |void: Message| {
            vec![
                rec(1, Direction::In, p.clone()),
                rec(2, Direction::Out, ok(&p, "120000000001", "A1B2C3")),
                rec(3, Direction::In, void),
            ]
        };
        let good = req("0200", "200000", "000003", "000000000100", "23000001")
            .with(37, "120000000001")
            .with(61, "000001000002");
        assert!(fired(day(good.clone())).is_empty());
        let wrong_trace = good.clone().with(61, "000001000009");
        assert_eq!(
            fired(day(wrong_trace)),
            vec![("reference.original".into(), "61.2".into(), "7.1.3")]
        );
        let wrong_amount = good.clone().with(4, "000000000099");
        assert_eq!(
            fired(day(wrong_amount)),
            vec![("reference.original".into(), "4".into(), "7.1.3")]
        );
        let wrong_rrn = good.clone().with(37, "999999999999");
        assert_eq!(
            fired(day(wrong_rrn)),
            vec![("reference.original".into(), "37".into(), "7.1.3")]
        );
        // An original of a batch the transcript does not hold is not judged.
        let other_batch = good.with(61, "000007000002");
        assert!(fired(day(other_batch)).is_empty());
    }

    #[test]
    fn refunds_completions_and_offline_notices() {
        let p = req("0200", "000000", "000002", "000000000500", "22000001");
        let pa = req("0100", "030000", "000003", "000000001000", "10000001");
        let base = vec![
            rec(1, Direction::In, p.clone()),
            rec(2, Direction::Out, ok(&p, "120000000001", "A1B2C3")),
            rec(3, Direction::In, pa.clone()),
            rec(4, Direction::Out, ok(&pa, "120000000002", "PA0001")),
        ];
        let with = |extra: Vec<FrameRec>| {
            let mut v = base.clone();
            v.extend(extra);
            v
        };
        let refund =
            req("0220", "200000", "000004", "000000000600", "25000001").with(37, "120000000001");
        assert_eq!(
            fired(with(vec![rec(5, Direction::In, refund)])),
            vec![("reference.original".into(), "4".into(), "7.1.4")]
        );
        let completion =
            req("0200", "000000", "000005", "000000001000", "20000001").with(38, "PA0001");
        assert!(fired(with(vec![rec(5, Direction::In, completion.clone())])).is_empty());
        let bad = completion.with(38, "ZZ9999");
        assert_eq!(
            fired(with(vec![rec(5, Direction::In, bad)])),
            vec![("reference.original".into(), "38".into(), "7.1.7")]
        );
        let settle = Message::new(Mti::parse("0500").unwrap())
            .with(11, "000006")
            .with(41, "12345678")
            .with(60, "00000001201");
        let offline = req("0220", "000000", "000007", "000000000300", "30000001");
        assert_eq!(
            fired(with(vec![
                rec(5, Direction::In, settle),
                rec(6, Direction::In, offline)
            ])),
            vec![("offline.before_settlement".into(), "60.2".into(), "7.2.1")]
        );
    }
}
