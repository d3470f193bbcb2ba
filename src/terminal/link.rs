//! How a terminal reaches the centre: a [`HostLink`] sends one request payload (TPDU + header +
//! body) and returns the response payload, or says why there is none. The reference terminal
//! and the host tests use [`TcpLink`]; a serial link implements the same trait.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::iso8583::frame::{split_tcp, wrap_tcp};

/// Why an exchange produced no response.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("no response within {0:?}")]
    Timeout(Duration),
    #[error("the host closed the connection{0}")]
    Closed(String),
    #[error("link I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("bad frame from the host: {0}")]
    Frame(String),
}

/// One request/response exchange with the centre.
#[allow(async_fn_in_trait)]
pub trait HostLink {
    async fn exchange(&mut self, payload: &[u8], timeout: Duration) -> Result<Vec<u8>, LinkError>;
}

/// TCP with the 2-byte length prefix. `short` opens a connection per exchange (the seed's
/// POSP/PMS ports); otherwise one connection is kept and reopened when the host drops it.
pub struct TcpLink {
    pub addr: SocketAddr,
    pub short: bool,
    stream: Option<TcpStream>,
}

impl TcpLink {
    pub fn new(addr: SocketAddr, short: bool) -> TcpLink {
        TcpLink {
            addr,
            short,
            stream: None,
        }
    }

    async fn connected(&mut self) -> Result<&mut TcpStream, LinkError> {
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr)
                .await
                .map_err(|source| LinkError::Connect {
                    addr: self.addr,
                    source,
                })?;
            let _ = s.set_nodelay(true);
            self.stream = Some(s);
        }
        self.stream
            .as_mut()
            .ok_or_else(|| LinkError::Closed(String::new()))
    }
}

impl HostLink for TcpLink {
    async fn exchange(&mut self, payload: &[u8], timeout: Duration) -> Result<Vec<u8>, LinkError> {
        let frame = wrap_tcp(payload).map_err(|e| LinkError::Frame(e.to_string()))?;
        let short = self.short;
        let result = async {
            let stream = self.connected().await?;
            stream.write_all(&frame).await?;
            read_frame(stream, timeout).await
        }
        .await;
        if short || result.is_err() {
            // A failed or finished short exchange leaves no half-read stream behind.
            if let Some(mut s) = self.stream.take() {
                let _ = s.shutdown().await;
            }
        }
        result
    }
}

/// Read one length-prefixed frame and return its payload.
pub async fn read_frame(stream: &mut TcpStream, timeout: Duration) -> Result<Vec<u8>, LinkError> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 2048];
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some((range, _)) =
            split_tcp(&buf, 65_535).map_err(|e| LinkError::Frame(e.to_string()))?
        {
            return Ok(buf[range].to_vec());
        }
        let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .map_err(|_| LinkError::Timeout(timeout))??;
        if n == 0 {
            let note = if buf.is_empty() {
                String::new()
            } else {
                format!(" after {} bytes of a frame", buf.len())
            };
            return Err(LinkError::Closed(note));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
