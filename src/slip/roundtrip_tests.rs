//! `parse(render(slip))` recovers every element, for every transaction with a slip, every copy,
//! every language and the optional elements on and off; and for random names and texts.

use proptest::prelude::*;

use super::element::{Element, Lang};
use super::layout::{display_width, PAPER_WIDTH};
use super::model::{CopyKind, EntryMode, RefLine, SalesSlip, SlipDateTime, SLIP_KINDS};
use super::parse::parse_sales_slip;
use super::verify::verify_sales_slip;
use crate::iso8583::txn::TxnKind;

fn base() -> SalesSlip {
    SalesSlip {
        merchant_name: "银联测试商户".into(),
        merchant_name_en: Some("CUP TEST MERCHANT".into()),
        merchant_no: "898110048120001".into(),
        terminal_no: "12345678".into(),
        operator_no: "01".into(),
        issuer: Some("工商银行".into()),
        acquirer: Some("中国银联".into()),
        card_org: Some("CUP".into()),
        pan: "6225881234567890".into(),
        expiry: Some("2512".into()),
        batch: "000001".into(),
        voucher: "000002".into(),
        auth_code: Some("123456".into()),
        datetime: SlipDateTime::new(2025, 6, 1, 12, 30, 45).expect("valid"),
        rrn: Some("123456789012".into()),
        amount_fen: 100,
        ..SalesSlip::default()
    }
}

/// Variants that switch every optional element on or off.
fn variants(txn: TxnKind, copy: CopyKind) -> Vec<SalesSlip> {
    let plain = SalesSlip {
        txn,
        copy,
        reference: RefLine::for_txn(
            txn,
            Some("000001"),
            Some("123456789011"),
            Some("0531"),
            Some("654321"),
        ),
        ..base()
    };
    let everything = SalesSlip {
        test_mode: true,
        reprint: true,
        negative_sign: true,
        full_pan_offline: true,
        card_org: Some("VIS".into()),
        entry: EntryMode::Contactless,
        tip_fen: Some(1234),
        amount_fen: 987_654_321,
        pan: "6225881234567890123".into(),
        merchant_name: "上海浦东发展银行测试商户餐饮有限公司第一分店".into(),
        merchant_name_en: Some("SHANGHAI PUDONG DEVELOPMENT BANK TEST RESTAURANT NO. 1".into()),
        issuer: Some("中国工商银行股份有限公司北京分行".into()),
        acquirer: Some("01020000".into()),
        reference: [
            plain.reference.clone(),
            vec![
                RefLine::Text("发卡行返回:请妥善保管签购单以备查询核对".into()),
                RefLine::Text("ARQC: 1A2B3C4D5E6F7A8B".into()),
            ],
        ]
        .concat(),
        ..plain.clone()
    };
    let nothing = SalesSlip {
        merchant_name_en: None,
        issuer: None,
        acquirer: None,
        card_org: None,
        expiry: Some("0000".into()),
        auth_code: None,
        rrn: None,
        entry: EntryMode::Other,
        currency: "HKD".into(),
        reference: vec![],
        ..plain.clone()
    };
    vec![plain, everything, nothing]
}

fn assert_round_trip(slip: &SalesSlip, lang: Lang) {
    let text = slip.render(lang);
    for l in text.lines() {
        assert!(display_width(l) <= PAPER_WIDTH, "too wide: {l:?}");
    }
    let p = parse_sales_slip(&text).expect("rendered slip parses");
    let ctx = format!("{:?} {:?} {lang:?}\n{text}", slip.txn, slip.copy);
    assert_eq!(p.elements, slip.expected(lang), "{ctx}");
    assert!(
        p.duplicates.is_empty() && p.unrecognized.is_empty(),
        "{ctx}\n{p:?}"
    );
    assert_eq!(verify_sales_slip(slip, &p), [], "{ctx}");
    // Typed readings agree with the data.
    assert_eq!(p.txn(), Ok(slip.txn), "{ctx}");
    assert_eq!(p.copy(), Ok(slip.copy), "{ctx}");
    assert_eq!(p.entry(), Ok(slip.entry), "{ctx}");
    assert_eq!(p.datetime(), Ok(slip.datetime), "{ctx}");
    let amount = p.amount(Element::Amount).expect("amount");
    assert_eq!(
        (amount.fen, amount.negative),
        (slip.amount_fen, slip.is_negative())
    );
    assert_eq!(
        p.amount(Element::Total).ok().map(|a| a.fen),
        slip.total_fen()
    );
    assert_eq!(p.reference(), slip.reference, "{ctx}");
    assert_eq!(p.get(Element::CardNo), Some(slip.printed_pan().as_str()));
}

