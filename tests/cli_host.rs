//! `posconf host` as a lab starts it: a real process, a real socket, a transcript that is on disk
//! while the host runs, and a clean stop on Ctrl-C (SIGINT).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use posconf::iso8583::cup_codec;
use posconf::iso8583::frame::{decode_frame, Framing};
use posconf::terminal::link::{HostLink, TcpLink};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_process_serves_records_and_stops_on_ctrl_c() {
    let dir = std::env::temp_dir().join(format!("posconf-cli-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let transcript = dir.join("t.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_posconf"))
        .args([
            "host",
            "--listen",
            "127.0.0.1:0",
            "--transcript",
            transcript.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn posconf host");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .nth(4)
        .expect("address in the banner")
        .trim_end_matches(';')
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "binds to loopback: {line}");

    // The digest's 0800 sign-in, without its length prefix (the link adds it).
    let frame = hex::decode("003C600003000060310031000008000020000000C00012000001313233343536373838393831313030343831323030303100110000000100400003303120").unwrap();
    let mut link = TcpLink::new(addr.parse().unwrap(), true);
    let reply = link
        .exchange(&frame[2..], Duration::from_secs(5))
        .await
        .expect("answered");
    let d = decode_frame(&cup_codec(), &reply, Framing::Bare).unwrap();
    assert_eq!(d.message.mti.as_str(), "0810");
    assert_eq!(d.message.text(39), Some("00"));
    assert_eq!(
        d.message.bytes(62).map(<[u8]>::len),
        Some(60),
        "004 layout: 60 bytes of keys"
    );

    // Flushed as it happens: readable before the host stops.
    let (records, warning) = posconf::transcript::read_transcript(&transcript).unwrap();
    assert!(warning.is_none());
    let kinds: Vec<String> = records
        .iter()
        .map(|r| format!("{:?}/{:?}", r.dir, r.kind))
        .collect();
    assert!(
        kinds.contains(&"In/Frame".to_string()) && kinds.contains(&"Out/Frame".to_string()),
        "{kinds:?}"
    );
    let keys = records
        .iter()
        .find_map(|r| r.event.clone().filter(|e| e["event"] == "keys_issued"))
        .expect("keys_issued");
    let kek = posconf::crypto::DesKey::from_hex("11111111111111112222222222222222").unwrap();
    assert_eq!(
        keys["kek_kcv"],
        hex::encode_upper(posconf::crypto::check_value(&kek))
    );
    assert!(
        !std::fs::read_to_string(&transcript)
            .unwrap()
            .contains("11111111111111112222222222222222"),
        "no KEK in the transcript"
    );

    // The reference terminal's scripted day against the same process: every step approved.
    let day = Command::new(env!("CARGO_BIN_EXE_posconf"))
        .args(["sim", "--host", &addr, "--terminal", "87654321"])
        .output()
        .expect("run posconf sim");
    let out = String::from_utf8_lossy(&day.stdout);
    assert!(
        day.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&day.stderr)
    );
    assert!(
        out.contains("settlement       11") && out.contains("银联POS签购单"),
        "{out}"
    );

    // The whole recorded conversation is conformant: `posconf check` exits 0; a torn file is
    // read with a warning, garbage is exit 2.
    let chk = Command::new(env!("CARGO_BIN_EXE_posconf"))
        .args(["check", transcript.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&chk.stdout).expect("check JSON");
    assert_eq!(chk.status.code(), Some(0), "{report:#}");
    assert_eq!(report["violations"].as_array().map(Vec::len), Some(0));
    assert!(report["rules_evaluated"]
        .as_array()
        .is_some_and(|r| r.len() >= 10));
    let junk = dir.join("junk.jsonl");
    std::fs::write(&junk, "{not json}\n{}\n").unwrap();
    let bad = Command::new(env!("CARGO_BIN_EXE_posconf"))
        .args(["check", junk.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("junk.jsonl:1:"));

    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "clean stop on SIGINT: {status:?}");
    std::fs::remove_dir_all(&dir).ok();
}
