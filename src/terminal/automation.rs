//! The serial automation link: how posconf drives a real terminal that exposes a test
//! automation port. The seed defines none, so posconf defines a small one and documents it
//! (README, "Serial automation protocol"); a lab whose terminal speaks another protocol writes
//! an adapter to this one or another `Terminal` driver.
//!
//! Framing: one JSON object per line (UTF-8, `\n`-terminated) each way. The harness sends
//! `{"id": 7, "cmd": "purchase", "card": {...}, "amount": 100}`; the terminal answers
//! `{"id": 7, "ok": true, "code": "00", "display": "交易成功", "slips": ["..."]}` or
//! `{"id": 7, "ok": false, "error": "not signed in", "display": "..."}`. Settlement answers carry
//! `"flags": "11"`. A line that does not parse, an answer with another id, or silence past the
//! rig's `timeout_ms` is a link fault (the case fails, naming the bytes).
//!
//! [`SerialTerminal`] is the harness side; [`serve`] puts the reference terminal behind such a
//! port, so the whole path is tested through real pseudo-terminals (socat).

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::link::HostLink;
use super::sim::SimTerminal;
use super::{CardInput, Outcome, Terminal, TerminalError};

/// Longest reply line accepted: a terminal that never ends its line is a link fault, not a
/// reason to grow without bound.
const MAX_LINE: usize = 64 * 1024;

/// Bytes for an error message: all of a short run, else its first and last 128 bytes.
fn excerpt(bytes: &[u8]) -> String {
    if bytes.len() <= 256 {
        return hex::encode_upper(bytes);
    }
    format!(
        "{}…{} ({} bytes)",
        hex::encode_upper(&bytes[..128]),
        hex::encode_upper(&bytes[bytes.len() - 128..]),
        bytes.len()
    )
}

/// Card data as the automation link carries it (test cards only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireCard {
    pub pan: String,
    pub track2: String,
    pub expiry: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

impl From<&CardInput> for WireCard {
    fn from(c: &CardInput) -> Self {
        WireCard {
            pan: c.pan.clone(),
            track2: c.track2.clone(),
            expiry: c.expiry.clone(),
            pin: c.pin.clone(),
        }
    }
}

impl From<WireCard> for CardInput {
    fn from(c: WireCard) -> Self {
        CardInput {
            pan: c.pan,
            track2: c.track2,
            expiry: c.expiry,
            pin: c.pin,
        }
    }
}

/// One command (the `Terminal` vocabulary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    PowerOn,
    OperatorSignIn {
        code: String,
        password: String,
    },
    SignIn,
    Balance {
        card: WireCard,
    },
    Purchase {
        card: WireCard,
        amount: u64,
    },
    Void {
        card: WireCard,
        voucher: String,
        supervisor: String,
    },
    Refund {
        card: WireCard,
        amount: u64,
        rrn: String,
        date: String,
        supervisor: String,
    },
    PreAuth {
        card: WireCard,
        amount: u64,
    },
    PreAuthVoid {
        card: WireCard,
        amount: u64,
        auth_code: String,
        date: String,
    },
    Completion {
        card: WireCard,
        amount: u64,
        auth_code: String,
        date: String,
    },
    CompletionVoid {
        card: WireCard,
        voucher: String,
        supervisor: String,
    },
    Settle,
    SignOff,
    Echo,
    TestMode {
        on: bool,
    },
    Offline {
        card: WireCard,
        amount: u64,
        auth_code: String,
    },
    Adjust {
        voucher: String,
        amount: u64,
        tip: u64,
    },
    DownloadParams,
    UploadStatus,
    Lock,
    Unlock {
        password: String,
    },
    Reprint,
    Display,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    #[serde(flatten)]
    pub command: Command,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub id: u64,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default)]
    pub display: String,
    /// Slips printed while carrying out the command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slips: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Voucher number of the transaction the command stored, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher: Option<String>,
    /// Settlement result flags (RMB, foreign), e.g. `11`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AutomationError {
    #[error("cannot open the automation port {port}: {reason}")]
    Open { port: String, reason: String },
    #[error("automation link {port}: {reason}")]
    Link { port: String, reason: String },
}

