//! Build a frame from the document `posconf decode --format json` prints (or the same in YAML),
//! so a lab engineer can take a recorded message, change a field and send it again.
//!
//! Per field either `value` (packed under the field's declaration) or `raw` (hex of the wire
//! bytes, length prefix included, used verbatim: the way to craft a deliberately malformed
//! field). Composite fields may be given whole (`"60"`) or by subfield (`"60.1"`, `"60.2"`...).

use std::collections::BTreeMap;

use serde_yaml::Value as Yaml;

use crate::crypto::{DesKey, MacAlgorithm};
use crate::iso8583::frame::{wrap_serial, wrap_tcp};
use crate::iso8583::spec::Encoding;
use crate::iso8583::{Codec, Framing, Header, Message, Mti, Tpdu, Value};

/// Why a document does not make a frame; `path` names the key.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct CraftError {
    pub path: String,
    pub reason: String,
}

fn err(path: impl Into<String>, reason: impl Into<String>) -> CraftError {
    CraftError {
        path: path.into(),
        reason: reason.into(),
    }
}

/// A field as given: a value to pack or raw wire bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldInput {
    Value(Value),
    Raw(Vec<u8>),
}

/// The parsed document.
#[derive(Debug, Clone)]
pub struct Crafted {
    pub tpdu: Option<Tpdu>,
    pub header: Option<Header>,
    pub mti: Mti,
    pub fields: BTreeMap<u8, FieldInput>,
}

fn as_string(v: &Yaml, path: &str) -> Result<String, CraftError> {
    match v {
        Yaml::String(s) => Ok(s.clone()),
        Yaml::Number(n) => Err(err(
            path,
            format!("got the number {n}; quote values so leading zeros survive (\"{n}\")"),
        )),
        other => Err(err(path, format!("expected a string, got {other:?}"))),
    }
}

fn hex_bytes(s: &str, path: &str) -> Result<Vec<u8>, CraftError> {
    crate::cli::input::parse_hex(s).map_err(|e| err(path, e))
}

