//! Slips as the terminal prints them (seed 001 chapter 12, cup-message-tables.md §2): the sales
//! slip, the settlement total slip and the failed-reversal (fault) slip, every element with its
//! Chinese and English label. Elements are data first ([`Element`]) so checks can compare each
//! one with the journal; [`render`] turns them into the 32-column text a printer produces.

use crate::iso8583::mask::mask_pan;
use crate::iso8583::txn::TxnKind;

/// Which copy of a sales slip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    Merchant,
    Cardholder,
    Bank,
}

impl Copy {
    fn label(self) -> &'static str {
        match self {
            Copy::Merchant => "商户存根 MERCHANT COPY",
            Copy::Cardholder => "持卡人存根 CARDHOLDER COPY",
            Copy::Bank => "银行存根 BANK COPY",
        }
    }
}

/// How the card was read (the letter printed after the card number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Swipe,
    Ic,
    Contactless,
    Manual,
}

impl Entry {
    fn letter(self) -> char {
        match self {
            Entry::Swipe => 'S',
            Entry::Ic => 'I',
            Entry::Contactless => 'C',
            Entry::Manual => 'M',
        }
    }
}

/// Everything a sales slip shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesSlip {
    pub copy: Copy,
    pub test_mode: bool,
    pub reprint: bool,
    pub merchant_name: String,
    pub merchant_no: String,
    pub terminal_no: String,
    pub operator_no: String,
    pub issuer: Option<String>,
    pub acquirer: Option<String>,
    /// 63.1 of the answer; printed only when not CUP.
    pub card_org: Option<String>,
    /// Full PAN; masked when rendered except on pre-authorisation slips.
    pub pan: String,
    pub entry: Entry,
    pub txn: TxnKind,
    /// YYMM; omitted when unknown.
    pub expiry: Option<String>,
    pub batch: String,
    pub voucher: String,
    pub auth_code: Option<String>,
    /// YYYY, MMDD, hhmmss.
    pub year: String,
    pub date: String,
    pub time: String,
    pub rrn: Option<String>,
    pub amount: u64,
    pub tip: Option<u64>,
    /// Acquirer option: print voids and refunds with a minus sign.
    pub negative_sign: bool,
    /// 备注 lines: original voucher, original RRN/date, pre-auth code, 63.2 texts.
    pub reference: Vec<String>,
}

/// A slip element, for checks that compare printed values with the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Element {
    Title,
    Copy,
    TestMarker,
    MerchantName,
    MerchantNo,
    TerminalNo,
    OperatorNo,
    Issuer,
    Acquirer,
    CardOrg,
    CardNo,
    TxnType,
    ExpDate,
    Batch,
    Voucher,
    AuthCode,
    DateTime,
    RefNo,
    Amount,
    Tip,
    Total,
    Reference,
    Reprint,
    Signature,
}

impl Element {
    /// Chinese and English label as printed.
    pub fn label(self) -> &'static str {
        use Element::*;
        match self {
            Title => "银联POS签购单 / POS SALES SLIP",
            Copy => "",
            TestMarker => "***测试/TESTING,凭证无效***",
            MerchantName => "商户名称(MERCHANT NAME):",
            MerchantNo => "商户编号(MERCHANT NO.):",
            TerminalNo => "终端编号(TERMINAL NO.):",
            OperatorNo => "操作员号(OPERATOR NO.):",
            Issuer => "发卡行(ISSUER):",
            Acquirer => "收单行(ACQUIRER):",
            CardOrg => "外卡组织(CARD ORG.):",
            CardNo => "卡号(CARD NO.):",
            TxnType => "交易类型(TRANS TYPE):",
            ExpDate => "有效期(EXP. DATE):",
            Batch => "批次号(BATCH NO.):",
            Voucher => "凭证号(VOUCHER NO.):",
            AuthCode => "授权码(AUTH NO.):",
            DateTime => "日期/时间(DATE/TIME):",
            RefNo => "参考号(REF. NO.):",
            Amount => "金额(AMOUNT):",
            Tip => "小费(TIPS):",
            Total => "总计(TOTAL):",
            Reference => "备注(REFERENCE):",
            Reprint => "****重打印/DUPLICATED****",
            Signature => "持卡人签名(CARDHOLDER SIGNATURE):",
        }
    }
}

