//! The sales-slip elements of table 2.1 (chapter 12) and their printed labels. Checks name an
//! element by these labels ("凭证号 VOUCHER NO."), scripts by [`Element::id`].

use std::fmt;

/// Which label language a slip is printed in. Terminals print Chinese labels, English ones or
/// both (LY `ucPrnEng`); `Both` prints every label as "中文 ENGLISH", the common default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    Zh,
    En,
    #[default]
    Both,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Zh, Lang::En, Lang::Both];

    /// The text for this language: `zh`, `en`, or `"zh en"`.
    pub fn pick(self, zh: &str, en: &str) -> String {
        match self {
            Lang::Zh => zh.to_string(),
            Lang::En => en.to_string(),
            Lang::Both => format!("{zh} {en}"),
        }
    }

    /// Like [`Lang::pick`] but joined with `/`, the form of table columns (`类型/TYPE`).
    pub fn pick_slash(self, zh: &str, en: &str) -> String {
        match self {
            Lang::Zh => zh.to_string(),
            Lang::En => en.to_string(),
            Lang::Both => format!("{zh}/{en}"),
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
            Lang::Both => "both",
        }
    }
}

/// One element of a sales slip, in printing order (table 2.1, #0..#17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    EntryMode,
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
    Acknowledgement,
}

impl Element {
    /// Every element, in printing order.
    pub const ALL: [Element; 26] = [
        Element::Title,
        Element::Copy,
        Element::TestMarker,
        Element::MerchantName,
        Element::MerchantNo,
        Element::TerminalNo,
        Element::OperatorNo,
        Element::Issuer,
        Element::Acquirer,
        Element::CardOrg,
        Element::CardNo,
        Element::EntryMode,
        Element::TxnType,
        Element::ExpDate,
        Element::Batch,
        Element::Voucher,
        Element::AuthCode,
        Element::DateTime,
        Element::RefNo,
        Element::Amount,
        Element::Tip,
        Element::Total,
        Element::Reference,
        Element::Reprint,
        Element::Signature,
        Element::Acknowledgement,
    ];

