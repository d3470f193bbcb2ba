//! Runs one case's steps against any [`Terminal`] driver. Everything a step needs to know about
//! earlier transactions ("void the last purchase", `${orig.37}`) comes from what the centre
//! recorded, never from the terminal's internals, so the same suite drives the reference
//! terminal, a serial-automated terminal or an operator.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::model::Step;
use super::runner::StepResult;
use super::vars::{StepMessages, Vars};
use crate::fixtures::Fixtures;
use crate::host::centre::Centre;
use crate::iso8583::Codec;
use crate::terminal::{CardInput, Outcome, Terminal, TerminalError};
use crate::transcript::{Record, TranscriptWriter};

/// The operator cannot answer any more (the console closed): the run cannot go on, and no
/// step may pass for want of an answer.
#[derive(Debug, thiserror::Error)]
#[error("no operator answer: the console closed")]
pub struct OperatorGone;

/// Somebody at the bench who can do and observe what the harness cannot.
pub trait Operator: Send {
    /// Show the instruction; return the operator's answer (`yes`, `no`, a code, a text).
    fn ask(&mut self, zh: &str, en: &str) -> Result<String, OperatorGone>;
}

/// An operator at this terminal's keyboard (stdin/stdout).
pub struct ConsoleOperator;

impl Operator for ConsoleOperator {
    fn ask(&mut self, zh: &str, en: &str) -> Result<String, OperatorGone> {
        use std::io::{BufRead, Write};
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "\n>>> OPERATOR: {zh}\n>>>           {en}");
        loop {
            let _ = write!(out, ">>> answer (yes/no or text): ");
            let _ = out.flush();
            let mut line = String::new();
            match std::io::stdin().lock().read_line(&mut line) {
                Ok(0) | Err(_) => return Err(OperatorGone),
                Ok(_) if line.trim().is_empty() => continue,
                Ok(_) => return Ok(line.trim().to_string()),
            }
        }
    }
}

/// An approved transaction seen on the wire (the runner's own batch log).
#[derive(Debug, Clone)]
struct Done {
    txn: String,
    stan: String,
    rrn: String,
    auth: String,
    /// MMDD from field 13 of the answer.
    date: String,
    amount: u64,
    voided: bool,
}

/// What the steps share.
pub struct Ctx<'a, 'o> {
    pub fixtures: &'a Fixtures,
    /// The case's transcript, written by the centre as frames cross the wire.
    pub log: &'a TranscriptWriter,
    /// The centre, for `host:` steps (absent when the centre is not ours to steer).
    pub centre: Option<Arc<Mutex<Centre>>>,
    pub supervisor: &'a str,
    pub codec: &'a Codec<'static>,
    pub operator: Option<&'o mut dyn Operator>,
    /// What the centre recorded before this case on the same terminal (a chain's earlier
    /// cases, a real terminal's run so far): "last"/"first" see that batch too.
    pub prior: Vec<Record>,
    /// The case's PBOC card, when it has card steps (`suite::card_steps`).
    pub card: Option<super::card_steps::CardBench>,
}

/// The state of a case in progress.
#[derive(Default)]
struct State {
    vars: Vars,
    done: Vec<Done>,
    /// The previous action's messages, slips, display and wall time (for `expect_*`).
    last_msgs: StepMessages,
    last_slips: Vec<String>,
    last_display: String,
    last_ms: f64,
}

fn card(fixtures: &Fixtures, name: &str, pin: Option<&String>) -> Result<CardInput, String> {
    let c = fixtures
        .card(name)
        .ok_or_else(|| format!("no card {name:?} in the cards fixture"))?;
    Ok(CardInput {
        pan: c.pan.clone(),
        track2: c.track2.clone(),
        expiry: c.expiry.clone(),
        pin: Some(pin.cloned().unwrap_or_else(|| c.pin.expose().to_string())),
    })
}

fn code_of(r: Result<Outcome, TerminalError>) -> String {
    match r {
        Ok(o) => o.code.unwrap_or_else(|| "no answer".into()),
        Err(e) => refusal(&e),
    }
}

