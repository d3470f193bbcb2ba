//! Reading a printed sales slip back into its elements, so a check can compare what a terminal
//! printed with the transaction it sent.
//!
//! Real printouts differ in spacing and label style (`凭证号:`, `凭证号(VOUCHER NO):`,
//! `凭证号 VOUCHER NO.:`, `VOUCHER NO.`), so the reader is tolerant: an element is a line that
//! starts with one of its labels (Chinese, English or both, any case, `.` optional), its value
//! is the rest of that line or, when that is empty, the next line. Indented lines continue a
//! wrapped text value; free-text elements (merchant name, reference) take one entry per line.
//! Markers (title, copy, test, reprint, acknowledgement) are recognised by their text.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fmt;

use super::element::Element;
use super::error::ReceiptError;
use super::layout::{char_width, join_wrapped};
use super::model::{txn_from_name, CopyKind, EntryMode, RefLine, SlipDateTime};
use crate::iso8583::txn::TxnKind;

/// The elements found on a printed sales slip.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedSlip {
    /// Each element found, its value trimmed; several printed lines joined by `\n`; labels
    /// printed without a value map to `""`. `CardNo` holds the card number without spaces and
    /// `EntryMode` the letter printed after it.
    pub elements: BTreeMap<Element, String>,
    /// Labelled elements printed more than once (element, 1-based line); the first is kept.
    pub duplicates: Vec<(Element, usize)>,
    /// Lines that belong to no element (1-based line, trimmed text).
    pub unrecognized: Vec<(usize, String)>,
}

/// An amount as printed: `RMB 1.00`, `RMB -1.00`, `￥1.00`, `1,234.50`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedAmount {
    /// Currency text before the number, upper-cased (`RMB`, `¥`), if any.
    pub currency: Option<String>,
    pub negative: bool,
    pub fen: u64,
}

impl PrintedAmount {
    /// Reads a printed amount; the reason on failure names what is wrong.
    pub fn parse(text: &str) -> Result<PrintedAmount, &'static str> {
        let mut currency = String::new();
        let mut negative = false;
        let mut int = String::new();
        let mut frac: Option<String> = None;
        for c in text.trim().chars() {
            match c {
                '0'..='9' => match frac.as_mut() {
                    Some(f) => f.push(c),
                    None => int.push(c),
                },
                '.' if frac.is_none() && !int.is_empty() => frac = Some(String::new()),
                ',' if !int.is_empty() && frac.is_none() => {}
                '-' | '－' if int.is_empty() && !negative => negative = true,
                c if (c.is_alphabetic() || "￥¥$".contains(c)) && int.is_empty() && !negative => {
                    currency.push(c)
                }
                c if c.is_whitespace() && (int.is_empty() || frac.is_none()) => {}
                _ => return Err("unexpected character in amount"),
            }
        }
        if int.is_empty() {
            return Err("no digits in amount");
        }
        let cents = match frac.as_deref() {
            None => 0,
            Some(f) if f.len() == 2 => f.parse::<u64>().map_err(|_| "bad decimals")?,
            Some(f) if f.len() == 1 => f.parse::<u64>().map_err(|_| "bad decimals")? * 10,
            Some(_) => return Err("amount needs 1 or 2 decimals"),
        };
        let fen = int
            .parse::<u64>()
            .ok()
            .and_then(|u| u.checked_mul(100))
            .and_then(|u| u.checked_add(cents))
            .ok_or("amount too large")?;
        let currency = (!currency.is_empty()).then(|| currency.to_uppercase());
        Ok(PrintedAmount {
            currency,
            negative,
            fen,
        })
    }
}

/// `RMB -1.00`.
impl fmt::Display for PrintedAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = &self.currency {
            write!(f, "{c} ")?;
        }
        let sign = if self.negative { "-" } else { "" };
        write!(f, "{sign}{}", super::model::format_fen(self.fen))
    }
}

impl ParsedSlip {
    /// The printed value of `element`, if printed.
    pub fn get(&self, element: Element) -> Option<&str> {
        self.elements.get(&element).map(String::as_str)
    }

    pub fn has(&self, element: Element) -> bool {
        self.elements.contains_key(&element)
    }

