//! `posconf card ...`: serve the virtual card to pcscd, and read or load a card in a reader.
//!
//! Exit codes: 0 ok, 1 the card (or the issuer) refused — the status word is printed with its
//! meaning, 2 usage or fixture error, 3 infrastructure (no pcscd, no reader, no card).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::card::issuer::Issuer;
use crate::card::load::{self, LoadParams};
use crate::card::ops::{self, PbocError};
use crate::card::pboc::{PbocCard, PurseKind};
use crate::card::vpcd::{self, VpcdFlags, VpcdOptions};
use crate::card::{self as cardmod, Card, CardError, CardRig, PbocFixtures};

#[derive(Subcommand)]
pub enum CardCmd {
    /// Serve a virtual PBOC card to pcscd's vpcd driver until SIGINT/SIGTERM (the card is the
    /// TCP client; it reconnects if pcscd restarts).
    ServeVpcd {
        /// vpcd's address (slot 0 of /etc/reader.conf.d/vpcd listens on 35963).
        #[arg(long, default_value = vpcd::DEFAULT_ADDR)]
        addr: String,
        /// Fixture card to personalise (default: the first).
        #[arg(long)]
        card: Option<String>,
        /// PBOC cards fixture (YAML); default: the built-in fixtures/pboc-cards.yaml.
        #[arg(long)]
        cards: Option<PathBuf>,
        /// After the card pulls itself (fault switches), reinsert it after this many ms (0 =
        /// leave it out).
        #[arg(long, default_value_t = 1000)]
        reinsert_ms: u64,
        /// Log control frames and APDUs to stderr (VERIFY data masked).
        #[arg(short, long)]
        verbose: bool,
        /// Refuse posconf's fault-switch command `80 F0` (on by default, so suites can steer
        /// the served card through pcscd).
        #[arg(long)]
        no_test_hooks: bool,
    },
    /// List the PC/SC readers pcscd knows.
    Readers,
    /// Print the ATR of the card in a reader.
    Atr {
        #[command(flatten)]
        target: Target,
    },
    /// Print a purse's balance.
    Balance {
        #[command(flatten)]
        target: Target,
        /// The e-passbook (P2 = 01) instead of the e-purse; needs the PIN.
        #[arg(long)]
        ed: bool,
        /// PIN for the e-passbook (default: the fixture card's test PIN).
        #[arg(long)]
        pin: Option<String>,
    },
    /// Print the transaction log (EF18), newest first.
    Log {
        #[command(flatten)]
        target: Target,
    },
    /// Load (圈存) a purse, playing the issuer with the fixture's master keys; prints the old and
    /// new balance, MAC1, MAC2 and TAC.
    Load {
        /// Amount in fen.
        #[arg(long)]
        amount: u32,
        #[command(flatten)]
        target: Target,
        /// Fixture card whose issuer keys to use (default: the card whose serial the card
        /// reports, else the first).
        #[arg(long)]
        card: Option<String>,
        /// Terminal id, 12 hex digits.
        #[arg(long, default_value = "112233445566")]
        terminal_id: String,
        /// Key index for INITIALIZE FOR LOAD (default: the issuer's).
        #[arg(long)]
        key_index: Option<u8>,
        /// Load the e-passbook instead of the e-purse.
        #[arg(long)]
        ed: bool,
        /// PIN (default: the fixture card's test PIN).
        #[arg(long)]
        pin: Option<String>,
        /// Also print the card's diversified keys.
        #[arg(long)]
        reveal: bool,
    },
}

/// Which card: a PC/SC reader (default) or an in-process virtual card.
#[derive(Args)]
pub struct Target {
    /// Reader name substring (default: the first reader).
    #[arg(long)]
    reader: Option<String>,
    /// Use the in-process virtual card of this fixture name instead of a reader.
    #[arg(long = "virtual", value_name = "CARD", conflicts_with = "reader")]
    virtual_card: Option<String>,
    /// PBOC cards fixture (YAML); default: the built-in fixtures/pboc-cards.yaml.
    #[arg(long)]
    cards: Option<PathBuf>,
    /// How long to wait for a card in the reader.
    #[arg(long, default_value_t = cardmod::DEFAULT_WAIT_MS)]
    wait_ms: u64,
}

