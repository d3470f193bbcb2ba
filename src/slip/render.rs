//! Receipts as printed text, 32 columns wide ([`PAPER_WIDTH`]).
//!
//! Layout of a labelled element: `label:` and the value on one line, the value flush right, when
//! both fit; otherwise `label:` alone and the value on the lines below, flush left, long values
//! wrapped onto continuation lines indented by two spaces. Sections are separated by a rule of
//! dashes, as JR/T 0001 §8.1 divides the slip into merchant, transaction and remark/signature
//! parts. [`parse_sales_slip`](super::parse_sales_slip) reads exactly this back.

use super::element::{Element, Lang};
use super::layout::{centered, display_width, left_right, pad_to, wrap, HANG, PAPER_WIDTH};
use super::model::{
    format_fen, settlement_row_name, DetailLine, DetailSlip, FaultSlip, SalesSlip, SettlementBlock,
    SettlementSlip, Slip, TEST_MARKER,
};

/// The printed text of `slip`, every line at most [`PAPER_WIDTH`] columns, ending in a newline.
pub fn render(slip: &Slip, lang: Lang) -> String {
    match slip {
        Slip::Sales(s) => s.render(lang),
        Slip::Settlement(s) => s.render(lang),
        Slip::Detail(s) => s.render(lang),
        Slip::Fault(s) => s.render(lang),
    }
}

/// Lines being printed.
#[derive(Default)]
struct Paper {
    lines: Vec<String>,
}

impl Paper {
    fn push(&mut self, line: impl AsRef<str>) {
        self.lines.push(line.as_ref().trim_end().to_string());
    }

    fn blank(&mut self) {
        self.lines.push(String::new());
    }

    fn rule(&mut self) {
        self.lines.push("-".repeat(PAPER_WIDTH));
    }

    fn center(&mut self, s: &str) {
        for l in centered(s) {
            self.push(l);
        }
    }

    /// Free text: wrapped, continuation lines indented so a reader knows they continue.
    fn text(&mut self, s: &str) {
        for piece in s.lines() {
            for (i, l) in wrap(piece.trim(), PAPER_WIDTH, PAPER_WIDTH - HANG.len())
                .into_iter()
                .enumerate()
            {
                if i == 0 {
                    self.push(l);
                } else {
                    self.push(format!("{HANG}{l}"));
                }
            }
        }
    }

    /// `label:` with its value lines (see the module docs).
    fn field(&mut self, label: &str, entries: &[String]) {
        let head = format!("{label}:");
        if let [only] = entries {
            if only.is_empty() {
                self.push(head);
                return;
            }
            if let Some(line) = left_right(&head, only) {
                self.push(line);
                return;
            }
        }
        self.push(head);
        for e in entries {
            self.text(e);
        }
    }

    /// `left` and `right` on one line, or `right` flush right below `left`.
    fn pair(&mut self, left: &str, right: &str) {
        match left_right(left, right) {
            Some(l) => self.push(l),
            None => {
                self.text(left);
                self.push(format!("{}{right}", pad_to(right, PAPER_WIDTH)));
            }
        }
    }

    /// A heading in one or two languages: `中文 ENGLISH` when it fits, else two lines.
    fn heading(&mut self, zh: &str, en: &str, lang: Lang) {
        let both = lang.pick(zh, en);
        if lang == Lang::Both && display_width(&both) > PAPER_WIDTH {
            self.center(zh);
            self.center(en);
        } else {
            self.center(&both);
        }
    }

    fn finish(self) -> String {
        let mut out = self.lines.join("\n");
        out.push('\n');
        out
    }
}

/// Prints the labelled `element` of `slip` if it is printed.
fn sales_field(p: &mut Paper, slip: &SalesSlip, element: Element, lang: Lang) {
    if let Some(v) = slip.printed_value(element, lang) {
        p.field(&element.label(lang), &v);
    }
}

/// Prints the marker `element` centred if it is printed.
fn sales_marker(p: &mut Paper, slip: &SalesSlip, element: Element, lang: Lang) {
    for v in slip.printed_value(element, lang).unwrap_or_default() {
        p.center(&v);
    }
}

