//! Runs suite cases against the embedded default — the reference terminal and the embedded
//! centre on an ephemeral loopback port — each case with a clean terminal and centre, then
//! judges each case's transcript with the always-on rules and writes the run's reports.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::BTreeSet;

use super::exec::{run_steps, ConsoleOperator, Ctx, Operator};
use super::model::{Case, SuiteFile};
use super::rig::{Capabilities, Rig, TerminalRig, KNOWN_CAPABILITIES};
use crate::fixtures::Fixtures;
use crate::host::behaviour::Behaviours;
use crate::host::centre::{system_clock, system_random, Centre};
use crate::host::server::HostHandle;
use crate::terminal::automation::SerialTerminal;
use crate::terminal::link::TcpLink;
use crate::terminal::sim::{Faults, SimConfig, SimTerminal};
use crate::transcript::{Record, RecordKind, TranscriptWriter};

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
    /// A result with nothing run yet.
    fn new(suite: &str, case: &Case) -> CaseResult {
        CaseResult {
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
        }
    }

    pub fn passed(&self) -> bool {
        self.skipped.is_none() && self.failures.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A broken suite file (exit 2).
    #[error(transparent)]
    Suite(#[from] crate::yaml::YamlError),
    /// Configuration: rig, capabilities, report directory (exit 2).
    #[error("{0}")]
    Setup(String),
    /// The bench itself: a port, reader or socket missing (exit 3).
    #[error("rig: {0}")]
    Rig(String),
}

impl RunError {
    /// The `posconf run` exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Rig(_) => 3,
            _ => 2,
        }
    }
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

/// How a run is set up (the CLI's flags).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Case id, requirement id or section prefix.
    pub filter: Option<String>,
    pub report_dir: PathBuf,
    pub rig: Rig,
    /// The terminal's statement; `None` = the rig's file, else the reference terminal's.
    pub capabilities: Option<Capabilities>,
    /// Sim cases run at once.
    pub jobs: usize,
    /// An operator answers prompts on this console (`manual` cases run instead of skipping).
    pub operator: bool,
    /// Reports show clear PANs.
    pub reveal: bool,
}