/// Parse the document into field inputs, resolving subfields against the dialect.
pub fn parse(doc: &Yaml, codec: &Codec) -> Result<Crafted, CraftError> {
    let map = doc
        .as_mapping()
        .ok_or_else(|| err("document", "expected a mapping with mti and fields"))?;
    let get = |k: &str| map.get(Yaml::String(k.into()));
    let mti = get("mti").ok_or_else(|| err("mti", "missing"))?;
    let mti = Mti::parse(&as_string(mti, "mti")?).map_err(|e| err("mti", e.reason))?;
    let tpdu = match get("tpdu") {
        Some(Yaml::Null) | None => None,
        Some(v) => Some(Tpdu::from_hex(&as_string(v, "tpdu")?).map_err(|e| err("tpdu", e.reason))?),
    };
    let header = match get("header") {
        Some(Yaml::Null) | None => None,
        Some(v) => {
            Some(Header::from_hex(&as_string(v, "header")?).map_err(|e| err("header", e.reason))?)
        }
    };
    let mut whole: BTreeMap<u8, (String, Option<String>, Option<String>)> = BTreeMap::new();
    let mut subs: BTreeMap<u8, BTreeMap<String, String>> = BTreeMap::new();
    if let Some(fields) = get("fields") {
        let fields = fields
            .as_mapping()
            .ok_or_else(|| err("fields", "expected a mapping of field id to value"))?;
        for (k, v) in fields {
            let id = match k {
                Yaml::String(s) => s.clone(),
                Yaml::Number(n) => n.to_string(),
                _ => {
                    return Err(err(
                        "fields",
                        format!("field ids are strings like \"3\" or \"60.1\", got {k:?}"),
                    ))
                }
            };
            let path = format!("fields.{id}");
            let (value, raw) = match v {
                Yaml::Mapping(m) => {
                    let value = m
                        .get(Yaml::String("value".into()))
                        .map(|x| as_string(x, &format!("{path}.value")))
                        .transpose()?;
                    let raw = m
                        .get(Yaml::String("raw".into()))
                        .map(|x| as_string(x, &format!("{path}.raw")))
                        .transpose()?;
                    (value, raw)
                }
                other => (Some(as_string(other, &path)?), None),
            };
            let (num, sub) = match id.split_once('.') {
                Some((n, _)) => (n, true),
                None => (id.as_str(), false),
            };
            let num: u8 = num
                .parse()
                .ok()
                .filter(|n| (2..=64).contains(n))
                .ok_or_else(|| err(&path, "field number must be 2..64"))?;
            if codec.dialect.field(num).is_none() {
                return Err(err(&path, "field is not declared in this dialect"));
            }
            if sub {
                let v = value.ok_or_else(|| err(&path, "a subfield needs a value"))?;
                subs.entry(num).or_default().insert(id.clone(), v);
            } else {
                whole.insert(num, (path, value, raw));
            }
        }
    }
    let mut fields = BTreeMap::new();
    let numbers: std::collections::BTreeSet<u8> =
        whole.keys().chain(subs.keys()).copied().collect();
    for num in numbers {
        let spec = codec
            .dialect
            .field(num)
            .ok_or_else(|| err(num.to_string(), "undeclared"))?;
        let joined = match subs.get(&num) {
            // A context layout of the dialect (48 in 0500/0510) wins over the declared one.
            Some(parts) => Some(
                match crate::iso8583::views::join(mti.as_str(), num, parts) {
                    Some(r) => r.map_err(|e| err(format!("fields.{}", e.id), e.reason))?,
                    None => join_subfields(spec, parts)?,
                },
            ),
            None => None,
        };
        let path = format!("fields.{num}");
        let (value, raw) = match whole.get(&num) {
            Some((_, v, r)) => (v.clone(), r.clone()),
            None => (None, None),
        };
        let value = match (value, joined) {
            (Some(v), Some(j)) if v != j => {
                return Err(err(&path, format!("value {v:?} disagrees with its subfields, which join to {j:?}; edit one of them")));
            }
            (Some(v), _) => Some(v),
            (None, j) => j,
        };
        let masked_kind = spec.sensitivity != crate::iso8583::spec::Sensitivity::None;
        let input = match (value, raw) {
            // A decoded document keeps both. The decoder accepts either pad nibble (0 or F, a
            // [var] of the digest) for odd BCD data; when `raw` is the value packed with the
            // other pad, it is kept verbatim so decode | encode reproduces the frame.
            (Some(v), Some(r))
                if !(r.contains('*') && masked_kind) && other_pad_matches(codec, spec, &v, &r) =>
            {
                FieldInput::Raw(hex_bytes(&r, &format!("{path}.raw"))?)
            }
            (Some(v), _) => {
                // Only fields the dialect masks can be masked; '*' is plain text elsewhere.
                if v.contains('*') && masked_kind {
                    return Err(err(
                        &path,
                        "value is masked (*); decode with --reveal to get the clear value",
                    ));
                }
                FieldInput::Value(match spec.encoding {
                    Encoding::Binary => Value::Binary(hex_bytes(&v, &path)?),
                    _ => Value::text(v),
                })
            }
            (None, Some(r)) => {
                if r.contains('*') && masked_kind {
                    return Err(err(
                        &path,
                        "raw is masked (*); decode with --reveal to get the clear bytes",
                    ));
                }
                FieldInput::Raw(hex_bytes(&r, &format!("{path}.raw"))?)
            }
            (None, None) => return Err(err(&path, "needs a value or raw")),
        };
        fields.insert(num, input);
    }
    Ok(Crafted {
        tpdu,
        header,
        mti,
        fields,
    })
}

/// Whether `raw_hex` is `value` packed under `spec` with the pad nibble the codec does not use.
fn other_pad_matches(
    codec: &Codec,
    spec: &crate::iso8583::FieldSpec,
    value: &str,
    raw_hex: &str,
) -> bool {
    if spec.encoding != Encoding::Bcd || value.len() % 2 == 0 {
        return false;
    }
    let other = codec.with_pad(if codec.pad == 0 { 0xF } else { 0 });
    let mut packed = Vec::new();
    other
        .pack_field(spec, &Value::text(value), &mut packed)
        .is_ok()
        && hex::encode_upper(packed).eq_ignore_ascii_case(raw_hex)
}

