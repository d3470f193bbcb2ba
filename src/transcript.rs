//! The transcript: one JSON object per line for every frame in and out, every connection event
//! and every journal event, flushed as it is written so a crash or Ctrl-C loses nothing.
//! Checks and reports read transcripts; nothing else is the record of a run.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::inspect::{inspect, to_json, InspectOptions};
use crate::iso8583::frame::{decode_frame, Framing};
use crate::iso8583::Codec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
    Event,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Frame,
    BadFrame,
    Connect,
    Disconnect,
    Journal,
    Behaviour,
    Note,
    /// A slip the terminal printed (`note` = the slip text, `event` = {step, stan?}).
    Receipt,
}

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    /// Microseconds since the UNIX epoch.
    pub ts_us: u64,
    pub conn: u64,
    pub dir: Direction,
    pub kind: RecordKind,
    /// The bytes as they crossed the wire (framing included), uppercase hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// The decoded view (unmasked: the transcript is the evidence; reports mask).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Json>,
    /// The suite case this record belongs to, when a runner sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

impl Record {
    fn base(conn: u64, dir: Direction, kind: RecordKind) -> Record {
        Record {
            seq: 0,
            ts_us: now_us(),
            conn,
            dir,
            kind,
            raw: None,
            decoded: None,
            note: None,
            event: None,
            case: None,
        }
    }

    /// A TCP frame (length prefix included) with a compact decode: TPDU, header, MTI and
    /// field values. Readers wanting names and subfields call [`Record::inspect`].
    pub fn frame(conn: u64, dir: Direction, bytes: &[u8], codec: &Codec) -> Record {
        Record::frame_framed(conn, dir, bytes, codec, Framing::Tcp)
    }

    /// Like [`Record::frame`] for another framing (serial STX/ETX frames).
    pub fn frame_framed(
        conn: u64,
        dir: Direction,
        bytes: &[u8],
        codec: &Codec,
        framing: Framing,
    ) -> Record {
        let mut r = Record::base(conn, dir, RecordKind::Frame);
        r.raw = Some(hex::encode_upper(bytes));
        r.decoded = Some(match decode_frame(codec, bytes, framing) {
            Ok(d) => {
                let fields: serde_json::Map<String, Json> = d
                    .message
                    .fields()
                    .map(|(n, v)| (n.to_string(), Json::String(v.display())))
                    .collect();
                serde_json::json!({
                    "tpdu": d.tpdu.map(|t| t.to_string()),
                    "header": d.header.map(|h| h.to_string()),
                    "mti": d.message.mti.as_str(),
                    "fields": fields,
                })
            }
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        });
        r
    }

    /// The full readable view of a frame record (names, subfields, raw per field, masking).
    pub fn inspect(&self, codec: &Codec, reveal: bool) -> Option<Json> {
        let bytes = hex::decode(self.raw.as_deref()?).ok()?;
        let opts = InspectOptions {
            framing: Framing::Auto,
            reveal,
            ..InspectOptions::default()
        };
        Some(to_json(&inspect(codec, &bytes, &opts)))
    }

    /// Bytes that did not decode, with the reason.
    pub fn bad_frame(conn: u64, bytes: &[u8], reason: String) -> Record {
        let mut r = Record::base(conn, Direction::In, RecordKind::BadFrame);
        r.raw = Some(hex::encode_upper(bytes));
        r.note = Some(reason);
        r
    }

    pub fn event(conn: u64, kind: RecordKind, note: String) -> Record {
        let mut r = Record::base(conn, Direction::Event, kind);
        r.note = Some(note);
        r
    }

    /// A slip the terminal printed during suite step `step` (the slip text as printed).
    pub fn receipt(text: &str, step: usize) -> Record {
        let mut r = Record::base(0, Direction::Event, RecordKind::Receipt);
        r.note = Some(text.to_string());
        r.event = Some(serde_json::json!({ "step": step }));
        r
    }

    /// A journal event (keys issued, authorisation, reversal, totals...).
    pub fn journal(conn: u64, event: Json) -> Record {
        let mut r = Record::base(conn, Direction::Event, RecordKind::Journal);
        r.event = Some(event);
        r
    }
}

struct Inner {
    seq: u64,
    file: Option<std::fs::File>,
    memory: Option<Vec<Record>>,
    error: Option<String>,
}

