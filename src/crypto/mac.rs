//! MACs on field 64. The CUP POS "ECB" algorithm (seed §5.2.2, appendix 2) is the default;
//! ANSI X9.9 and X9.19 are there for acquirers that use them and so a host can tell them apart.

use std::fmt;
use std::str::FromStr;

use super::error::CryptoError;
use super::key::DesKey;

fn xor8(a: [u8; 8], b: [u8; 8]) -> [u8; 8] {
    let mut o = [0u8; 8];
    for i in 0..8 {
        o[i] = a[i] ^ b[i];
    }
    o
}

fn block(c: &[u8]) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[..c.len()].copy_from_slice(c);
    b
}

/// Every intermediate of the CUP ECB MAC, so a failed check can show where it diverged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CupMacTrace {
    /// XOR of all MAB blocks (zero padded).
    pub xor: [u8; 8],
    /// First and last 8 ASCII hex characters of `xor`.
    pub left: [u8; 8],
    pub right: [u8; 8],
    /// E(MAK, left).
    pub e1: [u8; 8],
    /// e1 XOR right.
    pub t: [u8; 8],
    /// E(MAK, t).
    pub e2: [u8; 8],
    /// The first 8 uppercase hex characters of e2: field 64.
    pub mac: [u8; 8],
}

/// The CUP POS ECB MAC with all intermediates. A single-length MAK uses DES; a double-length
/// one 3DES for both encryptions (the "double-length variant").
pub fn cup_ecb_mac_trace(mak: &DesKey, mab: &[u8]) -> CupMacTrace {
    let xor = mab.chunks(8).fold([0u8; 8], |acc, c| xor8(acc, block(c)));
    let hexed = hex::encode_upper(xor);
    let h = hexed.as_bytes();
    let left = block(&h[..8]);
    let right = block(&h[8..16]);
    let e1 = mak.encrypt_block(left);
    let t = xor8(e1, right);
    let e2 = mak.encrypt_block(t);
    let e2hex = hex::encode_upper(e2);
    CupMacTrace {
        xor,
        left,
        right,
        e1,
        t,
        e2,
        mac: block(&e2hex.as_bytes()[..8]),
    }
}

/// Field 64 under the CUP POS ECB algorithm: 8 ASCII hex characters.
pub fn cup_ecb_mac(mak: &DesKey, mab: &[u8]) -> [u8; 8] {
    cup_ecb_mac_trace(mak, mab).mac
}

/// ANSI X9.9: DES-CBC over the zero-padded data, IV 0, the last block is the MAC. A double
/// key uses its left half (X9.9 is a single-DES algorithm).
pub fn x9_9_mac(key: &DesKey, data: &[u8]) -> [u8; 8] {
    let k = DesKey::Single(key.left());
    data.chunks(8)
        .fold([0u8; 8], |acc, c| k.encrypt_block(xor8(acc, block(c))))
}

/// ANSI X9.19 retail MAC: X9.9 with K1, then D(K2) and E(K1) on the result.
pub fn x9_19_mac(key: &DesKey, data: &[u8]) -> Result<[u8; 8], CryptoError> {
    let DesKey::Double(k) = key else {
        return Err(CryptoError::KeyKind {
            what: "X9.19 MAC",
            need: 16,
            got: key.len(),
        });
    };
    let k1 = DesKey::Single(block(&k[..8]));
    let k2 = DesKey::Single(block(&k[8..]));
    let c = x9_9_mac(&k1, data);
    Ok(k1.encrypt_block(k2.decrypt_block(c)))
}

/// Which MAC a profile puts in field 64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacAlgorithm {
    CupEcb,
    X99,
    X919,
}

impl MacAlgorithm {
    /// The 8 bytes of field 64 for this MAB.
    pub fn compute(&self, key: &DesKey, mab: &[u8]) -> Result<[u8; 8], CryptoError> {
        match self {
            MacAlgorithm::CupEcb => Ok(cup_ecb_mac(key, mab)),
            MacAlgorithm::X99 => Ok(x9_9_mac(key, mab)),
            MacAlgorithm::X919 => x9_19_mac(key, mab),
        }
    }
}

impl FromStr for MacAlgorithm {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, CryptoError> {
        match s.to_ascii_lowercase().as_str() {
            "ecb" | "cup" | "cup-ecb" => Ok(MacAlgorithm::CupEcb),
            "x9.9" | "x99" => Ok(MacAlgorithm::X99),
            "x9.19" | "x919" => Ok(MacAlgorithm::X919),
            _ => Err(CryptoError::MacAlgorithm(s.to_string())),
        }
    }
}