/// How a terminal error reads in a step result: the terminal's own refusals match `refused`;
/// an internal or link fault (a dead automation link, an operator who is gone) is an `error`,
/// which no expectation accepts, so it can never pass as a conformant refusal.
fn refusal(e: &TerminalError) -> String {
    match e {
        TerminalError::Internal(_) => format!("error ({e})"),
        _ => format!("refused ({e})"),
    }
}

/// What an action step returned: (name, got, expected, save_as).
type Action = (&'static str, String, String, Option<String>);

impl State {
    /// Book the step's approved transaction and mark voided originals.
    fn book(&mut self, msgs: &StepMessages, approved: bool) {
        // The terminal's verdict counts: a 00 with a bad MAC is a failed transaction.
        if !approved {
            return;
        }
        let (Some(req), Some(resp)) = msgs.main() else {
            return;
        };
        if resp.fields.get("39").map(String::as_str) != Some("00")
            || !matches!(
                req.txn.as_str(),
                "purchase"
                    | "purchase_void"
                    | "refund"
                    | "pre_auth"
                    | "pre_auth_void"
                    | "completion_request"
                    | "completion_void"
                    | "completion_notice"
            )
        {
            return;
        }
        let f = |k: &str| {
            resp.fields
                .get(k)
                .or_else(|| req.fields.get(k))
                .cloned()
                .unwrap_or_default()
        };
        if matches!(
            req.txn.as_str(),
            "purchase_void" | "completion_void" | "pre_auth_void"
        ) {
            // 61.2 names the original by trace number.
            let orig = req.fields.get("61.2").cloned().unwrap_or_default();
            if let Some(d) = self.done.iter_mut().rev().find(|d| d.stan == orig) {
                d.voided = true;
            }
        }
        self.done.push(Done {
            txn: req.txn.clone(),
            stan: req.stan.clone().unwrap_or_default(),
            rrn: f("37"),
            auth: f("38"),
            date: f("13"),
            amount: f("4").parse().unwrap_or(0),
            voided: false,
        });
    }

    /// Book the approved transactions of earlier records, as `book` does step by step; a
    /// settlement closes the batch.
    fn seed(&mut self, msgs: &StepMessages) {
        for (i, req) in msgs.messages.iter().enumerate() {
            if req.response || req.reversal {
                continue;
            }
            let Some(resp) = msgs.messages[i + 1..]
                .iter()
                .find(|m| m.response && m.stan == req.stan && m.txn == req.txn)
            else {
                continue;
            };
            if req.txn == "settlement" {
                self.done.clear();
                continue;
            }
            let pair = StepMessages {
                messages: vec![req.clone(), resp.clone()],
            };
            let approved = resp.fields.get("39").map(String::as_str) == Some("00");
            self.book(&pair, approved);
        }
    }

    fn last_of(&self, txn: &str) -> Option<&Done> {
        self.done.iter().rev().find(|d| d.txn == txn && !d.voided)
    }
}

/// Run the steps; returns the step results and the failure lines.
pub async fn run_steps<T: Terminal>(
    t: &mut T,
    steps: &[Step],
    ctx: &mut Ctx<'_, '_>,
) -> (Vec<StepResult>, Vec<String>) {
    let mut st = State::default();
    st.seed(&StepMessages::from_records(&ctx.prior, ctx.codec));
    let mut results = Vec::new();
    let mut failures = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        let started = Instant::now();
        let mark = ctx.log.last_seq();
        let outcome = match step {
            // Expectations on the previous action.
            Step::ExpectMessage(e) => Err(("expect_message", check_msgs(e, &st, true))),
            Step::ExpectNoMessage(e) => Err(("expect_no_message", check_msgs(e, &st, false))),
            Step::ExpectDisplay { contains } => Err((
                "expect_display",
                match st.vars.substitute(contains) {
                    Ok(c) if st.last_display.contains(c.as_str()) => Ok(c),
                    Ok(c) => Err(format!(
                        "display {:?} does not contain {c:?}",
                        st.last_display
                    )),
                    Err(e) => Err(e.to_string()),
                },
            )),
            Step::ExpectReceipt {
                contains,
                absent,
                none,
            } => {
                let sub = |v: &Vec<String>| -> Result<Vec<String>, String> {
                    v.iter()
                        .map(|x| st.vars.substitute(x).map_err(|e| e.to_string()))
                        .collect()
                };
                Err((
                    "expect_receipt",
                    match (sub(contains), sub(absent)) {
                        (Ok(c), Ok(a)) => check_slips(&st.last_slips, &c, &a, *none),
                        (Err(e), _) | (_, Err(e)) => Err(e),
                    },
                ))
            }
            Step::ExpectTiming { min_ms, max_ms } => {
                let ms = st.last_ms;
                let ok =
                    min_ms.is_none_or(|m| ms >= m as f64) && max_ms.is_none_or(|m| ms <= m as f64);
                Err((
                    "expect_timing",
                    if ok {
                        Ok(format!("{ms:.0} ms"))
                    } else {
                        Err(format!(
                            "the previous step took {ms:.1} ms, expected {}{}",
                            min_ms.map(|m| format!(">= {m} ms ")).unwrap_or_default(),
                            max_ms.map(|m| format!("<= {m} ms")).unwrap_or_default()
                        ))
                    },
                ))
            }
            Step::Card(c) => Err(("card", super::card_steps::run(t, c, ctx).await)),
            Step::Wait { ms } => {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                Err(("wait", Ok(format!("{ms} ms"))))
            }
            Step::Host(b) => Err((
                "host",
                match &ctx.centre {
                    Some(c) => {
                        c.lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .behaviours
                            .push(b.clone());
                        Ok("behaviour added".into())
                    }
                    None => Err("this rig's centre cannot be steered".into()),
                },
            )),
            Step::Prompt { zh, en, expect } => Err((
                "prompt",
                match ctx.operator.as_deref_mut() {
                    Some(op) => match op.ask(zh, en) {
                        Ok(a) if a.eq_ignore_ascii_case(expect) => Ok(a),
                        Ok(a) => Err(format!("operator answered {a:?}, expected {expect:?}")),
                        Err(e) => Err(e.to_string()),
                    },
                    None => Err("no operator present".into()),
                },
            )),
            _ => Ok(action(t, step, ctx, &st).await),
        };
        match outcome {
            Err((what, res)) => {
                let (got, passed) = match res {
                    Ok(g) => (g, true),
                    Err(e) => {
                        failures.push(format!("step {n} {what}: {e}"));
                        (e, false)
                    }
                };
                results.push(StepResult {
                    n,
                    action: what.into(),
                    expected: String::new(),
                    got,
                    passed,
                    ms: started.elapsed().as_secs_f64() * 1000.0,
                });
            }
            Ok((what, got, want, save_as)) => {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                // Let the centre's last record land before reading the step's messages.
                tokio::task::yield_now().await;
                let records: Vec<Record> = ctx.log.records_since(mark);
                let msgs = StepMessages::from_records(&records, ctx.codec);
                st.book(&msgs, got == "00");
                match what {
                    // A settled batch is closed: "last"/"first" now mean the new batch.
                    "settle" if !got.starts_with("refused") => st.done.clear(),
                    // Stored offline: on the wire only at settlement; the terminal names it.
                    "offline" if got == "stored" => {
                        if let Some(v) = t.last_voucher() {
                            st.done.push(Done {
                                txn: "offline_settlement".into(),
                                stan: v,
                                rrn: String::new(),
                                auth: String::new(),
                                date: String::new(),
                                amount: 0,
                                voided: false,
                            });
                        }
                    }
                    _ => {}
                }
                if let Some(name) = &save_as {
                    st.vars.save(name, &msgs);
                }
                st.last_slips = t.take_printed();
                for slip in &st.last_slips {
                    ctx.log.write(Record::receipt(slip, n));
                }
                st.last_display = t.read_display();
                st.last_msgs = msgs;
                st.last_ms = ms;
                // A refusal matches `refused`; its reason is kept for the failure text.
                let passed = got == want || got.starts_with(&format!("{want} ("));
                if !passed {
                    failures.push(format!("step {n} {what}: expected {want}, got {got}"));
                }
                results.push(StepResult {
                    n,
                    action: what.into(),
                    expected: want,
                    got,
                    passed,
                    ms,
                });
            }
        }
    }
    (results, failures)
}