/// Where a writer copies each record as it is written (a case's log into the run's).
struct Forward {
    to: std::sync::Arc<TranscriptWriter>,
    case: String,
    /// Added to connection ids, so connections of concurrent cases stay apart.
    conn_base: u64,
    /// This writer's sequence number → the run writer's.
    seqs: std::collections::HashMap<u64, u64>,
}

/// Appends records from any number of tasks; each line is written and flushed at once.
pub struct TranscriptWriter {
    inner: Mutex<Inner>,
    case: Mutex<Option<String>>,
    forward: Mutex<Option<Forward>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Line {
        path: String,
        line: usize,
        reason: String,
    },
}

impl TranscriptWriter {
    /// Write to a file (created or truncated) and keep no copy in memory.
    pub fn to_file(path: &Path) -> Result<TranscriptWriter, TranscriptError> {
        let file = std::fs::File::create(path).map_err(|source| TranscriptError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(TranscriptWriter::new(Some(file), false))
    }

    /// Keep records in memory only (tests, in-process runs).
    pub fn in_memory() -> TranscriptWriter {
        TranscriptWriter::new(None, true)
    }

    /// Both: a file for the record and memory for the report.
    pub fn to_file_and_memory(path: &Path) -> Result<TranscriptWriter, TranscriptError> {
        let file = std::fs::File::create(path).map_err(|source| TranscriptError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(TranscriptWriter::new(Some(file), true))
    }

    fn new(file: Option<std::fs::File>, memory: bool) -> TranscriptWriter {
        TranscriptWriter {
            inner: Mutex::new(Inner {
                seq: 0,
                file,
                memory: memory.then(Vec::new),
                error: None,
            }),
            case: Mutex::new(None),
            forward: Mutex::new(None),
        }
    }

    /// From now on copy every record, as it is written, into `to`, tagged with `case` and with
    /// `conn_base` added to its connection id: a case's records reach the run's transcript as
    /// they happen, so an interrupted run loses none.
    pub fn forward_to(&self, to: std::sync::Arc<TranscriptWriter>, case: &str, conn_base: u64) {
        *self.forward.lock().unwrap_or_else(|p| p.into_inner()) = Some(Forward {
            to,
            case: case.to_string(),
            conn_base,
            seqs: std::collections::HashMap::new(),
        });
    }

    /// The run writer's sequence number of this writer's record `seq`, when it was forwarded.
    pub fn forwarded_seq(&self, seq: u64) -> Option<u64> {
        self.forward
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .and_then(|f| f.seqs.get(&seq).copied())
    }

    /// Tag following records with a suite case id.
    pub fn set_case(&self, case: Option<String>) {
        *self.case.lock().unwrap_or_else(|p| p.into_inner()) = case;
    }

    /// Append one record; returns its sequence number.
    pub fn write(&self, mut record: Record) -> u64 {
        let case = self.case.lock().unwrap_or_else(|p| p.into_inner()).clone();
        // Held for the whole write so a case's records reach the run writer in their order.
        // Lock order: forward, inner, then the run writer's (which never forwards).
        let mut fwd = self.forward.lock().unwrap_or_else(|p| p.into_inner());
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.seq += 1;
        record.seq = inner.seq;
        if record.case.is_none() {
            record.case = case;
        }
        if let Some(f) = inner.file.as_mut() {
            let mut line = serde_json::to_vec(&record).unwrap_or_else(|e| {
                format!(
                    "{{\"seq\":{},\"note\":\"unserialisable record: {e}\"}}",
                    record.seq
                )
                .into_bytes()
            });
            line.push(b'\n');
            // One write per record: the line reaches the OS before write() returns.
            let res = f.write_all(&line).and_then(|_| f.flush());
            if let Err(e) = res {
                inner.error.get_or_insert_with(|| e.to_string());
            }
        }
        let seq = record.seq;
        let copy = fwd.is_some().then(|| record.clone());
        if let Some(m) = inner.memory.as_mut() {
            m.push(record);
        }
        drop(inner);
        if let (Some(f), Some(mut r)) = (fwd.as_mut(), copy) {
            r.case = Some(f.case.clone());
            r.conn += f.conn_base;
            let to_seq = f.to.write(Record { seq: 0, ..r });
            f.seqs.insert(seq, to_seq);
        }
        seq
    }

    /// Records kept in memory (empty for file-only writers).
    pub fn records(&self) -> Vec<Record> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .memory
            .clone()
            .unwrap_or_default()
    }

    /// Sequence number of the last record written (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).seq
    }

