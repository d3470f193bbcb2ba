//! Expectations a step puts on the messages the previous step produced: which message
//! (direction, MTI, transaction) and what its fields must hold (exact, regex, one of, absent,
//! present, same as a saved value). Evaluated on the host-side record, so they hold for any
//! terminal driver.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::vars::{StepMessages, Vars};

/// Request (terminal → centre) or response (centre → terminal).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    #[default]
    Request,
    Response,
}

/// `expect_message: {mti: "0200", txn: purchase, fields: {"22": "021", "52": present}}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageExpect {
    #[serde(default)]
    pub which: Which,
    /// MTI of the message to look at (e.g. `"0400"`).
    #[serde(default)]
    pub mti: Option<String>,
    /// Transaction id (`purchase`, `void`, `sign_in`... as in host behaviours).
    #[serde(default)]
    pub txn: Option<String>,
    /// Only reversals (true) or only non-reversals (false).
    #[serde(default)]
    pub reversal: Option<bool>,
    /// Which of the matching messages to check, 1-based (default: the last).
    #[serde(default)]
    pub nth: Option<usize>,
    /// How many messages of the step must match the selector (e.g. a reversal sent 3 times).
    #[serde(default)]
    pub count: Option<usize>,
    /// Field id (`"4"`, `"60.2"`, `"61"`, or `header.status` / `header.request` / `tpdu`) →
    /// matcher.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldMatch>,
}

/// A field matcher. A plain string matches exactly, except the words `absent` and `present`;
/// maps give the other forms.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum FieldMatch {
    Exact(String),
    Rule(MatchRule),
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchRule {
    /// A regular expression the whole value must match.
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub one_of: Option<Vec<String>>,
    /// `same_as: orig.37`: equal to a saved value.
    #[serde(default)]
    pub same_as: Option<String>,
    /// Text the value must start with.
    #[serde(default)]
    pub prefix: Option<String>,
}

impl MessageExpect {
    /// Human form of the selector, for failure texts.
    pub fn describe(&self) -> String {
        let mut parts = vec![match self.which {
            Which::Request => "request".to_string(),
            Which::Response => "response".to_string(),
        }];
        if let Some(m) = &self.mti {
            parts.push(m.clone());
        }
        if let Some(t) = &self.txn {
            parts.push(t.clone());
        }
        match self.reversal {
            Some(true) => parts.push("reversal".into()),
            Some(false) => parts.push("not a reversal".into()),
            None => {}
        }
        parts.join(" ")
    }

