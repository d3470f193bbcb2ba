//! The YAML suite model: cases with requirement ids, steps in the `Terminal` vocabulary, host
//! behaviours per step, and expectations. Parsed through `crate::yaml`, so a broken suite names
//! its file, line and key.

use serde::Deserialize;

use crate::host::behaviour::Behaviour;

/// A suite file: `suite: name` and `cases: [...]`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    pub suite: String,
    #[serde(default)]
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Title {
    pub zh: String,
    pub en: String,
}

/// One test case.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub id: String,
    /// Seed-001 requirement ids this case covers (`6.3.2`, `7.1.9`...).
    pub requirements: Vec<String>,
    pub title: Title,
    /// Rig capabilities the case needs (`ic-reader`, `manual`...).
    #[serde(default)]
    pub needs: Vec<String>,
    #[serde(deserialize_with = "crate::yaml::singleton_maps")]
    pub steps: Vec<Step>,
    /// Rules that must fire (negative cases); by default none may.
    #[serde(default)]
    pub expect_violations: Vec<String>,
    /// Run on the terminal and centre the previous case of this file left (its batch, trace,
    /// keys and journal), right after it, instead of a clean pair. Rules judge the case with
    /// the whole chain as context. Only meaningful for the reference terminal: a real terminal
    /// keeps its state across cases anyway.
    #[serde(default)]
    pub continues: bool,
    /// Reference-terminal fault switches for this case (`wrong_mac`, `skip_trace`...): negative
    /// cases that prove a rule fires. Ignored (case skipped) on a real terminal.
    #[serde(default)]
    pub sim_faults: Vec<String>,
}

