//! PC/SC driver (the `pcsc` crate over libpcsclite): a physical reader in a lab, or pcscd's
//! vpcd fed by `posconf card serve-vpcd`. Reader chosen by name substring; waits for a card
//! with `get_status_change`; removal and reset surface as [`CardError::Removed`] /
//! [`CardError::Reset`] so a test can tell a pulled card from a broken rig.

use std::ffi::CString;
use std::time::{Duration, Instant};

use pcsc::{
    Context, Disposition, Error as PcscError, Protocols, ReaderState, Scope, ShareMode, State,
};

use super::{Card, CardError};

fn map_err(op: &'static str, e: PcscError) -> CardError {
    match e {
        PcscError::NoService | PcscError::ServiceStopped | PcscError::NoReadersAvailable => {
            CardError::NoService(format!("{op}: {e}"))
        }
        PcscError::RemovedCard | PcscError::NoSmartcard => CardError::Removed,
        PcscError::ResetCard => CardError::Reset,
        other => CardError::Pcsc {
            op,
            detail: other.to_string(),
        },
    }
}

fn establish() -> Result<Context, CardError> {
    Context::establish(Scope::User).map_err(|e| CardError::NoService(e.to_string()))
}

/// Every reader pcscd knows.
pub fn list_readers() -> Result<Vec<String>, CardError> {
    let ctx = establish()?;
    readers(&ctx)
}

fn readers(ctx: &Context) -> Result<Vec<String>, CardError> {
    match ctx.list_readers_owned() {
        Ok(v) => Ok(v
            .into_iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect()),
        // pcscd answers "no readers" with an error; that is an empty list here.
        Err(PcscError::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(map_err("list readers", e)),
    }
}

/// A card in a PC/SC reader.
pub struct PcscCard {
    ctx: Context,
    reader: CString,
    card: Option<pcsc::Card>,
    wait: Duration,
}

impl PcscCard {
    /// Pick the first reader whose name contains `pattern` (any reader when None) and wait up
    /// to `wait` for a card. Nothing is connected until `power_on` or the first `transmit`.
    pub fn open(pattern: Option<&str>, wait: Duration) -> Result<PcscCard, CardError> {
        let ctx = establish()?;
        let names = readers(&ctx)?;
        let pat = pattern.unwrap_or("");
        let name = names
            .iter()
            .find(|n| n.contains(pat))
            .ok_or_else(|| CardError::NoReader {
                pattern: pat.to_string(),
                available: if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                },
            })?;
        let reader = CString::new(name.as_str()).map_err(|e| CardError::Config(e.to_string()))?;
        Ok(PcscCard {
            ctx,
            reader,
            card: None,
            wait,
        })
    }

    pub fn reader_name(&self) -> String {
        self.reader.to_string_lossy().into_owned()
    }

    /// Wait until the reader has (or lacks) a card, up to `wait`. The first call with
    /// `UNAWARE` returns the current state at once; later calls block until a change.
    pub fn wait_for(&self, present: bool, wait: Duration) -> Result<bool, CardError> {
        let mut rs = [ReaderState::new(self.reader.clone(), State::UNAWARE)];
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.ctx.get_status_change(left, &mut rs) {
                Ok(()) | Err(PcscError::Timeout) => {}
                Err(e) => return Err(map_err("get status change", e)),
            }
            let st = rs[0].event_state();
            if !st.contains(State::UNKNOWN) && st.contains(State::PRESENT) == present {
                return Ok(true);
            }
            rs[0].sync_current_state();
            if Instant::now() >= deadline {
                return Ok(false);
            }
        }
    }

    fn connect(&mut self) -> Result<(), CardError> {
        if !self.wait_for(true, self.wait)? {
            return Err(CardError::NoCard {
                reader: self.reader_name(),
                waited_ms: self.wait.as_millis() as u64,
            });
        }
        let c = self
            .ctx
            .connect(&self.reader, ShareMode::Shared, Protocols::ANY)
            .map_err(|e| match e {
                PcscError::NoSmartcard | PcscError::RemovedCard => CardError::NoCard {
                    reader: self.reader_name(),
                    waited_ms: self.wait.as_millis() as u64,
                },
                e => map_err("connect", e),
            })?;
        self.card = Some(c);
        Ok(())
    }

    fn atr(&self) -> Result<Vec<u8>, CardError> {
        let c = self.card.as_ref().ok_or(CardError::Removed)?;
        let st = c.status2_owned().map_err(|e| map_err("status", e))?;
        Ok(st.atr().to_vec())
    }
}

impl Card for PcscCard {
    fn power_on(&mut self) -> Result<Vec<u8>, CardError> {
        match self.card.as_mut() {
            Some(c) => {
                if let Err(e) =
                    c.reconnect(ShareMode::Shared, Protocols::ANY, Disposition::ResetCard)
                {
                    self.card = None;
                    if !matches!(e, PcscError::RemovedCard | PcscError::NoSmartcard) {
                        return Err(map_err("reconnect", e));
                    }
                    self.connect()?;
                }
            }
            None => self.connect()?,
        }
        self.atr()
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        if self.card.is_none() {
            self.connect()?;
        }
        let c = self.card.as_ref().ok_or(CardError::Removed)?;
        let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE];
        match c.transmit(apdu, &mut buf) {
            // vpcd answers an empty frame when the card's socket closed mid-command.
            Ok(r) if r.len() < 2 && self.wait_for(false, Duration::from_millis(1500))? => {
                self.card = None;
                Err(CardError::Removed)
            }
            Ok(r) => Ok(r.to_vec()),
            Err(e) => {
                let mut err = map_err("transmit", e);
                // vpcd (and some CCID readers) report a vanished card as a failed transfer;
                // if the reader is empty a moment later, that is what it was.
                if matches!(e, PcscError::NotTransacted | PcscError::CommError)
                    && self.wait_for(false, Duration::from_millis(1500))?
                {
                    err = CardError::Removed;
                }
                if matches!(err, CardError::Removed | CardError::Reset) {
                    // The handle is dead; the next use reconnects.
                    self.card = None;
                }
                Err(err)
            }
        }
    }

    /// A PC/SC host cannot pull a card: ask for it and wait `wait` for the reader to empty.
    fn remove(&mut self) -> Result<(), CardError> {
        eprintln!("posconf: remove the card from {:?}", self.reader_name());
        if let Some(c) = self.card.take() {
            let _ = c.disconnect(Disposition::LeaveCard);
        }
        if self.wait_for(false, self.wait)? {
            Ok(())
        } else {
            Err(CardError::NeedsOperator(format!(
                "the card was not removed from {:?} within {} ms",
                self.reader_name(),
                self.wait.as_millis()
            )))
        }
    }

    fn reinsert(&mut self) -> Result<(), CardError> {
        eprintln!("posconf: insert the card into {:?}", self.reader_name());
        if self.wait_for(true, self.wait)? {
            Ok(())
        } else {
            Err(CardError::NoCard {
                reader: self.reader_name(),
                waited_ms: self.wait.as_millis() as u64,
            })
        }
    }

    fn name(&self) -> String {
        format!("pcsc:{}", self.reader_name())
    }
}