/// The English transaction name slips print (cup-message-tables.md §2.1 element 7).
pub fn slip_name_en(kind: TxnKind) -> &'static str {
    use TxnKind::*;
    match kind {
        Purchase => "SALE",
        PurchaseVoid => "VOID",
        Refund => "REFUND",
        PreAuth => "AUTH",
        PreAuthVoid => "CANCEL",
        CompletionRequest => "AUTH COMPLETE",
        CompletionNotice => "AUTH SETTLEMENT",
        CompletionVoid => "COMPLETE VOID",
        OfflineSettlement => "OFFLINE",
        Adjust | AdjustTip => "ADJUST",
        BalanceInquiry => "BALANCE",
        _ => "OTHER",
    }
}

fn money(fen: u64, negative: bool) -> String {
    format!(
        "RMB {}{}.{:02}",
        if negative { "-" } else { "" },
        fen / 100,
        fen % 100
    )
}

/// The elements of a sales slip, in print order, with their values.
pub fn sales_elements(s: &SalesSlip) -> Vec<(Element, String)> {
    use Element::*;
    let mut out = vec![(Title, String::new()), (Copy, s.copy.label().to_string())];
    if s.test_mode {
        out.push((TestMarker, String::new()));
    }
    out.push((MerchantName, s.merchant_name.clone()));
    out.push((MerchantNo, s.merchant_no.clone()));
    out.push((TerminalNo, s.terminal_no.clone()));
    out.push((OperatorNo, s.operator_no.clone()));
    if let Some(i) = &s.issuer {
        out.push((Issuer, i.clone()));
    }
    if let Some(a) = &s.acquirer {
        out.push((Acquirer, a.clone()));
    }
    if let Some(org) = s.card_org.as_ref().filter(|o| o.as_str() != "CUP") {
        out.push((CardOrg, org.clone()));
    }
    // Pre-authorisation slips keep the full card number (SLIP: LY, BW, CM).
    // Pre-auth, offline settlement and adjust print the full PAN (tables §2.1 element 6).
    let pan = if matches!(
        s.txn,
        TxnKind::PreAuth | TxnKind::OfflineSettlement | TxnKind::Adjust | TxnKind::AdjustTip
    ) {
        s.pan.clone()
    } else {
        mask_pan(&s.pan)
    };
    out.push((CardNo, format!("{pan} {}", s.entry.letter())));
    out.push((
        TxnType,
        format!("{} {}", s.txn.name_zh(), slip_name_en(s.txn)),
    ));
    if let Some(e) = s
        .expiry
        .as_ref()
        .filter(|e| e.len() == 4 && e.as_str() != "0000")
    {
        out.push((ExpDate, format!("20{}/{}", &e[..2], &e[2..])));
    }
    out.push((Batch, s.batch.clone()));
    if !s.voucher.is_empty() {
        out.push((Voucher, s.voucher.clone()));
    }
    if let Some(a) = s.auth_code.as_ref().filter(|a| !a.trim().is_empty()) {
        out.push((AuthCode, a.trim().to_string()));
    }
    let d = &s.date;
    let t = &s.time;
    out.push((
        DateTime,
        format!(
            "{}/{}/{} {}:{}:{}",
            s.year,
            &d[..2.min(d.len())],
            d.get(2..4).unwrap_or(""),
            &t[..2.min(t.len())],
            t.get(2..4).unwrap_or(""),
            t.get(4..6).unwrap_or("")
        ),
    ));
    if let Some(r) = &s.rrn {
        out.push((RefNo, r.clone()));
    }
    let negative = s.negative_sign
        && matches!(
            s.txn,
            TxnKind::PurchaseVoid
                | TxnKind::Refund
                | TxnKind::CompletionVoid
                | TxnKind::PreAuthVoid
        );
    out.push((Amount, money(s.amount, negative)));
    if let Some(tip) = s.tip {
        out.push((Tip, money(tip, false)));
        out.push((Total, money(s.amount + tip, false)));
    }
    if !s.reference.is_empty() {
        out.push((Reference, s.reference.join(" / ")));
    }
    if s.reprint {
        out.push((Reprint, String::new()));
    }
    if s.copy != self::Copy::Cardholder {
        out.push((Signature, String::new()));
    }
    out
}

