//! `posconf card` against the in-process virtual card (`--virtual`): output and exit codes,
//! no pcscd needed.

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_posconf"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn load_prints_balances_macs_and_no_keys() {
    let (code, out, err) = run(&["card", "load", "--virtual", "ep1", "--amount", "500"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("old balance 10.00 CNY"), "{out}");
    assert!(out.contains("new balance 15.00 CNY"), "{out}");
    assert!(out.contains("online ctr  7 -> 8"), "{out}");
    assert!(
        out.contains("MAC1 ") && out.contains("MAC2 ") && out.contains("TAC "),
        "{out}"
    );
    assert!(!out.contains("FFE36BB1033BEDCE"), "DLK only with --reveal");
    let (code, out, _) = run(&[
        "card",
        "load",
        "--virtual",
        "ep1",
        "--amount",
        "1",
        "--reveal",
    ]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("DLK FFE36BB1033BEDCE808D3E261050678B"),
        "{out}"
    );
}

#[test]
fn exit_codes() {
    let (code, _, err) = run(&[
        "card",
        "load",
        "--virtual",
        "ep1",
        "--amount",
        "5",
        "--key-index",
        "2",
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("9403 (key index not supported)"), "{err}");
    let (code, _, err) = run(&[
        "card",
        "load",
        "--virtual",
        "ep1",
        "--amount",
        "5",
        "--pin",
        "000000",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("63C2"), "{err}");
    let (code, _, err) = run(&["card", "load", "--virtual", "nope", "--amount", "5"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("ep1, ep2, ed1"), "{err}");
    let (code, _, err) = run(&[
        "card",
        "load",
        "--virtual",
        "ep1",
        "--amount",
        "5",
        "--terminal-id",
        "12",
    ]);
    assert_eq!(code, Some(2), "{err}");
    let (code, _, _) = run(&["card", "balance", "--virtual", "ep1", "--reader", "x"]);
    assert_eq!(code, Some(2), "clap usage error");
}

#[test]
fn balance_log_and_atr() {
    let (code, out, _) = run(&["card", "balance", "--virtual", "ed1", "--ed"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("e-passbook balance: 500.00 CNY (50000 fen)"),
        "{out}"
    );
    let (code, _, err) = run(&["card", "balance", "--virtual", "ed1"]);
    assert_eq!(code, Some(1), "ed1 has no e-purse");
    assert!(err.contains("6A82"), "{err}");
    let (code, out, _) = run(&["card", "log", "--virtual", "ep1"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("(no records)"), "{out}");
    let (code, out, _) = run(&["card", "atr", "--virtual", "ep2"]);
    assert_eq!(code, Some(0));
    assert_eq!(out.trim(), "3B8F8001804F0CA000000306030001000000006A");
}
