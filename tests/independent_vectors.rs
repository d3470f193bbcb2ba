//! Vectors computed outside posconf (pycryptodome, pyiso8583) by hil-rig/vectors/gen_vectors.py.
//! Each case must match exactly; a mismatch names the case.

use posconf::crypto::pboc::{
    load_mac1, load_mac2, load_tac, pboc_mac, seslk, tac_key, LoadMacInput,
};
use posconf::crypto::track::{decrypt_track, encrypt_track};
use posconf::crypto::{
    check_value, cup_ecb_mac, decode_field62, encode_field62, encrypt_pin_block, x9_19_mac,
    x9_9_mac, DesKey, KeyLayout, WorkingKeys,
};
use posconf::iso8583::frame::{decode_frame, Framing};
use posconf::iso8583::{cup_codec, Frame, Header, Message, Mti, Tpdu, Value, CUP_DIRECT};
use serde_json::Value as Json;

fn doc() -> Json {
    serde_json::from_str(include_str!("vectors/independent.json")).expect("vectors parse")
}

fn s<'a>(c: &'a Json, k: &str) -> &'a str {
    c[k].as_str()
        .unwrap_or_else(|| panic!("{k} missing in {c}"))
}

fn key(c: &Json, k: &str) -> DesKey {
    DesKey::from_hex(s(c, k)).expect("key")
}

fn bytes(c: &Json, k: &str) -> Vec<u8> {
    hex::decode(s(c, k)).expect("hex")
}

fn arr<const N: usize>(c: &Json, k: &str) -> [u8; N] {
    bytes(c, k).try_into().expect("length")
}

#[test]
fn crypto_cases_match_pycryptodome() {
    let d = doc();
    let cases = d["crypto"].as_array().expect("crypto cases");
    assert!(cases.len() >= 300);
    let mut seen = std::collections::BTreeMap::new();
    for (i, c) in cases.iter().enumerate() {
        let f = s(c, "fn");
        *seen.entry(f.to_string()).or_insert(0) += 1;
        let got = match f {
            "kcv" => hex::encode_upper(check_value(&key(c, "key"))),
            "cup_ecb_mac" => hex::encode_upper(cup_ecb_mac(&key(c, "key"), &bytes(c, "data"))),
            "x9_9" => hex::encode_upper(x9_9_mac(&key(c, "key"), &bytes(c, "data"))),
            "x9_19" => hex::encode_upper(
                x9_19_mac(&key(c, "key"), &bytes(c, "data")).expect("16-byte key"),
            ),
            "pin_block" => hex::encode_upper(
                encrypt_pin_block(&key(c, "key"), s(c, "pin"), c["pan"].as_str())
                    .expect("pin block"),
            ),
            "field62" => {
                let layout = KeyLayout::from_code(s(c, "layout")).expect("layout");
                let keys = WorkingKeys {
                    pik: key(c, "pik"),
                    mak: key(c, "mak"),
                    tdk: c["tdk"].as_str().map(|t| DesKey::from_hex(t).expect("tdk")),
                };
                let out = encode_field62(&key(c, "kek"), &keys, layout).expect("encode");
                assert_eq!(
                    decode_field62(&key(c, "kek"), &out, layout).expect("decode"),
                    keys,
                    "case {i}"
                );
                hex::encode_upper(out)
            }
            "track" => {
                let e = encrypt_track(&key(c, "key"), s(c, "track")).expect("track");
                assert_eq!(
                    decrypt_track(&key(c, "key"), &e).expect("decrypt"),
                    s(c, "track"),
                    "case {i}"
                );
                e
            }
            "pboc_mac" => {
                hex::encode_upper(pboc_mac(&key(c, "key"), arr(c, "iv"), &bytes(c, "data")))
            }
            "diversify" => posconf::crypto::pboc::diversify(&key(c, "key"), arr(c, "factor"))
                .expect("diversify")
                .hex(),
            "seslk" => seslk(&key(c, "key"), arr(c, "random"), arr(c, "ctr"))
                .expect("seslk")
                .hex(),
            "load" => {
                let ses = key(c, "seslk");
                let ctr: [u8; 2] = arr(c, "ctr");
                let amount = c["amount"].as_u64().expect("amount") as u32;
                let old = c["old_balance"].as_u64().expect("old") as u32;
                let input = LoadMacInput {
                    old_balance: old,
                    amount,
                    txn_type: c["type"].as_u64().expect("type") as u8,
                    terminal_id: arr(c, "terminal"),
                    host_date: arr(c, "date"),
                    host_time: arr(c, "time"),
                    online_ctr: u16::from_be_bytes(ctr),
                    new_balance: old + amount,
                };
                assert_eq!(
                    hex::encode_upper(load_mac1(&ses, &input)),
                    s(c, "mac1"),
                    "case {i} MAC1"
                );
                assert_eq!(
                    hex::encode_upper(load_mac2(&ses, &input)),
                    s(c, "mac2"),
                    "case {i} MAC2"
                );
                hex::encode_upper(load_tac(&tac_key(&key(c, "dtk")).expect("dtk"), &input))
            }
            other => panic!("case {i}: unknown fn {other}"),
        };
        let want = if f == "load" {
            s(c, "tac")
        } else {
            s(c, "out")
        };
        assert_eq!(got, want, "case {i} ({f}): {c}");
    }
    for f in [
        "kcv",
        "cup_ecb_mac",
        "x9_9",
        "x9_19",
        "pin_block",
        "field62",
        "track",
        "pboc_mac",
        "diversify",
        "seslk",
        "load",
    ] {
        assert!(
            seen.get(f).copied().unwrap_or(0) >= 10,
            "{f}: too few cases {seen:?}"
        );
    }
}

