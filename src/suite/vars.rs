//! What a step left on the wire, as the centre recorded it, and values saved from it for later
//! steps: `save_as: orig` on a step, then `${orig.37}` (the original's reference number) in a
//! void or refund. Request and response fields are both saved; the response wins where both
//! carry a field, and `${orig.req.4}` / `${orig.resp.39}` pick one side.

use std::collections::{BTreeMap, HashMap};

use crate::iso8583::frame::Framing;
use crate::iso8583::txn::classify;
use crate::iso8583::Codec;
use crate::transcript::{Direction, Record, RecordKind};

/// One decoded message of a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Msg {
    pub seq: u64,
    pub response: bool,
    pub mti: String,
    /// Transaction id (`purchase`, `void`...).
    pub txn: String,
    pub reversal: bool,
    pub stan: Option<String>,
    /// Field and subfield id (`"4"`, `"60.2"`) → value as decoded (clear: internal use).
    pub fields: BTreeMap<String, String>,
}

/// The messages of one step, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepMessages {
    pub messages: Vec<Msg>,
}

impl StepMessages {
    /// Decode the frame records among `records`.
    pub fn from_records(records: &[Record], codec: &Codec) -> StepMessages {
        let mut messages = Vec::new();
        for r in records {
            if r.kind != RecordKind::Frame || r.dir == Direction::Event {
                continue;
            }
            let Some(bytes) = r.raw.as_deref().and_then(|h| hex::decode(h).ok()) else {
                continue;
            };
            let Ok(d) = crate::iso8583::frame::decode_frame(codec, &bytes, Framing::Auto) else {
                continue;
            };
            let c = classify(&d.message);
            let view = crate::inspect::inspect(
                codec,
                &bytes,
                &crate::inspect::InspectOptions {
                    framing: Framing::Auto,
                    reveal: true,
                    ..Default::default()
                },
            );
            let mut fields: BTreeMap<String, String> = view
                .fields
                .into_iter()
                .filter(|f| f.id.chars().next().is_some_and(|c| c.is_ascii_digit()))
                .map(|f| (f.id, f.value))
                .collect();
            // The header's terminal status (0 normal, 1 test) and processing requirement.
            if let Some(h) = d.header {
                fields.insert("header.status".into(), h.terminal_status().to_string());
                fields.insert(
                    "header.request".into(),
                    (h.processing_request().nibble()).to_string(),
                );
            }
            if let Some(t) = d.tpdu {
                fields.insert("tpdu".into(), t.to_string());
            }
            messages.push(Msg {
                seq: r.seq,
                response: d.message.mti.is_response(),
                mti: d.message.mti.as_str().to_string(),
                txn: c.kind.id().to_string(),
                reversal: c.reversal,
                stan: d.message.stan().map(str::to_string),
                fields,
            });
        }
        StepMessages { messages }
    }

    /// `0800→0810, 0200→0210` for failure texts.
    pub fn summary(&self) -> String {
        if self.messages.is_empty() {
            return "none".into();
        }
        self.messages
            .iter()
            .map(|m| m.mti.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The step's own transaction: its last non-reversal request and the answer to it (a
    /// purchase step may first send a pending reversal).
    pub fn main(&self) -> (Option<&Msg>, Option<&Msg>) {
        let Some(i) = self
            .messages
            .iter()
            .rposition(|m| !m.response && !m.reversal)
        else {
            return (None, None);
        };
        let req = &self.messages[i];
        let resp = self.messages[i + 1..]
            .iter()
            .find(|m| m.response && m.stan == req.stan && m.txn == req.txn)
            .or_else(|| self.messages[i + 1..].iter().find(|m| m.response));
        (Some(req), resp)
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VarError {
    #[error("${{{0}}}: nothing was saved as {1:?} (use save_as on an earlier step)")]
    NoSuchName(String, String),
    #[error("${{{0}}}: the saved messages carry no field {1}")]
    NoSuchField(String, String),
    #[error("unterminated ${{ in {0:?}")]
    Unterminated(String),
}

/// Saved values by name.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    saved: HashMap<String, BTreeMap<String, String>>,
}

impl Vars {
    /// Save the step's main request and response under `name`.
    pub fn save(&mut self, name: &str, msgs: &StepMessages) {
        let (req, resp) = msgs.main();
        let mut map = BTreeMap::new();
        for (side, m) in [("req", req), ("resp", resp)] {
            if let Some(m) = m {
                for (k, v) in &m.fields {
                    map.insert(format!("{side}.{k}"), v.clone());
                    map.insert(k.clone(), v.clone());
                }
                map.insert(format!("{side}.mti"), m.mti.clone());
            }
        }
        self.saved.insert(name.to_string(), map);
    }

    /// `orig.37` → the saved value.
    pub fn get(&self, path: &str) -> Result<&str, VarError> {
        let (name, field) = path.split_once('.').unwrap_or((path, ""));
        let m = self
            .saved
            .get(name)
            .ok_or_else(|| VarError::NoSuchName(path.into(), name.into()))?;
        m.get(field)
            .map(String::as_str)
            .ok_or_else(|| VarError::NoSuchField(path.into(), field.into()))
    }

    /// Replace every `${name.field}` in `text`. Dates: `${orig.13}` is MMDD as the centre sent it.
    pub fn substitute(&self, text: &str) -> Result<String, VarError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let j = after
                .find('}')
                .ok_or_else(|| VarError::Unterminated(text.into()))?;
            out.push_str(self.get(&after[..j])?);
            rest = &after[j + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_fields_substitute_and_unknown_names_are_errors() {
        let mut m = StepMessages::default();
        let mut req = Msg {
            seq: 1,
            response: false,
            mti: "0200".into(),
            txn: "purchase".into(),
            reversal: false,
            stan: Some("000003".into()),
            fields: BTreeMap::new(),
        };
        req.fields.insert("11".into(), "000003".into());
        req.fields.insert("4".into(), "000000000100".into());
        let mut resp = req.clone();
        resp.response = true;
        resp.mti = "0210".into();
        resp.fields.insert("37".into(), "120000000009".into());
        m.messages = vec![req, resp];
        let mut v = Vars::default();
        v.save("orig", &m);
        assert_eq!(
            v.substitute("rrn ${orig.37} stan ${orig.req.11}").unwrap(),
            "rrn 120000000009 stan 000003"
        );
        assert_eq!(v.get("orig.resp.mti").unwrap(), "0210");
        assert!(matches!(
            v.substitute("${x.37}"),
            Err(VarError::NoSuchName(..))
        ));
        assert!(matches!(
            v.substitute("${orig.99}"),
            Err(VarError::NoSuchField(..))
        ));
        assert!(matches!(
            v.substitute("${orig.37"),
            Err(VarError::Unterminated(..))
        ));
    }
}
