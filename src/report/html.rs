//! `report.html`: one self-contained page (inline CSS and a little JS, no external URL) that a
//! lab can hand to a certification body. It shows the run's totals, coverage by requirement,
//! and per case the steps, the violations and a message ladder of the case's transcript with
//! every frame decoded.
//!
//! Everything taken from a transcript or a result is escaped. PANs are masked (first 6 + last 4)
//! and track data, PIN blocks and keys hidden unless `reveal`: frames are masked field by field
//! by [`crate::inspect`], and the clear values seen in a case's frames are also scrubbed from
//! every other text of that case (slips, notes, violation text), so a value that leaks into a
//! free-text place is masked too.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value as Json;

use crate::checks::Violation;
use crate::inspect::{inspect, FrameView, InspectOptions};
use crate::iso8583::frame::Framing;
use crate::iso8583::mask::{mask_pan, mask_track};
use crate::iso8583::spec::Sensitivity;
use crate::iso8583::Codec;
use crate::suite::runner::CaseResult;
use crate::transcript::{Direction, Record, RecordKind};

/// How to render the page.
#[derive(Debug, Clone)]
pub struct HtmlOptions {
    /// Show PANs, track data and PIN blocks in clear (lab evidence mode; the page says so).
    pub reveal: bool,
    pub run_id: String,
    /// The page title, e.g. "posconf conformance report — suites/cup-direct".
    pub title: String,
}

/// Write the page to `path` (through a temporary file and a rename, so a reader never sees a
/// half-written report).
pub fn write_html(
    results: &[CaseResult],
    records: &[Record],
    opts: &HtmlOptions,
    path: &Path,
) -> std::io::Result<()> {
    let html = render_html(results, records, opts);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, html)?;
    std::fs::rename(&tmp, path)
}

/// Render the whole page. Records are matched to results by their `case` tag (indexed once).
pub fn render_html(results: &[CaseResult], records: &[Record], opts: &HtmlOptions) -> String {
    let codec = crate::iso8583::cup_codec();
    let mut by_case: HashMap<&str, Vec<&Record>> = HashMap::new();
    for r in records {
        if let Some(c) = r.case.as_deref() {
            by_case.entry(c).or_default().push(r);
        }
    }
    let mut out = String::with_capacity(64 * 1024 + records.len() * 2048);
    let started = records.iter().map(|r| r.ts_us).filter(|&t| t > 0).min();
    page_head(&mut out, results, opts, started);
    coverage(&mut out, results);
    out.push_str(
        "<section class=\"cases\" id=\"cases\"><h2>Cases <span class=\"zh\" lang=\"zh-CN\">测试用例</span></h2>\n",
    );
    let failed: Vec<usize> = (0..results.len())
        .filter(|&i| Status::of(&results[i]) == Status::Fail)
        .collect();
    if !failed.is_empty() {
        out.push_str("<p class=\"failed-list\"><b>Failed cases</b> ");
        for i in failed {
            let _ = write!(
                out,
                "<a class=\"cchip fail\" href=\"#{}\">{}</a> ",
                case_anchor(i),
                e(&results[i].id)
            );
        }
        out.push_str("</p>\n");
    }
    // One scrubber for the run: a PAN first seen in one case (a chain, a real terminal's batch)
    // is masked wherever it turns up later, e.g. in a batch upload's field 48.
    let all: Vec<&Record> = records.iter().collect();
    let scrub = Scrubber::new(&all, &codec, opts.reveal);
    for (i, r) in results.iter().enumerate() {
        let recs = by_case.get(r.id.as_str()).map_or(&[][..], Vec::as_slice);
        case_block(&mut out, i, r, recs, &codec, opts.reveal, &scrub);
    }
    out.push_str("</section>\n");
    page_tail(&mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// Escaping and masking

/// Append `s` escaped for element content and double- or single-quoted attribute values.
fn esc(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

fn e(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    esc(&mut out, s);
    out
}

/// The clear sensitive values seen in some frames, and what to show instead.
struct Scrubber {
    /// Longest first, so a track is replaced before the PAN inside it.
    pairs: Vec<(String, String)>,
    /// All clear values at once (leftmost-longest), for one pass over each text.
    matcher: Option<aho_corasick::AhoCorasick>,
}

impl Scrubber {
    fn new(recs: &[&Record], codec: &Codec, reveal: bool) -> Scrubber {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if reveal {
            return Scrubber {
                pairs,
                matcher: None,
            };
        }
        let mut add = |clear: &str, masked: String| {
            // Short values would mask unrelated digits (amounts, dates).
            if clear.len() >= 12 && clear != masked {
                pairs.push((clear.to_string(), masked));
            }
        };
        for r in recs {
            let Some(fields) = r
                .decoded
                .as_ref()
                .and_then(|d| d.get("fields"))
                .and_then(Json::as_object)
            else {
                continue;
            };
            // A magstripe batch-upload list (0320, field 48): n2 count, then items of class n2,
            // trace n6, PAN n20 (right-aligned, zero-filled), amount n12.
            let mti = r
                .decoded
                .as_ref()
                .and_then(|d| d.get("mti"))
                .and_then(Json::as_str);
            if mti == Some("0320") {
                if let Some(f48) = fields.get("48").and_then(Json::as_str) {
                    let items = f48.get(2..).unwrap_or("");
                    for item in items.as_bytes().chunks(40).filter(|c| c.len() == 40) {
                        let pan = std::str::from_utf8(&item[8..28]).unwrap_or("");
                        let pan = pan.trim_start_matches('0');
                        if pan.chars().all(|c| c.is_ascii_digit()) {
                            add(pan, mask_pan(pan));
                        }
                    }
                }
            }
            for (k, v) in fields {
                let (Ok(n), Some(v)) = (k.parse::<u8>(), v.as_str()) else {
                    continue;
                };
                let Some(spec) = codec.dialect.field(n) else {
                    continue;
                };
                match spec.sensitivity {
                    Sensitivity::None => {}
                    Sensitivity::Pan => add(v, mask_pan(v)),
                    Sensitivity::Track => {
                        add(v, mask_track(v));
                        // As BCD on the wire the separator is the nibble D.
                        let d = v.replace('=', "D");
                        add(&d, mask_track(v).replace('=', "D"));
                        if let Some((pan, _)) = v.split_once(['=', 'D']) {
                            add(pan, mask_pan(pan));
                        }
                    }
                    Sensitivity::Secret => add(v, "*".repeat(v.chars().count())),
                }
            }
        }
        pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        pairs.dedup_by(|a, b| a.0 == b.0);
        let matcher = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(pairs.iter().map(|(clear, _)| clear.as_str()))
            .ok();
        Scrubber { pairs, matcher }
    }

    fn apply<'s>(&self, s: &'s str) -> Cow<'s, str> {
        match &self.matcher {
            Some(m) if m.is_match(s) => {
                let masked: Vec<&str> = self.pairs.iter().map(|(_, m)| m.as_str()).collect();
                Cow::Owned(m.replace_all(s, &masked))
            }
            _ => Cow::Borrowed(s),
        }
    }
}

/// Everything a case's pieces need to render.
struct Ctx<'a> {
    codec: &'a Codec<'a>,
    reveal: bool,
    scrub: &'a Scrubber,
    /// Prefix of the violations' element ids in this case.
    vprefix: &'a str,
}

impl Ctx<'_> {
    /// Scrubbed and escaped.
    fn t(&self, s: &str) -> String {
        e(&self.scrub.apply(s))
    }
}

/// The decoded, masked view of a frame record and its masked full hex.
fn frame_view(r: &Record, ctx: &Ctx) -> Option<(FrameView, String)> {
    let raw = r.raw.as_deref()?;
    let bytes = hex::decode(raw).ok()?;
    let opts = InspectOptions {
        framing: Framing::Auto,
        reveal: ctx.reveal,
        ..InspectOptions::default()
    };
    let view = inspect(ctx.codec, &bytes, &opts);
    let hex = if ctx.reveal {
        raw.to_ascii_uppercase()
    } else {
        // Overlay each field's masked raw bytes (same offsets), then scrub what did not decode.
        let mut chars: Vec<u8> = raw.to_ascii_uppercase().into_bytes();
        for row in view
            .fields
            .iter()
            .filter(|f| !f.is_subfield && !f.raw.is_empty())
        {
            let start = row.offset * 2;
            if let Some(dst) = chars.get_mut(start..start + row.raw.len()) {
                for (d, s) in dst.iter_mut().zip(row.raw.bytes()) {
                    if s == b'*' {
                        *d = b'*';
                    }
                }
            }
        }
        let hex = String::from_utf8(chars).unwrap_or_default();
        ctx.scrub.apply(&hex).into_owned()
    };
    Some((view, hex))
}