    fn need(&self, element: Element) -> Result<&str, ReceiptError> {
        self.get(element).ok_or(ReceiptError::Missing { element })
    }

    fn bad(element: Element, value: &str, reason: &'static str) -> ReceiptError {
        ReceiptError::BadValue {
            element,
            value: value.to_string(),
            reason,
        }
    }

    /// Which copy the slip says it is.
    pub fn copy(&self) -> Result<CopyKind, ReceiptError> {
        let v = self.need(Element::Copy)?;
        CopyKind::from_text(v).ok_or_else(|| Self::bad(Element::Copy, v, "not a copy label"))
    }

    /// The transaction named under 交易类型.
    pub fn txn(&self) -> Result<TxnKind, ReceiptError> {
        let v = self.need(Element::TxnType)?;
        txn_from_name(v).ok_or_else(|| Self::bad(Element::TxnType, v, "unknown transaction name"))
    }

    /// The entry-mode letter after the card number.
    pub fn entry(&self) -> Result<EntryMode, ReceiptError> {
        let v = self.need(Element::EntryMode)?;
        v.chars()
            .next()
            .and_then(EntryMode::from_letter)
            .ok_or_else(|| Self::bad(Element::EntryMode, v, "not S, I, C, M or N"))
    }

    /// An amount element (`Amount`, `Tip` or `Total`).
    pub fn amount(&self, element: Element) -> Result<PrintedAmount, ReceiptError> {
        let v = self.need(element)?;
        PrintedAmount::parse(v).map_err(|reason| Self::bad(element, v, reason))
    }

    /// The printed date and time.
    pub fn datetime(&self) -> Result<SlipDateTime, ReceiptError> {
        let v = self.need(Element::DateTime)?;
        SlipDateTime::parse(v)
            .map_err(|_| Self::bad(Element::DateTime, v, "not YYYY/MM/DD hh:mm:ss"))
    }

