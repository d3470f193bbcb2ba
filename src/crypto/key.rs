//! DES keys on the `des` crate. `Debug` shows only the check value, so keys never reach logs or
//! reports by accident; [`DesKey::hex`] is the explicit way to reveal one.

use des::cipher::generic_array::GenericArray;
use des::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use des::{Des, TdesEde2, TdesEde3};

use super::error::CryptoError;

/// A single (8), double (16, K1K2K1) or triple (24) length DES key.
#[derive(Clone, PartialEq, Eq)]
pub enum DesKey {
    Single([u8; 8]),
    Double([u8; 16]),
    Triple([u8; 24]),
}

impl DesKey {
    pub fn from_slice(b: &[u8]) -> Result<DesKey, CryptoError> {
        match b.len() {
            8 => Ok(DesKey::Single(
                b.try_into()
                    .map_err(|_| CryptoError::KeyLength { len: 8 })?,
            )),
            16 => Ok(DesKey::Double(
                b.try_into()
                    .map_err(|_| CryptoError::KeyLength { len: 16 })?,
            )),
            24 => Ok(DesKey::Triple(
                b.try_into()
                    .map_err(|_| CryptoError::KeyLength { len: 24 })?,
            )),
            len => Err(CryptoError::KeyLength { len }),
        }
    }

    /// Parse hex (spaces allowed).
    pub fn from_hex(s: &str) -> Result<DesKey, CryptoError> {
        let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let b = hex::decode(&clean).map_err(|e| CryptoError::Hex {
            what: "key",
            detail: e.to_string(),
        })?;
        DesKey::from_slice(&b)
    }

    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            DesKey::Single(k) => k,
            DesKey::Double(k) => k,
            DesKey::Triple(k) => k,
        }
    }

    /// The key in hex: only for `--reveal` paths.
    pub fn hex(&self) -> String {
        hex::encode_upper(self.as_bytes())
    }

    /// Left 8 bytes (K1).
    pub fn left(&self) -> [u8; 8] {
        let b = self.as_bytes();
        [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]
    }

    pub fn encrypt_block(&self, block: [u8; 8]) -> [u8; 8] {
        let mut b = GenericArray::from(block);
        match self {
            DesKey::Single(k) => Des::new(GenericArray::from_slice(k)).encrypt_block(&mut b),
            DesKey::Double(k) => TdesEde2::new(GenericArray::from_slice(k)).encrypt_block(&mut b),
            DesKey::Triple(k) => TdesEde3::new(GenericArray::from_slice(k)).encrypt_block(&mut b),
        }
        b.into()
    }

    pub fn decrypt_block(&self, block: [u8; 8]) -> [u8; 8] {
        let mut b = GenericArray::from(block);
        match self {
            DesKey::Single(k) => Des::new(GenericArray::from_slice(k)).decrypt_block(&mut b),
            DesKey::Double(k) => TdesEde2::new(GenericArray::from_slice(k)).decrypt_block(&mut b),
            DesKey::Triple(k) => TdesEde3::new(GenericArray::from_slice(k)).decrypt_block(&mut b),
        }
        b.into()
    }

    fn ecb(&self, data: &[u8], what: &'static str, enc: bool) -> Result<Vec<u8>, CryptoError> {
        if data.len() % 8 != 0 {
            return Err(CryptoError::BlockLength {
                what,
                len: data.len(),
            });
        }
        let mut out = Vec::with_capacity(data.len());
        for c in data.chunks_exact(8) {
            let blk = [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]];
            out.extend_from_slice(&if enc {
                self.encrypt_block(blk)
            } else {
                self.decrypt_block(blk)
            });
        }
        Ok(out)
    }

    pub fn encrypt_ecb(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.ecb(data, "ECB encrypt", true)
    }

    pub fn decrypt_ecb(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.ecb(data, "ECB decrypt", false)
    }
}

impl std::fmt::Debug for DesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            DesKey::Single(_) => "Single",
            DesKey::Double(_) => "Double",
            DesKey::Triple(_) => "Triple",
        };
        write!(
            f,
            "DesKey::{kind}(KCV {})",
            hex::encode_upper(super::kcv::check_value(self))
        )
    }
}

/// Set odd parity on every byte, as HSMs do for generated keys.
pub fn set_odd_parity(key: &mut [u8]) {
    for b in key.iter_mut() {
        let ones = (*b & 0xFE).count_ones();
        *b = (*b & 0xFE) | u8::from(ones % 2 == 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_debug_never_show_the_key() {
        assert!(matches!(
            DesKey::from_hex("0123456789ABCDEF"),
            Ok(DesKey::Single(_))
        ));
        assert!(matches!(
            DesKey::from_hex("0123456789ABCDEF FEDCBA9876543210"),
            Ok(DesKey::Double(_))
        ));
        assert_eq!(
            DesKey::from_hex("0102030405").unwrap_err(),
            CryptoError::KeyLength { len: 5 }
        );
        let k = DesKey::from_hex("0123456789ABCDEF").unwrap();
        let dbg = format!("{k:?}");
        assert_eq!(dbg, "DesKey::Single(KCV D5D44FF7)");
        assert!(!dbg.contains("0123"));
    }

    #[test]
    fn double_key_with_equal_halves_is_single_des() {
        let s = DesKey::from_hex("0723C80DB5F4CD3D").unwrap();
        let d = DesKey::from_hex("0723C80DB5F4CD3D0723C80DB5F4CD3D").unwrap();
        let blk = *b"ABCDEFGH";
        assert_eq!(s.encrypt_block(blk), d.encrypt_block(blk));
        assert_eq!(d.decrypt_block(d.encrypt_block(blk)), blk);
        assert!(s.encrypt_ecb(&[0; 7]).is_err());
    }

    #[test]
    fn odd_parity() {
        let mut k = [0x00, 0x01, 0xFE, 0x11];
        set_odd_parity(&mut k);
        assert_eq!(k, [0x01, 0x01, 0xFE, 0x10]);
    }
}
