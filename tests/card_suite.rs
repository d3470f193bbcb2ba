//! `posconf run suites/pboc-load` end to end on the in-process virtual card (the pcscd variant
//! runs in hil-rig/setup.sh), and proof that card steps can fail: wrong expectations, a rig
//! whose reader is missing (exit 3) or whose card driver is misspelt (exit 2).

use std::path::PathBuf;
use std::process::Command;

fn posconf(args: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_posconf"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run posconf");
    (
        o.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("posconf-cards-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_pboc_load_suite_passes_on_the_virtual_card() {
    let dir = tmp("ok");
    let (code, out) = posconf(&[
        "run",
        "suites/pboc-load",
        "--report-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("12 passed, 0 failed"), "{out}");
    // The issuer's verdicts are in the transcript.
    let t = std::fs::read_to_string(dir.join("transcript.jsonl")).unwrap();
    for e in [
        "\"pboc_load\"",
        "\"pboc_confirm\"",
        "\"pboc_reversal\"",
        "tac_verified",
    ] {
        assert!(t.contains(e), "{e} missing from the transcript");
    }
}

const WRONG: &str = r#"suite: wrong
cases:
  - id: wrong-balance
    requirements: ["003.load.credit"]
    title: {zh: 错, en: wrong}
    steps:
      - sign_in: {}
      - card: {load: {amount: 500}}
      - card: {expect_card: {balance_change: 499}}
  - id: wrong-code
    requirements: ["003.load.mac1"]
    title: {zh: 错, en: wrong}
    steps:
      - sign_in: {}
      - card: {load: {amount: 500, expect: A7}}
      - card: {expect_host: {confirmed: 1}}
  - id: wrong-agree
    requirements: ["003.load.atomic"]
    title: {zh: 错, en: wrong}
    steps:
      - sign_in: {}
      - card: {host_faults: {wrong_mac2: true}}
      - card: {load: {amount: 500, expect: "9302"}}
      - card: {expect_host: {reversed: 0}}
"#;

#[test]
fn wrong_card_expectations_fail_the_case() {
    let dir = tmp("wrong");
    let suite = dir.join("wrong.yaml");
    std::fs::write(&suite, WRONG).unwrap();
    let (code, out) = posconf(&[
        "run",
        suite.to_str().unwrap(),
        "--report-dir",
        dir.join("r").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("0 passed, 3 failed"), "{out}");
    assert!(
        out.contains("balance changed by 500, expected 499"),
        "{out}"
    );
    assert!(out.contains("expected A7, got 00"), "{out}");
    assert!(out.contains("0 loads confirmed, expected 1"), "{out}");
    assert!(out.contains("1 loads reversed, expected 0"), "{out}");
}

#[test]
fn rig_card_sections_missing_reader_is_3_and_a_typo_is_2() {
    let dir = tmp("rig");
    let rig = dir.join("rig.yaml");
    std::fs::write(
        &rig,
        "card: {driver: pcsc, reader: \"No Such Reader posconf\", wait_ms: 100}\n",
    )
    .unwrap();
    let (code, out) = posconf(&[
        "run",
        "suites/pboc-load/03-purchase.yaml",
        "--rig",
        rig.to_str().unwrap(),
        "--report-dir",
        dir.join("r").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(3), "{out}");
    std::fs::write(&rig, "card: {driver: virtul}\n").unwrap();
    let (code, out) = posconf(&[
        "run",
        "suites/pboc-load/03-purchase.yaml",
        "--rig",
        rig.to_str().unwrap(),
        "--report-dir",
        dir.join("r2").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("virtul"), "{out}");
}

#[test]
fn a_terminal_without_pboc_load_skips_the_cases() {
    let dir = tmp("caps");
    let caps = dir.join("caps.yaml");
    std::fs::write(
        &caps,
        "terminal: Vendor X T1\nsupports: [magstripe, pin-pad]\n",
    )
    .unwrap();
    let (code, out) = posconf(&[
        "run",
        "suites/pboc-load",
        "--capabilities",
        caps.to_str().unwrap(),
        "--report-dir",
        dir.join("r").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("0 passed, 0 failed, 12 skipped"), "{out}");
    let junit = std::fs::read_to_string(dir.join("r").join("junit.xml")).unwrap();
    assert!(
        junit.contains("needs pboc-load"),
        "the skip names the capability"
    );
}

/// The e-passbook card through the whole stack: a rig naming the virtual card `ed1`.
#[test]
fn an_e_passbook_card_loads_through_the_terminal_and_host() {
    let dir = tmp("ed");
    let rig = dir.join("rig.yaml");
    std::fs::write(&rig, "card: {driver: virtual, card: ed1}\n").unwrap();
    let suite = dir.join("ed.yaml");
    std::fs::write(
        &suite,
        r#"suite: ed
cases:
  - id: ed-load
    requirements: ["003.load.credit"]
    title: {zh: 电子存折圈存, en: e-passbook load}
    needs: [pboc-load]
    steps:
      - sign_in: {}
      - card: {load: {amount: 2500, purse: ed}}
      - card: {expect_card: {purse: ed, balance_change: 2500, new_log_records: 1}}
      - card: {upload_tacs: {}}
      - card: {expect_host: {confirmed: 1}}
      - card: {expect_agree: {purse: ed}}
      - card: {load: {amount: 1, purse: ep, expect: 6A82}}
"#,
    )
    .unwrap();
    let (code, out) = posconf(&[
        "run",
        suite.to_str().unwrap(),
        "--rig",
        rig.to_str().unwrap(),
        "--report-dir",
        dir.join("r").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");
}
