//! Runs suite cases against the embedded default — the reference terminal and the embedded
//! centre on an ephemeral loopback port — each case with a clean terminal and centre, then
//! judges each case's transcript with the always-on rules and writes the run's reports.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::model::{Case, Step, SuiteFile};
use crate::fixtures::Fixtures;
use crate::host::behaviour::Behaviours;
use crate::host::centre::{system_clock, system_random, Centre};
use crate::terminal::link::TcpLink;
use crate::terminal::sim::{CardInput, SimConfig, SimTerminal};
use crate::terminal::Terminal;
use crate::transcript::{Record, TranscriptWriter};

/// What one step asked for and what the terminal did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepResult {
    /// 1-based step number in the case.
    pub n: usize,
    /// The step's name (`purchase`, `settle`...).
    pub action: String,
    pub expected: String,
    pub got: String,
    pub passed: bool,
    /// Wall time of the step in milliseconds.
    pub ms: f64,
}

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub suite: String,
    pub id: String,
    pub requirements: Vec<String>,
    /// `zh / en`.
    pub title: String,
    /// Steps as run (empty for a skipped case).
    pub steps: Vec<StepResult>,
    /// Every rule violation in the case's transcript, expected ones included.
    pub violations: Vec<crate::checks::Violation>,
    /// Rule ids the case expects to fire (negative cases).
    pub expected_rules: Vec<String>,
    /// Why the case failed, one line each (step mismatches, unexpected violations).
    pub failures: Vec<String>,
    pub skipped: Option<String>,
    pub duration: Duration,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.skipped.is_none() && self.failures.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Suite(#[from] crate::yaml::YamlError),
    #[error("{0}")]
    Setup(String),
}

/// Every `*.yaml` suite file under the given paths (files or directories), sorted.
pub fn suite_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, RunError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p)
                .map_err(|e| RunError::Setup(format!("{}: {e}", p.display())))?;
            let mut files: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            files.sort();
            out.extend(files);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(RunError::Setup(format!(
                "{}: no such suite file or directory",
                p.display()
            )));
        }
    }
    Ok(out)
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

