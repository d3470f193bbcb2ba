//! The generic table rule: every request the terminal sent, judged against the row of the
//! dialect's message tables it matches (`iso8583/cup_messages.yaml`). Presence faults cite the
//! message's chapter-11 row, value faults the field's chapter-10 id (or the more specific
//! requirement a check names, e.g. 5.2.3 for the PIN block format).

use super::{violation, Rule, Transcript, Violation};
use crate::iso8583::table::cup_tables;
use crate::iso8583::CUP_DIRECT;

pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![Box::new(FieldsTable)]
}

/// Every field of every request against the message tables.
pub struct FieldsTable;

impl Rule for FieldsTable {
    fn id(&self) -> &'static str {
        "fields.table"
    }
    fn requirement(&self) -> &'static str {
        "11.1.1"
    }
    fn title(&self) -> &'static str {
        "every field of every request as its message table says (M/C/absent, formats, code tables)"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        let tables = cup_tables();
        for f in t.requests() {
            let m = &f.message;
            // PBOC e-purse/e-passbook loads (seed 003, 60.1 = 48) travel in their own
            // documented layout and are judged by the load rules, not by chapter 11's tables.
            if crate::host::issuer::is_pboc(m) {
                continue;
            }
            let Some(row) = tables.row_for(&CUP_DIRECT, m) else {
                let near: Vec<String> = tables
                    .near_rows(&CUP_DIRECT, m)
                    .iter()
                    .map(|r| format!("{} is {}", r.title, r.mti))
                    .collect();
                let f60 = m.text(60).unwrap_or("absent");
                let mut v = violation(
                    self,
                    Some(f),
                    Some("mti"),
                    Some(if near.is_empty() {
                        "a message kind of the tables (MTI with its 60.1 / 60.3)".into()
                    } else {
                        near.join("; ")
                    }),
                    Some(format!("{} with 60 = {f60}", m.mti)),
                    format!(
                        "no message of the tables is MTI {} with 60.1 {} / 60.3 {}",
                        m.mti,
                        f60.get(..2).unwrap_or("-"),
                        f60.get(8..11).unwrap_or("-")
                    ),
                );
                v.requirement = "10.3.1";
                out.push(v);
                continue;
            };
            for finding in tables.judge(&CUP_DIRECT, row, m) {
                let mut v = violation(
                    self,
                    Some(f),
                    Some(&finding.field),
                    Some(finding.expected),
                    Some(finding.found),
                    finding.message,
                );
                v.requirement = intern(&finding.requirement);
                out.push(v);
            }
        }
    }
}

