//! Always-on conformance rules over a recorded transcript. Each rule has an id and the seed-001
//! requirement it enforces (ids of `shared/spec/cup-requirements.yaml`, verbatim); a violation
//! names the message (MTI, trace), the field, expected vs found.
//!
//! Data flows one way: a run produces a transcript; these rules read it; reports read the
//! violations. Rules see what the centre saw (frames in and out) and what it decided (journal
//! events), never the terminal's internals.

pub mod receipt;
pub mod reference;
pub mod response;
mod rules;
mod settlement;
pub mod tables;
mod wire;

use serde::Serialize;
use serde_json::Value as Json;

use crate::iso8583::frame::{decode_frame, Framing, Header};
use crate::iso8583::{Codec, Message};
use crate::transcript::{Direction, Record, RecordKind};

pub use rules::all_rules;

/// One broken requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub rule: &'static str,
    pub requirement: &'static str,
    pub mti: Option<String>,
    pub stan: Option<String>,
    pub field: Option<String>,
    pub expected: Option<String>,
    pub found: Option<String>,
    pub message: String,
    /// Transcript sequence number of the record at fault.
    pub seq: Option<u64>,
    /// Wire bytes of the named field (length prefix included), hex, masked unless revealed.
    pub raw: Option<String>,
    /// The suite case the message belongs to, when the transcript is a run's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// The case lists this rule in `expect_violations` (the run recorded it): reported, but
    /// not a failure and not counted in `posconf check`'s exit code.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub expected_by_case: bool,
}

/// A decoded frame of the transcript.
#[derive(Debug, Clone)]
pub struct FrameRec {
    pub seq: u64,
    pub conn: u64,
    pub dir: Direction,
    pub header: Option<Header>,
    pub message: Message,
    pub raw: String,
}

impl FrameRec {
    pub fn tid(&self) -> String {
        self.message.text(41).unwrap_or("").trim_end().to_string()
    }
    pub fn stan(&self) -> Option<String> {
        self.message.stan().map(str::to_string)
    }
}

/// A transcript prepared for rules: frames in order, and the centre's journal events.
pub struct Transcript {
    pub frames: Vec<FrameRec>,
    pub events: Vec<(u64, Json)>,
    /// Slips the terminal printed (suite runs record them).
    pub receipts: Vec<receipt::Slip>,
    /// Frames that did not decode (the centre's `bad_frame` records, and frame records whose
    /// bytes are not hex or do not decode): never skipped silently.
    pub bad_frames: Vec<BadFrame>,
}

/// Bytes on the wire that are no frame, with why.
#[derive(Debug, Clone)]
pub struct BadFrame {
    pub seq: u64,
    pub conn: u64,
    pub dir: Direction,
    /// The bytes as recorded (hex), or the record's text when it was not hex.
    pub raw: String,
    pub reason: String,
}

impl Transcript {
    /// Decode the frame records (TCP or serial framing, detected per record).
    pub fn from_records(records: &[Record], codec: &Codec) -> Transcript {
        let mut frames = Vec::new();
        let mut events = Vec::new();
        let mut receipts = Vec::new();
        let mut bad_frames = Vec::new();
        for r in records {
            let bad = |raw: &str, reason: String| BadFrame {
                seq: r.seq,
                conn: r.conn,
                dir: r.dir,
                raw: raw.to_string(),
                reason,
            };
            match r.kind {
                RecordKind::Frame => {
                    let Some(raw) = r.raw.as_deref() else {
                        bad_frames.push(bad("", "a frame record without bytes".into()));
                        continue;
                    };
                    let bytes = match hex::decode(raw) {
                        Ok(b) => b,
                        Err(e) => {
                            bad_frames
                                .push(bad(raw, format!("the recorded bytes are not hex: {e}")));
                            continue;
                        }
                    };
                    match decode_frame(codec, &bytes, Framing::Auto) {
                        Ok(d) => frames.push(FrameRec {
                            seq: r.seq,
                            conn: r.conn,
                            dir: r.dir,
                            header: d.header,
                            message: d.message,
                            raw: raw.to_string(),
                        }),
                        Err(e) => bad_frames.push(bad(raw, e.error.to_string())),
                    }
                }
                RecordKind::BadFrame => {
                    bad_frames.push(bad(
                        r.raw.as_deref().unwrap_or(""),
                        r.note.clone().unwrap_or_else(|| "undecodable".into()),
                    ));
                }
                RecordKind::Journal => {
                    if let Some(e) = &r.event {
                        events.push((r.seq, e.clone()));
                    }
                }
                RecordKind::Receipt => {
                    if let Some(text) = &r.note {
                        receipts.push(receipt::Slip {
                            seq: r.seq,
                            text: text.clone(),
                        });
                    }
                }
                _ => {}
            }
        }
        Transcript {
            frames,
            events,
            receipts,
            bad_frames,
        }
    }

