//! Property tests: every valid message round-trips exactly, and no input makes the decoder panic.

use posconf::iso8583::frame::{decode_frame, Frame, Framing, Header, Tpdu};
use posconf::iso8583::spec::{FieldSpec, FieldType, LenKind};
use posconf::iso8583::{cup_codec, Message, Mti, Value, CUP_DIRECT};
use proptest::prelude::*;

fn text_strategy(spec: &FieldSpec) -> BoxedStrategy<String> {
    let max = spec.max_len as usize;
    let len = match spec.len_kind {
        LenKind::Fixed => max..=max,
        _ => 0..=max.min(64),
    };
    let chars: &'static [u8] = match spec.ftype {
        FieldType::N => b"0123456789",
        FieldType::Z => b"0123456789=ABCEF",
        // Printable ASCII; fixed text keeps trailing spaces as part of the value.
        _ => b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
    };
    proptest::collection::vec(proptest::sample::select(chars), len)
        .prop_map(|v| v.into_iter().map(char::from).collect())
        .boxed()
}

fn value_strategy(spec: &'static FieldSpec) -> BoxedStrategy<Value> {
    match spec.ftype {
        FieldType::B => {
            let max = spec.max_len as usize;
            let len = if spec.len_kind == LenKind::Fixed {
                max..=max
            } else {
                0..=max.min(80)
            };
            proptest::collection::vec(any::<u8>(), len)
                .prop_map(Value::Binary)
                .boxed()
        }
        _ => text_strategy(spec).prop_map(Value::from).boxed(),
    }
}

fn message_strategy() -> impl Strategy<Value = Message> {
    let fields: Vec<_> = (2..=64u8)
        .map(|n| {
            let spec: &'static FieldSpec = CUP_DIRECT.field(n).expect("declared");
            proptest::option::weighted(0.3, value_strategy(spec)).prop_map(move |v| (n, v))
        })
        .collect();
    ("[0-9]{4}", fields).prop_map(|(mti, fields)| {
        let mut m = Message::new(Mti::parse(&mti).expect("4 digits"));
        for (n, v) in fields {
            if let Some(v) = v {
                m.set(n, v);
            }
        }
        m
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn pack_unpack_round_trips(m in message_strategy()) {
        let codec = cup_codec();
        let bytes = codec.pack(&m).expect("generated values are valid");
        let back = codec.unpack(&bytes).expect("packed bytes decode");
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(codec.pack(&back).expect("repack"), bytes);
    }

    #[test]
    fn frames_round_trip_in_every_framing(m in message_strategy(), serial in any::<bool>()) {
        let codec = cup_codec();
        let frame = Frame {
            tpdu: Some(Tpdu([0x60, 0x00, 0x03, 0x00, 0x00])),
            header: Some(Header([0x60, 0x31, 0x00, 0x31, 0x00, 0x00])),
            message: m,
        };
        let framing = if serial { Framing::Serial } else { Framing::Tcp };
        let bytes = frame.pack(&codec, framing).expect("pack");
        let d = decode_frame(&codec, &bytes, Framing::Auto).expect("decode");
        prop_assert_eq!(d.framing, framing);
        prop_assert_eq!(d.message, frame.message);
    }

    #[test]
    fn unpack_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let codec = cup_codec();
        let _ = codec.unpack(&bytes);
        let _ = decode_frame(&codec, &bytes, Framing::Auto);
        let _ = decode_frame(&codec, &bytes, Framing::Serial);
        let _ = posconf::inspect::inspect(&codec, &bytes, &posconf::inspect::InspectOptions::default());
    }

    #[test]
    fn corrupted_valid_frames_never_panic(m in message_strategy(), pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let codec = cup_codec();
        let mut bytes = codec.pack(&m).expect("pack");
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        let _ = codec.unpack(&bytes);
        let end = cut.index(bytes.len() + 1);
        if let Err(e) = codec.unpack(&bytes[..end]) {
            // Every error is located inside the input.
            prop_assert!(e.error.offset <= end, "offset {} beyond input {}", e.error.offset, end);
            prop_assert!(!e.error.path.is_empty());
        }
    }
}

/// The recorded conformant frames of `fixtures/frames` (sign-in and keys, purchase, response,
/// refund, reversal, settlement and its response, batch upload, the public body-only packet).
fn recorded_frames() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/frames");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures/frames")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "hex"))
        .collect();
    v.sort();
    v.iter()
        .map(|p| {
            let h: String = std::fs::read_to_string(p)
                .expect("hex")
                .split_whitespace()
                .collect();
            hex::decode(h).expect("fixture hex")
        })
        .collect()
}

/// decode → JSON → encode, as `posconf decode --reveal --format json | posconf encode` does;
/// `None` when the input does not decode (the error must then name a place).
fn json_round_trip(bytes: &[u8]) -> Option<Result<Vec<u8>, String>> {
    let codec = cup_codec();
    let opts = posconf::inspect::InspectOptions {
        reveal: true,
        ..Default::default()
    };
    let view = posconf::inspect::inspect(&codec, bytes, &opts);
    if let Some(e) = &view.error {
        assert!(!e.path.is_empty(), "an error names its place");
        return None;
    }
    let doc = posconf::inspect::to_json(&view);
    let text = serde_json::to_string(&doc).expect("json");
    let yaml: serde_yaml::Value = posconf::yaml::from_str(&text, "decoded").expect("yaml");
    let framing = posconf::craft::framing_of(&yaml).unwrap_or(Framing::Tcp);
    Some(
        posconf::craft::parse(&yaml, &codec)
            .and_then(|c| posconf::craft::build(&c, &codec, None, framing))
            .map_err(|e| e.to_string()),
    )
}

#[test]
fn every_recorded_frame_round_trips_through_json() {
    for f in recorded_frames() {
        let back = json_round_trip(&f).expect("a recorded frame decodes");
        assert_eq!(back.as_deref(), Ok(&f[..]), "{}", hex::encode_upper(&f));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// A single-byte mutation of a recorded frame either fails to decode (naming the place) or
    /// re-encodes byte for byte; nothing panics.
    #[test]
    fn mutated_recorded_frames_re_encode_or_fail_to_decode(
        which in any::<prop::sample::Index>(),
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let frames = recorded_frames();
        let mut f = frames[which.index(frames.len())].clone();
        let i = pos.index(f.len());
        f[i] = byte;
        if let Some(back) = json_round_trip(&f) {
            prop_assert_eq!(back.map(hex::encode_upper), Ok(hex::encode_upper(&f)));
        }
    }
}
