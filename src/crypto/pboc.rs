//! PBOC 2.0 e-purse / e-passbook crypto (seed 003, digest pboc-and-pcsc.md §3): the card MAC,
//! key diversification, load and purchase session keys, MAC1/MAC2/TAC, secure messaging.

use super::error::CryptoError;
use super::key::DesKey;

fn xor8(a: [u8; 8], b: &[u8]) -> [u8; 8] {
    let mut o = a;
    for i in 0..8 {
        o[i] ^= b[i];
    }
    o
}

/// ISO 9797-1 MAC with padding method 2 (`80 00..`, always appended), IV given, left 4 bytes.
/// An 8-byte key is DES-CBC (algorithm 1); a 16-byte key is the retail MAC (algorithm 3:
/// DES-CBC with K_L, the last block under full 3DES).
pub fn pboc_mac(key: &DesKey, iv: [u8; 8], data: &[u8]) -> [u8; 4] {
    let mut padded = data.to_vec();
    padded.push(0x80);
    while padded.len() % 8 != 0 {
        padded.push(0);
    }
    let single = DesKey::Single(key.left());
    let blocks: Vec<&[u8]> = padded.chunks_exact(8).collect();
    let mut acc = iv;
    for (i, b) in blocks.iter().enumerate() {
        let last = i + 1 == blocks.len();
        acc = if last && key.len() > 8 {
            key.encrypt_block(xor8(acc, b))
        } else {
            single.encrypt_block(xor8(acc, b))
        };
    }
    [acc[0], acc[1], acc[2], acc[3]]
}

/// DK = 3DES_MK(D) ‖ 3DES_MK(~D).
pub fn diversify(mk: &DesKey, factor: [u8; 8]) -> Result<DesKey, CryptoError> {
    let left = mk.encrypt_block(factor);
    let right = mk.encrypt_block(factor.map(|b| !b));
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&left);
    k[8..].copy_from_slice(&right);
    Ok(DesKey::Double(k))
}

/// Load session key: 3DES_DLK(random ‖ online counter ‖ 8000), an 8-byte DES key.
pub fn seslk(dlk: &DesKey, random: [u8; 4], online_ctr: [u8; 2]) -> Result<DesKey, CryptoError> {
    let b = [
        random[0],
        random[1],
        random[2],
        random[3],
        online_ctr[0],
        online_ctr[1],
        0x80,
        0x00,
    ];
    Ok(DesKey::Single(dlk.encrypt_block(b)))
}

/// Purchase session key: 3DES_DPK(random ‖ offline counter ‖ terminal serial[2..4]).
pub fn sespk(
    dpk: &DesKey,
    random: [u8; 4],
    offline_ctr: [u8; 2],
    terminal_serial: [u8; 4],
) -> Result<DesKey, CryptoError> {
    let b = [
        random[0],
        random[1],
        random[2],
        random[3],
        offline_ctr[0],
        offline_ctr[1],
        terminal_serial[2],
        terminal_serial[3],
    ];
    Ok(DesKey::Single(dpk.encrypt_block(b)))
}

/// The TAC key: the XOR of the DTK halves (the card uses no session key for the TAC).
pub fn tac_key(dtk: &DesKey) -> Result<DesKey, CryptoError> {
    let DesKey::Double(k) = dtk else {
        return Err(CryptoError::KeyKind {
            what: "DTK",
            need: 16,
            got: dtk.len(),
        });
    };
    let mut x = [0u8; 8];
    for i in 0..8 {
        x[i] = k[i] ^ k[8 + i];
    }
    Ok(DesKey::Single(x))
}

/// What the load MACs cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadMacInput {
    pub old_balance: u32,
    pub amount: u32,
    /// 01 e-passbook load, 02 e-purse load.
    pub txn_type: u8,
    pub terminal_id: [u8; 6],
    /// YYYYMMDD and hhmmss in BCD.
    pub host_date: [u8; 4],
    pub host_time: [u8; 3],
    /// Online counter before this load.
    pub online_ctr: u16,
    pub new_balance: u32,
}

const IV0: [u8; 8] = [0; 8];

/// MAC1 (card → host): old balance ‖ amount ‖ type ‖ terminal.
pub fn load_mac1(seslk: &DesKey, i: &LoadMacInput) -> [u8; 4] {
    let mut d = Vec::with_capacity(15);
    d.extend(i.old_balance.to_be_bytes());
    d.extend(i.amount.to_be_bytes());
    d.push(i.txn_type);
    d.extend(i.terminal_id);
    pboc_mac(seslk, IV0, &d)
}

