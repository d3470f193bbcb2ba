//! Rules on the frame around the message (seed 11.1.1, digest §1): bytes that are no frame, the
//! TPDU and the 6-byte header of every request, and the header's test-state nibble.

use std::collections::HashMap;

use super::{violation, BadFrame, FrameRec, Rule, Transcript, Violation};
use crate::iso8583::frame::{decode_frame, Framing};
use crate::iso8583::txn::{classify, TxnKind};
use crate::iso8583::{cup_codec, Tpdu};
use crate::transcript::Direction;

pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(FrameFormat),
        Box::new(FrameHeader),
        Box::new(TestStateAfterSettlement),
    ]
}

/// Show at most this many bytes of an undecodable frame in a violation.
const SHOWN: usize = 64;

/// Every frame the terminal sent decodes: length prefix, TPDU, header, MTI, bitmap, fields.
pub struct FrameFormat;

impl Rule for FrameFormat {
    fn id(&self) -> &'static str {
        "frame.format"
    }
    fn requirement(&self) -> &'static str {
        "11.1.1"
    }
    fn title(&self) -> &'static str {
        "every frame the terminal sends decodes (length prefix, TPDU, header, bitmap, fields)"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for b in t.bad_frames.iter().filter(|b| b.dir != Direction::Out) {
            out.push(bad_frame_violation(self, b));
        }
    }
}

fn bad_frame_violation(rule: &dyn Rule, b: &BadFrame) -> Violation {
    let shown = if b.raw.len() > SHOWN * 2 {
        format!("{}… ({} bytes)", &b.raw[..SHOWN * 2], b.raw.len() / 2)
    } else {
        b.raw.clone()
    };
    let mut v = violation(
        rule,
        None,
        Some("frame"),
        Some("a frame that decodes".into()),
        Some(b.reason.clone()),
        format!("connection {}: bytes that are no frame", b.conn),
    );
    v.seq = Some(b.seq);
    v.raw = Some(shown);
    v
}

/// TPDU `60` + addresses; header bytes BCD, terminal-status nibble 0/1, processing-requirement
/// nibble 0 (only a host sets it).
pub struct FrameHeader;

impl FrameHeader {
    fn tpdu(f: &FrameRec) -> Option<(Framing, Option<Tpdu>)> {
        let bytes = hex::decode(&f.raw).ok()?;
        let d = decode_frame(&cup_codec(), &bytes, Framing::Auto).ok()?;
        Some((d.framing, d.tpdu))
    }
}

fn bcd(b: u8) -> bool {
    b >> 4 <= 9 && b & 0x0F <= 9
}

impl Rule for FrameHeader {
    fn id(&self) -> &'static str {
        "frame.header"
    }
    fn requirement(&self) -> &'static str {
        "11.1.1"
    }
    fn title(&self) -> &'static str {
        "TPDU id 60, header BCD with status nibble 0/1 and processing-requirement nibble 0"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        for f in t.requests() {
            // Frames a test builds without bytes have nothing to judge here.
            let Some((framing, tpdu)) = Self::tpdu(f) else {
                continue;
            };
            let mut push = |field: &str, expected: &str, found: String, why: &str| {
                let mut v = violation(
                    self,
                    Some(f),
                    Some(field),
                    Some(expected.into()),
                    Some(found),
                    why.into(),
                );
                v.raw = Some(f.raw.chars().take(2 * (2 + 5 + 6)).collect());
                out.push(v);
            };
            match tpdu {
                None if framing != Framing::Body => {}
                None => push(
                    "tpdu",
                    "TPDU and header before the MTI",
                    "none".into(),
                    "a request without TPDU and header",
                ),
                Some(t) if t.id() != 0x60 => push(
                    "tpdu",
                    "id 60",
                    format!("{t}"),
                    "the TPDU id of a terminal's request is 60",
                ),
                Some(_) => {}
            }
            let Some(h) = f.header else {
                if tpdu.is_some() {
                    push("header", "6-byte header", "none".into(), "no header");
                }
                continue;
            };
            if !h.0.iter().all(|b| bcd(*b)) {
                push(
                    "header",
                    "six BCD bytes (application, version, status, sub-version)",
                    h.to_string(),
                    "a corrupt header",
                );
                continue;
            }
            if h.terminal_status() > 1 {
                push(
                    "header",
                    "terminal status 0 (normal) or 1 (test)",
                    h.to_string(),
                    "header byte 3, high nibble",
                );
            }
            if h.0[2] & 0x0F != 0 {
                push(
                    "header",
                    "processing requirement 0 (only the host sets it)",
                    h.to_string(),
                    "header byte 3, low nibble set in a request",
                );
            }
        }
    }
}

