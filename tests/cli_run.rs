//! `posconf run` as CI and labs call it: exit codes, reports on disk, JUnit content.

use std::process::Command;

fn posconf(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_posconf"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run posconf")
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("posconf-run-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_cup_direct_suite_passes_and_leaves_its_reports() {
    let dir = tmp("ok");
    let o = posconf(&[
        "run",
        "suites/cup-direct",
        "--report-dir",
        dir.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("0 failed"), "{out}");
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains("7.1.9-reversal-no-answer [7.1.9,11.2.3]"),
        "case id and requirements in the name"
    );
    assert!(
        junit.contains("<skipped"),
        "the manual case is reported as skipped"
    );
    let (records, _) = posconf::transcript::read_transcript(&dir.join("transcript.jsonl")).unwrap();
    assert!(
        records
            .iter()
            .any(|r| r.case.as_deref() == Some("7.1.3-void")),
        "records tagged with their case"
    );
    assert!(std::fs::metadata(dir.join("traffic.pcap")).unwrap().len() > 24);
    // Filter by requirement section.
    let o = posconf(&[
        "run",
        "suites/cup-direct",
        "--filter",
        "A3",
        "--report-dir",
        dir.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(" 0 failed, 0 skipped"), "{out}");
    let ran: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("PASS") || l.starts_with("FAIL"))
        .collect();
    assert!(
        ran.len() >= 3 && ran.iter().all(|l| l.contains("A3")),
        "only cases covering A3: {out}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_failing_case_is_exit_1_and_a_broken_suite_exit_2() {
    let dir = tmp("bad");
    let suite = dir.join("s.yaml");
    std::fs::write(&suite, "suite: t\ncases:\n  - id: x\n    requirements: [\"7.1.2\"]\n    title: {zh: 消费, en: purchase}\n    steps:\n      - sign_in: {}\n      - purchase: {card: lost, amount: 100}\n").unwrap();
    let o = posconf(&[
        "run",
        suite.to_str().unwrap(),
        "--report-dir",
        dir.join("r").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let junit = std::fs::read_to_string(dir.join("r/junit.xml")).unwrap();
    assert!(
        junit.contains("step 2 purchase: expected 00, got 41"),
        "{junit}"
    );
    std::fs::write(&suite, "suite: t\ncases:\n  - id: x\n    requirements: []\n    title: {zh: a, en: b}\n    steps:\n      - purchse: {amount: 1}\n").unwrap();
    let o = posconf(&[
        "run",
        suite.to_str().unwrap(),
        "--report-dir",
        dir.join("r2").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("s.yaml:7:") && err.contains("purchse"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn list_snapshot_and_coverage() {
    let o = posconf(&["list"]);
    assert!(o.status.success());
    insta::assert_snapshot!("posconf_list", String::from_utf8_lossy(&o.stdout));
    let c = posconf(&["list", "--coverage"]);
    let out = String::from_utf8_lossy(&c.stdout);
    assert!(out.contains("of 151 requirement ids covered"), "{out}");
    assert!(
        out.contains("3.8       manual"),
        "uncovered ids are listed with how they are checked"
    );
}
