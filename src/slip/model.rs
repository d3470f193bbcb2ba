//! Receipts as data. Fields hold what the terminal knows (the full PAN, amounts in fen, F11 as
//! the voucher number); the printed forms (masked PAN, `RMB 1.00`, `2025/12`) are derived here so
//! that the renderer and the checks agree on them.

use std::collections::BTreeMap;
use std::fmt;

use super::element::{Element, Lang};
use super::error::ReceiptError;
use crate::iso8583::mask::mask_pan;
use crate::iso8583::txn::TxnKind;

/// Which copy of the slip this is (table 2.1 #0a). How many copies print is a terminal
/// parameter; the signature block is only on the copies the merchant keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CopyKind {
    #[default]
    Merchant,
    Cardholder,
    Bank,
}

impl CopyKind {
    pub const ALL: [CopyKind; 3] = [CopyKind::Merchant, CopyKind::Cardholder, CopyKind::Bank];

    pub fn label_zh(self) -> &'static str {
        match self {
            CopyKind::Merchant => "商户存根",
            CopyKind::Cardholder => "持卡人存根",
            CopyKind::Bank => "银行存根",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            CopyKind::Merchant => "MERCHANT COPY",
            CopyKind::Cardholder => "CARDHOLDER COPY",
            CopyKind::Bank => "BANK COPY",
        }
    }

    /// Merchant and bank copies carry the cardholder signature block (#17); the cardholder's
    /// own copy does not (CM `belongs=MERCHANT`, LY `j!=2`).
    pub fn has_signature(self) -> bool {
        self != CopyKind::Cardholder
    }

    /// The copy named in a printed line (either language).
    pub fn from_text(text: &str) -> Option<CopyKind> {
        let up = text.to_uppercase();
        CopyKind::ALL
            .into_iter()
            .find(|c| text.contains(c.label_zh()) || up.contains(c.label_en()))
    }
}

/// How the card was read; printed as one letter after the card number (table 2.1 #6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EntryMode {
    /// Magnetic stripe, including fallback from IC.
    #[default]
    Swipe,
    Ic,
    Contactless,
    Manual,
    Other,
}

impl EntryMode {
    pub const ALL: [EntryMode; 5] = [
        EntryMode::Swipe,
        EntryMode::Ic,
        EntryMode::Contactless,
        EntryMode::Manual,
        EntryMode::Other,
    ];

    pub fn letter(self) -> char {
        match self {
            EntryMode::Swipe => 'S',
            EntryMode::Ic => 'I',
            EntryMode::Contactless => 'C',
            EntryMode::Manual => 'M',
            EntryMode::Other => 'N',
        }
    }

    pub fn from_letter(c: char) -> Option<EntryMode> {
        EntryMode::ALL
            .into_iter()
            .find(|m| m.letter() == c.to_ascii_uppercase())
    }

    /// From field 22 (POS entry mode, n3): `01` manual, `02`/`80`/`90` stripe (80 = fallback),
    /// `05`/`95` IC, `07`/`91`/`98` contactless.
    pub fn from_f22(f22: &str) -> EntryMode {
        match f22.get(..2) {
            Some("01") => EntryMode::Manual,
            Some("02" | "80" | "90") => EntryMode::Swipe,
            Some("05" | "95") => EntryMode::Ic,
            Some("07" | "91" | "98") => EntryMode::Contactless,
            _ => EntryMode::Other,
        }
    }
}

/// Local date and time of the transaction. F13 (MMDD) and F12 (hhmmss) carry no year; the
/// terminal adds its own clock's year, and so does whoever builds a slip from a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlipDateTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl Default for SlipDateTime {
    fn default() -> Self {
        SlipDateTime {
            year: 2000,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
        }
    }
}

impl SlipDateTime {
    /// A checked moment (day 1..=31 for any month: F13 is not cross-checked with a calendar).
    pub fn new(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Result<SlipDateTime, ReceiptError> {
        let dt = SlipDateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        };
        let reason = if !(1..=12).contains(&month) {
            Some("month out of range")
        } else if !(1..=31).contains(&day) {
            Some("day out of range")
        } else if hour > 23 || minute > 59 || second > 59 {
            Some("time out of range")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(ReceiptError::BadDateTime {
                value: dt.to_string(),
                reason,
            }),
            None => Ok(dt),
        }
    }

