//! Terminal side of a PBOC e-purse purchase (digest §1, §3.3): INITIALIZE FOR PURCHASE, the
//! terminal acting as PSAM computes MAC1 with DPK (diversified from MPK), DEBIT FOR PURCHASE,
//! check the card's MAC2, keep the TAC for batch upload.

use super::apdu::Apdu;
use super::issuer::Issuer;
use super::ops::{self, exchange, PbocError};
use super::pboc::PurseKind;
use super::Card;
use crate::crypto::pboc::{self, PurchaseMacInput};
use crate::crypto::DesKey;

/// The card's answer to INITIALIZE FOR PURCHASE (15 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitPurchaseResponse {
    pub balance: u32,
    pub offline_ctr: u16,
    pub overdraft: u32,
    pub key_version: u8,
    pub alg_id: u8,
    pub random: [u8; 4],
}

impl InitPurchaseResponse {
    pub fn parse(d: &[u8]) -> Option<InitPurchaseResponse> {
        if d.len() != 15 {
            return None;
        }
        Some(InitPurchaseResponse {
            balance: u32::from_be_bytes([d[0], d[1], d[2], d[3]]),
            offline_ctr: u16::from_be_bytes([d[4], d[5]]),
            overdraft: u32::from_be_bytes([0, d[6], d[7], d[8]]),
            key_version: d[9],
            alg_id: d[10],
            random: [d[11], d[12], d[13], d[14]],
        })
    }
}

/// `80 50 01 P2 0B ‖ key index ‖ amount ‖ terminal ‖ 0F`.
pub fn init_for_purchase(
    card: &mut dyn Card,
    key_index: u8,
    amount: u32,
    terminal_id: [u8; 6],
    purse: PurseKind,
) -> Result<InitPurchaseResponse, PbocError> {
    let mut data = vec![key_index];
    data.extend(amount.to_be_bytes());
    data.extend(terminal_id);
    let a = Apdu::new(0x80, 0x50, 0x01, purse.p2())
        .with_data(data)
        .with_le(0x0F);
    let d = exchange(card, "INITIALIZE FOR PURCHASE", &a, 15..=15)?;
    InitPurchaseResponse::parse(&d).ok_or(PbocError::Malformed {
        command: "INITIALIZE FOR PURCHASE",
        detail: "not 15 bytes".into(),
    })
}

/// `80 54 01 00 0F ‖ terminal serial ‖ date ‖ time ‖ MAC1 ‖ 08`; returns (TAC, MAC2).
pub fn debit_for_purchase(
    card: &mut dyn Card,
    terminal_serial: [u8; 4],
    date: [u8; 4],
    time: [u8; 3],
    mac1: [u8; 4],
) -> Result<([u8; 4], [u8; 4]), PbocError> {
    let mut data = terminal_serial.to_vec();
    data.extend(date);
    data.extend(time);
    data.extend(mac1);
    let a = Apdu::new(0x80, 0x54, 0x01, 0x00).with_data(data).with_le(8);
    let d = exchange(card, "DEBIT FOR PURCHASE", &a, 8..=8)?;
    Ok(([d[0], d[1], d[2], d[3]], [d[4], d[5], d[6], d[7]]))
}

/// The terminal's secure module for purchases: MPK, from which it derives each card's DPK.
#[derive(Debug, Clone)]
pub struct Psam {
    mpk: DesKey,
    pub key_index: u8,
}

/// One purchase's session key and MAC input, between MAC1 and the MAC2 check.
#[derive(Debug, Clone)]
pub struct PsamSession {
    sespk: DesKey,
    pub input: PurchaseMacInput,
    pub mac1: [u8; 4],
}

impl Psam {
    pub fn new(mpk: DesKey, key_index: u8) -> Psam {
        Psam { mpk, key_index }
    }

    /// `80 70`'s job: SESPK from the card's random and offline counter, then MAC1.
    pub fn mac1(
        &self,
        factor: [u8; 8],
        init: &InitPurchaseResponse,
        input: PurchaseMacInput,
    ) -> Result<PsamSession, PbocError> {
        let crypto = |e: crate::crypto::CryptoError| PbocError::Usage(e.to_string());
        let dpk = pboc::diversify(&self.mpk, factor).map_err(crypto)?;
        let sespk = pboc::sespk(
            &dpk,
            init.random,
            init.offline_ctr.to_be_bytes(),
            input.terminal_serial,
        )
        .map_err(crypto)?;
        let mac1 = pboc::purchase_mac1(&sespk, &input);
        Ok(PsamSession { sespk, input, mac1 })
    }
}

impl PsamSession {
    /// The card's MAC2 proves it debited.
    pub fn verify_mac2(&self, mac2: [u8; 4]) -> Result<(), PbocError> {
        let want = pboc::purchase_mac2(&self.sespk, &self.input);
        if want != mac2 {
            return Err(PbocError::BadMac {
                what: "MAC2",
                expected: hex::encode_upper(want),
                got: hex::encode_upper(mac2),
            });
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PurchaseOutcome {
    pub old_balance: u32,
    pub new_balance: u32,
    pub offline_ctr: u16,
    pub mac1: String,
    pub mac2: String,
    pub tac: String,
    pub tac_verified: bool,
}

#[derive(Debug, Clone)]
pub struct PurchaseParams {
    pub purse: PurseKind,
    pub amount: u32,
    pub terminal_id: [u8; 6],
    pub terminal_serial: [u8; 4],
    pub date: [u8; 4],
    pub time: [u8; 3],
    pub pin: Option<String>,
}

/// A whole purchase: SELECT, READ EF15, (VERIFY), INITIALIZE, PSAM MAC1, DEBIT, check MAC2,
/// the issuer checks the TAC (as at batch upload), GET BALANCE.
pub fn perform_purchase(
    card: &mut dyn Card,
    issuer: &Issuer,
    p: &PurchaseParams,
) -> Result<PurchaseOutcome, PbocError> {
    ops::select_app(card)?;
    let serial = ops::app_serial(&ops::read_ef15(card)?)?;
    let factor = ops::factor_of(&serial);
    if let Some(pin) = &p.pin {
        ops::verify_pin(card, pin)?;
    }
    let psam = issuer.psam();
    let init = init_for_purchase(card, psam.key_index, p.amount, p.terminal_id, p.purse)?;
    let session = psam.mac1(
        factor,
        &init,
        PurchaseMacInput {
            amount: p.amount,
            txn_type: p.purse.purchase_type(),
            terminal_id: p.terminal_id,
            terminal_serial: p.terminal_serial,
            date: p.date,
            time: p.time,
        },
    )?;
    let (tac, mac2) = debit_for_purchase(card, p.terminal_serial, p.date, p.time, session.mac1)?;
    session.verify_mac2(mac2)?;
    issuer.verify_purchase_tac(factor, &session.input, tac)?;
    let new_balance = ops::get_balance(card, p.purse)?;
    Ok(PurchaseOutcome {
        old_balance: init.balance,
        new_balance,
        offline_ctr: init.offline_ctr,
        mac1: hex::encode_upper(session.mac1),
        mac2: hex::encode_upper(mac2),
        tac: hex::encode_upper(tac),
        tac_verified: true,
    })
}
