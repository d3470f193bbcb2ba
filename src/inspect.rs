//! Turn raw frame bytes into a readable, masked view: what `posconf decode` prints and what
//! reports show for each recorded message. Sits above the codec and crypto layers.

use serde_json::{json, Map, Value as Json};

use crate::crypto::{check_value, DesKey, MacAlgorithm};
use crate::iso8583::codec::split_subfields;
use crate::iso8583::frame::{decode_frame, Framing};
use crate::iso8583::mask::{mask_raw, mask_value};
use crate::iso8583::spec::{FieldSpec, SubFieldSpec};
use crate::iso8583::txn::classify;
use crate::iso8583::{Codec, DecodeError, Message, Value};

/// What to show and verify.
#[derive(Clone)]
pub struct InspectOptions {
    pub framing: Framing,
    /// Show PANs, tracks and PIN blocks in clear.
    pub reveal: bool,
    /// MAK to verify field 64 with.
    pub mak: Option<DesKey>,
    pub mac_algorithm: MacAlgorithm,
    /// TMK/KEK to open the working keys of a sign-in response (field 62).
    pub tmk: Option<DesKey>,
}

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions {
            framing: Framing::Auto,
            reveal: false,
            mak: None,
            mac_algorithm: MacAlgorithm::CupEcb,
            tmk: None,
        }
    }
}

/// One row of the field table: a field or one of its subfields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRow {
    /// `3`, `60`, `60.1`...
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub format: String,
    /// Display value (masked unless revealed).
    pub value: String,
    /// Wire bytes as hex, length prefix included (masked like the value).
    pub raw: String,
    /// Absolute offset in the input (subfields: their parent's).
    pub offset: usize,
    pub is_subfield: bool,
}

/// Result of checking field 64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacCheck {
    pub present: bool,
    /// `None` when no MAK was given or the message has no MAC.
    pub valid: Option<bool>,
    pub algorithm: Option<String>,
    pub found: Option<String>,
    pub expected: Option<String>,
    /// Check value of the MAK used, so a lab can tell which key was tried without seeing it.
    pub mak_kcv: Option<String>,
    pub note: Option<String>,
}

/// A decoded (or partly decoded) frame, ready to print.
#[derive(Debug, Clone)]
pub struct FrameView {
    pub framing: Framing,
    pub length: Option<usize>,
    pub tpdu: Option<String>,
    pub header: Option<String>,
    pub header_notes: Option<String>,
    pub mti: Option<String>,
    pub transaction: Option<(String, String, String)>,
    pub bitmap: Option<String>,
    pub fields: Vec<FieldRow>,
    pub mac: MacCheck,
    /// Field 62 of a sign-in response opened with `--tmk`.
    pub keys: Option<KeysCheck>,
    pub error: Option<DecodeError>,
}

/// The working keys of a sign-in response, opened with the TMK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysCheck {
    pub layout: String,
    pub valid: bool,
    pub tmk_kcv: String,
    /// (name, check value, clear key when revealed).
    pub keys: Vec<(String, String, Option<String>)>,
    pub error: Option<String>,
}

impl FrameView {
    /// Process exit code of `posconf decode`: 0 clean, 1 wrong MAC or key check value,
    /// 2 undecodable.
    pub fn exit_code(&self) -> i32 {
        if self.error.is_some() {
            2
        } else if self.mac.valid == Some(false) || self.keys.as_ref().is_some_and(|k| !k.valid) {
            1
        } else {
            0
        }
    }
}