    /// The 备注 lines, labelled ones recognised (empty when there is no 备注).
    pub fn reference(&self) -> Vec<RefLine> {
        self.get(Element::Reference)
            .map(|v| {
                v.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(parse_ref_line)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Bytes of `alias` (ASCII) matched at the start of `s`: letters in any case, `.` optional, a
/// space matching any run of whitespace (or none); then an optional `.`, and no letter or digit
/// right after (so `TIP` does not match `TIPS`).
fn match_en(s: &str, alias: &str) -> Option<usize> {
    let sb = s.as_bytes();
    let mut i = 0;
    for a in alias.bytes() {
        match a {
            b'.' => {
                if sb.get(i) == Some(&b'.') {
                    i += 1;
                }
            }
            b' ' => {
                while sb.get(i).is_some_and(u8::is_ascii_whitespace) {
                    i += 1;
                }
            }
            _ => {
                if sb.get(i).map(u8::to_ascii_uppercase) != Some(a.to_ascii_uppercase()) {
                    return None;
                }
                i += 1;
            }
        }
    }
    if sb.get(i) == Some(&b'.') {
        i += 1;
    }
    if sb.get(i).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    Some(i)
}

/// Bytes of the Chinese `alias` at the start of `s`, unless another Chinese character follows
/// (`发卡行返回` is not the issuer label).
fn match_zh(s: &str, alias: &str) -> Option<usize> {
    let rest = s.strip_prefix(alias)?;
    match rest.chars().next() {
        Some(c) if char_width(c) == 2 && !"：（".contains(c) => None,
        _ => Some(alias.len()),
    }
}

/// The first alias of `aliases` matching at the start of `s`, longest first.
fn match_any(s: &str, aliases: &[&str], m: fn(&str, &str) -> Option<usize>) -> Option<usize> {
    let mut sorted: Vec<&str> = aliases.to_vec();
    sorted.sort_by_key(|a| std::cmp::Reverse(a.len()));
    sorted.into_iter().find_map(|a| m(s, a))
}

/// The value after a label: `中文`, `中文 ENGLISH`, `中文(ENGLISH)`, `中文/ENGLISH` or
/// `ENGLISH`, then an optional colon. `None` if `s` does not start with a label.
fn after_label<'a>(s: &'a str, zh: &[&str], en: &[&str]) -> Option<&'a str> {
    let rest = if let Some(n) = match_any(s, zh, match_zh) {
        let rest = &s[n..];
        let seps = rest.trim_start_matches(|c: char| c.is_whitespace() || "(（/".contains(c));
        match match_any(seps, en, match_en) {
            Some(m) => &seps[m..],
            None => skip_paren_group(rest),
        }
    } else {
        &s[match_any(s, en, match_en)?..]
    };
    let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || ")）".contains(c));
    let rest = rest
        .strip_prefix(':')
        .or_else(|| rest.strip_prefix('：'))
        .unwrap_or(rest);
    Some(rest.trim())
}

/// Skips a parenthesised group right after a label (`(VOUCHER)` in LY's `原凭证号(VOUCHER):`).
fn skip_paren_group(s: &str) -> &str {
    let t = s.trim_start();
    if t.starts_with(['(', '（']) {
        if let Some(end) = t.find([')', '）']) {
            let close_len = t[end..].chars().next().map_or(1, char::len_utf8);
            return &t[end + close_len..];
        }
    }
    s
}

/// A labelled element and its same-line value, if `t` starts with a label.
fn match_label(t: &str) -> Option<(Element, &str)> {
    let labelled = || Element::ALL.into_iter().filter(|e| e.is_labelled());
    // Chinese labels first: they are unambiguous, and a bilingual label starts with one.
    let mut zh: Vec<(usize, Element)> = labelled()
        .filter_map(|e| match_any(t, e.aliases_zh(), match_zh).map(|n| (n, e)))
        .collect();
    zh.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    if let Some(&(_, e)) = zh.first() {
        return after_label(t, e.aliases_zh(), e.aliases_en()).map(|v| (e, v));
    }
    let mut en: Vec<(usize, Element)> = labelled()
        .filter_map(|e| match_any(t, e.aliases_en(), match_en).map(|n| (n, e)))
        .collect();
    en.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    let &(_, e) = en.first()?;
    after_label(t, &[], e.aliases_en()).map(|v| (e, v))
}

/// A marker element if `t` is a marker line. Test and reprint markers are set off by `*`
/// (or carry their fixed wording) so that a merchant called 测试商户 is not one.
fn match_marker(t: &str) -> Option<Element> {
    let up = t.to_uppercase();
    let starred = t.starts_with('*');
    if (starred && (t.contains("测试") || up.contains("TEST"))) || t.contains("凭证无效") {
        Some(Element::TestMarker)
    } else if (starred && (t.contains("重打印") || up.contains("DUPLICATE")))
        || t.starts_with("重打印")
    {
        Some(Element::Reprint)
    } else if t.ends_with("签购单")
        || t.contains("签购单 POS")
        || t.contains("签购单/POS")
        || up.ends_with("SALES SLIP")
    {
        Some(Element::Title)
    } else if CopyKind::ALL
        .into_iter()
        .any(|c| t.starts_with(c.label_zh()) || up.starts_with(c.label_en()))
    {
        Some(Element::Copy)
    } else if t.starts_with("本人确认") || up.starts_with("I ACKNOWLEDGE") {
        Some(Element::Acknowledgement)
    } else {
        None
    }
}

/// A rule between sections: a run of at least 8 `-`, `=`, `_`, `*` or `.`.
fn is_rule(t: &str) -> bool {
    t.chars().count() >= 8 && t.chars().all(|c| "-=_*.".contains(c))
}

/// One 备注 line: a labelled original-transaction reference, or free text.
pub fn parse_ref_line(line: &str) -> RefLine {
    let t = line.trim();
    RefLine::LABELS
        .iter()
        .enumerate()
        .find_map(|(i, (zh, en))| {
            after_label(t, &[zh], &[en]).map(|v| RefLine::from_label_index(i, v.to_string()))
        })
        .unwrap_or_else(|| RefLine::Text(t.to_string()))
}

/// The element being read and its lines so far.
struct Open {
    element: Element,
    line: usize,
    entries: Vec<String>,
}

#[derive(Default)]
struct Reader {
    found: BTreeMap<Element, Vec<String>>,
    duplicates: Vec<(Element, usize)>,
    unrecognized: Vec<(usize, String)>,
    open: Option<Open>,
}

impl Reader {
    fn close(&mut self) {
        let Some(o) = self.open.take() else { return };
        match self.found.entry(o.element) {
            Entry::Vacant(v) => {
                v.insert(o.entries);
            }
            // Markers may repeat (LY prints the test marker at the top and the bottom).
            Entry::Occupied(mut e) if !o.element.is_labelled() => e.get_mut().extend(o.entries),
            Entry::Occupied(_) => self.duplicates.push((o.element, o.line)),
        }
    }

