//! The centre on a serial line, through real pseudo-terminals linked by socat: the same sign-in
//! as over TCP, in STX/len/ETX/LRC frames; a frame with a bad LRC and stray bytes are recorded and
//! skipped, and the line keeps working.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use posconf::fixtures::Fixtures;
use posconf::host::behaviour::Behaviours;
use posconf::host::centre::{system_clock, system_random, Centre};
use posconf::iso8583::cup_codec;
use posconf::iso8583::frame::{decode_frame, split_serial, wrap_serial, Framing};
use posconf::profile::Profile;
use posconf::transcript::{RecordKind, TranscriptWriter};

struct Socat(Child);

impl Drop for Socat {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Two linked PTYs, or `None` (loudly) when socat is missing outside CI.
fn ptys(dir: &std::path::Path) -> Option<(Socat, String, String)> {
    let host = dir.join("host");
    let term = dir.join("term");
    let child = Command::new("socat")
        .args([
            format!("pty,raw,echo=0,link={}", host.display()),
            format!("pty,raw,echo=0,link={}", term.display()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("\n*** SKIPPED serial PTY test: socat not available ({e}); `apt-get install socat` to run it ***\n");
            return None;
        }
        Err(e) => panic!("socat is required in CI: {e}"),
    };
    let guard = Socat(child);
    let start = Instant::now();
    while !(host.exists() && term.exists()) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "socat did not create the PTYs"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((
        guard,
        host.display().to_string(),
        term.display().to_string(),
    ))
}

fn read_frame(port: &mut Box<dyn serialport::SerialPort>) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    let start = Instant::now();
    loop {
        if let Ok(Some((range, _))) = split_serial(&buf) {
            return buf[range].to_vec();
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no serial answer; got {}",
            hex::encode_upper(&buf)
        );
        match port.read(&mut chunk) {
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("read: {e}"),
        }
    }
}

#[test]
fn sign_in_over_a_serial_line_with_bad_frames_in_between() {
    let dir = std::env::temp_dir().join(format!("posconf-pty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some((_socat, host_path, term_path)) = ptys(&dir) else {
        return;
    };
    let centre = Arc::new(Mutex::new(
        Centre::new(
            Profile::default(),
            Fixtures::builtin().unwrap(),
            Behaviours::default(),
            Box::new(system_clock),
            Box::new(system_random),
        )
        .unwrap(),
    ));
    let transcript = Arc::new(TranscriptWriter::in_memory());
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let (c, t, s) = (centre.clone(), transcript.clone(), stop.clone());
        std::thread::spawn(move || posconf::host::serial::serve(&host_path, 9600, c, t, s))
    };
    let mut term = serialport::new(&term_path, 9600)
        .timeout(Duration::from_millis(100))
        .open()
        .expect("open terminal side");
    let signin = hex::decode("600003000060310031000008000020000000C00012000001313233343536373838393831313030343831323030303100110000000100400003303120").unwrap();
    let good = wrap_serial(&signin).unwrap();
    // Stray bytes, then a frame with a broken LRC, then the good frame.
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    term.write_all(&[0xAA, 0xBB]).unwrap();
    term.write_all(&bad).unwrap();
    term.write_all(&good).unwrap();
    term.flush().unwrap();
    let reply = read_frame(&mut term);
    let d = decode_frame(&cup_codec(), &reply, Framing::Bare).expect("0810 decodes");
    assert_eq!(d.message.mti.as_str(), "0810");
    assert_eq!(d.message.text(39), Some("00"));
    assert_eq!(d.message.bytes(62).map(<[u8]>::len), Some(60));
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap().unwrap();
    let recs = transcript.records();
    let bad_notes: Vec<String> = recs
        .iter()
        .filter(|r| r.kind == RecordKind::BadFrame)
        .filter_map(|r| r.note.clone())
        .collect();
    assert!(
        bad_notes.iter().any(|n| n.contains("before STX")),
        "{bad_notes:?}"
    );
    assert!(bad_notes.iter().any(|n| n.contains("LRC")), "{bad_notes:?}");
    assert_eq!(
        recs.iter().filter(|r| r.kind == RecordKind::Frame).count(),
        2,
        "one frame in, one out"
    );
    std::fs::remove_dir_all(&dir).ok();
}
