//! Column arithmetic for a 32-column slip printer. A GB2312/GB18030 printer font gives a Chinese
//! character two columns, so widths are counted in columns, never in `char`s or bytes.
//!
//! Wrapping and re-joining are defined together: [`wrap`] only breaks where [`join_wrapped`]
//! puts the text back exactly, so a parsed slip recovers what was rendered.

/// Printable columns of the slip (58 mm roll, 12×24 dot font): 32 ASCII or 16 CJK characters.
pub const PAPER_WIDTH: usize = 32;

/// Indent of wrapped continuation lines; it tells the parser "same value, next line".
pub(crate) const HANG: &str = "  ";

/// Printed columns of one character: 2 for East Asian Wide/Fullwidth (UAX #11) and for the
/// ambiguous-width punctuation a GB2312 font prints wide (`·`, `—`, `“”`, `…`, `×`, `°` ...),
/// 0 for controls and combining marks, 1 otherwise.
pub fn char_width(c: char) -> usize {
    let u = c as u32;
    if u < 0x20 || (0x7F..0xA0).contains(&u) {
        return 0;
    }
    if (0x0300..=0x036F).contains(&u)
        || (0x200B..=0x200F).contains(&u)
        || (0x20D0..=0x20FF).contains(&u)
        || (0xFE00..=0xFE0F).contains(&u)
    {
        return 0;
    }
    if is_wide(u) || is_gb_ambiguous(u) {
        2
    } else {
        1
    }
}

/// Printed columns of a string (sum of [`char_width`]).
pub fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn is_wide(u: u32) -> bool {
    matches!(u,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xA960..=0xA97F
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE10..=0xFE19
        | 0xFE30..=0xFE6F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x2FFFD
        | 0x30000..=0x3FFFD)
}

/// East Asian Ambiguous characters that GB2312 encodes (and a Chinese printer font draws) as
/// full-width.
fn is_gb_ambiguous(u: u32) -> bool {
    matches!(u,
        0x00A7 | 0x00A8 | 0x00B0 | 0x00B1 | 0x00B7 | 0x00D7 | 0x00F7
        | 0x2010..=0x2016
        | 0x2018..=0x2019
        | 0x201C..=0x201D
        | 0x2025..=0x2026
        | 0x2030
        | 0x2032..=0x2033
        | 0x203B
        | 0x2103
        | 0x2116
        | 0x2160..=0x216B
        | 0x2190..=0x2199
        | 0x2460..=0x24FF
        | 0x2500..=0x257F
        | 0x25A0..=0x25FF
        | 0x2605..=0x2606
        | 0x2640
        | 0x2642)
}

fn wide(c: char) -> bool {
    char_width(c) == 2
}

/// Splits `text` into lines of at most `first` columns, then `rest` columns.
///
/// Breaks are taken only where [`join_wrapped`] restores the text: at a single space between
/// two narrow characters (the space is dropped), or between two non-space characters of which
/// one is wide (CJK runs break anywhere). A narrow word longer than the line is cut hard, and
/// reads back with a space inserted; receipt values never have such words in practice.
pub(crate) fn wrap(text: &str, first: usize, rest: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut limit = first.max(2);
    while start < chars.len() {
        let rem = &chars[start..];
        if rem.iter().copied().map(char_width).sum::<usize>() <= limit {
            lines.push(rem.iter().collect());
            break;
        }
        let mut used = 0;
        let mut kmax = 0;
        for (i, &c) in rem.iter().enumerate() {
            let w = char_width(c);
            if used + w > limit {
                break;
            }
            used += w;
            kmax = i + 1;
        }
        let kmax = kmax.max(1);
        let cut = (1..=kmax).rev().find_map(|k| {
            let a = rem[k - 1];
            let b = *rem.get(k)?;
            if b == ' ' {
                let c = *rem.get(k + 1)?;
                (a != ' ' && c != ' ' && !wide(a) && !wide(c)).then_some((k, k + 1))
            } else {
                (a != ' ' && (wide(a) || wide(b))).then_some((k, k))
            }
        });
        let (end, next) = cut.unwrap_or((kmax, kmax));
        lines.push(rem[..end].iter().collect());
        start += next;
        limit = rest.max(2);
    }
    lines
}