/// Merchant part (#1–#4), card part (#5–#8) and transaction part (#9–#14), each followed by a
/// rule; shared by the sales slip and the fault slip.
fn sales_body(p: &mut Paper, s: &SalesSlip, lang: Lang) {
    use Element::*;
    for e in [MerchantName, MerchantNo, TerminalNo, OperatorNo] {
        sales_field(p, s, e, lang);
    }
    p.rule();
    for e in [Issuer, Acquirer, CardOrg] {
        sales_field(p, s, e, lang);
    }
    let card = format!("{} {}", s.printed_pan(), s.entry.letter());
    p.field(&CardNo.label(lang), &[card]);
    for e in [TxnType, ExpDate] {
        sales_field(p, s, e, lang);
    }
    p.rule();
    for e in [
        Batch, Voucher, AuthCode, DateTime, RefNo, Amount, Tip, Total,
    ] {
        sales_field(p, s, e, lang);
    }
    p.rule();
}

impl SalesSlip {
    /// The sales slip in the order of table 2.1.
    pub fn render(&self, lang: Lang) -> String {
        use Element::*;
        let mut p = Paper::default();
        for e in [Title, Copy, TestMarker] {
            sales_marker(&mut p, self, e, lang);
        }
        p.rule();
        sales_body(&mut p, self, lang);
        sales_field(&mut p, self, Reference, lang);
        sales_marker(&mut p, self, Reprint, lang);
        if let Some(sig) = self.printed_value(Signature, lang) {
            p.field(&Signature.label(lang), &sig);
            p.blank();
            p.blank();
            p.rule();
            for ack in self
                .printed_value(Acknowledgement, lang)
                .unwrap_or_default()
            {
                p.text(&ack);
            }
        }
        p.finish()
    }
}

impl FaultSlip {
    /// Fault markers, the transaction's key elements, then the failed-reversal notice (LY
    /// `PrtTranTicket(2)`). The Chinese texts are the spec's and print in every language.
    pub fn render(&self, lang: Lang) -> String {
        let s = &self.slip;
        let mut p = Paper::default();
        let bilingual = |p: &mut Paper, zh: &str, en: &str| {
            p.center(zh);
            if lang != Lang::Zh {
                p.center(en);
            }
        };
        bilingual(
            &mut p,
            "***故障报告单,非凭证联***",
            "***FAULT REPORT,NOT A RECEIPT***",
        );
        sales_marker(&mut p, s, Element::Title, lang);
        sales_marker(&mut p, s, Element::TestMarker, lang);
        p.rule();
        sales_body(&mut p, s, lang);
        bilingual(
            &mut p,
            "冲正不成功,请人工处理",
            "REVERSAL FAILED,HANDLE MANUALLY",
        );
        bilingual(
            &mut p,
            "***故障单,非凭证联***",
            "***FAULT SLIP,NOT A RECEIPT***",
        );
        p.finish()
    }
}

/// Merchant name lines in `lang` (Chinese, English or both), as on the sales slip.
fn merchant_names(zh: &str, en: Option<&str>, lang: Lang) -> Vec<String> {
    let zh = zh.trim().to_string();
    let en = en.map(str::trim).filter(|e| !e.is_empty() && *e != zh);
    match (lang, en) {
        (Lang::Zh, _) | (_, None) => vec![zh],
        (Lang::En, Some(en)) => vec![en.to_string()],
        (Lang::Both, Some(en)) => vec![zh, en.to_string()],
    }
}

/// A settlement table row: name left, count and amount in right-aligned columns ending at
/// columns 20 and 32; the name gets a line of its own when it does not fit beside them.
fn settlement_row(p: &mut Paper, name: &str, count: &str, amount: &str) {
    let right = format!("{}{count} {}{amount}", pad_to(count, 8), pad_to(amount, 11));
    p.pair(name, &right);
}

impl SettlementBlock {
    fn render(&self, p: &mut Paper, zh: &str, en: &str, lang: Lang) {
        p.pair(
            &format!("{}:", lang.pick_slash(zh, en)),
            &lang.pick_slash(self.status.label_zh(), self.status.label_en()),
        );
        for (kind, count, fen) in &self.rows {
            let (zh, en) = settlement_row_name(*kind);
            settlement_row(
                p,
                &lang.pick_slash(zh, en),
                &count.to_string(),
                &format_fen(*fen),
            );
        }
    }
}