impl fmt::Display for MacAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MacAlgorithm::CupEcb => "ecb",
            MacAlgorithm::X99 => "x9.9",
            MacAlgorithm::X919 => "x9.19",
        })
    }
}

/// Check a received MAC; the error carries both values.
pub fn verify_mac(
    alg: MacAlgorithm,
    key: &DesKey,
    mab: &[u8],
    found: &[u8],
) -> Result<(), CryptoError> {
    let expected = alg.compute(key, mab)?;
    if expected.as_slice() == found {
        Ok(())
    } else {
        Err(CryptoError::MacMismatch {
            algorithm: alg.to_string(),
            expected: hex::encode_upper(expected),
            found: hex::encode_upper(found),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    const V1_MAB: &str = "02003020048000C08015000000000000001234000002030099303030303030303139353237313831383232313738373531353600192600000100060000000000435F01123238343431323334353637383930313233345F03063136303033365F04063230303832365C023031";

    /// cup-direct-8583.md §13 V1: the public CNB packet, every intermediate.
    #[test]
    fn v1_public_packet() {
        let mak = DesKey::from_hex("0723C80DB5F4CD3D0723C80DB5F4CD3D").unwrap();
        let t = cup_ecb_mac_trace(&mak, &h(V1_MAB));
        assert_eq!(hex::encode_upper(t.xor), "3761343619AC6492");
        assert_eq!(hex::encode_upper(t.e1), "DD662804CB30F348");
        assert_eq!(hex::encode_upper(t.t), "EC5F6947FD04CA7A");
        assert_eq!(hex::encode_upper(t.e2), "B3A092AEDACE4C88");
        assert_eq!(&t.mac, b"B3A092AE");
        assert_eq!(
            hex::encode_upper(x9_9_mac(&mak, &h(V1_MAB))),
            "D3CED7612E78B38C"
        );
    }

    /// §13 V2: the 0200 sale, single and double-length MAK.
    #[test]
    fn v2_purchase() {
        let frame = h("007460000300006031003100000200302404C020C09811000000000000000100000002251202100012346225881234567890D2512201123456789031323334353637383839383131303034383132303030313135364AF9E141A5EE0E3B26000000000000000013220000010005004635373643303533");
        let mab = &frame[13..frame.len() - 8];
        assert_eq!(mab.len(), 97);
        let mak = DesKey::from_hex("1A2B3C4D5E6F7A8B").unwrap();
        let t = cup_ecb_mac_trace(&mak, mab);
        assert_eq!(hex::encode_upper(t.xor), "DEF9A56F4B307B4A");
        assert_eq!(hex::encode_upper(t.e1), "D5DA3ABF24598AF1");
        assert_eq!(hex::encode_upper(t.t), "E198098F131BBEB0");
        assert_eq!(hex::encode_upper(t.e2), "F576C05321A07C71");
        assert_eq!(&t.mac, b"F576C053");
        assert_eq!(&frame[frame.len() - 8..], b"F576C053");
        let mak3 = DesKey::from_hex("1A2B3C4D5E6F7A8B9C0D1E2F3A4B5C6D").unwrap();
        assert_eq!(&cup_ecb_mac(&mak3, mab), b"AD281BD9");
    }

    #[test]
    fn verify_and_algorithms() {
        let mak = DesKey::from_hex("1A2B3C4D5E6F7A8B").unwrap();
        let e = verify_mac(MacAlgorithm::CupEcb, &mak, b"abc", b"00000000").unwrap_err();
        assert!(e.to_string().contains("found 3030303030303030"), "{e}");
        assert!(x9_19_mac(&mak, b"abc").is_err(), "X9.19 needs a double key");
        assert_eq!("x9.19".parse::<MacAlgorithm>().unwrap(), MacAlgorithm::X919);
        assert!("md5".parse::<MacAlgorithm>().is_err());
        // X9.19 with K1 == K2 degenerates to X9.9.
        let kk = DesKey::from_hex("1A2B3C4D5E6F7A8B1A2B3C4D5E6F7A8B").unwrap();
        assert_eq!(
            x9_19_mac(&kk, b"12345678abc").unwrap(),
            x9_9_mac(&mak, b"12345678abc")
        );
    }
}
