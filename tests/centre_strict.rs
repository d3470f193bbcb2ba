//! The embedded centre declines what a real CUP centre declines (issue 9): requests driven
//! through `Centre::handle` directly, with real sign-in keys and MACs.

use posconf::crypto::mac::cup_ecb_mac;
use posconf::fixtures::Fixtures;
use posconf::host::behaviour::Behaviours;
use posconf::host::centre::{Centre, Handled};
use posconf::iso8583::frame::{decode_frame, Frame, Framing, Header, Tpdu};
use posconf::iso8583::{cup_codec, Message, Mti, Value};
use posconf::profile::Profile;

const TID: &str = "12345678";
const MID: &str = "898110048120001";
const PAN: &str = "6225881234567890";

fn centre() -> Centre {
    let mut c = Centre::new(
        Profile::default(),
        Fixtures::builtin().expect("fixtures"),
        Behaviours::default(),
        Box::new(|| ("1123".to_string(), "120000".to_string())),
        Box::new(|b: &mut [u8]| {
            b.iter_mut()
                .enumerate()
                .for_each(|(i, x)| *x = (i as u8).wrapping_mul(73).wrapping_add(11))
        }),
    )
    .expect("centre");
    let h = send_with(&mut c, sign_in(), 0x60);
    assert_eq!(code(&h).as_deref(), Some("00"));
    c
}

fn sign_in() -> Message {
    Message::new(Mti::parse("0800").unwrap())
        .with(11, "000001")
        .with(41, TID)
        .with(42, MID)
        .with(60, "00000001004")
        .with(63, "01 ")
}

fn send_with(c: &mut Centre, mut m: Message, tpdu_id: u8) -> Handled {
    let macced = matches!(m.mti.as_str(), "0100" | "0200" | "0220" | "0400");
    if macced {
        m.set(64, Value::Binary(vec![0; 8]));
    }
    let f = Frame {
        tpdu: Some(Tpdu([tpdu_id, 0, 3, 0, 0])),
        header: Some(Header([0x60, 0x31, 0, 0x31, 0, 0])),
        message: m,
    };
    let mut payload = f.payload(&cup_codec()).expect("pack");
    if macced {
        let mak = c
            .session(TID)
            .and_then(|s| s.keys.clone())
            .expect("signed in")
            .mak;
        let n = payload.len();
        let mac = cup_ecb_mac(&mak, &payload[11..n - 8]);
        payload[n - 8..].copy_from_slice(&mac);
    }
    let d = decode_frame(&cup_codec(), &payload, Framing::Bare).expect("decodes");
    c.handle(&d, &payload)
}

fn send(c: &mut Centre, m: Message) -> Handled {
    send_with(c, m, 0x60)
}

fn code(h: &Handled) -> Option<String> {
    let reply = h.reply.as_ref()?;
    let d = decode_frame(&cup_codec(), reply, Framing::Bare).expect("answer decodes");
    d.message.text(39).map(str::to_string)
}

fn events(h: &Handled) -> Vec<String> {
    h.events
        .iter()
        .filter_map(|e| e["event"].as_str().map(str::to_string))
        .collect()
}

fn financial(mti: &str, proc: &str, t601: &str, stan: &str, amount: &str) -> Message {
    Message::new(Mti::parse(mti).unwrap())
        .with(2, PAN)
        .with(3, proc)
        .with(4, amount)
        .with(11, stan)
        .with(14, "2512")
        .with(22, "012")
        .with(25, "00")
        .with(41, TID)
        .with(42, MID)
        .with(49, "156")
        .with(60, format!("{t601}000001"))
}

fn balance(c: &Centre) -> i64 {
    c.journal.account(PAN).expect("card").balance
}

#[test]
fn a_refund_sent_as_0200_is_an_invalid_transaction() {
    let mut c = centre();
    let p = send(
        &mut c,
        financial("0200", "000000", "22", "000002", "000000001000"),
    );
    assert_eq!(code(&p).as_deref(), Some("00"));
    let rrn = c.journal.entries()[0].rrn.clone();
    let refund = financial("0200", "200000", "25", "000003", "000000000500")
        .with(37, rrn)
        .with(61, "0000000000001123")
        .with(63, "CUP");
    let before = balance(&c);
    let h = send(&mut c, refund);
    assert_eq!(code(&h).as_deref(), Some("12"));
    assert!(events(&h).contains(&"invalid_transaction".to_string()));
    assert_eq!(balance(&c), before, "nothing credited");
}

#[test]
fn a_purchase_with_the_wrong_processing_code_is_12() {
    let mut c = centre();
    let h = send(
        &mut c,
        financial("0200", "310000", "22", "000002", "000000001000"),
    );
    assert_eq!(code(&h).as_deref(), Some("12"));
}

#[test]
fn a_zero_purchase_is_13_and_an_impossible_expiry_is_30() {
    let mut c = centre();
    let h = send(
        &mut c,
        financial("0200", "000000", "22", "000002", "000000000000"),
    );
    assert_eq!(code(&h).as_deref(), Some("13"));
    let h = send(
        &mut c,
        financial("0200", "000000", "22", "000003", "000000000100").with(14, "2513"),
    );
    assert_eq!(code(&h).as_deref(), Some("30"));
    assert!(events(&h).contains(&"format_error".to_string()));
    assert_eq!(balance(&c), 1_000_000);
}

