//! The embedded centre over real loopback TCP: sign-in keys, MAC and PIN verification,
//! decisions from the journal, reversal, settlement, batch upload, behaviours, and bad input.

mod common;

use common::test_host;
use std::time::{Duration, Instant};

use posconf::crypto::pin_block::encrypt_pin_block;
use posconf::crypto::{decode_field62, DesKey, KeyLayout, MacAlgorithm, WorkingKeys};
use posconf::host::behaviour::{Action, Behaviour, Behaviours, Matcher};
use posconf::host::server::HostHandle;
use posconf::iso8583::frame::{decode_frame, Framing};
use posconf::iso8583::{cup_codec, Frame, Header, Message, Mti, Value};
use posconf::terminal::link::{HostLink, LinkError, TcpLink};
use posconf::transcript::RecordKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TID: &str = "12345678";
const MID: &str = "898110048120001";
const KEK: &str = "11111111111111112222222222222222";
const GOOD_PAN: &str = "6225881234567890";
const GOOD_TRACK2: &str = "6225881234567890=25122011234567890";

async fn host(behaviours: Behaviours) -> HostHandle {
    test_host(
        behaviours,
        "103000",
        Duration::from_millis(800),
        0x9E37_79B9_7F4A_7C15,
    )
    .await
}

/// A minimal terminal for driving the centre: trace, batch, keys.
struct T {
    link: TcpLink,
    stan: u32,
    batch: String,
    keys: Option<WorkingKeys>,
    timeout: Duration,
}

impl T {
    fn new(h: &HostHandle) -> T {
        T {
            link: TcpLink::new(h.addr, false),
            stan: 0,
            batch: "000001".into(),
            keys: None,
            timeout: Duration::from_secs(2),
        }
    }

    fn next_stan(&mut self) -> String {
        self.stan += 1;
        format!("{:06}", self.stan)
    }

    async fn send(&mut self, msg: Message) -> Result<Message, LinkError> {
        let codec = cup_codec();
        let mut msg = msg;
        if let Some(keys) = self.keys.as_ref().filter(|_| msg.has(64)) {
            msg.set(64, Value::Binary(vec![0; 8]));
            let body = codec.pack(&msg).expect("pack");
            let mac = MacAlgorithm::CupEcb
                .compute(&keys.mak, &body[..body.len() - 8])
                .expect("mac");
            msg.set(64, Value::Binary(mac.to_vec()));
        }
        let frame = Frame {
            tpdu: Some(posconf::iso8583::Tpdu([0x60, 0, 3, 0, 0])),
            header: Some(Header([0x60, 0x31, 0, 0x31, 0, 0])),
            message: msg,
        };
        let payload = frame.payload(&codec).expect("payload");
        let reply = self.link.exchange(&payload, self.timeout).await?;
        let d = decode_frame(&codec, &reply, Framing::Bare).expect("reply decodes");
        assert_eq!(
            d.tpdu.map(|t| t.to_string()).as_deref(),
            Some("6000000003"),
            "TPDU swapped"
        );
        if let (Some(keys), Some(found), Some(mab)) =
            (&self.keys, d.message.bytes(64), d.mab(&reply))
        {
            if d.message.text(39) == Some("00") {
                let want = MacAlgorithm::CupEcb.compute(&keys.mak, mab).expect("mac");
                assert_eq!(found, want.as_slice(), "response MAC verifies");
            }
        }
        Ok(d.message)
    }

    async fn sign_in(&mut self) -> Message {
        let stan = self.next_stan();
        let m = Message::new(Mti::parse("0800").unwrap())
            .with(11, stan)
            .with(41, TID)
            .with(42, MID)
            .with(60, "00000000004")
            .with(63, "01 ");
        let r = self.send(m).await.expect("sign-in answered");
        assert_eq!(r.text(39), Some("00"));
        let f60 = r.text(60).expect("60");
        self.batch = f60[2..8].to_string();
        let keys = decode_field62(
            &DesKey::from_hex(KEK).unwrap(),
            r.bytes(62).expect("62"),
            KeyLayout::DoubleTdk004,
        )
        .expect("keys decrypt, check values verify");
        self.keys = Some(keys);
        r
    }

