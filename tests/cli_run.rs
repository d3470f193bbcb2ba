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
    // posconf check judges a run's transcript case by case: the only violations are the
    // ones the negative cases expect.
    let o = posconf(&[
        "check",
        dir.join("transcript.jsonl").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let suites =
        posconf::suite::runner::load_suites(&[std::path::PathBuf::from("suites/cup-direct")])
            .unwrap();
    let expects = |case: &str, rule: &str| {
        suites
            .iter()
            .flat_map(|(_, s)| &s.cases)
            .any(|c| c.id == case && c.expect_violations.iter().any(|r| r == rule))
    };
    let violations = report["violations"].as_array().unwrap();
    assert!(!violations.is_empty());
    for v in violations {
        let (case, rule) = (v["case"].as_str().unwrap(), v["rule"].as_str().unwrap());
        assert!(expects(case, rule), "unexpected {rule} in {case}: {v}");
    }
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
    assert!(
        out.contains("151 of 151 requirement ids covered, 0 without a case"),
        "{out}"
    );
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn rig_and_capability_files_select_and_refuse() {
    let dir = tmp("rig");
    // A missing serial port is a bench fault: exit 3, naming the port.
    let rig = write(
        &dir,
        "rig.yaml",
        "rig: bench\nterminal: {driver: serial, port: /dev/posconf-no-such-port}\nhost: {listen: \"127.0.0.1:0\"}\n",
    );
    let o = posconf(&[
        "run",
        "suites/cup-direct",
        "--rig",
        rig.to_str().unwrap(),
        "--filter",
        "7.1.2-purchase",
        "--report-dir",
        dir.join("r1").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("/dev/posconf-no-such-port"), "{err}");
    // A filter that selects nothing is an error, not a green run.
    let o = posconf(&["run", "suites/cup-direct", "--filter", "7.1.99-typo"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no case selected"));
    // A typo in a rig file: exit 2 with file, line and key.
    let bad = write(
        &dir,
        "bad.yaml",
        "rig: x\nterminal: {driver: sim, fault: [wrong_mac]}\n",
    );
    let o = posconf(&["run", "--rig", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad.yaml:2:") && err.contains("fault"),
        "{err}"
    );
    // A centre on a non-loopback address needs an explicit opt-in.
    let remote = write(&dir, "remote.yaml", "host: {listen: \"0.0.0.0:18000\"}\n");
    let o = posconf(&["run", "--rig", remote.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("allow_remote"));
    // A terminal without pre-auth: the pre-auth cases are skipped, naming what is missing,
    // though the case does not say `needs`: its pre_auth step implies it.
    let caps = write(
        &dir,
        "caps.yaml",
        "terminal: Vendor X T1\nsupports: [magstripe, pin-pad, offline, adjust, tip, test-state, lock]\n",
    );
    let suite = write(
        &dir,
        "s.yaml",
        "suite: t\ncases:\n  - id: pa\n    requirements: [\"7.1.5\"]\n    title: {zh: 预授权, en: pre-auth}\n    steps:\n      - sign_in: {}\n      - pre_auth: {amount: 100}\n  - id: p\n    requirements: [\"7.1.2\"]\n    title: {zh: 消费, en: purchase}\n    steps:\n      - sign_in: {}\n      - purchase: {amount: 100}\n",
    );
    let o = posconf(&[
        "run",
        suite.to_str().unwrap(),
        "--capabilities",
        caps.to_str().unwrap(),
        "--report-dir",
        dir.join("r2").to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("1 passed, 0 failed, 1 skipped"), "{out}");
    let junit = std::fs::read_to_string(dir.join("r2/junit.xml")).unwrap();
    assert!(junit.contains("needs pre-auth"), "{junit}");
    // An unknown capability name in a suite is a configuration error, not a silent skip.
    let typo = write(
        &dir,
        "typo.yaml",
        "suite: t\ncases:\n  - id: x\n    requirements: [\"7.1.5\"]\n    title: {zh: a, en: b}\n    needs: [pre-auht]\n    steps:\n      - sign_in: {}\n",
    );
    let o = posconf(&["run", typo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("\"pre-auht\""));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn junit_snapshot() {
    let dir = tmp("junit");
    let suite = write(
        &dir,
        "s.yaml",
        "suite: demo\ncases:\n  - id: ok\n    requirements: [\"7.1.2\"]\n    title: {zh: 消费, en: purchase}\n    steps:\n      - sign_in: {}\n      - purchase: {amount: 100}\n  - id: declined\n    requirements: [\"A3\"]\n    title: {zh: 挂失卡, en: lost card expected to pass}\n    steps:\n      - sign_in: {}\n      - purchase: {card: lost, amount: 100}\n  - id: operator\n    requirements: [\"3.1\"]\n    title: {zh: 显示屏, en: display}\n    needs: [manual]\n    steps:\n      - prompt: {zh: 看屏幕, en: look at the screen}\n",
    );
    let o = posconf(&[
        "run",
        suite.to_str().unwrap(),
        "--jobs",
        "1",
        "--report-dir",
        dir.join("r").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let junit = std::fs::read_to_string(dir.join("r/junit.xml")).unwrap();
    // Times and timestamps vary; the structure, names and failure texts are the interface.
    let re = regex::Regex::new(r#"(time|timestamp)="[^"]*""#).unwrap();
    let stable = re.replace_all(&junit, r#"$1="…""#).replace("><", ">\n<");
    insta::assert_snapshot!("junit", stable);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn ctrl_c_mid_run_keeps_the_transcript_and_a_partial_report() {
    let dir = tmp("int");
    // The storage cases take a few seconds: time enough to interrupt mid-run.
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_posconf"))
        .args([
            "run",
            "suites/cup-direct",
            "--jobs",
            "1",
            "--report-dir",
            dir.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let junit = dir.join("junit.xml");
    let start = std::time::Instant::now();
    while !junit.exists() && start.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    let xml = std::fs::read_to_string(&junit).unwrap();
    let ran = xml.matches("<testcase").count();
    assert!(ran >= 1, "{xml}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("INTERRUPTED"));
    let (records, _) = posconf::transcript::read_transcript(&dir.join("transcript.jsonl")).unwrap();
    assert!(!records.is_empty());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn manual_cases_ask_the_operator_when_one_is_present() {
    use std::io::Write;
    let dir = tmp("op");
    let suite = write(
        &dir,
        "s.yaml",
        "suite: t\ncases:\n  - id: display\n    requirements: [\"3.1\"]\n    title: {zh: 显示屏, en: display}\n    needs: [manual]\n    steps:\n      - prompt: {zh: 屏幕能显示中文吗, en: does the screen show Chinese}\n",
    );
    for (answer, code) in [("yes\n", 0), ("no\n", 1)] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_posconf"))
            .args([
                "run",
                suite.to_str().unwrap(),
                "--operator",
                "--report-dir",
                dir.join("r").to_str().unwrap(),
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{text}");
        assert!(text.contains("屏幕能显示中文吗") && text.contains("does the screen show Chinese"));
        if code == 1 {
            assert!(text.contains("operator answered \"no\""), "{text}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_pboc_load_suite_covers_every_step_of_seed_003() {
    let o = posconf(&[
        "list",
        "suites/pboc-load",
        "--coverage",
        "--requirements",
        "suites/requirements-003.yaml",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("7 of 7 requirement ids covered, 0 without a case"),
        "{out}"
    );
}

#[test]
fn continuing_cases_share_the_terminal_and_centre_of_the_case_before() {
    let dir = tmp("chain");
    let suite = write(
        &dir,
        "s.yaml",
        "suite: chain\ncases:\n  - id: day1\n    requirements: [\"6.3.1.2\"]\n    title: {zh: 签到消费, en: sign in and buy}\n    steps:\n      - sign_in: {}\n      - purchase: {amount: 1000}\n  - id: day1-more\n    requirements: [\"7.1.2\"]\n    title: {zh: 继续消费, en: buy again without signing in}\n    continues: true\n    steps:\n      - refund_first: {amount: 100}\n      - expect_message: {mti: \"0220\", fields: {\"37\": {regex: \"[0-9]{12}\"}, \"4\": \"000000000100\"}}\n      - purchase: {amount: 500}\n      - expect_message: {mti: \"0200\", fields: {\"60.2\": \"000001\"}}\n  - id: day1-settle\n    requirements: [\"6.3.2\"]\n    title: {zh: 结算, en: settle both}\n    continues: true\n    steps:\n      - settle: {}\n      - slip_contains: {text: \"借记 DEBIT      2 RMB 15.00\"}\n  - id: alone\n    requirements: [\"7.1.2\"]\n    title: {zh: 未签到, en: a fresh terminal is not signed in}\n    steps:\n      - purchase: {amount: 100, expect: refused}\n",
    );
    let o = posconf(&[
        "run",
        suite.to_str().unwrap(),
        "--report-dir",
        dir.join("r").to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("4 passed, 0 failed"), "{out}");
    // The same chain when cases run one at a time: an operator present, or a fixed centre port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fixed = write(
        &dir,
        "fixed.yaml",
        &format!("host: {{listen: \"127.0.0.1:{port}\"}}\n"),
    );
    for extra in [vec!["--operator"], vec!["--rig", fixed.to_str().unwrap()]] {
        let mut args = vec![
            "run",
            suite.to_str().unwrap(),
            "--report-dir",
            dir.to_str().unwrap(),
        ];
        args.extend(extra.iter().copied());
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_posconf"))
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("4 passed, 0 failed"), "{extra:?}: {out}");
    }
    // The continuation alone cannot run: its predecessor is not selected.
    let o = posconf(&[
        "run",
        suite.to_str().unwrap(),
        "--filter",
        "day1-more",
        "--report-dir",
        dir.join("r2").to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("0 passed, 0 failed, 1 skipped"), "{out}");
    let junit = std::fs::read_to_string(dir.join("r2/junit.xml")).unwrap();
    assert!(
        junit.contains("continues from case day1, which is not selected"),
        "{junit}"
    );
    // A file cannot start with a continuation.
    let bad = write(
        &dir,
        "bad.yaml",
        "suite: b\ncases:\n  - id: x\n    requirements: [\"7.1.2\"]\n    title: {zh: a, en: b}\n    continues: true\n    steps:\n      - sign_in: {}\n",
    );
    let o = posconf(&["run", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}