fn check_msgs(e: &super::expect::MessageExpect, st: &State, want: bool) -> Result<String, String> {
    if want {
        e.check(&st.last_msgs, &st.vars)
            .map(|_| e.describe())
            .map_err(|v| v.join("; "))
    } else {
        match e.select(&st.last_msgs) {
            None => Ok(format!("no {}", e.describe())),
            Some(m) => Err(format!(
                "unexpected {} (trace {})",
                e.describe(),
                m.stan.as_deref().unwrap_or("-")
            )),
        }
    }
}

fn check_slips(
    slips: &[String],
    contains: &[String],
    absent: &[String],
    none: bool,
) -> Result<String, String> {
    if none {
        return if slips.is_empty() {
            Ok("nothing printed".into())
        } else {
            Err(format!("{} slip(s) printed, expected none", slips.len()))
        };
    }
    if slips.is_empty() {
        return Err("the previous step printed nothing".into());
    }
    let all = slips.join("\n");
    let missing: Vec<&String> = contains
        .iter()
        .filter(|c| !all.contains(c.as_str()))
        .collect();
    let present: Vec<&String> = absent.iter().filter(|c| all.contains(c.as_str())).collect();
    if missing.is_empty() && present.is_empty() {
        Ok(format!("{} slip(s) as expected", slips.len()))
    } else {
        Err(format!(
            "slip missing {missing:?}{}",
            if present.is_empty() {
                String::new()
            } else {
                format!(", slip shows {present:?} which must be absent")
            }
        ))
    }
}