// ---------------------------------------------------------------------------------------------
// Small formatting helpers

/// `YYYY-MM-DD hh:mm:ss UTC` from microseconds since the epoch (no time zone database needed).
fn utc(us: u64) -> String {
    let secs = us / 1_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn fmt_duration(ms: f64) -> String {
    if ms >= 60_000.0 {
        format!(
            "{}m {:.1}s",
            (ms / 60_000.0).floor(),
            (ms % 60_000.0) / 1000.0
        )
    } else if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

/// Response code meanings (CUP 2004/2005 table, appendix 3); codes not listed print bare.
fn rc_meaning(code: &str) -> Option<&'static str> {
    Some(match code {
        "00" => "approved 交易成功",
        "01" | "02" => "refer to issuer",
        "03" => "invalid merchant",
        "04" | "07" => "pick up card",
        "05" => "do not honour",
        "06" => "issuer error",
        "09" => "retry",
        "10" => "partial approval",
        "11" => "approved (VIP)",
        "12" => "invalid transaction",
        "13" => "invalid amount",
        "14" => "invalid card number",
        "15" => "no such issuer",
        "22" => "suspected malfunction",
        "25" => "original not found",
        "30" => "format error",
        "33" => "expired card (pick up)",
        "34" => "suspected fraud",
        "38" | "75" => "PIN tries exceeded",
        "40" => "function not supported",
        "41" => "lost card",
        "43" => "stolen card",
        "51" => "insufficient funds 余额不足",
        "54" => "expired card",
        "55" => "incorrect PIN",
        "57" => "not permitted to cardholder",
        "58" => "not permitted to terminal",
        "61" => "amount limit exceeded",
        "62" => "restricted card",
        "64" => "original amount mismatch",
        "65" => "count limit exceeded",
        "68" => "response too late",
        "77" => "sign in again (batch mismatch)",
        "90" => "cut-over in progress",
        "91" | "92" => "issuer unavailable",
        "94" => "duplicate transaction",
        "96" => "system malfunction",
        "97" => "terminal not registered",
        "98" => "issuer timeout",
        "99" => "PIN format error, sign in again",
        "A0" => "MAC error, sign in again",
        _ => return None,
    })
}

fn rc_approved(code: &str) -> bool {
    matches!(code, "00" | "10" | "11" | "A2" | "A4" | "A5" | "A6")
}

/// `000000012345` → `RMB 123.45`.
fn amount(f4: &str) -> Option<String> {
    let fen: u64 = f4.trim().parse().ok()?;
    Some(format!("RMB {}.{:02}", fen / 100, fen % 100))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Pass,
    Fail,
    Skip,
}

impl Status {
    fn of(r: &CaseResult) -> Status {
        if r.skipped.is_some() {
            Status::Skip
        } else if r.passed() {
            Status::Pass
        } else {
            Status::Fail
        }
    }
    fn class(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// The chapter or appendix a requirement id belongs to: `6.3.2` → `6`, `A1.2` → `A`.
fn section_of(req: &str) -> String {
    let first = req.split('.').next().unwrap_or(req);
    if first.starts_with('A') {
        "A".to_string()
    } else {
        first.to_string()
    }
}

/// Chapters in number order, appendices last, anything else after them.
fn section_rank(key: &str) -> (u8, u32, String) {
    match key.parse::<u32>() {
        Ok(n) => (0, n, String::new()),
        Err(_) if key == "A" => (1, 0, String::new()),
        Err(_) => (2, 0, key.to_string()),
    }
}

/// Chapter titles of seed 001 (TDMT-20502).
fn section_title(key: &str) -> (&'static str, &'static str) {
    match key {
        "3" => ("POS终端硬件测试要求", "Hardware"),
        "4" => ("POS终端软件测试要求", "Software"),
        "5" => ("POS终端安全测试要求", "Security"),
        "6" => ("POS终端管理功能测试要求", "Management functions"),
        "7" => ("POS终端交易功能测试要求", "Transaction functions"),
        "9" => ("POS终端交易处理流程", "Transaction processing flows"),
        "10" => ("消息域说明", "Message fields"),
        "11" => ("POS终端消息交换说明", "Message exchange"),
        "12" => ("POS终端凭证要素及格式要求", "Receipts"),
        "A" => ("附录", "A1–A3"),
        _ => ("", "Other"),
    }
}

fn section_name(key: &str) -> String {
    if key == "A" {
        "Appendices".to_string()
    } else if key.parse::<u32>().is_ok() {
        format!("Chapter {key}")
    } else {
        key.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Page parts

fn page_head(out: &mut String, results: &[CaseResult], opts: &HtmlOptions, started: Option<u64>) {
    let count = |s: Status| results.iter().filter(|r| Status::of(r) == s).count();
    let (pass, fail, skip) = (
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Skip),
    );
    let total_ms: f64 = results
        .iter()
        .map(|r| r.duration.as_secs_f64() * 1000.0)
        .sum();
    let date = utc(started.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0)
    }));
    let verdict = if fail > 0 {
        ("fail", "FAIL")
    } else if pass > 0 {
        ("pass", "PASS")
    } else {
        ("skip", "NO RESULT")
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"posconf {ver}\">\n<title>{title}</title>\n\
         <style>{CSS}</style>\n</head>\n<body>\n<header class=\"top\">\n<div class=\"wrap\">\n\
         <div class=\"brand\">posconf · China UnionPay direct-connect POS conformance \
         <span class=\"zh\" lang=\"zh-CN\">银联直联POS终端一致性测试</span></div>\n\
         <div class=\"headline\"><h1>{title}</h1><span class=\"verdict {vc}\">{vl}</span></div>\n\
         <dl class=\"meta\"><div><dt>Run</dt><dd><code>{run}</code></dd></div>\
         <div><dt>Date</dt><dd>{date}</dd></div>\
         <div><dt title=\"sum of the case times; cases of the reference terminal run concurrently\">Case time</dt><dd>{dur}</dd></div>\
         <div><dt>Cases</dt><dd>{n}</dd></div>\
         <div><dt>posconf</dt><dd>{ver}</dd></div></dl>\n\
         <div class=\"tiles\"><div class=\"tile pass\"><b>{pass}</b><span>passed 通过</span></div>\
         <div class=\"tile fail\"><b>{fail}</b><span>failed 失败</span></div>\
         <div class=\"tile skip\"><b>{skip}</b><span>skipped 跳过</span></div></div>\n\
         </div>\n</header>\n",
        ver = env!("CARGO_PKG_VERSION"),
        title = e(&opts.title),
        vc = verdict.0,
        vl = verdict.1,
        run = e(&opts.run_id),
        dur = fmt_duration(total_ms),
        n = results.len(),
    );
    if opts.reveal {
        out.push_str(
            "<div class=\"banner revealed\" id=\"privacy\"><div class=\"wrap\"><b>REVEALED</b> — \
             clear PANs, track data and PIN blocks are shown (--reveal). Handle this file as \
             cardholder data. <span class=\"zh\" lang=\"zh-CN\">明文卡号,请按持卡人数据保管</span></div></div>\n",
        );
    } else {
        out.push_str(
            "<div class=\"banner masked\" id=\"privacy\"><div class=\"wrap\"><b>PANs masked</b> — \
             card numbers show the first 6 and last 4 digits; track data, PIN blocks and keys \
             are not shown. <span class=\"zh\" lang=\"zh-CN\">卡号已屏蔽</span></div></div>\n",
        );
    }
    out.push_str(
        "<nav class=\"bar\"><div class=\"wrap\"><a href=\"#coverage\">Coverage</a>\
         <a href=\"#cases\">Cases</a><span class=\"sp\"></span>\
         <button type=\"button\" data-act=\"failed\">Open failed</button>\
         <button type=\"button\" data-act=\"open\">Expand all</button>\
         <button type=\"button\" data-act=\"close\">Collapse all</button>\
         <label><input type=\"checkbox\" id=\"only-failed\"> failed only</label></div></nav>\n\
         <main class=\"wrap\">\n",
    );
}

fn page_tail(out: &mut String) {
    let _ = write!(
        out,
        "</main>\n<footer class=\"wrap foot\">Generated by posconf {} · requirement ids of \
         TDMT-20502 (中国银联直联POS终端测试要求)</footer>\n<script>{JS}</script>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
}

/// Case element id: the index keeps it unique and free of odd characters.
fn case_anchor(i: usize) -> String {
    format!("case-{i}")
}

fn coverage(out: &mut String, results: &[CaseResult]) {
    struct Req {
        zh: String,
        en: String,
        how: String,
        indexed: bool,
    }
    let mut reqs: BTreeMap<(u8, u32, String), Vec<(String, Req)>> = BTreeMap::new();
    let mut known: HashMap<String, ()> = HashMap::new();
    for r in crate::suite::model::requirements().unwrap_or_default() {
        known.insert(r.id.clone(), ());
        reqs.entry(section_rank(&section_of(&r.id)))
            .or_default()
            .push((
                r.id.clone(),
                Req {
                    zh: r.zh,
                    en: r.en,
                    how: r.how,
                    indexed: true,
                },
            ));
    }
    // Which cases cover each id (indices into results), and ids cases use that the index lacks.
    let mut covering: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in results.iter().enumerate() {
        for q in &r.requirements {
            covering.entry(q.as_str()).or_default().push(i);
            if !known.contains_key(q) {
                known.insert(q.clone(), ());
                reqs.entry(section_rank(&section_of(q))).or_default().push((
                    q.clone(),
                    Req {
                        zh: String::new(),
                        en: "not in the seed-001 index".into(),
                        how: String::new(),
                        indexed: false,
                    },
                ));
            }
        }
    }
    out.push_str(
        "<section id=\"coverage\"><h2>Coverage by requirement <span class=\"zh\" lang=\"zh-CN\">按检测要求统计\
         </span></h2>\n<div class=\"sec-head\"><span>Section</span><span>Requirements covered\
         </span><span>Cases</span><span class=\"n pass\">Pass</span><span class=\"n fail\">Fail\
         </span><span class=\"n skip\">Skip</span><span>Result</span></div>\n",
    );
    for list in reqs.values() {
        let Some((first, _)) = list.first() else {
            continue;
        };
        let key = section_of(first);
        let (zh, en) = section_title(&key);
        let mut cases: Vec<usize> = list
            .iter()
            .flat_map(|(id, _)| covering.get(id.as_str()).into_iter().flatten().copied())
            .collect();
        cases.sort_unstable();
        cases.dedup();
        let count = |s: Status| {
            cases
                .iter()
                .filter(|&&i| Status::of(&results[i]) == s)
                .count()
        };
        let (p, f, s) = (
            count(Status::Pass),
            count(Status::Fail),
            count(Status::Skip),
        );
        let covered = list
            .iter()
            .filter(|(id, _)| covering.contains_key(id.as_str()))
            .count();
        let total = cases.len().max(1);
        let _ = write!(
            out,
            "<details class=\"sec{fcls}\"><summary><span class=\"sname\"><b>{name}</b> \
             {en} <span class=\"zh\" lang=\"zh-CN\">{zh}</span></span><span>{covered} / {nreq}</span>\
             <span>{nc}</span><span class=\"n pass\">{p}</span><span class=\"n fail\">{f}</span>\
             <span class=\"n skip\">{s}</span><span class=\"meter\"><i class=\"pass\" \
             style=\"width:{wp:.1}%\"></i><i class=\"fail\" style=\"width:{wf:.1}%\"></i>\
             <i class=\"skip\" style=\"width:{ws:.1}%\"></i></span></summary>\n\
             <table class=\"reqs\"><colgroup><col class=\"c-id\"><col><col class=\"c-how\">\
             <col class=\"c-cases\"><col class=\"c-verdict\"></colgroup><thead><tr><th>Id</th><th>Requirement</th><th>How</th>\
             <th>Cases</th><th>Verdict</th></tr></thead><tbody>\n",
            fcls = if f > 0 { " has-fail" } else { "" },
            name = e(&section_name(&key)),
            en = e(en),
            zh = e(zh),
            nreq = list.len(),
            nc = cases.len(),
            wp = p as f64 * 100.0 / total as f64,
            wf = f as f64 * 100.0 / total as f64,
            ws = s as f64 * 100.0 / total as f64,
        );
        for (id, req) in list {
            let cs = covering.get(id.as_str()).map_or(&[][..], Vec::as_slice);
            let st: Vec<Status> = cs.iter().map(|&i| Status::of(&results[i])).collect();
            let (vcls, vtxt) = if cs.is_empty() {
                ("none", "not covered")
            } else if st.contains(&Status::Fail) {
                ("fail", "FAIL")
            } else if st.contains(&Status::Pass) {
                ("pass", "PASS")
            } else {
                ("skip", "SKIP")
            };
            let _ = write!(
                out,
                "<tr id=\"req-{aid}\" class=\"{rowcls}\"><td class=\"rid\">{id}</td><td>\
                 <span class=\"zh\" lang=\"zh-CN\">{zh}</span> {en}</td><td class=\"how\">{how}</td><td>",
                aid = e(id),
                rowcls = if req.indexed { "" } else { "extra" },
                id = e(id),
                zh = e(&req.zh),
                en = e(&req.en),
                how = e(&req.how),
            );
            for &i in cs {
                let c = &results[i];
                let _ = write!(
                    out,
                    "<a class=\"cchip {}\" href=\"#{}\">{}</a> ",
                    Status::of(c).class(),
                    case_anchor(i),
                    e(&c.id)
                );
            }
            let _ = writeln!(
                out,
                "</td><td><span class=\"badge {vcls}\">{vtxt}</span></td></tr>"
            );
        }
        out.push_str("</tbody></table></details>\n");
    }
    out.push_str("</section>\n");
}

/// A violation's frame: its `seq` is documented as the transcript sequence number, but a
/// runner that checks a case's own log before copying it into the run transcript numbers
/// from 1 per case. Both readings are tried; the frame whose MTI and trace match wins.
fn resolve_frame<'r>(v: &Violation, recs: &[&'r Record]) -> Option<&'r Record> {
    let seq = v.seq?;
    let global = recs.iter().find(|r| r.seq == seq).copied();
    let local = usize::try_from(seq)
        .ok()
        .and_then(|s| s.checked_sub(1))
        .and_then(|i| recs.get(i))
        .copied();
    let matches = |r: &Record| {
        let d = r.decoded.as_ref();
        let mti = d.and_then(|d| d.get("mti")).and_then(Json::as_str);
        let stan = d
            .and_then(|d| d.get("fields"))
            .and_then(|f| f.get("11"))
            .and_then(Json::as_str);
        r.kind == RecordKind::Frame
            && (v.mti.is_none() || mti == v.mti.as_deref())
            && (v.stan.is_none() || stan == v.stan.as_deref())
    };
    match (global, local) {
        (Some(g), _) if matches(g) => Some(g),
        (_, Some(l)) if matches(l) => Some(l),
        (g, l) => g.or(l),
    }
}