    /// From the wire: `year` from the terminal clock, `mmdd` = F13, `hhmmss` = F12.
    pub fn from_fields(year: u16, mmdd: &str, hhmmss: &str) -> Result<SlipDateTime, ReceiptError> {
        let bad = |reason| ReceiptError::BadDateTime {
            value: format!("{year} {mmdd} {hhmmss}"),
            reason,
        };
        let m = two_digit_pairs::<2>(mmdd).ok_or_else(|| bad("F13 must be 4 digits MMDD"))?;
        let t = two_digit_pairs::<3>(hhmmss).ok_or_else(|| bad("F12 must be 6 digits hhmmss"))?;
        SlipDateTime::new(year, m[0], m[1], t[0], t[1], t[2])
    }

    /// Reads a printed date/time: any text whose digits are `YYYYMMDDhhmmss`
    /// (`2025/06/01 12:00:00`, `2025-06-01 120000`, ...).
    pub fn parse(text: &str) -> Result<SlipDateTime, ReceiptError> {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let bad = |reason| ReceiptError::BadDateTime {
            value: text.to_string(),
            reason,
        };
        if digits.len() != 14 {
            return Err(bad("expected 14 digits YYYYMMDDhhmmss"));
        }
        let year = digits[..4].parse().map_err(|_| bad("bad year"))?;
        let p = two_digit_pairs::<5>(&digits[4..]).ok_or_else(|| bad("bad digits"))?;
        SlipDateTime::new(year, p[0], p[1], p[2], p[3], p[4])
    }
}

/// `N` two-digit numbers from exactly `2N` ASCII digits.
fn two_digit_pairs<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != 2 * N || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (b[2 * i] - b'0') * 10 + (b[2 * i + 1] - b'0');
    }
    Some(out)
}

/// `YYYY/MM/DD hh:mm:ss`, the printed form (table 2.1 #12).
impl fmt::Display for SlipDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}/{:02}/{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// One line of the 备注 REFERENCE block (#15): what ties this slip to an original
/// transaction, then free text (F63 issuer/centre/acquirer texts, IC data).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RefLine {
    /// 原凭证号: voucher (F11) of the voided sale or completion.
    OrigVoucher(String),
    /// 原参考号: RRN (F37) of the refunded sale.
    OrigRefNo(String),
    /// 原交易日期: date (MMDD, from F61) of the refunded sale.
    OrigDate(String),
    /// 原授权码: authorisation code of the original.
    OrigAuthCode(String),
    /// 预授权码: the pre-authorisation a completion settles.
    PreAuthCode(String),
    /// 原预授权码: the pre-authorisation a pre-auth void cancels.
    OrigPreAuthCode(String),
    /// Free text, printed as is.
    Text(String),
}

impl RefLine {
    /// Labelled variants with their (zh, en) labels, in matching order (longest zh first so
    /// that 原预授权码 is not read as 预授权码).
    pub(crate) const LABELS: [(&'static str, &'static str); 6] = [
        ("原预授权码", "ORIG. PRE-AUTH NO."),
        ("原交易日期", "ORIG. DATE"),
        ("原凭证号", "ORIG. VOUCHER"),
        ("原参考号", "ORIG. REF. NO."),
        ("原授权码", "ORIG. AUTH NO."),
        ("预授权码", "PRE-AUTH NO."),
    ];

    /// Builds a labelled line from its index in [`RefLine::LABELS`].
    pub(crate) fn from_label_index(i: usize, value: String) -> RefLine {
        match i {
            0 => RefLine::OrigPreAuthCode(value),
            1 => RefLine::OrigDate(value),
            2 => RefLine::OrigVoucher(value),
            3 => RefLine::OrigRefNo(value),
            4 => RefLine::OrigAuthCode(value),
            5 => RefLine::PreAuthCode(value),
            _ => RefLine::Text(value),
        }
    }

    /// (zh label, en label, value); no labels for free text.
    pub fn parts(&self) -> (Option<(&'static str, &'static str)>, &str) {
        let l = |i: usize| Some(RefLine::LABELS[i]);
        match self {
            RefLine::OrigPreAuthCode(v) => (l(0), v),
            RefLine::OrigDate(v) => (l(1), v),
            RefLine::OrigVoucher(v) => (l(2), v),
            RefLine::OrigRefNo(v) => (l(3), v),
            RefLine::OrigAuthCode(v) => (l(4), v),
            RefLine::PreAuthCode(v) => (l(5), v),
            RefLine::Text(v) => (None, v),
        }
    }