fn join_subfields(
    spec: &crate::iso8583::FieldSpec,
    parts: &BTreeMap<String, String>,
) -> Result<String, CraftError> {
    let mut out = String::new();
    let mut gap: Option<&str> = None;
    let mut used = 0;
    for sub in spec.subfields {
        match parts.get(sub.id) {
            Some(v) => {
                if let Some(missing) = gap {
                    return Err(err(
                        format!("fields.{}", sub.id),
                        format!("{missing} is missing before it"),
                    ));
                }
                // The last part given may be short: decode splits a short value that way.
                let last_given = spec
                    .subfields
                    .iter()
                    .rev()
                    .find(|s| parts.contains_key(s.id))
                    .map(|s| s.id);
                let short_last = last_given == Some(sub.id) && v.len() < sub.len as usize;
                if sub.len != 0
                    && v.len() != sub.len as usize
                    && !short_last
                    && spec.subfields.last().map(|s| s.id) != Some(sub.id)
                {
                    return Err(err(
                        format!("fields.{}", sub.id),
                        format!("must be {} long, got {:?}", sub.len, v),
                    ));
                }
                out.push_str(v);
                used += 1;
            }
            None => gap = gap.or(Some(sub.id)),
        }
    }
    if used != parts.len() {
        let unknown = parts
            .keys()
            .find(|k| !spec.subfields.iter().any(|s| s.id == k.as_str()))
            .cloned()
            .unwrap_or_default();
        return Err(err(
            format!("fields.{unknown}"),
            format!("field {} has no such subfield", spec.number),
        ));
    }
    Ok(out)
}

/// The framing a decoded document records (`"framing": "body"`), if it names one.
pub fn framing_of(doc: &Yaml) -> Option<Framing> {
    doc.as_mapping()?
        .get(Yaml::String("framing".into()))?
        .as_str()?
        .parse()
        .ok()
        .filter(|f| *f != Framing::Auto)
}

/// Pack the document. With `mak`, field 64 is (re)computed over MTI..63.
pub fn build(
    crafted: &Crafted,
    codec: &Codec,
    mak: Option<(&DesKey, MacAlgorithm)>,
    framing: Framing,
) -> Result<Vec<u8>, CraftError> {
    let mut numbers: Vec<u8> = crafted.fields.keys().copied().collect();
    if mak.is_some() && !numbers.contains(&64) {
        numbers.push(64);
    }
    let mut probe = Message::new(crafted.mti);
    for n in &numbers {
        probe.set(*n, Value::Binary(Vec::new()));
    }
    let mut body = Vec::with_capacity(256);
    crate::iso8583::bcd::pack_nibbles(
        &mut body,
        crafted.mti.as_str().bytes().map(|c| c - b'0'),
        true,
        0,
    );
    body.extend_from_slice(&probe.bitmap());
    for n in numbers {
        let path = format!("fields.{n}");
        if n == 64 {
            if let Some((key, alg)) = mak {
                let mac = alg
                    .compute(key, &body)
                    .map_err(|e| err(&path, e.to_string()))?;
                body.extend_from_slice(&mac);
                continue;
            }
        }
        match crafted.fields.get(&n) {
            Some(FieldInput::Raw(bytes)) => body.extend_from_slice(bytes),
            Some(FieldInput::Value(v)) => {
                let spec = codec
                    .dialect
                    .field(n)
                    .ok_or_else(|| err(&path, "undeclared"))?;
                codec
                    .pack_field(spec, v, &mut body)
                    .map_err(|e| err(format!("fields.{}", e.path), e.reason))?;
            }
            None => return Err(err(&path, "missing")),
        }
    }
    let mut payload = Vec::with_capacity(body.len() + 11);
    if framing != Framing::Body {
        if let Some(t) = crafted.tpdu {
            payload.extend_from_slice(&t.0);
        }
        if let Some(h) = crafted.header {
            payload.extend_from_slice(&h.0);
        }
    }
    payload.extend_from_slice(&body);
    match framing {
        Framing::Tcp | Framing::Auto => wrap_tcp(&payload).map_err(|e| err("length", e.reason)),
        Framing::Serial => wrap_serial(&payload).map_err(|e| err("length", e.reason)),
        Framing::Bare | Framing::Body => Ok(payload),
    }
}