impl RunOptions {
    pub fn new(report_dir: PathBuf) -> RunOptions {
        RunOptions {
            filter: None,
            report_dir,
            rig: Rig::embedded_default(),
            capabilities: None,
            jobs: 8,
            operator: false,
            reveal: false,
        }
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct RunSummary {
    /// In suite order.
    pub results: Vec<CaseResult>,
    /// Ctrl-C stopped the run; `results` holds the cases that finished.
    pub interrupted: bool,
}

/// Why a case cannot run here (not applicable), or `None`.
fn not_applicable(
    case: &Case,
    available: &BTreeSet<String>,
    rig: &Rig,
    fixtures: &Fixtures,
) -> Option<String> {
    let needs = case.all_needs(&|c| fixtures.is_foreign_card(c));
    let missing: Vec<&String> = needs.iter().filter(|n| !available.contains(*n)).collect();
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        return Some(format!(
            "needs {}, which rig {:?} and the terminal's capabilities do not provide",
            names.join(", "),
            rig.rig
        ));
    }
    if !case.sim_faults.is_empty() && !rig.is_sim() {
        return Some("a reference-terminal fault case; the rig drives a real terminal".into());
    }
    None
}

fn selected(case: &Case, filter: Option<&str>) -> bool {
    filter.is_none_or(|f| {
        case.id == f
            || case.id.starts_with(&format!("{f}-"))
            || case.id.starts_with(&format!("{f}."))
            || case
                .requirements
                .iter()
                .any(|r| r == f || r.starts_with(&format!("{f}.")))
    })
}

/// The terminal a case runs on, once the centre is known.
enum Device2<'a> {
    Fresh,
    Sim(&'a mut SimTerminal<TcpLink>),
    Serial(&'a mut SerialTerminal),
}

/// A reference terminal and centre kept for a chain of cases (`continues: true`).
struct Chain {
    host: HostHandle,
    terminal: SimTerminal<TcpLink>,
    /// The centre's record before the chain's first case: rules judge from here.
    start: u64,
}

/// Which terminal a case runs on.
enum Device<'a> {
    /// The rig's: a fresh reference terminal, or a manual operator.
    Fresh,
    Serial(&'a mut SerialTerminal),
    Chain(&'a mut Chain),
}

/// A reference terminal configured for the rig and the case's fault switches.
fn sim_terminal(
    rig: &Rig,
    fixtures: &Fixtures,
    case: &Case,
    host: std::net::SocketAddr,
) -> Result<SimTerminal<TcpLink>, RunError> {
    let TerminalRig::Sim { faults } = &rig.terminal else {
        return Err(RunError::Setup("not a reference-terminal rig".into()));
    };
    let kek = match fixtures
        .terminal(&rig.host.terminal_id)
        .map(|t| t.active_kek())
    {
        Some(Ok(k)) => k,
        _ => {
            return Err(RunError::Setup(format!(
                "terminal {} missing from the fixtures",
                rig.host.terminal_id
            )))
        }
    };
    let mut cfg = SimConfig::default_terminal(kek);
    cfg.timeout = Duration::from_millis(800);
    let mut names = faults.clone();
    names.extend(case.sim_faults.iter().cloned());
    cfg.faults = Faults::from_names(&names)
        .map_err(|e| RunError::Setup(format!("case {}: {e}", case.id)))?;
    Ok(SimTerminal::new(cfg, TcpLink::new(host, false)))
}

/// What every case of a run shares.
struct RunEnv<'a> {
    fixtures: &'a Fixtures,
    rig: &'a Rig,
    /// The run's transcript: every case's centre forwards into it as records are written.
    writer: &'a Arc<TranscriptWriter>,
    /// Connection ids of each case start here (cases run concurrently, each numbering from 1).
    conn_base: &'a std::sync::atomic::AtomicU64,
}

/// Run one case on the rig; its records go to the run's transcript tagged with the case id.
/// `shared` is the run's centre and `serial` its automation link when a real terminal is
/// driven (one batch across cases).
async fn run_case(
    env: &RunEnv<'_>,
    suite: &str,
    case: &Case,
    operator: Option<&mut dyn Operator>,
    shared: Option<&HostHandle>,
    device: Device<'_>,
) -> Result<CaseResult, RunError> {
    let RunEnv {
        fixtures,
        rig,
        writer,
        conn_base,
    } = *env;
    let start = Instant::now();
    let mut result = CaseResult::new(suite, case);
    let codec = crate::iso8583::cup_codec();
    // A reference terminal gets a fresh centre per case; a real terminal keeps one centre for
    // the run (its batch spans cases), and the case's records are the ones written during it.
    let (mut device, shared, context) = match device {
        Device::Chain(c) => {
            let start = c.start;
            let (host, terminal) = (&c.host, &mut c.terminal);
            (Device2::Sim(terminal), Some(host), Some(start))
        }
        // A real terminal's centre serves the whole run: its record from the start is the
        // context (the sign-in, the batch, an earlier A0 all count).
        Device::Serial(t) => (Device2::Serial(t), shared, shared.map(|_| 0)),
        Device::Fresh => (Device2::Fresh, shared, shared.map(|_| 0)),
    };
    let own = match shared {
        Some(_) => None,
        None => Some(start_centre(rig, fixtures).await?),
    };
    let Some(host) = own.as_ref().or(shared) else {
        return Err(RunError::Setup("no centre".into()));
    };
    let case_log = host.transcript.clone();
    let mark = case_log.last_seq();
    // From here the case's records reach the run transcript as they are written.
    let base = conn_base.fetch_add(1 << 16, std::sync::atomic::Ordering::Relaxed);
    if own.is_some() {
        // Anything the fresh centre recorded before it was connected to the run's transcript.
        for r in case_log.records() {
            writer.write(Record {
                seq: 0,
                case: Some(case.id.clone()),
                conn: r.conn + base,
                ..r
            });
        }
    }
    case_log.forward_to(writer.clone(), &case.id, base);
    if !case.expect_violations.is_empty() {
        // So that `posconf check` on the run's transcript judges this case as the run did.
        let mut note = Record::event(0, RecordKind::Note, "case expects violations".into());
        note.event = Some(serde_json::json!({
            crate::checks::EXPECT_VIOLATIONS: case.expect_violations,
        }));
        note.case = Some(case.id.clone());
        writer.write(note);
    }
    // Rules see the chain so far (its sign-in, its batch); they report this case's part.
    let context = context.unwrap_or(mark);
    let prior: Vec<Record> = if context < mark {
        case_log
            .records_since(context)
            .into_iter()
            .filter(|r| r.seq <= mark)
            .collect()
    } else {
        Vec::new()
    };
    let mut ctx = Ctx {
        prior,
        fixtures,
        log: &case_log,
        centre: Some(host.centre.clone()),
        supervisor: &rig.supervisor_password,
        codec: &codec,
        operator,
        card: super::card_steps::CardBench::for_case(rig, case)?,
    };
    let (steps, failures) = match (&rig.terminal, &mut device) {
        (_, Device2::Sim(t)) => run_steps(&mut **t, &case.steps, &mut ctx).await,
        (TerminalRig::Sim { .. }, _) => {
            let mut t = sim_terminal(rig, fixtures, case, host.addr)?;
            run_steps(&mut t, &case.steps, &mut ctx).await
        }
        (TerminalRig::Serial { .. }, dev) => {
            let Device2::Serial(t) = dev else {
                return Err(RunError::Setup(
                    "serial rig without an open automation link".into(),
                ));
            };
            run_steps(&mut **t, &case.steps, &mut ctx).await
        }
        (TerminalRig::Manual {}, _) => {
            let Some(op) = ctx.operator.take() else {
                return Err(RunError::Rig(
                    "a manual rig needs an operator: run with --operator".into(),
                ));
            };
            let mut t = crate::terminal::manual::ManualTerminal::new(op, host.addr);
            run_steps(&mut t, &case.steps, &mut ctx).await
        }
    };
    result.steps = steps;
    result.failures = failures;
    // A terminal may still be sending (a trailing reversal): wait until the centre's record
    // has been quiet for 20 ms (at most half a second) so it lands in this case, not the next.
    let mut seen = case_log.last_seq();
    // The reference terminal finishes its exchanges within its step: one short pause will do.
    let rounds = if own.is_some() { 1 } else { 25 };
    for _ in 0..rounds {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = case_log.last_seq();
        if now == seen {
            break;
        }
        seen = now;
    }
    let records: Vec<Record> = case_log.records_since(mark);
    let judged: Vec<Record> = if context < mark {
        case_log.records_since(context)
    } else {
        records.clone()
    };
    if let Some(h) = own {
        h.shutdown().await;
    }
    let mut report =
        crate::checks::check(&crate::checks::Transcript::from_records(&judged, &codec));
    // In a chain, earlier cases answered for their own records.
    report
        .violations
        .retain(|v| context == mark || v.seq.is_none_or(|s| s > mark));
    // Violations point at the run transcript's numbers.
    for v in &mut report.violations {
        v.seq = v.seq.and_then(|s| case_log.forwarded_seq(s));
    }
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
        // Failure lines reach the console and junit.xml: PAN-length digit runs are masked.
        result
            .failures
            .push(crate::iso8583::mask::mask_digit_runs(&format!(
                "{} [{}] {} trace {} field {}: expected {}, found {} — {}",
                v.requirement,
                v.rule,
                v.mti.as_deref().unwrap_or("-"),
                v.stan.as_deref().unwrap_or("-"),
                v.field.as_deref().unwrap_or("-"),
                v.expected.as_deref().unwrap_or("-"),
                v.found.as_deref().unwrap_or("-"),
                v.message
            )));
    }
    for e in expected {
        result
            .failures
            .push(format!("rule {e} was expected to fire and did not"));
    }
    result.duration = start.elapsed();
    Ok(result)
}

/// [`run_unit`], with a panic (a bug in posconf, never the terminal's bytes) turned into a
/// failed case naming it, so the run goes on and its reports are written.
async fn guarded_unit(
    env: &RunEnv<'_>,
    unit: Vec<(usize, &str, &Case)>,
) -> Vec<(usize, Result<CaseResult, RunError>)> {
    if unit.len() == 1 {
        let ids = unit.clone();
        return guarded(run_unit(env, unit), ids).await;
    }
    // A chain guards each of its cases itself.
    run_unit(env, unit).await
}

async fn guarded<F>(
    fut: F,
    ids: Vec<(usize, &str, &Case)>,
) -> Vec<(usize, Result<CaseResult, RunError>)>
where
    F: std::future::Future<Output = Vec<(usize, Result<CaseResult, RunError>)>>,
{
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(fut).catch_unwind().await {
        Ok(out) => out,
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            ids.into_iter()
                .map(|(i, suite, case)| {
                    let mut r = CaseResult::new(suite, case);
                    r.failures
                        .push(format!("internal error in posconf (please report): {why}"));
                    (i, Ok(r))
                })
                .collect()
        }
    }
}