/// MAC2 (host → card): amount ‖ type ‖ terminal ‖ host date ‖ host time.
pub fn load_mac2(seslk: &DesKey, i: &LoadMacInput) -> [u8; 4] {
    let mut d = Vec::with_capacity(18);
    d.extend(i.amount.to_be_bytes());
    d.push(i.txn_type);
    d.extend(i.terminal_id);
    d.extend(i.host_date);
    d.extend(i.host_time);
    pboc_mac(seslk, IV0, &d)
}

/// TAC: new balance ‖ online counter (before +1) ‖ amount ‖ type ‖ terminal ‖ date ‖ time.
pub fn load_tac(tac_key: &DesKey, i: &LoadMacInput) -> [u8; 4] {
    let mut d = Vec::with_capacity(24);
    d.extend(i.new_balance.to_be_bytes());
    d.extend(i.online_ctr.to_be_bytes());
    d.extend(i.amount.to_be_bytes());
    d.push(i.txn_type);
    d.extend(i.terminal_id);
    d.extend(i.host_date);
    d.extend(i.host_time);
    pboc_mac(tac_key, IV0, &d)
}

/// What the purchase MACs cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurchaseMacInput {
    pub amount: u32,
    /// 06 e-purse purchase, 09 compound (CAPP) purchase.
    pub txn_type: u8,
    pub terminal_id: [u8; 6],
    pub terminal_serial: [u8; 4],
    pub date: [u8; 4],
    pub time: [u8; 3],
}

/// MAC1 (terminal/PSAM → card): amount ‖ type ‖ terminal ‖ date ‖ time.
pub fn purchase_mac1(sespk: &DesKey, i: &PurchaseMacInput) -> [u8; 4] {
    let mut d = Vec::with_capacity(18);
    d.extend(i.amount.to_be_bytes());
    d.push(i.txn_type);
    d.extend(i.terminal_id);
    d.extend(i.date);
    d.extend(i.time);
    pboc_mac(sespk, IV0, &d)
}

/// MAC2 (card → terminal): amount.
pub fn purchase_mac2(sespk: &DesKey, i: &PurchaseMacInput) -> [u8; 4] {
    pboc_mac(sespk, IV0, &i.amount.to_be_bytes())
}

/// TAC: amount ‖ type ‖ terminal ‖ terminal serial ‖ date ‖ time.
pub fn purchase_tac(tac_key: &DesKey, i: &PurchaseMacInput) -> [u8; 4] {
    let mut d = Vec::with_capacity(22);
    d.extend(i.amount.to_be_bytes());
    d.push(i.txn_type);
    d.extend(i.terminal_id);
    d.extend(i.terminal_serial);
    d.extend(i.date);
    d.extend(i.time);
    pboc_mac(tac_key, IV0, &d)
}