#[test]
fn a_tpdu_other_than_60_is_not_answered() {
    let mut c = centre();
    let h = send_with(
        &mut c,
        financial("0200", "000000", "22", "000002", "000000001000"),
        0x70,
    );
    assert!(h.reply.is_none());
    assert_eq!(events(&h), ["bad_tpdu"]);
    assert_eq!(balance(&c), 1_000_000);
}

fn settlement(stan: &str, batch: &str, f48: &str) -> Message {
    Message::new(Mti::parse("0500").unwrap())
        .with(11, stan)
        .with(41, TID)
        .with(42, MID)
        .with(48, f48)
        .with(49, "156")
        .with(60, format!("00{batch}201"))
        .with(63, "01 ")
}

#[test]
fn a_settled_batch_is_not_settled_again_and_a_0500_without_49_is_30() {
    let mut c = centre();
    let zeros = "0".repeat(62);
    let mut no49 = settlement("000002", "000001", &zeros);
    no49.remove(49);
    let h = send(&mut c, no49);
    assert_eq!(code(&h).as_deref(), Some("30"));
    assert_eq!(c.session(TID).unwrap().batch, "000001");
    let h = send(&mut c, settlement("000003", "000001", &zeros));
    assert!(code(&h).is_none(), "a settlement answer has no 39");
    assert_eq!(c.session(TID).unwrap().batch, "000002");
    let h = send(&mut c, settlement("000004", "000001", &zeros));
    assert_eq!(code(&h).as_deref(), Some("77"));
    assert!(events(&h).contains(&"settlement_refused".to_string()));
    assert_eq!(c.session(TID).unwrap().batch, "000002", "batch unchanged");
}

#[test]
fn the_reversal_of_a_refund_is_refused_and_the_books_stay() {
    let mut c = centre();
    send(
        &mut c,
        financial("0200", "000000", "22", "000002", "000000001000"),
    );
    let rrn = c.journal.entries()[0].rrn.clone();
    let refund = financial("0220", "200000", "25", "000003", "000000000500")
        .with(37, rrn)
        .with(61, "0000000000001123")
        .with(63, "CUP");
    assert_eq!(code(&send(&mut c, refund.clone())).as_deref(), Some("00"));
    let after_refund = balance(&c);
    let mut rev = refund;
    rev.mti = Mti::parse("0400").unwrap();
    rev.remove(37);
    let rev = rev.with(39, "98");
    let h = send(&mut c, rev);
    assert_eq!(code(&h).as_deref(), Some("12"));
    assert_eq!(balance(&c), after_refund);
    let (rmb, _) = c.journal.totals(TID, "000001");
    assert_eq!(
        (rmb.credit_amount, rmb.credit_count),
        (500, 1),
        "the refund still counts"
    );
}

#[test]
fn an_offline_0230_echoes_the_terminals_authorisation_code() {
    let mut c = centre();
    let off = financial("0220", "000000", "30", "000002", "000000000300")
        .with(38, "777001")
        .with(61, "00000000000000000000000000000")
        .with(63, "CUP");
    let h = send(&mut c, off);
    let reply = h.reply.expect("answered");
    let d = decode_frame(&cup_codec(), &reply, Framing::Bare).unwrap();
    assert_eq!(d.message.text(39), Some("00"));
    assert_eq!(d.message.text(38), Some("777001"));
}

#[test]
fn a_void_of_a_settled_batchs_purchase_is_25() {
    let mut c = centre();
    send(
        &mut c,
        financial("0200", "000000", "22", "000002", "000000001000"),
    );
    let rrn = c.journal.entries()[0].rrn.clone();
    let f48 = format!("{:012}{:03}{:012}{:03}0{}", 1000, 1, 0, 0, "0".repeat(31));
    send(&mut c, settlement("000003", "000001", &f48));
    assert_eq!(c.session(TID).unwrap().batch, "000002");
    let void = financial("0200", "200000", "23", "000004", "000000001000")
        .with(37, rrn)
        .with(60, "23000002")
        .with(61, "000001000002");
    let before = balance(&c);
    assert_eq!(code(&send(&mut c, void)).as_deref(), Some("25"));
    assert_eq!(balance(&c), before);
}

#[test]
fn a_tdk_encrypted_track_2_is_decrypted_before_the_pan_is_read() {
    let mut c = centre();
    let tdk = c
        .session(TID)
        .and_then(|s| s.keys.clone())
        .and_then(|k| k.tdk)
        .expect("60.3 = 004 issues a TDK");
    let track = posconf::crypto::track::encrypt_track(&tdk, "6225881234567890=25122011234567890")
        .expect("encrypts");
    let mut m = financial("0200", "000000", "22", "000002", "000000001000")
        .with(22, "022")
        .with(35, track)
        .with(53, "2610000000000000");
    m.remove(2);
    let h = send(&mut c, m);
    assert_eq!(code(&h).as_deref(), Some("00"), "{:?}", h.events);
    assert_eq!(c.journal.entries()[0].pan, PAN);
    assert_eq!(balance(&c), 1_000_000 - 1_000);
}
