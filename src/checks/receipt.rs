//! Receipt checks (seed 001 chapter 12): every slip the terminal printed, as recorded in the
//! transcript, is read element by element and compared with the transaction the centre saw.
//!
//! Slips are read by their printed labels (Chinese or English title, value after a colon or
//! on the next line), so any terminal's layout that prints the standard titles is readable. A
//! sales slip is matched to its transaction by its voucher number (= field 11); the
//! settlement slip to the last 0500/0510 before it.

use super::{FrameRec, Rule, Transcript, Violation};
use crate::iso8583::mask::mask_pan;
use crate::iso8583::txn::{classify, TxnKind};

/// The receipt rules.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(SalesSlipElements),
        Box::new(ReprintMarked),
        Box::new(SettlementSlip),
    ]
}

/// One recorded slip.
#[derive(Debug, Clone)]
pub struct Slip {
    pub seq: u64,
    pub text: String,
}

/// A slip element: titles it may be printed under.
struct Label {
    zh: &'static str,
    en: &'static str,
}

const MERCHANT_NO: Label = Label {
    zh: "商户编号",
    en: "MERCHANT NO",
};
const TERMINAL_NO: Label = Label {
    zh: "终端编号",
    en: "TERMINAL NO",
};
const VOUCHER: Label = Label {
    zh: "凭证号",
    en: "VOUCHER NO",
};
const BATCH: Label = Label {
    zh: "批次号",
    en: "BATCH NO",
};
const REF_NO: Label = Label {
    zh: "参考号",
    en: "REF. NO",
};
const AUTH: Label = Label {
    zh: "授权码",
    en: "AUTH NO",
};
const AMOUNT: Label = Label {
    zh: "金额",
    en: "AMOUNT",
};
const CARD: Label = Label {
    zh: "卡号",
    en: "CARD NO",
};
const DATETIME: Label = Label {
    zh: "日期/时间",
    en: "DATE/TIME",
};
const TYPE: Label = Label {
    zh: "交易类型",
    en: "TRANS TYPE",
};

impl Label {
    fn name(&self) -> String {
        format!("{} {}", self.zh, self.en)
    }
}

/// The value printed under `label`: after the colon on its line, else the next non-empty line.
fn element(slip: &str, label: &Label) -> Option<String> {
    let lines: Vec<&str> = slip.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        // `原凭证号` (original voucher) is a reference line, not the voucher element.
        let at = line.find(label.zh).filter(|&p| !line[..p].ends_with('原'));
        let hit = at.is_some() || line.to_uppercase().contains(label.en);
        if !hit || line.trim_start().starts_with("原") {
            continue;
        }
        let after = line
            .rsplit_once(':')
            .or_else(|| line.rsplit_once('：'))
            .map(|(_, v)| v.trim())
            .unwrap_or("");
        if !after.is_empty() {
            return Some(after.to_string());
        }
        return lines[i + 1..]
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty())
            .map(str::to_string);
    }
    None
}

fn is_sales_slip(text: &str) -> bool {
    (text.contains("签购单") || text.to_uppercase().contains("SALES SLIP"))
        && !text.contains("结算")
}

/// The test-state marker (`***测试/TESTING,凭证无效***`, `TEST`): a line of its own that starts
/// with 测试 or says TEST — not a merchant named 银联测试商户.
fn has_test_marker(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim().trim_matches('*').trim();
        let up = t.to_uppercase();
        t.starts_with("测试") || up.starts_with("TEST") || up.contains("TESTING")
    })
}

fn is_settlement_slip(text: &str) -> bool {
    text.contains("结算总计单") || text.to_uppercase().contains("SETTLEMENT REPORT")
}

/// The words of a printed value: `RMB 11.00` is `RMB`, `11.00`; `622588******7890 S` is the
/// PAN and the entry letter.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '/' | ':' | '：' | '(' | ')' | ','))
        .filter(|t| !t.is_empty())
}

