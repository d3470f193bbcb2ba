//! A transcript as a packet capture, so Wireshark or tshark can open what posconf recorded.
//!
//! Synthesised, not sniffed: each transcript connection becomes one TCP stream (handshake,
//! every frame as a PSH/ACK segment with consistent sequence numbers, FIN) between the
//! documentation addresses 192.0.2.x (terminal, RFC 5737) and 198.51.100.1:8000 (centre), at
//! the transcript's timestamps. Packets are built with `etherparse` and written with `pcap-file`.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use etherparse::PacketBuilder;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, TsResolution};

use crate::transcript::{Direction, Record, RecordKind};

/// The centre's synthetic endpoint.
pub const HOST_IP: [u8; 4] = [198, 51, 100, 1];
pub const HOST_PORT: u16 = 8000;

#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    #[error("pcap: {0}")]
    Pcap(#[from] pcap_file::PcapError),
    #[error("building a packet: {0}")]
    Build(String),
}

struct Stream {
    term_ip: [u8; 4],
    term_port: u16,
    term_seq: u32,
    host_seq: u32,
    open: bool,
}

const TERM_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

fn segment(
    s: &Stream,
    from_terminal: bool,
    flags: &str,
    payload: &[u8],
) -> Result<Vec<u8>, PcapError> {
    let (src_mac, dst_mac, src_ip, dst_ip, sp, dp, seq, ack) = if from_terminal {
        (
            TERM_MAC,
            HOST_MAC,
            s.term_ip,
            HOST_IP,
            s.term_port,
            HOST_PORT,
            s.term_seq,
            s.host_seq,
        )
    } else {
        (
            HOST_MAC,
            TERM_MAC,
            HOST_IP,
            s.term_ip,
            HOST_PORT,
            s.term_port,
            s.host_seq,
            s.term_seq,
        )
    };
    let mut b = PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src_ip, dst_ip, 64)
        .tcp(sp, dp, seq, 65_535);
    for f in flags.chars() {
        b = match f {
            'S' => b.syn(),
            'F' => b.fin(),
            'P' => b.psh(),
            'A' => b.ack(ack),
            _ => b,
        };
    }
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload)
        .map_err(|e| PcapError::Build(e.to_string()))?;
    Ok(out)
}

/// Write the frames of `records` as a pcap; returns the number of packets written.
pub fn write_pcap<W: Write>(records: &[Record], out: W) -> Result<usize, PcapError> {
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        ts_resolution: TsResolution::MicroSecond,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(out, header)?;
    let mut streams: HashMap<u64, Stream> = HashMap::new();
    let mut packets = 0usize;
    let mut emit = |w: &mut PcapWriter<W>, ts: u64, data: Vec<u8>| -> Result<(), PcapError> {
        let len = data.len() as u32;
        w.write_packet(&PcapPacket::new_owned(Duration::from_micros(ts), len, data))?;
        packets += 1;
        Ok(())
    };
    for r in records {
        let stream = streams.entry(r.conn).or_insert_with(|| Stream {
            term_ip: [192, 0, 2, (r.conn % 250 + 2) as u8],
            term_port: 40_000 + (r.conn % 20_000) as u16,
            term_seq: 1_000,
            host_seq: 5_000,
            open: false,
        });
        let ts = r.ts_us;
        let frame = matches!(r.kind, RecordKind::Frame | RecordKind::BadFrame) && r.raw.is_some();
        if (r.kind == RecordKind::Connect || frame) && !stream.open {
            emit(&mut w, ts, segment(stream, true, "S", &[])?)?;
            stream.term_seq = stream.term_seq.wrapping_add(1);
            emit(&mut w, ts, segment(stream, false, "SA", &[])?)?;
            stream.host_seq = stream.host_seq.wrapping_add(1);
            emit(&mut w, ts, segment(stream, true, "A", &[])?)?;
            stream.open = true;
        }
        if frame {
            let Some(bytes) = r.raw.as_deref().and_then(|h| hex::decode(h).ok()) else {
                continue;
            };
            let from_terminal = r.dir != Direction::Out;
            emit(&mut w, ts, segment(stream, from_terminal, "PA", &bytes)?)?;
            if from_terminal {
                stream.term_seq = stream.term_seq.wrapping_add(bytes.len() as u32);
            } else {
                stream.host_seq = stream.host_seq.wrapping_add(bytes.len() as u32);
            }
        }
        if r.kind == RecordKind::Disconnect && stream.open {
            emit(&mut w, ts, segment(stream, true, "FA", &[])?)?;
            stream.term_seq = stream.term_seq.wrapping_add(1);
            emit(&mut w, ts, segment(stream, false, "FA", &[])?)?;
            stream.host_seq = stream.host_seq.wrapping_add(1);
            stream.open = false;
        }
    }
    w.into_writer()
        .flush()
        .map_err(|e| PcapError::Build(format!("flushing the capture: {e}")))?;
    Ok(packets)
}
