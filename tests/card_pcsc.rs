//! The card layer through the real PC/SC stack: our vpcd client (in process, on a thread)
//! feeds pcscd's vpcd driver, and our `pcsc` driver talks to it as to any reader.
//!
//! Needs pcscd with vsmartcard-vpcd (`bash hil-rig/pcscd.sh start`). Without it the tests
//! print a loud SKIPPED line and pass, unless `CI` or `POSCONF_PCSCD` is set: then they fail.
//! One static mutex serialises them: there is one reader slot (35963) and one card.

use std::sync::Mutex;
use std::time::Duration;

use posconf::card::issuer::Issuer;
use posconf::card::load::{self, LoadParams};
use posconf::card::ops::{self, PbocError};
use posconf::card::pboc::{Faults, PbocCard, PurseKind};
use posconf::card::pcsc::{self, PcscCard};
use posconf::card::vpcd::{VpcdHandle, VpcdOptions};
use posconf::card::{Card, CardError, PbocFixtures};

static SERIAL: Mutex<()> = Mutex::new(());

const READER: &str = "Virtual PCD 00 00";

/// True when pcscd with the vpcd reader is there; otherwise SKIPPED (or a failure under CI).
fn pcscd_ready() -> bool {
    let must = std::env::var_os("CI").is_some() || std::env::var_os("POSCONF_PCSCD").is_some();
    let why = match pcsc::list_readers() {
        Ok(rs) if rs.iter().any(|r| r.contains("Virtual PCD")) => return true,
        Ok(rs) => {
            format!("no \"Virtual PCD\" reader (readers: {rs:?}); is vsmartcard-vpcd installed?")
        }
        Err(e) => e.to_string(),
    };
    if must {
        panic!("pcscd is required here (CI or POSCONF_PCSCD is set): {why}");
    }
    // Straight to fd 2: libtest captures eprintln! of passing tests, and this must be seen.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: pcscd not running ({why}); start it with `bash hil-rig/pcscd.sh start` ***\n"
    );
    false
}

fn serve(name: &str, reinsert_after: Option<Duration>) -> VpcdHandle {
    let fx = PbocFixtures::builtin().unwrap();
    let card = PbocCard::from_fixture(&fx, name).unwrap();
    let h = VpcdHandle::spawn(
        card,
        VpcdOptions {
            addr: "127.0.0.1:35963".into(),
            verbose: false,
            reinsert_after,
        },
    );
    assert!(
        h.wait_connected(true, Duration::from_secs(10)),
        "vpcd client did not connect"
    );
    // TCP is up at once; pcscd sees the card at its next poll.
    let probe = PcscCard::open(Some(READER), Duration::from_secs(10)).unwrap();
    assert!(
        probe.wait_for(true, Duration::from_secs(10)).unwrap(),
        "pcscd never saw the card"
    );
    h
}

/// Stop the card and wait until pcscd has seen it go, so the next test starts clean.
fn finish(c: PcscCard, h: VpcdHandle) {
    drop(c);
    h.stop();
    let probe = PcscCard::open(Some(READER), Duration::from_secs(10)).unwrap();
    assert!(
        probe.wait_for(false, Duration::from_secs(10)).unwrap(),
        "pcscd still sees a card"
    );
}

fn reader() -> PcscCard {
    PcscCard::open(Some(READER), Duration::from_secs(10)).unwrap()
}

fn params(amount: u32) -> LoadParams {
    LoadParams {
        purse: PurseKind::Ep,
        key_index: 1,
        amount,
        terminal_id: [0x11, 0x22, 0x33, 0x44, 0x55, 0x66],
        pin: Some("123456".into()),
        host_date: [0x20, 0x25, 0x03, 0x14],
        host_time: [0x10, 0x30, 0x00],
    }
}

#[test]
fn readers_atr_and_balance() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    if !pcscd_ready() {
        return;
    }
    let h = serve("ep1", None);
    let rs = pcsc::list_readers().unwrap();
    assert!(rs.iter().any(|r| r == READER), "{rs:?}");
    let mut c = reader();
    let atr = c.power_on().unwrap();
    assert_eq!(atr, h.card().atr());
    assert!(c.name().contains(READER));
    ops::select_app(&mut c).unwrap();
    assert_eq!(ops::get_balance(&mut c, PurseKind::Ep).unwrap(), 1000);
    // A refusal comes back as a status word, not an infrastructure error.
    let e = ops::get_balance(&mut c, PurseKind::Ed).unwrap_err();
    assert_eq!(e.sw(), Some(0x6A82), "{e}");
    let e = PcscCard::open(Some("No Such Reader"), Duration::from_millis(10))
        .err()
        .unwrap();
    assert!(
        matches!(e, CardError::NoReader { .. }) && e.is_infrastructure(),
        "{e}"
    );
    finish(c, h);
}

#[test]
fn full_load_with_mac1_mac2_tac() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    if !pcscd_ready() {
        return;
    }
    let h = serve("ep1", None);
    h.card().queue_randoms([[0xA1, 0xB2, 0xC3, 0xD4]]);
    let fx = PbocFixtures::builtin().unwrap();
    let issuer = Issuer::for_card(&fx, "ep1").unwrap();
    let mut c = reader();
    c.power_on().unwrap();
    let out = load::perform_load(&mut c, &issuer, &params(2000)).unwrap();
    // Digest vector C, this time through pcscd.
    assert_eq!(
        (out.mac1.as_str(), out.mac2.as_str(), out.tac.as_str()),
        ("41890366", "8D4D5EFF", "F6AFD177")
    );
    assert_eq!((out.old_balance, out.new_balance), (1000, 3000));
    let st = h.card().state().clone();
    assert_eq!(st.ep.unwrap().balance, 3000);
    assert_eq!(st.ep.unwrap().online_ctr, 8);
    assert_eq!(ops::read_log(&mut c).unwrap(), st.log);
    finish(c, h);
}