#[test]
fn frames_packed_by_pyiso8583_decode_and_repack_identically() {
    let d = doc();
    check_frames(d["frames"].as_array().expect("frames"));
}

/// The second, stricter set (hil-rig/vectors/pyiso8583_frames.py: odd and even lengths of every
/// variable field, cross-checked against a second packer in Python).
#[test]
fn the_pyiso8583_frames_set_decodes_and_repacks_identically() {
    let d: Json =
        serde_json::from_str(include_str!("vectors/pyiso8583_frames.json")).expect("parse");
    check_frames(d.as_array().expect("a list of frames"));
}

fn check_frames(frames: &[Json]) {
    assert!(frames.len() >= 60);
    let codec = cup_codec();
    for c in frames {
        let name = s(c, "name");
        let bytes = bytes(c, "frame_hex");
        let decoded =
            decode_frame(&codec, &bytes, Framing::Auto).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded.framing, Framing::Tcp, "{name}");
        let fields = c["fields"].as_object().expect("fields");
        assert_eq!(
            decoded.message.field_numbers().count(),
            fields.len(),
            "{name}: field count"
        );
        let mut built = Message::new(Mti::parse(s(c, "mti")).expect("mti"));
        for (k, v) in fields {
            let n: u8 = k.parse().expect("field number");
            let v = v.as_str().expect("string value");
            let got = decoded
                .message
                .get(n)
                .unwrap_or_else(|| panic!("{name}: field {n} missing"));
            assert_eq!(got.display(), v, "{name}: field {n}");
            let spec = CUP_DIRECT.field(n).expect("declared");
            built.set(
                n,
                if spec.ftype == posconf::iso8583::spec::FieldType::B {
                    Value::Binary(hex::decode(v).expect("hex"))
                } else {
                    Value::from(v)
                },
            );
        }
        let f = Frame {
            tpdu: Some(Tpdu::from_hex("6000030000").expect("tpdu")),
            header: Some(Header::from_hex("603100310000").expect("header")),
            message: built,
        };
        assert_eq!(
            hex::encode_upper(f.pack(&codec, Framing::Tcp).expect("pack")),
            s(c, "frame_hex"),
            "{name}: posconf packs what pyiso8583 packed"
        );
    }
}