/// A step: a terminal action (with the response code it must end with), or a host behaviour.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    SignIn {
        #[serde(default = "ok")]
        expect: String,
    },
    Purchase {
        #[serde(default = "good")]
        card: String,
        amount: u64,
        #[serde(default)]
        pin: Option<String>,
        #[serde(default = "ok")]
        expect: String,
        /// Keep this step's request and answer as `${NAME.FIELD}` (`${orig.37}`).
        #[serde(default)]
        save_as: Option<String>,
    },
    Balance {
        #[serde(default = "good")]
        card: String,
        #[serde(default = "ok")]
        expect: String,
    },
    /// Void the last purchase of the batch.
    VoidLast {
        #[serde(default = "good")]
        card: String,
        #[serde(default = "ok")]
        expect: String,
    },
    /// Refund against the first transaction of the batch.
    RefundFirst {
        #[serde(default = "good")]
        card: String,
        amount: u64,
        #[serde(default = "ok")]
        expect: String,
    },
    /// Settle; `expect` is the pair of 0510 result flags, e.g. "11".
    Settle {
        #[serde(default = "balanced")]
        expect: String,
    },
    SignOff {
        #[serde(default = "ok")]
        expect: String,
    },
    Echo {
        #[serde(default = "ok")]
        expect: String,
    },
    PreAuth {
        #[serde(default = "good")]
        card: String,
        amount: u64,
        #[serde(default = "ok")]
        expect: String,
        #[serde(default)]
        save_as: Option<String>,
    },
    /// Void the last pre-authorisation (by its code and date).
    PreAuthVoidLast {
        #[serde(default = "good")]
        card: String,
        #[serde(default = "ok")]
        expect: String,
    },
    /// Complete the last pre-authorisation.
    CompletionLast {
        #[serde(default = "good")]
        card: String,
        amount: u64,
        #[serde(default = "ok")]
        expect: String,
    },
    /// Void the last completion.
    CompletionVoidLast {
        #[serde(default = "good")]
        card: String,
        #[serde(default = "ok")]
        expect: String,
    },
    /// Store an offline settlement (sent before the next settlement); `expect` is "stored".
    Offline {
        #[serde(default = "good")]
        card: String,
        amount: u64,
        #[serde(default = "auth")]
        auth_code: String,
        /// `stored`, or `refused`.
        #[serde(default = "stored")]
        expect: String,
    },
    /// Adjust the first transaction (new amount, or a tip).
    AdjustFirst {
        #[serde(default)]
        amount: u64,
        #[serde(default)]
        tip: u64,
        #[serde(default = "stored")]
        expect: String,
    },
    DownloadParams {
        #[serde(default = "ok")]
        expect: String,
    },
    UploadStatus {
        #[serde(default = "ok")]
        expect: String,
    },
    Reprint,
    Lock,
    Unlock {
        password: String,
        /// `unlocked`, or `refused`.
        #[serde(default = "unlocked")]
        expect: String,
    },
    TestMode {
        on: bool,
        /// `ok`, or `refused` (e.g. with an unsettled batch).
        #[serde(default = "ok_word")]
        expect: String,
    },
    /// Power off and on: operator and POS must sign in again.
    PowerCycle,
    OperatorSignIn {
        code: String,
        password: String,
        #[serde(default = "ok")]
        expect: String,
    },
    /// The last slip printed must contain this text.
    SlipContains {
        text: String,
    },
    /// Void a purchase by voucher (trace) number, e.g. `voucher: "${orig.11}"`.
    Void {
        #[serde(default = "good")]
        card: String,
        voucher: String,
        #[serde(default = "ok")]
        expect: String,
        #[serde(default)]
        save_as: Option<String>,
    },
    /// Refund against an original's reference number and date (MMDD).
    Refund {
        #[serde(default = "good")]
        card: String,
        amount: u64,
        rrn: String,
        date: String,
        #[serde(default = "ok")]
        expect: String,
        #[serde(default)]
        save_as: Option<String>,
    },
    /// Void a pre-authorisation by its authorisation code and date.
    PreAuthVoid {
        #[serde(default = "good")]
        card: String,
        amount: u64,
        auth_code: String,
        date: String,
        #[serde(default = "ok")]
        expect: String,
    },
    /// Complete a pre-authorisation by its authorisation code and date.
    Completion {
        #[serde(default = "good")]
        card: String,
        amount: u64,
        auth_code: String,
        date: String,
        #[serde(default = "ok")]
        expect: String,
        #[serde(default)]
        save_as: Option<String>,
    },
    /// Void a completion by voucher number.
    CompletionVoid {
        #[serde(default = "good")]
        card: String,
        voucher: String,
        #[serde(default = "ok")]
        expect: String,
    },
    /// Adjust a transaction by voucher number (new amount, or a tip).
    Adjust {
        voucher: String,
        #[serde(default)]
        amount: u64,
        #[serde(default)]
        tip: u64,
        #[serde(default = "stored")]
        expect: String,
    },
    /// The previous step's messages: a request (default) or response matching `mti`/`txn`
    /// (the last such), whose fields match.
    ExpectMessage(super::expect::MessageExpect),
    /// The previous step sent no message matching this (e.g. no 0400 after a clean purchase).
    ExpectNoMessage(super::expect::MessageExpect),
    /// What the terminal shows after the previous step.
    ExpectDisplay {
        contains: String,
    },
    /// Slips printed by the previous step: each text present, each `absent` text missing;
    /// `none: true` = nothing printed.
    ExpectReceipt {
        #[serde(default)]
        contains: Vec<String>,
        #[serde(default)]
        absent: Vec<String>,
        #[serde(default)]
        none: bool,
    },
    /// Wall time of the previous step, measured.
    ExpectTiming {
        #[serde(default)]
        min_ms: Option<u64>,
        #[serde(default)]
        max_ms: Option<u64>,
    },
    /// Wait (e.g. for the terminal's timers).
    Wait {
        ms: u64,
    },
    /// Add a behaviour to the centre from now on.
    Host(Behaviour),
    /// A step with the rig's PBOC card (issue 5): see `suite::card_steps`.
    Card(super::card_steps::CardStep),
    /// Ask the operator to do or observe something (cases that need `manual`); the answer is
    /// recorded. `expect` is the answer that passes (default `yes`).
    Prompt {
        zh: String,
        en: String,
        #[serde(default = "yes")]
        expect: String,
    },
}

impl Step {
    /// The name this step saves its messages under.
    pub fn saves_as(&self) -> Option<&str> {
        match self {
            Step::Purchase { save_as, .. }
            | Step::PreAuth { save_as, .. }
            | Step::Void { save_as, .. }
            | Step::Refund { save_as, .. }
            | Step::Completion { save_as, .. } => save_as.as_deref(),
            _ => None,
        }
    }