#[test]
fn removal_is_detected_when_the_vpcd_client_disconnects() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    if !pcscd_ready() {
        return;
    }
    let h = serve("ep1", None);
    let mut c = reader();
    c.power_on().unwrap();
    ops::select_app(&mut c).unwrap();
    h.eject();
    assert!(h.wait_connected(false, Duration::from_secs(5)));
    let mut err = None;
    for _ in 0..50 {
        match c.transmit(&[0x80, 0x5C, 0x00, 0x02, 0x04]) {
            Ok(_) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let e = err.expect("the reader never noticed the card leaving");
    assert!(matches!(e, CardError::Removed | CardError::Reset), "{e}");
    // No card now: waiting for one times out as an infrastructure fault.
    let mut c2 = PcscCard::open(Some(READER), Duration::from_millis(300)).unwrap();
    let e = c2.power_on().unwrap_err();
    assert!(e.is_infrastructure(), "{e}");
    // Back in: the same handle reconnects.
    h.insert();
    assert!(h.wait_connected(true, Duration::from_secs(10)));
    let mut ok = false;
    for _ in 0..50 {
        if c.power_on().is_ok() {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ok, "card not usable after reinsertion");
    ops::select_app(&mut c).unwrap();
    assert_eq!(ops::get_balance(&mut c, PurseKind::Ep).unwrap(), 1000);
    finish(c, h);
}

#[test]
fn card_pulled_between_initialize_and_credit_moves_no_money() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    if !pcscd_ready() {
        return;
    }
    let h = serve("ep1", Some(Duration::from_millis(300)));
    h.card().set_faults(Faults {
        pull_after_init: true,
        ..Faults::default()
    });
    let fx = PbocFixtures::builtin().unwrap();
    let issuer = Issuer::for_card(&fx, "ep1").unwrap();
    let mut c = reader();
    c.power_on().unwrap();
    let e = load::perform_load(&mut c, &issuer, &params(500)).unwrap_err();
    assert!(
        matches!(e, PbocError::Card(CardError::Removed | CardError::Reset)),
        "{e}"
    );
    assert_eq!(h.card().state().ep.unwrap().balance, 1000);
    assert!(h.card().state().log.is_empty());
    // The card comes back by itself (reinsert_after); the load then happens exactly once.
    assert!(h.wait_connected(true, Duration::from_secs(10)));
    let mut out = None;
    for _ in 0..50 {
        match load::perform_load(&mut c, &issuer, &params(500)) {
            Ok(o) => {
                out = Some(o);
                break;
            }
            Err(PbocError::Card(_)) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("{e}"),
        }
    }
    let out = out.expect("no load after reinsertion");
    assert_eq!((out.old_balance, out.new_balance), (1000, 1500));
    assert_eq!(h.card().state().log.len(), 1);
    finish(c, h);
}

/// The binary end to end: `posconf card serve-vpcd` as a child process, `posconf card ...`
/// against the reader, SIGTERM stops the server.
#[test]
fn cli_serve_vpcd_and_load_through_the_reader() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    if !pcscd_ready() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_posconf");
    let mut server = std::process::Command::new(bin)
        .args(["card", "serve-vpcd", "--card", "ep2"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let probe = PcscCard::open(Some(READER), Duration::from_secs(10)).unwrap();
    assert!(
        probe.wait_for(true, Duration::from_secs(10)).unwrap(),
        "pcscd never saw the card"
    );
    let run = |args: &[&str]| {
        let o = std::process::Command::new(bin).args(args).output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["card", "load", "--reader", READER, "--amount", "250"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("old balance 0.00 CNY") && out.contains("new balance 2.50 CNY"),
        "{out}"
    );
    assert!(
        out.contains("TAC") && !out.contains("DLK"),
        "keys only with --reveal: {out}"
    );
    let (code, out, _) = run(&["card", "balance", "--reader", READER]);
    assert_eq!(code, Some(0));
    assert!(out.contains("2.50 CNY"), "{out}");
    let (code, _, err) = run(&[
        "card",
        "load",
        "--reader",
        READER,
        "--amount",
        "1",
        "--key-index",
        "9",
    ]);
    assert_eq!(code, Some(1), "a refusal is exit 1: {err}");
    assert!(
        err.contains("9403") && err.contains("key index not supported"),
        "{err}"
    );
    let (code, _, err) = run(&["card", "atr", "--reader", "No Such Reader"]);
    assert_eq!(code, Some(3), "{err}");
    // SIGTERM ends the server; pcscd then sees the reader empty.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let mut exited = false;
    for _ in 0..50 {
        if let Ok(Some(_)) = server.try_wait() {
            exited = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !exited {
        let _ = server.kill();
        panic!("serve-vpcd ignored SIGTERM");
    }
    assert!(probe.wait_for(false, Duration::from_secs(10)).unwrap());
}