/// Whether a printed element shows `want`: every word of `want`, in order, as whole words of
/// the element (so `1.00` is not found in `11.00`, nor `消费` in `消费撤销`).
fn shows(found: &str, want: &str) -> bool {
    let have: Vec<&str> = tokens(found).collect();
    let need: Vec<&str> = tokens(want).collect();
    !need.is_empty() && have.windows(need.len()).any(|w| w == need.as_slice())
}

/// `000000012345` → `123.45`.
fn yuan(f4: &str) -> Option<String> {
    let fen: u64 = f4.trim().parse().ok()?;
    Some(format!("{}.{:02}", fen / 100, fen % 100))
}

/// PAN of a request: field 2, else the digits of track 2 before `=`/`D`.
fn pan_of(req: &FrameRec) -> Option<String> {
    if let Some(p) = req.message.text(2) {
        return Some(p.to_string());
    }
    let t2 = req.message.get(35)?.display();
    let digits: String = t2.chars().take_while(|c| c.is_ascii_digit()).collect();
    (digits.len() >= 12).then_some(digits)
}

/// A pre-authorisation slip prints the full PAN (all sources agree, ch. 12 element 6).
fn prints_full_pan(kind: TxnKind) -> bool {
    kind == TxnKind::PreAuth
}

/// Slips that may print it either way: sources differ on the pre-auth void, offline and
/// adjust slips ([var]); everything else must be masked.
fn may_print_full_pan(kind: TxnKind) -> bool {
    matches!(
        kind,
        TxnKind::PreAuth
            | TxnKind::PreAuthVoid
            | TxnKind::OfflineSettlement
            | TxnKind::Adjust
            | TxnKind::AdjustTip
    )
}

fn rule_violation(
    rule: &dyn Rule,
    slip: &Slip,
    f: Option<&FrameRec>,
    element: &Label,
    expected: Option<String>,
    found: Option<String>,
    message: String,
) -> Violation {
    let mut v = super::violation(
        rule,
        f,
        Some(&format!("slip: {}", element.name())),
        expected,
        found,
        message,
    );
    // The slip is the record at fault.
    v.seq = Some(slip.seq);
    v
}

/// 12.2.1: every mandatory element of a sales slip, equal to the transaction's fields.
pub struct SalesSlipElements;