/// The harness side: a terminal on a serial automation port.
pub struct SerialTerminal {
    port: Box<dyn serialport::SerialPort>,
    name: String,
    timeout: Duration,
    next_id: u64,
    buf: Vec<u8>,
    display: String,
    last_slip: Option<String>,
    printed: Vec<String>,
    voucher: Option<String>,
}

impl SerialTerminal {
    pub fn open(
        port: &str,
        baud: u32,
        timeout: Duration,
    ) -> Result<SerialTerminal, AutomationError> {
        let p = serialport::new(port, baud)
            .timeout(Duration::from_millis(50))
            .open()
            .map_err(|e| AutomationError::Open {
                port: port.into(),
                reason: e.to_string(),
            })?;
        // Bytes left from an earlier session are not answers to us.
        let _ = p.clear(serialport::ClearBuffer::All);
        // Ids start from the clock so a reply to an earlier session cannot match a new command.
        let next_id = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(1);
        Ok(SerialTerminal {
            port: p,
            name: port.into(),
            timeout,
            next_id,
            buf: Vec::new(),
            display: String::new(),
            last_slip: None,
            printed: Vec::new(),
            voucher: None,
        })
    }

    fn link_err(&self, reason: String) -> TerminalError {
        TerminalError::Internal(format!("automation link {}: {reason}", self.name))
    }

    /// Send one command and wait for its reply (blocking I/O off the async workers).
    fn call_blocking(&mut self, command: Command) -> Result<Reply, TerminalError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut line = serde_json::to_vec(&Request { id, command })
            .map_err(|e| self.link_err(e.to_string()))?;
        line.push(b'\n');
        self.port
            .write_all(&line)
            .and_then(|_| self.port.flush())
            .map_err(|e| self.link_err(format!("write failed: {e}")))?;
        let deadline = Instant::now() + self.timeout;
        let mut chunk = [0u8; 512];
        // Lines that were not our reply: late replies to commands that timed out, or noise.
        let mut skipped: Vec<String> = Vec::new();
        loop {
            if let Some(nl) = self.buf.iter().position(|b| *b == b'\n') {
                let raw: Vec<u8> = self.buf.drain(..=nl).collect();
                let text = String::from_utf8_lossy(&raw[..raw.len() - 1])
                    .trim()
                    .to_string();
                if text.is_empty() {
                    continue;
                }
                match serde_json::from_str::<Reply>(&text) {
                    Ok(reply) if reply.id == id => return Ok(reply),
                    Ok(reply) if reply.id < id => {
                        skipped.push(format!("late reply to command {}", reply.id));
                    }
                    Ok(reply) => {
                        return Err(self.link_err(format!(
                            "reply for command {} while waiting for {id}",
                            reply.id
                        )))
                    }
                    Err(e) => {
                        skipped.push(format!("unparsable line ({e}): bytes {}", excerpt(&raw)))
                    }
                }
                continue;
            }
            if Instant::now() > deadline {
                return Err(self.link_err(format!(
                    "no reply to command {id} within {:?}{}{}",
                    self.timeout,
                    if self.buf.is_empty() {
                        String::new()
                    } else {
                        format!(" (partial bytes {})", excerpt(&self.buf))
                    },
                    if skipped.is_empty() {
                        String::new()
                    } else {
                        format!("; skipped: {}", skipped.join("; "))
                    }
                )));
            }
            if self.buf.len() > MAX_LINE {
                let n = self.buf.len();
                let shown = excerpt(&self.buf);
                self.buf.clear();
                return Err(self.link_err(format!(
                    "a reply line longer than {MAX_LINE} bytes without a newline ({n} bytes: {shown})"
                )));
            }
            match self.port.read(&mut chunk) {
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => return Err(self.link_err(format!("read failed: {e}"))),
            }
        }
    }

    async fn call(&mut self, command: Command) -> Result<Reply, TerminalError> {
        let reply = tokio::task::block_in_place(|| self.call_blocking(command))?;
        self.display = reply.display.clone();
        if let Some(s) = reply.slips.last() {
            self.last_slip = Some(s.clone());
        }
        self.printed.extend(reply.slips.iter().cloned());
        if reply.voucher.is_some() {
            self.voucher = reply.voucher.clone();
        }
        if reply.ok {
            Ok(reply)
        } else {
            Err(TerminalError::Refused(
                reply.error.unwrap_or_else(|| "refused".into()),
            ))
        }
    }

    async fn outcome(&mut self, command: Command) -> Result<Outcome, TerminalError> {
        let r = self.call(command).await?;
        Ok(Outcome {
            code: r.code,
            display: r.display,
        })
    }
}