    /// Messages of the step the selector (which, mti, txn, reversal) matches, in order.
    fn matching<'a>(&self, msgs: &'a StepMessages) -> Vec<&'a super::vars::Msg> {
        msgs.messages
            .iter()
            .filter(|m| {
                (m.response == (self.which == Which::Response))
                    && self.mti.as_ref().is_none_or(|x| *x == m.mti)
                    && self.txn.as_ref().is_none_or(|x| *x == m.txn)
                    && self.reversal.is_none_or(|r| r == m.reversal)
            })
            .collect()
    }

    /// The message this expectation checks: the `nth` matching one, or the last.
    pub fn select<'a>(&self, msgs: &'a StepMessages) -> Option<&'a super::vars::Msg> {
        let all = self.matching(msgs);
        match self.nth {
            Some(n) => all.get(n.checked_sub(1)?).copied(),
            None => all.last().copied(),
        }
    }

    /// Check the selected message; each mismatch is one line naming the field, expected and
    /// found (the trace number names the message).
    pub fn check(&self, msgs: &StepMessages, vars: &Vars) -> Result<(), Vec<String>> {
        if let Some(want) = self.count {
            let n = self.matching(msgs).len();
            if n != want {
                return Err(vec![format!(
                    "expected {want} × {}, the step sent {n} ({})",
                    self.describe(),
                    msgs.summary()
                )]);
            }
            if self.fields.is_empty() {
                return Ok(());
            }
        }
        let Some(m) = self.select(msgs) else {
            return Err(vec![format!(
                "no {} in the step's messages ({})",
                self.describe(),
                msgs.summary()
            )]);
        };
        let mut errors = Vec::new();
        for (field, matcher) in &self.fields {
            let found = m.fields.get(field).map(String::as_str);
            if let Err(want) = matcher.matches(found, vars) {
                // Failure text reaches the console and junit.xml: sensitive values masked.
                let dialect = crate::iso8583::cup_codec().dialect;
                let shown = |v: &str| crate::iso8583::mask::mask_by_id(dialect, field, v);
                errors.push(format!(
                    "{} trace {} field {field}: expected {}, found {}",
                    m.mti,
                    m.stan.as_deref().unwrap_or("-"),
                    crate::iso8583::mask::mask_digit_runs(&want),
                    found
                        .map(|f| format!("{:?}", shown(f)))
                        .unwrap_or_else(|| "absent".into())
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

impl FieldMatch {
    /// `Err(what was expected)` when `found` does not match.
    pub fn matches(&self, found: Option<&str>, vars: &Vars) -> Result<(), String> {
        match self {
            FieldMatch::Exact(w) if w == "absent" => match found {
                None => Ok(()),
                Some(_) => Err("absent".into()),
            },
            FieldMatch::Exact(w) if w == "present" => match found {
                Some(_) => Ok(()),
                None => Err("present".into()),
            },
            FieldMatch::Exact(w) => {
                let w = vars.substitute(w).map_err(|e| e.to_string())?;
                if found == Some(w.as_str()) {
                    Ok(())
                } else {
                    Err(format!("{w:?}"))
                }
            }
            FieldMatch::Rule(r) => r.matches(found, vars),
        }
    }
}

impl MatchRule {
    fn matches(&self, found: Option<&str>, vars: &Vars) -> Result<(), String> {
        let Some(v) = found else {
            return Err(self.describe());
        };
        if let Some(re) = &self.regex {
            let anchored = format!("^(?:{re})$");
            let ok = regex::Regex::new(&anchored)
                .map_err(|e| format!("a valid regex ({e})"))?
                .is_match(v);
            if !ok {
                return Err(format!("/{re}/"));
            }
        }
        if let Some(set) = &self.one_of {
            if !set.iter().any(|s| s == v) {
                return Err(format!("one of {set:?}"));
            }
        }
        if let Some(p) = &self.prefix {
            if !v.starts_with(p.as_str()) {
                return Err(format!("a value starting {p:?}"));
            }
        }
        if let Some(name) = &self.same_as {
            let want = vars.get(name).map_err(|e| e.to_string())?;
            if want != v {
                return Err(format!("{want:?} (same as {name})"));
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        let mut d = Vec::new();
        if let Some(r) = &self.regex {
            d.push(format!("/{r}/"));
        }
        if let Some(s) = &self.one_of {
            d.push(format!("one of {s:?}"));
        }
        if let Some(p) = &self.prefix {
            d.push(format!("prefix {p:?}"));
        }
        if let Some(n) = &self.same_as {
            d.push(format!("same as {n}"));
        }
        if d.is_empty() {
            "present".into()
        } else {
            d.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::vars::Msg;

    fn msgs() -> StepMessages {
        let mut req = Msg {
            seq: 1,
            response: false,
            mti: "0200".into(),
            txn: "purchase".into(),
            reversal: false,
            stan: Some("000007".into()),
            fields: BTreeMap::new(),
        };
        req.fields.insert("22".into(), "021".into());
        req.fields.insert("4".into(), "000000000100".into());
        let mut resp = req.clone();
        resp.seq = 2;
        resp.response = true;
        resp.mti = "0210".into();
        resp.fields.insert("39".into(), "00".into());
        resp.fields.insert("37".into(), "120000000001".into());
        StepMessages {
            messages: vec![req, resp],
        }
    }

    fn parse(y: &str) -> MessageExpect {
        crate::yaml::from_str(y, "t.yaml").unwrap()
    }

    #[test]
    fn exact_absent_present_regex_one_of_and_same_as() {
        let mut vars = Vars::default();
        vars.save("orig", &msgs());
        let m = msgs();
        parse("fields: {\"22\": \"021\", \"52\": absent, \"4\": present}")
            .check(&m, &vars)
            .unwrap();
        parse("which: response\nfields: {\"39\": {one_of: [\"00\", \"10\"]}, \"37\": {regex: \"[0-9]{12}\"}}")
            .check(&m, &vars)
            .unwrap();
        parse("which: response\nfields: {\"37\": {same_as: orig.37}}")
            .check(&m, &vars)
            .unwrap();
        let e = parse("fields: {\"22\": \"051\", \"52\": present}")
            .check(&m, &vars)
            .unwrap_err();
        assert_eq!(e.len(), 2);
        assert!(
            e[0].contains("0200 trace 000007 field 22: expected \"051\", found \"021\""),
            "{e:?}"
        );
        assert!(e[1].contains("field 52: expected present, found absent"));
        let e = parse("mti: \"0400\"").check(&m, &vars).unwrap_err();
        assert!(e[0].contains("no request 0400"), "{e:?}");
        let e = parse("which: response\nfields: {\"37\": {regex: \"[A-Z]+\"}}")
            .check(&m, &vars)
            .unwrap_err();
        assert!(e[0].contains("/[A-Z]+/"), "{e:?}");
    }

    #[test]
    fn count_nth_and_header_fields() {
        let vars = Vars::default();
        let mut m = msgs();
        let mut rev = m.messages[0].clone();
        rev.mti = "0400".into();
        rev.reversal = true;
        rev.fields.insert("header.status".into(), "0".into());
        let mut rev2 = rev.clone();
        rev2.fields.insert("39".into(), "98".into());
        m.messages.insert(0, rev2);
        m.messages.insert(0, rev);
        parse("mti: \"0400\"\ncount: 2").check(&m, &vars).unwrap();
        let e = parse("mti: \"0400\"\ncount: 3")
            .check(&m, &vars)
            .unwrap_err();
        assert!(
            e[0].contains("expected 3 × request 0400, the step sent 2"),
            "{e:?}"
        );
        parse("mti: \"0400\"\nnth: 1\nfields: {\"39\": absent, \"header.status\": \"0\"}")
            .check(&m, &vars)
            .unwrap();
        parse("mti: \"0400\"\nnth: 2\nfields: {\"39\": \"98\"}")
            .check(&m, &vars)
            .unwrap();
        assert!(parse("mti: \"0400\"\nnth: 3").check(&m, &vars).is_err());
    }

    #[test]
    fn a_typo_in_a_matcher_is_an_error_with_its_line() {
        let e =
            crate::yaml::from_str::<MessageExpect>("fields:\n  \"4\": {regx: \"1\"}\n", "s.yaml")
                .unwrap_err()
                .to_string();
        assert!(e.starts_with("s.yaml:"), "{e}");
    }
}