/// The printed sales slip.
pub fn render(s: &SalesSlip) -> String {
    let mut out = String::new();
    for (e, v) in sales_elements(s) {
        match e {
            Element::Title | Element::TestMarker | Element::Reprint => {
                out.push_str(&format!("{}\n", e.label()))
            }
            Element::Copy => out.push_str(&format!("{v}\n{}\n", "-".repeat(32))),
            Element::Signature => {
                out.push_str(&format!("{}\n\n\n", e.label()));
                out.push_str("本人确认以上交易,同意将其计入本卡账户\nI ACKNOWLEDGE SATISFACTORY RECEIPT OF RELATIVE GOODS/SERVICES\n");
            }
            _ => out.push_str(&format!("{}\n  {v}\n", e.label())),
        }
    }
    out
}

/// One line of the settlement total slip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementSlip {
    pub merchant_name: String,
    pub merchant_no: String,
    pub terminal_no: String,
    pub batch: String,
    pub datetime: String,
    /// Result flags of the 0510 (RMB, foreign): 1 balanced, 2 not, 3 error.
    pub result: (char, char),
    /// (debit amount, count, credit amount, count) for RMB.
    pub rmb: (u64, u32, u64, u32),
    /// The same for foreign cards: the 外卡 block is laid out like the 内卡 one (tables §2.2).
    pub foreign: (u64, u32, u64, u32),
}

fn status(flag: char) -> &'static str {
    match flag {
        '1' => "对帐平 BALANCED",
        '2' => "对帐不平 NOT BALANCED",
        _ => "对帐出错 ERROR",
    }
}

pub fn render_settlement(s: &SettlementSlip) -> String {
    format!(
        "结算总计单 / SETTLEMENT REPORT\n{}\n商户名称(MERCHANT NAME):\n  {}\n商户编号(MERCHANT NO.):\n  {}\n终端编号(TERMINAL NO.):\n  {}\n批次号(BATCH NO.):\n  {}\n日期/时间(DATE/TIME):\n  {}\n类型/TYPE 笔数/SUM 金额/AMOUNT\n内卡 {}\n借记 DEBIT   {:>4} {}\n贷记 CREDIT  {:>4} {}\n外卡 {}\n借记 DEBIT   {:>4} {}\n贷记 CREDIT  {:>4} {}\n",
        "-".repeat(32),
        s.merchant_name,
        s.merchant_no,
        s.terminal_no,
        s.batch,
        s.datetime,
        status(s.result.0),
        s.rmb.1,
        money(s.rmb.0, false),
        s.rmb.3,
        money(s.rmb.2, false),
        status(s.result.1),
        s.foreign.1,
        money(s.foreign.0, false),
        s.foreign.3,
        money(s.foreign.2, false),
    )
}

