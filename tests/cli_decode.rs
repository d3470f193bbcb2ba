//! The `posconf decode` / `encode` commands as a lab script sees them: output, JSON shape and
//! exit codes, run through the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn posconf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_posconf"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run posconf")
}

fn frames_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/frames")
}

fn frame_files(ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(frames_dir())
        .expect("fixtures/frames")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v
}

const MAK: &str = "1A2B3C4D5E6F7A8B";

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn every_yaml_fixture_encodes_to_its_hex() {
    let yamls = frame_files("yaml");
    assert!(yamls.len() >= 6, "fixtures present");
    for y in yamls {
        let hex_path = y.with_extension("hex");
        let want = std::fs::read_to_string(&hex_path)
            .unwrap_or_else(|_| panic!("{} has no .hex", y.display()));
        let y_str = y.to_str().expect("utf-8 path");
        // Requests and responses that carry a MAC get it computed with the test MAK.
        let has_mac = !want.trim().is_empty() && {
            let o = posconf(&["decode", want.trim(), "--format", "json"]);
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
            v["mac"]["present"] == true
        };
        let o = if has_mac {
            posconf(&["encode", y_str, "--mak", MAK])
        } else {
            posconf(&["encode", y_str])
        };
        assert!(
            o.status.success(),
            "{}: {}",
            y.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(stdout(&o).trim(), want.trim(), "{}", y.display());
    }
}

#[test]
fn decode_snapshots_text_and_json() {
    for h in frame_files("hex") {
        let name = h
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_string();
        let path = h.to_str().expect("utf-8");
        let mak = if name == "0200-v1-public" {
            "0723C80DB5F4CD3D"
        } else {
            MAK
        };
        let text = posconf(&["decode", "--file", path, "--mak", mak]);
        assert!(
            text.status.code().is_some_and(|c| c <= 1),
            "{name}: {}",
            String::from_utf8_lossy(&text.stderr)
        );
        insta::assert_snapshot!(format!("decode_text__{name}"), stdout(&text));
        let json = posconf(&["decode", "--file", path, "--mak", mak, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("valid JSON");
        insta::assert_json_snapshot!(format!("decode_json__{name}"), v);
    }
}

#[test]
fn digest_purchase_verifies_and_json_has_the_documented_shape() {
    let hex = std::fs::read_to_string(frames_dir().join("0200-purchase.hex")).expect("fixture");
    let o = posconf(&["decode", hex.trim(), "--mak", MAK, "--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["tpdu"], "6000030000");
    assert_eq!(v["header"], "603100310000");
    assert_eq!(v["mti"], "0200");
    assert_eq!(v["fields"]["3"]["value"], "000000");
    assert_eq!(v["fields"]["3"]["raw"], "000000");
    assert_eq!(v["fields"]["60"]["raw"], "001322000001000500");
    assert_eq!(v["fields"]["60.1"]["value"], "22");
    assert_eq!(v["fields"]["60.2"]["value"], "000001");
    assert_eq!(
        v["fields"]["35"]["value"],
        "622588******7890=*****************"
    );
    assert_eq!(v["fields"]["52"]["value"], "****************");
    assert_eq!(v["mac"]["present"], true);
    assert_eq!(v["mac"]["valid"], true);
    let revealed = posconf(&["decode", hex.trim(), "--reveal", "--format", "json"]);
    let r: serde_json::Value = serde_json::from_slice(&revealed.stdout).expect("json");
    assert_eq!(
        r["fields"]["35"]["value"],
        "6225881234567890=25122011234567890"
    );
    assert_eq!(
        r["fields"]["35"]["raw"],
        "346225881234567890D25122011234567890"
    );
    assert_eq!(r["fields"]["52"]["value"], "4AF9E141A5EE0E3B");
    assert_eq!(
        r["mac"]["valid"],
        serde_json::Value::Null,
        "no MAK given: not verified"
    );
}

#[test]
fn exit_codes_0_clean_1_wrong_mac_2_undecodable() {
    let hex = std::fs::read_to_string(frames_dir().join("0200-purchase.hex")).expect("fixture");
    let hex = hex.trim();
    assert_eq!(posconf(&["decode", hex]).status.code(), Some(0));
    let wrong = posconf(&["decode", hex, "--mak", "0123456789ABCDEF"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stdout(&wrong).contains("WRONG: field 64 is 4635373643303533"),
        "{}",
        stdout(&wrong)
    );
    // Corrupt 60.2 (batch) with a non-BCD nibble: 2 and the error names 60.2 and the offset.
    let bad = hex.replace("0013220000010005", "00132200000A0005");
    let o = posconf(&["decode", &bad]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("field 60.2 at offset 106"), "{err}");
    let json = posconf(&["decode", &bad, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["error"]["path"], "60.2");
    assert_eq!(
        v["fields"]["53"]["value"], "2600000000000000",
        "partial decode still shown"
    );
    // Not hex at all.
    assert_eq!(posconf(&["decode", "zz"]).status.code(), Some(2));
    // --body on a framed input fails to decode: the length prefix is not an MTI.
    assert_eq!(posconf(&["decode", hex, "--body"]).status.code(), Some(2));
}

#[test]
fn decode_reads_stdin_and_encode_round_trips_a_decoded_document() {
    use std::io::Write;
    let hex = std::fs::read_to_string(frames_dir().join("0200-purchase.hex")).expect("fixture");
    let mut child = Command::new(env!("CARGO_BIN_EXE_posconf"))
        .args(["decode", "--reveal", "--format", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(hex.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let doc = std::env::temp_dir().join(format!("posconf-roundtrip-{}.json", std::process::id()));
    std::fs::write(&doc, &out.stdout).expect("write doc");
    let o = posconf(&["encode", doc.to_str().expect("utf-8"), "--mak", MAK]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        stdout(&o).trim(),
        hex.trim(),
        "decode --reveal | encode --mak reproduces the frame"
    );
    // A masked document is refused with a pointer to --reveal.
    let masked = posconf(&["decode", hex.trim(), "--format", "json"]);
    std::fs::write(&doc, &masked.stdout).expect("write doc");
    let o = posconf(&["encode", doc.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--reveal"));
    let _ = std::fs::remove_file(&doc);
}

#[test]
fn encode_errors_name_the_key() {
    let dir = std::env::temp_dir().join(format!("posconf-enc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let cases = [
        ("mti: \"0200\"\nfields:\n  \"4\": \"100\"\n", "fields.4"),
        ("mti: \"0200\"\nfields:\n  \"4\": 100\n", "quote values"),
        ("mti: \"0200\"\nfields:\n  \"60.1\": \"22\"\n  \"60.3\": \"001\"\n", "60.2 is missing"),
        ("mti: \"0200\"\nfields:\n  \"60\": \"22000001\"\n  \"60.1\": \"23\"\n  \"60.2\": \"000001\"\n", "disagrees"),
        ("mti: \"02\"\n", "mti"),
        ("mti: \"0200\"\nfields: [1, 2\n", ":3:"),
    ];
    for (i, (doc, want)) in cases.iter().enumerate() {
        let p = dir.join(format!("c{i}.yaml"));
        std::fs::write(&p, doc).expect("write");
        let o = posconf(&["encode", p.to_str().expect("utf-8")]);
        assert_eq!(o.status.code(), Some(2), "case {i}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "case {i}: {err}");
    }
    // raw bytes are used verbatim: a deliberately over-long field 2.
    let p = dir.join("raw.yaml");
    std::fs::write(
        &p,
        "mti: \"0200\"\nfields:\n  \"2\": {raw: \"2062258812345678901234\"}\n",
    )
    .expect("write");
    let o = posconf(&["encode", p.to_str().expect("utf-8"), "--framing", "body"]);
    assert_eq!(
        stdout(&o).trim(),
        "020040000000000000002062258812345678901234"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tmk_opens_sign_in_keys_and_verifies_check_values() {
    let path = frames_dir().join("0810-sign-in-response.hex");
    let p = path.to_str().expect("utf-8");
    let ok = posconf(&[
        "decode",
        "--file",
        p,
        "--tmk",
        "11111111111111112222222222222222",
        "--format",
        "json",
    ]);
    assert_eq!(ok.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("json");
    assert_eq!(v["keys"]["valid"], true);
    assert_eq!(v["keys"]["layout"], "004");
    // The digest's §13 V2 keys: PIK 0123…3210, MAK 1A2B…7A8B, TDK 89AB…BA98.
    assert_eq!(v["keys"]["keys"]["pik"]["kcv"], "08D7B4FB");
    assert_eq!(v["keys"]["keys"]["mak"]["kcv"], "48E9E43E");
    assert_eq!(v["keys"]["keys"]["tdk"]["kcv"], "EB7A8DF9");
    assert_eq!(
        v["keys"]["keys"]["pik"]["key"],
        serde_json::Value::Null,
        "no clear key without --reveal"
    );
    let revealed = posconf(&[
        "decode",
        "--file",
        p,
        "--tmk",
        "11111111111111112222222222222222",
        "--reveal",
        "--format",
        "json",
    ]);
    let r: serde_json::Value = serde_json::from_slice(&revealed.stdout).expect("json");
    assert_eq!(r["keys"]["keys"]["mak"]["key"], "1A2B3C4D5E6F7A8B");
    let wrong = posconf(&[
        "decode",
        "--file",
        p,
        "--tmk",
        "11111111111111113333333333333333",
    ]);
    assert_eq!(
        wrong.status.code(),
        Some(1),
        "a check value that does not match is exit 1"
    );
    assert!(
        stdout(&wrong).contains("WRONG: field 62 (004)")
            && stdout(&wrong).contains("PIK check value mismatch")
    );
}

/// `decode --reveal --format json | encode` gives back every fixture frame byte for byte, in its
/// own framing: 0500/0510 (48 read through the settlement-totals view), 0320, the body-only
/// public packet, sign-in with keys, purchase, reversal, refund.
#[test]
fn decode_json_piped_to_encode_reproduces_every_fixture_frame() {
    use std::io::Write;
    let hexes = frame_files("hex");
    assert!(hexes.len() >= 10, "fixtures present");
    for h in hexes {
        let want: String = std::fs::read_to_string(&h)
            .expect("hex")
            .split_whitespace()
            .collect();
        let d = posconf(&["decode", &want, "--reveal", "--format", "json"]);
        assert!(d.status.success(), "{}", h.display());
        let mut child = Command::new(env!("CARGO_BIN_EXE_posconf"))
            .args(["encode"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&d.stdout)
            .expect("write");
        let o = child.wait_with_output().expect("wait");
        assert!(
            o.status.success(),
            "{}: {}",
            h.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(stdout(&o).trim(), want, "{}", h.display());
    }
}
