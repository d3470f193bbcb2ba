//! Message tables as data: which fields each message kind carries (M / C / absent), the
//! conditions of its C fields and the value domain of each field, loaded from a dialect's YAML
//! (the CUP one is `cup_messages.yaml`, documented at its top). The engine here is generic: it
//! finds a message's row and lists what the row finds wrong; rules turn findings into
//! violations.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

use super::message::Message;
use super::spec::Dialect;

/// Why a table file does not load; names the row or key.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error(transparent)]
    Yaml(#[from] crate::yaml::YamlError),
    #[error("{place}: {reason}")]
    Invalid { place: String, reason: String },
}

fn invalid(place: impl Into<String>, reason: impl Into<String>) -> TableError {
    TableError::Invalid {
        place: place.into(),
        reason: reason.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    field_requirements: BTreeMap<String, String>,
    #[serde(default)]
    conditions: BTreeMap<String, CondDoc>,
    #[serde(default)]
    values: BTreeMap<String, Vec<CheckDoc>>,
    #[serde(default)]
    templates: BTreeMap<String, RowDoc>,
    messages: Vec<RowDoc>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CondDoc {
    field: Option<String>,
    at: Option<usize>,
    len: Option<usize>,
    #[serde(rename = "in")]
    is_in: Option<Vec<String>>,
    present: Option<Vec<String>>,
    any: Option<Vec<String>>,
    all: Option<Vec<String>>,
    not: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckDoc {
    when: Option<String>,
    pattern: Option<String>,
    #[serde(rename = "in")]
    is_in: Option<Vec<String>>,
    not_in: Option<Vec<String>>,
    requirement: Option<String>,
    why: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CondFieldDoc {
    when: Option<String>,
    only: Option<String>,
    iff: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RowDoc {
    id: Option<String>,
    title: Option<String>,
    requirement: Option<String>,
    #[serde(rename = "match", default)]
    matcher: BTreeMap<String, MatchDoc>,
    extends: Option<String>,
    #[serde(default)]
    mandatory: Vec<u8>,
    #[serde(default)]
    conditional: BTreeMap<u8, CondFieldDoc>,
    #[serde(default)]
    remove: Vec<u8>,
    #[serde(default)]
    fixed: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    values: BTreeMap<String, Vec<CheckDoc>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum MatchDoc {
    One(String),
    Many(Vec<String>),
}

/// A named predicate over one message.
#[derive(Debug, Clone)]
pub enum Condition {
    Slice {
        path: String,
        at: usize,
        len: usize,
        values: Vec<String>,
    },
    Present(Vec<u8>),
    Any(Vec<String>),
    All(Vec<String>),
    Not(String),
}

/// One value check of a field or subfield.
#[derive(Debug, Clone)]
pub struct ValueCheck {
    pub when: Option<String>,
    pub pattern: Option<Regex>,
    pub is_in: Option<Vec<String>>,
    pub not_in: Option<Vec<String>>,
    pub requirement: Option<String>,
    pub why: Option<String>,
}

impl ValueCheck {
    /// What the check wants, as a violation's "expected".
    pub fn expected(&self) -> String {
        if let Some(w) = &self.why {
            return w.clone();
        }
        if let Some(v) = &self.is_in {
            return format!("one of {}", v.join(", "));
        }
        if let Some(v) = &self.not_in {
            return format!("not {}", v.join(", "));
        }
        self.pattern
            .as_ref()
            .map(|p| format!("matching {}", p.as_str()))
            .unwrap_or_default()
    }
}

/// How a row wants a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Mandatory,
    /// Required when `when` holds; forbidden unless `only` holds.
    Conditional {
        when: Option<String>,
        only: Option<String>,
    },
}

/// One message kind of the tables.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub title: String,
    pub requirement: String,
    pub mti: String,
    /// Subfield path (`60.1`) → the values that select this row.
    pub selectors: Vec<(String, Vec<String>)>,
    pub fields: BTreeMap<u8, Presence>,
    pub fixed: BTreeMap<String, Vec<String>>,
    pub values: BTreeMap<String, Vec<ValueCheck>>,
}

/// The loaded tables of one dialect.
#[derive(Debug)]
pub struct MessageTables {
    pub rows: Vec<Row>,
    pub conditions: BTreeMap<String, Condition>,
    pub values: BTreeMap<String, Vec<ValueCheck>>,
    pub field_requirements: BTreeMap<String, String>,
}

/// What a row finds wrong with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Field or subfield path.
    pub field: String,
    pub requirement: String,
    pub expected: String,
    pub found: String,
    pub message: String,
}

/// The text of a field or subfield path (`"60.2"`) under the dialect's subfield layout.
pub fn path_text<'a>(dialect: &Dialect, msg: &'a Message, path: &str) -> Option<&'a str> {
    match path.split_once('.') {
        None => msg.text(path.parse().ok()?),
        Some(_) => {
            let (spec, index, _) = dialect.subfield(path)?;
            let text = msg.text(spec.number)?;
            let start: usize = spec.subfields[..index].iter().map(|s| s.len as usize).sum();
            let sub = &spec.subfields[index];
            let end = if sub.len == 0 {
                text.len()
            } else {
                (start + sub.len as usize).min(text.len())
            };
            text.get(start..end).filter(|s| !s.is_empty())
        }
    }
}

fn parse_path_field(path: &str) -> Option<u8> {
    path.split('.').next()?.parse().ok()
}

impl MessageTables {
    /// Load and validate a table document (every condition a row names exists, every regex
    /// compiles, every `extends` resolves).
    pub fn from_yaml(text: &str, origin: &str) -> Result<MessageTables, TableError> {
        let doc: FileDoc = crate::yaml::from_str(text, origin)?;
        let mut conditions = BTreeMap::new();
        for (name, c) in &doc.conditions {
            conditions.insert(name.clone(), compile_condition(name, c)?);
        }
        for (name, c) in &conditions {
            for r in condition_refs(c) {
                if !conditions.contains_key(r) {
                    return Err(invalid(
                        format!("conditions.{name}"),
                        format!("unknown condition {r:?}"),
                    ));
                }
            }
        }
        let values = compile_values(&doc.values, "values", &conditions)?;
        let mut resolved: BTreeMap<String, RowDoc> = doc.templates.clone();
        let mut rows = Vec::new();
        for (i, raw) in doc.messages.iter().enumerate() {
            let place = format!(
                "messages[{i}]{}",
                raw.id
                    .as_deref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            );
            let id = raw
                .id
                .clone()
                .ok_or_else(|| invalid(&place, "a row needs an id"))?;
            let mut row = match &raw.extends {
                Some(base) => {
                    let b = resolved.get(base).ok_or_else(|| {
                        invalid(
                            &place,
                            format!("extends {base:?}, which is no template or earlier row"),
                        )
                    })?;
                    merge(b, raw)
                }
                None => raw.clone(),
            };
            if !raw.matcher.is_empty() {
                row.matcher = raw.matcher.clone();
            }
            row.requirement = raw.requirement.clone().or(row.requirement);
            row.title = raw.title.clone().or(row.title);
            resolved.insert(id.clone(), row.clone());
            rows.push(compile_row(&id, &place, &row, &conditions)?);
        }
        Ok(MessageTables {
            rows,
            conditions,
            values,
            field_requirements: doc.field_requirements,
        })
    }

    /// The row a message matches: same MTI, and every selector's subfield among its values.
    pub fn row_for(&self, dialect: &Dialect, msg: &Message) -> Option<&Row> {
        self.rows.iter().find(|r| {
            r.mti == msg.mti.as_str()
                && r.selectors.iter().all(|(path, vals)| {
                    path_text(dialect, msg, path).is_some_and(|t| vals.iter().any(|v| v == t))
                })
        })
    }

    /// Rows of other MTIs whose selectors the message meets (what it may have meant).
    pub fn near_rows(&self, dialect: &Dialect, msg: &Message) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| {
                !r.selectors.is_empty()
                    && r.selectors.iter().all(|(path, vals)| {
                        path_text(dialect, msg, path).is_some_and(|t| vals.iter().any(|v| v == t))
                    })
            })
            .collect()
    }

    pub fn holds(&self, dialect: &Dialect, msg: &Message, name: &str) -> bool {
        self.holds_depth(dialect, msg, name, 0)
    }

    fn holds_depth(&self, dialect: &Dialect, msg: &Message, name: &str, depth: usize) -> bool {
        if depth > 16 {
            return false;
        }
        let Some(c) = self.conditions.get(name) else {
            return false;
        };
        match c {
            Condition::Slice {
                path,
                at,
                len,
                values,
            } => path_text(dialect, msg, path)
                .and_then(|t| t.get(*at..at + len))
                .is_some_and(|s| values.iter().any(|v| v == s)),
            Condition::Present(fields) => fields.iter().any(|f| msg.has(*f)),
            Condition::Any(names) => names
                .iter()
                .any(|n| self.holds_depth(dialect, msg, n, depth + 1)),
            Condition::All(names) => names
                .iter()
                .all(|n| self.holds_depth(dialect, msg, n, depth + 1)),
            Condition::Not(n) => !self.holds_depth(dialect, msg, n, depth + 1),
        }
    }

    fn field_requirement(&self, path: &str) -> String {
        let field = path.split('.').next().unwrap_or(path);
        self.field_requirements
            .get(field)
            .cloned()
            .unwrap_or_else(|| "10.3.1".to_string())
    }

    /// Everything `row` finds wrong with `msg`: presence, fixed values, value domains.
    pub fn judge(&self, dialect: &Dialect, row: &Row, msg: &Message) -> Vec<Finding> {
        let mut out = Vec::new();
        let holds = |n: &str| self.holds(dialect, msg, n);
        for (&n, p) in &row.fields {
            let present = msg.has(n);
            match p {
                Presence::Mandatory if !present => out.push(Finding {
                    field: n.to_string(),
                    requirement: row.requirement.clone(),
                    expected: "present (M)".into(),
                    found: "absent".into(),
                    message: format!("a {} lacks mandatory field {n}", row.title),
                }),
                Presence::Conditional { when, only } => {
                    if let Some(w) = when {
                        if !present && holds(w) {
                            out.push(Finding {
                                field: n.to_string(),
                                requirement: row.requirement.clone(),
                                expected: format!("present (C: required when {w})"),
                                found: "absent".into(),
                                message: format!("a {} with {w} lacks field {n}", row.title),
                            });
                        }
                    }
                    if let Some(o) = only {
                        if present && !holds(o) {
                            out.push(Finding {
                                field: n.to_string(),
                                requirement: self.field_requirement(&n.to_string()),
                                expected: format!("absent unless {o}"),
                                found: "present".into(),
                                message: format!("field {n} in a {} without {o}", row.title),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        for n in msg.field_numbers() {
            if !row.fields.contains_key(&n) {
                out.push(Finding {
                    field: n.to_string(),
                    requirement: row.requirement.clone(),
                    expected: "absent (not in the table)".into(),
                    found: "present".into(),
                    message: format!(
                        "a {} carries field {n}, which its table does not list",
                        row.title
                    ),
                });
            }
        }
        for (path, allowed) in &row.fixed {
            let Some(found) = path_text(dialect, msg, path) else {
                continue;
            };
            if !allowed.iter().any(|a| a == found) {
                out.push(Finding {
                    field: path.clone(),
                    requirement: self.field_requirement(path),
                    expected: allowed.join(" or "),
                    found: found.to_string(),
                    message: format!("{path} of a {}", row.title),
                });
            }
        }
        // Row-specific checks, then the dialect-wide ones, for each field the message has.
        for (checks, own) in [(&row.values, true), (&self.values, false)] {
            for (path, list) in checks.iter() {
                let Some(f) = parse_path_field(path) else {
                    continue;
                };
                if !msg.has(f) || (!own && !row.fields.contains_key(&f)) {
                    continue;
                }
                let Some(found) = path_text(dialect, msg, path) else {
                    continue;
                };
                for c in list {
                    if c.when.as_deref().is_some_and(|w| !holds(w)) {
                        continue;
                    }
                    let ok = c.pattern.as_ref().is_none_or(|p| p.is_match(found))
                        && c.is_in
                            .as_ref()
                            .is_none_or(|v| v.iter().any(|x| x == found))
                        && c.not_in
                            .as_ref()
                            .is_none_or(|v| !v.iter().any(|x| x == found));
                    if !ok {
                        out.push(Finding {
                            field: path.clone(),
                            requirement: c
                                .requirement
                                .clone()
                                .unwrap_or_else(|| self.field_requirement(path)),
                            expected: c.expected(),
                            found: found.to_string(),
                            message: format!("{path} of a {}", row.title),
                        });
                        break;
                    }
                }
            }
        }
        out
    }
}

fn merge(base: &RowDoc, own: &RowDoc) -> RowDoc {
    let mut m = base.clone();
    m.id = own.id.clone();
    m.extends = None;
    for n in &own.mandatory {
        m.conditional.remove(n);
        if !m.mandatory.contains(n) {
            m.mandatory.push(*n);
        }
    }
    for (n, c) in &own.conditional {
        m.mandatory.retain(|x| x != n);
        m.conditional.insert(*n, c.clone());
    }
    for n in &own.remove {
        m.mandatory.retain(|x| x != n);
        m.conditional.remove(n);
    }
    m.remove.clear();
    for (k, v) in &own.fixed {
        m.fixed.insert(k.clone(), v.clone());
    }
    for (k, v) in &own.values {
        m.values.insert(k.clone(), v.clone());
    }
    m
}

fn compile_condition(name: &str, c: &CondDoc) -> Result<Condition, TableError> {
    let place = format!("conditions.{name}");
    if let Some(path) = &c.field {
        let values = c
            .is_in
            .clone()
            .ok_or_else(|| invalid(&place, "a field condition needs `in`"))?;
        return Ok(Condition::Slice {
            path: path.clone(),
            at: c.at.unwrap_or(0),
            len: c.len.unwrap_or(1),
            values,
        });
    }
    if let Some(p) = &c.present {
        let fields = p
            .iter()
            .map(|s| {
                s.parse::<u8>()
                    .map_err(|_| invalid(&place, format!("{s:?} is no field number")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Condition::Present(fields));
    }
    if let Some(a) = &c.any {
        return Ok(Condition::Any(a.clone()));
    }
    if let Some(a) = &c.all {
        return Ok(Condition::All(a.clone()));
    }
    if let Some(n) = &c.not {
        return Ok(Condition::Not(n.clone()));
    }
    Err(invalid(place, "needs field/in, present, any, all or not"))
}

fn condition_refs(c: &Condition) -> Vec<&String> {
    match c {
        Condition::Any(v) | Condition::All(v) => v.iter().collect(),
        Condition::Not(n) => vec![n],
        _ => vec![],
    }
}

fn known(
    conditions: &BTreeMap<String, Condition>,
    name: &Option<String>,
    place: &str,
) -> Result<(), TableError> {
    match name {
        Some(n) if !conditions.contains_key(n) => {
            Err(invalid(place, format!("unknown condition {n:?}")))
        }
        _ => Ok(()),
    }
}

fn compile_values(
    docs: &BTreeMap<String, Vec<CheckDoc>>,
    place: &str,
    conditions: &BTreeMap<String, Condition>,
) -> Result<BTreeMap<String, Vec<ValueCheck>>, TableError> {
    let mut out = BTreeMap::new();
    for (path, list) in docs {
        let here = format!("{place}.{path}");
        if parse_path_field(path).is_none() {
            return Err(invalid(&here, "a key is a field number or subfield path"));
        }
        let mut checks = Vec::new();
        for (i, c) in list.iter().enumerate() {
            let at = format!("{here}[{i}]");
            known(conditions, &c.when, &at)?;
            let pattern = match &c.pattern {
                Some(p) => {
                    Some(Regex::new(p).map_err(|e| invalid(&at, format!("pattern {p:?}: {e}")))?)
                }
                None => None,
            };
            checks.push(ValueCheck {
                when: c.when.clone(),
                pattern,
                is_in: c.is_in.clone(),
                not_in: c.not_in.clone(),
                requirement: c.requirement.clone(),
                why: c.why.clone(),
            });
        }
        out.insert(path.clone(), checks);
    }
    Ok(out)
}

fn compile_row(
    id: &str,
    place: &str,
    row: &RowDoc,
    conditions: &BTreeMap<String, Condition>,
) -> Result<Row, TableError> {
    let mut mti = None;
    let mut selectors = Vec::new();
    for (k, v) in &row.matcher {
        let vals = match v {
            MatchDoc::One(s) => vec![s.clone()],
            MatchDoc::Many(v) => v.clone(),
        };
        if k == "mti" {
            mti = vals.into_iter().next();
        } else {
            selectors.push((k.clone(), vals));
        }
    }
    let mti = mti.ok_or_else(|| invalid(place, "match needs an mti"))?;
    let mut fields = BTreeMap::new();
    for n in &row.mandatory {
        fields.insert(*n, Presence::Mandatory);
    }
    for (n, c) in &row.conditional {
        for name in [&c.when, &c.only, &c.iff] {
            known(conditions, name, &format!("{place}.conditional.{n}"))?;
        }
        fields.insert(
            *n,
            Presence::Conditional {
                when: c.when.clone().or(c.iff.clone()),
                only: c.only.clone().or(c.iff.clone()),
            },
        );
    }
    Ok(Row {
        id: id.to_string(),
        title: row.title.clone().unwrap_or_else(|| id.to_string()),
        requirement: row
            .requirement
            .clone()
            .ok_or_else(|| invalid(place, "a row needs a requirement id"))?,
        mti,
        selectors,
        fields,
        fixed: row.fixed.clone(),
        values: compile_values(&row.values, &format!("{place}.values"), conditions)?,
    })
}

/// The CUP direct-connect tables, embedded.
pub fn cup_tables() -> &'static MessageTables {
    static TABLES: OnceLock<MessageTables> = OnceLock::new();
    TABLES.get_or_init(|| {
        MessageTables::from_yaml(include_str!("cup_messages.yaml"), "cup_messages.yaml")
            .unwrap_or_else(|e| panic!("the embedded CUP message tables are invalid: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_tables_load_and_cover_every_row_of_the_digest() {
        let t = cup_tables();
        assert!(t.rows.len() >= 30, "{} rows", t.rows.len());
        let purchase = t.rows.iter().find(|r| r.id == "purchase").unwrap();
        assert_eq!(purchase.fields.get(&4), Some(&Presence::Mandatory));
        assert!(!purchase.fields.contains_key(&37));
        let upload = t.rows.iter().find(|r| r.id == "upload_refund").unwrap();
        assert!(!upload.fields.contains_key(&64), "no MAC on a 0320");
        assert_eq!(upload.fields.get(&63), Some(&Presence::Mandatory));
        let pav = t.rows.iter().find(|r| r.id == "pre_auth_reversal").unwrap();
        assert!(!pav.fields.contains_key(&61));
    }

    #[test]
    fn a_broken_table_names_its_place() {
        let bad = "messages:\n  - id: x\n    requirement: \"1\"\n    match: {mti: \"0200\"}\n    conditional: {2: {when: nope}}\n";
        let e = MessageTables::from_yaml(bad, "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("messages[0] (x).conditional.2"), "{e}");
        assert!(e.contains("nope"), "{e}");
        let bad = "values:\n  \"4\": [{pattern: \"[\"}]\nmessages: []\n";
        let e = MessageTables::from_yaml(bad, "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("values.4[0]"), "{e}");
        let bad = "messages:\n  - id: x\n    requirement: \"1\"\n    extends: ghost\n    match: {mti: \"0200\"}\n";
        let e = MessageTables::from_yaml(bad, "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("ghost"), "{e}");
    }
}