/// Carry out one terminal action.
async fn action<T: Terminal>(t: &mut T, step: &Step, ctx: &Ctx<'_, '_>, st: &State) -> Action {
    let fx = ctx.fixtures;
    let sup = ctx.supervisor;
    let sub = |s: &str| st.vars.substitute(s).map_err(|e| e.to_string());
    macro_rules! with_card {
        ($name:expr, $c:ident, $pin:expr, $what:expr, $want:expr, $save:expr, $body:expr) => {
            match card(fx, $name, $pin) {
                Ok($c) => ($what, $body, $want.clone(), $save.clone()),
                Err(e) => ($what, e, $want.clone(), None),
            }
        };
    }
    let none: Option<String> = None;
    match step {
        Step::SignIn { expect } => (
            "sign_in",
            code_of(t.pos_sign_in().await),
            expect.clone(),
            None,
        ),
        Step::Purchase {
            card: c,
            amount,
            pin,
            expect,
            save_as,
        } => with_card!(
            c,
            ci,
            pin.as_ref(),
            "purchase",
            expect,
            save_as,
            code_of(t.purchase(&ci, *amount).await)
        ),
        Step::Balance { card: c, expect } => {
            with_card!(
                c,
                ci,
                None,
                "balance",
                expect,
                none,
                code_of(t.balance_inquiry(&ci).await)
            )
        }
        Step::VoidLast { card: c, expect } => {
            let voucher = st
                .last_of("purchase")
                .map(|d| d.stan.clone())
                .unwrap_or_default();
            with_card!(
                c,
                ci,
                None,
                "void_last",
                expect,
                none,
                code_of(t.void(&ci, &voucher, sup).await)
            )
        }
        Step::Void {
            card: c,
            voucher,
            expect,
            save_as,
        } => match sub(voucher) {
            Ok(v) => with_card!(
                c,
                ci,
                None,
                "void",
                expect,
                save_as,
                code_of(t.void(&ci, &v, sup).await)
            ),
            Err(e) => ("void", e, expect.clone(), None),
        },
        Step::RefundFirst {
            card: c,
            amount,
            expect,
        } => {
            let (rrn, date) = st
                .done
                .first()
                .map(|d| (d.rrn.clone(), d.date.clone()))
                .unwrap_or_default();
            with_card!(
                c,
                ci,
                None,
                "refund_first",
                expect,
                none,
                code_of(t.refund(&ci, *amount, &rrn, &date, sup).await)
            )
        }
        Step::Refund {
            card: c,
            amount,
            rrn,
            date,
            expect,
            save_as,
        } => match (sub(rrn), sub(date)) {
            (Ok(r), Ok(d)) => with_card!(
                c,
                ci,
                None,
                "refund",
                expect,
                save_as,
                code_of(t.refund(&ci, *amount, &r, &d, sup).await)
            ),
            (Err(e), _) | (_, Err(e)) => ("refund", e, expect.clone(), None),
        },
        Step::Settle { expect } => {
            let got = match t.settle().await {
                Ok((a, b)) => format!("{a}{b}"),
                Err(e) => refusal(&e),
            };
            ("settle", got, expect.clone(), None)
        }
        Step::SignOff { expect } => (
            "sign_off",
            code_of(t.sign_off().await),
            expect.clone(),
            None,
        ),
        Step::Echo { expect } => ("echo", code_of(t.echo_test().await), expect.clone(), None),
        Step::PreAuth {
            card: c,
            amount,
            expect,
            save_as,
        } => with_card!(
            c,
            ci,
            None,
            "pre_auth",
            expect,
            save_as,
            code_of(t.pre_auth(&ci, *amount).await)
        ),
        Step::PreAuthVoidLast { card: c, expect } => match st.last_of("pre_auth").cloned() {
            Some(pa) => with_card!(
                c,
                ci,
                None,
                "pre_auth_void_last",
                expect,
                none,
                code_of(t.pre_auth_void(&ci, pa.amount, &pa.auth, &pa.date).await)
            ),
            None => (
                "pre_auth_void_last",
                "no pre-authorisation in the batch".into(),
                expect.clone(),
                None,
            ),
        },
        Step::PreAuthVoid {
            card: c,
            amount,
            auth_code,
            date,
            expect,
        } => match (sub(auth_code), sub(date)) {
            (Ok(a), Ok(d)) => with_card!(
                c,
                ci,
                None,
                "pre_auth_void",
                expect,
                none,
                code_of(t.pre_auth_void(&ci, *amount, &a, &d).await)
            ),
            (Err(e), _) | (_, Err(e)) => ("pre_auth_void", e, expect.clone(), None),
        },
        Step::CompletionLast {
            card: c,
            amount,
            expect,
        } => match st.last_of("pre_auth").cloned() {
            Some(pa) => with_card!(
                c,
                ci,
                None,
                "completion_last",
                expect,
                none,
                code_of(t.completion(&ci, *amount, &pa.auth, &pa.date).await)
            ),
            None => (
                "completion_last",
                "no pre-authorisation in the batch".into(),
                expect.clone(),
                None,
            ),
        },
        Step::Completion {
            card: c,
            amount,
            auth_code,
            date,
            expect,
            save_as,
        } => match (sub(auth_code), sub(date)) {
            (Ok(a), Ok(d)) => with_card!(
                c,
                ci,
                None,
                "completion",
                expect,
                save_as,
                code_of(t.completion(&ci, *amount, &a, &d).await)
            ),
            (Err(e), _) | (_, Err(e)) => ("completion", e, expect.clone(), None),
        },
        Step::CompletionVoidLast { card: c, expect } => {
            let voucher = st
                .last_of("completion_request")
                .map(|d| d.stan.clone())
                .unwrap_or_default();
            with_card!(
                c,
                ci,
                None,
                "completion_void_last",
                expect,
                none,
                code_of(t.completion_void(&ci, &voucher, sup).await)
            )
        }
        Step::CompletionVoid {
            card: c,
            voucher,
            expect,
        } => match sub(voucher) {
            Ok(v) => with_card!(
                c,
                ci,
                None,
                "completion_void",
                expect,
                none,
                code_of(t.completion_void(&ci, &v, sup).await)
            ),
            Err(e) => ("completion_void", e, expect.clone(), None),
        },
        Step::Offline {
            card: c,
            amount,
            auth_code,
            expect,
        } => match card(fx, c, None) {
            Ok(ci) => {
                let got = match t.offline_settlement(&ci, *amount, auth_code).await {
                    Ok(_) => "stored".to_string(),
                    Err(e) => refusal(&e),
                };
                ("offline", got, expect.clone(), None)
            }
            Err(e) => ("offline", e, expect.clone(), None),
        },
        Step::AdjustFirst {
            amount,
            tip,
            expect,
        } => {
            let voucher = st.done.first().map(|d| d.stan.clone()).unwrap_or_default();
            adjust(t, &voucher, (*amount, *tip), "adjust_first", expect).await
        }
        Step::Adjust {
            voucher,
            amount,
            tip,
            expect,
        } => match sub(voucher) {
            Ok(v) => adjust(t, &v, (*amount, *tip), "adjust", expect).await,
            Err(e) => ("adjust", e, expect.clone(), None),
        },
        Step::DownloadParams { expect } => (
            "download_params",
            code_of(t.download_parameters().await),
            expect.clone(),
            None,
        ),
        Step::UploadStatus { expect } => (
            "upload_status",
            code_of(t.upload_status().await),
            expect.clone(),
            None,
        ),
        Step::Reprint => {
            let got = if t.reprint().await.is_ok() {
                "printed"
            } else {
                "nothing to reprint"
            };
            ("reprint", got.into(), "printed".into(), None)
        }
        Step::Lock => {
            let got = match t.lock() {
                Ok(()) => "locked".to_string(),
                Err(e) => refusal(&e),
            };
            ("lock", got, "locked".into(), None)
        }
        Step::Unlock { password, expect } => {
            let got = match t.unlock(password) {
                Ok(()) => "unlocked".to_string(),
                Err(e) => refusal(&e),
            };
            ("unlock", got, expect.clone(), None)
        }
        Step::TestMode { on, expect } => {
            let got = match t.set_test_mode(*on) {
                Ok(()) => "ok".to_string(),
                Err(e) => refusal(&e),
            };
            ("test_mode", got, expect.clone(), None)
        }
        Step::PowerCycle => {
            let got = match t.power_on().await {
                Ok(_) => "restarted".to_string(),
                Err(e) => refusal(&e),
            };
            ("power_cycle", got, "restarted".into(), None)
        }
        Step::OperatorSignIn {
            code,
            password,
            expect,
        } => {
            let got = match t.operator_sign_in(code, password).await {
                Ok(_) => "00".to_string(),
                Err(e) => refusal(&e),
            };
            ("operator_sign_in", got, expect.clone(), None)
        }
        Step::SlipContains { text } => {
            let slip = t.last_receipt().unwrap_or_default();
            let got = if slip.contains(text.as_str()) {
                text.clone()
            } else {
                format!("a slip without {text:?}")
            };
            ("slip_contains", got, text.clone(), None)
        }
        // Handled by the caller.
        Step::ExpectMessage(_)
        | Step::ExpectNoMessage(_)
        | Step::ExpectDisplay { .. }
        | Step::ExpectReceipt { .. }
        | Step::ExpectTiming { .. }
        | Step::Wait { .. }
        | Step::Host(_)
        | Step::Card(_)
        | Step::Prompt { .. } => ("internal", "not an action".into(), "an action".into(), None),
    }
}

async fn adjust<T: Terminal>(
    t: &mut T,
    voucher: &str,
    (amount, tip): (u64, u64),
    what: &'static str,
    expect: &str,
) -> Action {
    let got = match t.adjust(voucher, amount, tip).await {
        Ok(_) => "stored".to_string(),
        Err(e) => refusal(&e),
    };
    (what, got, expect.to_string(), None)
}