    /// Records kept in memory with a sequence number above `seq` (a step's or a case's own).
    pub fn records_since(&self, seq: u64) -> Vec<Record> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Some(m) = inner.memory.as_ref() else {
            return Vec::new();
        };
        // Sequence numbers grow with the position, so the tail starts at a binary search.
        let start = m.partition_point(|r| r.seq <= seq);
        m[start..].to_vec()
    }

    /// The first write error, if the file could not be written.
    pub fn error(&self) -> Option<String> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .error
            .clone()
    }
}

/// Read a transcript. A truncated last line (a crash mid-write) is skipped and reported in the
/// second value; any other bad line is an error naming its line number.
pub fn read_transcript(path: &Path) -> Result<(Vec<Record>, Option<String>), TranscriptError> {
    let text = std::fs::read_to_string(path).map_err(|source| TranscriptError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    let mut warning = None;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => out.push(r),
            Err(e) if i + 1 == lines.len() && !text.ends_with('\n') => {
                warning = Some(format!(
                    "{}:{}: truncated last line skipped ({e})",
                    path.display(),
                    i + 1
                ));
            }
            Err(e) => {
                return Err(TranscriptError::Line {
                    path: path.display().to_string(),
                    line: i + 1,
                    reason: e.to_string(),
                })
            }
        }
    }
    Ok((out, warning))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_writers_get_distinct_sequence_numbers_and_whole_lines() {
        let dir = std::env::temp_dir().join(format!("posconf-tr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.jsonl");
        let w = std::sync::Arc::new(TranscriptWriter::to_file_and_memory(&path).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        w.write(Record::event(
                            t,
                            RecordKind::Note,
                            format!("thread {t} record {i}"),
                        ));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let (records, warn) = read_transcript(&path).unwrap();
        assert!(warn.is_none());
        assert_eq!(records.len(), 400);
        let mut seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs.len(), 400);
        assert_eq!(w.records().len(), 400);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_truncated_last_line_is_skipped_with_a_warning_but_a_bad_middle_line_fails() {
        let dir = std::env::temp_dir().join(format!("posconf-tr2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.jsonl");
        let w = TranscriptWriter::to_file(&path).unwrap();
        w.write(Record::event(1, RecordKind::Connect, "a".into()));
        w.write(Record::journal(1, serde_json::json!({"event": "x"})));
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"seq\":3,\"ts_us\":1,\"co");
        std::fs::write(&path, &text).unwrap();
        let (records, warn) = read_transcript(&path).unwrap();
        assert_eq!(records.len(), 2);
        assert!(warn.unwrap().contains(":3: truncated"));
        std::fs::write(&path, "{bad}\n{}\n").unwrap();
        assert!(read_transcript(&path)
            .unwrap_err()
            .to_string()
            .contains(":1:"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_forwarding_writer_copies_each_record_at_once_with_case_and_connection() {
        let run = std::sync::Arc::new(TranscriptWriter::in_memory());
        run.write(Record::event(1, RecordKind::Note, "earlier".into()));
        let case = TranscriptWriter::in_memory();
        case.forward_to(run.clone(), "7.1.2-purchase", 3 << 16);
        let local = case.write(Record::event(1, RecordKind::Connect, "c".into()));
        // Already in the run writer, before the case ends.
        let copied = run.records();
        assert_eq!(copied.len(), 2);
        assert_eq!(copied[1].case.as_deref(), Some("7.1.2-purchase"));
        assert_eq!(copied[1].conn, (3 << 16) + 1);
        assert_eq!(case.forwarded_seq(local), Some(2));
        assert_eq!(
            case.records()[0].conn,
            1,
            "the case's own copy is unchanged"
        );
    }

    #[test]
    fn frames_are_recorded_with_their_decode() {
        let codec = crate::iso8583::cup_codec();
        let bytes = hex::decode("003C600003000060310031000008000020000000C00012000001313233343536373838393831313030343831323030303100110000000100400003303120").unwrap();
        let r = Record::frame(7, Direction::In, &bytes, &codec);
        let d = r.decoded.as_ref().unwrap();
        assert_eq!(d["mti"], "0800");
        assert_eq!(d["fields"]["41"], "12345678");
        assert_eq!(
            r.inspect(&codec, false).unwrap()["fields"]["60.3"]["value"],
            "004"
        );
        let line = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), r);
    }
}