impl Terminal for SerialTerminal {
    async fn power_on(&mut self) -> Result<Outcome, TerminalError> {
        self.outcome(Command::PowerOn).await
    }
    async fn operator_sign_in(
        &mut self,
        code: &str,
        password: &str,
    ) -> Result<Outcome, TerminalError> {
        self.outcome(Command::OperatorSignIn {
            code: code.into(),
            password: password.into(),
        })
        .await
    }
    async fn pos_sign_in(&mut self) -> Result<Outcome, TerminalError> {
        self.outcome(Command::SignIn).await
    }
    async fn balance_inquiry(&mut self, card: &CardInput) -> Result<Outcome, TerminalError> {
        self.outcome(Command::Balance { card: card.into() }).await
    }
    async fn purchase(&mut self, card: &CardInput, amount: u64) -> Result<Outcome, TerminalError> {
        self.outcome(Command::Purchase {
            card: card.into(),
            amount,
        })
        .await
    }
    async fn void(
        &mut self,
        card: &CardInput,
        voucher: &str,
        sup: &str,
    ) -> Result<Outcome, TerminalError> {
        self.outcome(Command::Void {
            card: card.into(),
            voucher: voucher.into(),
            supervisor: sup.into(),
        })
        .await
    }
    async fn refund(
        &mut self,
        card: &CardInput,
        amount: u64,
        rrn: &str,
        date: &str,
        sup: &str,
    ) -> Result<Outcome, TerminalError> {
        self.outcome(Command::Refund {
            card: card.into(),
            amount,
            rrn: rrn.into(),
            date: date.into(),
            supervisor: sup.into(),
        })
        .await
    }
    async fn pre_auth(&mut self, card: &CardInput, amount: u64) -> Result<Outcome, TerminalError> {
        self.outcome(Command::PreAuth {
            card: card.into(),
            amount,
        })
        .await
    }
    async fn pre_auth_void(
        &mut self,
        card: &CardInput,
        amount: u64,
        auth: &str,
        date: &str,
    ) -> Result<Outcome, TerminalError> {
        self.outcome(Command::PreAuthVoid {
            card: card.into(),
            amount,
            auth_code: auth.into(),
            date: date.into(),
        })
        .await
    }
    async fn completion(
        &mut self,
        card: &CardInput,
        amount: u64,
        auth: &str,
        date: &str,
    ) -> Result<Outcome, TerminalError> {
        self.outcome(Command::Completion {
            card: card.into(),
            amount,
            auth_code: auth.into(),
            date: date.into(),
        })
        .await
    }
    async fn completion_void(
        &mut self,
        card: &CardInput,
        voucher: &str,
        sup: &str,
    ) -> Result<Outcome, TerminalError> {
        self.outcome(Command::CompletionVoid {
            card: card.into(),
            voucher: voucher.into(),
            supervisor: sup.into(),
        })
        .await
    }
    async fn settle(&mut self) -> Result<(char, char), TerminalError> {
        let r = self.call(Command::Settle).await?;
        let f = r.flags.unwrap_or_default();
        let mut c = f.chars();
        match (c.next(), c.next()) {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => Err(self.link_err(format!("settlement reply without two result flags ({f:?})"))),
        }
    }
    async fn sign_off(&mut self) -> Result<Outcome, TerminalError> {
        self.outcome(Command::SignOff).await
    }
    async fn echo_test(&mut self) -> Result<Outcome, TerminalError> {
        self.outcome(Command::Echo).await
    }
    fn set_test_mode(&mut self, on: bool) -> Result<(), TerminalError> {
        tokio::task::block_in_place(|| self.call_blocking(Command::TestMode { on })).and_then(|r| {
            if r.ok {
                Ok(())
            } else {
                Err(TerminalError::Refused(r.error.unwrap_or_default()))
            }
        })
    }
    async fn offline_settlement(
        &mut self,
        card: &CardInput,
        amount: u64,
        auth: &str,
    ) -> Result<Outcome, TerminalError> {
        self.outcome(Command::Offline {
            card: card.into(),
            amount,
            auth_code: auth.into(),
        })
        .await
    }
    async fn adjust(
        &mut self,
        voucher: &str,
        amount: u64,
        tip: u64,
    ) -> Result<Outcome, TerminalError> {
        self.outcome(Command::Adjust {
            voucher: voucher.into(),
            amount,
            tip,
        })
        .await
    }
    async fn download_parameters(&mut self) -> Result<Outcome, TerminalError> {
        self.outcome(Command::DownloadParams).await
    }
    fn lock(&mut self) -> Result<(), TerminalError> {
        let r = tokio::task::block_in_place(|| self.call_blocking(Command::Lock))?;
        if r.ok {
            Ok(())
        } else {
            Err(TerminalError::Refused(r.error.unwrap_or_default()))
        }
    }
    fn unlock(&mut self, password: &str) -> Result<(), TerminalError> {
        let r = tokio::task::block_in_place(|| {
            self.call_blocking(Command::Unlock {
                password: password.into(),
            })
        })?;
        if r.ok {
            Ok(())
        } else {
            Err(TerminalError::Refused(r.error.unwrap_or_default()))
        }
    }
    fn read_display(&self) -> String {
        self.display.clone()
    }
    fn last_receipt(&self) -> Option<String> {
        self.last_slip.clone()
    }
    fn take_printed(&mut self) -> Vec<String> {
        std::mem::take(&mut self.printed)
    }
    fn last_voucher(&self) -> Option<String> {
        self.voucher.clone()
    }
    async fn upload_status(&mut self) -> Result<Outcome, TerminalError> {
        self.outcome(Command::UploadStatus).await
    }
    async fn reprint(&mut self) -> Result<Outcome, TerminalError> {
        self.outcome(Command::Reprint).await
    }
}

