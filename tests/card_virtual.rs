//! The virtual PBOC card through APDUs: the digest's vectors A–E byte for byte, the issuer and
//! PSAM roles, the state machine and status words, atomicity under faults, and random APDUs.

use posconf::card::apdu::from_hex;
use posconf::card::issuer::{Issuer, IssuerError, LoadRequest};
use posconf::card::load::{self, LoadParams};
use posconf::card::ops::{self, PbocError};
use posconf::card::pboc::{CardKeys, Faults, PbocCard, PurseKind, PurseState, Tear};
use posconf::card::purchase::{self, PurchaseParams};
use posconf::card::{Card, CardError, PbocFixtures};
use posconf::crypto::pboc::LoadMacInput;
use posconf::crypto::DesKey;
use proptest::prelude::*;

fn fx() -> PbocFixtures {
    PbocFixtures::builtin().unwrap()
}

fn ep1() -> PbocCard {
    PbocCard::from_fixture(&fx(), "ep1").unwrap()
}

/// Send hex, get hex (upper, no spaces).
fn x(card: &mut dyn Card, apdu: &str) -> String {
    hex::encode_upper(card.transmit(&from_hex(apdu).unwrap()).unwrap())
}

fn k(h: &str) -> DesKey {
    DesKey::from_hex(h).unwrap()
}

/// A card with the digest's undiversified keys of vectors A, B and E.
fn vector_card(ed_balance: u32, ep_balance: u32) -> PbocCard {
    let text = format!(
        "issuers: []\ncards:\n  - {{name: vec, issuer: none, app_serial: \"00001122334455667788\", pin: \"1234\", require_pin: false, ed: {{balance: {ed_balance}}}, ep: {{balance: {ep_balance}}}}}\n"
    );
    let f: PbocFixtures = posconf::yaml::from_str(&text, "vec").unwrap();
    let keys = CardKeys {
        dlk: k("11223344556677888877665544332211"),
        dpk: k("11223344556677888877665544332211"),
        dtk: k("00112233445566778899AABBCCDDEEFF"),
        damk: k("404142434445464748494A4B4C4D4E4F"),
        key_index: 1,
        key_version: 2,
        alg_id: 0,
    };
    PbocCard::personalise(&f.cards[0], keys).unwrap()
}

const TERM_C: [u8; 6] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66];

#[test]
fn vector_a_public_ed_load_through_apdus() {
    let mut c = vector_card(0, 0);
    c.queue_randoms([[0x11, 0x22, 0x33, 0x44]]);
    assert!(x(&mut c, "00A40000021001").ends_with("9000"));
    assert_eq!(
        x(&mut c, "805000010B0100001000001122334455"),
        "00000000000002001122334429 88AE5A9000".replace(' ', "")
    );
    assert_eq!(
        x(&mut c, "805200000B 20111221 214822 3A845BF0 04"),
        "6314E5F59000"
    );
    let ed = c.state().ed.unwrap();
    assert_eq!((ed.balance, ed.online_ctr), (0x1000, 1));
}

#[test]
fn vector_b_public_purchase_through_apdus() {
    let mut c = vector_card(0, 0x2000);
    c.queue_randoms([[0x11, 0x22, 0x33, 0x44]]);
    x(&mut c, "00A40000021001");
    assert_eq!(
        x(&mut c, "805001020B0100001000001122334455 0F"),
        "000020000000000000020011223344 9000".replace(' ', "")
    );
    assert_eq!(
        x(&mut c, "805401000F 00000001 20120229 135100 F15CAB75 08"),
        "B3A0D49C56988A139000"
    );
    let ep = c.state().ep.unwrap();
    assert_eq!((ep.balance, ep.offline_ctr, ep.online_ctr), (0x1000, 1, 0));
}