    /// Requests the terminal sent, in order.
    pub fn requests(&self) -> impl Iterator<Item = &FrameRec> {
        self.frames.iter().filter(|f| f.dir == Direction::In)
    }

    /// The centre's answer to the request at `seq` (the next outgoing frame on that connection
    /// before the connection's next request).
    pub fn answer_to(&self, req: &FrameRec) -> Option<&FrameRec> {
        let mut after = self
            .frames
            .iter()
            .filter(|f| f.conn == req.conn && f.seq > req.seq);
        match after.next() {
            Some(f) if f.dir == Direction::Out => Some(f),
            _ => None,
        }
    }
}

/// A conformance rule.
pub trait Rule {
    fn id(&self) -> &'static str;
    /// Seed-001 requirement id.
    fn requirement(&self) -> &'static str;
    fn title(&self) -> &'static str;
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>);
}

/// Helper to build a violation about a frame.
pub fn violation(
    rule: &dyn Rule,
    f: Option<&FrameRec>,
    field: Option<&str>,
    expected: Option<String>,
    found: Option<String>,
    message: String,
) -> Violation {
    Violation {
        rule: rule.id(),
        requirement: rule.requirement(),
        mti: f.map(|f| f.message.mti.to_string()),
        stan: f.and_then(FrameRec::stan),
        field: field.map(str::to_string),
        expected,
        found,
        message,
        seq: f.map(|f| f.seq),
        raw: None,
        case: None,
        expected_by_case: false,
    }
}

/// Fill each violation's `raw` with the bytes of its field, masked like `posconf decode`
/// (PAN, tracks, PIN block) unless `reveal`.
pub fn attach_bytes(report: &mut Report, t: &Transcript, codec: &Codec, reveal: bool) {
    if !reveal {
        // Expected/found may quote a PAN (a slip's card number, a field value).
        for v in &mut report.violations {
            for text in [&mut v.expected, &mut v.found] {
                if let Some(t) = text.as_mut() {
                    *t = crate::iso8583::mask::mask_digit_runs(t);
                }
            }
            v.message = crate::iso8583::mask::mask_digit_runs(&v.message);
        }
    }
    for v in &mut report.violations {
        let (Some(seq), Some(field)) = (v.seq, v.field.as_deref()) else {
            continue;
        };
        let Some(f) = t.frames.iter().find(|f| f.seq == seq) else {
            continue;
        };
        let Ok(bytes) = hex::decode(&f.raw) else {
            continue;
        };
        let opts = crate::inspect::InspectOptions {
            framing: Framing::Auto,
            reveal,
            ..Default::default()
        };
        let view = crate::inspect::inspect(codec, &bytes, &opts);
        v.raw = view
            .fields
            .iter()
            .find(|r| r.id == field && !r.raw.is_empty())
            .map(|r| r.raw.clone());
    }
}

/// The result of checking a transcript.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub violations: Vec<Violation>,
    /// Violations that are failures (not expected by their case).
    pub unexpected: usize,
    pub rules_evaluated: Vec<RuleInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    pub id: &'static str,
    pub requirement: &'static str,
    pub title: &'static str,
}