/// Carry out one command on the reference terminal.
async fn execute<L: HostLink>(t: &mut SimTerminal<L>, command: Command) -> Reply {
    fn done(r: Result<Outcome, TerminalError>) -> Reply {
        match r {
            Ok(o) => Reply {
                ok: true,
                code: o.code,
                display: o.display,
                ..Default::default()
            },
            Err(e) => Reply {
                ok: false,
                error: Some(e.to_string()),
                ..Default::default()
            },
        }
    }
    fn unit(r: Result<(), TerminalError>) -> Reply {
        done(r.map(|_| Outcome {
            code: None,
            display: String::new(),
        }))
    }
    let mut reply = match command {
        Command::PowerOn => done(t.power_on().await),
        Command::OperatorSignIn { code, password } => {
            done(t.operator_sign_in(&code, &password).await)
        }
        Command::SignIn => done(t.pos_sign_in().await),
        Command::Balance { card } => done(t.balance_inquiry(&card.into()).await),
        Command::Purchase { card, amount } => {
            done(Terminal::purchase(t, &card.into(), amount).await)
        }
        Command::Void {
            card,
            voucher,
            supervisor,
        } => done(Terminal::void(t, &card.into(), &voucher, &supervisor).await),
        Command::Refund {
            card,
            amount,
            rrn,
            date,
            supervisor,
        } => done(Terminal::refund(t, &card.into(), amount, &rrn, &date, &supervisor).await),
        Command::PreAuth { card, amount } => {
            done(Terminal::pre_auth(t, &card.into(), amount).await)
        }
        Command::PreAuthVoid {
            card,
            amount,
            auth_code,
            date,
        } => done(Terminal::pre_auth_void(t, &card.into(), amount, &auth_code, &date).await),
        Command::Completion {
            card,
            amount,
            auth_code,
            date,
        } => done(Terminal::completion(t, &card.into(), amount, &auth_code, &date).await),
        Command::CompletionVoid {
            card,
            voucher,
            supervisor,
        } => done(Terminal::completion_void(t, &card.into(), &voucher, &supervisor).await),
        Command::Settle => match Terminal::settle(t).await {
            Ok((a, b)) => Reply {
                ok: true,
                flags: Some(format!("{a}{b}")),
                ..Default::default()
            },
            Err(e) => Reply {
                ok: false,
                error: Some(e.to_string()),
                ..Default::default()
            },
        },
        Command::SignOff => done(Terminal::sign_off(t).await),
        Command::Echo => done(t.echo_test().await),
        Command::TestMode { on } => unit(t.set_test_mode(on)),
        Command::Offline {
            card,
            amount,
            auth_code,
        } => done(Terminal::offline_settlement(t, &card.into(), amount, &auth_code).await),
        Command::Adjust {
            voucher,
            amount,
            tip,
        } => done(Terminal::adjust(t, &voucher, amount, tip).await),
        Command::DownloadParams => done(Terminal::download_parameters(t).await),
        Command::UploadStatus => done(Terminal::upload_status(t).await),
        Command::Lock => unit(Terminal::lock(t)),
        Command::Unlock { password } => unit(Terminal::unlock(t, &password)),
        Command::Reprint => done(Terminal::reprint(t).await),
        Command::Display => unit(Ok(())),
    };
    reply.display = t.read_display();
    reply.slips = t.take_printed();
    if reply.ok {
        reply.voucher = t.last_voucher();
    }
    reply
}

