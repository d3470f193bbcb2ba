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

/// Result of [`host`]: N terminals doing purchases against the embedded centre.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HostBench {
    pub terminals: usize,
    /// Purchases per second per terminal; 0 = back to back.
    pub rate: f64,
    pub seconds: f64,
    /// Request/response exchanges completed (each is two messages on the wire).
    pub exchanges: u64,
    pub exchanges_per_s: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub errors: u64,
}

/// `terminals` concurrent terminals, each signed in, sending purchases (PIN block, MAC) over
/// loopback TCP for `duration`, with MAC/PIN verification, the journal and a file transcript
/// on. Client and host share this machine's cores, as on a bench rig.
/// `rate`: purchases per second per terminal (0 = back to back, a closed loop that measures the
/// maximum throughput; latency then includes queueing behind the other terminals).
pub fn host(
    terminals: usize,
    duration: std::time::Duration,
    rate: f64,
    transcript: &std::path::Path,
) -> Result<HostBench, String> {
    use crate::crypto::{decode_field62, encrypt_pin_block, DesKey, KeyLayout, MacAlgorithm};
    use crate::fixtures::Fixtures;
    use crate::host::behaviour::Behaviours;
    use crate::host::centre::{system_clock, system_random, Centre};
    use crate::iso8583::frame::{decode_frame, Framing, Header, Tpdu};
    use crate::iso8583::Frame;
    use crate::terminal::link::{HostLink, TcpLink};
    use crate::transcript::TranscriptWriter;

    let mut fixtures = Fixtures::builtin().map_err(|e| e.to_string())?;
    let template = fixtures
        .terminal("12345678")
        .cloned()
        .ok_or("built-in terminal 12345678 missing")?;
    for i in 0..terminals {
        let mut t = template.clone();
        t.tid = format!("{:08}", 50_000_000 + i);
        fixtures.terminals.push(t);
    }
    let kek = template.active_kek().map_err(|e| e.to_string())?;
    let writer =
        std::sync::Arc::new(TranscriptWriter::to_file(transcript).map_err(|e| e.to_string())?);
    let centre = Centre::new(
        crate::profile::Profile::default(),
        fixtures,
        Behaviours::default(),
        Box::new(system_clock),
        Box::new(system_random),
    )?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let handle = crate::host::server::start(
            "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
            centre,
            writer,
            Default::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
        let addr = handle.addr;
        let deadline = tokio::time::Instant::now() + duration;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..terminals {
            let kek: DesKey = kek.clone();
            tasks.spawn(async move {
                let codec = cup_codec();
                let tid = format!("{:08}", 50_000_000 + i);
                let mut link = TcpLink::new(addr, false);
                let wrap = |m: Message| {
                    Frame {
                        tpdu: Some(Tpdu([0x60, 0, 3, 0, 0])),
                        header: Some(Header([0x60, 0x31, 0, 0x31, 0, 0])),
                        message: m,
                    }
                    .payload(&codec)
                };
                let timeout = std::time::Duration::from_secs(5);
                let signin = Message::new(Mti::parse("0800").map_err(|e| e.to_string())?)
                    .with(11, "000001")
                    .with(41, tid.as_str())
                    .with(42, "898110048120001")
                    .with(60, "00000001004")
                    .with(63, "01 ");
                let reply = link
                    .exchange(&wrap(signin).map_err(|e| e.to_string())?, timeout)
                    .await
                    .map_err(|e| e.to_string())?;
                let d = decode_frame(&codec, &reply, Framing::Bare).map_err(|e| e.to_string())?;
                let batch = d
                    .message
                    .text(60)
                    .and_then(|s| s.get(2..8))
                    .unwrap_or("000001")
                    .to_string();
                let keys = decode_field62(
                    &kek,
                    d.message.bytes(62).unwrap_or_default(),
                    KeyLayout::DoubleTdk004,
                )
                .map_err(|e| e.to_string())?;
                let pan = "6225881234567890";
                let block =
                    encrypt_pin_block(&keys.pik, "123456", Some(pan)).map_err(|e| e.to_string())?;
                let mut lat = Vec::with_capacity(100_000);
                let mut errors = 0u64;
                let mut stan = 1u32;
                let period = (rate > 0.0).then(|| std::time::Duration::from_secs_f64(1.0 / rate));
                // Spread the terminals' first sends over one period so they do not fire in step.
                let mut next = tokio::time::Instant::now()
                    + period.map_or(std::time::Duration::ZERO, |p| {
                        p.mul_f64(i as f64 / terminals as f64)
                    });
                while tokio::time::Instant::now() < deadline {
                    if let Some(p) = period {
                        tokio::time::sleep_until(next).await;
                        next += p;
                    }
                    stan = stan % 999_999 + 1;
                    let mut m = Message::new(Mti::parse("0200").map_err(|e| e.to_string())?)
                        .with(3, "000000")
                        .with(4, "000000000001")
                        .with(11, format!("{stan:06}"))
                        .with(22, "021")
                        .with(25, "00")
                        .with(26, "12")
                        .with(35, "6225881234567890=25122011234567890")
                        .with(41, tid.as_str())
                        .with(42, "898110048120001")
                        .with(49, "156")
                        .with(52, Value::Binary(block.to_vec()))
                        .with(53, "2600000000000000")
                        .with(60, format!("22{batch}"))
                        .with(64, Value::Binary(vec![0; 8]));
                    let body = codec.pack(&m).map_err(|e| e.to_string())?;
                    let mac = MacAlgorithm::CupEcb
                        .compute(&keys.mak, &body[..body.len() - 8])
                        .map_err(|e| e.to_string())?;
                    m.set(64, Value::Binary(mac.to_vec()));
                    let payload = wrap(m).map_err(|e| e.to_string())?;
                    let t0 = Instant::now();
                    match link.exchange(&payload, timeout).await {
                        Ok(r) => {
                            lat.push(t0.elapsed().as_nanos() as u64);
                            let ok = decode_frame(&codec, &r, Framing::Bare)
                                .ok()
                                .and_then(|d| d.message.text(39).map(|c| c == "00"))
                                .unwrap_or(false);
                            if !ok {
                                errors += 1;
                            }
                        }
                        Err(_) => errors += 1,
                    }
                }
                Ok::<_, String>((lat, errors))
            });
        }
        let mut all = Vec::new();
        let mut errors = 0;
        while let Some(r) = tasks.join_next().await {
            let (lat, e) = r.map_err(|e| e.to_string())??;
            all.extend(lat);
            errors += e;
        }
        handle.shutdown().await;
        all.sort_unstable();
        let pct = |p: f64| {
            all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0) as f64
                / 1000.0
        };
        let secs = duration.as_secs_f64();
        Ok(HostBench {
            terminals,
            rate,
            seconds: secs,
            exchanges: all.len() as u64,
            exchanges_per_s: all.len() as f64 / secs,
            p50_us: pct(0.50),
            p90_us: pct(0.90),
            p99_us: pct(0.99),
            max_us: all.last().copied().unwrap_or(0) as f64 / 1000.0,
            errors,
        })
    })
}