/// The fault slip printed when a reversal could not be delivered (seed 6.1.3.3).
pub fn render_fault(terminal_no: &str, voucher: &str, pan: &str, amount: u64) -> String {
    format!(
        "***故障单,非凭证联***\n冲正不成功,请人工处理\n终端编号(TERMINAL NO.):\n  {terminal_no}\n凭证号(VOUCHER NO.):\n  {voucher}\n卡号(CARD NO.):\n  {}\n金额(AMOUNT):\n  {}\n",
        mask_pan(pan),
        money(amount, false)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slip() -> SalesSlip {
        SalesSlip {
            copy: Copy::Merchant,
            test_mode: false,
            reprint: false,
            merchant_name: "银联测试商户".into(),
            merchant_no: "898110048120001".into(),
            terminal_no: "12345678".into(),
            operator_no: "01".into(),
            issuer: Some("招商银行".into()),
            acquirer: Some("48020000".into()),
            card_org: Some("CUP".into()),
            pan: "6225881234567890".into(),
            entry: Entry::Swipe,
            txn: TxnKind::Purchase,
            expiry: Some("2512".into()),
            batch: "000001".into(),
            voucher: "000002".into(),
            auth_code: Some("000001".into()),
            year: "2026".into(),
            date: "1123".into(),
            time: "120000".into(),
            rrn: Some("120000000001".into()),
            amount: 12_345,
            tip: None,
            negative_sign: false,
            reference: vec![],
        }
    }

    #[test]
    fn element_rules() {
        let has = |s: &SalesSlip, e: Element| sales_elements(s).iter().any(|(x, _)| *x == e);
        let value = |s: &SalesSlip, e: Element| {
            sales_elements(s)
                .into_iter()
                .find(|(x, _)| *x == e)
                .map(|(_, v)| v)
        };
        let s = slip();
        assert_eq!(
            value(&s, Element::CardNo).as_deref(),
            Some("622588******7890 S")
        );
        assert_eq!(value(&s, Element::Amount).as_deref(), Some("RMB 123.45"));
        assert_eq!(value(&s, Element::ExpDate).as_deref(), Some("2025/12"));
        assert!(
            !has(&s, Element::CardOrg),
            "CUP is not printed as a foreign organisation"
        );
        assert!(has(&s, Element::Signature));
        let mut c = slip();
        c.copy = Copy::Cardholder;
        assert!(
            !has(&c, Element::Signature),
            "no signature line on the cardholder copy"
        );
        let mut p = slip();
        p.txn = TxnKind::PreAuth;
        assert_eq!(
            value(&p, Element::CardNo).as_deref(),
            Some("6225881234567890 S"),
            "pre-auth prints the full PAN"
        );
        let mut v = slip();
        v.txn = TxnKind::PurchaseVoid;
        v.negative_sign = true;
        v.test_mode = true;
        v.reprint = true;
        v.card_org = Some("VIS".into());
        assert_eq!(value(&v, Element::Amount).as_deref(), Some("RMB -123.45"));
        assert!(
            has(&v, Element::TestMarker) && has(&v, Element::Reprint) && has(&v, Element::CardOrg)
        );
        let mut t = slip();
        t.tip = Some(1_000);
        assert_eq!(value(&t, Element::Total).as_deref(), Some("RMB 133.45"));
        t.expiry = Some("0000".into());
        assert!(!has(&t, Element::ExpDate));
    }

    #[test]
    fn rendered_slips() {
        let text = render(&slip());
        assert!(text.starts_with("银联POS签购单 / POS SALES SLIP\n商户存根 MERCHANT COPY\n"));
        assert!(text.contains("凭证号(VOUCHER NO.):\n  000002\n"));
        assert!(text.contains("I ACKNOWLEDGE SATISFACTORY RECEIPT"));
        assert!(!text.contains("6225881234567890"));
        let s = render_settlement(&SettlementSlip {
            merchant_name: "m".into(),
            merchant_no: "898110048120001".into(),
            terminal_no: "12345678".into(),
            batch: "000001".into(),
            datetime: "2026/11/23 12:00:00".into(),
            result: ('1', '2'),
            rmb: (12_345, 2, 345, 1),
            foreign: (2_500, 1, 0, 0),
        });
        assert!(s.contains("内卡 对帐平 BALANCED") && s.contains("外卡 对帐不平 NOT BALANCED"));
        assert!(s.contains(
            "外卡 对帐不平 NOT BALANCED\n借记 DEBIT      1 RMB 25.00\n贷记 CREDIT     0 RMB 0.00"
        ));
        assert!(s.contains("借记 DEBIT      2 RMB 123.45"));
        let f = render_fault("12345678", "000007", "6225881234567890", 500);
        assert!(f.contains("冲正不成功,请人工处理") && f.contains("622588******7890"));
    }
}
