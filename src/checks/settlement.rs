//! Settlement and batch upload (seed 6.3.2, 6.3.3), judged from what the terminal sent.
//!
//! The 0500 totals are the terminal's claim; the centre's 0510 result flags are the verdict on
//! them. An unbalanced block is not a fault (a reversal the centre answered 96, an answer the
//! terminal never saw): what the terminal must do next is upload that block and end the upload.
//! So the rules judge the upload item by item against the terminal's own transactions, the end
//! message, the claim against what the terminal itself then uploads, and that a batch is
//! settled once.

use std::collections::{HashMap, HashSet};

use super::{violation, FrameRec, Rule, Transcript, Violation};
use crate::iso8583::txn::{classify, TxnKind};

pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(ClaimMatchesUpload),
        Box::new(UploadFollows),
        Box::new(UploadItems),
        Box::new(UploadEnd),
        Box::new(SettledOnce),
    ]
}

fn f60(f: &FrameRec) -> &str {
    f.message.text(60).unwrap_or("")
}
fn batch(f: &FrameRec) -> String {
    f60(f).get(2..8).unwrap_or("").to_string()
}
fn net_code(f: &FrameRec) -> &str {
    f60(f).get(8..11).unwrap_or("")
}
fn approved(t: &Transcript, f: &FrameRec) -> bool {
    t.answer_to(f)
        .and_then(|a| a.message.text(39))
        .is_some_and(|c| matches!(c, "00" | "10" | "11" | "A2" | "A4" | "A5" | "A6"))
}
fn amount(f: &FrameRec) -> Option<u64> {
    f.message.text(4).and_then(|a| a.parse().ok())
}

/// One block's totals as field 48 of a 0500 states them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Totals {
    debit: u64,
    debit_n: u64,
    credit: u64,
    credit_n: u64,
}

impl Totals {
    fn parse(f48: &str, off: usize) -> Option<Totals> {
        let n = |a: usize, b: usize| f48.get(off + a..off + b).and_then(|x| x.parse().ok());
        Some(Totals {
            debit: n(0, 12)?,
            debit_n: n(12, 15)?,
            credit: n(15, 27)?,
            credit_n: n(27, 30)?,
        })
    }
    fn text(&self) -> String {
        format!(
            "debit {:012}/{:03} credit {:012}/{:03}",
            self.debit, self.debit_n, self.credit, self.credit_n
        )
    }
}

/// Whether a kind adds to the debit side (seed 6.3.2: sale, completion, offline, adjust).
fn is_debit(k: TxnKind) -> Option<bool> {
    use TxnKind::*;
    match k {
        Purchase | CompletionRequest | CompletionNotice | OfflineSettlement | Adjust
        | AdjustTip => Some(true),
        Refund | PurchaseVoid | CompletionVoid => Some(false),
        _ => None,
    }
}

/// What a terminal did in one settlement: the 0500, its answer's flags, and the upload that
/// followed (possibly resumed after a break) up to its end message.
struct Session<'a> {
    settle: &'a FrameRec,
    /// (RMB, foreign) result flags of the 0510.
    flags: (char, char),
    /// List items: (the 0320 carrying it, card class, trace, PAN, amount).
    items: Vec<(&'a FrameRec, String, String, String, u64)>,
    /// Notices and IC transactions uploaded one per 0320.
    singles: Vec<&'a FrameRec>,
    end: Option<&'a FrameRec>,
}