#[test]
fn vectors_c_and_d_on_the_fixture_card() {
    let mut c = ep1();
    c.queue_randoms([[0xA1, 0xB2, 0xC3, 0xD4], [0x0F, 0x1E, 0x2D, 0x3C]]);
    x(&mut c, "00A40000021001");
    assert_eq!(x(&mut c, "0020000003123456"), "9000");
    assert_eq!(
        x(&mut c, "805000020B 01 000007D0 112233445566 10"),
        "000003E8000701 00A1B2C3D441890366 9000".replace(' ', "")
    );
    assert_eq!(
        x(&mut c, "805200000B 20250314 103000 8D4D5EFF 04"),
        "F6AFD1779000"
    );
    assert_eq!(x(&mut c, "805C000204"), "00000BB89000");
    assert_eq!(c.state().ep.unwrap().online_ctr, 8);
    // D: the purchase on the loaded card.
    assert_eq!(
        x(&mut c, "805001020B 01 00000064 112233445566 0F"),
        "00000BB80003000000 0100 0F1E2D3C 9000".replace(' ', "")
    );
    assert_eq!(
        x(&mut c, "805401000F 00000042 20250314 103000 CEC3A196 08"),
        "E68BCEEF09865C119000"
    );
    let ep = c.state().ep.unwrap();
    assert_eq!(
        (ep.balance, ep.online_ctr, ep.offline_ctr),
        (0xBB8 - 0x64, 8, 4)
    );
    // The log: newest first, serials are the counters before the transaction.
    assert_eq!(
        x(&mut c, "00B201C417"),
        "0003000000000000640611223344556620250314103000 9000".replace(' ', "")
    );
    assert_eq!(
        x(&mut c, "00B202C417"),
        "0007000000000007D00211223344556620250314103000 9000".replace(' ', "")
    );
    assert_eq!(x(&mut c, "00B203C417"), "6A83");
}

#[test]
fn vector_c_through_the_terminal_and_issuer_functions() {
    let f = fx();
    let issuer = Issuer::for_card(&f, "ep1").unwrap();
    let mut c = ep1();
    c.queue_randoms([[0xA1, 0xB2, 0xC3, 0xD4]]);
    let card: &mut dyn Card = &mut c;
    ops::select_app(card).unwrap();
    let serial = ops::app_serial(&ops::read_ef15(card).unwrap()).unwrap();
    let factor = ops::factor_of(&serial);
    assert_eq!(hex::encode_upper(factor), "2025000000000001");
    ops::verify_pin(card, "123456").unwrap();
    let init = load::init_for_load(card, 1, 2000, TERM_C, PurseKind::Ep).unwrap();
    assert_eq!(hex::encode_upper(init.mac1), "41890366");
    let req = LoadRequest {
        factor,
        purse: PurseKind::Ep,
        amount: 2000,
        terminal_id: TERM_C,
        init,
    };
    let auth = issuer
        .authorise_load(&req, [0x20, 0x25, 0x03, 0x14], [0x10, 0x30, 0x00])
        .unwrap();
    assert_eq!(hex::encode_upper(auth.mac2), "8D4D5EFF");
    let tac = load::credit_for_load(card, auth.host_date, auth.host_time, auth.mac2).unwrap();
    assert_eq!(hex::encode_upper(tac), "F6AFD177");
    issuer.verify_load_tac(factor, &auth.expected, tac).unwrap();
    let mut wrong = tac;
    wrong[0] ^= 1;
    assert!(matches!(
        issuer.verify_load_tac(factor, &auth.expected, wrong),
        Err(IssuerError::TacInvalid { .. })
    ));
    assert_eq!(
        hex::encode_upper(issuer.dtk(factor).unwrap().as_bytes()),
        "2E45C98592D06B704086609209587234"
    );
}

#[test]
fn vector_d_through_the_psam_and_perform_purchase() {
    let f = fx();
    let issuer = Issuer::for_card(&f, "ep1").unwrap();
    let mut c = ep1();
    c.set_purse(
        PurseKind::Ep,
        Some(PurseState {
            balance: 0xBB8,
            online_ctr: 8,
            offline_ctr: 3,
            overdraft: 0,
        }),
    );
    c.queue_randoms([[0x0F, 0x1E, 0x2D, 0x3C]]);
    let out = purchase::perform_purchase(
        &mut c,
        &issuer,
        &PurchaseParams {
            purse: PurseKind::Ep,
            amount: 100,
            terminal_id: TERM_C,
            terminal_serial: [0, 0, 0, 0x42],
            date: [0x20, 0x25, 0x03, 0x14],
            time: [0x10, 0x30, 0x00],
            pin: None,
        },
    )
    .unwrap();
    assert_eq!(
        (out.mac1.as_str(), out.mac2.as_str(), out.tac.as_str()),
        ("CEC3A196", "09865C11", "E68BCEEF")
    );
    assert_eq!((out.old_balance, out.new_balance), (3000, 2900));
}