/// Decode and describe `input`.
pub fn inspect(codec: &Codec, input: &[u8], opts: &InspectOptions) -> FrameView {
    let framing = match opts.framing {
        Framing::Auto => crate::iso8583::frame::detect(input),
        f => f,
    };
    let mut view = FrameView {
        framing,
        length: None,
        tpdu: None,
        header: None,
        header_notes: None,
        mti: None,
        transaction: None,
        bitmap: None,
        fields: Vec::new(),
        mac: MacCheck {
            present: false,
            valid: None,
            algorithm: None,
            found: None,
            expected: None,
            mak_kcv: None,
            note: None,
        },
        keys: None,
        error: None,
    };
    let decoded = match decode_frame(codec, input, opts.framing) {
        Ok(d) => d,
        Err(partial) => {
            if let Some(msg) = &partial.partial {
                view.mti = Some(msg.mti.to_string());
                // Rows for what decoded; raw bytes are not located for a partial body.
                for (n, v) in msg.fields() {
                    if let Some(spec) = codec.dialect.field(n) {
                        push_rows(&mut view.fields, spec, msg, v, None, opts.reveal);
                    }
                }
            }
            view.error = Some(partial.error);
            return view;
        }
    };
    view.framing = decoded.framing;
    if decoded.framing == Framing::Tcp || decoded.framing == Framing::Serial {
        view.length = Some(
            decoded.body.end - decoded.body.start
                + decoded.tpdu.map_or(0, |_| 5)
                + decoded.header.map_or(0, |_| 6),
        );
    }
    view.tpdu = decoded.tpdu.map(|t| t.to_string());
    if let Some(h) = decoded.header {
        view.header = Some(h.to_string());
        view.header_notes = Some(format!(
            "app {:02X}, version {:02X}, terminal {}, request {} ({}), sub-version {}",
            h.app(),
            h.version(),
            if h.is_test() { "test" } else { "normal" },
            h.processing_request().nibble(),
            h.processing_request().describe(),
            hex::encode_upper(h.sub_version())
        ));
    }
    let msg = &decoded.message;
    view.mti = Some(msg.mti.to_string());
    let c = classify(msg);
    view.transaction = Some((c.kind.id().to_string(), c.name_zh(), c.name_en()));
    view.bitmap = Some(hex::encode_upper(msg.bitmap()));
    for (n, v) in msg.fields() {
        let Some(spec) = codec.dialect.field(n) else {
            continue;
        };
        let span = decoded.spans.iter().find(|s| s.number == n).copied();
        let raw = span
            .and_then(|s| input.get(s.offset..s.offset + s.len))
            .map(|b| {
                (
                    hex::encode_upper(b),
                    s_prefix(span),
                    span.map_or(0, |s| s.offset),
                )
            });
        push_rows(&mut view.fields, spec, msg, v, raw, opts.reveal);
    }
    view.mac = check_mac(&decoded, input, opts);
    view.keys = open_keys(msg, opts);
    view
}

fn open_keys(msg: &Message, opts: &InspectOptions) -> Option<KeysCheck> {
    use crate::crypto::{decode_field62, KeyLayout};
    let tmk = opts.tmk.as_ref()?;
    let f62 = msg.bytes(62)?;
    let code = msg.text(60).and_then(|f| f.get(8..11))?;
    let layout = KeyLayout::from_code(code).ok()?;
    let tmk_kcv = hex::encode_upper(check_value(tmk));
    Some(match decode_field62(tmk, f62, layout) {
        Ok(k) => {
            let mut keys = vec![("PIK", &k.pik), ("MAK", &k.mak)];
            if let Some(t) = &k.tdk {
                keys.push(("TDK", t));
            }
            KeysCheck {
                layout: code.to_string(),
                valid: true,
                tmk_kcv,
                keys: keys
                    .into_iter()
                    .map(|(n, key)| {
                        (
                            n.to_string(),
                            hex::encode_upper(check_value(key)),
                            opts.reveal.then(|| key.hex()),
                        )
                    })
                    .collect(),
                error: None,
            }
        }
        Err(e) => KeysCheck {
            layout: code.to_string(),
            valid: false,
            tmk_kcv,
            keys: Vec::new(),
            error: Some(e.to_string()),
        },
    })
}

fn s_prefix(span: Option<crate::iso8583::FieldSpan>) -> usize {
    span.map_or(0, |s| s.prefix_len)
}

fn push_rows(
    rows: &mut Vec<FieldRow>,
    spec: &FieldSpec,
    msg: &Message,
    v: &Value,
    raw: Option<(String, usize, usize)>,
    reveal: bool,
) {
    let full = v.display();
    let value = if reveal {
        full.clone()
    } else {
        mask_value(spec, &full)
    };
    let (raw_hex, offset) = match raw {
        Some((hex, prefix, offset)) => (
            if reveal {
                hex
            } else {
                mask_raw(spec, &hex, prefix, &value)
            },
            offset,
        ),
        None => (String::new(), 0),
    };
    rows.push(FieldRow {
        id: spec.number.to_string(),
        name_zh: spec.name_zh.to_string(),
        name_en: spec.name_en.to_string(),
        format: spec.format_label(),
        value,
        raw: raw_hex,
        offset,
        is_subfield: false,
    });
    let Value::Text(text) = v else { return };
    let subs: Vec<(&SubFieldSpec, &str)> =
        if crate::iso8583::views::layout(msg.mti.as_str(), spec.number).is_some() {
            crate::iso8583::views::parts(msg.mti.as_str(), spec.number, text)
        } else {
            split_subfields(spec, text)
        };
    for (sub, part) in subs {
        let raw = match spec.encoding {
            crate::iso8583::spec::Encoding::Ascii => hex::encode_upper(part.as_bytes()),
            _ => part.replace('=', "D"),
        };
        rows.push(FieldRow {
            id: sub.id.to_string(),
            name_zh: sub.name_zh.to_string(),
            name_en: sub.name_en.to_string(),
            format: String::new(),
            value: part.to_string(),
            raw,
            offset,
            is_subfield: true,
        });
    }
}