/// Secure-messaging MAC of a command (e.g. UPDATE BINARY `04 D6`): IV = challenge ‖ 00000000,
/// input = CLA INS P1 P2 ‖ Lc' (data length + 4) ‖ data.
pub fn sm_mac(key: &DesKey, challenge: [u8; 4], header: [u8; 4], data: &[u8]) -> [u8; 4] {
    let mut d = Vec::with_capacity(data.len() + 5);
    d.extend(header);
    d.push((data.len() + 4) as u8);
    d.extend(data);
    let iv = [
        challenge[0],
        challenge[1],
        challenge[2],
        challenge[3],
        0,
        0,
        0,
        0,
    ];
    pboc_mac(key, iv, &d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(h: &str) -> DesKey {
        DesKey::from_hex(h).unwrap()
    }
    fn hx(b: impl AsRef<[u8]>) -> String {
        hex::encode_upper(b)
    }
    const TERM: [u8; 6] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];

    /// pboc-and-pcsc.md §4 A: the public ED load vector (TAC computed).
    #[test]
    fn example_a_load() {
        let dlk = k("11223344556677888877665544332211");
        let s = seslk(&dlk, [0x11, 0x22, 0x33, 0x44], [0, 0]).unwrap();
        assert_eq!(s.hex(), "9B1D924E05595603");
        let i = LoadMacInput {
            old_balance: 0,
            amount: 0x1000,
            txn_type: 0x01,
            terminal_id: TERM,
            host_date: [0x20, 0x11, 0x12, 0x21],
            host_time: [0x21, 0x48, 0x22],
            online_ctr: 0,
            new_balance: 0x1000,
        };
        assert_eq!(hx(load_mac1(&s, &i)), "2988AE5A");
        assert_eq!(hx(load_mac2(&s, &i)), "3A845BF0");
        let tk = tac_key(&k("00112233445566778899AABBCCDDEEFF")).unwrap();
        assert_eq!(tk.hex(), "8888888888888888");
        assert_eq!(hx(load_tac(&tk, &i)), "6314E5F5");
    }

    /// §4 B: the public purchase vector (TAC computed).
    #[test]
    fn example_b_purchase() {
        let dpk = k("11223344556677888877665544332211");
        let s = sespk(&dpk, [0x11, 0x22, 0x33, 0x44], [0, 0], [0, 0, 0, 1]).unwrap();
        assert_eq!(s.hex(), "003238ABC57659DD");
        let i = PurchaseMacInput {
            amount: 0x1000,
            txn_type: 0x06,
            terminal_id: TERM,
            terminal_serial: [0, 0, 0, 1],
            date: [0x20, 0x12, 0x02, 0x29],
            time: [0x13, 0x51, 0x00],
        };
        assert_eq!(hx(purchase_mac1(&s, &i)), "F15CAB75");
        assert_eq!(hx(purchase_mac2(&s, &i)), "56988A13");
        let tk = tac_key(&k("00112233445566778899AABBCCDDEEFF")).unwrap();
        assert_eq!(hx(purchase_tac(&tk, &i)), "B3A0D49C");
    }

    /// §4 C and D: diversified keys, EP load and purchase on one card.
    #[test]
    fn examples_c_d_diversified_card() {
        let d = [0x20, 0x25, 0, 0, 0, 0, 0, 0x01];
        let dlk = diversify(&k("000102030405060708090A0B0C0D0E0F"), d).unwrap();
        let dtk = diversify(&k("F0E0D0C0B0A090807060504030201000"), d).unwrap();
        let dpk = diversify(&k("2B7E151628AED2A6ABF7158809CF4F3C"), d).unwrap();
        assert_eq!(dlk.hex(), "FFE36BB1033BEDCE808D3E261050678B");
        assert_eq!(dtk.hex(), "2E45C98592D06B704086609209587234");
        assert_eq!(dpk.hex(), "1CE0F700D8B3CDE2FBBF65AE2BD9F598");
        let s = seslk(&dlk, [0xA1, 0xB2, 0xC3, 0xD4], [0x00, 0x07]).unwrap();
        assert_eq!(s.hex(), "5C345817B23C3381");
        let term = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66];
        let i = LoadMacInput {
            old_balance: 0x3E8,
            amount: 0x7D0,
            txn_type: 0x02,
            terminal_id: term,
            host_date: [0x20, 0x25, 0x03, 0x14],
            host_time: [0x10, 0x30, 0x00],
            online_ctr: 7,
            new_balance: 0xBB8,
        };
        assert_eq!(hx(load_mac1(&s, &i)), "41890366");
        assert_eq!(hx(load_mac2(&s, &i)), "8D4D5EFF");
        let tk = tac_key(&dtk).unwrap();
        assert_eq!(tk.hex(), "6EC3A9179B881944");
        assert_eq!(hx(load_tac(&tk, &i)), "F6AFD177");
        let sp = sespk(
            &dpk,
            [0x0F, 0x1E, 0x2D, 0x3C],
            [0x00, 0x03],
            [0, 0, 0, 0x42],
        )
        .unwrap();
        assert_eq!(sp.hex(), "51B14B0E83968DBC");
        let p = PurchaseMacInput {
            amount: 0x64,
            txn_type: 0x06,
            terminal_id: term,
            terminal_serial: [0, 0, 0, 0x42],
            date: [0x20, 0x25, 0x03, 0x14],
            time: [0x10, 0x30, 0x00],
        };
        assert_eq!(hx(purchase_mac1(&sp, &p)), "CEC3A196");
        assert_eq!(hx(purchase_tac(&tk, &p)), "E68BCEEF");
        assert_eq!(hx(purchase_mac2(&sp, &p)), "09865C11");
    }

    /// §4 E: secure-messaging UPDATE BINARY.
    #[test]
    fn example_e_secure_messaging() {
        let damk = k("404142434445464748494A4B4C4D4E4F");
        let mac = sm_mac(
            &damk,
            [0x55, 0x66, 0xAA, 0xBB],
            [0x04, 0xD6, 0x95, 0x00],
            &[1, 2, 3, 4, 5, 6, 7, 8],
        );
        assert_eq!(hx(mac), "C8F16575");
        assert!(tac_key(&k("1111111111111111")).is_err());
    }
}