impl Rule for SalesSlipElements {
    fn id(&self) -> &'static str {
        "receipt.sales"
    }
    fn requirement(&self) -> &'static str {
        "12.2.1"
    }
    fn title(&self) -> &'static str {
        "sales slip elements match the transaction (merchant, terminal, voucher, batch, ref. no., auth, amount, masked PAN, date/time, type)"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for slip in t.receipts.iter().filter(|s| is_sales_slip(&s.text)) {
            let voucher = element(&slip.text, &VOUCHER);
            let Some(voucher) = voucher else {
                out.push(rule_violation(
                    self,
                    slip,
                    None,
                    &VOUCHER,
                    Some("the voucher number (field 11)".into()),
                    Some("absent".into()),
                    "the sales slip has no voucher number".into(),
                ));
                continue;
            };
            // The latest approved request with that trace before the slip was printed.
            let pair = t
                .requests()
                .filter(|r| r.seq < slip.seq && r.stan().as_deref() == Some(voucher.as_str()))
                .filter_map(|r| t.answer_to(r).map(|a| (r, a)))
                .filter(|(r, a)| a.message.text(39) == Some("00") && !classify(&r.message).reversal)
                .last();
            let Some((req, resp)) = pair else {
                // Offline entries reach the centre only at settlement.
                if slip.text.contains("离线")
                    || slip.text.to_uppercase().contains("OFFLINE")
                    || slip.text.contains("调整")
                {
                    continue;
                }
                out.push(rule_violation(
                    self,
                    slip,
                    None,
                    &VOUCHER,
                    Some("the voucher of an approved transaction".into()),
                    Some(voucher.clone()),
                    format!("no approved transaction with trace {voucher} precedes this slip"),
                ));
                continue;
            };
            let kind = classify(&req.message).kind;
            let mut expect = |label: &Label, want: Option<String>, how: &str| {
                let Some(want) = want else { return };
                let found = element(&slip.text, label);
                let ok = found.as_deref().is_some_and(|f| shows(f, &want));
                if !ok {
                    out.push(rule_violation(
                        self,
                        slip,
                        Some(req),
                        label,
                        Some(want),
                        Some(found.unwrap_or_else(|| "absent".into())),
                        format!("sales slip element {} must show {how}", label.name()),
                    ));
                }
            };
            let field = |f: &FrameRec, n: u8| f.message.text(n).map(|s| s.trim().to_string());
            expect(&MERCHANT_NO, field(req, 42), "field 42");
            expect(&TERMINAL_NO, field(req, 41), "field 41");
            expect(
                &BATCH,
                field(req, 60).and_then(|s| s.get(2..8).map(str::to_string)),
                "the batch (60.2)",
            );
            expect(
                &REF_NO,
                field(resp, 37),
                "the reference number (37) of the answer",
            );
            expect(
                &AUTH,
                field(resp, 38).filter(|s| !s.is_empty()),
                "the authorisation code (38)",
            );
            expect(
                &AMOUNT,
                field(req, 4).and_then(|a| yuan(&a)),
                "the amount (field 4) with two decimals",
            );
            expect(
                &TYPE,
                Some(kind.name_zh().to_string()),
                "the transaction type",
            );
            if let (Some(d), Some(tm)) = (field(resp, 13), field(resp, 12)) {
                if d.len() == 4 && tm.len() == 6 {
                    expect(
                        &DATETIME,
                        Some(format!(
                            "{}/{} {}:{}:{}",
                            &d[..2],
                            &d[2..],
                            &tm[..2],
                            &tm[2..4],
                            &tm[4..]
                        )),
                        "the centre's date and time (13, 12)",
                    );
                }
            }
            if let Some(pan) = pan_of(req) {
                let printed = element(&slip.text, &CARD).unwrap_or_default();
                let want = if prints_full_pan(kind)
                    || (may_print_full_pan(kind) && printed.contains(pan.as_str()))
                {
                    pan.clone()
                } else {
                    mask_pan(&pan)
                };
                expect(
                    &CARD,
                    Some(want),
                    "the PAN, first 6 and last 4 (full for pre-authorisation)",
                );
                if !may_print_full_pan(kind) && slip.text.contains(pan.as_str()) {
                    out.push(rule_violation(
                        self,
                        slip,
                        Some(req),
                        &CARD,
                        Some(mask_pan(&pan)),
                        Some("the full PAN".into()),
                        "the slip prints the full PAN; only pre-authorisation may".into(),
                    ));
                }
            }
            // Test state (header terminal status 1): the slip must say it is not a voucher.
            if req.header.is_some_and(|h| h.terminal_status() == 1) && !has_test_marker(&slip.text)
            {
                out.push(rule_violation(
                    self,
                    slip,
                    Some(req),
                    &Label {
                        zh: "测试",
                        en: "TEST",
                    },
                    Some("测试/TEST marker".into()),
                    Some("absent".into()),
                    "a transaction in the test state must print the test marker (6.1.4.1)".into(),
                ));
            }
        }
    }
}

/// 6.3.8.3 / 12.2.1: a second print of the same voucher is marked as a reprint.
pub struct ReprintMarked;

impl Rule for ReprintMarked {
    fn id(&self) -> &'static str {
        "receipt.reprint"
    }
    fn requirement(&self) -> &'static str {
        "6.3.8.3"
    }
    fn title(&self) -> &'static str {
        "a reprinted slip carries the 重打印/DUPLICATED marker"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        let mut seen: std::collections::HashSet<(String, String)> = Default::default();
        for slip in t.receipts.iter().filter(|s| is_sales_slip(&s.text)) {
            let Some(v) = element(&slip.text, &VOUCHER) else {
                continue;
            };
            let copy = slip.text.lines().nth(1).unwrap_or("").trim().to_string();
            let first = seen.insert((v.clone(), copy));
            let marked =
                slip.text.contains("重打印") || slip.text.to_uppercase().contains("DUPLICATED");
            if !first && !marked {
                out.push(rule_violation(
                    self,
                    slip,
                    None,
                    &VOUCHER,
                    Some("重打印/DUPLICATED".into()),
                    Some(format!("a second slip for voucher {v} without the marker")),
                    "a reprint must be marked".into(),
                ));
            }
        }
    }
}