fn check_mac(
    decoded: &crate::iso8583::DecodedFrame,
    input: &[u8],
    opts: &InspectOptions,
) -> MacCheck {
    let found = decoded.message.bytes(64);
    let mut check = MacCheck {
        present: found.is_some(),
        valid: None,
        algorithm: None,
        found: found.map(hex::encode_upper),
        expected: None,
        mak_kcv: None,
        note: None,
    };
    let (Some(found), Some(mak)) = (found, &opts.mak) else {
        if check.present && opts.mak.is_none() {
            check.note = Some("no MAK given (--mak): MAC not verified".into());
        }
        return check;
    };
    check.algorithm = Some(opts.mac_algorithm.to_string());
    check.mak_kcv = Some(hex::encode_upper(check_value(mak)));
    let Some(mab) = decoded.mab(input) else {
        check.note = Some("MAC block could not be located".into());
        return check;
    };
    match opts.mac_algorithm.compute(mak, mab) {
        Ok(expected) => {
            check.valid = Some(expected.as_slice() == found);
            check.expected = Some(hex::encode_upper(expected));
        }
        Err(e) => check.note = Some(e.to_string()),
    }
    check
}

/// The JSON document of `posconf decode --format json`.
pub fn to_json(view: &FrameView) -> Json {
    let mut fields = Map::new();
    for row in &view.fields {
        let mut f = Map::new();
        f.insert("value".into(), json!(row.value));
        f.insert("raw".into(), json!(row.raw));
        f.insert("name".into(), json!(row.name_en));
        f.insert("name_zh".into(), json!(row.name_zh));
        fields.insert(row.id.clone(), Json::Object(f));
    }
    let mut out = Map::new();
    out.insert("framing".into(), json!(view.framing.as_str()));
    out.insert("tpdu".into(), json!(view.tpdu));
    out.insert("header".into(), json!(view.header));
    out.insert("mti".into(), json!(view.mti));
    if let Some((id, zh, en)) = &view.transaction {
        out.insert(
            "transaction".into(),
            json!({"id": id, "name": en, "name_zh": zh}),
        );
    }
    out.insert("bitmap".into(), json!(view.bitmap));
    out.insert("fields".into(), Json::Object(fields));
    let mut mac = Map::new();
    mac.insert("present".into(), json!(view.mac.present));
    mac.insert("valid".into(), json!(view.mac.valid));
    if let Some(a) = &view.mac.algorithm {
        mac.insert("algorithm".into(), json!(a));
    }
    if let Some(e) = &view.mac.expected {
        mac.insert("expected".into(), json!(e));
        mac.insert("found".into(), json!(view.mac.found));
    }
    if let Some(k) = &view.mac.mak_kcv {
        mac.insert("mak_kcv".into(), json!(k));
    }
    out.insert("mac".into(), Json::Object(mac));
    if let Some(k) = &view.keys {
        let keys: Map<String, Json> = k
            .keys
            .iter()
            .map(|(n, kcv, clear)| (n.to_lowercase(), json!({"kcv": kcv, "key": clear})))
            .collect();
        out.insert("keys".into(), json!({"layout": k.layout, "valid": k.valid, "tmk_kcv": k.tmk_kcv, "keys": keys, "error": k.error}));
    }
    if let Some(e) = &view.error {
        out.insert(
            "error".into(),
            json!({"path": e.path, "offset": e.offset, "message": e.to_string(), "raw": hex::encode_upper(&e.raw)}),
        );
    }
    Json::Object(out)
}

/// Terminal display width, counting CJK characters as two columns.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum()
}

fn pad(s: &str, w: usize) -> String {
    let mut out = s.to_string();
    out.extend(std::iter::repeat_n(' ', w.saturating_sub(width(s))));
    out
}

/// Which names to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
    Both,
}

