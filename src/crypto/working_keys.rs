//! Field 62 of the 0810 sign-in response: working keys (PIK, MAK, TDK) encrypted under the
//! terminal's KEK (TMK) with check values; the layout follows 60.3 (digest §5).

use super::error::CryptoError;
use super::kcv::check_value;
use super::key::{set_odd_parity, DesKey};

/// The key layout chosen by 60.3 of the sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLayout {
    /// 001: single-length PIK and MAK (24 bytes).
    Single001,
    /// 003: double-length PIK, single MAK padded with 8 zero bytes (40 bytes).
    Double003,
    /// 004: as 003 plus a double-length TDK (60 bytes).
    DoubleTdk004,
}

impl KeyLayout {
    pub fn from_code(code: &str) -> Result<KeyLayout, CryptoError> {
        match code {
            "001" => Ok(KeyLayout::Single001),
            "003" => Ok(KeyLayout::Double003),
            "004" => Ok(KeyLayout::DoubleTdk004),
            other => Err(CryptoError::Layout(other.to_string())),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            KeyLayout::Single001 => "001",
            KeyLayout::Double003 => "003",
            KeyLayout::DoubleTdk004 => "004",
        }
    }

    pub fn field62_len(&self) -> usize {
        match self {
            KeyLayout::Single001 => 24,
            KeyLayout::Double003 => 40,
            KeyLayout::DoubleTdk004 => 60,
        }
    }
}

/// Clear working keys of one sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingKeys {
    pub pik: DesKey,
    pub mak: DesKey,
    pub tdk: Option<DesKey>,
}

impl WorkingKeys {
    /// Fresh keys with odd parity; `fill` supplies the randomness (OS random in the host,
    /// a fixed sequence in tests).
    pub fn generate(layout: KeyLayout, fill: &mut dyn FnMut(&mut [u8])) -> WorkingKeys {
        let mut key = |n: usize| {
            let mut b = vec![0u8; n];
            fill(&mut b);
            set_odd_parity(&mut b);
            // 8 and 16 are valid lengths by construction.
            DesKey::from_slice(&b).unwrap_or(DesKey::Single([0x01; 8]))
        };
        match layout {
            KeyLayout::Single001 => WorkingKeys {
                pik: key(8),
                mak: key(8),
                tdk: None,
            },
            KeyLayout::Double003 => WorkingKeys {
                pik: key(16),
                mak: key(8),
                tdk: None,
            },
            KeyLayout::DoubleTdk004 => WorkingKeys {
                pik: key(16),
                mak: key(8),
                tdk: Some(key(16)),
            },
        }
    }
}

fn need(key: &DesKey, what: &'static str, len: usize) -> Result<(), CryptoError> {
    if key.len() == len {
        Ok(())
    } else {
        Err(CryptoError::KeyKind {
            what,
            need: len,
            got: key.len(),
        })
    }
}

/// Build field 62 for the layout.
pub fn encode_field62(
    kek: &DesKey,
    keys: &WorkingKeys,
    layout: KeyLayout,
) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(layout.field62_len());
    let pik_len = if layout == KeyLayout::Single001 {
        8
    } else {
        16
    };
    need(&keys.pik, "PIK", pik_len)?;
    need(&keys.mak, "MAK", 8)?;
    out.extend(kek.encrypt_ecb(keys.pik.as_bytes())?);
    out.extend(check_value(&keys.pik));
    out.extend(kek.encrypt_ecb(keys.mak.as_bytes())?);
    if layout != KeyLayout::Single001 {
        out.extend([0u8; 8]);
    }
    out.extend(check_value(&keys.mak));
    if layout == KeyLayout::DoubleTdk004 {
        let tdk = keys.tdk.as_ref().ok_or(CryptoError::KeyKind {
            what: "TDK",
            need: 16,
            got: 0,
        })?;
        need(tdk, "TDK", 16)?;
        out.extend(kek.encrypt_ecb(tdk.as_bytes())?);
        out.extend(check_value(tdk));
    }
    Ok(out)
}

fn take(f62: &[u8], at: usize, n: usize) -> &[u8] {
    &f62[at..at + n]
}