/// Seed 6.1.4.1 (digest §11): the terminal enters and leaves the test state only with an empty
/// batch — between an approved transaction and the settlement of its batch the header's
/// terminal-status nibble does not change.
pub struct TestStateAfterSettlement;

impl Rule for TestStateAfterSettlement {
    fn id(&self) -> &'static str {
        "test_state.settled"
    }
    fn requirement(&self) -> &'static str {
        "6.1.4.1"
    }
    fn title(&self) -> &'static str {
        "test state entered or left only after settlement (no open batch)"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        // Per terminal: its last header status, and the trace of an approved transaction of
        // the open batch.
        let mut status: HashMap<String, u8> = HashMap::new();
        let mut open: HashMap<String, String> = HashMap::new();
        for f in t.requests() {
            let tid = f.tid();
            let c = classify(&f.message);
            if let Some(h) = f.header {
                let s = h.terminal_status();
                if let Some(prev) = status.insert(tid.clone(), s) {
                    if prev != s {
                        if let Some(stan) = open.get(&tid) {
                            let mut v = violation(
                                self,
                                Some(f),
                                Some("header"),
                                Some("the batch settled before the state changes".into()),
                                Some(format!("status {prev} → {s} with trace {stan} unsettled")),
                                if s == 1 {
                                    "test state entered with an open batch".into()
                                } else {
                                    "test state left with an open batch".into()
                                },
                            );
                            v.raw = Some(h.to_string());
                            out.push(v);
                            open.remove(&tid);
                        }
                    }
                }
            }
            let approved = t
                .answer_to(f)
                .is_some_and(|a| a.message.text(39) == Some("00"));
            match c.kind {
                TxnKind::Settlement if t.answer_to(f).is_some() => {
                    open.remove(&tid);
                }
                TxnKind::BatchUploadEnd => {
                    open.remove(&tid);
                }
                _ if !c.reversal
                    && c.kind.type_code().is_some()
                    && approved
                    && c.kind != TxnKind::BalanceInquiry =>
                {
                    open.insert(tid, f.stan().unwrap_or_default());
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso8583::frame::{Frame, Header};
    use crate::iso8583::{Message, Mti};

    fn echo() -> Message {
        Message::new(Mti::parse("0820").unwrap())
            .with(41, "12345678")
            .with(42, "898110048120001")
            .with(60, "00000001301")
    }

    fn rec(tpdu: &str, header: &str) -> FrameRec {
        let frame = Frame {
            tpdu: Some(Tpdu::from_hex(tpdu).unwrap()),
            header: Some(Header::from_hex(header).unwrap()),
            message: echo(),
        };
        let bytes = frame.pack(&cup_codec(), Framing::Tcp).unwrap();
        FrameRec {
            seq: 1,
            conn: 1,
            dir: Direction::In,
            header: Some(Header::from_hex(header).unwrap()),
            message: echo(),
            raw: hex::encode_upper(bytes),
        }
    }

    fn judge(f: FrameRec) -> Vec<String> {
        let t = Transcript {
            frames: vec![f],
            events: vec![],
            receipts: vec![],
            bad_frames: vec![],
        };
        let mut v = Vec::new();
        FrameHeader.check(&t, &mut v);
        v.into_iter().map(|v| v.field.unwrap_or_default()).collect()
    }

    #[test]
    fn tpdu_and_header_faults_are_named() {
        assert!(judge(rec("6000030000", "603100310000")).is_empty());
        assert!(
            judge(rec("6000030000", "603110310000")).is_empty(),
            "test state"
        );
        assert!(
            judge(rec("6000030000", "613200310000")).is_empty(),
            "[var] app/version"
        );
        assert_eq!(judge(rec("7000030000", "603100310000")), ["tpdu"]);
        assert_eq!(judge(rec("6000030000", "603103310000")), ["header"]);
        assert_eq!(judge(rec("6000030000", "6031003A0000")), ["header"]);
        assert_eq!(judge(rec("6000030000", "603120310000")), ["header"]);
    }

    #[test]
    fn bad_frames_are_violations_with_their_bytes() {
        let t = Transcript {
            frames: vec![],
            events: vec![],
            receipts: vec![],
            bad_frames: vec![BadFrame {
                seq: 4,
                conn: 2,
                dir: Direction::In,
                raw: "00FF6000".into(),
                reason: "length prefix says 255 bytes, 2 follow".into(),
            }],
        };
        let mut v = Vec::new();
        FrameFormat.check(&t, &mut v);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].requirement, "11.1.1");
        assert_eq!(v[0].seq, Some(4));
        assert_eq!(v[0].raw.as_deref(), Some("00FF6000"));
    }
}