/// Settlements in order, each with the upload that followed it for the same terminal.
fn sessions(t: &Transcript) -> Vec<Session<'_>> {
    let mut out: Vec<Session> = Vec::new();
    let mut open: HashMap<String, usize> = HashMap::new();
    for f in t.requests() {
        let c = classify(&f.message);
        match (f.message.mti.as_str(), c.kind) {
            ("0500", _) => {
                let Some(a) = t.answer_to(f) else { continue };
                let r = a.message.text(48).unwrap_or("");
                let flag = |i: usize| r.chars().nth(i).unwrap_or('3');
                out.push(Session {
                    settle: f,
                    flags: (flag(30), flag(61)),
                    items: vec![],
                    singles: vec![],
                    end: None,
                });
                open.insert(f.tid(), out.len() - 1);
            }
            ("0320", kind) => {
                let Some(&i) = open.get(&f.tid()) else {
                    continue;
                };
                let s = &mut out[i];
                // A 0320 that got no answer is sent again when the upload resumes (seed
                // 6.3.3 break point): only answered ones count as uploaded.
                if t.answer_to(f).is_none() {
                    continue;
                }
                if kind == TxnKind::BatchUploadEnd {
                    s.end = Some(f);
                    open.remove(&f.tid());
                } else if f60(f).get(0..2) == Some("00") && net_code(f) == "201" {
                    let f48 = f.message.text(48).unwrap_or("");
                    let n: usize = f48.get(0..2).and_then(|x| x.parse().ok()).unwrap_or(0);
                    for k in 0..n {
                        let Some(it) = f48.get(2 + k * 40..2 + (k + 1) * 40) else {
                            break;
                        };
                        s.items.push((
                            f,
                            it[0..2].to_string(),
                            it[2..8].to_string(),
                            it[8..28].trim_start_matches('0').to_string(),
                            it[28..40].parse().unwrap_or(0),
                        ));
                    }
                } else {
                    s.singles.push(f);
                }
            }
            _ => {}
        }
    }
    out
}

/// The terminal's request with this trace in this batch, if the transcript holds it.
fn original<'a>(t: &'a Transcript, tid: &str, batch_no: &str, stan: &str) -> Option<&'a FrameRec> {
    t.requests().find(|f| {
        f.tid() == tid
            && f.stan().as_deref() == Some(stan)
            && !f.message.mti.as_str().starts_with("03")
            && f.message.mti.as_str() != "0400"
            && batch(f) == batch_no
    })
}

fn reversed(t: &Transcript, f: &FrameRec) -> bool {
    t.requests().any(|r| {
        r.seq > f.seq
            && r.tid() == f.tid()
            && r.message.mti.as_str() == "0400"
            && r.stan() == f.stan()
    })
}

/// Seed 6.3.2: the totals the terminal claims are the sum of its batch, which the terminal's
/// own upload of an unbalanced block spells out item by item.
struct ClaimMatchesUpload;
impl Rule for ClaimMatchesUpload {
    fn id(&self) -> &'static str {
        "settlement.totals"
    }
    fn requirement(&self) -> &'static str {
        "6.3.2"
    }
    fn title(&self) -> &'static str {
        "the 0500 totals are the sum of the batch the terminal then uploads (per unbalanced block)"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for s in sessions(t) {
            if s.end.is_none() || s.flags == ('1', '1') {
                continue;
            }
            let f48 = s.settle.message.text(48).unwrap_or("");
            let due = [s.flags.0 != '1', s.flags.1 != '1'];
            let mut sums = [Totals::default(); 2];
            let mut known = true;
            fn add(sums: &mut [Totals; 2], block: usize, debit: bool, amt: u64) {
                let t = &mut sums[block];
                if debit {
                    t.debit += amt;
                    t.debit_n += 1;
                } else {
                    t.credit += amt;
                    t.credit_n += 1;
                }
            }
            let b = batch(s.settle);
            for (_, class, stan, _, amt) in &s.items {
                let block = usize::from(class != "00");
                match original(t, &s.settle.tid(), &b, stan)
                    .and_then(|o| is_debit(classify(&o.message).kind))
                {
                    Some(d) => add(&mut sums, block, d, *amt),
                    None => known = false,
                }
            }
            let only = match due {
                [true, false] => Some(0),
                [false, true] => Some(1),
                _ => None,
            };
            for n in &s.singles {
                // A notice uploaded in a 0320 keeps its original's 60.1 (its kind).
                let kind = TxnKind::from_type_code(f60(n).get(0..2).unwrap_or(""));
                match (is_debit(kind), only, amount(n)) {
                    (Some(d), Some(block), Some(a)) => {
                        // An added tip (34) may travel in 48 beside the original amount in 4.
                        let tip: u64 = if kind == TxnKind::AdjustTip {
                            n.message.text(48).and_then(|x| x.parse().ok()).unwrap_or(0)
                        } else {
                            0
                        };
                        let claimed = Totals::parse(f48, block * 31).unwrap_or_default();
                        let with_tip = claimed.debit >= sums[block].debit + a + tip;
                        add(
                            &mut sums,
                            block,
                            d,
                            if tip > 0 && with_tip { a + tip } else { a },
                        );
                    }
                    _ => known = false,
                }
            }
            if !known {
                continue;
            }
            for (block, name) in [(0usize, "RMB"), (1, "foreign")] {
                if !due[block] {
                    continue;
                }
                let Some(claimed) = Totals::parse(f48, block * 31) else {
                    continue;
                };
                if claimed != sums[block] {
                    out.push(violation(
                        self,
                        Some(s.settle),
                        Some("48"),
                        Some(sums[block].text()),
                        Some(claimed.text()),
                        format!(
                            "{name} totals claimed in the 0500 are not the sum of the items the terminal then uploaded for batch {b}"
                        ),
                    ));
                }
            }
        }
    }
}

