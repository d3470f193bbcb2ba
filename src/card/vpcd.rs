//! Serve a virtual PBOC card to pcscd's vpcd driver (vsmartcard's vpicc protocol, digest §6):
//! the card is a TCP *client* of vpcd (default 127.0.0.1:35963); every message both ways is a
//! u16 big-endian length and that many bytes; 1-byte frames are control (00 off, 01 on,
//! 02 reset, 04 get ATR), anything else a C-APDU answered with `data ‖ SW`. "Card removed" is
//! the socket closing, so ejecting the card closes it and reinserting reconnects. If pcscd
//! restarts, the client reconnects in a loop.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::pboc::PbocCard;
use super::{Card, CardError};

pub const DEFAULT_ADDR: &str = "127.0.0.1:35963";

/// How the client behaves.
#[derive(Debug, Clone)]
pub struct VpcdOptions {
    pub addr: String,
    /// Log control frames and APDUs to stderr (VERIFY data masked).
    pub verbose: bool,
    /// After the card left by itself (a pull or tear fault), put it back after this long, as
    /// an operator would; None leaves it out until [`VpcdHandle::insert`].
    pub reinsert_after: Option<Duration>,
}

impl Default for VpcdOptions {
    fn default() -> VpcdOptions {
        VpcdOptions {
            addr: DEFAULT_ADDR.into(),
            verbose: false,
            reinsert_after: Some(Duration::from_millis(1000)),
        }
    }
}

/// Flags shared between the serving thread and its owner.
#[derive(Debug, Default)]
pub struct VpcdFlags {
    pub stop: AtomicBool,
    /// True = the card is out of the reader (socket closed, no reconnect).
    pub ejected: AtomicBool,
    /// True while a vpcd connection is up.
    pub connected: AtomicBool,
}

fn lock(card: &Arc<Mutex<PbocCard>>) -> MutexGuard<'_, PbocCard> {
    // A panic elsewhere must not take the card down with it: the state is plain data.
    card.lock().unwrap_or_else(|p| p.into_inner())
}

fn resolve(addr: &str) -> Result<SocketAddr, CardError> {
    addr.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| CardError::Config(format!("vpcd address {addr:?} does not resolve")))
}

fn show(frame: &[u8]) -> String {
    // Never log a PIN: VERIFY's data is masked.
    if frame.len() > 5 && frame[0] == 0x00 && frame[1] == 0x20 {
        return format!("{} ****", hex::encode_upper(&frame[..5]));
    }
    hex::encode_upper(frame)
}

