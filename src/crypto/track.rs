//! Track data encryption with the TDK (field 53 digit 3 = 1, digest §7): the 16 nibbles ending
//! just before the last digit (odd length) or last two digits (even length) are replaced by
//! their 3DES encryption. Tracks are nibble strings with `=` for the separator D.

use super::error::CryptoError;
use super::key::DesKey;

fn window(track: &str) -> Result<(usize, usize), CryptoError> {
    let n = track.len();
    if n < 17 {
        return Err(CryptoError::Track(format!(
            "{n} nibbles: needs at least 17 to encrypt"
        )));
    }
    let end = if n % 2 == 1 { n - 1 } else { n - 2 };
    Ok((end - 16, end))
}

fn to_nibbles(s: &str) -> Result<Vec<u8>, CryptoError> {
    s.chars()
        .map(|c| match c {
            '=' => Ok(0xD),
            c => c
                .to_digit(16)
                .map(|d| d as u8)
                .ok_or_else(|| CryptoError::Track(format!("{c:?} is not a track nibble"))),
        })
        .collect()
}

fn from_nibbles(n: &[u8]) -> String {
    n.iter()
        .map(|&x| {
            if x == 0xD {
                '='
            } else {
                char::from_digit(x as u32, 16)
                    .unwrap_or('?')
                    .to_ascii_uppercase()
            }
        })
        .collect()
}

fn apply(tdk: &DesKey, track: &str, enc: bool) -> Result<String, CryptoError> {
    let (a, b) = window(track)?;
    let mut nib = to_nibbles(track)?;
    let mut block = [0u8; 8];
    for i in 0..8 {
        block[i] = (nib[a + 2 * i] << 4) | nib[a + 2 * i + 1];
    }
    let out = if enc {
        tdk.encrypt_block(block)
    } else {
        tdk.decrypt_block(block)
    };
    for i in 0..8 {
        nib[a + 2 * i] = out[i] >> 4;
        nib[a + 2 * i + 1] = out[i] & 0x0F;
    }
    debug_assert_eq!(b - a, 16);
    Ok(from_nibbles(&nib))
}

pub fn encrypt_track(tdk: &DesKey, track: &str) -> Result<String, CryptoError> {
    apply(tdk, track, true)
}

pub fn decrypt_track(tdk: &DesKey, track: &str) -> Result<String, CryptoError> {
    apply(tdk, track, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_and_round_trip() {
        let tdk = DesKey::from_hex("89ABCDEF0123456776543210FEDCBA98").unwrap();
        let t2 = "6225881234567890=25122011234567890"; // 34 nibbles, even
        let e = encrypt_track(&tdk, t2).unwrap();
        assert_eq!(e.len(), t2.len());
        assert_eq!(&e[..16], &t2[..16], "nibbles before the window are clear");
        assert_eq!(&e[32..], &t2[32..], "last two digits stay clear");
        // The window is the 8 bytes 3DES-encrypted.
        let clear_block = hex::decode(t2[16..32].replace('=', "D")).unwrap();
        let enc = tdk.encrypt_block(clear_block.try_into().unwrap());
        assert_eq!(e[16..32].replace('=', "D"), hex::encode_upper(enc));
        assert_eq!(decrypt_track(&tdk, &e).unwrap(), t2);
        assert!(encrypt_track(&tdk, "1234").is_err());
    }
}
