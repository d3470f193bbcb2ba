//! Typed views of context-dependent field layouts: the same field number carries a different
//! structure depending on the message (field 48 holds the settlement totals in 0500/0510). The
//! layout belongs to the dialect; decode display (`inspect`) and encode (`craft`) both read and
//! write it through [`parts`] and [`join`], so what one prints the other rebuilds byte for byte.

use super::spec::SubFieldSpec;

const fn sf(
    id: &'static str,
    name_zh: &'static str,
    name_en: &'static str,
    len: u16,
) -> SubFieldSpec {
    SubFieldSpec {
        id,
        name_en,
        name_zh,
        len,
    }
}

/// Field 48 of 0500/0510: the settlement totals (digest §9), 62 digits.
pub const SETTLEMENT_48: &[SubFieldSpec] = &[
    sf("48.1", "内卡借记总金额", "RMB debit amount", 12),
    sf("48.2", "内卡借记总笔数", "RMB debit count", 3),
    sf("48.3", "内卡贷记总金额", "RMB credit amount", 12),
    sf("48.4", "内卡贷记总笔数", "RMB credit count", 3),
    sf(
        "48.5",
        "内卡对账应答码",
        "RMB result (1 balanced, 2 not, 3 error)",
        1,
    ),
    sf("48.6", "外卡借记总金额", "Foreign debit amount", 12),
    sf("48.7", "外卡借记总笔数", "Foreign debit count", 3),
    sf("48.8", "外卡贷记总金额", "Foreign credit amount", 12),
    sf("48.9", "外卡贷记总笔数", "Foreign credit count", 3),
    sf("48.10", "外卡对账应答码", "Foreign result", 1),
];

/// The context-dependent layout of field `number` in a message of type `mti`, if any.
pub fn layout(mti: &str, number: u8) -> Option<&'static [SubFieldSpec]> {
    match (mti, number) {
        ("0500" | "0510", 48) => Some(SETTLEMENT_48),
        _ => None,
    }
}

/// The parts of `value` under the context layout. Exact: the parts join back to `value`, or
/// no parts are returned (a value of another length is shown whole only).
pub fn parts<'v>(mti: &str, number: u8, value: &'v str) -> Vec<(&'static SubFieldSpec, &'v str)> {
    let Some(subs) = layout(mti, number) else {
        return Vec::new();
    };
    let total: usize = subs.iter().map(|s| s.len as usize).sum();
    if value.len() != total {
        return Vec::new();
    }
    let mut pos = 0;
    subs.iter()
        .filter_map(|s| {
            let part = value.get(pos..pos + s.len as usize)?;
            pos += s.len as usize;
            Some((s, part))
        })
        .collect()
}

/// Why parts do not join: `id` names the part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{id}: {reason}")]
pub struct ViewError {
    pub id: String,
    pub reason: String,
}

/// Join parts given by id under the context layout of field `number` in `mti`; `None` when the
/// message has no context layout for the field. Every part must be present at its length.
pub fn join(
    mti: &str,
    number: u8,
    given: &std::collections::BTreeMap<String, String>,
) -> Option<Result<String, ViewError>> {
    let subs = layout(mti, number)?;
    let mut out = String::new();
    for s in subs {
        let Some(v) = given.get(s.id) else {
            return Some(Err(ViewError {
                id: s.id.into(),
                reason: "missing".into(),
            }));
        };
        if v.len() != s.len as usize || !v.bytes().all(|c| c.is_ascii_digit()) {
            return Some(Err(ViewError {
                id: s.id.into(),
                reason: format!("must be {} digits, got {v:?}", s.len),
            }));
        }
        out.push_str(v);
    }
    if let Some(k) = given
        .keys()
        .find(|k| !subs.iter().any(|s| s.id == k.as_str()))
    {
        return Some(Err(ViewError {
            id: k.clone(),
            reason: format!("field {number} of {mti} has no such part"),
        }));
    }
    Some(Ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settlement_totals_split_and_join_exactly() {
        let v = "00000000030000300000000010000110000000000000000000000000000001";
        let p = parts("0510", 48, v);
        assert_eq!(p.len(), 10);
        assert_eq!((p[4].0.id, p[4].1), ("48.5", "1"));
        let given = p
            .iter()
            .map(|(s, x)| (s.id.to_string(), x.to_string()))
            .collect();
        assert_eq!(join("0510", 48, &given), Some(Ok(v.to_string())));
        assert!(
            parts("0510", 48, &v[1..]).is_empty(),
            "another length is shown whole"
        );
        assert!(parts("0320", 48, v).is_empty());
        assert_eq!(join("0200", 48, &given), None);
    }
}