/// Serve `card` until `flags.stop`. Returns only on stop, or on an address that cannot be
/// resolved.
pub fn serve(
    card: Arc<Mutex<PbocCard>>,
    opts: &VpcdOptions,
    flags: &VpcdFlags,
) -> Result<(), CardError> {
    let addr = resolve(&opts.addr)?;
    let mut out_since: Option<Instant> = None;
    let mut warned = false;
    while !flags.stop.load(Ordering::SeqCst) {
        if !lock(&card).is_present() {
            let since = *out_since.get_or_insert_with(Instant::now);
            if let Some(after) = opts.reinsert_after {
                if since.elapsed() >= after {
                    let _ = lock(&card).reinsert();
                    out_since = None;
                    if opts.verbose {
                        eprintln!("vpcd: card reinserted");
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        out_since = None;
        if flags.ejected.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let stream = match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Ok(s) => s,
            Err(e) => {
                if !warned {
                    eprintln!("vpcd: cannot reach {addr} ({e}); is pcscd running with the vpcd driver? retrying");
                    warned = true;
                }
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        };
        warned = false;
        if opts.verbose {
            eprintln!("vpcd: connected to {addr}");
        }
        flags.connected.store(true, Ordering::SeqCst);
        let r = session(stream, &card, opts, flags);
        flags.connected.store(false, Ordering::SeqCst);
        if opts.verbose {
            eprintln!(
                "vpcd: disconnected ({})",
                r.err()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "card out".into())
            );
        }
    }
    Ok(())
}

fn send(stream: &mut TcpStream, data: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    let mut v = Vec::with_capacity(data.len() + 2);
    v.extend(len.to_be_bytes());
    v.extend(&data[..usize::from(len)]);
    stream.write_all(&v)
}

/// One connection; Ok when the card left or we were told to stop, Err when vpcd went away.
fn session(
    mut stream: TcpStream,
    card: &Arc<Mutex<PbocCard>>,
    opts: &VpcdOptions,
    flags: &VpcdFlags,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_millis(50)))?;
    stream.set_nodelay(true)?;
    let mut buf: Vec<u8> = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        if flags.stop.load(Ordering::SeqCst) || flags.ejected.load(Ordering::SeqCst) {
            return Ok(());
        }
        if !lock(card).is_present() {
            return Ok(());
        }
        match stream.read(&mut tmp) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "vpcd closed the connection",
                ))
            }
            Ok(n) => buf.extend(&tmp[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(e) => return Err(e),
        }
        while buf.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
            if buf.len() < 2 + len {
                break;
            }
            let frame: Vec<u8> = buf.drain(..2 + len).skip(2).collect();
            let mut c = lock(card);
            match frame.as_slice() {
                [0x00] => {
                    c.power_off();
                    if opts.verbose {
                        eprintln!("vpcd: power off");
                    }
                }
                [0x01] | [0x02] => {
                    let _ = c.power_on();
                    if opts.verbose {
                        eprintln!("vpcd: {}", if frame[0] == 1 { "power on" } else { "reset" });
                    }
                }
                [0x04] => {
                    let atr = c.atr().to_vec();
                    drop(c);
                    send(&mut stream, &atr)?;
                }
                [_] => {
                    if opts.verbose {
                        eprintln!("vpcd: unknown control byte {:02X}", frame[0]);
                    }
                }
                apdu => {
                    if opts.verbose {
                        eprintln!("> {}", show(apdu));
                    }
                    match c.process(apdu) {
                        Ok(r) => {
                            drop(c);
                            let bytes = r.to_bytes();
                            if opts.verbose {
                                eprintln!("< {}", hex::encode_upper(&bytes));
                            }
                            send(&mut stream, &bytes)?;
                        }
                        Err(_) => {
                            // Torn: the card is gone mid-command; vpcd sees the socket close.
                            if opts.verbose {
                                eprintln!("< (card lost power)");
                            }
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
}

/// A vpcd client on its own thread, with the card shared so a test can inspect it.
pub struct VpcdHandle {
    pub card: Arc<Mutex<PbocCard>>,
    pub flags: Arc<VpcdFlags>,
    thread: Option<JoinHandle<Result<(), CardError>>>,
}

impl VpcdHandle {
    pub fn spawn(card: PbocCard, opts: VpcdOptions) -> VpcdHandle {
        let card = Arc::new(Mutex::new(card));
        let flags = Arc::new(VpcdFlags::default());
        let (c, f) = (card.clone(), flags.clone());
        let thread = std::thread::spawn(move || serve(c, &opts, &f));
        VpcdHandle {
            card,
            flags,
            thread: Some(thread),
        }
    }

    /// Take the card out: the socket closes and stays closed until [`VpcdHandle::insert`].
    pub fn eject(&self) {
        self.flags.ejected.store(true, Ordering::SeqCst);
    }

    /// Put the card back (also after it pulled itself with a fault switch).
    pub fn insert(&self) {
        if !self.card().is_present() {
            let _ = self.card().reinsert();
        }
        self.flags.ejected.store(false, Ordering::SeqCst);
    }

    pub fn is_connected(&self) -> bool {
        self.flags.connected.load(Ordering::SeqCst)
    }

    /// Wait up to `d` for the connection state to become `up`.
    pub fn wait_connected(&self, up: bool, d: Duration) -> bool {
        let end = Instant::now() + d;
        while Instant::now() < end {
            if self.is_connected() == up {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.is_connected() == up
    }

    pub fn card(&self) -> MutexGuard<'_, PbocCard> {
        lock(&self.card)
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.flags.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for VpcdHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn frame(s: &mut TcpStream, d: &[u8]) {
        send(s, d).unwrap();
    }
    fn recv(s: &mut TcpStream) -> Vec<u8> {
        let mut l = [0u8; 2];
        s.read_exact(&mut l).unwrap();
        let mut v = vec![0u8; usize::from(u16::from_be_bytes(l))];
        s.read_exact(&mut v).unwrap();
        v
    }

    /// A fake vpcd: the card connects, answers 04 with its ATR and an APDU with data ‖ SW,
    /// closes on eject and reconnects on insert.
    #[test]
    fn speaks_vpicc_to_a_fake_vpcd() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let fx = crate::card::PbocFixtures::builtin().unwrap();
        let card = PbocCard::from_fixture(&fx, "ep1").unwrap();
        let atr = card.atr().to_vec();
        let h = VpcdHandle::spawn(
            card,
            VpcdOptions {
                addr,
                verbose: false,
                reinsert_after: None,
            },
        );
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        frame(&mut s, &[0x04]);
        assert_eq!(recv(&mut s), atr);
        frame(&mut s, &[0x01]);
        // Two frames in one write: the reader must split them.
        let mut two = vec![0, 7, 0x00, 0xA4, 0x00, 0x00, 0x02, 0x10, 0x01];
        two.extend([0, 5, 0x80, 0x5C, 0x00, 0x02, 0x04]);
        s.write_all(&two).unwrap();
        let sel = recv(&mut s);
        assert_eq!(&sel[sel.len() - 2..], &[0x90, 0x00]);
        assert_eq!(recv(&mut s), vec![0, 0, 0x03, 0xE8, 0x90, 0x00]);
        h.eject();
        let mut b = [0u8; 1];
        assert_eq!(s.read(&mut b).unwrap(), 0, "eject closes the socket");
        h.insert();
        let (mut s2, _) = l.accept().unwrap();
        s2.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        frame(&mut s2, &[0x04]);
        assert_eq!(recv(&mut s2), atr);
        // pcscd restarting closes its end: the card connects again by itself.
        drop(s2);
        let (mut s3, _) = l.accept().unwrap();
        s3.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        frame(&mut s3, &[0x04]);
        assert_eq!(recv(&mut s3), atr);
        // A card that pulls itself (fault switch) closes the socket, then stays out until
        // inserted (no reinsert_after here).
        h.card().set_faults(crate::card::pboc::Faults {
            pull_after_init: true,
            ..Default::default()
        });
        h.card().set_require_pin(false);
        frame(&mut s3, &[0x00, 0xA4, 0x00, 0x00, 0x02, 0x10, 0x01]);
        let _ = recv(&mut s3);
        frame(
            &mut s3,
            &[
                0x80, 0x50, 0x00, 0x02, 0x0B, 0x01, 0, 0, 0, 1, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                0x10,
            ],
        );
        let init = recv(&mut s3);
        assert_eq!(init.len(), 18, "the INIT answer still leaves the card");
        let mut b = [0u8; 1];
        assert_eq!(s3.read(&mut b).unwrap(), 0, "then the socket closes");
        assert!(!h.card().is_present());
        h.insert();
        let (mut s4, _) = l.accept().unwrap();
        s4.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        frame(&mut s4, &[0x04]);
        assert_eq!(recv(&mut s4), atr);
        h.stop();
    }
}
