//! The synthesised capture carries every recorded frame, in order, byte for byte, in TCP
//! streams a dissector can follow (read back with pcap-file + etherparse; dpkt and Wireshark
//! read the same files).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::test_host;
use etherparse::{SlicedPacket, TransportSlice};
use posconf::crypto::DesKey;
use posconf::host::behaviour::Behaviours;
use posconf::terminal::link::TcpLink;
use posconf::terminal::sim::{CardInput, SimConfig, SimTerminal};
use posconf::transcript::{Direction, RecordKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_frame_is_in_the_capture_in_order() {
    let h = test_host(Behaviours::default(), "120000", Duration::from_secs(10), 3).await;
    let cfg =
        SimConfig::default_terminal(DesKey::from_hex("11111111111111112222222222222222").unwrap());
    let mut t = SimTerminal::new(cfg, TcpLink::new(h.addr, true)); // short connections: many streams
    let card = CardInput {
        pan: "6225881234567890".into(),
        track2: "6225881234567890=25122011234567890".into(),
        expiry: "2512".into(),
        pin: Some("123456".into()),
    };
    t.sign_in().await.unwrap();
    t.purchase(&card, 100).await.unwrap();
    t.settle().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let records = h.transcript.records();
    h.shutdown().await;

    let mut pcap = Vec::new();
    let n = posconf::pcap::write_pcap(&records, &mut pcap).expect("pcap");
    let mut reader = pcap_file::pcap::PcapReader::new(&pcap[..]).expect("a valid pcap header");
    // (terminal port, from terminal?) -> payload bytes in order; plus the SYN count.
    let mut payloads: Vec<(u16, bool, Vec<u8>)> = Vec::new();
    let mut next_seq: HashMap<(u16, bool), u32> = HashMap::new();
    let mut syns = 0;
    let mut read = 0;
    while let Some(p) = reader.next_packet() {
        let p = p.expect("packet");
        read += 1;
        let sliced = SlicedPacket::from_ethernet(&p.data).expect("ethernet/ipv4/tcp");
        let Some(TransportSlice::Tcp(tcp)) = sliced.transport else {
            panic!("not TCP")
        };
        let from_terminal = tcp.destination_port() == posconf::pcap::HOST_PORT;
        let port = if from_terminal {
            tcp.source_port()
        } else {
            tcp.destination_port()
        };
        if tcp.syn() {
            syns += 1;
            next_seq.insert((port, from_terminal), tcp.sequence_number().wrapping_add(1));
            continue;
        }
        let data = tcp.payload();
        if !data.is_empty() {
            let want = next_seq
                .get(&(port, from_terminal))
                .copied()
                .expect("a handshake first");
            assert_eq!(tcp.sequence_number(), want, "contiguous sequence numbers");
            next_seq.insert((port, from_terminal), want.wrapping_add(data.len() as u32));
            payloads.push((port, from_terminal, data.to_vec()));
        }
    }
    assert_eq!(read, n);
    let frames: Vec<(bool, Vec<u8>)> = records
        .iter()
        .filter(|r| r.kind == RecordKind::Frame)
        .map(|r| {
            (
                r.dir == Direction::In,
                hex::decode(r.raw.as_deref().unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        frames.len(),
        6,
        "sign-in, purchase, settlement: request and answer each"
    );
    let got: Vec<(bool, Vec<u8>)> = payloads.into_iter().map(|(_, d, b)| (d, b)).collect();
    assert_eq!(got, frames, "every frame, in order, byte for byte");
    assert_eq!(
        syns,
        2 * 3,
        "SYN and SYN-ACK of one stream per short connection"
    );
}
