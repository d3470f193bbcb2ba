//! The printed form of each kind of receipt, pinned: a change to a label, the order of
//! elements or the column layout shows up here as a diff a reviewer reads against table 2.1.

use posconf::iso8583::txn::TxnKind;
use posconf::slip::{
    parse_sales_slip, render, verify_sales_slip, CopyKind, DetailLine, DetailSlip, EntryMode,
    FaultSlip, Lang, RefLine, SalesSlip, SettlementBlock, SettlementSlip, SettlementStatus, Slip,
    SlipDateTime,
};

fn at(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> SlipDateTime {
    SlipDateTime::new(y, mo, d, h, mi, s).expect("valid date")
}

/// The purchase of the digest's worked 0200 example (STAN 000002, 1.00 CNY, swipe).
fn purchase() -> SalesSlip {
    SalesSlip {
        copy: CopyKind::Merchant,
        merchant_name: "银联测试商户".into(),
        merchant_name_en: Some("CUP TEST MERCHANT".into()),
        merchant_no: "898110048120001".into(),
        terminal_no: "12345678".into(),
        operator_no: "01".into(),
        issuer: Some("工商银行".into()),
        acquirer: Some("中国银联".into()),
        card_org: Some("CUP".into()),
        pan: "6225881234567890".into(),
        entry: EntryMode::Swipe,
        txn: TxnKind::Purchase,
        expiry: Some("2512".into()),
        batch: "000001".into(),
        voucher: "000002".into(),
        auth_code: Some("123456".into()),
        datetime: at(2025, 6, 1, 12, 30, 45),
        rrn: Some("123456789012".into()),
        amount_fen: 100,
        ..SalesSlip::default()
    }
}

/// Renders, and checks that the text reads back to the same elements before pinning it.
fn sales_text(slip: &SalesSlip, lang: Lang) -> String {
    let text = render(&Slip::Sales(slip.clone()), lang);
    let parsed = parse_sales_slip(&text).expect("rendered slip parses");
    assert_eq!(parsed.elements, slip.expected(lang));
    assert_eq!(verify_sales_slip(slip, &parsed), []);
    text
}

#[test]
fn purchase_merchant_copy() {
    insta::assert_snapshot!(sales_text(&purchase(), Lang::Both));
}

#[test]
fn void_cardholder_copy() {
    let slip = SalesSlip {
        copy: CopyKind::Cardholder,
        txn: TxnKind::PurchaseVoid,
        entry: EntryMode::Ic,
        voucher: "000003".into(),
        auth_code: Some("123456".into()),
        rrn: Some("123456789013".into()),
        datetime: at(2025, 6, 1, 12, 35, 0),
        reference: vec![
            RefLine::OrigVoucher("000002".into()),
            RefLine::Text("发卡行返回:交易成功".into()),
        ],
        ..purchase()
    };
    insta::assert_snapshot!(sales_text(&slip, Lang::Both));
}

#[test]
fn pre_auth_prints_full_pan() {
    let slip = SalesSlip {
        txn: TxnKind::PreAuth,
        copy: CopyKind::Bank,
        voucher: "000004".into(),
        auth_code: Some("654321".into()),
        amount_fen: 50000,
        issuer: Some("中国工商银行股份有限公司".into()),
        ..purchase()
    };
    insta::assert_snapshot!(sales_text(&slip, Lang::Both));
}

#[test]
fn refund_in_test_mode_with_minus_sign_in_english() {
    let slip = SalesSlip {
        test_mode: true,
        txn: TxnKind::Refund,
        negative_sign: true,
        card_org: Some("VIS".into()),
        pan: "4761340000000019".into(),
        entry: EntryMode::Manual,
        expiry: None,
        auth_code: None,
        voucher: "000005".into(),
        amount_fen: 2550,
        reference: RefLine::for_txn(
            TxnKind::Refund,
            None,
            Some("123456789012"),
            Some("0601"),
            None,
        ),
        ..purchase()
    };
    insta::assert_snapshot!(sales_text(&slip, Lang::En));
}

#[test]
fn reprint_of_a_tip_adjust_in_chinese() {
    let slip = SalesSlip {
        reprint: true,
        txn: TxnKind::AdjustTip,
        voucher: "000006".into(),
        amount_fen: 10000,
        tip_fen: Some(1500),
        rrn: None,
        merchant_name: "上海浦东发展银行测试商户餐饮有限公司第一分店".into(),
        ..purchase()
    };
    insta::assert_snapshot!(sales_text(&slip, Lang::Zh));
}

#[test]
fn settlement_balanced_rmb_unbalanced_foreign() {
    let slip = SettlementSlip {
        test_mode: false,
        reprint: false,
        merchant_name: "银联测试商户".into(),
        merchant_name_en: Some("CUP TEST MERCHANT".into()),
        merchant_no: "898110048120001".into(),
        terminal_no: "12345678".into(),
        batch: "000001".into(),
        datetime: at(2025, 6, 1, 23, 0, 5),
        rmb: SettlementBlock {
            status: SettlementStatus::Balanced,
            rows: vec![
                (TxnKind::Purchase, 12, 1_234_500),
                (TxnKind::Refund, 1, 2550),
                (TxnKind::CompletionRequest, 2, 100_000),
                (TxnKind::CompletionNotice, 1, 30000),
                (TxnKind::OfflineSettlement, 3, 4500),
            ],
        },
        foreign: SettlementBlock {
            status: SettlementStatus::Unbalanced,
            rows: vec![(TxnKind::Purchase, 2, 88800)],
        },
    };
    insta::assert_snapshot!(render(&slip.into(), Lang::Both));
}

#[test]
fn detail_with_failed_offline_items() {
    let line = |voucher: &str, txn, auth: Option<&str>, amount_fen, pan: &str| DetailLine {
        voucher: voucher.into(),
        txn,
        auth_code: auth.map(Into::into),
        amount_fen,
        pan: pan.into(),
    };
    let slip = DetailSlip {
        test_mode: false,
        lines: vec![
            line(
                "000002",
                TxnKind::Purchase,
                Some("123456"),
                100,
                "6225881234567890",
            ),
            line("000005", TxnKind::Refund, None, 2550, "4761340000000019"),
            line(
                "000007",
                TxnKind::CompletionRequest,
                Some("654321"),
                50000,
                "6225881234567890",
            ),
            line(
                "000008",
                TxnKind::CompletionNotice,
                Some("654322"),
                30000,
                "6225881234567890",
            ),
            line(
                "000009",
                TxnKind::AdjustTip,
                Some("123457"),
                11500,
                "6225881234567890123",
            ),
        ],
        failed_offline: vec![line(
            "000010",
            TxnKind::OfflineSettlement,
            Some("777777"),
            4500,
            "6225881234567890",
        )],
    };
    insta::assert_snapshot!(render(&slip.into(), Lang::Both));
}

#[test]
fn fault_slip_after_failed_reversal() {
    let slip = FaultSlip {
        slip: SalesSlip {
            voucher: "000011".into(),
            auth_code: None,
            rrn: None,
            ..purchase()
        },
    };
    insta::assert_snapshot!(render(&slip.into(), Lang::Both));
}
