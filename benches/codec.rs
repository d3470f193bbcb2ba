//! Codec and MAC throughput on a typical 0200 purchase (20 fields incl. 35, 36, 52, 53, 55,
//! 60, 64). The same message is timed with pyiso8583 by hil-rig/bench/pyiso8583_bench.py.
//!
//!   cargo bench --bench codec

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use posconf::bench::sample_purchase as purchase;
use posconf::crypto::{cup_ecb_mac, DesKey};
use posconf::iso8583::cup_codec;
use posconf::iso8583::frame::{decode_frame, Framing};

fn bench(c: &mut Criterion) {
    let codec = cup_codec();
    let msg = purchase();
    let body = codec.pack(&msg).expect("pack");
    let mut frame = Vec::with_capacity(body.len() + 13);
    frame.extend_from_slice(&((body.len() + 11) as u16).to_be_bytes());
    frame.extend_from_slice(&hex::decode("6000030000603100310000").expect("hex"));
    frame.extend_from_slice(&body);

    c.bench_function("pack 0200 (20 fields)", |b| {
        b.iter(|| codec.pack(black_box(&msg)))
    });
    c.bench_function("unpack 0200 (20 fields)", |b| {
        b.iter(|| codec.unpack(black_box(&body)))
    });
    c.bench_function("pack+unpack 0200 (20 fields)", |b| {
        b.iter(|| codec.unpack(&codec.pack(black_box(&msg)).expect("pack")))
    });
    c.bench_function("decode_frame tcp 0200 with spans", |b| {
        b.iter(|| decode_frame(&codec, black_box(&frame), Framing::Auto))
    });
    let mak = DesKey::from_hex("1A2B3C4D5E6F7A8B").expect("key");
    let mab = &body[..body.len() - 8];
    c.bench_function("CUP ECB MAC over the 0200 MAB", |b| {
        b.iter(|| cup_ecb_mac(&mak, black_box(mab)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
