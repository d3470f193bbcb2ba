//! Key check values: first 4 bytes of E(key, 00×8), the way sign-in blocks prove a key arrived
//! intact without revealing it.

use super::key::DesKey;

pub fn check_value(key: &DesKey) -> [u8; 4] {
    let e = key.encrypt_block([0; 8]);
    [e[0], e[1], e[2], e[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// cup-direct-8583.md §13 V2 (computed with pycryptodome).
    #[test]
    fn digest_vectors() {
        let kcv = |h: &str| hex::encode_upper(check_value(&DesKey::from_hex(h).unwrap()));
        assert_eq!(kcv("0123456789ABCDEF"), "D5D44FF7");
        assert_eq!(kcv("0123456789ABCDEFFEDCBA9876543210"), "08D7B4FB");
        assert_eq!(kcv("1111111111111111"), "82E13665");
    }
}