/// Frame seq → the violations that point at it.
fn flag_frames(recs: &[&Record], violations: &[Violation]) -> HashMap<u64, Vec<usize>> {
    let mut flagged: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, v) in violations.iter().enumerate() {
        if let Some(r) = resolve_frame(v, recs) {
            flagged.entry(r.seq).or_default().push(i);
        }
    }
    flagged
}

fn case_block(
    out: &mut String,
    idx: usize,
    r: &CaseResult,
    recs: &[&Record],
    codec: &Codec,
    reveal: bool,
    scrub: &Scrubber,
) {
    let status = Status::of(r);
    let vprefix = format!("{}-v", case_anchor(idx));
    let ctx = Ctx {
        codec,
        reveal,
        scrub,
        vprefix: &vprefix,
    };
    let (zh, en) = match r.title.split_once(" / ") {
        Some((zh, en)) => (zh, en),
        None => ("", r.title.as_str()),
    };
    let _ = write!(
        out,
        "<details class=\"case {cls}\" id=\"{anchor}\"{open}>\n<summary><span class=\"badge {cls}\">\
         {label}</span><span class=\"cid\">{id}</span><span class=\"ctitle\"><span class=\"zh\" lang=\"zh-CN\">\
         {zh}</span> {en}</span><span class=\"creqs\">",
        cls = status.class(),
        anchor = case_anchor(idx),
        open = if status == Status::Fail { " open" } else { "" },
        label = status.label(),
        id = ctx.t(&r.id),
        zh = ctx.t(zh),
        en = ctx.t(en),
    );
    for q in &r.requirements {
        let _ = write!(out, "<a class=\"rchip\" href=\"#req-{0}\">{0}</a>", e(q));
    }
    let _ = write!(
        out,
        "</span><span class=\"cdur\">{}</span></summary>\n<div class=\"cbody\">\n\
         <p class=\"cmeta\">Suite <code>{}</code> · {} steps · {} frames · {} violations</p>\n",
        fmt_duration(r.duration.as_secs_f64() * 1000.0),
        ctx.t(&r.suite),
        r.steps.len(),
        recs.iter().filter(|x| x.kind == RecordKind::Frame).count(),
        r.violations.len(),
    );
    if let Some(why) = &r.skipped {
        let _ = writeln!(
            out,
            "<p class=\"skipped\"><b>Skipped:</b> {}</p>",
            ctx.t(why)
        );
    }
    if !r.failures.is_empty() {
        out.push_str("<div class=\"failures\"><h4>Why it failed</h4><ul>\n");
        for f in &r.failures {
            let _ = writeln!(out, "<li>{}</li>", ctx.t(f));
        }
        out.push_str("</ul></div>\n");
    }
    if !r.steps.is_empty() {
        out.push_str(
            "<h4>Steps</h4>\n<table class=\"steps\"><thead><tr><th>#</th><th>Action</th>\
             <th>Expected</th><th>Got</th><th class=\"num\">Time</th><th></th></tr></thead>\
             <tbody>\n",
        );
        for s in &r.steps {
            let _ = writeln!(
                out,
                "<tr class=\"{cls}\"><td>{n}</td><td><code>{a}</code></td><td>{x}</td>\
                 <td class=\"got\">{g}</td><td class=\"num\">{ms:.1} ms</td><td>{mark}</td></tr>",
                cls = if s.passed { "ok" } else { "mismatch" },
                n = s.n,
                a = ctx.t(&s.action),
                x = ctx.t(&s.expected),
                g = ctx.t(&s.got),
                ms = s.ms,
                mark = if s.passed {
                    "<span class=\"ok\">✓</span>"
                } else {
                    "<span class=\"no\">✗</span>"
                },
            );
        }
        out.push_str("</tbody></table>\n");
    }
    let flagged = flag_frames(recs, &r.violations);
    if !r.violations.is_empty() {
        violations(out, r, recs, &ctx);
    }
    if recs.iter().any(|x| x.kind != RecordKind::Receipt) {
        out.push_str("<h4>Message ladder <span class=\"zh\" lang=\"zh-CN\">报文时序</span></h4>\n");
        ladder(out, recs, &flagged, &r.violations, &ctx);
    } else if r.skipped.is_none() {
        out.push_str("<p class=\"muted\">No traffic recorded for this case.</p>\n");
    }
    let shown = visible(recs, &flagged);
    let slips: Vec<&&Record> = recs
        .iter()
        .zip(&shown)
        .filter(|(x, show)| **show && x.kind == RecordKind::Receipt)
        .map(|(x, _)| x)
        .collect();
    if !slips.is_empty() {
        out.push_str(
            "<h4>Printed slips <span class=\"zh\" lang=\"zh-CN\">签购单</span></h4>\n<div class=\"slips\">\n",
        );
        for s in slips {
            let step = s
                .event
                .as_ref()
                .and_then(|ev| ev.get("step"))
                .and_then(Json::as_u64)
                .map(|n| format!("step {n}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<figure class=\"slip\" lang=\"zh-CN\" id=\"s-{seq}\"><figcaption>{step}</figcaption><pre>{text}\
                 </pre></figure>",
                seq = s.seq,
                text = ctx.t(s.note.as_deref().unwrap_or("")),
            );
        }
        out.push_str("</div>\n");
    }
    out.push_str("</div>\n</details>\n");
}

fn violations(out: &mut String, r: &CaseResult, recs: &[&Record], ctx: &Ctx) {
    out.push_str("<h4>Violations</h4>\n<div class=\"viols\">\n");
    for (i, v) in r.violations.iter().enumerate() {
        let expected = r.expected_rules.iter().any(|x| x == v.rule);
        let frame = resolve_frame(v, recs);
        // Bytes from our own masked decode of the frame; a violation's own `raw` may have been
        // attached unmasked, so it is used only when revealing.
        let bytes = frame
            .and_then(|f| frame_view(f, ctx))
            .and_then(|(view, _)| {
                let field = v.field.as_deref()?;
                view.fields
                    .iter()
                    .find(|row| row.id == field && !row.raw.is_empty())
                    .map(|row| row.raw.clone())
            })
            .or_else(|| v.raw.clone().filter(|_| ctx.reveal));
        let _ = write!(
            out,
            "<div class=\"viol{xcls}\" id=\"{p}-{i}\"><div class=\"vh\"><span class=\"req\">{req}\
             </span><code class=\"rule\">{rule}</code>{xtag}</div>\n<p class=\"vmsg\">{msg}</p>\n\
             <dl class=\"vkv\"><div><dt>Message</dt><dd>MTI {mti} · trace {stan} · field {field}\
             </dd></div><div><dt>Expected</dt><dd class=\"exp\">{exp}</dd></div><div><dt>Found\
             </dt><dd class=\"fnd\">{fnd}</dd></div>",
            xcls = if expected { " expected" } else { "" },
            p = ctx.vprefix,
            req = ctx.t(v.requirement),
            rule = ctx.t(v.rule),
            xtag = if expected {
                "<span class=\"xtag\">expected by the case</span>"
            } else {
                ""
            },
            msg = ctx.t(&v.message),
            mti = ctx.t(v.mti.as_deref().unwrap_or("-")),
            stan = ctx.t(v.stan.as_deref().unwrap_or("-")),
            field = ctx.t(v.field.as_deref().unwrap_or("-")),
            exp = ctx.t(v.expected.as_deref().unwrap_or("-")),
            fnd = ctx.t(v.found.as_deref().unwrap_or("-")),
        );
        if let Some(b) = bytes {
            let _ = write!(
                out,
                "<div><dt>Bytes</dt><dd><code class=\"hexs\">{}</code></dd></div>",
                ctx.t(&b)
            );
        }
        out.push_str("</dl>");
        if let Some(f) = frame {
            let _ = write!(
                out,
                "<a class=\"goto\" href=\"#f-{0}\">Show frame #{0} in the ladder →</a>",
                f.seq
            );
        }
        out.push_str("</div>\n");
    }
    out.push_str("</div>\n");
}

/// Longest ladder shown whole; a longer one (a 500-purchase storage case) shows its head, its
/// tail and every record a violation points at, and says how many it left out: the page stays
/// a few megabytes, and the transcript and capture keep everything.
const LADDER_MAX: usize = 240;
const LADDER_ENDS: usize = 100;

/// Which records of a case the page shows (ladder rows and slips alike, so links resolve).
fn visible(recs: &[&Record], flagged: &HashMap<u64, Vec<usize>>) -> Vec<bool> {
    let n = recs.len();
    if n <= LADDER_MAX {
        return vec![true; n];
    }
    recs.iter()
        .enumerate()
        .map(|(i, r)| i < LADDER_ENDS || i >= n - LADDER_ENDS || flagged.contains_key(&r.seq))
        .collect()
}

fn ladder(
    out: &mut String,
    recs: &[&Record],
    flagged: &HashMap<u64, Vec<usize>>,
    violations: &[Violation],
    ctx: &Ctx,
) {
    let t0 = recs.first().map_or(0, |r| r.ts_us);
    out.push_str(
        "<div class=\"ladder\"><div class=\"lhead\"><span></span><div class=\"lanes\">\
         <span>Terminal 终端</span><span>Host 中心</span></div></div>\n<ol>\n",
    );
    let shown = visible(recs, flagged);
    let mut hidden = 0usize;
    for (r, show) in recs.iter().zip(&shown) {
        if !show {
            hidden += 1;
            continue;
        }
        if hidden > 0 {
            let _ = writeln!(
                out,
                "<li class=\"lr ev\"><span class=\"lt\"></span><div class=\"lane\"><div class=\"evt\">\
                 … {hidden} records not shown here (all are in transcript.jsonl and traffic.pcap)</div></div></li>"
            );
            hidden = 0;
        }
        let rel = r.ts_us.saturating_sub(t0) as f64 / 1000.0;
        let time = format!("<span class=\"lt\">+{rel:.1} ms</span>");
        match r.kind {
            RecordKind::Frame => frame_row(out, r, &time, flagged.get(&r.seq), violations, ctx),
            RecordKind::Receipt => {
                let step = r
                    .event
                    .as_ref()
                    .and_then(|ev| ev.get("step"))
                    .and_then(Json::as_u64)
                    .map(|n| format!(" at step {n}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "<li class=\"lr ev\">{time}<div class=\"lane\"><div class=\"evt t-side\">\
                     <span class=\"pill slip\">slip</span> <a href=\"#s-{}\">printed{}</a></div>\
                     </div></li>",
                    r.seq,
                    e(&step)
                );
            }
            _ => event_row(out, r, &time, ctx),
        }
    }
    out.push_str("</ol></div>\n");
}

fn event_row(out: &mut String, r: &Record, time: &str, ctx: &Ctx) {
    let note = r.note.as_deref().unwrap_or("");
    let (pill, pcls, text, side) = match r.kind {
        RecordKind::Connect => (
            "connect".to_string(),
            "conn",
            format!("conn {} · {}", r.conn, note),
            "mid",
        ),
        RecordKind::Disconnect => (
            "disconnect".to_string(),
            "conn",
            format!("conn {} · {}", r.conn, note),
            "mid",
        ),
        RecordKind::BadFrame => ("bad frame".to_string(), "bad", note.to_string(), "mid"),
        RecordKind::Behaviour => ("behaviour".to_string(), "beh", note.to_string(), "h-side"),
        RecordKind::Note => ("note".to_string(), "note", note.to_string(), "mid"),
        _ => {
            let ev = r.event.as_ref();
            let name = ev
                .and_then(|ev| ev.get("event"))
                .and_then(Json::as_str)
                .unwrap_or("journal")
                .to_string();
            let mut parts: Vec<String> = Vec::new();
            if let Some(obj) = ev.and_then(Json::as_object) {
                for (k, v) in obj {
                    if k == "event" || k == "tid" || v.is_null() {
                        continue;
                    }
                    let v = match v {
                        Json::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    parts.push(format!("{k} {v}"));
                }
            }
            if !note.is_empty() {
                parts.push(note.to_string());
            }
            let cls = if name == "behaviour" { "beh" } else { "jr" };
            (name.replace('_', " "), cls, parts.join(" · "), "h-side")
        }
    };
    let _ = write!(
        out,
        "<li class=\"lr ev {pcls}\">{time}<div class=\"lane\"><div class=\"evt {side}\">\
         <span class=\"pill {pcls}\">{pill}</span> {text}",
        pill = e(&pill),
        text = ctx.t(&text),
    );
    if r.kind == RecordKind::BadFrame {
        if let Some(raw) = r.raw.as_deref() {
            let raw = if ctx.reveal {
                Cow::Borrowed(raw)
            } else {
                ctx.scrub.apply(raw)
            };
            let _ = write!(
                out,
                "<details class=\"badhex\"><summary>bytes</summary>{}</details>",
                hexdump(&raw)
            );
        }
    }
    out.push_str("</div></div></li>\n");
}

fn frame_row(
    out: &mut String,
    r: &Record,
    time: &str,
    flags: Option<&Vec<usize>>,
    violations: &[Violation],
    ctx: &Ctx,
) {
    let dir = if r.dir == Direction::Out { "out" } else { "in" };
    let bad = flags.is_some_and(|f| !f.is_empty());
    let view = frame_view(r, ctx);
    let _ = write!(
        out,
        "<li class=\"lr {dir}{b}\" id=\"f-{seq}\">{time}<div class=\"lane\"><details class=\"msg\"\
         {open}><summary><span class=\"lbl\">",
        b = if bad { " bad" } else { "" },
        seq = r.seq,
        open = if bad { " open" } else { "" },
    );
    let fields_hit: Vec<&str> = flags
        .into_iter()
        .flatten()
        .filter_map(|&i| violations.get(i)?.field.as_deref())
        .collect();
    match &view {
        Some((v, _)) if v.mti.is_some() => {
            let val = |id: &str| {
                v.fields
                    .iter()
                    .find(|f| f.id == id)
                    .map(|f| f.value.as_str())
            };
            let _ = write!(
                out,
                "<span class=\"mti\">{}</span>",
                ctx.t(v.mti.as_deref().unwrap_or(""))
            );
            if let Some((_, zh, en)) = &v.transaction {
                let _ = write!(
                    out,
                    "<span class=\"txn\"><span class=\"zh\" lang=\"zh-CN\">{}</span> {}</span>",
                    ctx.t(zh),
                    ctx.t(en)
                );
            }
            if let Some(s) = val("11") {
                let _ = write!(out, "<span class=\"kv\">trace {}</span>", ctx.t(s));
            }
            if let Some(p) = val("3") {
                let _ = write!(out, "<span class=\"kv\">3:{}</span>", ctx.t(p));
            }
            if let Some(t) = val("60.1") {
                let _ = write!(out, "<span class=\"kv\">60.1:{}</span>", ctx.t(t));
            }
            if let Some(a) = val("4").and_then(amount) {
                let _ = write!(out, "<span class=\"amt\">{}</span>", e(&a));
            }
            if let Some(c) = val("39") {
                let _ = write!(
                    out,
                    "<span class=\"rc {}\">39:{} {}</span>",
                    if rc_approved(c) { "ok" } else { "no" },
                    ctx.t(c),
                    e(rc_meaning(c).unwrap_or(""))
                );
            }
            if v.error.is_some() {
                out.push_str("<span class=\"rc no\">decode error</span>");
            }
        }
        _ => out.push_str("<span class=\"mti undec\">undecodable frame</span>"),
    }
    for &i in flags.into_iter().flatten() {
        if let Some(v) = violations.get(i) {
            let _ = write!(
                out,
                "<a class=\"vbadge\" href=\"#{}-{i}\">violates {} [{}]</a>",
                ctx.vprefix,
                ctx.t(v.requirement),
                ctx.t(v.rule)
            );
        }
    }
    out.push_str("</span><span class=\"arr\"></span></summary>\n<div class=\"fv\">\n");
    match view {
        Some((v, hex)) => frame_detail(out, &v, &hex, &fields_hit, ctx),
        None => {
            let _ = write!(
                out,
                "<p class=\"muted\">No bytes recorded.</p>{}",
                hexdump(&ctx.scrub.apply(r.raw.as_deref().unwrap_or("")))
            );
        }
    }
    out.push_str("</div></details></div></li>\n");
}

fn frame_detail(out: &mut String, v: &FrameView, hex: &str, hits: &[&str], ctx: &Ctx) {
    out.push_str("<dl class=\"fmeta\">");
    let mut item = |k: &str, val: String| {
        let _ = write!(out, "<div><dt>{k}</dt><dd>{val}</dd></div>");
    };
    item(
        "Framing",
        match v.length {
            Some(l) => format!("{} · length {l}", e(v.framing.as_str())),
            None => e(v.framing.as_str()),
        },
    );
    if let Some(t) = &v.tpdu {
        item("TPDU", format!("<code>{}</code>", ctx.t(t)));
    }
    if let Some(h) = &v.header {
        item(
            "Header",
            format!(
                "<code>{}</code> {}",
                ctx.t(h),
                ctx.t(v.header_notes.as_deref().unwrap_or(""))
            ),
        );
    }
    if let Some(b) = &v.bitmap {
        item("Bitmap", format!("<code>{}</code>", ctx.t(b)));
    }
    if v.mac.present {
        item("MAC", "field 64 present, not verified here".to_string());
    }
    out.push_str("</dl>\n");
    if let Some(err) = &v.error {
        let _ = writeln!(
            out,
            "<p class=\"derr\">Decode error: {}</p>",
            ctx.t(&err.to_string())
        );
    }
    if !v.fields.is_empty() {
        out.push_str(
            "<table class=\"fields\"><thead><tr><th>Field</th><th>Name</th><th>Value</th>\
             <th>Raw (hex)</th></tr></thead><tbody>\n",
        );
        for f in &v.fields {
            let hit = hits.contains(&f.id.as_str());
            let cls = match (f.is_subfield, hit) {
                (true, true) => " class=\"sub hit\"",
                (true, false) => " class=\"sub\"",
                (false, true) => " class=\"hit\"",
                (false, false) => "",
            };
            let _ = writeln!(
                out,
                "<tr{cls}><td class=\"fid\">{id}</td><td><span class=\"zh\" lang=\"zh-CN\">{zh}</span> {en}</td>\
                 <td class=\"val\">{val}</td><td class=\"raw\">{raw}</td></tr>",
                id = ctx.t(&f.id),
                zh = ctx.t(&f.name_zh),
                en = ctx.t(&f.name_en),
                val = ctx.t(&f.value),
                raw = ctx.t(&f.raw),
            );
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("<div class=\"hexlbl\">Frame bytes (length prefix included)</div>");
    out.push_str(&hexdump(hex));
}

/// Offset and 16 bytes a line; `*` nibbles are masked ones.
fn hexdump(hex: &str) -> String {
    let mut out = String::from("<pre class=\"hex\">");
    let chars: Vec<char> = hex.chars().collect();
    for (line, chunk) in chars.chunks(32).enumerate() {
        let _ = write!(out, "<span class=\"off\">{:04X}</span> ", line * 16);
        for (i, pair) in chunk.chunks(2).enumerate() {
            if i == 8 {
                out.push(' ');
            }
            out.push(' ');
            for c in pair {
                esc(&mut out, c.encode_utf8(&mut [0; 4]));
            }
        }
        out.push('\n');
    }
    out.push_str("</pre>");
    out
}

const CSS: &str = r##"
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f4f6f9;--card:#fff;--pass:#15803d;--pass-bg:#dcfce7;--fail:#b91c1c;--fail-bg:#fee2e2;--skip:#a16207;--skip-bg:#fef3c7;--in:#1d4ed8;--out:#0f766e;--accent:#1e3a8a}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 "Segoe UI","PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","WenQuanYi Micro Hei",system-ui,-apple-system,Roboto,"Helvetica Neue",Arial,sans-serif}
code,pre,.hex,.raw,.val,.rid,.cid,.fid,.kv,.mti,.lt,.hexs{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono","WenQuanYi Micro Hei Mono",monospace}
.wrap{max-width:1200px;margin:0 auto;padding:0 24px}
.zh{color:#4b5563}
.muted{color:var(--muted)}
a{color:var(--accent)}
h2{font-size:19px;margin:28px 0 12px;color:#111827;letter-spacing:.01em}
h2 .zh{font-size:14px;font-weight:400;margin-left:6px}
h4{margin:18px 0 8px;font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:#374151}
h4 .zh{text-transform:none;letter-spacing:0;font-weight:400}
.top{background:linear-gradient(135deg,#0f1f4d,#1e3a8a);color:#fff;padding:22px 0 20px}
.top .zh{color:#c7d2fe}
.brand{font-size:12px;text-transform:uppercase;letter-spacing:.08em;color:#c7d2fe}
.headline{display:flex;align-items:center;gap:16px;margin:6px 0 12px}
.headline h1{font-size:24px;margin:0;font-weight:600}
.verdict{font-weight:700;font-size:14px;padding:4px 14px;border-radius:999px;letter-spacing:.08em}
.verdict.pass{background:var(--pass-bg);color:var(--pass)}
.verdict.fail{background:var(--fail-bg);color:var(--fail)}
.verdict.skip{background:var(--skip-bg);color:var(--skip)}
.meta{display:flex;flex-wrap:wrap;gap:6px 28px;margin:0 0 14px}
.meta div{display:flex;gap:8px;align-items:baseline}
.meta dt{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:#a5b4fc}
.meta dd{margin:0;font-weight:500}
.meta code{background:rgba(255,255,255,.12);padding:1px 6px;border-radius:4px}
.tiles{display:flex;gap:12px}
.tile{background:#fff;border-radius:8px;padding:8px 18px;min-width:120px;display:flex;align-items:baseline;gap:8px;border-left:5px solid}
.tile b{font-size:24px}
.tile span{color:var(--muted);font-size:13px}
.tile.pass{border-color:var(--pass)}.tile.pass b{color:var(--pass)}
.tile.fail{border-color:var(--fail)}.tile.fail b{color:var(--fail)}
.tile.skip{border-color:var(--skip)}.tile.skip b{color:var(--skip)}
.banner{padding:9px 0;font-size:13px}
.banner.masked{background:#e0e7ff;color:#1e3a8a;border-bottom:1px solid #c7d2fe}
.banner.revealed{background:#b91c1c;color:#fff;font-size:14px}
.banner.revealed .zh{color:#fee2e2}
.bar{position:sticky;top:0;z-index:5;background:#fff;border-bottom:1px solid var(--line);box-shadow:0 1px 3px rgba(0,0,0,.04)}
.bar .wrap{display:flex;align-items:center;gap:14px;height:42px}
.bar a{text-decoration:none;font-weight:600;font-size:13px}
.bar .sp{flex:1}
.bar button{font:inherit;font-size:12px;border:1px solid #d1d5db;background:#f9fafb;border-radius:6px;padding:3px 10px;cursor:pointer;color:var(--ink)}
.bar button:hover{background:#eef2ff}
.bar label{font-size:12px;color:var(--muted);display:flex;align-items:center;gap:4px}
body.only-failed details.case:not(.fail){display:none}
.sec-head,details.sec>summary{display:grid;grid-template-columns:minmax(260px,3fr) 130px 60px 52px 52px 52px minmax(120px,1.2fr);gap:8px;align-items:center;padding:8px 14px}
.sec-head{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
details.sec{background:var(--card);border:1px solid var(--line);border-radius:8px;margin-bottom:6px}
details.sec.has-fail{border-left:4px solid var(--fail)}
details.sec>summary{cursor:pointer;list-style:none}
details.sec>summary::-webkit-details-marker{display:none}
details.sec>summary .sname::before{content:"\25B8";display:inline-block;width:16px;color:var(--muted);transition:transform .15s}
details.sec[open]>summary .sname::before{transform:rotate(90deg)}
.n{text-align:right;font-variant-numeric:tabular-nums}
.n.pass{color:var(--pass)}.n.fail{color:var(--fail)}.n.skip{color:var(--skip)}
.meter{display:flex;height:8px;border-radius:4px;overflow:hidden;background:#eef0f3}
.meter i{display:block;height:100%}
.meter i.pass{background:#22c55e}.meter i.fail{background:#ef4444}.meter i.skip{background:#f59e0b}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;font-weight:600;color:#374151;background:#f9fafb;border-bottom:1px solid var(--line);padding:6px 10px;font-size:12px}
td{border-bottom:1px solid #f0f1f3;padding:5px 10px;vertical-align:top}
table.reqs{border-top:1px solid var(--line);table-layout:fixed}
col.c-id{width:76px}col.c-how{width:70px}col.c-cases{width:44%}col.c-verdict{width:104px}
table.reqs td.rid{white-space:nowrap;font-weight:600}
table.reqs td.how{color:var(--muted);font-size:12px}
table.reqs tr.extra td{background:#fffbeb}
.badge{display:inline-block;font-size:11px;font-weight:700;letter-spacing:.05em;padding:1px 8px;border-radius:4px;white-space:nowrap}
.badge.pass{background:var(--pass-bg);color:var(--pass)}
.badge.fail{background:var(--fail-bg);color:var(--fail)}
.badge.skip{background:var(--skip-bg);color:var(--skip)}
.badge.none{background:#f3f4f6;color:#9ca3af;font-weight:500}
.cchip{display:inline-block;font-family:ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:11.5px;padding:0 6px;margin:1px 0;border-radius:4px;text-decoration:none;border:1px solid}
.cchip.pass{color:var(--pass);border-color:#86efac;background:#f0fdf4}
.cchip.fail{color:var(--fail);border-color:#fca5a5;background:#fef2f2}
.cchip.skip{color:var(--skip);border-color:#fcd34d;background:#fffbeb}
details.case{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--pass);border-radius:8px;margin-bottom:8px;box-shadow:0 1px 2px rgba(0,0,0,.03)}
details.case.fail{border-left-color:var(--fail)}
details.case.skip{border-left-color:#f59e0b}
details.case>summary{display:flex;align-items:center;gap:12px;padding:10px 14px;cursor:pointer;list-style:none;flex-wrap:wrap}
details.case>summary::-webkit-details-marker{display:none}
details.case>summary::before{content:"\25B8";color:var(--muted);transition:transform .15s}
details.case[open]>summary::before{transform:rotate(90deg)}
details.case[open]>summary{border-bottom:1px solid var(--line)}
.cid{font-weight:700;font-size:13px}
.ctitle{flex:1;min-width:200px}
.creqs{display:flex;gap:4px;flex-wrap:wrap;justify-content:flex-end;max-width:46%}
.rchip{font-size:11px;background:#eef2ff;color:#3730a3;padding:0 6px;border-radius:4px;text-decoration:none;font-family:ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace}
.cdur{color:var(--muted);font-size:12px;font-variant-numeric:tabular-nums;min-width:60px;text-align:right}
.cbody{padding:6px 18px 18px}
.cmeta{color:var(--muted);font-size:12px;margin:6px 0}
.skipped{background:var(--skip-bg);color:#78350f;padding:8px 12px;border-radius:6px}
.failures{background:var(--fail-bg);border:1px solid #fecaca;border-radius:6px;padding:4px 14px;margin:10px 0}
.failures h4{color:var(--fail);margin:8px 0 4px}
.failures ul{margin:4px 0 8px;padding-left:18px;color:#7f1d1d}
table.steps td.num,table.steps th.num{text-align:right;font-variant-numeric:tabular-nums;color:var(--muted)}
table.steps tr.mismatch td{background:#fef2f2}
table.steps tr.mismatch td.got{color:var(--fail);font-weight:700}
span.ok{color:var(--pass);font-weight:700}span.no{color:var(--fail);font-weight:700}
.viols{display:grid;gap:8px}
.viol{border:1px solid #fca5a5;background:#fff5f5;border-radius:6px;padding:10px 14px}
.viol.expected{border-color:#fcd34d;background:#fffbeb}
.vh{display:flex;gap:10px;align-items:center}
.vh .req{font-weight:700;color:var(--fail);font-size:14px}
.viol.expected .vh .req{color:var(--skip)}
.vh .rule{background:#fff;border:1px solid var(--line);padding:0 6px;border-radius:4px;font-size:12px}
.xtag{font-size:11px;background:var(--skip-bg);color:var(--skip);padding:0 6px;border-radius:4px}
.vmsg{margin:6px 0;font-weight:500}
.vkv{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:4px 18px;margin:6px 0}
.vkv div{display:flex;gap:8px}
.vkv div:first-child{grid-column:span 2}
.vkv dt{color:var(--muted);font-size:12px;min-width:64px}
.vkv dd{margin:0;font-family:ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px;word-break:break-all}
.vkv dd.exp{color:var(--pass)}.vkv dd.fnd{color:var(--fail);font-weight:700}
.goto{font-size:12px;font-weight:600}
.ladder{border:1px solid var(--line);border-radius:8px;overflow:hidden}
.ladder .lhead{display:grid;grid-template-columns:82px 1fr;background:#f9fafb;border-bottom:1px solid var(--line);font-size:12px;font-weight:700;color:#374151}
.lanes{display:flex;justify-content:space-between;padding:6px 6px}
.ladder ol{list-style:none;margin:0;padding:0}
.lr{display:grid;grid-template-columns:82px 1fr;align-items:stretch}
.lt{font-size:11px;color:var(--muted);text-align:right;padding:8px 8px 0 0;font-variant-numeric:tabular-nums;white-space:nowrap}
.lane{margin:0 14px;border-left:3px solid #cbd5e1;border-right:3px solid #cbd5e1;padding:2px 0;min-width:0}
.lr:target .lane,.lr.flash .lane{background:#fef9c3}
details.msg>summary{list-style:none;cursor:pointer;padding:4px 10px 6px}
details.msg>summary::-webkit-details-marker{display:none}
.lbl{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:baseline;justify-content:center;font-size:12.5px}
.lr.out .lbl{justify-content:center}
.mti{font-weight:700;font-size:13px}
.lr.in .mti{color:var(--in)}.lr.out .mti{color:var(--out)}
.mti.undec{color:var(--fail)}
.kv{color:#4b5563;font-size:12px}
.amt{font-weight:600}
.rc{font-weight:700;font-size:12px;padding:0 6px;border-radius:4px}
.rc.ok{background:var(--pass-bg);color:var(--pass)}.rc.no{background:var(--fail-bg);color:var(--fail)}
.arr{display:block;position:relative;height:0;border-top:2px solid;margin:6px 8px 2px}
.lr.in .arr{border-color:var(--in);color:var(--in)}
.lr.out .arr{border-color:var(--out);color:var(--out)}
.arr::after{content:"";position:absolute;top:-7px;border:6px solid transparent}
.lr.in .arr::after{right:-4px;border-left:10px solid currentColor;border-right:0}
.lr.out .arr::after{left:-4px;border-right:10px solid currentColor;border-left:0}
details.msg>summary:hover .arr{border-top-width:3px}
.lr.bad .lane{background:#fff1f2}
.lr.bad .arr{border-color:var(--fail);color:var(--fail)}
.vbadge{font-size:11px;font-weight:700;background:var(--fail);color:#fff;padding:1px 7px;border-radius:4px;text-decoration:none}
.fv{margin:4px 10px 10px;padding:10px 12px;background:#fafbfc;border:1px solid var(--line);border-radius:6px}
.fmeta{display:flex;flex-wrap:wrap;gap:2px 20px;margin:0 0 8px;font-size:12px}
.fmeta div{display:flex;gap:6px}.fmeta dt{color:var(--muted)}.fmeta dd{margin:0}
table.fields td{padding:3px 8px;font-size:12px}
table.fields td.fid{white-space:nowrap;font-weight:600;width:56px}
table.fields td.val{word-break:break-all;max-width:320px}
table.fields td.raw{word-break:break-all;color:#6b7280;font-size:11.5px;max-width:340px}
table.fields tr.sub td{background:#fcfcfd}
table.fields tr.sub td.fid{padding-left:22px;font-weight:400;color:var(--muted)}
table.fields tr.hit td{background:#fee2e2}
table.fields tr.hit td.val{color:var(--fail);font-weight:700}
.derr{color:var(--fail);font-weight:600}
.hexlbl{font-size:11px;color:var(--muted);margin-top:8px;text-transform:uppercase;letter-spacing:.05em}
pre.hex{margin:4px 0 0;font-size:11.5px;line-height:1.45;background:#fff;border:1px solid var(--line);border-radius:4px;padding:6px 10px;overflow-x:auto;color:#374151}
pre.hex .off{color:#9ca3af}
.evt{font-size:12px;color:#4b5563;padding:3px 10px;text-align:center}
.evt.h-side{text-align:right}
.evt.t-side{text-align:left}
.pill{display:inline-block;font-size:10.5px;font-weight:700;text-transform:uppercase;letter-spacing:.05em;padding:0 6px;border-radius:3px;background:#e5e7eb;color:#374151}
.pill.conn{background:#e0f2fe;color:#075985}
.pill.bad{background:var(--fail);color:#fff}
.pill.beh{background:#fde68a;color:#78350f}
.pill.jr{background:#f3f4f6;color:#6b7280}
.pill.slip{background:#ede9fe;color:#5b21b6}
.lr.jr .evt{color:#9ca3af;font-size:11.5px}
.badhex summary{cursor:pointer;display:inline;font-size:11px;color:var(--accent)}
.slips{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
figure.slip{margin:0;background:#fffef8;border:1px solid #e7e3d4;box-shadow:0 1px 4px rgba(0,0,0,.08);padding:10px 14px 14px;border-radius:2px}
figure.slip figcaption{font-size:11px;color:var(--muted);margin-bottom:4px}
figure.slip pre{margin:0;font-size:12px;line-height:1.4;font-family:"WenQuanYi Micro Hei Mono","Noto Sans Mono CJK SC",ui-monospace,Menlo,Consolas,monospace}
figure.slip:target{outline:3px solid #facc15}
.failed-list{background:#fff;border:1px solid #fecaca;border-left:4px solid var(--fail);border-radius:6px;padding:8px 12px;margin:0 0 10px;font-size:13px}
.failed-list b{color:var(--fail);margin-right:6px}
.foot{color:var(--muted);font-size:12px;padding:24px;text-align:center}
@media print{.bar{display:none}body{background:#fff}details.case,details.sec{break-inside:avoid-page}}
"##;

const JS: &str = r##"
(function(){
  function dec(s){try{return decodeURIComponent(s);}catch(err){return s;}}
  function openTo(el){for(var e=el;e;e=e.parentElement){if(e.tagName==='DETAILS'){e.open=true;}}}
  function show(id){
    var el=document.getElementById(id);
    if(!el){return;}
    openTo(el);
    el.scrollIntoView({block:'center'});
    el.classList.add('flash');
    setTimeout(function(){el.classList.remove('flash');},1600);
  }
  document.addEventListener('click',function(ev){
    var a=ev.target.closest?ev.target.closest('a[href^="#"]'):null;
    if(!a){return;}
    var id=dec(a.getAttribute('href').slice(1));
    if(document.getElementById(id)){ev.preventDefault();history.replaceState(null,'','#'+id);show(id);}
  });
  if(location.hash.length>1){show(dec(location.hash.slice(1)));}
  var buttons=document.querySelectorAll('[data-act]');
  for(var i=0;i<buttons.length;i++){
    buttons[i].addEventListener('click',function(){
      var act=this.getAttribute('data-act');
      var cases=document.querySelectorAll('details.case');
      for(var j=0;j<cases.length;j++){
        var d=cases[j];
        d.open=act==='open'?true:act==='close'?false:d.classList.contains('fail');
      }
    });
  }
  var only=document.getElementById('only-failed');
  if(only){only.addEventListener('change',function(){document.body.classList.toggle('only-failed',only.checked);});}
  window.addEventListener('beforeprint',function(){
    var all=document.querySelectorAll('details');
    for(var k=0;k<all.length;k++){all[k].open=true;}
  });
  document.documentElement.classList.add('js');
})();
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            e("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(e("消费 / purchase"), "消费 / purchase");
    }

    #[test]
    fn an_empty_run_still_renders_a_page() {
        let opts = HtmlOptions {
            reveal: false,
            run_id: "r".into(),
            title: "t".into(),
        };
        let html = render_html(&[], &[], &opts);
        assert!(html.contains("NO RESULT") && html.ends_with("</html>\n"));
        assert_eq!(html.matches("<details class=\"sec").count(), 10);
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        // 2026-12-02 07:31:24 UTC
        assert_eq!(utc(1_796_196_684_000_000), "2026-12-02 07:31:24 UTC");
        assert_eq!(utc(951_782_400_000_000), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn sections_order_chapters_then_appendices() {
        assert_eq!(section_of("6.3.2"), "6");
        assert_eq!(section_of("A3"), "A");
        assert_eq!(section_of("A1.2"), "A");
        let mut keys = vec!["A", "12", "3", "10", "9"];
        keys.sort_by_key(|k| section_rank(k));
        assert_eq!(keys, ["3", "9", "10", "12", "A"]);
    }

    fn frame_record(seq: u64, hex: &str, dir: Direction) -> Record {
        let codec = crate::iso8583::cup_codec();
        let mut r = Record::frame(1, dir, &hex::decode(hex).unwrap(), &codec);
        r.seq = seq;
        r.ts_us = 1_000_000 + seq * 1500;
        r
    }

    const SIGN_IN: &str = "003C600003000060310031000008000020000000C00012000001313233343536373838393831313030343831323030303100110000000100400003303120";

    #[test]
    fn the_scrubber_masks_values_seen_in_frames_and_nothing_when_revealing() {
        let codec = crate::iso8583::cup_codec();
        let mut r = frame_record(1, SIGN_IN, Direction::In);
        r.decoded = Some(serde_json::json!({"mti": "0200", "fields": {
            "2": "6225881234567890", "35": "6225881234567890=25122011234567890",
            "52": "4AF9E141A5EE0E3B", "4": "000000000100"}}));
        let recs = vec![&r];
        let s = Scrubber::new(&recs, &codec, false);
        assert_eq!(
            s.apply("card 6225881234567890, pin 4AF9E141A5EE0E3B, amount 000000000100"),
            "card 622588******7890, pin ****************, amount 000000000100"
        );
        assert_eq!(
            s.apply("6225881234567890D25122011234567890"),
            "622588******7890D*****************"
        );
        let s = Scrubber::new(&recs, &codec, true);
        assert_eq!(s.apply("6225881234567890"), "6225881234567890");
    }

    /// The ladder of fixed records, as a case block embeds it.
    fn render_ladder(records: &[Record], violations: &[Violation], reveal: bool) -> String {
        let codec = crate::iso8583::cup_codec();
        let recs: Vec<&Record> = records.iter().collect();
        let scrub = Scrubber::new(&recs, &codec, reveal);
        let ctx = Ctx {
            codec: &codec,
            reveal,
            scrub: &scrub,
            vprefix: "v",
        };
        let flagged = flag_frames(&recs, violations);
        let mut out = String::new();
        ladder(&mut out, &recs, &flagged, violations, &ctx);
        out
    }

    fn fixed_records() -> Vec<Record> {
        let codec = crate::iso8583::cup_codec();
        let bytes = |hex: &str| hex::decode(hex.trim()).unwrap();
        let request = bytes(include_str!("../../fixtures/frames/0200-purchase.hex"));
        let response = bytes(include_str!(
            "../../fixtures/frames/0210-purchase-response.hex"
        ));
        let mut records = vec![
            Record::event(
                1,
                RecordKind::Connect,
                "connection from 127.0.0.1:40000".into(),
            ),
            Record::frame(1, Direction::In, &request, &codec),
            Record::journal(
                1,
                serde_json::json!({"event": "authorisation", "tid": "12345678", "stan": "000002",
                    "txn": "purchase", "code": "00", "reason": "approved <ok>"}),
            ),
            Record::frame(1, Direction::Out, &response, &codec),
            Record::receipt("POS SALES SLIP\nCARD 6225881234567890\n", 2),
            // The request cut short: it does not decode, and its bytes still hold the PAN.
            Record::bad_frame(1, &request[..60], "length 116 but 58 bytes".into()),
            Record::event(1, RecordKind::Disconnect, "peer closed".into()),
        ];
        for (i, r) in records.iter_mut().enumerate() {
            r.seq = 100 + i as u64;
            r.ts_us = 1_796_196_684_000_000 + i as u64 * 2_250;
            r.case = Some("fixed".into());
        }
        records
    }

    #[test]
    fn a_very_long_ladder_keeps_its_ends_and_every_flagged_record() {
        let one = fixed_records().remove(0);
        let recs: Vec<Record> = (1..=600u64)
            .map(|seq| Record { seq, ..one.clone() })
            .collect();
        let refs: Vec<&Record> = recs.iter().collect();
        let mut flagged = HashMap::new();
        flagged.insert(300u64, vec![0usize]);
        let v = visible(&refs, &flagged);
        assert_eq!(v.iter().filter(|x| **x).count(), 2 * LADDER_ENDS + 1);
        assert!(v[0] && v[599] && v[299] && !v[298] && !v[300]);
        let short: Vec<&Record> = refs[..LADDER_MAX].to_vec();
        assert!(visible(&short, &HashMap::new()).iter().all(|x| *x));
    }

    #[test]
    fn ladder_snapshot() {
        let records = fixed_records();
        let v = Violation {
            rule: "fields.amount",
            requirement: "10.3.4",
            mti: Some("0200".into()),
            stan: Some("000002".into()),
            field: Some("4".into()),
            expected: Some("000000000200".into()),
            found: Some("000000000100".into()),
            message: "amount differs".into(),
            seq: Some(101),
            raw: None,
            case: None,
            expected_by_case: false,
        };
        let html = render_ladder(&records, &[v], false);
        for clear in ["6225881234567890", "4AF9E141A5EE0E3B"] {
            assert!(!html.contains(clear), "{clear} in the masked ladder");
        }
        assert!(html.contains("<li class=\"lr in bad\" id=\"f-101\">"));
        assert!(html.contains("reason approved &lt;ok&gt;"));
        insta::assert_snapshot!(html);
        let clear = render_ladder(&records, &[], true);
        assert!(
            clear.contains("62 25 88 12 34 56 78 90"),
            "revealed frame bytes"
        );
    }

    #[test]
    fn a_violation_finds_its_frame_by_transcript_or_case_numbering() {
        let mut recs: Vec<Record> = vec![
            Record::event(1, RecordKind::Connect, "c".into()),
            frame_record(0, SIGN_IN, Direction::In),
        ];
        for (i, r) in recs.iter_mut().enumerate() {
            r.seq = 40 + i as u64;
        }
        let refs: Vec<&Record> = recs.iter().collect();
        let mut v = Violation {
            rule: "r",
            requirement: "6.3.1.2",
            mti: Some("0800".into()),
            stan: Some("000001".into()),
            field: None,
            expected: None,
            found: None,
            message: String::new(),
            seq: Some(41),
            raw: None,
            case: None,
            expected_by_case: false,
        };
        assert_eq!(resolve_frame(&v, &refs).map(|r| r.seq), Some(41));
        v.seq = Some(2);
        assert_eq!(resolve_frame(&v, &refs).map(|r| r.seq), Some(41));
        v.seq = Some(99);
        assert!(resolve_frame(&v, &refs).is_none());
    }
}
