//! Each fault switch of the reference terminal makes the right rule fire with the right
//! requirement; the conformant terminal yields no violation at all.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::test_host;
use posconf::checks::{check, Transcript};
use posconf::crypto::DesKey;
use posconf::host::behaviour::{Action, Behaviour, Behaviours, Matcher};
use posconf::iso8583::cup_codec;
use posconf::terminal::link::TcpLink;
use posconf::terminal::sim::{CardInput, Faults, SimConfig, SimTerminal};

fn card() -> CardInput {
    CardInput {
        pan: "6225881234567890".into(),
        track2: "6225881234567890=25122011234567890".into(),
        expiry: "2512".into(),
        pin: Some("123456".into()),
    }
}

/// A business day; results are ignored (a faulty terminal may be refused), the transcript judged.
async fn day(faults: Faults, behaviours: Behaviours) -> posconf::checks::Report {
    let h = test_host(behaviours, "120000", Duration::from_secs(10), 7).await;
    let mut cfg =
        SimConfig::default_terminal(DesKey::from_hex("11111111111111112222222222222222").unwrap());
    cfg.timeout = Duration::from_millis(300);
    cfg.faults = faults;
    let mut t = SimTerminal::new(cfg, TcpLink::new(h.addr, false));
    let c = card();
    let _ = t.sign_in().await;
    let _ = t.purchase(&c, 1_000).await;
    let _ = t.purchase(&c, 2_000).await;
    let _ = t.balance(&c).await;
    let _ = t.pre_auth(&c, 3_000).await;
    let _ = t
        .offline_settlement("6225881234567890", "2512", 400, "111111")
        .await;
    if let Some(v) = t.log.first().map(|e| e.stan.clone()) {
        let _ = t.adjust(&v, 0, 100).await;
    }
    let _ = t.settle().await;
    let _ = t.purchase(&c, 500).await;
    let _ = t.sign_off().await;
    let transcript = Transcript::from_records(&h.transcript.records(), &cup_codec());
    if std::env::var_os("POSCONF_DEBUG_DAY").is_some() {
        for f in transcript.requests() {
            eprintln!(
                "{} {} {:?} 60={:?} 39={:?}",
                f.seq,
                f.message.mti,
                f.stan(),
                f.message.text(60),
                f.message.text(39)
            );
        }
    }
    h.shutdown().await;
    check(&transcript)
}

fn fired(r: &posconf::checks::Report) -> BTreeSet<(String, String)> {
    r.violations
        .iter()
        .map(|v| (v.rule.to_string(), v.requirement.to_string()))
        .collect()
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformant_terminal_has_no_violation_even_with_a_lost_answer() {
    let mut b = Behaviours::default();
    b.push(
        Behaviour::new(
            Matcher {
                txn: Some("purchase".into()),
                ..Default::default()
            },
            vec![Action::NoReply],
        )
        .from_nth(2)
        .times(1),
    );
    let r = day(Faults::default(), b).await;
    assert!(r.violations.is_empty(), "{:#?}", r.violations);
    assert!(r.rules_evaluated.len() >= 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_switch_trips_its_rule() {
    let lost_second_purchase = || {
        let mut b = Behaviours::default();
        b.push(
            Behaviour::new(
                Matcher {
                    txn: Some("purchase".into()),
                    ..Default::default()
                },
                vec![Action::NoReply],
            )
            .from_nth(2)
            .times(1),
        );
        b
    };
    type Case<'a> = (&'a str, Faults, Behaviours, Vec<(&'a str, &'a str)>);
    let table: Vec<Case> = vec![
        (
            "wrong MAC",
            Faults {
                wrong_mac: true,
                ..Faults::default()
            },
            Behaviours::default(),
            vec![("mac.valid", "5.2.2")],
        ),
        (
            "skipped trace",
            Faults {
                skip_trace: true,
                ..Faults::default()
            },
            Behaviours::default(),
            vec![("trace.increment", "10.3.5")],
        ),
        (
            "no reversal",
            Faults {
                no_reversal: true,
                ..Faults::default()
            },
            lost_second_purchase(),
            // Only the fault itself: the unbalanced settlement it causes is answered by the
            // upload, which is conformant.
            vec![("reversal.before_next", "7.1.9")],
        ),
        (
            "stale batch",
            Faults {
                stale_batch: true,
                ..Faults::default()
            },
            Behaviours::default(),
            vec![("batch.current", "6.3.1.2")],
        ),
        (
            "wrong totals",
            Faults {
                wrong_totals: true,
                ..Faults::default()
            },
            Behaviours::default(),
            vec![("settlement.totals", "6.3.2")],
        ),
    ];
    for (name, faults, behaviours, expected) in table {
        let r = day(faults, behaviours).await;
        assert_eq!(fired(&r), set(&expected), "{name}: {:#?}", r.violations);
        let v = &r.violations[0];
        assert!(
            v.mti.is_some() && v.field.is_some() && v.expected.is_some() && v.found.is_some(),
            "{name}: {v:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_json_snapshot() {
    let r = day(
        Faults {
            wrong_totals: true,
            ..Faults::default()
        },
        Behaviours::default(),
    )
    .await;
    insta::assert_json_snapshot!("check_wrong_totals", r);
}
