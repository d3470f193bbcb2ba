//! Reading frames given on the command line: hex as an argument, a file or stdin.

use std::io::Read;
use std::path::Path;

/// Bytes from hex text (whitespace, `0x` prefixes and `:` separators allowed). The error names
/// the first offending character and its position.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut digits = String::with_capacity(text.len());
    let cleaned = text.replace("0x", " ").replace("0X", " ");
    for (i, c) in cleaned.chars().enumerate() {
        if c.is_ascii_hexdigit() {
            digits.push(c);
        } else if !(c.is_whitespace() || c == ':') {
            return Err(format!("not hex: {c:?} at character {i}"));
        }
    }
    if digits.len() % 2 == 1 {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    hex::decode(&digits).map_err(|e| e.to_string())
}

/// A frame from `arg` (hex), `file` (hex text or raw binary) or stdin (hex text or binary).
pub fn read_frame(arg: Option<&str>, file: Option<&Path>) -> Result<Vec<u8>, String> {
    let data = match (arg, file) {
        (Some(a), _) if a != "-" => return parse_hex(a),
        (_, Some(f)) => std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?,
        _ => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| format!("<stdin>: {e}"))?;
            buf
        }
    };
    let is_text = data.iter().all(|b| {
        b.is_ascii_hexdigit() || b.is_ascii_whitespace() || *b == b':' || *b == b'x' || *b == b'X'
    });
    if is_text {
        parse_hex(&String::from_utf8_lossy(&data))
    } else {
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_forms() {
        assert_eq!(parse_hex("00 3C\n60:00").unwrap(), [0x00, 0x3C, 0x60, 0x00]);
        assert_eq!(parse_hex("0x0a0B").unwrap(), [0x0A, 0x0B]);
        assert!(parse_hex("0G").unwrap_err().contains("'G' at character 1"));
        assert!(parse_hex("abc").unwrap_err().contains("odd"));
    }
}
