//! Field-by-field comparison of two messages, the basis of "expected vs found" in checks.

use super::message::{Message, Value};

/// One difference between two messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDiff {
    /// `mti` or the field number.
    pub field: String,
    pub left: Option<String>,
    pub right: Option<String>,
}

impl std::fmt::Display for FieldDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".into());
        write!(
            f,
            "{}: {} != {}",
            self.field,
            show(&self.left),
            show(&self.right)
        )
    }
}

/// Every field (and the MTI) whose presence or value differs, in field order.
pub fn diff(left: &Message, right: &Message) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    if left.mti != right.mti {
        out.push(FieldDiff {
            field: "mti".into(),
            left: Some(left.mti.to_string()),
            right: Some(right.mti.to_string()),
        });
    }
    for n in 2..=64u8 {
        let (a, b) = (left.get(n), right.get(n));
        if a != b {
            out.push(FieldDiff {
                field: n.to_string(),
                left: a.map(Value::display),
                right: b.map(Value::display),
            });
        }
    }
    out
}

/// Like [`diff`] but only over the listed fields.
pub fn diff_fields(left: &Message, right: &Message, fields: &[u8]) -> Vec<FieldDiff> {
    diff(left, right)
        .into_iter()
        .filter(|d| d.field.parse::<u8>().is_ok_and(|n| fields.contains(&n)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso8583::message::Mti;

    #[test]
    fn reports_changed_added_and_removed_fields() {
        let a = Message::new(Mti::parse("0200").unwrap())
            .with(3, "000000")
            .with(11, "000001")
            .with(52, vec![1u8; 8]);
        let b = Message::new(Mti::parse("0400").unwrap())
            .with(3, "000000")
            .with(11, "000002")
            .with(39, "98");
        let d = diff(&a, &b);
        let fields: Vec<_> = d.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["mti", "11", "39", "52"]);
        assert_eq!(d[1].to_string(), "11: 000001 != 000002");
        assert_eq!(d[2].left, None);
        assert_eq!(d[3].left.as_deref(), Some("0101010101010101"));
        assert_eq!(diff_fields(&a, &b, &[11]).len(), 1);
        assert!(diff(&a, &a).is_empty());
    }
}