fn unwrap_key(
    kek: &DesKey,
    enc: &[u8],
    cv: &[u8],
    name: &'static str,
) -> Result<DesKey, CryptoError> {
    let key = DesKey::from_slice(&kek.decrypt_ecb(enc)?)?;
    let computed = check_value(&key);
    if computed.as_slice() != cv {
        return Err(CryptoError::CheckValue {
            key: name,
            expected: hex::encode_upper(cv),
            computed: hex::encode_upper(computed),
        });
    }
    Ok(key)
}

/// Decrypt field 62 and verify every check value.
pub fn decode_field62(
    kek: &DesKey,
    f62: &[u8],
    layout: KeyLayout,
) -> Result<WorkingKeys, CryptoError> {
    if f62.len() != layout.field62_len() {
        return Err(CryptoError::Field62Length {
            layout: layout.code(),
            need: layout.field62_len(),
            got: f62.len(),
        });
    }
    Ok(match layout {
        KeyLayout::Single001 => WorkingKeys {
            pik: unwrap_key(kek, take(f62, 0, 8), take(f62, 8, 4), "PIK")?,
            mak: unwrap_key(kek, take(f62, 12, 8), take(f62, 20, 4), "MAK")?,
            tdk: None,
        },
        KeyLayout::Double003 | KeyLayout::DoubleTdk004 => WorkingKeys {
            pik: unwrap_key(kek, take(f62, 0, 16), take(f62, 16, 4), "PIK")?,
            mak: unwrap_key(kek, take(f62, 20, 8), take(f62, 36, 4), "MAK")?,
            tdk: if layout == KeyLayout::DoubleTdk004 {
                Some(unwrap_key(kek, take(f62, 40, 16), take(f62, 56, 4), "TDK")?)
            } else {
                None
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(h: &str) -> DesKey {
        DesKey::from_hex(h).unwrap()
    }

    /// cup-direct-8583.md §13 V2, layouts 001 and 004.
    #[test]
    fn digest_vectors_both_ways() {
        let keys = WorkingKeys {
            pik: k("0123456789ABCDEF"),
            mak: k("1A2B3C4D5E6F7A8B"),
            tdk: None,
        };
        let f = encode_field62(&k("1111111111111111"), &keys, KeyLayout::Single001).unwrap();
        assert_eq!(
            hex::encode_upper(&f),
            "8A5AE1F81AB8F2DDD5D44FF7AEA538C60015D78848E9E43E"
        );
        assert_eq!(
            decode_field62(&k("1111111111111111"), &f, KeyLayout::Single001).unwrap(),
            keys
        );

        let tmk = k("11111111111111112222222222222222");
        let keys4 = WorkingKeys {
            pik: k("0123456789ABCDEFFEDCBA9876543210"),
            mak: k("1A2B3C4D5E6F7A8B"),
            tdk: Some(k("89ABCDEF0123456776543210FEDCBA98")),
        };
        let f4 = encode_field62(&tmk, &keys4, KeyLayout::DoubleTdk004).unwrap();
        assert_eq!(
            hex::encode_upper(&f4),
            "CB4AB541CD5AD4FC256A882726936A5A08D7B4FB43399D2627552153000000000000000048E9E43ED0D7CB5B1A70AC6A75E0431E2A75B492EB7A8DF9"
        );
        assert_eq!(
            decode_field62(&tmk, &f4, KeyLayout::DoubleTdk004).unwrap(),
            keys4
        );
    }

    #[test]
    fn corrupted_check_value_names_the_key() {
        let tmk = k("11111111111111112222222222222222");
        let keys = WorkingKeys::generate(KeyLayout::DoubleTdk004, &mut |b: &mut [u8]| {
            b.iter_mut().enumerate().for_each(|(i, x)| *x = i as u8 * 7)
        });
        let mut f = encode_field62(&tmk, &keys, KeyLayout::DoubleTdk004).unwrap();
        f[37] ^= 1;
        let e = decode_field62(&tmk, &f, KeyLayout::DoubleTdk004).unwrap_err();
        assert!(
            matches!(e, CryptoError::CheckValue { key: "MAK", .. }),
            "{e}"
        );
        assert!(decode_field62(&tmk, &f[..40], KeyLayout::DoubleTdk004).is_err());
        assert!(KeyLayout::from_code("002").is_err());
        assert_eq!(keys.pik.len(), 16);
        assert!(
            keys.pik.as_bytes().iter().all(|b| b.count_ones() % 2 == 1),
            "odd parity"
        );
    }
}
