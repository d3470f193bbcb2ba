//! Packed BCD helpers shared by field data and length prefixes.

/// Nibble value of each ASCII byte in numeric/track data; `0xFF` where not allowed.
pub const NIBBLE: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut c = 0;
    while c < 10 {
        t[b'0' as usize + c] = c as u8;
        c += 1;
    }
    let mut h = 0;
    while h < 6 {
        t[b'A' as usize + h] = 10 + h as u8;
        t[b'a' as usize + h] = 10 + h as u8;
        h += 1;
    }
    t[b'=' as usize] = 0xD;
    t
};

/// ASCII rendering of each nibble (`=` for the track separator D).
pub const NIBBLE_CHAR: &[u8; 16] = b"0123456789ABC=EF";

/// Whether a byte holds two decimal digits.
pub const IS_BCD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b >> 4) <= 9 && (b & 0x0F) <= 9;
        b += 1;
    }
    t
};

/// Pack ASCII nibble characters (already validated against [`NIBBLE`]) two to a byte.
pub fn pack_ascii(out: &mut Vec<u8>, s: &[u8], left: bool, pad: u8) {
    let nib = |c: u8| NIBBLE[c as usize] & 0x0F;
    let odd = s.len() % 2 == 1;
    let mut rest = s;
    if odd && !left {
        out.push((pad << 4) | nib(s[0]));
        rest = &s[1..];
    }
    let pairs = rest.chunks_exact(2);
    let tail = pairs.remainder();
    out.extend(pairs.map(|p| (nib(p[0]) << 4) | nib(p[1])));
    if let Some(&last) = tail.first() {
        out.push((nib(last) << 4) | pad);
    }
}

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
#[inline]
pub fn write_len(out: &mut Vec<u8>, len: usize, bytes: usize) {
    let two = |v: usize| (((v / 10) % 10) << 4 | (v % 10)) as u8;
    match bytes {
        0 => {}
        1 => out.push(two(len)),
        _ => {
            out.push(two(len / 100));
            out.push(two(len));
        }
    }
}

/// Pack nibbles; `left` aligns data first and the pad nibble last.
pub fn pack_nibbles(
    out: &mut Vec<u8>,
    nibbles: impl ExactSizeIterator<Item = u8>,
    left: bool,
    pad: u8,
) {
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
