//! Packed BCD helpers shared by field data and length prefixes.

/// Nibble value of an ASCII character allowed in numeric/track data (`=` is nibble D).
#[inline]
pub fn char_nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'=' | b'D' | b'd' => Some(0xD),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Display character for a nibble of track data: digits, `=` for D, hex letters otherwise.
#[inline]
pub fn track_char(n: u8) -> char {
    match n {
        0..=9 => (b'0' + n) as char,
        0xD => '=',
        _ => (b'A' + n - 10) as char,
    }
}

/// Read a BCD length prefix of `bytes` bytes; `None` if any nibble is not a digit.
pub fn read_len(bytes: &[u8]) -> Option<usize> {
    let mut v = 0usize;
    for b in bytes {
        let (hi, lo) = (b >> 4, b & 0x0F);
        if hi > 9 || lo > 9 {
            return None;
        }
        v = v * 100 + (hi as usize) * 10 + lo as usize;
    }
    Some(v)
}

/// Append `len` as a BCD prefix of `bytes` bytes (caller guarantees it fits).
pub fn write_len(out: &mut Vec<u8>, len: usize, bytes: usize) {
    let mut digits = [0u8; 4];
    let mut v = len;
    for d in digits.iter_mut().rev() {
        *d = (v % 10) as u8;
        v /= 10;
    }
    let start = 4 - bytes * 2;
    for pair in digits[start..].chunks(2) {
        out.push((pair[0] << 4) | pair[1]);
    }
}

/// Pack nibbles; `left` aligns data first and the pad nibble last.
pub fn pack_nibbles(out: &mut Vec<u8>, nibbles: impl ExactSizeIterator<Item = u8>, left: bool, pad: u8) {
    let n = nibbles.len();
    let odd = n % 2 == 1;
    let mut pending: Option<u8> = if odd && !left { Some(pad) } else { None };
    for nib in nibbles {
        match pending.take() {
            Some(hi) => out.push((hi << 4) | nib),
            None => pending = Some(nib),
        }
    }
    if let Some(hi) = pending {
        out.push((hi << 4) | pad);
    }
}

/// Byte `i`'s high and low nibbles, as one iterator.
pub fn nibbles(bytes: &[u8]) -> impl Iterator<Item = u8> + '_ {
    bytes.iter().flat_map(|b| [b >> 4, b & 0x0F])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixes_round_trip() {
        let mut out = Vec::new();
        write_len(&mut out, 19, 1);
        write_len(&mut out, 322, 2);
        assert_eq!(out, [0x19, 0x03, 0x22]);
        assert_eq!(read_len(&out[..1]), Some(19));
        assert_eq!(read_len(&out[1..]), Some(322));
        assert_eq!(read_len(&[0x1A]), None);
    }

    #[test]
    fn odd_nibbles_pad_on_the_aligned_side() {
        let mut left = Vec::new();
        pack_nibbles(&mut left, [0u8, 2, 1].into_iter(), true, 0);
        assert_eq!(left, [0x02, 0x10]);
        let mut right = Vec::new();
        pack_nibbles(&mut right, [0u8, 2, 1].into_iter(), false, 0);
        assert_eq!(right, [0x00, 0x21]);
        let mut padf = Vec::new();
        pack_nibbles(&mut padf, [1u8, 2, 3].into_iter(), true, 0xF);
        assert_eq!(padf, [0x12, 0x3F]);
    }
}
