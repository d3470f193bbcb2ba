//! Element-by-element comparison of a printed slip with the transaction it belongs to, in
//! terms a tester reads: "receipt element 凭证号 VOUCHER NO. expected 000002, found 000003".
//!
//! Comparison is by meaning, not by layout: labels may be in either language, amounts are
//! compared in fen and sign, the transaction type by [`TxnKind`](crate::iso8583::txn::TxnKind),
//! the date by value, and spacing never matters.

use std::fmt;

use super::element::{Element, Lang};
use super::model::{txn_from_name, CopyKind, RefLine, SalesSlip, SlipDateTime};
use super::parse::{parse_ref_line, ParsedSlip, PrintedAmount};
use crate::iso8583::mask::mask_pan;

/// One element whose printout does not match the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub element: Element,
    /// What should be printed; `None` when nothing should be.
    pub expected: Option<String>,
    /// What is printed; `None` when nothing is.
    pub found: Option<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let el = self.element;
        match (&self.expected, &self.found) {
            (Some(e), Some(x)) => write!(f, "receipt element {el} expected {e}, found {x}"),
            (Some(e), None) => write!(f, "receipt element {el} expected {e}, not printed"),
            (None, Some(x)) => write!(f, "receipt element {el} must not be printed, found {x}"),
            (None, None) => write!(f, "receipt element {el} differs"),
        }
    }
}

/// Whitespace removed, upper-cased: spacing and case never make a mismatch.
fn norm(s: &str) -> String {
    s.split_whitespace().collect::<String>().to_uppercase()
}

/// A card number for a message: never shown in full (reports are masked).
fn show_pan(p: &str) -> String {
    if p.contains('*') {
        p.to_string()
    } else {
        format!("{} (printed in full)", mask_pan(p))
    }
}

/// A value for a message; presence-only elements read "(printed)".
fn show(v: &str) -> String {
    if v.trim().is_empty() {
        "(printed)".to_string()
    } else {
        v.replace('\n', " / ")
    }
}

fn same_ref(a: &RefLine, b: &RefLine) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b) && norm(a.parts().1) == norm(b.parts().1)
}

/// Every element of `found` that does not match what `slip` should print, in printing order;
/// an element printed twice is reported too. Empty when the printout is right.
pub fn verify_sales_slip(slip: &SalesSlip, found: &ParsedSlip) -> Vec<Mismatch> {
    use Element::*;
    let mut out = Vec::new();
    for el in Element::ALL {
        let expected = slip.printed_value(el, Lang::Both).map(|v| v.join("\n"));
        let got = found.get(el);
        if el == Reference {
            check_reference(slip, found, &mut out);
            continue;
        }
        let amount_ok = |want: Option<(u64, bool)>| match (want, got) {
            (None, None) => true,
            (Some((fen, neg)), Some(g)) => PrintedAmount::parse(g).is_ok_and(|a| {
                a.fen == fen
                    && a.negative == neg
                    && a.currency
                        .is_none_or(|c| c == slip.currency.trim().to_uppercase())
            }),
            _ => false,
        };
        let ok = match el {
            Copy => got.and_then(CopyKind::from_text) == Some(slip.copy),
            Title | TestMarker | Reprint | Signature | Acknowledgement => {
                expected.is_some() == got.is_some()
            }
            MerchantName => got.is_some_and(|g| {
                let g = norm(g);
                [Some(&slip.merchant_name), slip.merchant_name_en.as_ref()]
                    .into_iter()
                    .flatten()
                    .any(|n| g.contains(&norm(n)))
            }),
            TxnType => got.and_then(txn_from_name) == Some(slip.txn),
            DateTime => got.and_then(|g| SlipDateTime::parse(g).ok()) == Some(slip.datetime),
            ExpDate => match (&expected, got) {
                (None, None) => true,
                (Some(e), Some(g)) => {
                    let digits =
                        |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
                    let (e, g) = (digits(e), digits(g));
                    g == e || e.get(2..) == Some(g.as_str())
                }
                _ => false,
            },
            Amount => amount_ok(Some((slip.amount_fen, slip.is_negative()))),
            Tip => amount_ok(slip.tip_fen.map(|t| (t, false))),
            Total => amount_ok(slip.total_fen().map(|t| (t, slip.is_negative()))),
            // "Blank or omitted when none" (table 2.1 #11).
            AuthCode if expected.is_none() => got.is_none_or(|g| g.trim().is_empty()),
            _ => expected.as_deref().map(norm) == got.map(norm),
        };
        if !ok {
            let (e, g) = if el == CardNo {
                (expected.as_deref().map(show_pan), got.map(show_pan))
            } else {
                (expected.as_deref().map(show), got.map(show))
            };
            out.push(Mismatch {
                element: el,
                expected: e,
                found: g,
            });
        }
    }
    for &(el, line) in &found.duplicates {
        out.push(Mismatch {
            element: el,
            expected: slip
                .printed_value(el, Lang::Both)
                .map(|v| show(&v.join("\n"))),
            found: Some(format!("a second time on line {line}")),
        });
    }
    out
}

