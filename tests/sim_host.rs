//! The reference terminal against the embedded centre over real loopback TCP: a conformant day,
//! a lost answer reversed with 98, a bad response MAC reversed with A0 after a new sign-in, an
//! unbalanced settlement resolved by batch upload, and trace wrap.

mod common;

use common::test_host;
use std::time::Duration;

use posconf::crypto::DesKey;
use posconf::host::behaviour::{Action, Behaviour, Behaviours, Matcher};
use posconf::host::server::HostHandle;
use posconf::terminal::link::TcpLink;
use posconf::terminal::sim::{CardInput, Faults, SimConfig, SimTerminal};
use posconf::transcript::RecordKind;

const GOOD_PAN: &str = "6225881234567890";

async fn host(behaviours: Behaviours) -> HostHandle {
    test_host(
        behaviours,
        "120000",
        Duration::from_secs(10),
        0x2545_F491_4F6C_DD1D,
    )
    .await
}

fn sim(h: &HostHandle, faults: Faults) -> SimTerminal<TcpLink> {
    let mut cfg =
        SimConfig::default_terminal(DesKey::from_hex("11111111111111112222222222222222").unwrap());
    cfg.timeout = Duration::from_millis(400);
    cfg.faults = faults;
    SimTerminal::new(cfg, TcpLink::new(h.addr, false))
}

fn good_card() -> CardInput {
    CardInput {
        pan: GOOD_PAN.into(),
        track2: "6225881234567890=25122011234567890".into(),
        expiry: "2512".into(),
        pin: Some("123456".into()),
    }
}

fn balance(h: &HostHandle) -> i64 {
    h.centre
        .lock()
        .unwrap()
        .journal
        .account(GOOD_PAN)
        .unwrap()
        .balance
}

