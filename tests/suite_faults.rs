//! Each fault switch of the reference terminal, run through `posconf run`'s runner, makes the
//! right case fail and cites the right requirement and rule; the conformant terminal passes
//! every case (the proof that the checks are neither blind nor trigger-happy).

use std::path::PathBuf;

use posconf::suite::rig::TerminalRig;
use posconf::suite::runner::{run, CaseResult, RunOptions};

fn run_with(faults: &[&str], filter: Option<&str>, tag: &str) -> Vec<CaseResult> {
    let dir = std::env::temp_dir().join(format!("posconf-faults-{tag}-{}", std::process::id()));
    let mut opts = RunOptions::new(dir.clone());
    opts.filter = filter.map(str::to_string);
    opts.rig.terminal = TerminalRig::Sim {
        faults: faults.iter().map(|s| s.to_string()).collect(),
    };
    let summary = run(&[PathBuf::from("suites/cup-direct")], &opts, &mut |_| {}).unwrap();
    assert!(dir.join("report.html").exists() && dir.join("junit.xml").exists());
    std::fs::remove_dir_all(&dir).ok();
    summary.results
}

#[test]
fn the_conformant_reference_terminal_passes_every_case_with_no_violation() {
    let results = run_with(&[], None, "none");
    assert!(results.len() >= 150, "{} cases", results.len());
    for r in &results {
        assert!(
            r.passed() || r.skipped.is_some(),
            "{}: {:?}",
            r.id,
            r.failures
        );
        // Negative cases expect their rules; nothing else may fire.
        for v in &r.violations {
            assert!(
                r.expected_rules.iter().any(|e| e == v.rule),
                "{}: {v:?}",
                r.id
            );
        }
    }
}

#[test]
fn each_fault_switch_fails_its_case_citing_requirement_and_rule() {
    // (fault, case, what the failure must cite)
    let table = [
        ("wrong_mac", "7.1.2-purchase", "5.2.2 [mac.valid]"),
        ("skip_trace", "7.1.2-purchase", "10.3.5 [trace.increment]"),
        (
            "no_reversal",
            "7.1.9-reversal-no-answer",
            "7.1.9 [reversal.before_next]",
        ),
        (
            "stale_batch",
            "6.1.3.3-current-numbers",
            "6.3.1.2 [batch.current]",
        ),
        (
            "wrong_totals",
            "6.3.2-settlement-balanced",
            "6.3.2 [settlement.totals]",
        ),
        (
            "missing_voucher_on_slip",
            "7.1.2-purchase",
            "12.2.1 [receipt.sales]",
        ),
    ];
    for (fault, case, cite) in table {
        let results = run_with(&[fault], Some(case), fault);
        let r = results
            .iter()
            .find(|r| r.id == case)
            .unwrap_or_else(|| panic!("{fault}: case {case} did not run"));
        assert!(!r.passed(), "{fault}: {case} passed");
        assert!(
            r.failures.iter().any(|f| f.starts_with(cite)),
            "{fault}: {case} should cite {cite}: {:#?}",
            r.failures
        );
        // Every rule failure names the message and the field.
        for f in r.failures.iter().filter(|f| f.contains(" [")) {
            assert!(
                f.contains(" field ") && f.contains("expected"),
                "{fault}: {f}"
            );
        }
    }
}

#[test]
fn a_terminal_that_ignores_the_response_mac_fails_the_bad_mac_case() {
    let results = run_with(
        &["ignore_response_mac"],
        Some("7.1.9-reversal-bad-mac"),
        "irm",
    );
    let r = results
        .iter()
        .find(|r| r.id == "7.1.9-reversal-bad-mac")
        .unwrap();
    assert!(!r.passed(), "{:?}", r.steps);
}

#[test]
fn failing_after_approval_is_a_conformant_reversal_96_not_a_rule_violation() {
    let results = run_with(&["fail_after_approval"], Some("7.1.2-purchase"), "faa");
    let r = results.iter().find(|r| r.id == "7.1.2-purchase").unwrap();
    // The purchase step no longer ends approved, but the transcript breaks no rule.
    assert!(r.violations.is_empty(), "{:#?}", r.violations);
}