/// Run a unit on the reference terminal: one case on a fresh pair, or a chain of cases on one
/// terminal and centre, in order.
async fn run_unit(
    env: &RunEnv<'_>,
    unit: Vec<(usize, &str, &Case)>,
) -> Vec<(usize, Result<CaseResult, RunError>)> {
    let mut out = Vec::new();
    let Some(&(i0, suite0, head)) = unit.first() else {
        return out;
    };
    if unit.len() == 1 {
        out.push((
            i0,
            run_case(env, suite0, head, None, None, Device::Fresh).await,
        ));
        return out;
    }
    let host = match start_centre(env.rig, env.fixtures).await {
        Ok(h) => h,
        Err(e) => {
            out.push((i0, Err(e)));
            return out;
        }
    };
    let terminal = match sim_terminal(env.rig, env.fixtures, head, host.addr) {
        Ok(t) => t,
        Err(e) => {
            out.push((i0, Err(e)));
            return out;
        }
    };
    let start = host.transcript.last_seq();
    let mut chain = Chain {
        host,
        terminal,
        start,
    };
    for (i, suite, case) in unit {
        let one = async {
            vec![(
                i,
                run_case(env, suite, case, None, None, Device::Chain(&mut chain)).await,
            )]
        };
        // Each case guarded on its own: a panic fails that case, not the ones before it.
        let r = guarded(one, vec![(i, suite, case)]).await;
        let stop = r.iter().any(|(_, r)| {
            r.as_ref().map_or(true, |c| {
                c.failures.iter().any(|f| f.starts_with("internal error"))
            })
        });
        out.extend(r);
        if stop {
            // The chain's state is unknown after an error; the rest cannot run.
            break;
        }
    }
    chain.host.shutdown().await;
    out
}