/// Requirement ids come from data; violations hold `&'static str`. The set of ids is small
/// and fixed per table, so each distinct id is leaked once.
fn intern(id: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static IDS: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut guard = IDS.lock().unwrap_or_else(|p| p.into_inner());
    let set = guard.get_or_insert_with(HashSet::new);
    if let Some(s) = set.get(id) {
        return s;
    }
    let s: &'static str = Box::leak(id.to_string().into_boxed_str());
    set.insert(s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::FrameRec;
    use crate::iso8583::{Message, Mti, Value};
    use crate::transcript::Direction;

    fn judge(m: Message) -> Vec<(String, &'static str)> {
        let t = Transcript {
            frames: vec![FrameRec {
                seq: 1,
                conn: 1,
                dir: Direction::In,
                header: None,
                message: m,
                raw: String::new(),
            }],
            events: vec![],
            receipts: vec![],
            bad_frames: vec![],
        };
        let mut v = Vec::new();
        FieldsTable.check(&t, &mut v);
        v.into_iter()
            .map(|v| (v.field.unwrap_or_default(), v.requirement))
            .collect()
    }

    fn purchase() -> Message {
        Message::new(Mti::parse("0200").unwrap())
            .with(3, "000000")
            .with(4, "000000000100")
            .with(11, "000002")
            .with(14, "2512")
            .with(22, "021")
            .with(25, "00")
            .with(26, "12")
            .with(35, "6225881234567890D25122011234567890")
            .with(41, "12345678")
            .with(42, "898110048120001")
            .with(49, "156")
            .with(52, Value::Binary(vec![0; 8]))
            .with(53, "2600000000000000")
            .with(60, "22000001")
            .with(64, Value::Binary(vec![0; 8]))
    }

    fn f(n: &str, r: &'static str) -> (String, &'static str) {
        (n.to_string(), r)
    }

    #[test]
    fn a_conformant_purchase_passes_and_each_fault_names_field_and_requirement() {
        assert_eq!(judge(purchase()), []);
        assert_eq!(judge(purchase().with(3, "200000")), [f("3", "10.3.3")]);
        assert_eq!(
            judge(purchase().with(4, "000000000000")),
            [f("4", "10.3.4")]
        );
        assert_eq!(judge(purchase().with(14, "2513")), [f("14", "10.3.8")]);
        assert_eq!(judge(purchase().with(22, "031")), [f("22", "10.3.10")]);
        assert_eq!(judge(purchase().with(25, "06")), [f("25", "10.3.11")]);
        assert_eq!(judge(purchase().with(49, "840")), [f("49", "10.3.23")]);
        assert_eq!(
            judge(purchase().with(53, "1600000000000000")),
            [f("53", "5.2.3")]
        );
        assert_eq!(
            judge(purchase().with(60, "2200000100050000000")),
            [f("60", "10.3.27")]
        );
        assert_eq!(
            judge(purchase().with(60, "22000000")),
            [f("60.2", "10.3.27")]
        );
        let mut no_mac = purchase();
        no_mac.remove(64);
        assert_eq!(judge(no_mac), [f("64", "11.2.2")]);
        // A PIN-less swipe: no 26, 52; 53 still required for the track.
        let mut no_pin = purchase().with(22, "022");
        no_pin.remove(26);
        no_pin.remove(52);
        assert_eq!(judge(no_pin.clone()), []);
        assert_eq!(judge(no_pin.clone().with(26, "12")), [f("26", "10.3.12")]);
        let mut no_53 = no_pin.clone();
        no_53.remove(53);
        assert_eq!(judge(no_53), [f("53", "11.2.2")]);
        // Swiped without track 2.
        let mut no_track = purchase();
        no_track.remove(35);
        assert_eq!(judge(no_track), [f("35", "11.2.2")]);
        // 52 without 53.
        let mut pin_no_53 = purchase();
        pin_no_53.remove(53);
        assert_eq!(judge(pin_no_53), [f("53", "11.2.2")]);
        // A field the table does not list.
        assert_eq!(
            judge(purchase().with(37, "123456789012")),
            [f("37", "11.2.2")]
        );
    }

    #[test]
    fn messages_of_no_table_row_are_named_with_what_they_may_have_meant() {
        // A refund sent as 0200.
        let refund_as_0200 = purchase().with(3, "200000").with(60, "25000001");
        let t = Transcript {
            frames: vec![FrameRec {
                seq: 1,
                conn: 1,
                dir: Direction::In,
                header: None,
                message: refund_as_0200,
                raw: String::new(),
            }],
            events: vec![],
            receipts: vec![],
            bad_frames: vec![],
        };
        let mut v = Vec::new();
        FieldsTable.check(&t, &mut v);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].requirement, "10.3.1");
        assert!(v[0].expected.as_deref().unwrap().contains("0220"), "{v:?}");
        // An unknown 60.1 type code.
        assert_eq!(judge(purchase().with(60, "77000001")), [f("mti", "10.3.1")]);
    }

    #[test]
    fn management_messages_are_judged_by_their_complete_field_sets() {
        let echo = Message::new(Mti::parse("0820").unwrap())
            .with(41, "12345678")
            .with(42, "898110048120001")
            .with(60, "00000001301");
        assert_eq!(judge(echo.clone()), []);
        assert_eq!(judge(echo.with(11, "000005")), [f("11", "11.4.7")]);
        let sign_off = Message::new(Mti::parse("0820").unwrap())
            .with(41, "12345678")
            .with(42, "898110048120001")
            .with(60, "00000001002");
        assert_eq!(judge(sign_off), [f("11", "11.4.2")]);
        let settle = Message::new(Mti::parse("0500").unwrap())
            .with(11, "000009")
            .with(41, "12345678")
            .with(42, "898110048120001")
            .with(
                48,
                "00000000100000100000000000000000000000000000000000000000000000",
            )
            .with(49, "156")
            .with(60, "00000001201");
        assert_eq!(judge(settle.clone()), [f("63", "11.4.3")]);
        assert_eq!(judge(settle.with(63, "01 ")), []);
    }
}