    #[allow(clippy::too_many_arguments)]
    fn financial(
        &mut self,
        mti: &str,
        proc: &str,
        type601: &str,
        amount: u64,
        pan: &str,
        track2: &str,
        pin: Option<&str>,
    ) -> Message {
        let stan = self.next_stan();
        let mut m = Message::new(Mti::parse(mti).unwrap())
            .with(3, proc)
            .with(4, format!("{amount:012}"))
            .with(11, stan)
            .with(22, if pin.is_some() { "021" } else { "022" })
            .with(25, "00")
            .with(35, track2)
            .with(41, TID)
            .with(42, MID)
            .with(49, "156")
            .with(60, format!("{type601}{}", self.batch))
            .with(64, Value::Binary(vec![0; 8]));
        if let Some(pin) = pin {
            let pik = &self.keys.as_ref().expect("signed in").pik;
            m.set(26, "12");
            m.set(
                52,
                Value::Binary(
                    encrypt_pin_block(pik, pin, Some(pan))
                        .expect("pin")
                        .to_vec(),
                ),
            );
            m.set(53, "2600000000000000");
        }
        m
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_purchase_inquiry_void_settle() {
    let h = host(Behaviours::default()).await;
    let mut t = T::new(&h);
    let r = t.sign_in().await;
    assert_eq!(r.text(12), Some("103000"));
    assert_eq!(r.text(13), Some("1123"));

    let p = t.financial(
        "0200",
        "000000",
        "22",
        10_000,
        GOOD_PAN,
        GOOD_TRACK2,
        Some("123456"),
    );
    let purchase_stan = p.text(11).unwrap().to_string();
    let r = t.send(p).await.unwrap();
    assert_eq!(r.text(39), Some("00"));
    assert_eq!(r.text(2), None, "magstripe request without 2: none echoed");
    let rrn = r.text(37).expect("RRN").to_string();
    assert!(r.text(38).is_some(), "auth code");
    assert!(r.text(63).is_some_and(|x| x.starts_with("CUP")));

    let q = t.financial(
        "0200",
        "310000",
        "01",
        0,
        GOOD_PAN,
        GOOD_TRACK2,
        Some("123456"),
    );
    let r = t.send(q).await.unwrap();
    assert_eq!(r.text(39), Some("00"));
    assert_eq!(
        r.text(54),
        Some("1002156C000000990000"),
        "balance after the purchase"
    );

    let mut v = t.financial(
        "0200",
        "200000",
        "23",
        10_000,
        GOOD_PAN,
        GOOD_TRACK2,
        Some("123456"),
    );
    v.set(37, rrn);
    v.set(61, format!("{}{purchase_stan}", t.batch));
    assert_eq!(t.send(v).await.unwrap().text(39), Some("00"));

    // One purchase of 100.00 (debit) and its void (credit) in the RMB block.
    let stan = t.next_stan();
    let totals = format!(
        "{:012}{:03}{:012}{:03}0{}",
        10_000,
        1,
        10_000,
        1,
        "0".repeat(31)
    );
    let s = Message::new(Mti::parse("0500").unwrap())
        .with(11, stan)
        .with(41, TID)
        .with(42, MID)
        .with(48, totals)
        .with(49, "156")
        .with(60, format!("00{}201", t.batch))
        .with(63, "01 ");
    let r = t.send(s).await.unwrap();
    assert_eq!(r.mti.as_str(), "0510");
    assert_eq!(r.text(39), None, "0510 carries no field 39");
    let f48 = r.text(48).unwrap();
    assert_eq!(
        (&f48[30..31], &f48[61..62]),
        ("1", "1"),
        "both blocks balanced"
    );

    // The centre moved to the next batch: the old batch is refused with 77.
    let late = t.financial(
        "0200",
        "000000",
        "22",
        100,
        GOOD_PAN,
        GOOD_TRACK2,
        Some("123456"),
    );
    assert_eq!(t.send(late).await.unwrap().text(39), Some("77"));
    let records = h.transcript.records();
    assert!(records.iter().any(|r| r
        .event
        .as_ref()
        .is_some_and(|e| e["event"] == "keys_issued")));
    assert!(
        records
            .iter()
            .filter(|r| r.kind == RecordKind::Frame)
            .count()
            >= 12
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declines_come_from_cards_pins_macs_and_sessions() {
    let h = host(Behaviours::default()).await;
    let mut t = T::new(&h);
    // Not signed in: no keys, so the MAC cannot be checked.
    let early = t.financial("0200", "000000", "22", 100, GOOD_PAN, GOOD_TRACK2, None);
    assert_eq!(t.send(early).await.unwrap().text(39), Some("A0"));
    t.sign_in().await;
    let wrong_pin = t.financial(
        "0200",
        "000000",
        "22",
        100,
        GOOD_PAN,
        GOOD_TRACK2,
        Some("654321"),
    );
    assert_eq!(t.send(wrong_pin).await.unwrap().text(39), Some("55"));
    let lost = t.financial(
        "0200",
        "000000",
        "22",
        100,
        "6228481234567894",
        "6228481234567894=28122011000000000",
        Some("123456"),
    );
    assert_eq!(t.send(lost).await.unwrap().text(39), Some("41"));
    let poor = t.financial(
        "0200",
        "000000",
        "22",
        100_000,
        "6222021234567894",
        "6222021234567894=28122011000000000",
        Some("111111"),
    );
    assert_eq!(t.send(poor).await.unwrap().text(39), Some("51"));
    // A MAC computed with another key.
    let real = t.keys.clone();
    t.keys = Some(WorkingKeys {
        mak: DesKey::from_hex("0101010101010101").unwrap(),
        ..real.clone().unwrap()
    });
    let forged = t.financial("0200", "000000", "22", 100, GOOD_PAN, GOOD_TRACK2, None);
    assert_eq!(t.send(forged).await.unwrap().text(39), Some("A0"));
    t.keys = real;
    // Unknown terminal.
    let mut stranger = t.financial("0200", "000000", "22", 100, GOOD_PAN, GOOD_TRACK2, None);
    stranger.set(41, "99999999");
    assert_eq!(t.send(stranger).await.unwrap().text(39), Some("97"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reversal_undoes_exactly_once() {
    let h = host(Behaviours::default()).await;
    let mut t = T::new(&h);
    t.sign_in().await;
    let p = t.financial(
        "0200",
        "000000",
        "22",
        2_500,
        GOOD_PAN,
        GOOD_TRACK2,
        Some("123456"),
    );
    let stan = p.text(11).unwrap().to_string();
    assert_eq!(t.send(p).await.unwrap().text(39), Some("00"));
    let rev = || {
        Message::new(Mti::parse("0400").unwrap())
            .with(3, "000000")
            .with(4, "000000002500")
            .with(11, stan.clone())
            .with(22, "021")
            .with(25, "00")
            .with(39, "98")
            .with(41, TID)
            .with(42, MID)
            .with(49, "156")
            .with(60, "22000001")
            .with(64, Value::Binary(vec![0; 8]))
    };
    let r = t.send(rev()).await.unwrap();
    assert_eq!(r.mti.as_str(), "0410");
    assert_eq!(r.text(39), Some("00"));
    assert_eq!(
        t.send(rev()).await.unwrap().text(39),
        Some("12"),
        "second reversal does nothing"
    );
    let balance = h
        .centre
        .lock()
        .unwrap()
        .journal
        .account(GOOD_PAN)
        .unwrap()
        .balance;
    assert_eq!(balance, 1_000_000);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviours_force_codes_delay_silence_and_drop() {
    let mut b = Behaviours::default();
    b.push(
        Behaviour::new(
            Matcher {
                txn: Some("purchase".into()),
                ..Default::default()
            },
            vec![Action::Respond { code: "51".into() }],
        )
        .times(1),
    );
    b.push(
        Behaviour::new(
            Matcher {
                txn: Some("purchase".into()),
                ..Default::default()
            },
            vec![Action::Delay { ms: 300 }],
        )
        .from_nth(2)
        .times(1),
    );
    b.push(
        Behaviour::new(
            Matcher {
                txn: Some("purchase".into()),
                ..Default::default()
            },
            vec![Action::NoReply],
        )
        .from_nth(3)
        .times(1),
    );
    b.push(
        Behaviour::new(
            Matcher {
                txn: Some("purchase".into()),
                ..Default::default()
            },
            vec![Action::Close],
        )
        .from_nth(4)
        .times(1),
    );
    let h = host(b).await;
    let mut t = T::new(&h);
    t.sign_in().await;
    let p = t.financial(
        "0200",
        "000000",
        "22",
        100,
        GOOD_PAN,
        GOOD_TRACK2,
        Some("123456"),
    );
    assert_eq!(t.send(p).await.unwrap().text(39), Some("51"));
    let p = t.financial(
        "0200",
        "000000",
        "22",
        100,
        GOOD_PAN,
        GOOD_TRACK2,
        Some("123456"),
    );
    let start = Instant::now();
    assert_eq!(t.send(p).await.unwrap().text(39), Some("00"));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(600),
        "delay 300 ms, took {took:?}"
    );
    // Wait less than the host's idle limit (800 ms here), which would otherwise close first.
    t.timeout = Duration::from_millis(400);
    let p = t.financial(
        "0200",
        "000000",
        "22",
        100,
        GOOD_PAN,
        GOOD_TRACK2,
        Some("123456"),
    );
    let r = t.send(p).await;
    assert!(matches!(r, Err(LinkError::Timeout(_))), "no reply: {r:?}");
    t.timeout = Duration::from_secs(2);
    let p = t.financial(
        "0200",
        "000000",
        "22",
        100,
        GOOD_PAN,
        GOOD_TRACK2,
        Some("123456"),
    );
    assert!(
        matches!(t.send(p).await, Err(LinkError::Closed(_))),
        "closed"
    );
    h.shutdown().await;
}

async fn raw(h: &HostHandle, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(h.addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut out)).await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_recorded_and_answered_like_a_centre() {
    let h = host(Behaviours::default()).await;
    // Garbage with an impossible length: closed, nothing sent.
    assert!(raw(&h, &[0xFF, 0xFF, 1, 2, 3]).await.is_empty());
    // Zero length.
    assert!(raw(&h, &[0x00, 0x00]).await.is_empty());
    // Half a frame, then the peer stops sending: recorded when the idle limit passes.
    assert!(raw(&h, &[0x00, 0x40, 0x60, 0x00]).await.is_empty());
    // Identifiable but undecodable (60.2 has a non-BCD nibble): answered with 30.
    let good = hex::decode("003C600003000060310031000008000020000000C00012000001313233343536373838393831313030343831323030303100110000000100400003303120").unwrap();
    let mut bad = good.clone();
    bad[53] = 0x0A; // inside 60.2, the batch
    let reply = raw(&h, &bad).await;
    assert!(!reply.is_empty(), "a format-error answer");
    let d = decode_frame(&cup_codec(), &reply, Framing::Tcp).expect("answer decodes");
    assert_eq!(d.message.mti.as_str(), "0810");
    assert_eq!(d.message.text(39), Some("30"));
    // The host still serves.
    let mut t = T::new(&h);
    t.sign_in().await;
    let recs = h.transcript.records();
    let bad_frames: Vec<_> = recs
        .iter()
        .filter(|r| r.kind == RecordKind::BadFrame)
        .collect();
    assert!(bad_frames.len() >= 4, "{bad_frames:#?}");
    assert!(bad_frames.iter().any(|r| r
        .note
        .as_deref()
        .is_some_and(|n| n.contains("half-sent frame") || n.contains("mid-frame"))));
    assert!(bad_frames
        .iter()
        .any(|r| r.note.as_deref().is_some_and(|n| n.contains("field 60.2"))));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_terminals_at_once() {
    let h = host(Behaviours::default()).await;
    let addr = h.addr;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100u32 {
        tasks.spawn(async move {
            let mut link = TcpLink::new(addr, true);
            let echo = Message::new(Mti::parse("0820").unwrap())
                .with(41, TID)
                .with(42, MID)
                .with(60, format!("00{:06}301", i % 7 + 1));
            let f = Frame {
                tpdu: Some(posconf::iso8583::Tpdu([0x60, 0, 3, 0, 0])),
                header: Some(Header([0x60, 0x31, 0, 0x31, 0, 0])),
                message: echo,
            };
            let reply = link
                .exchange(&f.payload(&cup_codec()).unwrap(), Duration::from_secs(5))
                .await
                .expect("answered");
            decode_frame(&cup_codec(), &reply, Framing::Bare)
                .expect("decodes")
                .message
                .text(39)
                .map(str::to_string)
        });
    }
    let mut ok = 0;
    while let Some(r) = tasks.join_next().await {
        if r.expect("task").as_deref() == Some("00") {
            ok += 1;
        }
    }
    assert_eq!(ok, 100);
    h.shutdown().await;
}

/// The whole recorded conversation, with timestamps zeroed: clock and key randomness are
/// injected, so everything else is deterministic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcript_snapshot() {
    let h = host(Behaviours::default()).await;
    let mut t = T::new(&h);
    t.sign_in().await;
    let p = t.financial(
        "0200",
        "000000",
        "22",
        1_234,
        GOOD_PAN,
        GOOD_TRACK2,
        Some("123456"),
    );
    t.send(p).await.unwrap();
    let wrong = t.financial(
        "0200",
        "000000",
        "22",
        100,
        GOOD_PAN,
        GOOD_TRACK2,
        Some("000000"),
    );
    t.send(wrong).await.unwrap();
    drop(t);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let records: Vec<serde_json::Value> = h
        .transcript
        .records()
        .into_iter()
        .map(|mut r| {
            r.ts_us = 0;
            if r.kind == RecordKind::Connect {
                r.note = Some("connection from <client>".into());
            }
            serde_json::to_value(r).unwrap()
        })
        .collect();
    insta::assert_json_snapshot!("host_transcript", records);
    h.shutdown().await;
}

/// Behaviour delays are precise to ±2 ms, measured between the request and answer records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delays_are_precise_to_two_milliseconds() {
    let mut b = Behaviours::default();
    b.push(Behaviour::new(
        Matcher {
            txn: Some("echo_test".into()),
            ..Default::default()
        },
        vec![Action::Delay { ms: 250 }],
    ));
    let h = host(b).await;
    let mut link = TcpLink::new(h.addr, false);
    for _ in 0..5 {
        let echo = Message::new(Mti::parse("0820").unwrap())
            .with(41, TID)
            .with(42, MID)
            .with(60, "00000001301");
        let f = Frame {
            tpdu: Some(posconf::iso8583::Tpdu([0x60, 0, 3, 0, 0])),
            header: Some(Header([0x60, 0x31, 0, 0x31, 0, 0])),
            message: echo,
        };
        link.exchange(&f.payload(&cup_codec()).unwrap(), Duration::from_secs(2))
            .await
            .unwrap();
    }
    let frames: Vec<_> = h
        .transcript
        .records()
        .into_iter()
        .filter(|r| r.kind == RecordKind::Frame)
        .collect();
    let mut delays: Vec<f64> = frames
        .chunks(2)
        .map(|p| (p[1].ts_us - p[0].ts_us) as f64 / 1000.0)
        .collect();
    delays.sort_by(|a, b| a.total_cmp(b));
    let median = delays[delays.len() / 2];
    // The request is timestamped a few microseconds after the delay starts counting.
    assert!(
        (249.9..=252.0).contains(&median),
        "median delay {median} ms, all {delays:?}"
    );
    assert!(
        delays.iter().all(|d| *d >= 249.9 && *d < 260.0),
        "{delays:?}"
    );
    h.shutdown().await;
}
