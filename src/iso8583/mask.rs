//! Masking for display: PANs keep the first 6 and last 4 digits, tracks keep only the masked
//! PAN and the separator, PIN blocks disappear. Reports call this unless `--reveal` is given.

use super::spec::{Align, Encoding, FieldSpec, Sensitivity};

/// `6225881234567890` → `622588******7890`. Short numbers keep only the last 4.
pub fn mask_pan(pan: &str) -> String {
    let n = pan.chars().count();
    pan.chars()
        .enumerate()
        .map(|(i, c)| {
            let keep = if n > 10 {
                i < 6 || i >= n - 4
            } else {
                i + 4 >= n && n > 4
            };
            if keep {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// `6225881234567890=2512201123` → `622588******7890=**********`.
pub fn mask_track(track: &str) -> String {
    match track.split_once('=') {
        Some((pan, rest)) => format!("{}={}", mask_pan(pan), "*".repeat(rest.chars().count())),
        None => "*".repeat(track.chars().count()),
    }
}

/// A field's value for display by its id (`"35"`, `"60.2"`), masked per the dialect's
/// declared sensitivity of the (parent) field.
pub fn mask_by_id(dialect: &super::spec::Dialect, id: &str, value: &str) -> String {
    let number: Option<u8> = id.split('.').next().and_then(|n| n.parse().ok());
    match number.and_then(|n| dialect.field(n)) {
        Some(spec) => mask_value(spec, value),
        None => value.to_string(),
    }
}

/// Free text (a failure line, a slip element) with every run of 13 to 19 digits masked like a
/// PAN: the safety net for text built from values whose field is not known any more.
pub fn mask_digit_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if (13..=19).contains(&run.len()) {
            out.push_str(&mask_pan(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The display value of a field, masked per its declared sensitivity.
pub fn mask_value(spec: &FieldSpec, value: &str) -> String {
    match spec.sensitivity {
        Sensitivity::None => value.to_string(),
        Sensitivity::Pan => mask_pan(value),
        Sensitivity::Track => mask_track(value),
        Sensitivity::Secret => "*".repeat(value.chars().count()),
    }
}

/// The raw hex of a field (prefix included) with the nibbles of masked characters starred.
pub fn mask_raw(spec: &FieldSpec, raw_hex: &str, prefix_len: usize, masked_value: &str) -> String {
    if spec.sensitivity == Sensitivity::None {
        return raw_hex.to_string();
    }
    let (prefix, data) = raw_hex.split_at((prefix_len * 2).min(raw_hex.len()));
    if spec.encoding != Encoding::Bcd {
        return format!("{prefix}{}", "*".repeat(data.len()));
    }
    let units = masked_value.chars().count();
    let skip = usize::from(units % 2 == 1 && spec.align == Align::Right);
    let masked: Vec<char> = masked_value.chars().collect();
    let data: String = data
        .chars()
        .enumerate()
        .map(
            |(i, c)| match i.checked_sub(skip).and_then(|d| masked.get(d)) {
                Some('*') => '*',
                _ => c,
            },
        )
        .collect();
    format!("{prefix}{data}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso8583::cup::CUP_DIRECT;

    #[test]
    fn pans_and_tracks() {
        assert_eq!(mask_pan("6225881234567890"), "622588******7890");
        assert_eq!(mask_pan("6225881234567890123"), "622588*********0123");
        assert_eq!(mask_pan("12345678"), "****5678");
        assert_eq!(
            mask_track("6225881234567890=2512201"),
            "622588******7890=*******"
        );
    }

    #[test]
    fn raw_hex_is_masked_on_the_same_nibbles() {
        let f2 = CUP_DIRECT.field(2).unwrap();
        let v = mask_value(f2, "6225881234567890");
        assert_eq!(
            mask_raw(f2, "166225881234567890", 1, &v),
            "16622588******7890"
        );
        let f35 = CUP_DIRECT.field(35).unwrap();
        let v = mask_value(f35, "6225881234567890=25");
        assert_eq!(
            mask_raw(f35, "196225881234567890D250", 1, &v),
            "19622588******7890D**0"
        );
        let f52 = CUP_DIRECT.field(52).unwrap();
        assert_eq!(
            mask_raw(f52, "4AF9E141A5EE0E3B", 0, "x"),
            "****************"
        );
    }
}

#[cfg(test)]
mod digit_run_tests {
    use super::*;

    #[test]
    fn digit_runs_of_pan_length_are_masked_and_shorter_numbers_kept() {
        assert_eq!(
            mask_digit_runs("found \"6225881234567890=2512201\" amount 000000000100"),
            "found \"622588******7890=2512201\" amount 000000000100"
        );
        let d = crate::iso8583::cup_codec().dialect;
        assert_eq!(mask_by_id(d, "2", "6225881234567890"), "622588******7890");
        assert_eq!(mask_by_id(d, "52", "892831C93580F022"), "****************");
        assert_eq!(mask_by_id(d, "60.2", "000001"), "000001");
    }
}