    /// The printed line: `原凭证号 ORIG. VOUCHER:000001` (labels per `lang`), or the text.
    pub fn render(&self, lang: Lang) -> String {
        match self.parts() {
            (Some((zh, en)), v) => format!("{}:{}", lang.pick(zh, en), v.trim()),
            (None, v) => v.trim().to_string(),
        }
    }

    /// The lines table 2.1 #15 requires for `txn`, from what is known of the original:
    /// voids name the original voucher, refunds the original RRN and date, completions the
    /// pre-auth code, pre-auth voids the original pre-auth code.
    pub fn for_txn(
        txn: TxnKind,
        orig_voucher: Option<&str>,
        orig_rrn: Option<&str>,
        orig_date: Option<&str>,
        orig_auth: Option<&str>,
    ) -> Vec<RefLine> {
        let s = |v: Option<&str>| v.map(str::to_string);
        let lines = match txn {
            TxnKind::PurchaseVoid | TxnKind::CompletionVoid => {
                vec![s(orig_voucher).map(RefLine::OrigVoucher)]
            }
            TxnKind::Refund => vec![
                s(orig_rrn).map(RefLine::OrigRefNo),
                s(orig_date).map(RefLine::OrigDate),
            ],
            TxnKind::CompletionRequest | TxnKind::CompletionNotice => {
                vec![s(orig_auth).map(RefLine::PreAuthCode)]
            }
            TxnKind::PreAuthVoid => vec![s(orig_auth).map(RefLine::OrigPreAuthCode)],
            _ => vec![],
        };
        lines.into_iter().flatten().collect()
    }
}

/// Financial transactions that print a sales slip (balance inquiry and management messages
/// do not).
pub const SLIP_KINDS: [TxnKind; 11] = [
    TxnKind::Purchase,
    TxnKind::PurchaseVoid,
    TxnKind::Refund,
    TxnKind::PreAuth,
    TxnKind::PreAuthVoid,
    TxnKind::CompletionRequest,
    TxnKind::CompletionVoid,
    TxnKind::CompletionNotice,
    TxnKind::OfflineSettlement,
    TxnKind::Adjust,
    TxnKind::AdjustTip,
];

/// Whether `kind` prints a sales slip.
pub fn has_slip(kind: TxnKind) -> bool {
    SLIP_KINDS.contains(&kind)
}

/// The English transaction name printed on slips (table 2.1 #7), which is shorter than
/// [`TxnKind::name_en`]. Completion void, adjust and tip adjust are not in the table [inf].
pub fn slip_name_en(kind: TxnKind) -> &'static str {
    use TxnKind::*;
    match kind {
        Purchase => "SALE",
        PurchaseVoid => "VOID",
        Refund => "REFUND",
        PreAuth => "AUTH",
        PreAuthVoid => "CANCEL",
        CompletionRequest => "AUTH COMPLETE",
        CompletionVoid => "COMPLETE VOID",
        CompletionNotice => "AUTH SETTLEMENT",
        OfflineSettlement => "OFFLINE",
        Adjust => "ADJUST",
        AdjustTip => "TIP ADJUST",
        BalanceInquiry => "BALANCE",
        _ => "OTHER",
    }
}

/// The transaction whose printed name is `text`: Chinese, English (slip or long form, any
/// case) or both, separated by a space, `/` or parentheses.
pub fn txn_from_name(text: &str) -> Option<TxnKind> {
    let t = text.trim();
    let en_matches = |kind: TxnKind, s: &str| {
        let raw = s.trim();
        let bare = raw.trim_matches(|c: char| c.is_whitespace() || "/()（）".contains(c));
        [raw, bare].into_iter().any(|s| {
            s.eq_ignore_ascii_case(slip_name_en(kind)) || s.eq_ignore_ascii_case(kind.name_en())
        })
    };
    SLIP_KINDS
        .into_iter()
        .chain([TxnKind::BalanceInquiry])
        .find(|&k| match t.strip_prefix(k.name_zh()) {
            Some(rest) => rest.trim().is_empty() || en_matches(k, rest),
            None => en_matches(k, t),
        })
}

/// Voids and refunds: the kinds whose amount may print with a minus sign.
pub fn is_negative_kind(kind: TxnKind) -> bool {
    matches!(
        kind,
        TxnKind::PurchaseVoid | TxnKind::Refund | TxnKind::PreAuthVoid | TxnKind::CompletionVoid
    )
}