/// Appends a wrapped continuation line to the text before it: directly when either side of the
/// break is a wide character, with one space otherwise (the inverse of [`wrap`]).
pub(crate) fn join_wrapped(prev: &mut String, next: &str) {
    if let (Some(a), Some(b)) = (prev.chars().last(), next.chars().next()) {
        if !wide(a) && !wide(b) {
            prev.push(' ');
        }
    }
    prev.push_str(next);
}

/// Spaces to make `s` `width` columns wide (none if it is already wider).
pub(crate) fn pad_to(s: &str, width: usize) -> String {
    " ".repeat(width.saturating_sub(display_width(s)))
}

/// `left` and `right` on one line, `right` flush with the right edge, if both fit with at least
/// one space between them.
pub(crate) fn left_right(left: &str, right: &str) -> Option<String> {
    let used = display_width(left) + display_width(right);
    (used < PAPER_WIDTH).then(|| format!("{left}{}{right}", " ".repeat(PAPER_WIDTH - used)))
}

/// `s` centred on the paper (no trailing spaces), or wrapped flush left if wider than the paper.
pub(crate) fn centered(s: &str) -> Vec<String> {
    let w = display_width(s);
    if w > PAPER_WIDTH {
        return wrap(s, PAPER_WIDTH, PAPER_WIDTH);
    }
    vec![format!("{}{s}", " ".repeat((PAPER_WIDTH - w) / 2))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_count_cjk_twice() {
        assert_eq!(display_width("POS"), 3);
        assert_eq!(display_width("银联POS签购单"), 13);
        assert_eq!(display_width("本人确认以上交易，同意"), 22);
        assert_eq!(display_width("ＲＭＢ"), 6);
        assert_eq!(display_width("￥1.00"), 6);
        assert_eq!(display_width("e\u{301}"), 1);
        assert_eq!(display_width("·"), 2);
        assert_eq!(char_width('\t'), 0);
    }

    fn unwrap_lines(lines: &[String]) -> String {
        let mut out = lines[0].clone();
        for l in &lines[1..] {
            join_wrapped(&mut out, l);
        }
        out
    }

    #[test]
    fn wrap_breaks_words_and_cjk_and_joins_back() {
        let en = "I ACKNOWLEDGE SATISFACTORY RECEIPT OF RELATIVE GOODS/SERVICES";
        let lines = wrap(en, 32, 30);
        assert_eq!(
            lines,
            [
                "I ACKNOWLEDGE SATISFACTORY",
                "RECEIPT OF RELATIVE",
                "GOODS/SERVICES"
            ]
        );
        assert_eq!(unwrap_lines(&lines), en);

        let zh = "本人确认以上交易，同意将其计入本卡账户";
        let lines = wrap(zh, 32, 30);
        assert_eq!(lines, ["本人确认以上交易，同意将其计入本", "卡账户"]);
        assert_eq!(unwrap_lines(&lines), zh);

        let mixed = "上海浦东发展银行 SHANGHAI PUDONG DEVELOPMENT BANK 营业部";
        let lines = wrap(mixed, 32, 30);
        assert!(lines.iter().all(|l| display_width(l) <= 32));
        assert_eq!(unwrap_lines(&lines), mixed);
    }

    #[test]
    fn wrap_never_splits_a_cjk_character_across_the_edge() {
        // 31 narrow columns then a wide character: it must go to the next line.
        let s = format!("{}中文", "A".repeat(31));
        let lines = wrap(&s, 32, 30);
        assert_eq!(lines, [&"A".repeat(31), "中文"]);
    }

    #[test]
    fn placement_helpers() {
        assert_eq!(
            left_right("金额 AMOUNT:", "RMB 1.00").map(|l| display_width(&l)),
            Some(32)
        );
        assert_eq!(left_right(&"X".repeat(20), &"Y".repeat(12)), None);
        assert_eq!(centered("POS SALES SLIP"), ["         POS SALES SLIP"]);
        assert_eq!(pad_to("凭证号", 7), " ");
    }
}