/// Serve the reference terminal on an automation port until the port closes or `stop` fires.
pub async fn serve<L: HostLink>(
    port: &str,
    baud: u32,
    mut t: SimTerminal<L>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), AutomationError> {
    let err = |reason: String| AutomationError::Link {
        port: port.into(),
        reason,
    };
    let p = serialport::new(port, baud)
        .timeout(Duration::from_millis(50))
        .open()
        .map_err(|e| AutomationError::Open {
            port: port.into(),
            reason: e.to_string(),
        })?;
    let mut writer = p.try_clone().map_err(|e| err(e.to_string()))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, String>>(16);
    let mut reader = p;
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 512];
        loop {
            match reader.read(&mut chunk) {
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => {
                    let _ = tx.blocking_send(Err(e.to_string()));
                    return;
                }
            }
            while let Some(nl) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=nl).collect();
                if tx.blocking_send(Ok(line)).is_err() {
                    return;
                }
            }
            if tx.is_closed() {
                return;
            }
        }
    });
    loop {
        let line = tokio::select! {
            l = rx.recv() => l,
            _ = stop.changed() => return Ok(()),
        };
        let line = match line {
            None => return Ok(()),
            Some(Err(e)) => return Err(err(format!("read failed: {e}"))),
            Some(Ok(l)) => l,
        };
        let text = String::from_utf8_lossy(&line).trim().to_string();
        if text.is_empty() {
            continue;
        }
        let reply = match serde_json::from_str::<Request>(&text) {
            Ok(req) => Reply {
                id: req.id,
                ..execute(&mut t, req.command).await
            },
            Err(e) => Reply {
                id: 0,
                ok: false,
                error: Some(format!("bad command line {text:?}: {e}")),
                ..Default::default()
            },
        };
        let mut out = serde_json::to_vec(&reply).map_err(|e| err(e.to_string()))?;
        out.push(b'\n');
        writer
            .write_all(&out)
            .and_then(|_| writer.flush())
            .map_err(|e| err(format!("write failed: {e}")))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_byte_runs_are_quoted_by_their_ends() {
        assert_eq!(excerpt(b"\x01\x02"), "0102");
        let e = excerpt(&[0xAB; 1000]);
        assert!(e.ends_with("(1000 bytes)") && e.len() < 600, "{e}");
    }

    #[test]
    fn commands_are_json_lines_with_a_cmd_tag() {
        let r = Request {
            id: 3,
            command: Command::Purchase {
                card: WireCard {
                    pan: "6225880000000001".into(),
                    track2: "6225880000000001=2512".into(),
                    expiry: "2512".into(),
                    pin: None,
                },
                amount: 100,
            },
        };
        let text = serde_json::to_string(&r).unwrap();
        assert!(
            text.starts_with("{\"id\":3,\"cmd\":\"purchase\",\"card\":"),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), r);
        let s: Request = serde_json::from_str("{\"id\":1,\"cmd\":\"settle\"}").unwrap();
        assert_eq!(s.command, Command::Settle);
        assert!(serde_json::from_str::<Request>("{\"id\":1,\"cmd\":\"purchse\"}").is_err());
    }
}