/// `12345` fen → `123.45`.
pub fn format_fen(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// A sales slip (签购单, table 2.1): everything the terminal prints for one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesSlip {
    pub copy: CopyKind,
    /// Terminal in test state: prints the 测试 marker (seed §6.1.4.1).
    pub test_mode: bool,
    /// Printed again from the journal: prints the 重打印 marker.
    pub reprint: bool,
    /// Parameter, ≤ 40 characters.
    pub merchant_name: String,
    /// English merchant name, printed after the Chinese one when labels are bilingual and
    /// instead of it when they are English.
    pub merchant_name_en: Option<String>,
    /// F42 (15).
    pub merchant_no: String,
    /// F41 (8).
    pub terminal_no: String,
    /// ≥ 2 characters.
    pub operator_no: String,
    /// Bank name or 8-digit code from F44 issuer id.
    pub issuer: Option<String>,
    /// Bank name or 8-digit code from F44 acquirer id.
    pub acquirer: Option<String>,
    /// F63.1 card organisation; printed only when it is not `CUP`.
    pub card_org: Option<String>,
    /// The full PAN; rendering masks it unless the transaction prints it in full.
    pub pan: String,
    pub entry: EntryMode,
    pub txn: TxnKind,
    /// F14 `YYMM`; omitted when unknown or `0000`.
    pub expiry: Option<String>,
    /// 6 digits.
    pub batch: String,
    /// F11 of this transaction.
    pub voucher: String,
    /// F38; omitted when none.
    pub auth_code: Option<String>,
    pub datetime: SlipDateTime,
    /// F37; omitted when none (offline transactions).
    pub rrn: Option<String>,
    /// F4 in fen; the base amount when there is a tip.
    pub amount_fen: u64,
    /// Tip in fen: prints 小费 TIPS and 总计 TOTAL lines.
    pub tip_fen: Option<u64>,
    /// `RMB` or another currency code printed before amounts.
    pub currency: String,
    /// [var] Acquirer option (BW `getPrintVoidMinus`): voids and refunds print `-`. LY and CM
    /// print no sign, hence the default `false`.
    pub negative_sign: bool,
    /// [var] LY also prints the full PAN on offline settlement and adjust slips; BW and CM
    /// only on pre-auth, hence the default `false`.
    pub full_pan_offline: bool,
    /// 备注 REFERENCE lines, see [`RefLine::for_txn`].
    pub reference: Vec<RefLine>,
}

impl Default for SalesSlip {
    fn default() -> Self {
        SalesSlip {
            copy: CopyKind::Merchant,
            test_mode: false,
            reprint: false,
            merchant_name: String::new(),
            merchant_name_en: None,
            merchant_no: String::new(),
            terminal_no: String::new(),
            operator_no: String::new(),
            issuer: None,
            acquirer: None,
            card_org: None,
            pan: String::new(),
            entry: EntryMode::Swipe,
            txn: TxnKind::Purchase,
            expiry: None,
            batch: String::new(),
            voucher: String::new(),
            auth_code: None,
            datetime: SlipDateTime::default(),
            rrn: None,
            amount_fen: 0,
            tip_fen: None,
            currency: "RMB".into(),
            negative_sign: false,
            full_pan_offline: false,
            reference: Vec::new(),
        }
    }
}