impl Target {
    fn fixtures(&self) -> Result<PbocFixtures, PbocError> {
        PbocFixtures::load_or_builtin(self.cards.as_deref())
            .map_err(|e| PbocError::Card(CardError::from(e)))
    }

    fn open(&self, fx: &PbocFixtures) -> Result<Box<dyn Card>, PbocError> {
        let rig = match &self.virtual_card {
            Some(name) => CardRig::virtual_card(Some(name)),
            None => CardRig {
                driver: cardmod::CardDriver::Pcsc,
                reader: self.reader.clone(),
                card: None,
                wait_ms: Some(self.wait_ms),
            },
        };
        Ok(cardmod::open(&rig, fx)?)
    }
}

fn fen(v: u32) -> String {
    format!("{}.{:02} CNY", v / 100, v % 100)
}

/// The fixture card matching the card's serial, or the named one, or the first.
fn fixture_card<'a>(
    fx: &'a PbocFixtures,
    name: Option<&str>,
    serial: &[u8; 10],
) -> Result<&'a crate::card::fixture::PbocCardFixture, PbocError> {
    let conf = |e: crate::fixtures::FixtureError| PbocError::Card(CardError::from(e));
    if let Some(n) = name {
        return fx.card(n).map_err(conf);
    }
    let hexs = hex::encode_upper(serial);
    match fx
        .cards
        .iter()
        .find(|c| c.app_serial.eq_ignore_ascii_case(&hexs))
    {
        Some(c) => Ok(c),
        None => fx.first_card().map_err(conf),
    }
}

fn host_now() -> ([u8; 4], [u8; 3]) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d) = crate::host::centre::civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    let digits = format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        t / 3600,
        t % 3600 / 60,
        t % 60
    );
    let b = hex::decode(digits).unwrap_or_else(|_| vec![0; 7]);
    ([b[0], b[1], b[2], b[3]], [b[4], b[5], b[6]])
}