/// Run one case; its records go to `writer` tagged with the case id.
async fn run_case(
    suite: &str,
    case: &Case,
    fixtures: &Fixtures,
    writer: &TranscriptWriter,
) -> CaseResult {
    let start = Instant::now();
    let mut result = CaseResult {
        suite: suite.to_string(),
        id: case.id.clone(),
        requirements: case.requirements.clone(),
        title: format!("{} / {}", case.title.zh, case.title.en),
        steps: Vec::new(),
        violations: Vec::new(),
        expected_rules: case.expect_violations.clone(),
        failures: Vec::new(),
        skipped: None,
        duration: Duration::ZERO,
    };
    if let Some(need) = case.needs.iter().find(|n| n.as_str() != "sim") {
        result.skipped = Some(format!(
            "needs {need:?}, which the embedded default rig does not provide"
        ));
        return result;
    }
    let fail = |r: &mut CaseResult, m: String| r.failures.push(m);
    let centre = match Centre::new(
        crate::profile::Profile::default(),
        fixtures.clone(),
        Behaviours::default(),
        Box::new(system_clock),
        Box::new(system_random),
    ) {
        Ok(c) => c,
        Err(e) => {
            fail(&mut result, format!("centre: {e}"));
            return result;
        }
    };
    let case_log = Arc::new(TranscriptWriter::in_memory());
    let host = match crate::host::server::start(
        "127.0.0.1:0"
            .parse()
            .unwrap_or_else(|_| std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        centre,
        case_log.clone(),
        Default::default(),
    )
    .await
    {
        Ok(h) => h,
        Err(e) => {
            fail(
                &mut result,
                format!("cannot start the embedded centre: {e}"),
            );
            return result;
        }
    };
    let kek = match fixtures.terminal("12345678").map(|t| t.active_kek()) {
        Some(Ok(k)) => k,
        _ => {
            fail(
                &mut result,
                "terminal 12345678 missing from the fixtures".into(),
            );
            return result;
        }
    };
    let mut cfg = SimConfig::default_terminal(kek);
    cfg.timeout = Duration::from_millis(800);
    let mut t = SimTerminal::new(cfg, TcpLink::new(host.addr, false));
    for (i, step) in case.steps.iter().enumerate() {
        let n = i + 1;
        let step_start = Instant::now();
        let printed_before = t.printed.len();
        let code_of = |r: Result<crate::terminal::Outcome, crate::terminal::TerminalError>| match r
        {
            Ok(o) => o.code.unwrap_or_else(|| "no answer".into()),
            Err(e) => format!("refused ({e})"),
        };
        let (what, got, want) = match step {
            Step::SignIn { expect } => (
                "sign_in",
                code_of(Terminal::pos_sign_in(&mut t).await),
                expect.clone(),
            ),
            Step::Purchase {
                card: c,
                amount,
                pin,
                expect,
            } => match card(fixtures, c, pin.as_ref()) {
                Ok(ci) => (
                    "purchase",
                    code_of(Terminal::purchase(&mut t, &ci, *amount).await),
                    expect.clone(),
                ),
                Err(e) => ("purchase", e, expect.clone()),
            },
            Step::Balance { card: c, expect } => match card(fixtures, c, None) {
                Ok(ci) => (
                    "balance",
                    code_of(Terminal::balance_inquiry(&mut t, &ci).await),
                    expect.clone(),
                ),
                Err(e) => ("balance", e, expect.clone()),
            },
            Step::VoidLast { card: c, expect } => {
                let voucher = t
                    .log
                    .iter()
                    .rev()
                    .find(|e| e.kind == crate::iso8583::txn::TxnKind::Purchase && !e.voided)
                    .map(|e| e.stan.clone())
                    .unwrap_or_default();
                match card(fixtures, c, None) {
                    Ok(ci) => (
                        "void_last",
                        code_of(t.void(&ci, &voucher).await),
                        expect.clone(),
                    ),
                    Err(e) => ("void_last", e, expect.clone()),
                }
            }
            Step::RefundFirst {
                card: c,
                amount,
                expect,
            } => {
                let (rrn, date) = t
                    .log
                    .first()
                    .map(|e| (e.rrn.clone(), e.date.clone()))
                    .unwrap_or_default();
                match card(fixtures, c, None) {
                    Ok(ci) => (
                        "refund_first",
                        code_of(t.refund(&ci, *amount, &rrn, &date).await),
                        expect.clone(),
                    ),
                    Err(e) => ("refund_first", e, expect.clone()),
                }
            }
            Step::Settle { expect } => {
                let got = match Terminal::settle(&mut t).await {
                    Ok((a, b)) => format!("{a}{b}"),
                    Err(e) => format!("refused ({e})"),
                };
                ("settle", got, expect.clone())
            }
            Step::SignOff { expect } => (
                "sign_off",
                code_of(Terminal::sign_off(&mut t).await),
                expect.clone(),
            ),
            Step::Echo { expect } => (
                "echo",
                code_of(Terminal::echo_test(&mut t).await),
                expect.clone(),
            ),
            Step::PreAuth {
                card: c,
                amount,
                expect,
            } => match card(fixtures, c, None) {
                Ok(ci) => (
                    "pre_auth",
                    code_of(Terminal::pre_auth(&mut t, &ci, *amount).await),
                    expect.clone(),
                ),
                Err(e) => ("pre_auth", e, expect.clone()),
            },
            Step::PreAuthVoidLast { card: c, expect }
            | Step::CompletionLast {
                card: c, expect, ..
            } => {
                let amount_step = if let Step::CompletionLast { amount, .. } = step {
                    Some(*amount)
                } else {
                    None
                };
                let last = t
                    .log
                    .iter()
                    .rev()
                    .find(|e| e.kind == crate::iso8583::txn::TxnKind::PreAuth)
                    .cloned();
                match (card(fixtures, c, None), last) {
                    (Ok(ci), Some(pa)) => {
                        let code = pa.auth_code.clone().unwrap_or_default();
                        match amount_step {
                            Some(a) => (
                                "completion_last",
                                code_of(
                                    Terminal::completion(&mut t, &ci, a, &code, &pa.date).await,
                                ),
                                expect.clone(),
                            ),
                            None => (
                                "pre_auth_void_last",
                                code_of(
                                    Terminal::pre_auth_void(
                                        &mut t, &ci, pa.amount, &code, &pa.date,
                                    )
                                    .await,
                                ),
                                expect.clone(),
                            ),
                        }
                    }
                    (Err(e), _) => ("pre_auth_ref", e, expect.clone()),
                    (_, None) => (
                        "pre_auth_ref",
                        "no pre-authorisation in the batch".into(),
                        expect.clone(),
                    ),
                }
            }
            Step::CompletionVoidLast { card: c, expect } => {
                let voucher = t
                    .log
                    .iter()
                    .rev()
                    .find(|e| {
                        e.kind == crate::iso8583::txn::TxnKind::CompletionRequest && !e.voided
                    })
                    .map(|e| e.stan.clone())
                    .unwrap_or_default();
                match card(fixtures, c, None) {
                    Ok(ci) => (
                        "completion_void_last",
                        code_of(t.completion_void(&ci, &voucher).await),
                        expect.clone(),
                    ),
                    Err(e) => ("completion_void_last", e, expect.clone()),
                }
            }
            Step::Offline {
                card: c,
                amount,
                auth_code,
            } => match card(fixtures, c, None) {
                Ok(ci) => {
                    let got = match t
                        .offline_settlement(&ci.pan, &ci.expiry, *amount, auth_code)
                        .await
                    {
                        Ok(_) => "stored".to_string(),
                        Err(e) => format!("refused ({e})"),
                    };
                    ("offline", got, "stored".to_string())
                }
                Err(e) => ("offline", e, "stored".to_string()),
            },
            Step::AdjustFirst { amount, tip } => {
                let voucher = t.log.first().map(|e| e.stan.clone()).unwrap_or_default();
                let got = match t.adjust(&voucher, *amount, *tip).await {
                    Ok(_) => "stored".to_string(),
                    Err(e) => format!("refused ({e})"),
                };
                ("adjust_first", got, "stored".to_string())
            }
            Step::DownloadParams { expect } => (
                "download_params",
                code_of(t.download_parameters().await),
                expect.clone(),
            ),
            Step::UploadStatus { expect } => (
                "upload_status",
                code_of(t.upload_status().await),
                expect.clone(),
            ),
            Step::Reprint => {
                let got = if Terminal::reprint(&mut t).await.is_ok() {
                    "printed"
                } else {
                    "nothing to reprint"
                };
                ("reprint", got.to_string(), "printed".to_string())
            }
            Step::Lock => {
                Terminal::lock(&mut t);
                continue;
            }
            Step::Unlock { password } => {
                let got = if Terminal::unlock(&mut t, password).is_ok() {
                    "unlocked"
                } else {
                    "refused"
                };
                ("unlock", got.to_string(), "unlocked".to_string())
            }
            Step::TestMode { on } => {
                let got = if Terminal::set_test_mode(&mut t, *on).is_ok() {
                    "ok"
                } else {
                    "refused"
                };
                ("test_mode", got.to_string(), "ok".to_string())
            }
            Step::PowerCycle => {
                let _ = Terminal::power_on(&mut t).await;
                continue;
            }
            Step::OperatorSignIn {
                code,
                password,
                expect,
            } => {
                let got = match Terminal::operator_sign_in(&mut t, code, password).await {
                    Ok(_) => "00".to_string(),
                    Err(e) => format!("refused ({e})"),
                };
                ("operator_sign_in", got, expect.clone())
            }
            Step::SlipContains { text } => {
                let slip = Terminal::last_receipt(&t).unwrap_or_default();
                let got = if slip.contains(text.as_str()) {
                    text.clone()
                } else {
                    format!("a slip without {text:?}")
                };
                ("slip_contains", got, text.clone())
            }
            Step::Prompt { .. } => (
                "prompt",
                "no operator present".to_string(),
                "an operator's answer".to_string(),
            ),
            Step::Host(b) => {
                host.centre
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .behaviours
                    .push(b.clone());
                continue;
            }
        };
        for slip in &t.printed[printed_before.min(t.printed.len())..] {
            case_log.write(Record::receipt(slip, n));
        }
        // A refusal matches `refused`; its reason is kept for the failure text.
        let passed = got == want || got.starts_with(&format!("{want} ("));
        if !passed {
            fail(
                &mut result,
                format!("step {n} {what}: expected {want}, got {got}"),
            );
        }
        result.steps.push(StepResult {
            n,
            action: what.to_string(),
            expected: want,
            got,
            passed,
            ms: step_start.elapsed().as_secs_f64() * 1000.0,
        });
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    host.shutdown().await;
    let records = case_log.records();
    writer.set_case(Some(case.id.clone()));
    for r in &records {
        writer.write(Record {
            seq: 0,
            ..r.clone()
        });
    }
    writer.set_case(None);
    let report = crate::checks::check(&crate::checks::Transcript::from_records(
        &records,
        &crate::iso8583::cup_codec(),
    ));
    let mut expected: Vec<&String> = case.expect_violations.iter().collect();
    result.violations = report.violations.clone();
    for v in &report.violations {
        if let Some(i) = expected.iter().position(|e| e.as_str() == v.rule) {
            expected.remove(i);
            continue;
        }
        if case.expect_violations.iter().any(|e| e == v.rule) {
            continue;
        }
        fail(
            &mut result,
            format!(
                "{} [{}] {} trace {} field {}: expected {}, found {} — {}",
                v.requirement,
                v.rule,
                v.mti.as_deref().unwrap_or("-"),
                v.stan.as_deref().unwrap_or("-"),
                v.field.as_deref().unwrap_or("-"),
                v.expected.as_deref().unwrap_or("-"),
                v.found.as_deref().unwrap_or("-"),
                v.message
            ),
        );
    }
    for e in expected {
        fail(
            &mut result,
            format!("rule {e} was expected to fire and did not"),
        );
    }
    result.duration = start.elapsed();
    result
}

/// Run the suites; writes `junit.xml`, `transcript.jsonl` and `traffic.pcap` into `report_dir`.
pub fn run(
    paths: &[PathBuf],
    filter: Option<&str>,
    report_dir: &Path,
    progress: &mut dyn FnMut(&CaseResult),
) -> Result<Vec<CaseResult>, RunError> {
    let files = suite_files(paths)?;
    let suites: Vec<(PathBuf, SuiteFile)> = files
        .into_iter()
        .map(|f| super::model::load(&f).map(|s| (f, s)))
        .collect::<Result<_, _>>()?;
    let fixtures = Fixtures::builtin().map_err(|e| RunError::Setup(e.to_string()))?;
    std::fs::create_dir_all(report_dir)
        .map_err(|e| RunError::Setup(format!("{}: {e}", report_dir.display())))?;
    let writer = TranscriptWriter::to_file_and_memory(&report_dir.join("transcript.jsonl"))
        .map_err(|e| RunError::Setup(e.to_string()))?;
    let rt = tokio::runtime::Runtime::new().map_err(|e| RunError::Setup(e.to_string()))?;
    let mut results = Vec::new();
    for (_, suite) in &suites {
        for case in &suite.cases {
            let selected = filter.is_none_or(|f| {
                case.id == f
                    || case.id.starts_with(&format!("{f}."))
                    || case
                        .requirements
                        .iter()
                        .any(|r| r == f || r.starts_with(&format!("{f}.")))
            });
            if !selected {
                continue;
            }
            let r = rt.block_on(run_case(&suite.suite, case, &fixtures, &writer));
            progress(&r);
            results.push(r);
            // Written as the run goes, so an interrupted run still leaves its reports.
            write_junit(&results, &report_dir.join("junit.xml"))?;
        }
    }
    write_junit(&results, &report_dir.join("junit.xml"))?;
    let pcap = std::fs::File::create(report_dir.join("traffic.pcap"))
        .map_err(|e| RunError::Setup(e.to_string()))?;
    crate::pcap::write_pcap(&writer.records(), std::io::BufWriter::new(pcap))
        .map_err(|e| RunError::Setup(e.to_string()))?;
    Ok(results)
}

/// JUnit XML: one test suite per suite file, case id and requirements in the name, the
/// violations as failure text.
pub fn write_junit(results: &[CaseResult], path: &Path) -> Result<(), RunError> {
    use junit_report::{Duration as JDuration, ReportBuilder, TestCase, TestSuiteBuilder};
    let mut by_suite: Vec<(String, Vec<TestCase>)> = Vec::new();
    for r in results {
        let name = format!("{} [{}] {}", r.id, r.requirements.join(","), r.title);
        let time = JDuration::milliseconds(r.duration.as_millis() as i64);
        let mut tc = match (&r.skipped, r.failures.is_empty()) {
            (Some(why), _) => TestCase::skipped_with_cause(&name, "skipped", why),
            (None, true) => TestCase::success(&name, time),
            (None, false) => TestCase::failure(&name, time, "conformance", &r.failures.join("\n")),
        };
        tc.set_classname(&r.suite);
        match by_suite.iter_mut().find(|(s, _)| *s == r.suite) {
            Some((_, v)) => v.push(tc),
            None => by_suite.push((r.suite.clone(), vec![tc])),
        }
    }
    let mut rb = ReportBuilder::new();
    for (suite, cases) in by_suite {
        rb.add_testsuite(TestSuiteBuilder::new(&suite).add_testcases(cases).build());
    }
    let file = std::fs::File::create(path)
        .map_err(|e| RunError::Setup(format!("{}: {e}", path.display())))?;
    rb.build()
        .write_xml(file)
        .map_err(|e| RunError::Setup(format!("junit: {e}")))
}