/// Each 备注 line the transaction requires must be printed; extra lines (IC data, F63 texts
/// the harness did not expect) are allowed.
fn check_reference(slip: &SalesSlip, found: &ParsedSlip, out: &mut Vec<Mismatch>) {
    let printed = found.reference();
    for want in &slip.reference {
        let want = parse_ref_line(&want.render(Lang::Both));
        if printed.iter().any(|p| same_ref(p, &want)) {
            continue;
        }
        let same_kind = printed.iter().find(|p| {
            !matches!(p, RefLine::Text(_))
                && std::mem::discriminant(*p) == std::mem::discriminant(&want)
        });
        out.push(Mismatch {
            element: Element::Reference,
            expected: Some(want.render(Lang::Both)),
            found: same_kind.map(|p| p.render(Lang::Both)),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso8583::txn::TxnKind;
    use crate::slip::model::{CopyKind, SLIP_KINDS};
    use crate::slip::parse::parse_sales_slip;

    fn slip() -> SalesSlip {
        SalesSlip {
            merchant_name: "银联测试商户".into(),
            merchant_no: "898110048120001".into(),
            terminal_no: "12345678".into(),
            operator_no: "01".into(),
            pan: "6225881234567890".into(),
            batch: "000001".into(),
            voucher: "000002".into(),
            rrn: Some("123456789012".into()),
            auth_code: Some("654321".into()),
            datetime: SlipDateTime::new(2025, 6, 1, 12, 0, 0).expect("valid"),
            amount_fen: 100,
            ..SalesSlip::default()
        }
    }

    #[test]
    fn a_correct_printout_has_no_mismatch_in_any_language() {
        for txn in SLIP_KINDS {
            for lang in Lang::ALL {
                let s = SalesSlip { txn, ..slip() };
                let p = parse_sales_slip(&s.render(lang)).expect("parses");
                assert_eq!(verify_sales_slip(&s, &p), [], "{txn:?} {lang:?}");
            }
        }
    }

    #[test]
    fn a_wrong_voucher_is_named_by_its_labels() {
        let printed = SalesSlip {
            voucher: "000003".into(),
            ..slip()
        };
        let p = parse_sales_slip(&printed.render(Lang::Zh)).expect("parses");
        let m = verify_sales_slip(&slip(), &p);
        assert_eq!(m.len(), 1);
        assert_eq!(
            m[0].to_string(),
            "receipt element 凭证号 VOUCHER NO. expected 000002, found 000003"
        );
    }

    #[test]
    fn unmasked_pan_is_reported_without_printing_it() {
        let p = parse_sales_slip(
            &SalesSlip {
                txn: TxnKind::PreAuth,
                ..slip()
            }
            .render(Lang::Both),
        )
        .expect("parses");
        let m = verify_sales_slip(&slip(), &p);
        let card = m
            .iter()
            .find(|m| m.element == Element::CardNo)
            .expect("card mismatch");
        assert_eq!(
            card.found.as_deref(),
            Some("622588******7890 (printed in full)")
        );
        assert!(!card.to_string().contains("6225881234567890"));
    }

    #[test]
    fn presence_rules_are_checked() {
        // Printed as a cardholder copy where a merchant copy was due: copy label, signature
        // and acknowledgement are all wrong.
        let printed = SalesSlip {
            copy: CopyKind::Cardholder,
            ..slip()
        };
        let p = parse_sales_slip(&printed.render(Lang::Both)).expect("parses");
        let els: Vec<_> = verify_sales_slip(&slip(), &p)
            .iter()
            .map(|m| m.element)
            .collect();
        assert_eq!(
            els,
            [Element::Copy, Element::Signature, Element::Acknowledgement]
        );

        let printed = SalesSlip {
            test_mode: true,
            negative_sign: true,
            txn: TxnKind::Refund,
            ..slip()
        };
        let want = SalesSlip {
            txn: TxnKind::Refund,
            ..slip()
        };
        let p = parse_sales_slip(&printed.render(Lang::Both)).expect("parses");
        let m = verify_sales_slip(&want, &p);
        assert_eq!(m[0].to_string(), "receipt element 测试标志 TEST MARKER must not be printed, found ***测试/TESTING,凭证无效***");
        assert_eq!(m[1].element, Element::Amount);
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn missing_reference_line() {
        let want = SalesSlip {
            txn: TxnKind::PurchaseVoid,
            reference: vec![RefLine::OrigVoucher("000001".into())],
            ..slip()
        };
        let printed = SalesSlip {
            reference: vec![
                RefLine::OrigVoucher("000009".into()),
                RefLine::Text("TVR: 00".into()),
            ],
            ..want.clone()
        };
        let p = parse_sales_slip(&printed.render(Lang::En)).expect("parses");
        assert_eq!(
            verify_sales_slip(&want, &p),
            [Mismatch {
                element: Element::Reference,
                expected: Some("原凭证号 ORIG. VOUCHER:000001".into()),
                found: Some("原凭证号 ORIG. VOUCHER:000009".into()),
            }]
        );
    }

    #[test]
    fn blank_auth_code_is_accepted_when_none_is_due() {
        let want = SalesSlip {
            auth_code: None,
            ..slip()
        };
        let text = slip()
            .render(Lang::Zh)
            .replace("授权码:", "授权码:\n")
            .replace("654321", "");
        let p = parse_sales_slip(&text).expect("parses");
        assert_eq!(verify_sales_slip(&want, &p), []);
    }
}