    /// Texts of the step that may hold `${name.field}` references.
    fn texts(&self) -> Vec<&str> {
        match self {
            Step::Void { voucher, .. }
            | Step::CompletionVoid { voucher, .. }
            | Step::Adjust { voucher, .. } => vec![voucher],
            Step::Refund { rrn, date, .. } => vec![rrn, date],
            Step::PreAuthVoid {
                auth_code, date, ..
            }
            | Step::Completion {
                auth_code, date, ..
            } => vec![auth_code, date],
            Step::ExpectDisplay { contains } => vec![contains],
            Step::ExpectReceipt {
                contains, absent, ..
            } => contains.iter().chain(absent).map(String::as_str).collect(),
            Step::ExpectMessage(e) | Step::ExpectNoMessage(e) => e
                .fields
                .values()
                .filter_map(|m| match m {
                    super::expect::FieldMatch::Exact(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The fixture card the step uses, if any.
    pub fn card(&self) -> Option<&str> {
        match self {
            Step::Purchase { card, .. }
            | Step::Balance { card, .. }
            | Step::VoidLast { card, .. }
            | Step::RefundFirst { card, .. }
            | Step::PreAuth { card, .. }
            | Step::PreAuthVoidLast { card, .. }
            | Step::CompletionLast { card, .. }
            | Step::CompletionVoidLast { card, .. }
            | Step::Offline { card, .. }
            | Step::Void { card, .. }
            | Step::Refund { card, .. }
            | Step::PreAuthVoid { card, .. }
            | Step::Completion { card, .. }
            | Step::CompletionVoid { card, .. } => Some(card),
            _ => None,
        }
    }

    /// The terminal feature the step exercises (capability names of `suite::rig`).
    fn feature(&self) -> Option<&'static str> {
        use crate::host::behaviour::Action;
        Some(match self {
            Step::PreAuth { .. }
            | Step::PreAuthVoid { .. }
            | Step::PreAuthVoidLast { .. }
            | Step::Completion { .. }
            | Step::CompletionLast { .. }
            | Step::CompletionVoid { .. }
            | Step::CompletionVoidLast { .. } => "pre-auth",
            Step::Offline { .. } => "offline",
            Step::Adjust { tip, .. } | Step::AdjustFirst { tip, .. } if *tip > 0 => "tip",
            Step::Adjust { .. } | Step::AdjustFirst { .. } => "adjust",
            Step::TestMode { .. } => "test-state",
            Step::DownloadParams { .. } => "param-download",
            Step::UploadStatus { .. } => "status-upload",
            Step::Lock | Step::Unlock { .. } => "lock",
            Step::Host(b) if b.actions.contains(&Action::RequestParams) => "param-download",
            Step::Host(b) if b.actions.contains(&Action::RequestStatus) => "status-upload",
            _ => return None,
        })
    }
}

impl Case {
    /// Mistakes a suite can be checked for before anything runs: regexes that do not compile,
    /// `${name.field}` with no earlier `save_as: name`, `same_as` likewise, and unknown rule ids
    /// in `expect_violations`. Each message names the step.
    pub fn lint(&self, rule_ids: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.expect_violations {
            if !rule_ids.contains(&r.as_str()) {
                out.push(format!(
                    "expect_violations: unknown rule {r:?} (known: {})",
                    rule_ids.join(", ")
                ));
            }
        }
        let mut saved: Vec<&str> = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            let n = i + 1;
            let mut names: Vec<String> = Vec::new();
            for text in step.texts() {
                let mut rest = text;
                while let Some(a) = rest.find("${") {
                    let after = &rest[a + 2..];
                    let end = after.find('}').unwrap_or(after.len());
                    names.push(after[..end].split('.').next().unwrap_or("").to_string());
                    rest = &after[end..];
                }
            }
            if let Step::ExpectMessage(e) | Step::ExpectNoMessage(e) = step {
                for (field, m) in &e.fields {
                    if let super::expect::FieldMatch::Rule(r) = m {
                        if let Some(re) = &r.regex {
                            if let Err(err) = regex::Regex::new(&format!("^(?:{re})$")) {
                                out.push(format!("step {n} field {field}: regex {re:?}: {err}"));
                            }
                        }
                        if let Some(same) = &r.same_as {
                            names.push(same.split('.').next().unwrap_or("").to_string());
                        }
                    }
                }
            }
            for name in names {
                if !saved.contains(&name.as_str()) {
                    out.push(format!(
                        "step {n}: {name:?} is used before any step says `save_as: {name}`"
                    ));
                }
            }
            if let Some(name) = step.saves_as() {
                saved.push(name);
            }
        }
        out
    }

    /// Everything the case needs: its explicit `needs` plus what its steps imply (pre-auth
    /// steps need `pre-auth`, a tip adjust `tip` and `adjust`, a foreign card
    /// `foreign-cards`...), so a capability file deselects them without each case saying so.
    /// `foreign` tells whether a fixture card settles in the foreign block.
    pub fn all_needs(&self, foreign: &dyn Fn(&str) -> bool) -> Vec<String> {
        let mut out: std::collections::BTreeSet<String> = self.needs.iter().cloned().collect();
        for step in &self.steps {
            if let Some(f) = step.feature() {
                out.insert(f.to_string());
                if f == "tip" {
                    out.insert("adjust".into());
                }
            }
            if step.card().is_some_and(foreign) {
                out.insert("foreign-cards".into());
            }
        }
        out.into_iter().collect()
    }
}

fn stored() -> String {
    "stored".into()
}
fn unlocked() -> String {
    "unlocked".into()
}
fn ok_word() -> String {
    "ok".into()
}

fn yes() -> String {
    "yes".into()
}

fn auth() -> String {
    "123456".into()
}

fn ok() -> String {
    "00".into()
}
fn good() -> String {
    "good".into()
}
fn balanced() -> String {
    "11".into()
}

/// One leaf of the seed-001 table of contents (`suites/requirements.yaml`).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub id: String,
    pub zh: String,
    pub en: String,
    /// auto | mixed | manual.
    pub how: String,
}

/// The requirement index shipped with posconf (a copy of the spec's table of contents).
pub fn requirements() -> Result<Vec<Requirement>, crate::yaml::YamlError> {
    crate::yaml::from_str(
        include_str!("../../suites/requirements.yaml"),
        "suites/requirements.yaml (built-in)",
    )
}

/// A requirement index from a file (same shape as `suites/requirements.yaml`).
pub fn requirements_from(
    path: &std::path::Path,
) -> Result<Vec<Requirement>, crate::yaml::YamlError> {
    crate::yaml::from_file(path)
}

/// JSON Schema of suite files (`posconf schema`), for editors: YAML language servers validate
/// and complete suites with it. Derived from the same types the parser uses.
pub fn schema() -> serde_json::Value {
    let mut s = schemars::schema_for!(SuiteFile);
    s.insert(
        "title".into(),
        serde_json::Value::String("posconf suite file".into()),
    );
    s.to_value()
}

/// Load a suite file.
pub fn load(path: &std::path::Path) -> Result<SuiteFile, crate::yaml::YamlError> {
    crate::yaml::from_file(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lint_finds_bad_regexes_unsaved_names_and_unknown_rules() {
        let s: SuiteFile = crate::yaml::from_str(
            "suite: x\ncases:\n  - id: a\n    requirements: []\n    title: {zh: a, en: b}\n    expect_violations: [mac.valid, nope]\n    steps:\n      - purchase: {amount: 1, save_as: p}\n      - expect_message: {fields: {\"37\": {regex: \"[0-9\"}, \"4\": {same_as: p.4}, \"11\": {same_as: q.11}}}\n      - void: {voucher: \"${p.11}\"}\n      - refund: {amount: 1, rrn: \"${r.37}\", date: \"0101\"}\n",
            "s.yaml",
        )
        .unwrap();
        let problems = s.cases[0].lint(&["mac.valid"]);
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].contains("unknown rule \"nope\""));
        assert!(problems[1].starts_with("step 2 field 37: regex"));
        assert!(problems[2].contains("\"q\" is used before"));
        assert!(problems[3].starts_with("step 4") && problems[3].contains("\"r\""));
    }

    #[test]
    fn the_requirement_index_has_the_151_leaf_ids() {
        let r = requirements().unwrap();
        assert_eq!(r.len(), 151);
        assert!(r.iter().any(|x| x.id == "6.3.2" && x.how == "auto"));
        assert!(r
            .iter()
            .all(|x| matches!(x.how.as_str(), "auto" | "mixed" | "manual")));
    }

    #[test]
    fn parses_steps_and_names_line_and_key_on_errors() {
        let s: SuiteFile = crate::yaml::from_str(
            "suite: x\ncases:\n  - id: a\n    requirements: [\"7.1.2\"]\n    title: {zh: 消费, en: purchase}\n    steps:\n      - sign_in: {}\n      - purchase: {amount: 100}\n      - host: {when: {txn: purchase}, actions: [no_reply]}\n      - settle: {}\n",
            "s.yaml",
        )
        .unwrap();
        assert_eq!(s.cases[0].steps.len(), 4);
        assert!(matches!(
            s.cases[0].steps[1],
            Step::Purchase { amount: 100, .. }
        ));
        let e = crate::yaml::from_str::<SuiteFile>("suite: x\ncases:\n  - id: a\n    requirements: []\n    title: {zh: a, en: b}\n    steps:\n      - purchse: {amount: 1}\n", "s.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.yaml:7:") && e.contains("purchse"), "{e}");
    }
}
