//! The TCP face of the centre: length-prefixed frames, short or persistent connections, every
//! frame in and out recorded as it happens, and bad input answered the way a centre would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::centre::Centre;
use crate::iso8583::frame::{decode_frame, split_tcp, wrap_tcp, Framing};
use crate::iso8583::{Message, Value};
use crate::transcript::{Direction, Record, RecordKind, TranscriptWriter};

/// Limits that protect the centre from a misbehaving peer.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest payload a length prefix may announce.
    pub max_frame: usize,
    /// A connection idle (or stuck mid-frame) this long is closed.
    pub idle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame: 8192,
            idle: Duration::from_secs(60),
        }
    }
}

/// A running host.
pub struct HostHandle {
    pub addr: SocketAddr,
    pub centre: Arc<Mutex<Centre>>,
    pub transcript: Arc<TranscriptWriter>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl HostHandle {
    /// Stop accepting, close connections, wait for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Bind and serve until [`HostHandle::shutdown`].
pub async fn start(
    listen: SocketAddr,
    centre: Centre,
    transcript: Arc<TranscriptWriter>,
    limits: Limits,
) -> std::io::Result<HostHandle> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let centre = Arc::new(Mutex::new(centre));
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(
        listener,
        centre.clone(),
        transcript.clone(),
        limits,
        stop_rx,
    ));
    Ok(HostHandle {
        addr,
        centre,
        transcript,
        stop,
        task,
    })
}

async fn accept_loop(
    listener: TcpListener,
    centre: Arc<Mutex<Centre>>,
    transcript: Arc<TranscriptWriter>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let mut conn_id = 0u64;
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                conn_id += 1;
                let _ = stream.set_nodelay(true);
                transcript.write(Record::event(conn_id, RecordKind::Connect, format!("connection from {peer}")));
                tasks.spawn(serve_connection(conn_id, stream, centre.clone(), transcript.clone(), limits, stop.clone()));
            }
        }
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}

fn lock(centre: &Mutex<Centre>) -> std::sync::MutexGuard<'_, Centre> {
    // A panic while holding the lock must not take the whole host down with it.
    centre.lock().unwrap_or_else(|p| p.into_inner())
}