#[test]
fn vector_e_secure_messaging_update_binary() {
    let mut c = vector_card(0, 0);
    c.queue_randoms([[0x55, 0x66, 0xAA, 0xBB], [1, 2, 3, 4]]);
    x(&mut c, "00A40000021001");
    assert_eq!(x(&mut c, "0084000004"), "5566AABB9000");
    assert_eq!(x(&mut c, "04D695000C 0102030405060708 C8F16575"), "9000");
    assert_eq!(&c.state().ef15[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
    // The challenge is single-use; a replay is refused and changes nothing.
    assert_eq!(x(&mut c, "04D695000C 0102030405060708 C8F16575"), "6985");
    assert_eq!(x(&mut c, "0084000004"), "010203049000");
    assert_eq!(x(&mut c, "04D695000C 0807060504030201 C8F16575"), "6988");
    assert_eq!(&c.state().ef15[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(x(&mut c, "04D6950003 010203"), "6987");
    assert_eq!(x(&mut c, "00D6950002 0102"), "6982");
    // The issuer builds the same command with a fixture card's diversified DAMK.
    let f = fx();
    let issuer = Issuer::for_card(&f, "ep1").unwrap();
    let mut c = ep1();
    let card: &mut dyn Card = &mut c;
    ops::select_app(card).unwrap();
    let ch = ops::get_challenge(card).unwrap();
    let cmd = issuer
        .sm_update_ef15([0x20, 0x25, 0, 0, 0, 0, 0, 1], ch, 28, &[0xAB, 0xCD])
        .unwrap();
    assert_eq!(hex::encode_upper(card.transmit(&cmd).unwrap()), "9000");
    assert_eq!(&ops::read_ef15(card).unwrap()[28..30], &[0xAB, 0xCD]);
}

fn load_params(amount: u32) -> LoadParams {
    LoadParams {
        purse: PurseKind::Ep,
        key_index: 1,
        amount,
        terminal_id: TERM_C,
        pin: Some("123456".into()),
        host_date: [0x20, 0x25, 0x03, 0x14],
        host_time: [0x10, 0x30, 0x00],
    }
}

#[test]
fn perform_load_updates_balance_counter_and_log_once() {
    let f = fx();
    let issuer = Issuer::for_card(&f, "ep1").unwrap();
    let mut c = ep1();
    let out = load::perform_load(&mut c, &issuer, &load_params(500)).unwrap();
    assert_eq!(
        (out.old_balance, out.new_balance, out.online_ctr),
        (1000, 1500, 7)
    );
    assert!(out.tac_verified);
    assert_eq!(c.state().log.len(), 1);
    assert_eq!(c.state().log[0].amount, 500);
    assert_eq!(c.state().ep.unwrap().online_ctr, 8);
    assert_eq!(
        c.state().ep.unwrap().offline_ctr,
        3,
        "offline counter untouched"
    );
}

#[test]
fn status_words_of_the_state_machine() {
    let mut c = ep1();
    assert_eq!(x(&mut c, "805C000204"), "6985", "no application selected");
    assert_eq!(x(&mut c, "00A4000002 3F00"), "9000");
    assert_eq!(x(&mut c, "00A4000002 3F02"), "6A82");
    assert!(x(&mut c, "00A4040009 A00000000386980701").ends_with("9000"));
    assert!(x(&mut c, "00A404000E 315041592E5359532E4444463031").ends_with("9000"));
    assert_eq!(x(&mut c, "00A4020002 1001"), "6A86");
    assert_eq!(x(&mut c, "00A4000001 10"), "6700");
    assert!(x(&mut c, "00A4000002 1001").ends_with("9000"));
    assert_eq!(
        x(&mut c, "805C000204"),
        "000003E89000",
        "EP balance needs no PIN"
    );
    assert_eq!(x(&mut c, "805C000104"), "6A82", "no e-passbook on ep1");
    assert_eq!(x(&mut c, "805C000304"), "6A86");
    assert_eq!(x(&mut c, "805200000B 20250314 103000 8D4D5EFF 04"), "6985");
    assert_eq!(
        x(&mut c, "805401000F 00000042 20250314 103000 CEC3A196 08"),
        "6985"
    );
    assert_eq!(
        x(&mut c, "805000020B 01 000007D0 112233445566 10"),
        "6982",
        "load needs the PIN"
    );
    assert_eq!(x(&mut c, "0020000003 654321"), "63C2");
    assert_eq!(x(&mut c, "0020000003 123456"), "9000");
    assert_eq!(x(&mut c, "805000020B 02 000007D0 112233445566 10"), "9403");
    assert_eq!(x(&mut c, "805000020A 01 000007D0 1122334455"), "6700");
    assert_eq!(x(&mut c, "805001020B 01 00002711 112233445566 0F"), "9401");
    // A purchase INIT does not satisfy a CREDIT.
    assert!(x(&mut c, "805001020B 01 00000001 112233445566 0F").ends_with("9000"));
    assert_eq!(x(&mut c, "805200000B 20250314 103000 8D4D5EFF 04"), "6985");
    assert_eq!(x(&mut c, "00CA000000"), "6D00");
    assert_eq!(x(&mut c, "10A4000002 1001"), "6E00");
    assert_eq!(x(&mut c, "00B201C417"), "6A83", "empty log");
    assert_eq!(x(&mut c, "00B201C517"), "6A86");
    assert_eq!(x(&mut c, "00B201CC17"), "6A82", "SFI 0x19 does not exist");
    assert_eq!(x(&mut c, "00B0960000"), "6A82");
    assert_eq!(x(&mut c, "0084000005"), "6700");
    assert_eq!(x(&mut c, "00A400"), "6700", "a 3-byte APDU");
    assert_eq!(c.state().ep.unwrap().balance, 1000, "nothing moved");
    // Counter at its maximum.
    c.set_purse(
        PurseKind::Ep,
        Some(PurseState {
            balance: 0,
            online_ctr: u16::MAX,
            offline_ctr: 0,
            overdraft: 0,
        }),
    );
    assert_eq!(x(&mut c, "805000020B 01 000007D0 112233445566 10"), "9402");
}

#[test]
fn pin_tries_and_blocking() {
    let mut c = ep1();
    x(&mut c, "00A40000021001");
    assert_eq!(x(&mut c, "0020000003 000000"), "63C2");
    assert_eq!(x(&mut c, "0020000003 000000"), "63C1");
    assert_eq!(x(&mut c, "0020000003 000000"), "6983");
    assert_eq!(
        x(&mut c, "0020000003 123456"),
        "6983",
        "blocked even with the right PIN"
    );
    assert_eq!(c.state().pin_tries_left, 0);
    // A correct PIN resets the counter (on a fresh card).
    let mut c = ep1();
    assert_eq!(x(&mut c, "0020000003 000000"), "63C2");
    assert_eq!(x(&mut c, "0020000003 123456"), "9000");
    assert_eq!(c.state().pin_tries_left, 3);
}

#[test]
fn wrong_mac2_credits_nothing_and_ends_the_transaction() {
    let mut c = ep1();
    c.queue_randoms([[0xA1, 0xB2, 0xC3, 0xD4]]);
    x(&mut c, "00A40000021001");
    x(&mut c, "0020000003123456");
    let before = c.state().clone();
    x(&mut c, "805000020B 01 000007D0 112233445566 10");
    assert_eq!(x(&mut c, "805200000B 20250314 103000 8D4D5EF0 04"), "9302");
    assert_eq!(c.state(), &before);
    // The right MAC2 after a failure is too late: INIT again.
    assert_eq!(x(&mut c, "805200000B 20250314 103000 8D4D5EFF 04"), "6985");
    assert_eq!(c.state(), &before);
}

#[test]
fn e_passbook_card_loads_with_type_01() {
    let f = fx();
    let issuer = Issuer::for_card(&f, "ed1").unwrap();
    let mut c = PbocCard::from_fixture(&f, "ed1").unwrap();
    x(&mut c, "00A40000021001");
    assert_eq!(x(&mut c, "805C000104"), "6982", "ED balance needs the PIN");
    assert_eq!(x(&mut c, "805C000204"), "6A82", "no e-purse");
    let mut p = load_params(2500);
    p.purse = PurseKind::Ed;
    p.pin = Some("135790".into());
    let out = load::perform_load(&mut c, &issuer, &p).unwrap();
    assert_eq!(
        (out.old_balance, out.new_balance, out.online_ctr),
        (50000, 52500, 12)
    );
    assert_eq!(c.state().log[0].txn_type, 0x01);
    assert_eq!(c.state().log[0].overdraft, 10000);
    // ED purchase within the overdraft.
    let out = purchase::perform_purchase(
        &mut c,
        &issuer,
        &PurchaseParams {
            purse: PurseKind::Ed,
            amount: 100,
            terminal_id: TERM_C,
            terminal_serial: [0, 0, 0, 9],
            date: [0x20, 0x25, 0x03, 0x15],
            time: [0x09, 0, 0],
            pin: Some("135790".into()),
        },
    )
    .unwrap();
    assert_eq!(out.new_balance, 52400);
    assert_eq!(c.state().ed.unwrap().offline_ctr, 41);
}

#[test]
fn the_log_is_cyclic_with_ten_records() {
    let f = fx();
    let issuer = Issuer::for_card(&f, "ep2").unwrap();
    let mut c = PbocCard::from_fixture(&f, "ep2").unwrap();
    let mut p = load_params(1);
    p.pin = Some("2468".into());
    for i in 1..=12u32 {
        p.amount = i;
        load::perform_load(&mut c, &issuer, &p).unwrap();
    }
    let log = ops::read_log(&mut c).unwrap();
    assert_eq!(log.len(), 10);
    assert_eq!(log[0].amount, 12);
    assert_eq!(log[0].serial, 11);
    assert_eq!(log[9].amount, 3);
    assert_eq!(c.state().ep.unwrap().balance, (1..=12).sum::<u32>());
}

#[test]
fn wrong_mac1_is_refused_by_the_issuer_and_the_card_is_untouched() {
    let f = fx();
    let issuer = Issuer::for_card(&f, "ep1").unwrap();
    let mut c = ep1();
    c.set_faults(Faults {
        wrong_mac1: true,
        ..Faults::default()
    });
    let before = c.state().clone();
    let e = load::perform_load(&mut c, &issuer, &load_params(500)).unwrap_err();
    assert!(matches!(e, PbocError::BadMac { what: "MAC1", .. }), "{e}");
    assert_eq!(e.exit_code(), 1);
    assert_eq!(c.state(), &before);
}

#[test]
fn a_card_keyed_by_another_issuer_fails_mac1() {
    let f = fx();
    let issuer = Issuer::for_card(&f, "ep1").unwrap();
    // ep2's keys but a serial the issuer maps to ep1's keys: MAC1 cannot verify.
    let mut c = PbocCard::from_fixture(&f, "ep2").unwrap();
    let mut keys = c.keys().clone();
    keys.dlk = k("0123456789ABCDEFFEDCBA9876543210");
    let mut c2 = PbocCard::personalise(f.card("ep2").unwrap(), keys).unwrap();
    let mut p = load_params(1);
    p.pin = Some("2468".into());
    assert!(load::perform_load(&mut c, &issuer, &p).is_ok());
    assert!(matches!(
        load::perform_load(&mut c2, &issuer, &p),
        Err(PbocError::BadMac { what: "MAC1", .. })
    ));
}

#[test]
fn missing_tac_is_malformed_but_the_load_happened() {
    let f = fx();
    let issuer = Issuer::for_card(&f, "ep1").unwrap();
    let mut c = ep1();
    c.set_faults(Faults {
        no_tac: true,
        ..Faults::default()
    });
    let e = load::perform_load(&mut c, &issuer, &load_params(500)).unwrap_err();
    assert!(
        matches!(
            e,
            PbocError::Malformed {
                command: "CREDIT FOR LOAD",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(c.state().ep.unwrap().balance, 1500);
}

#[test]
fn card_pulled_after_init_changes_nothing() {
    let f = fx();
    let issuer = Issuer::for_card(&f, "ep1").unwrap();
    let mut c = ep1();
    c.set_faults(Faults {
        pull_after_init: true,
        ..Faults::default()
    });
    let before = c.state().clone();
    let e = load::perform_load(&mut c, &issuer, &load_params(500)).unwrap_err();
    assert!(matches!(e, PbocError::Card(CardError::Removed)), "{e}");
    assert!(!c.is_present());
    assert_eq!(c.state(), &before);
    // Back in the reader, the pending INIT is gone and a new load works once.
    c.reinsert().unwrap();
    assert!(!c.faults().pull_after_init, "fires once");
    let out = load::perform_load(&mut c, &issuer, &load_params(500)).unwrap();
    assert_eq!((out.old_balance, out.new_balance), (1000, 1500));
}

#[test]
fn torn_credit_is_all_or_nothing() {
    let f = fx();
    let issuer = Issuer::for_card(&f, "ep1").unwrap();
    for (tear, balance, ctr, logs) in [
        (Tear::BeforeCommit, 1000, 7, 0),
        (Tear::AfterCommit, 1500, 8, 1),
    ] {
        let mut c = ep1();
        c.set_faults(Faults {
            tear: Some(tear),
            ..Faults::default()
        });
        let e = load::perform_load(&mut c, &issuer, &load_params(500)).unwrap_err();
        assert!(matches!(e, PbocError::Card(CardError::Removed)), "{e}");
        let ep = c.state().ep.unwrap();
        assert_eq!(
            (ep.balance, ep.online_ctr, c.state().log.len()),
            (balance, ctr, logs),
            "{tear:?}"
        );
        // Recovery reads what the card holds: the log says whether counter 7 was loaded.
        c.reinsert().unwrap();
        ops::select_app(&mut c).unwrap();
        assert_eq!(ops::get_balance(&mut c, PurseKind::Ep).unwrap(), balance);
        let log = ops::read_log(&mut c).unwrap();
        assert_eq!(
            log.iter().any(|r| r.serial == 7 && r.amount == 500),
            logs == 1
        );
        if logs == 1 {
            // The host can still verify the TAC it never received by recomputing it.
            let tac = issuer
                .load_tac(
                    [0x20, 0x25, 0, 0, 0, 0, 0, 1],
                    &LoadMacInput {
                        old_balance: 1000,
                        amount: 500,
                        txn_type: 2,
                        terminal_id: TERM_C,
                        host_date: log[0].date,
                        host_time: log[0].time,
                        online_ctr: 7,
                        new_balance: 1500,
                    },
                )
                .unwrap();
            assert_eq!(tac.len(), 4);
        }
    }
}

#[test]
fn torn_debit_is_all_or_nothing() {
    let f = fx();
    let issuer = Issuer::for_card(&f, "ep1").unwrap();
    let mut c = ep1();
    c.set_faults(Faults {
        tear: Some(Tear::BeforeCommit),
        ..Faults::default()
    });
    let p = PurchaseParams {
        purse: PurseKind::Ep,
        amount: 100,
        terminal_id: TERM_C,
        terminal_serial: [0, 0, 0, 1],
        date: [0x20, 0x25, 0x03, 0x14],
        time: [0x10, 0x30, 0x00],
        pin: None,
    };
    assert!(purchase::perform_purchase(&mut c, &issuer, &p).is_err());
    assert_eq!(c.state().ep.unwrap().balance, 1000);
    assert_eq!(c.state().ep.unwrap().offline_ctr, 3);
    c.reinsert().unwrap();
    let out = purchase::perform_purchase(&mut c, &issuer, &p).unwrap();
    assert_eq!(out.new_balance, 900);
}

#[test]
fn transaction_prove_returns_the_tac_of_a_finished_load() {
    let f = fx();
    let issuer = Issuer::for_card(&f, "ep1").unwrap();
    let mut c = ep1();
    c.set_faults(Faults {
        tear: Some(Tear::AfterCommit),
        ..Faults::default()
    });
    assert!(load::perform_load(&mut c, &issuer, &load_params(500)).is_err());
    c.reinsert().unwrap();
    ops::select_app(&mut c).unwrap();
    // The terminal never saw the TAC; the card still proves the load (type 02, counter 7).
    let prove = ops::get_transaction_prove(&mut c, 0x02, 7)
        .unwrap()
        .unwrap();
    let (mac2, tac) = (prove.mac, prove.tac);
    let log = ops::read_log(&mut c).unwrap();
    let input = LoadMacInput {
        old_balance: 1000,
        amount: 500,
        txn_type: 2,
        terminal_id: TERM_C,
        host_date: log[0].date,
        host_time: log[0].time,
        online_ctr: 7,
        new_balance: 1500,
    };
    issuer
        .verify_load_tac([0x20, 0x25, 0, 0, 0, 0, 0, 1], &input, tac)
        .unwrap();
    assert_eq!(mac2.len(), 4);
    assert_eq!(ops::get_transaction_prove(&mut c, 0x02, 6).unwrap(), None);
    assert_eq!(ops::get_transaction_prove(&mut c, 0x06, 7).unwrap(), None);
}

#[test]
fn test_hooks_are_off_unless_enabled() {
    let mut c = ep1();
    assert_eq!(x(&mut c, "80F0000001 04"), "6D00");
    assert_eq!(c.faults(), Faults::default());
    c.set_test_hooks(true);
    assert_eq!(x(&mut c, "80F0000001 14"), "9000");
    assert_eq!(
        c.faults(),
        Faults {
            pull_after_init: true,
            tear: Some(Tear::AfterCommit),
            ..Faults::default()
        }
    );
    for f in [
        Faults::default(),
        Faults {
            wrong_mac1: true,
            no_tac: true,
            ..Faults::default()
        },
        Faults {
            tear: Some(Tear::BeforeCommit),
            ..Faults::default()
        },
    ] {
        assert_eq!(Faults::from_mask(f.to_mask()), f);
    }
}

#[test]
fn removed_card_answers_nothing() {
    let mut c = ep1();
    c.remove().unwrap();
    assert!(matches!(
        c.transmit(&[0x00, 0x84, 0, 0, 4]),
        Err(CardError::Removed)
    ));
    let e = c.power_on().unwrap_err();
    assert!(
        e.is_infrastructure(),
        "no card in the reader is the rig's problem: {e}"
    );
    c.reinsert().unwrap();
    assert_eq!(
        c.power_on().unwrap(),
        from_hex(posconf::card::fixture::DEFAULT_ATR).unwrap()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Random APDUs (biased to the card's own CLA/INS) never panic and always get an SW.
    #[test]
    fn random_apdus_never_panic(
        seq in proptest::collection::vec(
            (
                prop_oneof![Just(0x00u8), Just(0x04), Just(0x80), Just(0x84), any::<u8>()],
                prop_oneof![Just(0xA4u8), Just(0x20), Just(0x84), Just(0x5C), Just(0x50), Just(0x52), Just(0x54), Just(0xB0), Just(0xD6), Just(0xB2), any::<u8>()],
                any::<u8>(),
                any::<u8>(),
                proptest::collection::vec(any::<u8>(), 0..40),
            ),
            1..8,
        )
    ) {
        let mut c = ep1();
        c.set_require_pin(false);
        for (cla, ins, p1, p2, rest) in seq {
            let mut apdu = vec![cla, ins, p1, p2];
            apdu.extend(rest);
            let r = c.transmit(&apdu).unwrap();
            prop_assert!(r.len() >= 2);
        }
        let ep = c.state().ep.unwrap();
        // Without valid MACs no money can appear.
        prop_assert!(ep.balance <= 1000);
    }
}