/// The trimmed value if it is not blank.
fn present(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Chinese acknowledgement under the signature line (#17).
pub const ACK_ZH: &str = "本人确认以上交易，同意将其计入本卡账户";
/// English acknowledgement under the signature line (#17).
pub const ACK_EN: &str = "I ACKNOWLEDGE SATISFACTORY RECEIPT OF RELATIVE GOODS/SERVICES";
/// Test-state marker (#0b), LY's wording, printed the same in every language.
pub const TEST_MARKER: &str = "***测试/TESTING,凭证无效***";

impl SalesSlip {
    /// Pre-auth prints the full PAN (LY, BW, CM), so does offline settlement/adjust with
    /// [`SalesSlip::full_pan_offline`].
    pub fn prints_full_pan(&self) -> bool {
        self.txn == TxnKind::PreAuth
            || (self.full_pan_offline
                && matches!(self.txn, TxnKind::OfflineSettlement | TxnKind::Adjust))
    }

    /// The card number as printed: first 6, `*`, last 4, or the full PAN.
    pub fn printed_pan(&self) -> String {
        let pan = self.pan.trim();
        if self.prints_full_pan() {
            pan.to_string()
        } else {
            mask_pan(pan)
        }
    }

    /// Whether the amount prints with a minus sign.
    pub fn is_negative(&self) -> bool {
        self.negative_sign && is_negative_kind(self.txn)
    }

    /// Amount plus tip, when there is a tip.
    pub fn total_fen(&self) -> Option<u64> {
        self.tip_fen.map(|t| self.amount_fen.saturating_add(t))
    }

    fn money(&self, fen: u64, signed: bool) -> String {
        let sign = if signed && self.is_negative() {
            "-"
        } else {
            ""
        };
        format!("{} {sign}{}", self.currency.trim(), format_fen(fen))
    }

    /// Whether the card organisation line prints: F63.1 present and not `CUP`.
    pub fn prints_card_org(&self) -> bool {
        present(&self.card_org).is_some_and(|o| !o.eq_ignore_ascii_case("CUP"))
    }

    /// `YYMM` → `20YY/MM`; `None` when unknown or `0000` (then the line is omitted).
    pub fn printed_expiry(&self) -> Option<String> {
        let e = present(&self.expiry)?;
        if e == "0000" {
            return None;
        }
        if e.len() == 4 && e.bytes().all(|b| b.is_ascii_digit()) {
            Some(format!("20{}/{}", &e[..2], &e[2..]))
        } else {
            Some(e)
        }
    }

    /// The printed lines of `element` in `lang`, or `None` when the element is not printed.
    /// An empty list means the label prints with no value (备注 with no lines, the signature
    /// line). This is the one place both the renderer and the checks take values from.
    pub fn printed_value(&self, element: Element, lang: Lang) -> Option<Vec<String>> {
        use Element::*;
        let one = |s: String| Some(vec![s]);
        match element {
            Title => one(lang.pick("银联POS签购单", "POS SALES SLIP")),
            Copy => one(lang.pick(self.copy.label_zh(), self.copy.label_en())),
            TestMarker => self.test_mode.then(|| vec![TEST_MARKER.to_string()]),
            MerchantName => {
                let zh = self.merchant_name.trim().to_string();
                let en = present(&self.merchant_name_en).filter(|en| *en != zh);
                Some(match (lang, en) {
                    (Lang::Zh, _) | (_, None) => vec![zh],
                    (Lang::En, Some(en)) => vec![en],
                    (Lang::Both, Some(en)) => vec![zh, en],
                })
            }
            MerchantNo => one(self.merchant_no.trim().to_string()),
            TerminalNo => one(self.terminal_no.trim().to_string()),
            OperatorNo => one(self.operator_no.trim().to_string()),
            Issuer => present(&self.issuer).map(|v| vec![v]),
            Acquirer => present(&self.acquirer).map(|v| vec![v]),
            CardOrg => self
                .prints_card_org()
                .then(|| present(&self.card_org).map(|v| vec![v]))
                .flatten(),
            CardNo => one(self.printed_pan()),
            EntryMode => one(self.entry.letter().to_string()),
            TxnType => one(lang.pick(self.txn.name_zh(), slip_name_en(self.txn))),
            ExpDate => self.printed_expiry().map(|v| vec![v]),
            Batch => one(self.batch.trim().to_string()),
            Voucher => one(self.voucher.trim().to_string()),
            AuthCode => present(&self.auth_code).map(|v| vec![v]),
            DateTime => one(self.datetime.to_string()),
            RefNo => present(&self.rrn).map(|v| vec![v]),
            Amount => one(self.money(self.amount_fen, true)),
            Tip => self.tip_fen.map(|t| vec![self.money(t, false)]),
            Total => self.total_fen().map(|t| vec![self.money(t, true)]),
            Reference => Some(
                self.reference
                    .iter()
                    .map(|r| r.render(lang))
                    .filter(|r| !r.is_empty())
                    .collect(),
            ),
            Reprint => self.reprint.then(|| vec![reprint_marker(lang).to_string()]),
            Signature => self.copy.has_signature().then(Vec::new),
            Acknowledgement => self.copy.has_signature().then(|| match lang {
                Lang::Zh => vec![ACK_ZH.to_string()],
                Lang::En => vec![ACK_EN.to_string()],
                Lang::Both => vec![ACK_ZH.to_string(), ACK_EN.to_string()],
            }),
        }
    }

    /// Every printed element with its value (lines joined by `\n`) — what
    /// [`parse_sales_slip`](super::parse_sales_slip) reads back from the rendered slip.
    pub fn expected(&self, lang: Lang) -> BTreeMap<Element, String> {
        Element::ALL
            .into_iter()
            .filter_map(|e| self.printed_value(e, lang).map(|v| (e, v.join("\n"))))
            .collect()
    }
}

/// The reprint marker (#16): LY prints `****重打印****` when labels are Chinese only.
pub fn reprint_marker(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "****重打印****",
        Lang::En => "****DUPLICATED****",
        Lang::Both => "****重打印/DUPLICATED****",
    }
}

/// Reconciliation result of one settlement block, from the 0510 F48 result flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SettlementStatus {
    /// `1` 对帐平.
    #[default]
    Balanced,
    /// `2` 对帐不平: the terminal must batch-upload.
    Unbalanced,
    /// `3` 对帐出错.
    Error,
}