impl SettlementSlip {
    /// The settlement total slip (§2.2): header, then the 内卡 and 外卡 blocks.
    pub fn render(&self, lang: Lang) -> String {
        use Element::*;
        let mut p = Paper::default();
        p.heading("结算总计单", "SETTLEMENT REPORT", lang);
        if self.test_mode {
            p.center(TEST_MARKER);
        }
        p.rule();
        p.field(
            &MerchantName.label(lang),
            &merchant_names(&self.merchant_name, self.merchant_name_en.as_deref(), lang),
        );
        p.field(
            &MerchantNo.label(lang),
            &[self.merchant_no.trim().to_string()],
        );
        p.field(
            &TerminalNo.label(lang),
            &[self.terminal_no.trim().to_string()],
        );
        p.field(&Batch.label(lang), &[self.batch.trim().to_string()]);
        p.field(&DateTime.label(lang), &[self.datetime.to_string()]);
        p.rule();
        settlement_row(
            &mut p,
            &lang.pick_slash("类型", "TYPE"),
            &lang.pick_slash("笔数", "SUM"),
            &lang.pick_slash("金额", "AMOUNT"),
        );
        p.rule();
        self.rmb.render(&mut p, "内卡", "DOMESTIC", lang);
        p.rule();
        self.foreign.render(&mut p, "外卡", "FOREIGN", lang);
        p.rule();
        if self.reprint {
            p.center(super::model::reprint_marker(lang));
        }
        p.finish()
    }
}

/// Columns of the detail slip: voucher (7), type letter (4), auth code (7), amount right
/// aligned to the edge; the card number follows on an indented line.
fn detail_row(p: &mut Paper, voucher: &str, kind: &str, auth: &str, amount: &str) {
    let left = format!(
        "{voucher}{} {kind}{} {auth}{}",
        pad_to(voucher, 7),
        pad_to(kind, 4),
        pad_to(auth, 7)
    );
    p.pair(left.trim_end(), amount);
}

impl DetailLine {
    fn render(&self, p: &mut Paper) {
        detail_row(
            p,
            self.voucher.trim(),
            &self.type_letter().to_string(),
            self.auth_code.as_deref().unwrap_or("").trim(),
            &format_fen(self.amount_fen),
        );
        p.push(format!("{HANG}{}", self.printed_pan()));
    }
}