/// Seed 6.3.3: after a 0510 that leaves a block unbalanced the terminal uploads the batch and
/// ends the upload before it trades on or signs off.
struct UploadFollows;
impl Rule for UploadFollows {
    fn id(&self) -> &'static str {
        "batch_upload.due"
    }
    fn requirement(&self) -> &'static str {
        "6.3.3"
    }
    fn title(&self) -> &'static str {
        "an unbalanced settlement is followed by the batch upload and its end before trading on"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        let mut due: HashMap<String, &FrameRec> = HashMap::new();
        for f in t.requests() {
            let c = classify(&f.message);
            let tid = f.tid();
            match f.message.mti.as_str() {
                "0500" => {
                    let flags = t
                        .answer_to(f)
                        .and_then(|a| a.message.text(48))
                        .map(|r| (r.chars().nth(30), r.chars().nth(61)));
                    match flags {
                        Some((Some('1'), Some('1'))) => {
                            due.remove(&tid);
                        }
                        Some(_) => {
                            due.insert(tid, f);
                        }
                        None => {}
                    }
                }
                "0320" if c.kind == TxnKind::BatchUploadEnd && t.answer_to(f).is_some() => {
                    due.remove(&tid);
                }
                "0100" | "0200" | "0220" | "0400" | "0820" => {
                    let new_work = f.message.mti.as_str() != "0820" || c.kind == TxnKind::SignOff;
                    if let (true, Some(s)) = (new_work, due.get(&tid)) {
                        out.push(violation(
                            self,
                            Some(f),
                            Some("mti"),
                            Some("0320 batch upload ending with 60.3 = 202".into()),
                            Some(format!("{} ({})", f.message.mti, c.name_en())),
                            format!(
                                "the 0500 (trace {}) was answered unbalanced and the batch was not uploaded first",
                                s.stan().unwrap_or_default()
                            ),
                        ));
                        due.remove(&tid);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Seed 6.3.3: each item of an upload list is an approved online transaction of the batch,
/// with its amount; inquiries, pre-authorisations, reversed or declined transactions are not
/// uploaded, and no transaction twice.
struct UploadItems;
impl Rule for UploadItems {
    fn id(&self) -> &'static str {
        "batch_upload.items"
    }
    fn requirement(&self) -> &'static str {
        "6.3.3"
    }
    fn title(&self) -> &'static str {
        "each uploaded item is an approved online transaction of the batch, with its amount"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for s in sessions(t) {
            let b = batch(s.settle);
            let tid = s.settle.tid();
            let mut seen = HashSet::new();
            for (f, _, stan, _, amt) in &s.items {
                let bad = |why: String, expected: String, found: String| {
                    violation(self, Some(f), Some("48"), Some(expected), Some(found), why)
                };
                if !seen.insert(stan.clone()) {
                    out.push(bad(
                        format!("trace {stan} is uploaded twice"),
                        "each transaction once".into(),
                        format!("{stan} again"),
                    ));
                    continue;
                }
                let Some(o) = original(t, &tid, &b, stan) else {
                    continue;
                };
                let kind = classify(&o.message).kind;
                let listed = matches!(
                    kind,
                    TxnKind::Purchase
                        | TxnKind::PurchaseVoid
                        | TxnKind::CompletionRequest
                        | TxnKind::CompletionVoid
                );
                if !listed {
                    out.push(bad(
                        format!(
                            "trace {stan} is a {} and is not uploaded in a list",
                            kind.name_en()
                        ),
                        "an online purchase, void, completion or completion void".into(),
                        format!("{} (trace {stan})", kind.name_en()),
                    ));
                } else if !approved(t, o) || reversed(t, o) {
                    out.push(bad(
                        format!(
                            "trace {stan} was not approved (or was reversed) and is not uploaded"
                        ),
                        "approved, not reversed".into(),
                        if reversed(t, o) {
                            "reversed".into()
                        } else {
                            "declined or unanswered".into()
                        },
                    ));
                } else if amount(o) != Some(*amt) {
                    out.push(bad(
                        format!(
                            "the item for trace {stan} carries another amount than the transaction"
                        ),
                        format!("{:012}", amount(o).unwrap_or(0)),
                        format!("{amt:012}"),
                    ));
                }
            }
        }
    }
}

/// Seed 6.3.3: the end message counts every item uploaded (list items and single messages) and
/// says 202 after an unbalanced settlement (207 only when balanced); every approved list
/// transaction of an unbalanced block the transcript shows was uploaded.
struct UploadEnd;
impl Rule for UploadEnd {
    fn id(&self) -> &'static str {
        "batch_upload.count"
    }
    fn requirement(&self) -> &'static str {
        "6.3.3"
    }
    fn title(&self) -> &'static str {
        "upload end: n4 counts every uploaded item, 202 when unbalanced, no approved item left out"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for s in sessions(t) {
            let Some(end) = s.end else { continue };
            let uploaded: HashSet<&str> = s.items.iter().map(|i| i.2.as_str()).collect();
            let n = uploaded.len()
                + s.singles
                    .iter()
                    .filter_map(|f| f.stan())
                    .collect::<HashSet<_>>()
                    .len();
            let claimed: Option<usize> = end
                .message
                .text(48)
                .and_then(|x| x.get(0..4))
                .and_then(|x| x.parse().ok());
            if claimed != Some(n) {
                out.push(violation(
                    self,
                    Some(end),
                    Some("48"),
                    Some(format!("{n:04}")),
                    end.message.text(48).map(str::to_string),
                    "the upload end does not count the items uploaded".into(),
                ));
            }
            let want = if s.flags == ('1', '1') { "207" } else { "202" };
            if net_code(end) != want {
                out.push(violation(
                    self,
                    Some(end),
                    Some("60.3"),
                    Some(want.into()),
                    Some(net_code(end).to_string()),
                    format!(
                        "the settlement answered {}{}: the upload end says {want}",
                        s.flags.0, s.flags.1
                    ),
                ));
            }
            if s.flags == ('1', '1') {
                continue;
            }
            // Approved list transactions of this batch the transcript shows, of a due block.
            let b = batch(s.settle);
            let only_rmb = s.flags.0 != '1' && s.flags.1 == '1';
            let only_foreign = s.flags.0 == '1' && s.flags.1 != '1';
            for o in t.requests().filter(|o| {
                o.seq < s.settle.seq
                    && o.tid() == s.settle.tid()
                    && batch(o) == b
                    && !o.message.has(55)
                    && matches!(o.message.mti.as_str(), "0200")
            }) {
                let kind = classify(&o.message).kind;
                let listed = matches!(
                    kind,
                    TxnKind::Purchase
                        | TxnKind::PurchaseVoid
                        | TxnKind::CompletionRequest
                        | TxnKind::CompletionVoid
                );
                if !listed || !approved(t, o) || reversed(t, o) {
                    continue;
                }
                let foreign = t
                    .answer_to(o)
                    .and_then(|a| a.message.text(63))
                    .and_then(|x| x.get(..3))
                    .is_some_and(|x| x != "CUP");
                if (only_rmb && foreign) || (only_foreign && !foreign) {
                    continue;
                }
                // An original replaced by an adjustment travels as that adjustment.
                let stan = o.stan().unwrap_or_default();
                let adjusted = t.requests().any(|a| {
                    matches!(
                        classify(&a.message).kind,
                        TxnKind::Adjust | TxnKind::AdjustTip
                    ) && a
                        .message
                        .text(61)
                        .and_then(|x| x.get(6..12))
                        .is_some_and(|x| x == stan)
                });
                if !adjusted && !uploaded.contains(stan.as_str()) {
                    out.push(violation(
                        self,
                        Some(end),
                        Some("48"),
                        Some(format!("trace {stan} uploaded")),
                        Some("left out".into()),
                        format!(
                            "the approved {} (trace {stan}) of batch {b} was not uploaded",
                            kind.name_en()
                        ),
                    ));
                }
            }
        }
    }
}