impl SettlementStatus {
    /// From the F48 result digit of the 0510 (`1`/`2`/`3`).
    pub fn from_flag(flag: char) -> Option<SettlementStatus> {
        match flag {
            '1' => Some(SettlementStatus::Balanced),
            '2' => Some(SettlementStatus::Unbalanced),
            '3' => Some(SettlementStatus::Error),
            _ => None,
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            SettlementStatus::Balanced => "对帐平",
            SettlementStatus::Unbalanced => "对帐不平",
            SettlementStatus::Error => "对帐出错",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            SettlementStatus::Balanced => "BALANCED",
            SettlementStatus::Unbalanced => "UNBALANCED",
            SettlementStatus::Error => "ERROR",
        }
    }
}

/// One card class (内卡 RMB or 外卡 foreign) of the settlement total slip.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettlementBlock {
    pub status: SettlementStatus,
    /// One row per transaction type (LY granularity): kind, count, amount in fen.
    pub rows: Vec<(TxnKind, u32, u64)>,
}

/// The settlement total slip (结算总计单, §2.2), printed after settlement or batch upload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettlementSlip {
    pub test_mode: bool,
    pub reprint: bool,
    pub merchant_name: String,
    pub merchant_name_en: Option<String>,
    pub merchant_no: String,
    pub terminal_no: String,
    pub batch: String,
    pub datetime: SlipDateTime,
    pub rmb: SettlementBlock,
    pub foreign: SettlementBlock,
}

/// Row names of the settlement slip (LY `PrtTransTotal`): completions print as 完成, offline
/// settlement as 离线; other kinds use their slip names.
pub fn settlement_row_name(kind: TxnKind) -> (&'static str, &'static str) {
    match kind {
        TxnKind::CompletionRequest => ("完成", "AUTH COMPLETE"),
        TxnKind::CompletionNotice => ("完成(通知)", "AUTH SETTLEMENT"),
        TxnKind::OfflineSettlement => ("离线", "OFFLINE"),
        k => (k.name_zh(), slip_name_en(k)),
    }
}

/// One transaction of the detail slip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailLine {
    pub voucher: String,
    pub txn: TxnKind,
    pub auth_code: Option<String>,
    /// Amount in fen, tip included (LY adds the tip of a tip adjust).
    pub amount_fen: u64,
    /// Full PAN; masked on print except pre-auth and offline.
    pub pan: String,
}

impl DetailLine {
    /// LY type letters: S sale/tip adjust, P completion, R refund, L offline/adjust,
    /// C completion notice; blank for others.
    pub fn type_letter(&self) -> char {
        use TxnKind::*;
        match self.txn {
            Purchase | AdjustTip => 'S',
            CompletionRequest => 'P',
            Refund => 'R',
            OfflineSettlement | Adjust => 'L',
            CompletionNotice => 'C',
            _ => ' ',
        }
    }

    /// Card numbers are masked except pre-auth and offline (§2.3, LY `PrtOneTranTxn`).
    pub fn printed_pan(&self) -> String {
        let pan = self.pan.trim();
        if matches!(
            self.txn,
            TxnKind::PreAuth | TxnKind::OfflineSettlement | TxnKind::Adjust
        ) {
            pan.to_string()
        } else {
            mask_pan(pan)
        }
    }
}

/// The settlement detail slip (结算明细单, §2.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DetailSlip {
    pub test_mode: bool,
    pub lines: Vec<DetailLine>,
    /// Offline transactions that failed to upload; printing them is mandatory (seed §6.3.2).
    pub failed_offline: Vec<DetailLine>,
}

/// The fault slip printed when a reversal finally fails (#18, seed §6.1.3.3, when the 故障报告单
/// parameter is set): the transaction's key elements between fault markers. Copy, reference,
/// reprint and signature fields of `slip` are not printed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FaultSlip {
    pub slip: SalesSlip,
}

