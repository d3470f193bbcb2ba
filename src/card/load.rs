//! Terminal side of a PBOC load (圈存, seed 003): INITIALIZE FOR LOAD, hand the card's answer to
//! the issuer, CREDIT FOR LOAD with the issuer's MAC2, keep the TAC for batch upload.

use super::apdu::Apdu;
use super::issuer::{Issuer, LoadRequest};
use super::ops::{self, exchange, PbocError};
use super::pboc::PurseKind;
use super::Card;

/// The card's answer to INITIALIZE FOR LOAD (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitLoadResponse {
    pub old_balance: u32,
    pub online_ctr: u16,
    pub key_version: u8,
    pub alg_id: u8,
    pub random: [u8; 4],
    pub mac1: [u8; 4],
}

impl InitLoadResponse {
    pub fn parse(d: &[u8]) -> Option<InitLoadResponse> {
        if d.len() != 16 {
            return None;
        }
        Some(InitLoadResponse {
            old_balance: u32::from_be_bytes([d[0], d[1], d[2], d[3]]),
            online_ctr: u16::from_be_bytes([d[4], d[5]]),
            key_version: d[6],
            alg_id: d[7],
            random: [d[8], d[9], d[10], d[11]],
            mac1: [d[12], d[13], d[14], d[15]],
        })
    }

    pub fn to_bytes(&self) -> [u8; 16] {
        let mut v = [0u8; 16];
        v[0..4].copy_from_slice(&self.old_balance.to_be_bytes());
        v[4..6].copy_from_slice(&self.online_ctr.to_be_bytes());
        v[6] = self.key_version;
        v[7] = self.alg_id;
        v[8..12].copy_from_slice(&self.random);
        v[12..16].copy_from_slice(&self.mac1);
        v
    }
}

/// `80 50 00 P2 0B ‖ key index ‖ amount ‖ terminal ‖ 10`.
pub fn init_for_load(
    card: &mut dyn Card,
    key_index: u8,
    amount: u32,
    terminal_id: [u8; 6],
    purse: PurseKind,
) -> Result<InitLoadResponse, PbocError> {
    let mut data = vec![key_index];
    data.extend(amount.to_be_bytes());
    data.extend(terminal_id);
    let a = Apdu::new(0x80, 0x50, 0x00, purse.p2())
        .with_data(data)
        .with_le(0x10);
    let d = exchange(card, "INITIALIZE FOR LOAD", &a, 16..=16)?;
    InitLoadResponse::parse(&d).ok_or(PbocError::Malformed {
        command: "INITIALIZE FOR LOAD",
        detail: "not 16 bytes".into(),
    })
}

/// `80 52 00 00 0B ‖ host date ‖ host time ‖ MAC2 ‖ 04`; returns the TAC.
pub fn credit_for_load(
    card: &mut dyn Card,
    host_date: [u8; 4],
    host_time: [u8; 3],
    mac2: [u8; 4],
) -> Result<[u8; 4], PbocError> {
    let mut data = host_date.to_vec();
    data.extend(host_time);
    data.extend(mac2);
    let a = Apdu::new(0x80, 0x52, 0x00, 0x00).with_data(data).with_le(4);
    let d = exchange(card, "CREDIT FOR LOAD", &a, 4..=4)?;
    Ok([d[0], d[1], d[2], d[3]])
}

/// What a load needs besides the card and the issuer.
#[derive(Debug, Clone)]
pub struct LoadParams {
    pub purse: PurseKind,
    pub key_index: u8,
    pub amount: u32,
    pub terminal_id: [u8; 6],
    /// VERIFY first when given (PBOC loads need the PIN).
    pub pin: Option<String>,
    pub host_date: [u8; 4],
    pub host_time: [u8; 3],
}

/// What a completed load produced (what `posconf card load` prints).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LoadOutcome {
    pub app_serial: String,
    pub old_balance: u32,
    pub new_balance: u32,
    pub online_ctr: u16,
    pub mac1: String,
    pub mac2: String,
    pub tac: String,
    pub tac_verified: bool,
}

/// A whole load with the terminal and the issuer in one process (the CLI and tests): SELECT,
/// READ EF15 for the serial, VERIFY, INITIALIZE, issuer checks MAC1 and computes MAC2,
/// CREDIT, issuer checks the TAC, GET BALANCE.
pub fn perform_load(
    card: &mut dyn Card,
    issuer: &Issuer,
    p: &LoadParams,
) -> Result<LoadOutcome, PbocError> {
    ops::select_app(card)?;
    let ef15 = ops::read_ef15(card)?;
    let serial = ops::app_serial(&ef15)?;
    let factor = ops::factor_of(&serial);
    if let Some(pin) = &p.pin {
        ops::verify_pin(card, pin)?;
    }
    let init = init_for_load(card, p.key_index, p.amount, p.terminal_id, p.purse)?;
    let req = LoadRequest {
        factor,
        purse: p.purse,
        amount: p.amount,
        terminal_id: p.terminal_id,
        init,
    };
    let auth = issuer.authorise_load(&req, p.host_date, p.host_time)?;
    let tac = credit_for_load(card, auth.host_date, auth.host_time, auth.mac2)?;
    issuer.verify_load_tac(factor, &auth.expected, tac)?;
    let new_balance = ops::get_balance(card, p.purse)?;
    Ok(LoadOutcome {
        app_serial: hex::encode_upper(serial),
        old_balance: init.old_balance,
        new_balance,
        online_ctr: init.online_ctr,
        mac1: hex::encode_upper(init.mac1),
        mac2: hex::encode_upper(auth.mac2),
        tac: hex::encode_upper(tac),
        tac_verified: true,
    })
}