fn new_centre(fixtures: &Fixtures) -> Result<Centre, RunError> {
    Centre::new(
        crate::profile::Profile::default(),
        fixtures.clone(),
        Behaviours::default(),
        Box::new(system_clock),
        Box::new(system_random),
    )
    .map_err(|e| RunError::Setup(format!("centre: {e}")))
}

fn skipped(suite: &str, case: &Case, why: String) -> CaseResult {
    CaseResult {
        skipped: Some(why),
        ..CaseResult::new(suite, case)
    }
}

/// The embedded centre on the rig's address, recording into a transcript of its own.
async fn start_centre(rig: &Rig, fixtures: &Fixtures) -> Result<HostHandle, RunError> {
    let centre = new_centre(fixtures)?;
    let listen = rig
        .listen_addr()
        .map_err(|e| RunError::Setup(e.to_string()))?;
    let log = Arc::new(TranscriptWriter::in_memory());
    crate::host::server::start(listen, centre, log, Default::default())
        .await
        .map_err(|e| RunError::Rig(format!("cannot start the embedded centre on {listen}: {e}")))
}

/// Load and validate suites: every file parses, case ids are unique, `needs` names are known.
pub fn load_suites(paths: &[PathBuf]) -> Result<Vec<(PathBuf, SuiteFile)>, RunError> {
    let files = suite_files(paths)?;
    let suites: Vec<(PathBuf, SuiteFile)> = files
        .into_iter()
        .map(|f| super::model::load(&f).map(|s| (f, s)))
        .collect::<Result<_, _>>()?;
    let mut seen = std::collections::HashMap::new();
    let rules = crate::checks::every_rule();
    let rule_ids: Vec<&str> = rules.iter().map(|r| r.id()).collect();
    for (f, s) in &suites {
        for c in &s.cases {
            if let Some(prev) = seen.insert(c.id.clone(), f.clone()) {
                return Err(RunError::Setup(format!(
                    "{}: case id {:?} is also used in {}",
                    f.display(),
                    c.id,
                    prev.display()
                )));
            }
            super::rig::check_needs(&format!("{} case {}", f.display(), c.id), &c.needs)
                .map_err(|e| RunError::Setup(e.to_string()))?;
            let problems = c.lint(&rule_ids);
            if let Some(p) = problems.first() {
                return Err(RunError::Setup(format!(
                    "{} case {}: {p}{}",
                    f.display(),
                    c.id,
                    if problems.len() > 1 {
                        format!(" (and {} more)", problems.len() - 1)
                    } else {
                        String::new()
                    }
                )));
            }
            if c.continues && (std::ptr::eq(c, &s.cases[0]) || !c.sim_faults.is_empty()) {
                return Err(RunError::Setup(format!(
                    "{} case {}: `continues` needs a case before it in the file and takes that case's terminal (no sim_faults of its own)",
                    f.display(),
                    c.id
                )));
            }
            if let Err(e) = Faults::from_names(&c.sim_faults) {
                return Err(RunError::Setup(format!(
                    "{} case {}: {e}",
                    f.display(),
                    c.id
                )));
            }
        }
    }
    Ok(suites)
}