/// Any printable receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slip {
    Sales(SalesSlip),
    Settlement(SettlementSlip),
    Detail(DetailSlip),
    Fault(FaultSlip),
}

impl From<SalesSlip> for Slip {
    fn from(s: SalesSlip) -> Self {
        Slip::Sales(s)
    }
}
impl From<SettlementSlip> for Slip {
    fn from(s: SettlementSlip) -> Self {
        Slip::Settlement(s)
    }
}
impl From<DetailSlip> for Slip {
    fn from(s: DetailSlip) -> Self {
        Slip::Detail(s)
    }
}
impl From<FaultSlip> for Slip {
    fn from(s: FaultSlip) -> Self {
        Slip::Fault(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slip(txn: TxnKind) -> SalesSlip {
        SalesSlip {
            pan: "6225881234567890".into(),
            txn,
            ..SalesSlip::default()
        }
    }

    #[test]
    fn pan_is_masked_first6_last4() {
        let s = slip(TxnKind::Purchase);
        assert_eq!(s.printed_pan(), "622588******7890");
        let s = SalesSlip {
            pan: "6225881234567890123".into(),
            ..s
        };
        assert_eq!(s.printed_pan(), "622588*********0123");
    }

    #[test]
    fn pre_auth_prints_the_full_pan() {
        assert_eq!(slip(TxnKind::PreAuth).printed_pan(), "6225881234567890");
        for k in SLIP_KINDS.into_iter().filter(|k| *k != TxnKind::PreAuth) {
            assert!(slip(k).printed_pan().contains('*'), "{k:?} masks");
        }
    }

    #[test]
    fn offline_full_pan_is_an_option() {
        let mut s = slip(TxnKind::OfflineSettlement);
        assert!(s.printed_pan().contains('*'));
        s.full_pan_offline = true;
        assert_eq!(s.printed_pan(), "6225881234567890");
        s.txn = TxnKind::Purchase;
        assert!(s.printed_pan().contains('*'));
    }

    #[test]
    fn card_org_prints_only_when_not_cup() {
        let mut s = slip(TxnKind::Purchase);
        assert_eq!(s.printed_value(Element::CardOrg, Lang::Both), None);
        s.card_org = Some("CUP".into());
        assert_eq!(s.printed_value(Element::CardOrg, Lang::Both), None);
        s.card_org = Some("cup ".into());
        assert_eq!(s.printed_value(Element::CardOrg, Lang::Both), None);
        s.card_org = Some("VIS".into());
        assert_eq!(
            s.printed_value(Element::CardOrg, Lang::Both),
            Some(vec!["VIS".to_string()])
        );
    }

    #[test]
    fn signature_only_on_merchant_and_bank_copies() {
        for copy in CopyKind::ALL {
            let s = SalesSlip {
                copy,
                ..slip(TxnKind::Purchase)
            };
            let want = copy != CopyKind::Cardholder;
            assert_eq!(
                s.expected(Lang::Both).contains_key(&Element::Signature),
                want
            );
            assert_eq!(
                s.expected(Lang::Both)
                    .contains_key(&Element::Acknowledgement),
                want
            );
        }
    }

    #[test]
    fn minus_sign_is_an_option_for_voids_and_refunds() {
        let mut s = SalesSlip {
            amount_fen: 100,
            ..slip(TxnKind::PurchaseVoid)
        };
        assert_eq!(s.expected(Lang::Both)[&Element::Amount], "RMB 1.00");
        s.negative_sign = true;
        assert_eq!(s.expected(Lang::Both)[&Element::Amount], "RMB -1.00");
        s.txn = TxnKind::Purchase;
        assert_eq!(s.expected(Lang::Both)[&Element::Amount], "RMB 1.00");
        for k in [
            TxnKind::Refund,
            TxnKind::PreAuthVoid,
            TxnKind::CompletionVoid,
        ] {
            s.txn = k;
            assert!(s.is_negative());
        }
    }

    #[test]
    fn tip_prints_tip_and_total() {
        let mut s = SalesSlip {
            amount_fen: 10000,
            ..slip(TxnKind::AdjustTip)
        };
        let e = s.expected(Lang::Both);
        assert!(!e.contains_key(&Element::Tip) && !e.contains_key(&Element::Total));
        s.tip_fen = Some(1250);
        let e = s.expected(Lang::Both);
        assert_eq!(e[&Element::Amount], "RMB 100.00");
        assert_eq!(e[&Element::Tip], "RMB 12.50");
        assert_eq!(e[&Element::Total], "RMB 112.50");
    }

    #[test]
    fn expiry_is_omitted_when_unknown() {
        let mut s = slip(TxnKind::Purchase);
        assert_eq!(s.printed_expiry(), None);
        s.expiry = Some("0000".into());
        assert_eq!(s.printed_expiry(), None);
        s.expiry = Some(" ".into());
        assert_eq!(s.printed_expiry(), None);
        s.expiry = Some("2512".into());
        assert_eq!(s.printed_expiry().as_deref(), Some("2025/12"));
    }

    #[test]
    fn markers_follow_state() {
        let mut s = slip(TxnKind::Purchase);
        let e = s.expected(Lang::Both);
        assert!(!e.contains_key(&Element::TestMarker) && !e.contains_key(&Element::Reprint));
        s.test_mode = true;
        s.reprint = true;
        let e = s.expected(Lang::Both);
        assert_eq!(e[&Element::TestMarker], TEST_MARKER);
        assert_eq!(e[&Element::Reprint], "****重打印/DUPLICATED****");
        assert_eq!(s.expected(Lang::Zh)[&Element::Reprint], "****重打印****");
    }

    #[test]
    fn datetime_from_wire_fields() {
        let dt = SlipDateTime::from_fields(2025, "0601", "235959").expect("valid");
        assert_eq!(dt.to_string(), "2025/06/01 23:59:59");
        assert_eq!(SlipDateTime::parse("  2025/06/01 23:59:59 "), Ok(dt));
        assert!(SlipDateTime::from_fields(2025, "1301", "000000").is_err());
        assert!(SlipDateTime::from_fields(2025, "0601", "2400").is_err());
        assert!(SlipDateTime::from_fields(2025, "06a1", "000000").is_err());
        assert!(SlipDateTime::parse("2025/06/01").is_err());
    }

    #[test]
    fn entry_modes() {
        assert_eq!(EntryMode::from_f22("021"), EntryMode::Swipe);
        assert_eq!(EntryMode::from_f22("801"), EntryMode::Swipe);
        assert_eq!(EntryMode::from_f22("051"), EntryMode::Ic);
        assert_eq!(EntryMode::from_f22("071"), EntryMode::Contactless);
        assert_eq!(EntryMode::from_f22("012"), EntryMode::Manual);
        assert_eq!(EntryMode::from_f22(""), EntryMode::Other);
        for m in EntryMode::ALL {
            assert_eq!(EntryMode::from_letter(m.letter()), Some(m));
        }
    }

    #[test]
    fn reference_lines_per_transaction() {
        use TxnKind::*;
        let f = |k| {
            RefLine::for_txn(
                k,
                Some("000001"),
                Some("123456789012"),
                Some("0601"),
                Some("654321"),
            )
        };
        assert_eq!(f(PurchaseVoid), [RefLine::OrigVoucher("000001".into())]);
        assert_eq!(
            f(Refund),
            [
                RefLine::OrigRefNo("123456789012".into()),
                RefLine::OrigDate("0601".into())
            ]
        );
        assert_eq!(
            f(CompletionRequest),
            [RefLine::PreAuthCode("654321".into())]
        );
        assert_eq!(f(PreAuthVoid), [RefLine::OrigPreAuthCode("654321".into())]);
        assert!(f(Purchase).is_empty());
        assert_eq!(
            RefLine::OrigVoucher("000001".into()).render(Lang::Both),
            "原凭证号 ORIG. VOUCHER:000001"
        );
    }

    #[test]
    fn txn_names_read_back_in_every_form() {
        for k in SLIP_KINDS {
            for lang in Lang::ALL {
                assert_eq!(
                    txn_from_name(&lang.pick(k.name_zh(), slip_name_en(k))),
                    Some(k)
                );
            }
            assert_eq!(
                txn_from_name(&format!("{}/{}", k.name_zh(), slip_name_en(k))),
                Some(k)
            );
            assert_eq!(txn_from_name(&k.name_en().to_uppercase()), Some(k));
        }
        assert_eq!(txn_from_name("预授权"), Some(TxnKind::PreAuth));
        assert_eq!(txn_from_name("消费(SALE)"), Some(TxnKind::Purchase));
        assert_eq!(txn_from_name("nonsense"), None);
    }
}