impl DetailSlip {
    /// The settlement detail slip (§2.3), then the offline transactions that failed to upload.
    pub fn render(&self, lang: Lang) -> String {
        let mut p = Paper::default();
        p.heading("结算明细单", "SETTLEMENT DETAIL", lang);
        if self.test_mode {
            p.center(TEST_MARKER);
        }
        p.rule();
        if lang != Lang::En {
            detail_row(&mut p, "凭证号", "类型", "授权码", "金额");
        }
        if lang != Lang::Zh {
            detail_row(&mut p, "VOUCHER", "TYPE", "AUTH NO", "AMOUNT");
        }
        p.push(format!("{HANG}{}", lang.pick("卡号", "CARD NO.")));
        p.rule();
        for line in &self.lines {
            line.render(&mut p);
        }
        if !self.failed_offline.is_empty() {
            p.rule();
            p.heading("未成功上送交易明细", "OFFLINE NOT UPLOADED", lang);
            p.rule();
            for line in &self.failed_offline {
                line.render(&mut p);
            }
        }
        p.rule();
        p.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso8583::txn::TxnKind;
    use crate::slip::model::{CopyKind, SlipDateTime, SLIP_KINDS};

    fn sale() -> SalesSlip {
        SalesSlip {
            merchant_name: "银联测试商户".into(),
            merchant_name_en: Some("CUP TEST MERCHANT".into()),
            merchant_no: "898110048120001".into(),
            terminal_no: "12345678".into(),
            operator_no: "01".into(),
            pan: "6225881234567890".into(),
            batch: "000001".into(),
            voucher: "000002".into(),
            datetime: SlipDateTime::new(2025, 6, 1, 12, 0, 0).expect("valid"),
            amount_fen: 100,
            ..SalesSlip::default()
        }
    }

    fn all_within_paper(text: &str) {
        for l in text.lines() {
            assert!(display_width(l) <= PAPER_WIDTH, "too wide: {l:?}");
            assert_eq!(l, l.trim_end(), "trailing space: {l:?}");
        }
    }

    #[test]
    fn every_line_fits_the_paper() {
        for k in SLIP_KINDS {
            for copy in CopyKind::ALL {
                for lang in Lang::ALL {
                    let s = SalesSlip {
                        txn: k,
                        copy,
                        test_mode: true,
                        reprint: true,
                        tip_fen: Some(5),
                        expiry: Some("2512".into()),
                        ..sale()
                    };
                    all_within_paper(&s.render(lang));
                    all_within_paper(&FaultSlip { slip: s }.render(lang));
                }
            }
        }
    }

    #[test]
    fn labels_are_bilingual_by_default() {
        let text = render(&sale().into(), Lang::default());
        assert!(text.contains("银联POS签购单 POS SALES SLIP"));
        assert!(text.contains("商户存根 MERCHANT COPY"));
        assert!(text.contains("凭证号 VOUCHER NO.:"));
        assert!(text
            .lines()
            .any(|l| l.starts_with("金额 AMOUNT:") && l.ends_with(" RMB 1.00")));
        let zh = render(&sale().into(), Lang::Zh);
        assert!(zh.contains("凭证号:") && !zh.contains("VOUCHER"));
        let en = render(&sale().into(), Lang::En);
        assert!(en.contains("VOUCHER NO.:") && !en.contains("凭证号"));
    }

    #[test]
    fn card_line_is_masked_with_entry_letter() {
        let text = sale().render(Lang::Both);
        assert!(text.lines().any(|l| l == "622588******7890 S"), "{text}");
        assert!(!text.contains("6225881234567890"));
        let pre = SalesSlip {
            txn: TxnKind::PreAuth,
            ..sale()
        };
        assert!(pre.render(Lang::Both).contains("6225881234567890 S"));
    }

    #[test]
    fn signature_block_only_on_merchant_and_bank_copies() {
        for copy in CopyKind::ALL {
            let text = SalesSlip { copy, ..sale() }.render(Lang::Both);
            let has = text.contains("持卡人签名 CARDHOLDER SIGNATURE:");
            assert_eq!(has, copy != CopyKind::Cardholder, "{copy:?}");
            assert_eq!(text.contains("本人确认"), has);
        }
    }

    #[test]
    fn markers_are_printed_in_state() {
        let plain = sale().render(Lang::Both);
        assert!(!plain.contains("TESTING") && !plain.contains("DUPLICATED"));
        let marked = SalesSlip {
            test_mode: true,
            reprint: true,
            ..sale()
        }
        .render(Lang::Both);
        assert!(marked.contains(TEST_MARKER) && marked.contains("****重打印/DUPLICATED****"));
    }

    #[test]
    fn tip_prints_tip_and_total_lines() {
        let text = SalesSlip {
            tip_fen: Some(50),
            ..sale()
        }
        .render(Lang::Both);
        assert!(text
            .lines()
            .any(|l| l.starts_with("小费 TIPS:") && l.ends_with("RMB 0.50")));
        assert!(text
            .lines()
            .any(|l| l.starts_with("总计 TOTAL:") && l.ends_with("RMB 1.50")));
    }

    #[test]
    fn settlement_and_detail_carry_markers() {
        let s = SettlementSlip {
            test_mode: true,
            reprint: true,
            ..SettlementSlip::default()
        };
        for lang in Lang::ALL {
            let text = s.render(lang);
            all_within_paper(&text);
            assert!(text.contains(TEST_MARKER));
            assert!(text.contains(crate::slip::model::reprint_marker(lang)));
        }
        let d = DetailSlip {
            test_mode: true,
            ..DetailSlip::default()
        };
        assert!(d.render(Lang::Zh).contains(TEST_MARKER));
        assert!(
            !d.render(Lang::Zh).contains("未成功上送"),
            "no failed list when none failed"
        );
    }

    #[test]
    fn settlement_rows_keep_their_columns() {
        let s = SettlementSlip {
            rmb: SettlementBlock {
                rows: vec![
                    (TxnKind::Purchase, 3, 30000),
                    (TxnKind::CompletionNotice, 1, 5),
                ],
                ..SettlementBlock::default()
            },
            ..SettlementSlip::default()
        };
        let text = s.render(Lang::Both);
        all_within_paper(&text);
        // Count ends at column 20, amount at column 32.
        let sale = format!("消费/SALE{}3{}300.00", " ".repeat(10), " ".repeat(6));
        assert!(text.lines().any(|l| l == sale), "{text}");
        // Too long to share the line: numbers go below, in the same columns.
        let notice = format!("{}1{}0.05", " ".repeat(19), " ".repeat(8));
        assert!(
            text.contains(&format!("完成(通知)/AUTH SETTLEMENT\n{notice}\n")),
            "{text}"
        );
    }
}