/// Run every rule.
/// Every rule posconf evaluates, in report order.
pub fn every_rule() -> Vec<Box<dyn Rule>> {
    let mut rules = all_rules();
    rules.extend(tables::rules());
    rules.extend(wire::rules());
    rules.extend(settlement::rules());
    rules.extend(receipt::rules());
    rules.extend(reference::rules());
    rules.extend(response::rules());
    rules
}

pub fn check(t: &Transcript) -> Report {
    let rules = every_rule();
    let mut violations = Vec::new();
    for r in &rules {
        r.check(t, &mut violations);
    }
    violations.sort_by_key(|v| v.seq.unwrap_or(0));
    Report {
        unexpected: violations.len(),
        violations,
        rules_evaluated: rules
            .iter()
            .map(|r| RuleInfo {
                id: r.id(),
                requirement: r.requirement(),
                title: r.title(),
            })
            .collect(),
    }
}

/// Check a recorded transcript as `posconf check` does. A run's transcript (records tagged
/// with their case) is judged case by case — concurrent cases interleave and each has its own
/// terminal — and each violation names its case.
pub fn check_records(records: &[Record], codec: &Codec, reveal: bool) -> Report {
    let tagged = records.iter().any(|r| r.case.is_some());
    if !tagged {
        let t = Transcript::from_records(records, codec);
        let mut report = check(&t);
        attach_bytes(&mut report, &t, codec, reveal);
        return report;
    }
    let mut order: Vec<Option<&str>> = Vec::new();
    let mut groups: std::collections::HashMap<Option<&str>, Vec<Record>> = Default::default();
    for r in records {
        let key = r.case.as_deref();
        if !groups.contains_key(&key) {
            order.push(key);
        }
        groups.entry(key).or_default().push(r.clone());
    }
    let mut all = check(&Transcript::from_records(&[], codec));
    for key in order {
        let group = groups.remove(&key).unwrap_or_default();
        // The runner records each case's `expect_violations` as a note of the case.
        let expected: Vec<String> = group
            .iter()
            .filter_map(|r| {
                r.event
                    .as_ref()?
                    .get(EXPECT_VIOLATIONS)?
                    .as_array()
                    .cloned()
            })
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let t = Transcript::from_records(&group, codec);
        let mut report = check(&t);
        attach_bytes(&mut report, &t, codec, reveal);
        for mut v in report.violations {
            v.case = key.map(str::to_string);
            v.expected_by_case = expected.iter().any(|e| e == v.rule);
            all.violations.push(v);
        }
    }
    all.unexpected = all
        .violations
        .iter()
        .filter(|v| !v.expected_by_case)
        .count();
    all
}

/// Key of the note a run writes for a case that expects violations:
/// `{"expect_violations": ["rule.id", ...]}`.
pub const EXPECT_VIOLATIONS: &str = "expect_violations";

/// Text form: one block per violation, masked bytes are not shown (raw only in JSON).
pub fn to_text(report: &Report) -> String {
    let mut out = String::new();
    for v in &report.violations {
        out.push_str(&format!(
            "{} {}{} [{}] {} {} field {}: expected {}, found {} — {}{}\n",
            if v.expected_by_case {
                "EXPECTED"
            } else {
                "VIOLATION"
            },
            v.case
                .as_deref()
                .map(|c| format!("case {c}: "))
                .unwrap_or_default(),
            v.requirement,
            v.rule,
            v.mti.as_deref().unwrap_or("-"),
            v.stan
                .as_deref()
                .map(|s| format!("trace {s}"))
                .unwrap_or_default(),
            v.field.as_deref().unwrap_or("-"),
            v.expected.as_deref().unwrap_or("-"),
            v.found.as_deref().unwrap_or("-"),
            v.message,
            v.raw
                .as_deref()
                .map(|r| format!(" (bytes {r})"))
                .unwrap_or_default()
        ));
    }
    let expected = report.violations.len() - report.unexpected;
    out.push_str(&format!(
        "{} rules evaluated, {} violations{}\n",
        report.rules_evaluated.len(),
        report.unexpected,
        if expected > 0 {
            format!(" ({expected} more expected by their cases)")
        } else {
            String::new()
        }
    ));
    out
}