/// The readable table of `posconf decode`.
pub fn to_text(view: &FrameView, lang: Lang) -> String {
    let mut out = String::new();
    let line = |out: &mut String, k: &str, v: &str| out.push_str(&format!("{k:<9} {v}\n"));
    let framing = match view.length {
        Some(l) => format!("{} (length {l})", view.framing.as_str()),
        None => view.framing.as_str().to_string(),
    };
    line(&mut out, "framing", &framing);
    if let Some(t) = &view.tpdu {
        line(
            &mut out,
            "tpdu",
            &format!(
                "{t}  (id {}, dest {}, src {})",
                &t[0..2],
                &t[2..6],
                &t[6..10]
            ),
        );
    }
    if let (Some(h), Some(n)) = (&view.header, &view.header_notes) {
        line(&mut out, "header", &format!("{h}  ({n})"));
    }
    if let Some(m) = &view.mti {
        let txn = view
            .transaction
            .as_ref()
            .map(|(_, zh, en)| match lang {
                Lang::Zh => format!("  {zh}"),
                Lang::En => format!("  {en}"),
                Lang::Both => format!("  {zh} / {en}"),
            })
            .unwrap_or_default();
        line(&mut out, "mti", &format!("{m}{txn}"));
    }
    if let Some(b) = &view.bitmap {
        line(&mut out, "bitmap", b);
    }
    let name = |r: &FieldRow| match lang {
        Lang::Zh => r.name_zh.clone(),
        Lang::En => r.name_en.clone(),
        Lang::Both => format!("{} {}", r.name_zh, r.name_en),
    };
    let id_w = 6;
    let name_w = view
        .fields
        .iter()
        .map(|r| width(&name(r)) + if r.is_subfield { 2 } else { 0 })
        .max()
        .unwrap_or(4)
        .min(48);
    let val_w = view
        .fields
        .iter()
        .map(|r| width(&r.value))
        .max()
        .unwrap_or(5)
        .clamp(5, 40);
    out.push_str(&format!(
        "\n{} {} {} raw\n",
        pad("field", id_w),
        pad("name", name_w),
        pad("value", val_w)
    ));
    for r in &view.fields {
        let (id, nm) = if r.is_subfield {
            (format!("  {}", r.id), format!("  {}", name(r)))
        } else {
            (r.id.clone(), name(r))
        };
        let raw = if r.is_subfield {
            String::new()
        } else {
            r.raw.clone()
        };
        out.push_str(pad(&id, id_w).as_str());
        out.push(' ');
        out.push_str(&pad(&nm, name_w));
        out.push(' ');
        out.push_str(&pad(&r.value, val_w));
        out.push(' ');
        out.push_str(raw.trim_end());
        out.truncate(out.trim_end().len());
        out.push('\n');
    }
    out.push('\n');
    let mac = &view.mac;
    let status = match (mac.present, mac.valid) {
        (false, _) => "absent".to_string(),
        (true, None) => format!(
            "present, not verified{}",
            mac.note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ),
        (true, Some(true)) => format!(
            "valid ({}, MAK KCV {})",
            mac.algorithm.as_deref().unwrap_or("?"),
            mac.mak_kcv.as_deref().unwrap_or("?")
        ),
        (true, Some(false)) => format!(
            "WRONG: field 64 is {} but {} with MAK KCV {} gives {}",
            mac.found.as_deref().unwrap_or("?"),
            mac.algorithm.as_deref().unwrap_or("?"),
            mac.mak_kcv.as_deref().unwrap_or("?"),
            mac.expected.as_deref().unwrap_or("?")
        ),
    };
    line(&mut out, "mac", &status);
    if let Some(k) = &view.keys {
        let detail = if k.valid {
            let parts: Vec<String> = k
                .keys
                .iter()
                .map(|(n, kcv, clear)| match clear {
                    Some(c) => format!("{n} {c} (KCV {kcv})"),
                    None => format!("{n} KCV {kcv}"),
                })
                .collect();
            format!(
                "field 62 ({}) opens under TMK KCV {}: {}",
                k.layout,
                k.tmk_kcv,
                parts.join(", ")
            )
        } else {
            format!(
                "WRONG: field 62 ({}) under TMK KCV {}: {}",
                k.layout,
                k.tmk_kcv,
                k.error.as_deref().unwrap_or("?")
            )
        };
        line(&mut out, "keys", &detail);
    }
    if let Some(e) = &view.error {
        line(&mut out, "error", &e.to_string());
    }
    out
}
