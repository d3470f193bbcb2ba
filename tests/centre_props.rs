//! Whatever a terminal sends that decodes, the centre answers without panicking: generated
//! messages with realistic MTIs, 60.1/60.3 codes, TIDs and card numbers go through
//! `Centre::handle` directly (no socket), before and after a real sign-in.

use posconf::fixtures::Fixtures;
use posconf::host::behaviour::Behaviours;
use posconf::host::centre::Centre;
use posconf::iso8583::frame::{decode_frame, Frame, Framing, Header, Tpdu};
use posconf::iso8583::{cup_codec, Message, Mti, Value};
use posconf::profile::Profile;
use proptest::prelude::*;

fn centre() -> Centre {
    Centre::new(
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
    .expect("centre")
}

fn digits(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(b"0123456789".as_slice()), n)
        .prop_map(|v| v.into_iter().map(char::from).collect())
}

fn message() -> impl Strategy<Value = Message> {
    let mti = proptest::sample::select(vec![
        "0100", "0200", "0220", "0320", "0400", "0500", "0800", "0820", "0210", "0900",
    ]);
    let f601 = proptest::sample::select(vec![
        "00", "01", "10", "11", "20", "21", "22", "23", "24", "25", "30", "32", "34", "99",
    ]);
    let f603 = proptest::sample::select(vec![
        "000", "001", "002", "003", "004", "201", "202", "203", "207", "301", "360", "362", "999",
    ]);
    let tid = proptest::sample::select(vec!["12345678", "87654321", "99999999"]);
    let pan = proptest::sample::select(vec![
        "6225881234567890",
        "6228481234567894",
        "4111111111111111",
        "1234567890123",
    ]);
    (
        mti,
        f601,
        f603,
        tid,
        pan,
        digits(6),
        digits(12),
        digits(12),
        proptest::option::of(digits(62)),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 8)),
        any::<bool>(),
    )
        .prop_map(
            |(mti, f601, f603, tid, pan, stan, amount, rrn, f48, block, with_61)| {
                let mut m = Message::new(Mti::parse(mti).expect("mti"))
                    .with(2, pan)
                    .with(3, "000000")
                    .with(4, amount)
                    .with(11, stan)
                    .with(22, "021")
                    .with(25, "00")
                    .with(37, rrn)
                    .with(41, tid)
                    .with(42, "898110048120001")
                    .with(49, "156")
                    .with(60, format!("{f601}000001{f603}"));
                if let Some(f) = f48 {
                    m.set(48, f);
                }
                if let Some(b) = block {
                    m.set(52, Value::Binary(b.clone()));
                    m.set(53, "2600000000000000");
                    m.set(64, Value::Binary(b));
                }
                if with_61 {
                    m.set(61, "0000010000011123");
                }
                m
            },
        )
}

fn send(c: &mut Centre, m: Message) {
    let f = Frame {
        tpdu: Some(Tpdu([0x60, 0, 3, 0, 0])),
        header: Some(Header([0x60, 0x31, 0, 0x31, 0, 0])),
        message: m,
    };
    let payload = f.payload(&cup_codec()).expect("pack");
    let d = decode_frame(&cup_codec(), &payload, Framing::Bare).expect("decodes");
    let handled = c.handle(&d, &payload);
    if let Some(reply) = handled.reply {
        decode_frame(&cup_codec(), &reply, Framing::Bare).expect("the centre's answer decodes");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn the_centre_answers_anything_that_decodes(msgs in proptest::collection::vec(message(), 1..12)) {
        let mut c = centre();
        // A real sign-in first, so MAC and PIN paths run too (with wrong MACs and PIN blocks).
        send(&mut c, Message::new(Mti::parse("0800").expect("mti")).with(11, "000001").with(41, "12345678").with(42, "898110048120001").with(60, "00000001004"));
        for m in msgs {
            send(&mut c, m);
        }
    }
}
