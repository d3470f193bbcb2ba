//! What a test step makes the centre do instead of (or on top of) its normal answer: a given
//! response code, a delay, silence, a dropped connection, a wrong MAC, a garbled field, a
//! request to sign in again. Matched per message, counted, optionally limited.

use serde::Deserialize;

use crate::iso8583::txn::classify;
use crate::iso8583::Message;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Answer with this response code (the journal books nothing).
    #[serde(rename = "respond")]
    Respond { code: String },
    /// Hold the answer this long.
    #[serde(rename = "delay_ms")]
    Delay { ms: u64 },
    /// Process the request but never answer (the answer is "lost": the terminal must reverse).
    NoReply,
    /// Close the connection instead of answering; the request is not processed.
    Close,
    /// Answer with a MAC that does not verify.
    BadMac,
    /// Corrupt this field of the answer.
    Garble { field: u8 },
    /// Set the header's processing requirement to 3 (sign in again).
    ResignIn,
    /// Set it to 1 (download parameters).
    RequestParams,
    /// Set it to 2 (upload the terminal status, seed 6.3.7).
    RequestStatus,
}

/// Which requests a behaviour applies to; every given condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    pub mti: Option<String>,
    /// Transaction id (`purchase`, `sign_in`, `settlement`... see `TxnKind::id`).
    pub txn: Option<String>,
    pub reversal: Option<bool>,
    pub terminal: Option<String>,
}

impl Matcher {
    pub fn matches(&self, msg: &Message, tid: &str) -> bool {
        let c = classify(msg);
        self.mti.as_ref().is_none_or(|m| m == msg.mti.as_str())
            && self.txn.as_ref().is_none_or(|t| t == c.kind.id())
            && self.reversal.is_none_or(|r| r == c.reversal)
            && self.terminal.as_ref().is_none_or(|t| t == tid)
    }
}

fn one() -> u32 {
    1
}

/// One rule: when, what, from which match on, how many times.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    #[serde(default)]
    pub when: Matcher,
    #[serde(deserialize_with = "actions")]
    #[schemars(schema_with = "actions_schema")]
    pub actions: Vec<Action>,
    /// Apply from the Nth matching request (1-based).
    #[serde(default = "one")]
    pub from_nth: u32,
    /// Apply this many times, then stop (default: always).
    #[serde(default)]
    pub times: Option<u32>,
    #[serde(skip)]
    seen: u32,
    #[serde(skip)]
    applied: u32,
}

/// The schema of what [`actions`] accepts (for `posconf schema`).
fn actions_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": {
            "oneOf": [
                {"enum": ["no_reply", "close", "bad_mac", "resign_in", "request_params", "request_status"]},
                {"type": "object", "additionalProperties": false, "minProperties": 1, "maxProperties": 1,
                 "properties": {
                    "respond": {"type": "string", "description": "answer with this response code"},
                    "delay_ms": {"type": "integer", "minimum": 0},
                    "garble": {"type": "integer", "minimum": 2, "maximum": 64, "description": "corrupt this field of the answer"}
                 }}
            ]
        }
    })
}

/// Accept `no_reply` as well as `{respond: "51"}` / `{delay_ms: 1500}` / `{garble: 39}`.
fn actions<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Action>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Unit(String),
        Map(std::collections::BTreeMap<String, serde_yaml::Value>),
    }
    let raw: Vec<Raw> = Vec::deserialize(d)?;
    raw.into_iter()
        .map(|r| {
            let err = |m: String| serde::de::Error::custom(m);
            match r {
                Raw::Unit(s) => match s.as_str() {
                    "no_reply" => Ok(Action::NoReply),
                    "close" => Ok(Action::Close),
                    "bad_mac" => Ok(Action::BadMac),
                    "resign_in" => Ok(Action::ResignIn),
                    "request_params" => Ok(Action::RequestParams),
                    "request_status" => Ok(Action::RequestStatus),
                    other => Err(err(format!("unknown action {other:?} (no_reply, close, bad_mac, resign_in, request_params, request_status, respond, delay_ms, garble)"))),
                },
                Raw::Map(m) => {
                    let (k, v) = m.into_iter().next().ok_or_else(|| err("empty action".into()))?;
                    let as_str = |v: &serde_yaml::Value| match v {
                        serde_yaml::Value::String(s) => Ok(s.clone()),
                        serde_yaml::Value::Number(n) => Ok(n.to_string()),
                        _ => Err(err(format!("{k}: expected a value"))),
                    };
                    match k.as_str() {
                        "respond" => Ok(Action::Respond { code: as_str(&v)? }),
                        "delay_ms" => as_str(&v)?.parse().map(|ms| Action::Delay { ms }).map_err(|_| err("delay_ms: expected milliseconds".into())),
                        "garble" => as_str(&v)?.parse().map(|field| Action::Garble { field }).map_err(|_| err("garble: expected a field number".into())),
                        other => Err(err(format!("unknown action {other:?}"))),
                    }
                }
            }
        })
        .collect()
}