/// 12.3: the settlement total slip shows the batch, the totals sent in 0500 field 48 and the
/// reconciliation result of the 0510.
pub struct SettlementSlip;

impl Rule for SettlementSlip {
    fn id(&self) -> &'static str {
        "receipt.settlement"
    }
    fn requirement(&self) -> &'static str {
        "12.3"
    }
    fn title(&self) -> &'static str {
        "settlement slip: batch, RMB debit/credit totals of the 0500, reconciliation result of the 0510"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for slip in t.receipts.iter().filter(|s| is_settlement_slip(&s.text)) {
            let Some(req) = t
                .requests()
                .filter(|r| r.seq < slip.seq && r.message.mti.as_str() == "0500")
                .last()
            else {
                continue;
            };
            let batch = req
                .message
                .text(60)
                .and_then(|s| s.get(2..8))
                .map(str::to_string);
            if let Some(b) = batch {
                let found = element(&slip.text, &BATCH);
                if found.as_deref() != Some(b.as_str()) {
                    out.push(rule_violation(
                        self,
                        slip,
                        Some(req),
                        &BATCH,
                        Some(b),
                        found.or(Some("absent".into())),
                        "the settlement slip must show the settled batch".into(),
                    ));
                }
            }
            // 48: RMB debit count n3, amount n12, credit count n3, amount n12, ...
            if let Some(f48) = req.message.text(48) {
                // debit amount n12, count n3, credit amount n12, count n3 (0500 field 48).
                let part = |r: std::ops::Range<usize>| f48.get(r).unwrap_or("");
                let rows = [
                    ("借记", part(12..15), part(0..12)),
                    ("贷记", part(27..30), part(15..27)),
                ];
                for (label, count, amount) in rows {
                    let (Ok(n), Some(a)) = (count.parse::<u32>(), yuan(amount)) else {
                        continue;
                    };
                    let line = slip.text.lines().find(|l| l.contains(label)).unwrap_or("");
                    let ok =
                        tokens(line).any(|w| w == n.to_string()) && tokens(line).any(|w| w == a);
                    if !ok {
                        out.push(rule_violation(
                            self,
                            slip,
                            Some(req),
                            &Label {
                                zh: label,
                                en: "TOTAL",
                            },
                            Some(format!("{n} RMB {a}")),
                            Some(if line.is_empty() {
                                "absent".into()
                            } else {
                                line.trim().to_string()
                            }),
                            "the slip's RMB totals must equal the totals sent in 0500 field 48"
                                .into(),
                        ));
                    }
                }
            }
            // The reconciliation result from the 0510's 48 (flag 1 balanced, 2 unbalanced, 3 error).
            if let Some(resp) = t.answer_to(req) {
                let flag = resp
                    .message
                    .text(48)
                    .and_then(|f| f.get(30..31))
                    .map(str::to_string);
                let want = match flag.as_deref() {
                    Some("1") => Some("对帐平"),
                    Some("2") => Some("对帐不平"),
                    Some("3") => Some("对帐出错"),
                    _ => None,
                };
                let rmb_line = slip.text.lines().find(|l| l.contains("内卡")).unwrap_or("");
                // After an unbalanced settlement the terminal uploads the batch and prints the
                // final result; accept 对帐平 then too.
                if let Some(w) = want {
                    let shows =
                        rmb_line.contains(w) || (w == "对帐不平" && rmb_line.contains("对帐平"));
                    if !shows {
                        out.push(rule_violation(
                            self,
                            slip,
                            Some(resp),
                            &Label {
                                zh: "内卡",
                                en: "RMB",
                            },
                            Some(w.into()),
                            Some(rmb_line.trim().to_string()),
                            "the RMB block must show the 0510's reconciliation result".into(),
                        ));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLIP: &str = "银联POS签购单 / POS SALES SLIP\n商户存根 MERCHANT COPY\n商户编号(MERCHANT NO.):\n  898110048120001\n凭证号(VOUCHER NO.): 000002\n备注(REFERENCE):\n  原凭证号 000001\nAMOUNT: RMB 1.00\n";

    fn test_state_day(slip: &str) -> Vec<Violation> {
        use crate::iso8583::frame::Header;
        use crate::iso8583::{Message, Mti};
        use crate::transcript::Direction;
        let req = Message::new(Mti::parse("0200").unwrap())
            .with(3, "000000")
            .with(4, "000000000100")
            .with(11, "000002")
            .with(41, "12345678")
            .with(42, "898110048120001")
            .with(60, "22000001");
        let mut resp = req.clone();
        resp.mti = req.mti.response();
        let resp = resp.with(37, "120000000001").with(39, "00");
        let header = Some(Header::new(0x60, 0x31, [0, 0, 0]).with_terminal_status(1));
        let frame = |seq, dir, message| FrameRec {
            seq,
            conn: 1,
            dir,
            header,
            message,
            raw: String::new(),
        };
        let t = Transcript {
            frames: vec![frame(1, Direction::In, req), frame(2, Direction::Out, resp)],
            events: vec![],
            receipts: vec![Slip {
                seq: 3,
                text: slip.to_string(),
            }],
            bad_frames: vec![],
        };
        let mut v = Vec::new();
        SalesSlipElements.check(&t, &mut v);
        v
    }

    #[test]
    fn a_test_state_slip_must_carry_the_test_marker() {
        let slip = "银联POS签购单 / POS SALES SLIP\n商户存根 MERCHANT COPY\n商户名称(MERCHANT NAME):\n  银联测试商户\n商户编号(MERCHANT NO.):\n  898110048120001\n终端编号(TERMINAL NO.):\n  12345678\n交易类型(TRANS TYPE):\n  消费 SALE\n批次号(BATCH NO.):\n  000001\n凭证号(VOUCHER NO.):\n  000002\n参考号(REF. NO.):\n  120000000001\n金额(AMOUNT):\n  RMB 1.00\n";
        let v = test_state_day(slip);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].field.as_deref(), Some("slip: 测试 TEST"));
        assert_eq!(v[0].seq, Some(3), "the slip is the record at fault");
        let marked = slip.replace("商户存根", "***测试/TESTING,凭证无效***\n商户存根");
        assert!(test_state_day(&marked).is_empty());
        // Each element is compared with the wire: a wrong reference number is named.
        let wrong = slip.replace("120000000001", "120000000009");
        let v = test_state_day(&wrong);
        assert!(
            v.iter()
                .any(|x| x.field.as_deref() == Some("slip: 参考号 REF. NO")),
            "{v:#?}"
        );
    }

    #[test]
    fn elements_are_read_by_zh_or_en_title_on_the_line_or_the_next() {
        assert_eq!(
            element(SLIP, &MERCHANT_NO).as_deref(),
            Some("898110048120001")
        );
        assert_eq!(
            element(SLIP, &VOUCHER).as_deref(),
            Some("000002"),
            "not 原凭证号"
        );
        assert_eq!(element(SLIP, &AMOUNT).as_deref(), Some("RMB 1.00"));
        assert_eq!(element(SLIP, &AUTH), None);
        assert!(is_sales_slip(SLIP) && !is_settlement_slip(SLIP));
        assert!(!has_test_marker(
            "商户名称(MERCHANT NAME):\n  银联测试商户\n"
        ));
        assert!(has_test_marker(
            "银联POS签购单\n***测试/TESTING,凭证无效***\n"
        ));
        assert!(has_test_marker("POS SALES SLIP\n   TEST\n"));
        assert_eq!(mask_pan("6225881234567890"), "622588******7890");
        assert!(
            shows("RMB 1.00", "1.00") && !shows("RMB 11.00", "1.00") && !shows("RMB 21.00", "1.00")
        );
        assert!(shows("消费 SALE", "消费") && !shows("消费撤销 VOID", "消费"));
        assert!(shows("2026/12/02 07:46:02", "12/02 07:46:02"));
        assert!(shows("622588******7890 S", "622588******7890"));
        assert!(!shows("8981100481200019", "898110048120001"));
        assert_eq!(yuan("000000012345").as_deref(), Some("123.45"));
    }
}