    fn open(&mut self, element: Element, line: usize, first: Option<&str>) {
        self.close();
        self.open = Some(Open {
            element,
            line,
            entries: first
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .into_iter()
                .collect(),
        });
    }

    fn line(&mut self, n: usize, raw: &str) {
        let t = raw.trim();
        if t.is_empty() || is_rule(t) {
            return self.close();
        }
        if let Some(m) = match_marker(t) {
            match self.open.as_mut() {
                Some(o) if o.element == m && m.is_multi() => o.entries.push(t.to_string()),
                _ => self.open(m, n, Some(t)),
            }
            return;
        }
        let indented = raw.starts_with(char::is_whitespace);
        if let Some(o) = self.open.as_mut() {
            if indented && o.element.is_text() {
                if let Some(last) = o.entries.last_mut() {
                    join_wrapped(last, t);
                    return;
                }
            }
        }
        if let Some((e, v)) = match_label(t) {
            return self.open(e, n, Some(v));
        }
        if let Some(o) = self.open.as_mut() {
            if o.entries.is_empty() || o.element.is_multi() {
                o.entries.push(t.to_string());
                return;
            }
        }
        self.close();
        self.unrecognized.push((n, t.to_string()));
    }
}

/// Splits `6225 88** **** 7890 /S` into the card number without spaces and the entry letter.
fn split_card(v: &str) -> (String, Option<char>) {
    let t = v.trim();
    let mut rev = t.chars().rev();
    let (letter, before) = (rev.next(), rev.next());
    match (letter, before) {
        (Some(l), Some(' ' | '/')) if l.is_ascii_alphabetic() => {
            let card = t[..t.len() - 1].trim_end_matches([' ', '/']);
            (
                card.split_whitespace().collect(),
                Some(l.to_ascii_uppercase()),
            )
        }
        _ => (t.split_whitespace().collect(), None),
    }
}

/// Reads the elements of a printed sales slip (see the module docs for what is accepted).
/// Fails only when there is nothing to check: empty text, or no sales-slip element at all.
pub fn parse_sales_slip(text: &str) -> Result<ParsedSlip, ReceiptError> {
    if text.trim().is_empty() {
        return Err(ReceiptError::Empty);
    }
    let mut r = Reader::default();
    for (i, raw) in text.lines().enumerate() {
        r.line(i + 1, raw.trim_end());
    }
    r.close();
    if r.found.is_empty() {
        return Err(ReceiptError::NotASalesSlip);
    }
    let mut elements: BTreeMap<Element, String> = r
        .found
        .into_iter()
        .map(|(e, v)| (e, v.join("\n")))
        .collect();
    if let Some(card) = elements.get(&Element::CardNo).cloned() {
        let (pan, letter) = split_card(&card);
        elements.insert(Element::CardNo, pan);
        if let Some(l) = letter {
            elements.insert(Element::EntryMode, l.to_string());
        }
    }
    Ok(ParsedSlip {
        elements,
        duplicates: r.duplicates,
        unrecognized: r.unrecognized,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_labels_match_loosely() {
        assert_eq!(match_en("VOUCHER NO.:000001", "VOUCHER NO."), Some(11));
        assert_eq!(match_en("voucher no:000001", "VOUCHER NO."), Some(10));
        assert_eq!(match_en("TIPS:", "TIP"), None);
        assert_eq!(match_en("ACQ):", "ACQ."), Some(3));
        assert_eq!(match_en("REFERENCE", "REF. NO."), None);
    }

    #[test]
    fn label_styles_of_real_terminals() {
        let cases = [
            ("凭证号:000002", Element::Voucher, "000002"),
            ("凭证号(VOUCHER NO):000002", Element::Voucher, "000002"),
            ("凭证号 VOUCHER NO.:     000002", Element::Voucher, "000002"),
            ("VOUCHER NO.: 000002", Element::Voucher, "000002"),
            ("批次号(BATCH NO)  :000001", Element::Batch, "000001"),
            (
                "交易参考号(REF. NO):123456789012",
                Element::RefNo,
                "123456789012",
            ),
            (
                "卡有效期(EXP. DATE):   2025/12",
                Element::ExpDate,
                "2025/12",
            ),
            ("收单行(ACQ):中国银联", Element::Acquirer, "中国银联"),
            ("交易类型(TXN. TYPE):", Element::TxnType, ""),
            ("商户名称：测试商户", Element::MerchantName, "测试商户"),
            ("日期/时间 DATE/TIME:", Element::DateTime, ""),
        ];
        for (line, e, v) in cases {
            assert_eq!(match_label(line), Some((e, v)), "{line}");
        }
        assert_eq!(match_label("发卡行返回:请联系发卡行"), None);
        assert_eq!(match_label("ARQC: 1234"), None);
    }

    #[test]
    fn markers() {
        assert_eq!(
            match_marker("**测试/TESTING,凭证无效**"),
            Some(Element::TestMarker)
        );
        assert_eq!(match_marker("****重打印****"), Some(Element::Reprint));
        assert_eq!(
            match_marker("重打印凭证/DUPLICATED"),
            Some(Element::Reprint)
        );
        assert_eq!(
            match_marker("银联POS签购单/POS SALES SLIP"),
            Some(Element::Title)
        );
        assert_eq!(
            match_marker("商户存根                     MERCHANT COPY"),
            Some(Element::Copy)
        );
        assert_eq!(match_marker("测试商户"), None);
        assert_eq!(match_marker("请保留签购单以备查询"), None);
    }

    #[test]
    fn amounts() {
        let a = |s| PrintedAmount::parse(s);
        assert_eq!(
            a("RMB 1.00"),
            Ok(PrintedAmount {
                currency: Some("RMB".into()),
                negative: false,
                fen: 100
            })
        );
        assert_eq!(a("RMB -1.00").map(|p| (p.negative, p.fen)), Ok((true, 100)));
        assert_eq!(a("RMB-12.5").map(|p| p.fen), Ok(1250));
        assert_eq!(a("1,234.56").map(|p| p.fen), Ok(123456));
        assert_eq!(
            a("￥3").map(|p| (p.currency, p.fen)),
            Ok((Some("￥".into()), 300))
        );
        assert!(a("RMB").is_err());
        assert!(a("RMB 1.005").is_err());
        assert!(a("RMB 1.0x").is_err());
        assert!(a("99999999999999999999999").is_err());
        assert_eq!(
            a("RMB -1.00").map(|p| p.to_string()).as_deref(),
            Ok("RMB -1.00")
        );
    }

    #[test]
    fn card_and_entry_letter() {
        assert_eq!(
            split_card("622588******7890 S"),
            ("622588******7890".into(), Some('S'))
        );
        assert_eq!(
            split_card("6225 88** **** 7890 /i"),
            ("622588******7890".into(), Some('I'))
        );
        assert_eq!(
            split_card("622588******7890"),
            ("622588******7890".into(), None)
        );
    }

    #[test]
    fn reference_lines() {
        assert_eq!(
            parse_ref_line("原凭证号:000001"),
            RefLine::OrigVoucher("000001".into())
        );
        assert_eq!(
            parse_ref_line("原凭证号(VOUCHER):000001"),
            RefLine::OrigVoucher("000001".into())
        );
        assert_eq!(
            parse_ref_line("原预授权码(AUTH NO):654321"),
            RefLine::OrigPreAuthCode("654321".into())
        );
        assert_eq!(
            parse_ref_line("预授权码 PRE-AUTH NO.:654321"),
            RefLine::PreAuthCode("654321".into())
        );
        assert_eq!(
            parse_ref_line("ORIG. REF. NO.:123"),
            RefLine::OrigRefNo("123".into())
        );
        assert_eq!(
            parse_ref_line("原参考号(REFER NO): 123"),
            RefLine::OrigRefNo("123".into())
        );
        assert_eq!(
            parse_ref_line("TVR: 0000000000"),
            RefLine::Text("TVR: 0000000000".into())
        );
    }

    /// A slip in LY's layout (labels in parentheses, values indented or on the next line).
    #[test]
    fn reads_an_ly_style_printout() {
        let text = "
**测试/TESTING,凭证无效**
-----------------------------------------------
银联POS签购单/POS SALES SLIP
商户存根                     MERCHANT COPY
-----------------------------------------------
商户名称(MERCHANT NAME):
测试商户
商户编号(MERCHANT NO):
898110048120001
终端编号(TERMINAL NO):
12345678
操作员号(OPERATOR NO):  01
-----------------------------------------------
发卡行(ISSUER):工商银行
卡号(CARD NO):
6225 88** **** 7890 S
收单行(ACQ):中国银联
交易类型(TXN. TYPE):
消费撤销
卡有效期(EXP. DATE):   2025/12
-----------------------------------------------
批次号(BATCH NO)  :000001
凭证号(VOUCHER NO):000003
授权码(AUTH NO)   :123456
日期/时间(DATE/TIME):
   2025/06/01 12:00:00
交易参考号(REF. NO):123456789012
金额(AMOUNT):RMB 1.00
备注/REFERENCE
原凭证号(VOUCHER):000002
****重打印/DUPLICATED****
***测试/TESTING,凭证无效***
持卡人签名(CARDHOLDER SIGNATURE)



-----------------------------------------------
本人确认以上交易,同意将其计入本卡账户
I ACKNOWLEDGE SATISFACTORY RECEIPT OF RELATIVE  GOODS/SERVICE";
        let p = parse_sales_slip(text).expect("parses");
        assert_eq!(p.get(Element::Voucher), Some("000003"));
        assert_eq!(p.get(Element::CardNo), Some("622588******7890"));
        assert_eq!(p.entry(), Ok(EntryMode::Swipe));
        assert_eq!(p.txn(), Ok(TxnKind::PurchaseVoid));
        assert_eq!(p.copy(), Ok(CopyKind::Merchant));
        assert_eq!(p.get(Element::OperatorNo), Some("01"));
        assert_eq!(p.get(Element::Acquirer), Some("中国银联"));
        assert_eq!(
            p.datetime().map(|d| d.to_string()).as_deref(),
            Ok("2025/06/01 12:00:00")
        );
        assert_eq!(p.amount(Element::Amount).map(|a| a.fen), Ok(100));
        assert_eq!(p.reference(), [RefLine::OrigVoucher("000002".into())]);
        assert!(p.has(Element::TestMarker) && p.has(Element::Reprint));
        assert!(p.has(Element::Signature) && p.has(Element::Acknowledgement));
        assert!(
            p.duplicates.is_empty() && p.unrecognized.is_empty(),
            "{p:?}"
        );
    }

    #[test]
    fn duplicates_and_strays_are_reported() {
        let p = parse_sales_slip("凭证号:000001\n凭证号:000002\nhello\n").expect("parses");
        assert_eq!(p.get(Element::Voucher), Some("000001"));
        assert_eq!(p.duplicates, [(Element::Voucher, 2)]);
        assert_eq!(p.unrecognized, [(3, "hello".to_string())]);
    }

    #[test]
    fn errors() {
        assert_eq!(parse_sales_slip(" \n\n"), Err(ReceiptError::Empty));
        assert_eq!(
            parse_sales_slip("hello\nworld"),
            Err(ReceiptError::NotASalesSlip)
        );
        let p = parse_sales_slip("凭证号:000001").expect("parses");
        assert_eq!(
            p.txn(),
            Err(ReceiptError::Missing {
                element: Element::TxnType
            })
        );
        let p = parse_sales_slip("交易类型:买东西\n金额:RMB x").expect("parses");
        assert!(matches!(p.txn(), Err(ReceiptError::BadValue { .. })));
        assert!(matches!(
            p.amount(Element::Amount),
            Err(ReceiptError::BadValue { .. })
        ));
    }
}
