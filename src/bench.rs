//! `posconf bench`: repeatable timing of the hot paths on this machine, without criterion, so a
//! lab can run it on its own rig (and under `valgrind --tool=callgrind` for instruction counts).

use std::time::Instant;

use crate::iso8583::{cup_codec, Message, Mti, Value};

/// The 20-field 0200 purchase timed by `benches/codec.rs`, this module and
/// `hil-rig/bench/pyiso8583_bench.py` (swipe + IC data, PIN, track 2 and 3, 55, 60, 63, 64).
pub fn sample_purchase() -> Message {
    let track3 = format!("99{}={}", "6225881234567890", "1".repeat(85));
    Message::new(Mti::parse("0200").unwrap_or_else(|_| unreachable_mti()))
        .with(2, "6225881234567890")
        .with(3, "000000")
        .with(4, "000000000100")
        .with(11, "000002")
        .with(14, "2512")
        .with(22, "051")
        .with(23, "001")
        .with(25, "00")
        .with(26, "12")
        .with(35, "6225881234567890=2512201123456789")
        .with(36, track3.as_str())
        .with(41, "12345678")
        .with(42, "898110048120001")
        .with(49, "156")
        .with(
            52,
            Value::Binary(vec![0x4A, 0xF9, 0xE1, 0x41, 0xA5, 0xEE, 0x0E, 0x3B]),
        )
        .with(53, "2600000000000000")
        .with(55, Value::Binary(SAMPLE_ICC.to_vec()))
        .with(60, "22000001000501")
        .with(63, "CUP")
        .with(64, Value::Binary(b"F576C053".to_vec()))
}

fn unreachable_mti() -> Mti {
    // "0200" always parses; keep a total function without unwrap.
    Mti::parse("0000").unwrap_or_else(|_| unreachable_mti())
}

const SAMPLE_ICC: &[u8] = &[
    0x9F, 0x26, 0x08, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18, 0x9F, 0x27, 0x01, 0x80, 0x9F,
    0x10, 0x13, 0x07, 0x01, 0x01, 0x03, 0xA0, 0xA8, 0x02, 0x01, 0x0A, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xAB, 0xCD, 0xEF, 0x01, 0x9F, 0x37, 0x04, 0xDE, 0xAD, 0xBE, 0xEF,
];

/// One timing line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Timing {
    pub name: String,
    pub iterations: u64,
    pub ns_per_op: f64,
}

fn time<F: FnMut()>(name: &str, iterations: u64, mut f: F) -> Timing {
    for _ in 0..iterations.min(10_000) {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let ns = start.elapsed().as_nanos() as f64 / iterations as f64;
    Timing {
        name: name.to_string(),
        iterations,
        ns_per_op: ns,
    }
}

/// Pack, unpack and pack+unpack of [`sample_purchase`].
pub fn codec(iterations: u64) -> Vec<Timing> {
    let codec = cup_codec();
    let msg = sample_purchase();
    let Ok(body) = codec.pack(&msg) else {
        return Vec::new();
    };
    vec![
        time("pack 0200 (20 fields)", iterations, || {
            std::hint::black_box(codec.pack(std::hint::black_box(&msg)).ok());
        }),
        time("unpack 0200 (20 fields)", iterations, || {
            std::hint::black_box(codec.unpack(std::hint::black_box(&body)).ok());
        }),
        time("pack+unpack 0200 (20 fields)", iterations, || {
            let b = codec.pack(std::hint::black_box(&msg)).unwrap_or_default();
            std::hint::black_box(codec.unpack(&b).ok());
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_the_documented_twenty_field_purchase() {
        let m = sample_purchase();
        assert_eq!(m.field_numbers().count(), 20);
        let body = cup_codec().pack(&m).expect("packs");
        assert_eq!(cup_codec().unpack(&body).expect("unpacks"), m);
        // The body hil-rig/bench/pyiso8583_bench.py packs with pyiso8583: the same message.
        assert_eq!(
            hex::encode_upper(&body),
            "0200702406C030C09A131662258812345678900000000000000001000000022512051000010012336225881234567890D251220112345678900104996225881234567890D111111111111111111111111111111111111111111111111111111111111111111111111111111111111131323334353637383839383131303034383132303030313135364AF9E141A5EE0E3B260000000000000000449F2608A1B2C3D4E5F607189F2701809F101307010103A0A802010A010000000000ABCDEF019F3704DEADBEEF00142200000100050100034355504635373643303533"
        );
        let t = codec(10);
        assert_eq!(t.len(), 3);
        assert!(t.iter().all(|x| x.ns_per_op > 0.0));
    }
}