/// Seed 6.3.2: a batch is settled once; after a balanced 0510 or the upload end the terminal
/// works in the next batch. (A 0500 resent because it got no answer is not a second one.)
struct SettledOnce;
impl Rule for SettledOnce {
    fn id(&self) -> &'static str {
        "settlement.once"
    }
    fn requirement(&self) -> &'static str {
        "6.3.2"
    }
    fn title(&self) -> &'static str {
        "a batch is settled once (balanced 0510 or upload end closes it)"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        let mut closed: HashSet<(String, String)> = HashSet::new();
        for f in t.requests() {
            let key = (f.tid(), batch(f));
            let c = classify(&f.message);
            if f.message.mti.as_str() == "0500" {
                if closed.contains(&key) {
                    out.push(violation(
                        self,
                        Some(f),
                        Some("60.2"),
                        Some("the next batch".into()),
                        Some(key.1.clone()),
                        format!("batch {} was already settled", key.1),
                    ));
                }
                let balanced = t
                    .answer_to(f)
                    .and_then(|a| a.message.text(48))
                    .is_some_and(|r| {
                        r.chars().nth(30) == Some('1') && r.chars().nth(61) == Some('1')
                    });
                if balanced {
                    closed.insert(key);
                }
            } else if c.kind == TxnKind::BatchUploadEnd && t.answer_to(f).is_some() {
                closed.insert(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso8583::{Message, Mti};
    use crate::transcript::Direction;

    /// A crafted session: requests with their answers, in order, on one connection.
    struct Day {
        frames: Vec<FrameRec>,
    }
    impl Day {
        fn new() -> Day {
            Day { frames: vec![] }
        }
        fn push(&mut self, dir: Direction, m: Message) {
            let seq = self.frames.len() as u64 + 1;
            self.frames.push(FrameRec {
                seq,
                conn: 1,
                dir,
                header: None,
                message: m,
                raw: String::new(),
            });
        }
        /// A request and (unless `answer` is None) its answer with 39 / 48.
        fn ex(&mut self, req: Message, answer: Option<(&str, Option<&str>)>) -> &mut Day {
            let mti = req.mti.as_str().to_string();
            self.push(Direction::In, req.clone());
            if let Some((code, f48)) = answer {
                let rmti = format!(
                    "{}{}{}",
                    &mti[..2],
                    (mti.as_bytes()[2] + 1) as char,
                    &mti[3..]
                );
                let mut a = Message::new(Mti::parse(&rmti).unwrap())
                    .with(11, req.text(11).unwrap_or(""))
                    .with(41, "12345678")
                    .with(39, code);
                if let Some(x) = f48 {
                    a = a.with(48, x);
                }
                self.push(Direction::Out, a);
            }
            self
        }
        fn check(&self, rule: &dyn Rule) -> Vec<Violation> {
            let t = Transcript {
                frames: self.frames.clone(),
                events: vec![],
                receipts: vec![],
                bad_frames: vec![],
            };
            let mut out = vec![];
            rule.check(&t, &mut out);
            out
        }
    }
    fn msg(mti: &str, stan: &str, f60: &str) -> Message {
        Message::new(Mti::parse(mti).unwrap())
            .with(11, stan)
            .with(41, "12345678")
            .with(60, f60)
    }
    fn purchase(stan: &str, amount: u64) -> Message {
        msg("0200", stan, "22000001")
            .with(3, "000000")
            .with(4, format!("{amount:012}"))
    }
    fn totals(debit: u64, n: u64) -> String {
        format!("{debit:012}{n:03}{:012}{:03}0{:030}0", 0, 0, 0)
    }
    fn answer48(claim: &str, rmb: char) -> String {
        let mut a = claim.to_string();
        a.replace_range(30..31, &rmb.to_string());
        a.replace_range(61..62, "1");
        a
    }
    fn item(stan: &str, amount: u64) -> String {
        format!("00{stan}{:0>20}{amount:012}", "6225881234567890")
    }
    /// Two purchases, one of them lost by the centre's journal: unbalanced, then the upload.
    fn day(claim: (u64, u64), items: &[(&str, u64)], end: &str, count: usize) -> Day {
        let mut d = Day::new();
        d.ex(purchase("000001", 1000), Some(("00", None)));
        d.ex(purchase("000002", 2000), Some(("00", None)));
        d.ex(
            msg("0100", "000003", "10000001").with(4, "000000003000"),
            Some(("00", None)),
        );
        let c = totals(claim.0, claim.1);
        d.ex(
            msg("0500", "000004", "00000001201").with(48, c.clone()),
            Some(("00", Some(&answer48(&c, '2')))),
        );
        let mut f48 = format!("{:02}", items.len());
        for (s, a) in items {
            f48.push_str(&item(s, *a));
        }
        d.ex(
            msg("0320", "000005", "00000001201").with(48, f48),
            Some(("00", None)),
        );
        d.ex(
            msg("0320", "000006", &format!("00000001{end}")).with(48, format!("{count:04}")),
            Some(("00", None)),
        );
        d
    }
    fn ids(v: &[Violation]) -> Vec<(&str, Option<&str>)> {
        v.iter().map(|v| (v.rule, v.field.as_deref())).collect()
    }

    #[test]
    fn a_conformant_unbalanced_settlement_and_its_upload_pass_every_rule() {
        let d = day((3000, 2), &[("000001", 1000), ("000002", 2000)], "202", 2);
        for r in rules() {
            assert_eq!(d.check(r.as_ref()), vec![], "{}", r.id());
        }
    }

    #[test]
    fn each_upload_fault_trips_its_rule_at_the_message_at_fault() {
        // Claim one fen off, upload right: the claim is wrong (blamed on the 0500).
        let d = day((3001, 2), &[("000001", 1000), ("000002", 2000)], "202", 2);
        let v = d.check(&ClaimMatchesUpload);
        assert_eq!(ids(&v), vec![("settlement.totals", Some("48"))]);
        assert_eq!(v[0].mti.as_deref(), Some("0500"));
        // A wrong item amount, a pre-authorisation in the list, an item twice.
        let d = day((3000, 2), &[("000001", 1000), ("000002", 2500)], "202", 2);
        assert_eq!(
            ids(&d.check(&UploadItems)),
            vec![("batch_upload.items", Some("48"))]
        );
        let d = day(
            (3000, 2),
            &[("000001", 1000), ("000002", 2000), ("000003", 3000)],
            "202",
            3,
        );
        let v = d.check(&UploadItems);
        assert!(v[0].message.contains("pre-auth"), "{v:?}");
        let d = day((3000, 2), &[("000001", 1000), ("000001", 1000)], "202", 2);
        assert!(d.check(&UploadItems)[0].message.contains("twice"));
        // An approved item left out; a wrong end code; a wrong count.
        let d = day((3000, 2), &[("000001", 1000)], "202", 1);
        let v = d.check(&UploadEnd);
        assert_eq!(ids(&v), vec![("batch_upload.count", Some("48"))]);
        assert!(v[0].message.contains("000002"), "{v:?}");
        let d = day((3000, 2), &[("000001", 1000), ("000002", 2000)], "207", 2);
        assert_eq!(
            ids(&d.check(&UploadEnd)),
            vec![("batch_upload.count", Some("60.3"))]
        );
        let d = day((3000, 2), &[("000001", 1000), ("000002", 2000)], "202", 3);
        assert_eq!(
            ids(&d.check(&UploadEnd)),
            vec![("batch_upload.count", Some("48"))]
        );
    }

    #[test]
    fn no_upload_after_an_unbalanced_answer_and_a_second_settlement_are_caught() {
        let mut d = Day::new();
        d.ex(purchase("000001", 1000), Some(("00", None)));
        let c = totals(1000, 1);
        d.ex(
            msg("0500", "000002", "00000001201").with(48, c.clone()),
            Some(("00", Some(&answer48(&c, '2')))),
        );
        d.ex(purchase("000003", 1000), Some(("00", None)));
        assert_eq!(
            ids(&d.check(&UploadFollows)),
            vec![("batch_upload.due", Some("mti"))]
        );
        let mut d = Day::new();
        d.ex(
            msg("0500", "000001", "00000001201").with(48, c.clone()),
            Some(("00", Some(&answer48(&c, '1')))),
        );
        // Resent after no answer is fine; sent again after a balanced answer is not.
        d.ex(
            msg("0500", "000002", "00000002201").with(48, c.clone()),
            None,
        );
        d.ex(
            msg("0500", "000003", "00000002201").with(48, c.clone()),
            Some(("00", Some(&answer48(&c, '1')))),
        );
        assert_eq!(d.check(&SettledOnce), vec![]);
        d.ex(
            msg("0500", "000004", "00000002201").with(48, c.clone()),
            Some(("00", Some(&answer48(&c, '1')))),
        );
        assert_eq!(
            ids(&d.check(&SettledOnce)),
            vec![("settlement.once", Some("60.2"))]
        );
    }
}