/// Run the suites on the rig; writes `junit.xml`, `transcript.jsonl`, `report.html` and
/// `traffic.pcap` into the report directory, `junit.xml` again after every case so an
/// interrupted run keeps what it did.
pub fn run(
    paths: &[PathBuf],
    opts: &RunOptions,
    progress: &mut dyn FnMut(&CaseResult),
) -> Result<RunSummary, RunError> {
    let suites = load_suites(paths)?;
    opts.rig
        .validate()
        .map_err(|e| RunError::Setup(e.to_string()))?;
    let caps = match (&opts.capabilities, &opts.rig.capabilities) {
        (Some(c), _) => c.clone(),
        (None, Some(path)) => {
            Capabilities::load(path).map_err(|e| RunError::Setup(e.to_string()))?
        }
        (None, None) if opts.rig.is_sim() => {
            Capabilities::reference().map_err(|e| RunError::Setup(e.to_string()))?
        }
        // A real terminal without a statement: assume it claims everything.
        (None, None) => Capabilities {
            terminal: "terminal under test (no capability file: every feature assumed)".into(),
            vendor: None,
            supports: KNOWN_CAPABILITIES.iter().map(|s| s.to_string()).collect(),
        },
    };
    let available = opts.rig.available(&caps, opts.operator);
    let fixtures = Fixtures::builtin().map_err(|e| RunError::Setup(e.to_string()))?;
    std::fs::create_dir_all(&opts.report_dir)
        .map_err(|e| RunError::Setup(format!("{}: {e}", opts.report_dir.display())))?;
    let writer = Arc::new(
        TranscriptWriter::to_file_and_memory(&opts.report_dir.join("transcript.jsonl"))
            .map_err(|e| RunError::Setup(e.to_string()))?,
    );
    let conn_base = std::sync::atomic::AtomicU64::new(1 << 16);
    let rt = tokio::runtime::Runtime::new().map_err(|e| RunError::Setup(e.to_string()))?;
    // Ctrl-C normally stops the run at once (below). While it is blocked on an operator's
    // answer or a serial command it cannot look, so a watchdog ends the process instead; the
    // transcript (written as records happen) and junit.xml (per finished case) are on disk.
    rt.spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            tokio::time::sleep(Duration::from_secs(5)).await;
            eprintln!(
                "posconf run: interrupted while waiting on an operator or a terminal; \
                 transcript.jsonl and junit.xml hold what was done"
            );
            std::process::exit(130);
        }
    });

    // (order, suite, case) of every selected case.
    // Units of work: a case and the cases that continue from it (`continues: true`), which
    // run after it on the same reference terminal and centre. A continuing case whose
    // predecessor is not selected cannot run.
    // Reference-terminal units run concurrently, each on its own centre and terminal; an
    // operator, a shared card reader or a fixed centre port means one at a time.
    let fixed_port = opts.rig.listen_addr().is_ok_and(|a| a.port() != 0);
    let parallel = opts.rig.is_sim()
        && !opts.operator
        && !super::card_steps::shared_card(&opts.rig)
        && !fixed_port;
    let mut units: Vec<Vec<(usize, &str, &Case)>> = Vec::new();
    let mut orphans: Vec<(usize, &str, &Case, String)> = Vec::new();
    let mut n = 0usize;
    for (_, suite) in &suites {
        let mut prev_selected = false;
        for (ci, case) in suite.cases.iter().enumerate() {
            if !selected(case, opts.filter.as_deref()) {
                prev_selected = false;
                continue;
            }
            let item = (n, suite.suite.as_str(), case);
            n += 1;
            match (case.continues, prev_selected, units.last_mut()) {
                (true, true, Some(unit)) => unit.push(item),
                (true, _, _) => {
                    let prev = ci
                        .checked_sub(1)
                        .and_then(|p| suite.cases.get(p))
                        .map(|c| c.id.as_str())
                        .unwrap_or("(none)");
                    orphans.push((
                        item.0,
                        item.1,
                        case,
                        format!("continues from case {prev}, which is not selected"),
                    ));
                    prev_selected = false;
                    continue;
                }
                _ => units.push(vec![item]),
            }
            prev_selected = true;
        }
    }
    let junit = opts.report_dir.join("junit.xml");
    let mut done: Vec<(usize, CaseResult)> = Vec::new();
    let mut fatal: Option<RunError> = None;
    let interrupted = rt.block_on(async {
        use futures::StreamExt;
        let mut operator = opts.operator.then_some(ConsoleOperator);
        let shared = if opts.rig.is_sim() {
            None
        } else {
            match start_centre(&opts.rig, &fixtures).await {
                Ok(h) => {
                    eprintln!(
                        "posconf run: centre listening on {} for the terminal under test",
                        h.addr
                    );
                    Some(h)
                }
                Err(e) => {
                    fatal = Some(e);
                    return false;
                }
            }
        };
        let mut record = |i: usize, r: CaseResult, done: &mut Vec<(usize, CaseResult)>| {
            progress(&r);
            done.push((i, r));
            let mut sorted: Vec<&CaseResult> = Vec::new();
            let mut idx: Vec<usize> = (0..done.len()).collect();
            idx.sort_by_key(|&k| done[k].0);
            for k in idx {
                sorted.push(&done[k].1);
            }
            // Best effort while running; the final write below reports errors.
            let _ = write_junit_refs(&sorted, &junit);
        };
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        // One automation session for the whole run: the device keeps its state across cases.
        let mut serial = match &opts.rig.terminal {
            TerminalRig::Serial {
                port,
                baud,
                timeout_ms,
            } => match SerialTerminal::open(port, *baud, Duration::from_millis(*timeout_ms)) {
                Ok(t) => Some(t),
                Err(e) => {
                    fatal = Some(RunError::Rig(e.to_string()));
                    return false;
                }
            },
            _ => None,
        };
        let jobs = if parallel { opts.jobs.max(1) } else { 1 };
        let env = RunEnv {
            fixtures: &fixtures,
            rig: &opts.rig,
            writer: &writer,
            conn_base: &conn_base,
        };
        for (i, suite, case, why) in orphans.drain(..) {
            record(i, skipped(suite, case, why), &mut done);
        }
        let mut queue = units.iter();
        let mut running = futures::stream::FuturesUnordered::new();
        loop {
            while running.len() < jobs {
                let Some(unit) = queue.next() else {
                    break;
                };
                // A unit runs up to its first case that does not apply; the rest of a chain
                // depends on it and is skipped too.
                let mut runnable = Vec::new();
                let mut blocked: Option<String> = None;
                for &(i, suite, case) in unit {
                    if let Some(why) = blocked.as_ref() {
                        record(i, skipped(suite, case, why.clone()), &mut done);
                    } else if let Some(why) = not_applicable(case, &available, &opts.rig, &fixtures)
                    {
                        blocked = Some(format!(
                            "continues from case {}, which was skipped",
                            case.id
                        ));
                        record(i, skipped(suite, case, why), &mut done);
                    } else {
                        runnable.push((i, suite, case));
                    }
                }
                if runnable.is_empty() {
                    continue;
                }
                if parallel {
                    let env = &env;
                    running.push(Box::pin(async move { guarded_unit(env, runnable).await })
                        as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>);
                } else {
                    // One at a time, so the operator can be lent to the case. A chain on the
                    // reference terminal keeps its terminal and centre from case to case.
                    let mut chain = None;
                    if opts.rig.is_sim() && runnable.len() > 1 {
                        let head = runnable[0].2;
                        let made = match start_centre(&opts.rig, &fixtures).await {
                            Ok(host) => sim_terminal(&opts.rig, &fixtures, head, host.addr).map(
                                |terminal| Chain {
                                    start: host.transcript.last_seq(),
                                    host,
                                    terminal,
                                },
                            ),
                            Err(e) => Err(e),
                        };
                        match made {
                            Ok(c) => chain = Some(c),
                            Err(e) => {
                                fatal = Some(e);
                                return false;
                            }
                        }
                    }
                    for (i, suite, case) in runnable {
                        let op = operator.as_mut().map(|o| o as &mut dyn Operator);
                        let device = match (serial.as_mut(), chain.as_mut()) {
                            (Some(t), _) => Device::Serial(t),
                            (None, Some(c)) => Device::Chain(c),
                            (None, None) => Device::Fresh,
                        };
                        let one = async {
                            vec![(
                                i,
                                run_case(&env, suite, case, op, shared.as_ref(), device).await,
                            )]
                        };
                        let out = tokio::select! {
                            out = guarded(one, vec![(i, suite, case)]) => out,
                            _ = &mut ctrl_c => return true,
                        };
                        for (i, r) in out {
                            match r {
                                Ok(r) => record(i, r, &mut done),
                                Err(e) => {
                                    fatal = Some(e);
                                    return false;
                                }
                            }
                        }
                    }
                    if let Some(c) = chain {
                        c.host.shutdown().await;
                    }
                }
            }
            if running.is_empty() {
                if queue.len() == 0 {
                    return false;
                }
                continue;
            }
            tokio::select! {
                Some(out) = running.next() => for (i, r) in out {
                    match r {
                        Ok(r) => record(i, r, &mut done),
                        Err(e) => {
                            fatal = Some(e);
                            return false;
                        }
                    }
                },
                _ = &mut ctrl_c => return true,
            }
        }
    });
    done.sort_by_key(|(i, _)| *i);
    let results: Vec<CaseResult> = done.into_iter().map(|(_, r)| r).collect();
    // Reports are written whatever happened: an interrupted or failed run keeps its evidence.
    write_junit(&results, &junit)?;
    let records = writer.records();
    crate::report::write_reports(&results, &records, opts, interrupted)?;
    if let Some(e) = fatal {
        return Err(e);
    }
    Ok(RunSummary {
        results,
        interrupted,
    })
}

/// JUnit XML: one test suite per suite file, case id and requirements in the name, the
/// violations as failure text.
pub fn write_junit(results: &[CaseResult], path: &Path) -> Result<(), RunError> {
    let refs: Vec<&CaseResult> = results.iter().collect();
    write_junit_refs(&refs, path)
}

fn write_junit_refs(results: &[&CaseResult], path: &Path) -> Result<(), RunError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_case_becomes_a_failed_result_not_a_dead_run() {
        let suite: SuiteFile = crate::yaml::from_str(
            "suite: s\ncases:\n  - id: a\n    requirements: [\"7.1.2\"]\n    title: {zh: a, en: b}\n    steps:\n      - sign_in: {}\n",
            "s.yaml",
        )
        .unwrap();
        let case = &suite.cases[0];
        let out = guarded(
            async {
                panic!("boom at field 60");
            },
            vec![(7, "s", case)],
        )
        .await;
        assert_eq!(out.len(), 1);
        let (i, r) = &out[0];
        assert_eq!(*i, 7);
        let r = r.as_ref().unwrap();
        assert!(!r.passed());
        assert!(
            r.failures[0].contains("internal error in posconf")
                && r.failures[0].contains("boom at field 60")
        );
    }
}
