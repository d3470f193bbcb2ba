//! ANSI X9.8 PIN blocks (seed §5.2.3, appendix 1): format 0 binds the PIN to the PAN (field 53
//! digit 1 = 2); the "without PAN" form (53 digit 1 = 1) is the PIN field alone.

use super::error::CryptoError;
use super::key::DesKey;

/// `0` + length nibble + PIN digits + `F` padding.
pub fn pin_field(pin: &str) -> Result<[u8; 8], CryptoError> {
    let digits = pin.bytes().all(|b| b.is_ascii_digit());
    if !(4..=12).contains(&pin.len()) || !digits {
        return Err(CryptoError::PinFormat {
            len: pin.len(),
            digits,
        });
    }
    let mut nibbles = vec![0u8, pin.len() as u8];
    nibbles.extend(pin.bytes().map(|b| b - b'0'));
    nibbles.resize(16, 0xF);
    let mut out = [0u8; 8];
    for (i, pair) in nibbles.chunks(2).enumerate() {
        out[i] = (pair[0] << 4) | pair[1];
    }
    Ok(out)
}

/// `0000` + the 12 rightmost PAN digits excluding the check digit.
pub fn pan_field(pan: &str) -> Result<[u8; 8], CryptoError> {
    if !(13..=19).contains(&pan.len()) || !pan.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CryptoError::PanFormat(crate::iso8583::mask::mask_pan(pan)));
    }
    let body = &pan[pan.len() - 13..pan.len() - 1];
    let mut out = [0u8; 8];
    for (i, pair) in body.as_bytes().chunks(2).enumerate() {
        out[2 + i] = ((pair[0] - b'0') << 4) | (pair[1] - b'0');
    }
    Ok(out)
}

pub fn clear_pin_block(pin: &str, pan: Option<&str>) -> Result<[u8; 8], CryptoError> {
    let p = pin_field(pin)?;
    Ok(match pan {
        Some(pan) => {
            let a = pan_field(pan)?;
            let mut o = [0u8; 8];
            for i in 0..8 {
                o[i] = p[i] ^ a[i];
            }
            o
        }
        None => p,
    })
}

pub fn encrypt_pin_block(
    pik: &DesKey,
    pin: &str,
    pan: Option<&str>,
) -> Result<[u8; 8], CryptoError> {
    Ok(pik.encrypt_block(clear_pin_block(pin, pan)?))
}

/// Decrypt and parse; errors say which nibble is wrong without revealing PIN digits.
pub fn decrypt_pin_block(
    pik: &DesKey,
    block: &[u8; 8],
    pan: Option<&str>,
) -> Result<String, CryptoError> {
    let mut clear = pik.decrypt_block(*block);
    if let Some(pan) = pan {
        let a = pan_field(pan)?;
        for i in 0..8 {
            clear[i] ^= a[i];
        }
    }
    let nib: Vec<u8> = clear.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect();
    if nib[0] != 0 {
        return Err(CryptoError::PinBlock(format!(
            "control nibble is {:X}, format 0 needs 0 (wrong PIK or PAN?)",
            nib[0]
        )));
    }
    let len = nib[1] as usize;
    if !(4..=12).contains(&len) {
        return Err(CryptoError::PinBlock(format!(
            "PIN length nibble is {len}, must be 4..12 (wrong PIK or PAN?)"
        )));
    }
    if let Some(i) = nib[2..2 + len].iter().position(|n| *n > 9) {
        return Err(CryptoError::PinBlock(format!(
            "PIN digit {} is not a decimal nibble",
            i + 1
        )));
    }
    if let Some(i) = nib[2 + len..].iter().position(|n| *n != 0xF) {
        return Err(CryptoError::PinBlock(format!(
            "pad nibble {} is not F",
            2 + len + i
        )));
    }
    Ok(nib[2..2 + len].iter().map(|n| (b'0' + n) as char).collect())
}

pub fn verify_pin(
    pik: &DesKey,
    block: &[u8; 8],
    pan: Option<&str>,
    expected: &str,
) -> Result<bool, CryptoError> {
    Ok(decrypt_pin_block(pik, block, pan)? == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// cup-direct-8583.md §13 V2.
    #[test]
    fn digest_vectors() {
        let pan = "6225881234567890";
        assert_eq!(
            hex::encode_upper(pin_field("123456").unwrap()),
            "06123456FFFFFFFF"
        );
        assert_eq!(
            hex::encode_upper(pan_field(pan).unwrap()),
            "0000588123456789"
        );
        assert_eq!(
            hex::encode_upper(clear_pin_block("123456", Some(pan)).unwrap()),
            "06126CD7DCBA9876"
        );
        let des = DesKey::from_hex("0123456789ABCDEF").unwrap();
        assert_eq!(
            hex::encode_upper(encrypt_pin_block(&des, "123456", Some(pan)).unwrap()),
            "3CCC412993FC856E"
        );
        let tdes = DesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let blk = encrypt_pin_block(&tdes, "123456", Some(pan)).unwrap();
        assert_eq!(hex::encode_upper(blk), "4AF9E141A5EE0E3B");
        assert_eq!(decrypt_pin_block(&tdes, &blk, Some(pan)).unwrap(), "123456");
        assert!(verify_pin(&tdes, &blk, Some(pan), "123456").unwrap());
        assert!(!verify_pin(&tdes, &blk, Some(pan), "654321").unwrap());
    }

    #[test]
    fn malformed_blocks_do_not_leak_digits() {
        let k = DesKey::from_hex("0123456789ABCDEF").unwrap();
        let blk = encrypt_pin_block(&k, "123456", Some("6225881234567890")).unwrap();
        // Wrong PAN: the clear block no longer parses.
        let e = decrypt_pin_block(&k, &blk, Some("6225889999999990"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("malformed"), "{e}");
        assert!(!e.contains("123456"));
        assert!(pin_field("12a4").is_err());
        assert!(pin_field("123").is_err());
        assert!(pan_field("123").is_err());
        // Without PAN the clear block is the PIN field.
        let nopan = encrypt_pin_block(&k, "8888", None).unwrap();
        assert_eq!(decrypt_pin_block(&k, &nopan, None).unwrap(), "8888");
    }
}
