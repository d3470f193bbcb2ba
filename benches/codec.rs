//! Codec and MAC throughput on a typical 0200 purchase (20 fields incl. 35, 36, 52, 53, 55,
//! 60, 64). The same message is timed with pyiso8583 by hil-rig/bench/pyiso8583_bench.py.
//!
//!   cargo bench --bench codec

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use posconf::crypto::{cup_ecb_mac, DesKey};
use posconf::iso8583::frame::{decode_frame, Framing};
use posconf::iso8583::{cup_codec, Message, Mti, Value};

/// The 20-field purchase shared with the pyiso8583 benchmark.
pub fn purchase() -> Message {
    let track3 = format!("99{}={}", "6225881234567890", "1".repeat(85));
    Message::new(Mti::parse("0200").expect("mti"))
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
        .with(52, Value::Binary(hex::decode("4AF9E141A5EE0E3B").expect("hex")))
        .with(53, "2600000000000000")
        .with(55, Value::Binary(hex::decode("9F2608A1B2C3D4E5F607189F2701809F101307010103A0A802010A010000000000ABCDEF019F3704DEADBEEF").expect("hex")))
        .with(60, "22000001000501")
        .with(63, "CUP")
        .with(64, Value::Binary(b"F576C053".to_vec()))
}

fn bench(c: &mut Criterion) {
    let codec = cup_codec();
    let msg = purchase();
    let body = codec.pack(&msg).expect("pack");
    let mut frame = Vec::with_capacity(body.len() + 13);
    frame.extend_from_slice(&((body.len() + 11) as u16).to_be_bytes());
    frame.extend_from_slice(&hex::decode("6000030000603100310000").expect("hex"));
    frame.extend_from_slice(&body);

    c.bench_function("pack 0200 (20 fields)", |b| b.iter(|| codec.pack(black_box(&msg))));
    c.bench_function("unpack 0200 (20 fields)", |b| b.iter(|| codec.unpack(black_box(&body))));
    c.bench_function("pack+unpack 0200 (20 fields)", |b| {
        b.iter(|| codec.unpack(&codec.pack(black_box(&msg)).expect("pack")))
    });
    c.bench_function("decode_frame tcp 0200 with spans", |b| {
        b.iter(|| decode_frame(&codec, black_box(&frame), Framing::Auto))
    });
    let mak = DesKey::from_hex("1A2B3C4D5E6F7A8B").expect("key");
    let mab = &body[..body.len() - 8];
    c.bench_function("CUP ECB MAC over the 0200 MAB", |b| b.iter(|| cup_ecb_mac(&mak, black_box(mab))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