async fn serve_connection(
    conn: u64,
    mut stream: TcpStream,
    centre: Arc<Mutex<Centre>>,
    transcript: Arc<TranscriptWriter>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let codec = lock(&centre).codec();
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let reason = loop {
        // Serve every complete frame already buffered.
        loop {
            match split_tcp(&buf, limits.max_frame) {
                Ok(None) => break,
                Err(e) => {
                    transcript.write(Record::bad_frame(
                        conn,
                        &buf[..buf.len().min(64)],
                        format!("{e}; closing the connection"),
                    ));
                    let _ = stream.shutdown().await;
                    return;
                }
                Ok(Some((range, used))) => {
                    let received_at = tokio::time::Instant::now();
                    let frame_bytes = buf[..used].to_vec();
                    let payload = &buf[range];
                    let handled = match decode_frame(&codec, payload, Framing::Bare) {
                        Ok(decoded) => {
                            transcript.write(Record::frame(
                                conn,
                                Direction::In,
                                &frame_bytes,
                                &codec,
                            ));
                            let handled = lock(&centre).handle(&decoded, payload);
                            for ev in &handled.events {
                                transcript.write(Record::journal(conn, ev.clone()));
                            }
                            Some(handled)
                        }
                        Err(partial) => {
                            transcript.write(Record::bad_frame(
                                conn,
                                &frame_bytes,
                                partial.error.to_string(),
                            ));
                            // Answer 30 when the request is identifiable; otherwise hang up.
                            format_error_reply(partial.partial.as_ref(), payload, &codec).map(
                                |reply| super::centre::Handled {
                                    reply: Some(reply),
                                    ..Default::default()
                                },
                            )
                        }
                    };
                    buf.drain(..used);
                    let Some(handled) = handled else {
                        let _ = stream.shutdown().await;
                        transcript.write(Record::event(
                            conn,
                            RecordKind::Disconnect,
                            "closed after an unidentifiable frame".into(),
                        ));
                        return;
                    };
                    if handled.delay_ms > 0 {
                        precise_delay(received_at, handled.delay_ms).await;
                    }
                    if handled.close {
                        let _ = stream.shutdown().await;
                        transcript.write(Record::event(
                            conn,
                            RecordKind::Disconnect,
                            "closed by behaviour".into(),
                        ));
                        return;
                    }
                    if let Some(reply) = handled.reply {
                        let Ok(out) = wrap_tcp(&reply) else { continue };
                        // Recorded before it is sent, so the transcript never lags the wire;
                        // a failed write is recorded right after.
                        transcript.write(Record::frame(conn, Direction::Out, &out, &codec));
                        if let Err(e) = stream.write_all(&out).await {
                            transcript.write(Record::event(
                                conn,
                                RecordKind::Disconnect,
                                format!("write of the frame above failed: {e}"),
                            ));
                            return;
                        }
                    }
                }
            }
        }
        let read = tokio::select! {
            _ = stop.changed() => break "host shutting down".to_string(),
            r = tokio::time::timeout(limits.idle, stream.read(&mut chunk)) => r,
        };
        match read {
            Err(_) if buf.is_empty() => break format!("idle for {} s", limits.idle.as_secs()),
            Err(_) => {
                let declared = if buf.len() >= 2 {
                    u16::from_be_bytes([buf[0], buf[1]]) as usize
                } else {
                    0
                };
                transcript.write(Record::bad_frame(
                    conn,
                    &buf,
                    format!(
                        "half-sent frame: {} of {} bytes arrived before the {} s timeout",
                        buf.len().saturating_sub(2),
                        declared,
                        limits.idle.as_secs()
                    ),
                ));
                break "timeout mid-frame".to_string();
            }
            Ok(Ok(0)) if buf.is_empty() => break "peer closed".to_string(),
            Ok(Ok(0)) => {
                let declared = if buf.len() >= 2 {
                    u16::from_be_bytes([buf[0], buf[1]]) as usize
                } else {
                    0
                };
                transcript.write(Record::bad_frame(
                    conn,
                    &buf,
                    format!(
                        "peer closed mid-frame: {} of {} bytes",
                        buf.len().saturating_sub(2),
                        declared
                    ),
                ));
                break "peer closed mid-frame".to_string();
            }
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => break format!("read failed: {e}"),
        }
    };
    transcript.write(Record::event(conn, RecordKind::Disconnect, reason));
}

/// Hold an answer until `ms` after the request arrived, to within a fraction of a millisecond:
/// sleep to 1 ms short of the deadline (timer granularity), then yield until it passes.
pub async fn precise_delay(from: tokio::time::Instant, ms: u64) {
    let deadline = from + Duration::from_millis(ms);
    if let Some(coarse) = deadline.checked_sub(Duration::from_millis(1)) {
        tokio::time::sleep_until(coarse).await;
    }
    while tokio::time::Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
}

/// A 39=30 (format error) answer for a request that decoded far enough to be identified.
fn format_error_reply(
    partial: Option<&Message>,
    payload: &[u8],
    codec: &crate::iso8583::Codec,
) -> Option<Vec<u8>> {
    let req = partial?;
    if req.mti.is_response() {
        return None;
    }
    let mut resp = Message::new(req.mti.response());
    for n in [3u8, 11, 41, 42] {
        if let Some(v) = req.get(n) {
            resp.set(n, v.clone());
        }
    }
    resp.set(39, Value::text("30"));
    let mut out = Vec::new();
    if payload.len() >= 11 && payload[0] == 0x60 {
        out.extend_from_slice(&[payload[0], payload[3], payload[4], payload[1], payload[2]]);
        if payload[5] >> 4 != 0 {
            out.extend_from_slice(&payload[5..11]);
        }
    }
    codec.pack_into(&resp, &mut out).ok()?;
    Some(out)
}
