//! The centre on a serial line: `STX | len (BCD) | TPDU + header + body | ETX | LRC` frames
//! (RS-232 to a NAC, digest §1), one request at a time, recorded like TCP traffic. A bad LRC or
//! a stray byte is recorded and skipped up to the next STX, as a line driver would.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::centre::Centre;
use crate::iso8583::frame::{decode_frame, split_serial, wrap_serial, Framing, STX};
use crate::transcript::{Direction, Record, RecordKind, TranscriptWriter};

/// Serve one serial port until `stop` is set. Blocking: run it on its own thread.
pub fn serve(
    path: &str,
    baud: u32,
    centre: Arc<Mutex<Centre>>,
    transcript: Arc<TranscriptWriter>,
    stop: Arc<AtomicBool>,
) -> Result<(), String> {
    let mut port = serialport::new(path, baud)
        .timeout(Duration::from_millis(100))
        .open()
        .map_err(|e| format!("cannot open serial port {path}: {e}"))?;
    let conn = 0; // serial traffic is connection 0 in the transcript
    transcript.write(Record::event(
        conn,
        RecordKind::Connect,
        format!("serial port {path} at {baud} baud"),
    ));
    let codec = centre.lock().unwrap_or_else(|p| p.into_inner()).codec();
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !stop.load(Ordering::Relaxed) {
        match port.read(&mut chunk) {
            Ok(0) => continue,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(e) => {
                transcript.write(Record::event(
                    conn,
                    RecordKind::Disconnect,
                    format!("serial read failed: {e}"),
                ));
                return Err(e.to_string());
            }
        }
        loop {
            // Resynchronise on STX.
            if let Some(skip) = buf.iter().position(|b| *b == STX) {
                if skip > 0 {
                    transcript.write(Record::bad_frame(
                        conn,
                        &buf[..skip],
                        format!("{skip} bytes before STX skipped"),
                    ));
                    buf.drain(..skip);
                }
            } else {
                if !buf.is_empty() {
                    transcript.write(Record::bad_frame(
                        conn,
                        &buf,
                        "no STX: bytes skipped".into(),
                    ));
                }
                buf.clear();
                break;
            }
            match split_serial(&buf) {
                Ok(None) => break,
                Err(e) => {
                    transcript.write(Record::bad_frame(
                        conn,
                        &buf[..buf.len().min(64)],
                        e.to_string(),
                    ));
                    buf.drain(..1);
                }
                Ok(Some((range, used))) => {
                    let frame = buf[..used].to_vec();
                    let payload = buf[range].to_vec();
                    buf.drain(..used);
                    let decoded = match decode_frame(&codec, &payload, Framing::Bare) {
                        Ok(d) => d,
                        Err(e) => {
                            transcript.write(Record::bad_frame(conn, &frame, e.error.to_string()));
                            continue;
                        }
                    };
                    transcript.write(Record::frame_framed(
                        conn,
                        Direction::In,
                        &frame,
                        &codec,
                        Framing::Serial,
                    ));
                    let handled = centre
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .handle(&decoded, &payload);
                    for ev in &handled.events {
                        transcript.write(Record::journal(conn, ev.clone()));
                    }
                    if handled.delay_ms > 0 {
                        std::thread::sleep(Duration::from_millis(handled.delay_ms));
                    }
                    if let Some(reply) = handled.reply {
                        let Ok(out) = wrap_serial(&reply) else {
                            continue;
                        };
                        transcript.write(Record::frame_framed(
                            conn,
                            Direction::Out,
                            &out,
                            &codec,
                            Framing::Serial,
                        ));
                        if let Err(e) = port.write_all(&out).and_then(|_| port.flush()) {
                            transcript.write(Record::event(
                                conn,
                                RecordKind::Disconnect,
                                format!("serial write failed: {e}"),
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