impl Behaviour {
    pub fn new(when: Matcher, actions: Vec<Action>) -> Behaviour {
        Behaviour {
            when,
            actions,
            from_nth: 1,
            times: None,
            seen: 0,
            applied: 0,
        }
    }

    pub fn from_nth(mut self, n: u32) -> Behaviour {
        self.from_nth = n.max(1);
        self
    }

    pub fn times(mut self, n: u32) -> Behaviour {
        self.times = Some(n);
        self
    }
}

/// The active behaviours with their counters.
#[derive(Debug, Clone, Default)]
pub struct Behaviours {
    pub list: Vec<Behaviour>,
}

impl Behaviours {
    pub fn new(list: Vec<Behaviour>) -> Behaviours {
        Behaviours { list }
    }

    pub fn load(path: &std::path::Path) -> Result<Behaviours, crate::yaml::YamlError> {
        Ok(Behaviours {
            list: crate::yaml::from_file(path)?,
        })
    }

    pub fn from_yaml(text: &str, origin: &str) -> Result<Behaviours, crate::yaml::YamlError> {
        Ok(Behaviours {
            list: crate::yaml::from_str(text, origin)?,
        })
    }

    pub fn push(&mut self, b: Behaviour) {
        self.list.push(b);
    }

    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// The actions for this request, in rule order; counts the match.
    pub fn decide(&mut self, msg: &Message, tid: &str) -> Vec<Action> {
        let mut out = Vec::new();
        for b in &mut self.list {
            if !b.when.matches(msg, tid) {
                continue;
            }
            b.seen += 1;
            if b.seen < b.from_nth || b.times.is_some_and(|t| b.applied >= t) {
                continue;
            }
            b.applied += 1;
            out.extend(b.actions.iter().cloned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso8583::Mti;

    fn purchase() -> Message {
        Message::new(Mti::parse("0200").unwrap()).with(60, "22000001")
    }

    #[test]
    fn nth_and_times_are_counted_per_rule() {
        let mut b = Behaviours::from_yaml(
            "- when: {txn: purchase}\n  from_nth: 2\n  times: 1\n  actions: [{respond: \"51\"}]\n- when: {mti: \"0200\"}\n  actions: [{delay_ms: 1500}, no_reply]\n",
            "b.yaml",
        )
        .unwrap();
        let first = b.decide(&purchase(), "12345678");
        assert_eq!(first, [Action::Delay { ms: 1500 }, Action::NoReply]);
        let second = b.decide(&purchase(), "12345678");
        assert_eq!(second[0], Action::Respond { code: "51".into() });
        let third = b.decide(&purchase(), "12345678");
        assert!(
            !third.contains(&Action::Respond { code: "51".into() }),
            "times: 1"
        );
        let signin = Message::new(Mti::parse("0800").unwrap()).with(60, "00000001004");
        assert!(b.decide(&signin, "12345678").is_empty());
    }

    #[test]
    fn matchers_and_parse_errors() {
        let m = Matcher {
            reversal: Some(true),
            terminal: Some("1".into()),
            ..Default::default()
        };
        let rev = Message::new(Mti::parse("0400").unwrap()).with(60, "22000001");
        assert!(m.matches(&rev, "1"));
        assert!(!m.matches(&rev, "2"));
        assert!(!m.matches(&purchase(), "1"));
        let e = Behaviours::from_yaml("- when: {txn: purchase}\n  actions: [explode]\n", "b.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.yaml:") && e.contains("explode"), "{e}");
        let e = Behaviours::from_yaml("- when: {tx: purchase}\n  actions: [close]\n", "b.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.yaml:1:"), "{e}");
        let ok = Behaviours::from_yaml(
            "- actions: [{garble: 39}, bad_mac, resign_in, request_status]\n",
            "b.yaml",
        )
        .unwrap();
        assert_eq!(
            ok.list[0].actions,
            [
                Action::Garble { field: 39 },
                Action::BadMac,
                Action::ResignIn,
                Action::RequestStatus
            ]
        );
    }
}