/// Run a `posconf card` subcommand; returns the exit code.
pub fn run(cmd: CardCmd) -> i32 {
    let r = match cmd {
        CardCmd::ServeVpcd {
            addr,
            card,
            cards,
            reinsert_ms,
            verbose,
            no_test_hooks,
        } => serve_vpcd(addr, card, cards, reinsert_ms, verbose, !no_test_hooks),
        CardCmd::Readers => crate::card::pcsc::list_readers()
            .map(|rs| {
                for r in rs {
                    println!("{r}");
                }
            })
            .map_err(PbocError::from),
        CardCmd::Atr { target } => (|| {
            let fx = target.fixtures()?;
            let mut c = target.open(&fx)?;
            let atr = c.power_on()?;
            println!("{}", hex::encode_upper(atr));
            Ok(())
        })(),
        CardCmd::Balance { target, ed, pin } => (|| {
            let fx = target.fixtures()?;
            let mut c = target.open(&fx)?;
            let card = c.as_mut();
            ops::select_app(card)?;
            let purse = if ed { PurseKind::Ed } else { PurseKind::Ep };
            if ed {
                let serial = ops::app_serial(&ops::read_ef15(card)?)?;
                let pin = match pin {
                    Some(p) => p,
                    None => fixture_card(&fx, None, &serial)?.pin.expose().to_string(),
                };
                ops::verify_pin(card, &pin)?;
            }
            let b = ops::get_balance(card, purse)?;
            println!(
                "{} balance: {} ({b} fen)",
                if ed { "e-passbook" } else { "e-purse" },
                fen(b)
            );
            Ok(())
        })(),
        CardCmd::Log { target } => (|| {
            let fx = target.fixtures()?;
            let mut c = target.open(&fx)?;
            ops::select_app(c.as_mut())?;
            let log = ops::read_log(c.as_mut())?;
            if log.is_empty() {
                println!("(no records)");
            }
            for (i, r) in log.iter().enumerate() {
                println!("{:>2}  {r}", i + 1);
            }
            Ok(())
        })(),
        CardCmd::Load {
            amount,
            target,
            card,
            terminal_id,
            key_index,
            ed,
            pin,
            reveal,
        } => (|| {
            let fx = target.fixtures()?;
            let terminal_id = ops::terminal_id(&terminal_id)?;
            let mut c = target.open(&fx)?;
            let cd = c.as_mut();
            ops::select_app(cd)?;
            let serial = ops::app_serial(&ops::read_ef15(cd)?)?;
            let fc = fixture_card(
                &fx,
                card.as_deref().or(target.virtual_card.as_deref()),
                &serial,
            )?;
            let issuer = Issuer::for_card(&fx, &fc.name).map_err(CardError::from)?;
            let (host_date, host_time) = host_now();
            let p = LoadParams {
                purse: if ed { PurseKind::Ed } else { PurseKind::Ep },
                key_index: key_index.unwrap_or(issuer.key_index),
                amount,
                terminal_id,
                pin: Some(pin.unwrap_or_else(|| fc.pin.expose().to_string())),
                host_date,
                host_time,
            };
            let out = load::perform_load(cd, &issuer, &p)?;
            println!(
                "card        {} (serial {}, issuer {})",
                cd.name(),
                out.app_serial,
                issuer.name
            );
            println!("old balance {}", fen(out.old_balance));
            println!("new balance {}", fen(out.new_balance));
            println!(
                "online ctr  {} -> {}",
                out.online_ctr,
                out.online_ctr.wrapping_add(1)
            );
            println!(
                "MAC1 {}  MAC2 {}  TAC {} (verified)",
                out.mac1, out.mac2, out.tac
            );
            if reveal {
                let keys = issuer
                    .card_keys(ops::factor_of(&serial))
                    .map_err(CardError::from)?;
                println!("DLK {}  DTK {}", keys.dlk.hex(), keys.dtk.hex());
            }
            Ok(())
        })(),
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("posconf card: {e}");
            e.exit_code()
        }
    }
}

fn serve_vpcd(
    addr: String,
    card: Option<String>,
    cards: Option<PathBuf>,
    reinsert_ms: u64,
    verbose: bool,
    test_hooks: bool,
) -> Result<(), PbocError> {
    let fx = PbocFixtures::load_or_builtin(cards.as_deref()).map_err(CardError::from)?;
    let name = match card {
        Some(n) => n,
        None => fx.first_card().map_err(CardError::from)?.name.clone(),
    };
    let mut c = PbocCard::from_fixture(&fx, &name).map_err(CardError::from)?;
    c.set_test_hooks(test_hooks);
    let opts = VpcdOptions {
        addr: addr.clone(),
        verbose,
        reinsert_after: (reinsert_ms > 0).then(|| Duration::from_millis(reinsert_ms)),
    };
    let flags = Arc::new(VpcdFlags::default());
    let f2 = flags.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PbocError::Usage(e.to_string()))?;
    // Signals on a tokio task; the vpicc loop is plain blocking I/O on its own thread.
    std::thread::spawn(move || {
        rt.block_on(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                if let Ok(mut term) = signal(SignalKind::terminate()) {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                } else {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
        });
        f2.stop.store(true, Ordering::SeqCst);
    });
    eprintln!("posconf card serve-vpcd: card {name:?} for vpcd at {addr} (Ctrl-C to stop)");
    vpcd::serve(Arc::new(Mutex::new(c)), &opts, &flags)?;
    Ok(())
}