    /// Stable snake_case identifier for scripts, JSON and report keys.
    pub fn id(self) -> &'static str {
        use Element::*;
        match self {
            Title => "title",
            Copy => "copy",
            TestMarker => "test_marker",
            MerchantName => "merchant_name",
            MerchantNo => "merchant_no",
            TerminalNo => "terminal_no",
            OperatorNo => "operator_no",
            Issuer => "issuer",
            Acquirer => "acquirer",
            CardOrg => "card_org",
            CardNo => "card_no",
            EntryMode => "entry_mode",
            TxnType => "txn_type",
            ExpDate => "exp_date",
            Batch => "batch",
            Voucher => "voucher",
            AuthCode => "auth_code",
            DateTime => "date_time",
            RefNo => "ref_no",
            Amount => "amount",
            Tip => "tip",
            Total => "total",
            Reference => "reference",
            Reprint => "reprint",
            Signature => "signature",
            Acknowledgement => "acknowledgement",
        }
    }

    /// The element from its [`Element::id`].
    pub fn from_id(id: &str) -> Option<Element> {
        Element::ALL.into_iter().find(|e| e.id() == id)
    }

    /// Chinese label as printed (table 2.1); a descriptive name for unlabelled elements.
    pub fn label_zh(self) -> &'static str {
        self.aliases_zh()[0]
    }

    /// English label as printed (table 2.1); a descriptive name for unlabelled elements.
    pub fn label_en(self) -> &'static str {
        self.aliases_en()[0]
    }

    /// The label in the given language (`"中文 ENGLISH"` for [`Lang::Both`]).
    pub fn label(self, lang: Lang) -> String {
        lang.pick(self.label_zh(), self.label_en())
    }

    /// Whether the element is printed as `label: value` (the others are marker lines, or the
    /// entry letter that rides on the card-number line).
    pub fn is_labelled(self) -> bool {
        use Element::*;
        !matches!(
            self,
            Title | Copy | TestMarker | EntryMode | Reprint | Acknowledgement
        )
    }

    /// Free-text elements whose value may wrap onto indented continuation lines.
    pub(crate) fn is_text(self) -> bool {
        use Element::*;
        matches!(
            self,
            Title | MerchantName | Issuer | Acquirer | CardOrg | Reference | Acknowledgement
        )
    }

    /// Elements whose value may be several lines (merchant name zh + en, reference lines).
    pub(crate) fn is_multi(self) -> bool {
        use Element::*;
        matches!(self, Title | MerchantName | Reference | Acknowledgement)
    }

    /// Printed Chinese labels, the table's first; the rest are variants seen in terminal code
    /// (LY `tranprint.c` prints 卡有效期 and 交易参考号), accepted when parsing.
    pub(crate) fn aliases_zh(self) -> &'static [&'static str] {
        use Element::*;
        match self {
            Title => &["标题"],
            Copy => &["存根联"],
            TestMarker => &["测试标志"],
            MerchantName => &["商户名称"],
            MerchantNo => &["商户编号", "商户号"],
            TerminalNo => &["终端编号", "终端号"],
            OperatorNo => &["操作员号", "操作员"],
            Issuer => &["发卡行"],
            Acquirer => &["收单行"],
            CardOrg => &["外卡组织"],
            CardNo => &["卡号"],
            EntryMode => &["输入方式"],
            TxnType => &["交易类型"],
            ExpDate => &["有效期", "卡有效期"],
            Batch => &["批次号"],
            Voucher => &["凭证号"],
            AuthCode => &["授权码", "授权号"],
            DateTime => &["日期/时间", "日期时间"],
            RefNo => &["参考号", "交易参考号", "检索参考号"],
            Amount => &["金额"],
            Tip => &["小费"],
            Total => &["总计"],
            Reference => &["备注"],
            Reprint => &["重打印"],
            Signature => &["持卡人签名"],
            Acknowledgement => &["确认声明"],
        }
    }

    /// Printed English labels, the table's first, then variants accepted when parsing.
    pub(crate) fn aliases_en(self) -> &'static [&'static str] {
        use Element::*;
        match self {
            Title => &["TITLE"],
            Copy => &["COPY"],
            TestMarker => &["TEST MARKER"],
            MerchantName => &["MERCHANT NAME"],
            MerchantNo => &["MERCHANT NO.", "MERCHANT NO", "MERCHANT ID"],
            TerminalNo => &["TERMINAL NO.", "TERMINAL NO", "TERMINAL ID"],
            OperatorNo => &["OPERATOR NO.", "OPERATOR NO", "OPERATOR"],
            Issuer => &["ISSUER"],
            Acquirer => &["ACQUIRER", "ACQ."],
            CardOrg => &["CARD ORG.", "CARD ORG"],
            CardNo => &["CARD NO.", "CARD NO"],
            EntryMode => &["ENTRY MODE"],
            TxnType => &["TRANS TYPE", "TXN. TYPE", "TXN TYPE", "TRANS. TYPE"],
            ExpDate => &["EXP. DATE", "EXP DATE"],
            Batch => &["BATCH NO.", "BATCH NO"],
            Voucher => &["VOUCHER NO.", "VOUCHER NO", "TRACE NO."],
            AuthCode => &["AUTH NO.", "AUTH NO", "AUTH CODE"],
            DateTime => &["DATE/TIME"],
            RefNo => &["REF. NO.", "REF. NO", "REF NO.", "REF NO", "REFER NO"],
            Amount => &["AMOUNT"],
            Tip => &["TIPS", "TIP"],
            Total => &["TOTAL"],
            Reference => &["REFERENCE"],
            Reprint => &["DUPLICATED"],
            Signature => &["CARDHOLDER SIGNATURE"],
            Acknowledgement => &["ACKNOWLEDGEMENT"],
        }
    }
}

/// `凭证号 VOUCHER NO.` — how checks name an element.
impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.label_zh(), self.label_en())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_round_trip() {
        let mut ids: Vec<_> = Element::ALL.iter().map(|e| e.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Element::ALL.len());
        for e in Element::ALL {
            assert_eq!(Element::from_id(e.id()), Some(e));
        }
        assert_eq!(Element::from_id("nope"), None);
    }

    #[test]
    fn all_is_in_declaration_order() {
        let mut sorted = Element::ALL;
        sorted.sort();
        assert_eq!(sorted, Element::ALL);
    }

    #[test]
    fn labels_follow_table_2_1() {
        assert_eq!(Element::Voucher.to_string(), "凭证号 VOUCHER NO.");
        assert_eq!(
            Element::MerchantName.label(Lang::Both),
            "商户名称 MERCHANT NAME"
        );
        assert_eq!(Element::RefNo.label(Lang::Zh), "参考号");
        assert_eq!(Element::TxnType.label(Lang::En), "TRANS TYPE");
    }
}