/// MTI and field 39 of every request the centre received, in order.
fn requests(h: &HostHandle) -> Vec<(String, Option<String>)> {
    h.transcript
        .records()
        .iter()
        .filter(|r| r.kind == RecordKind::Frame && r.dir == posconf::transcript::Direction::In)
        .filter_map(|r| r.decoded.as_ref())
        .map(|d| {
            (
                d["mti"].as_str().unwrap_or("").to_string(),
                d["fields"]["39"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conformant_day() {
    let h = host(Behaviours::default()).await;
    let mut t = sim(&h, Faults::default());
    assert!(t.sign_in().await.unwrap().approved());
    assert!(t.echo().await.unwrap().approved());
    let card = good_card();
    assert!(t.purchase(&card, 12_345).await.unwrap().approved());
    assert!(t.purchase(&card, 655).await.unwrap().approved());
    assert_eq!(balance(&h), 1_000_000 - 13_000);
    assert!(t.balance(&card).await.unwrap().approved());
    let voucher = t.log[1].stan.clone();
    assert!(t.void(&card, &voucher).await.unwrap().approved());
    let (rrn, date) = (t.log[0].rrn.clone(), t.log[0].date.clone());
    assert!(t.refund(&card, 345, &rrn, &date).await.unwrap().approved());
    assert_eq!(balance(&h), 1_000_000 - 12_000);
    assert_eq!(
        t.settle().await.unwrap(),
        ('1', '1'),
        "terminal and centre agree"
    );
    assert_eq!(t.batch, "000002");
    // The next batch is accepted by the centre without a new sign-in.
    assert!(t.purchase(&card, 100).await.unwrap().approved());
    assert!(t.sign_off().await.unwrap().approved());
    // Trace numbers: +1 per message, echo consumes none.
    let traces: Vec<String> = h
        .transcript
        .records()
        .iter()
        .filter(|r| r.kind == RecordKind::Frame && r.dir == posconf::transcript::Direction::In)
        .filter_map(|r| {
            r.decoded.as_ref()?["fields"]["11"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    let expected: Vec<String> = (1..=traces.len()).map(|n| format!("{n:06}")).collect();
    assert_eq!(traces, expected);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_reversed_with_98_before_the_next_transaction() {
    let mut b = Behaviours::default();
    b.push(
        Behaviour::new(
            Matcher {
                txn: Some("purchase".into()),
                ..Default::default()
            },
            vec![Action::NoReply],
        )
        .times(1),
    );
    let h = host(b).await;
    let mut t = sim(&h, Faults::default());
    t.sign_in().await.unwrap();
    let card = good_card();
    let out = t.purchase(&card, 5_000).await.unwrap();
    assert_eq!(out.code, None, "timed out");
    assert!(t.reversal.as_ref().is_some_and(|r| r.reason == "98"));
    assert_eq!(
        balance(&h),
        995_000,
        "the centre booked it; only the answer was lost"
    );
    assert!(t.purchase(&card, 100).await.unwrap().approved());
    assert!(t.reversal.is_none());
    assert_eq!(balance(&h), 1_000_000 - 100, "reversed exactly once");
    let reqs = requests(&h);
    let pos = reqs
        .iter()
        .position(|(m, _)| m == "0400")
        .expect("a reversal was sent");
    assert_eq!(reqs[pos].1.as_deref(), Some("98"));
    assert_eq!(
        reqs[pos + 1].0,
        "0200",
        "before the next online transaction"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_response_mac_means_reversal_a0_and_a_new_sign_in() {
    let mut b = Behaviours::default();
    b.push(
        Behaviour::new(
            Matcher {
                txn: Some("purchase".into()),
                ..Default::default()
            },
            vec![Action::BadMac],
        )
        .times(1),
    );
    let h = host(b).await;
    let mut t = sim(&h, Faults::default());
    t.sign_in().await.unwrap();
    let card = good_card();
    let out = t.purchase(&card, 7_000).await.unwrap();
    assert_eq!(out.code.as_deref(), Some("A0"));
    assert!(t.must_sign_in);
    assert!(
        t.purchase(&card, 100).await.is_err(),
        "no transaction before signing in again"
    );
    t.sign_in().await.unwrap();
    assert!(t.purchase(&card, 100).await.unwrap().approved());
    assert_eq!(balance(&h), 1_000_000 - 100);
    assert!(requests(&h).contains(&("0400".to_string(), Some("A0".to_string()))));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbalanced_settlement_is_resolved_by_batch_upload() {
    let h = host(Behaviours::default()).await;
    let mut t = sim(
        &h,
        Faults {
            wrong_totals: true,
            ..Faults::default()
        },
    );
    t.sign_in().await.unwrap();
    let card = good_card();
    for amount in [100, 200, 300, 400, 500, 600, 700, 800, 900] {
        assert!(t.purchase(&card, amount).await.unwrap().approved());
    }
    assert_eq!(t.settle().await.unwrap(), ('2', '1'));
    let reqs = requests(&h);
    assert_eq!(
        reqs.iter().filter(|(m, _)| m == "0320").count(),
        3,
        "two lists (8 + 1) and the end"
    );
    let (uploaded, batch) = {
        let centre = h.centre.lock().unwrap();
        let uploaded = centre
            .journal
            .entries()
            .iter()
            .filter(|e| e.uploaded)
            .count();
        (uploaded, centre.session("12345678").unwrap().batch.clone())
    };
    assert_eq!(uploaded, 9);
    assert_eq!(batch, "000002", "batch closed after the upload end");
    assert!(
        t.purchase(&card, 100).await.unwrap().approved(),
        "terminal and centre moved on together"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_wraps_from_999999_to_000001() {
    let h = host(Behaviours::default()).await;
    let mut t = sim(&h, Faults::default());
    t.set_trace(999_998);
    assert_eq!(t.next_trace(), "999999");
    assert_eq!(t.next_trace(), "000001");
    let mut skip = sim(
        &h,
        Faults {
            skip_trace: true,
            ..Faults::default()
        },
    );
    assert_eq!(
        skip.next_trace(),
        "000002",
        "the fault switch skips a number"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_trait_rules_supervisor_storage_pre_auth_and_test_state() {
    use posconf::terminal::{Terminal, TerminalError};
    let h = host(Behaviours::default()).await;
    let mut t = sim(&h, Faults::default());
    t.config.max_transactions = 3;
    Terminal::power_on(&mut t).await.unwrap();
    assert!(
        Terminal::operator_sign_in(&mut t, "01", "9999")
            .await
            .is_err(),
        "wrong operator password"
    );
    Terminal::operator_sign_in(&mut t, "01", "0000")
        .await
        .unwrap();
    assert!(matches!(
        Terminal::purchase(&mut t, &good_card(), 100).await,
        Err(TerminalError::NotSignedIn)
    ));
    Terminal::pos_sign_in(&mut t).await.unwrap();
    let card = good_card();
    assert!(Terminal::purchase(&mut t, &card, 1_000)
        .await
        .unwrap()
        .approved());
    let voucher = t.log[0].stan.clone();
    // Void needs the supervisor's password (seed 6.2).
    assert!(matches!(
        Terminal::void(&mut t, &card, &voucher, "0000").await,
        Err(TerminalError::Refused(_))
    ));
    assert!(Terminal::void(&mut t, &card, &voucher, "123456")
        .await
        .unwrap()
        .approved());
    // Pre-auth holds funds; completion uses its auth code and date; completion void undoes it.
    let pa = Terminal::pre_auth(&mut t, &card, 5_000).await.unwrap();
    assert!(pa.approved());
    let auth = t.log.last().unwrap().auth_code.clone().unwrap();
    let date = t.log.last().unwrap().date.clone();
    assert_eq!(
        h.centre
            .lock()
            .unwrap()
            .journal
            .account(GOOD_PAN)
            .unwrap()
            .held,
        5_000
    );
    // The log is full at 3 entries: "存储满,请先结算".
    let full = Terminal::completion(&mut t, &card, 5_000, &auth, &date).await;
    assert!(
        matches!(full, Err(TerminalError::Refused(ref m)) if m.contains("存储满")),
        "{full:?}"
    );
    assert_eq!(t.read_display(), "存储满,请先结算");
    // Test state cannot change with transactions in the batch.
    assert!(Terminal::set_test_mode(&mut t, true).is_err());
    assert_eq!(Terminal::settle(&mut t).await.unwrap(), ('1', '1'));
    Terminal::set_test_mode(&mut t, true).unwrap();
    assert!(
        Terminal::completion(&mut t, &card, 5_000, &auth, &date)
            .await
            .unwrap()
            .approved(),
        "pre-auths survive settlement"
    );
    let comp_voucher = t.log.last().unwrap().stan.clone();
    assert!(
        Terminal::completion_void(&mut t, &card, &comp_voucher, "123456")
            .await
            .unwrap()
            .approved()
    );
    // The last requests carried the test-state nibble in header byte 2.
    let last_in = h
        .transcript
        .records()
        .into_iter()
        .rev()
        .find(|r| r.kind == RecordKind::Frame && r.dir == posconf::transcript::Direction::In)
        .unwrap();
    assert_eq!(last_in.decoded.unwrap()["header"], "603110310000");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slips_are_printed_with_the_transaction_elements() {
    use posconf::terminal::Terminal;
    let h = host(Behaviours::default()).await;
    let mut t = sim(&h, Faults::default());
    t.sign_in().await.unwrap();
    let card = good_card();
    assert!(t.purchase(&card, 12_345).await.unwrap().approved());
    let slip = Terminal::last_receipt(&t).expect("a slip");
    let voucher = &t.log[0].stan;
    let rrn = &t.log[0].rrn;
    assert!(
        slip.contains(&format!("凭证号(VOUCHER NO.):\n  {voucher}\n")),
        "{slip}"
    );
    assert!(
        slip.contains(&format!("参考号(REF. NO.):\n  {rrn}\n")),
        "{slip}"
    );
    assert!(
        slip.contains("卡号(CARD NO.):\n  622588******7890 S\n"),
        "{slip}"
    );
    assert!(slip.contains("金额(AMOUNT):\n  RMB 123.45\n"), "{slip}");
    assert!(slip.contains("招商银行"), "issuer text from 63.2: {slip}");
    Terminal::reprint(&mut t).await.unwrap();
    assert!(Terminal::last_receipt(&t)
        .unwrap()
        .contains("****重打印/DUPLICATED****"));
    t.settle().await.unwrap();
    let s = Terminal::last_receipt(&t).unwrap();
    assert!(
        s.starts_with("结算总计单 / SETTLEMENT REPORT") && s.contains("内卡 对帐平 BALANCED"),
        "{s}"
    );
    // The year comes from the terminal's clock (the centre sends MMDD only): normalise it.
    let slip: String = slip
        .lines()
        .map(|l| match l.strip_prefix("  ") {
            Some(v)
                if v.len() > 5
                    && v.as_bytes()[4] == b'/'
                    && v[..4].bytes().all(|b| b.is_ascii_digit()) =>
            {
                format!("  YYYY{}\n", &v[4..])
            }
            _ => format!("{l}\n"),
        })
        .collect();
    insta::assert_snapshot!("sim_sales_slip", slip);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_settlement_is_trickled_before_0500_and_auto_sign_off_follows() {
    let h = host(Behaviours::default()).await;
    let mut t = sim(&h, Faults::default());
    t.config.auto_sign_off = true;
    t.sign_in().await.unwrap();
    let card = good_card();
    assert!(t.purchase(&card, 1_000).await.unwrap().approved());
    t.offline_settlement(GOOD_PAN, "2512", 500, "654321")
        .await
        .unwrap();
    assert_eq!(balance(&h), 1_000_000 - 1_000, "offline: nothing sent yet");
    assert_eq!(
        t.settle().await.unwrap(),
        ('1', '1'),
        "the offline item is in both totals"
    );
    assert_eq!(balance(&h), 1_000_000 - 1_500);
    let mtis: Vec<String> = requests(&h).into_iter().map(|(m, _)| m).collect();
    let at = |m: &str| mtis.iter().position(|x| x == m).unwrap();
    assert!(
        at("0220") < at("0500"),
        "trickled before settlement: {mtis:?}"
    );
    assert_eq!(
        mtis.last().map(String::as_str),
        Some("0820"),
        "auto sign-off"
    );
    assert!(!t.signed_in);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_batch_upload_resumes_from_its_break_point() {
    let mut b = Behaviours::default();
    // The second 0320 list gets no answer once.
    b.push(
        Behaviour::new(
            Matcher {
                txn: Some("batch_upload".into()),
                ..Default::default()
            },
            vec![Action::NoReply],
        )
        .from_nth(2)
        .times(1),
    );
    let h = host(b).await;
    let mut t = sim(
        &h,
        Faults {
            wrong_totals: true,
            ..Faults::default()
        },
    );
    t.sign_in().await.unwrap();
    let card = good_card();
    for i in 0..12u64 {
        assert!(t.purchase(&card, 100 + i).await.unwrap().approved());
    }
    assert!(t.settle().await.is_err(), "interrupted");
    assert!(t.upload_pending.is_some());
    assert_eq!(
        t.log.iter().filter(|e| e.uploaded).count(),
        8,
        "the first list went through"
    );
    assert_eq!(t.settle().await.unwrap(), ('2', '1'));
    let mtis: Vec<String> = requests(&h).into_iter().map(|(m, _)| m).collect();
    assert_eq!(
        mtis.iter().filter(|m| *m == "0500").count(),
        1,
        "no second settlement request: {mtis:?}"
    );
    // 8-item list, 4-item list (lost), 4-item list again, end.
    assert_eq!(mtis.iter().filter(|m| *m == "0320").count(), 4, "{mtis:?}");
    let uploaded = h
        .centre
        .lock()
        .unwrap()
        .journal
        .entries()
        .iter()
        .filter(|e| e.uploaded)
        .count();
    assert_eq!(uploaded, 12);
    assert_eq!(t.batch, "000002");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reversal_reasons_96_and_06() {
    let h = host(Behaviours::default()).await;
    let mut t = sim(
        &h,
        Faults {
            fail_after_approval: true,
            ..Faults::default()
        },
    );
    t.sign_in().await.unwrap();
    let card = good_card();
    assert_eq!(
        t.purchase(&card, 800).await.unwrap().code.as_deref(),
        Some("96")
    );
    t.config.faults.fail_after_approval = false;
    assert!(t.purchase(&card, 100).await.unwrap().approved());
    assert_eq!(
        balance(&h),
        1_000_000 - 100,
        "the uncompleted approval was reversed"
    );
    assert!(requests(&h).contains(&("0400".to_string(), Some("96".to_string()))));
    h.shutdown().await;

    // The host closes the connection instead of answering: a network error, reason 06.
    let mut b = Behaviours::default();
    b.push(
        Behaviour::new(
            Matcher {
                txn: Some("purchase".into()),
                ..Default::default()
            },
            vec![Action::Close],
        )
        .times(1),
    );
    let h = host(b).await;
    let mut t = sim(&h, Faults::default());
    t.sign_in().await.unwrap();
    assert_eq!(t.purchase(&card, 800).await.unwrap().code, None);
    assert_eq!(t.reversal.as_ref().map(|r| r.reason), Some("06"));
    assert!(t.purchase(&card, 100).await.unwrap().approved());
    assert!(requests(&h).contains(&("0400".to_string(), Some("06".to_string()))));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_and_a_slip_missing_its_voucher() {
    use posconf::terminal::{Terminal, TerminalError};
    let h = host(Behaviours::default()).await;
    let mut t = sim(
        &h,
        Faults {
            missing_voucher_on_slip: true,
            ..Faults::default()
        },
    );
    Terminal::operator_sign_in(&mut t, "01", "0000")
        .await
        .unwrap();
    t.sign_in().await.unwrap();
    let card = good_card();
    Terminal::lock(&mut t).unwrap();
    assert!(matches!(
        Terminal::purchase(&mut t, &card, 100).await,
        Err(TerminalError::Refused(_))
    ));
    assert!(Terminal::unlock(&mut t, "1111").is_err());
    Terminal::unlock(&mut t, "0000").unwrap();
    assert!(Terminal::purchase(&mut t, &card, 100)
        .await
        .unwrap()
        .approved());
    assert!(
        !Terminal::last_receipt(&t).unwrap().contains("凭证号"),
        "the fault switch drops the voucher element"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adjust_with_tip_and_the_detail_slip() {
    let h = host(Behaviours::default()).await;
    let mut t = sim(&h, Faults::default());
    t.sign_in().await.unwrap();
    let card = good_card();
    assert!(t.purchase(&card, 10_000).await.unwrap().approved());
    assert!(t.purchase(&card, 2_000).await.unwrap().approved());
    let (v1, v2) = (t.log[0].stan.clone(), t.log[1].stan.clone());
    t.adjust(&v1, 0, 1_500).await.unwrap();
    t.adjust(&v2, 1_800, 0).await.unwrap();
    let detail = t.detail_slip();
    assert!(
        detail.contains("ADJUST") && detail.contains("115.00") && detail.contains("18.00"),
        "{detail}"
    );
    assert!(
        !detail.contains(" 100.00 "),
        "adjusted originals are not listed twice: {detail}"
    );
    assert_eq!(
        t.settle().await.unwrap(),
        ('1', '1'),
        "adjusted originals count only through their adjustments"
    );
    assert_eq!(balance(&h), 1_000_000 - 11_500 - 1_800);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_centre_asks_for_a_parameter_download_and_status_upload_works() {
    let mut b = Behaviours::default();
    b.push(
        Behaviour::new(
            Matcher {
                txn: Some("purchase".into()),
                ..Default::default()
            },
            vec![Action::RequestParams],
        )
        .times(1),
    );
    let h = host(b).await;
    let mut t = sim(&h, Faults::default());
    t.sign_in().await.unwrap();
    let card = good_card();
    assert!(t.purchase(&card, 100).await.unwrap().approved());
    assert!(t.params_due, "header processing requirement 1 noticed");
    assert!(t.purchase(&card, 100).await.unwrap().approved());
    assert!(!t.params_due);
    assert_eq!(t.params.get("tip_percent").map(String::as_str), Some("15"));
    assert_eq!(
        t.config.timeout,
        Duration::from_secs(60),
        "timeout_s applied"
    );
    let mtis: Vec<String> = requests(&h).into_iter().map(|(m, _)| m).collect();
    assert_eq!(
        mtis,
        ["0800", "0200", "0800", "0200"],
        "download before the next transaction"
    );
    assert_eq!(t.upload_status().await.unwrap().code.as_deref(), Some("00"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_off_settles_an_open_batch_first() {
    let h = host(Behaviours::default()).await;
    let mut t = sim(&h, Faults::default());
    t.sign_in().await.unwrap();
    assert!(t.purchase(&good_card(), 100).await.unwrap().approved());
    assert!(t.sign_off().await.unwrap().approved());
    let mtis: Vec<String> = requests(&h).into_iter().map(|(m, _)| m).collect();
    assert_eq!(mtis, ["0800", "0200", "0500", "0820"], "seed 6.3.4");
    assert!(t.log.is_empty() && !t.signed_in);
    assert_eq!(t.batch, "000002");
    // With nothing to settle, sign-off is just the 0820.
    t.sign_in().await.unwrap();
    assert!(t.sign_off().await.unwrap().approved());
    let mtis: Vec<String> = requests(&h).into_iter().map(|(m, _)| m).collect();
    assert_eq!(&mtis[4..], ["0800", "0820"]);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sign_in_or_trade_without_a_general_operator() {
    use posconf::terminal::{Terminal, TerminalError};
    let h = host(Behaviours::default()).await;
    let mut t = sim(&h, Faults::default());
    assert!(Terminal::operator_sign_in(&mut t, "01", "1234")
        .await
        .is_err());
    assert!(matches!(t.sign_in().await, Err(TerminalError::NoOperator)));
    Terminal::operator_sign_in(&mut t, "00", "123456")
        .await
        .unwrap();
    assert!(matches!(t.sign_in().await, Err(TerminalError::Refused(_))));
    assert!(requests(&h).is_empty(), "nothing sent");
    Terminal::operator_sign_in(&mut t, "03", "0000")
        .await
        .unwrap();
    assert!(t.sign_in().await.unwrap().approved());
    Terminal::operator_sign_in(&mut t, "00", "123456")
        .await
        .unwrap();
    assert!(matches!(
        t.purchase(&good_card(), 100).await,
        Err(TerminalError::Refused(_))
    ));
    assert_eq!(requests(&h).len(), 1, "only the sign-in went out");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balance_inquiries_take_no_storage() {
    let h = host(Behaviours::default()).await;
    let mut t = sim(&h, Faults::default());
    t.config.max_transactions = 1;
    t.sign_in().await.unwrap();
    let card = good_card();
    assert!(t.balance(&card).await.unwrap().approved());
    assert!(t.balance(&card).await.unwrap().approved());
    assert!(t.log.is_empty(), "not batch transactions (seed 6.3.3)");
    assert!(t.display.contains("余额 RMB"), "{}", t.display);
    assert!(t.purchase(&card, 100).await.unwrap().approved());
    assert!(t.purchase(&card, 100).await.is_err(), "storage full");
    h.shutdown().await;
}