#[test]
fn every_slip_kind_copy_language_and_option_round_trips() {
    let mut n = 0;
    for txn in SLIP_KINDS {
        for copy in CopyKind::ALL {
            for slip in variants(txn, copy) {
                for lang in Lang::ALL {
                    assert_round_trip(&slip, lang);
                    n += 1;
                }
            }
        }
    }
    assert_eq!(n, 11 * 3 * 3 * 3);
}

/// A word of a Chinese name, from characters that start no label or marker. Two characters at
/// least: a lone CJK character between English words leaves no clean break (see `wrap`).
fn zh_word() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(
            "银联商户上海北京餐饮有限公司分店中国工银行超市广场"
                .chars()
                .collect::<Vec<_>>(),
        ),
        2..8,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn en_word() -> impl Strategy<Value = String> {
    "[A-Z0-9&.-]{1,12}"
}

/// Mixed Chinese/English text starting with a Chinese word, words separated by one space.
fn text() -> impl Strategy<Value = String> {
    (
        zh_word(),
        proptest::collection::vec(prop_oneof![zh_word(), en_word()], 0..8),
    )
        .prop_map(|(first, rest)| [vec![first], rest].concat().join(" "))
}

proptest! {
    #[test]
    fn random_slips_round_trip(
        kind in 0..SLIP_KINDS.len(),
        copy in 0..3usize,
        lang in 0..3usize,
        name in text(),
        name_en in proptest::option::of(("[A-Z]{3,8}", proptest::collection::vec(en_word(), 0..6))
            .prop_map(|(a, b)| [vec![format!("CUP{a}")], b].concat().join(" "))),
        issuer in proptest::option::of(text()),
        notes in proptest::collection::vec(text(), 0..4),
        pan_len in 13..=19usize,
        amount in 0..u64::MAX / 200,
        tip in proptest::option::of(0..1_000_000u64),
        flags in 0..16u8,
    ) {
        let slip = SalesSlip {
            txn: SLIP_KINDS[kind],
            copy: CopyKind::ALL[copy],
            merchant_name: name,
            merchant_name_en: name_en,
            issuer,
            reference: notes.into_iter().map(RefLine::Text).collect(),
            pan: "6225881234567890123"[..pan_len].to_string(),
            amount_fen: amount,
            tip_fen: tip,
            test_mode: flags & 1 != 0,
            reprint: flags & 2 != 0,
            negative_sign: flags & 4 != 0,
            full_pan_offline: flags & 8 != 0,
            ..base()
        };
        assert_round_trip(&slip, Lang::ALL[lang]);
    }
}

/// Printout fragments a garbled capture may mix: labels, markers, values, odd spacing.
fn garbled_line() -> impl Strategy<Value = String> {
    let pieces: Vec<&'static str> = vec![
        "凭证号",
        "VOUCHER NO.",
        "卡号",
        "CARD NO",
        ":",
        "：",
        "(",
        ")",
        "（",
        "）",
        " ",
        "  ",
        "/",
        ".",
        "*",
        "***",
        "-",
        "RMB",
        "1.0",
        "测试",
        "重打印",
        "签购单",
        "本人确认",
        "原凭证号",
        "预授权码",
        "商户存根",
        "ACQ",
        "TIPS",
        "6225",
        "S",
        "é",
        "\u{301}",
        "\t",
        "银联",
    ];
    proptest::collection::vec(
        prop_oneof![
            proptest::sample::select(pieces).prop_map(str::to_string),
            any::<char>().prop_map(String::from)
        ],
        0..12,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn garbled_printouts_never_panic(lines in proptest::collection::vec(garbled_line(), 0..30)) {
        if let Ok(p) = parse_sales_slip(&lines.join("\n")) {
            let _ = (p.txn(), p.copy(), p.entry(), p.datetime(), p.reference());
            let _ = p.amount(Element::Amount);
            let _ = verify_sales_slip(&base(), &p);
        }
    }
}
