//! The reference terminal's PBOC e-purse / e-passbook load (圈存) and e-purse purchase against a
//! `&mut dyn Card` (issue 5). A child of `sim` so it uses the terminal's own trace, MAC and
//! reversal machinery; the message encoding is `host::issuer`'s.
//!
//! Load: SELECT, READ EF15 (serial), VERIFY, INITIALIZE FOR LOAD → 0200 (60.1 = 48, card data
//! in 62) with a reversal saved first → on 00, CREDIT FOR LOAD with the host's MAC2 → keep the
//! TAC; [`PbocAction::UploadTacs`] sends each as a 0220 confirmation.
//!
//! When the card answers CREDIT with 9302 nothing was credited, so the terminal reverses at
//! once. When the card vanishes (or answers without a TAC) the terminal cannot know whether
//! the card committed; it keeps the load unfinished and [`PbocAction::Recover`] settles it
//! from the card itself: a log record with the load's counter means credited (the TAC comes
//! from GET TRANSACTION PROVE and is uploaded), none means not credited (reversal). Either way
//! the host's book and the card agree, and no money is lost or doubled.

use serde::Deserialize;

use super::{HostLink, Message, Mti, PendingReversal, SimTerminal, TerminalError, Value};
use crate::card::load::{credit_for_load, init_for_load};
use crate::card::ops::{self, PbocError};
use crate::card::pboc::PurseKind;
use crate::card::purchase::{debit_for_purchase, init_for_purchase, Psam};
use crate::card::{Card, CardError};
use crate::crypto::pboc::PurchaseMacInput;
use crate::host::issuer::{Confirm62, LoadAnswer62, LoadRequest62, LOAD_PROC, LOAD_TYPE};

/// What a card step asks of the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PbocAction {
    Load {
        amount: u32,
        #[serde(default = "ep")]
        purse: PurseKind,
        /// Default: the fixture card's PIN.
        #[serde(default)]
        pin: Option<String>,
        #[serde(default = "one")]
        key_index: u8,
        /// Terminal fault: forward a MAC1 with one bit flipped (the host must refuse).
        #[serde(default)]
        corrupt_mac1: bool,
    },
    /// An e-purse purchase with the terminal as PSAM (offline; the TAC is kept).
    Purchase {
        amount: u32,
        #[serde(default = "ep")]
        purse: PurseKind,
        #[serde(default)]
        pin: Option<String>,
    },
    /// Send every kept load TAC to the host (0220 confirmations).
    UploadTacs,
    /// Settle an unfinished load from what the card holds (credited → TAC, else reversal).
    Recover,
}

fn ep() -> PurseKind {
    PurseKind::Ep
}
fn one() -> u8 {
    1
}

/// A load whose TAC is due at the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTac {
    pub stan: String,
    pub amount: u32,
    pub tac: [u8; 4],
}

/// A load the host approved but the card may or may not have committed.
#[derive(Debug, Clone)]
pub struct Unfinished {
    pub stan: String,
    pub serial: [u8; 10],
    pub purse: PurseKind,
    pub online_ctr: u16,
    pub amount: u32,
    /// The 0200 as sent, for the reversal.
    pub request: Message,
}

/// A purchase done offline, its TAC kept for the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseRecord {
    pub serial: [u8; 4],
    pub amount: u32,
    pub tac: [u8; 4],
}

/// The terminal's PBOC state across steps of a case: what is owed to the host.
#[derive(Debug, Default)]
pub struct PbocSession {
    pub pending_tacs: Vec<PendingTac>,
    pub unfinished: Option<Unfinished>,
    pub purchases: Vec<PurchaseRecord>,
    /// The PSAM (purchase key) the terminal holds.
    pub psam: Option<Psam>,
    /// Default PIN for VERIFY (the fixture card's).
    pub pin: Option<String>,
    /// Terminal transaction serial for purchases.
    pub purchase_serial: u32,
}

/// What the terminal ended with: `code` is the host's field 39 (`00`, `A7`...), the card's
/// status word as 4 hex digits (`9403`, `9302`...), or a word (`removed`, `no_tac`,
/// `credited`, `reversed`, `no_answer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbocOutcome {
    pub code: String,
    pub detail: String,
}

fn outcome(code: impl Into<String>, detail: impl Into<String>) -> PbocOutcome {
    PbocOutcome {
        code: code.into(),
        detail: detail.into(),
    }
}

/// The PBOC terminal number (6 bytes BCD) from field 41: its digits, left-padded with zeros.
pub fn pboc_terminal_id(tid: &str) -> [u8; 6] {
    let digits: String = tid.chars().filter(char::is_ascii_digit).collect();
    let d = format!("{:0>12}", &digits[digits.len().saturating_sub(12)..]);
    let b = hex::decode(d).unwrap_or_default();
    let mut out = [0u8; 6];
    if b.len() == 6 {
        out.copy_from_slice(&b);
    }
    out
}

/// A card error as an outcome: a refusal by its SW, a vanished card as `removed`.
fn card_outcome(e: &PbocError) -> Option<PbocOutcome> {
    match e {
        PbocError::Refused { command, sw } => Some(outcome(
            format!("{sw:04X}"),
            format!("{command}: {}", crate::card::sw_meaning(*sw)),
        )),
        PbocError::Card(CardError::Removed | CardError::Reset) => {
            Some(outcome("removed", e.to_string()))
        }
        _ => None,
    }
}

fn internal(e: impl std::fmt::Display) -> TerminalError {
    TerminalError::Internal(e.to_string())
}

impl<L: HostLink> SimTerminal<L> {
    /// Run one PBOC action. Card-level errors of the rig (no reader, no card) are `Err`.
    pub async fn pboc_action(
        &mut self,
        card: &mut dyn Card,
        action: &PbocAction,
        st: &mut PbocSession,
    ) -> Result<PbocOutcome, TerminalError> {
        let r = match action {
            PbocAction::Load {
                amount,
                purse,
                pin,
                key_index,
                corrupt_mac1,
            } => {
                let pin = pin.clone().or_else(|| st.pin.clone());
                self.pboc_load(card, st, *amount, *purse, pin, *key_index, *corrupt_mac1)
                    .await
            }
            PbocAction::Purchase { amount, purse, pin } => {
                let pin = pin.clone().or_else(|| st.pin.clone());
                self.pboc_purchase(card, st, *amount, *purse, pin)
            }
            PbocAction::UploadTacs => return self.pboc_upload_tacs(st).await,
            PbocAction::Recover => self.pboc_recover(card, st).await,
        };
        match r {
            Ok(o) => Ok(o),
            Err(e) => match card_outcome(&e) {
                Some(o) => Ok(o),
                None => Err(internal(e)),
            },
        }
    }

    fn load_message(&mut self, amount: u32, f62: Vec<u8>) -> Result<Message, TerminalError> {
        let stan = self.next_trace();
        Ok(
            Message::new(Mti::parse("0200").map_err(|e| internal(e.reason))?)
                .with(3, LOAD_PROC)
                .with(4, format!("{amount:012}"))
                .with(11, stan)
                .with(22, "052")
                .with(25, "00")
                .with(41, self.config.tid.as_str())
                .with(42, self.config.mid.as_str())
                .with(49, "156")
                .with(60, format!("{LOAD_TYPE}{}", self.batch))
                .with(62, Value::Binary(f62)),
        )
    }

    #[allow(clippy::too_many_arguments)]
    async fn pboc_load(
        &mut self,
        card: &mut dyn Card,
        st: &mut PbocSession,
        amount: u32,
        purse: PurseKind,
        pin: Option<String>,
        key_index: u8,
        corrupt_mac1: bool,
    ) -> Result<PbocOutcome, PbocError> {
        self.ready(false)
            .map_err(|e| PbocError::Usage(e.to_string()))?;
        if self.reversal.is_some() {
            self.flush_reversal()
                .await
                .map_err(|e| PbocError::Usage(e.to_string()))?;
        }
        ops::select_app(card)?;
        let serial = ops::app_serial(&ops::read_ef15(card)?)?;
        if let Some(p) = &pin {
            ops::verify_pin(card, p)?;
        }
        let terminal_id = pboc_terminal_id(&self.config.tid);
        let mut init = init_for_load(card, key_index, amount, terminal_id, purse)?;
        if corrupt_mac1 {
            init.mac1[0] ^= 0x80;
        }
        let f62 = LoadRequest62 {
            purse,
            serial,
            init,
            terminal_id,
        }
        .to_bytes();
        let usage = |e: TerminalError| PbocError::Usage(e.to_string());
        let mut req = self.load_message(amount, f62).map_err(usage)?;
        self.mac(&mut req).map_err(usage)?;
        let stan = req.text(11).unwrap_or("").to_string();
        // The host may debit the account even if its answer is lost: save the reversal first.
        self.reversal = Some(PendingReversal {
            message: Self::reversal_of(&req),
            pan: hex::encode_upper(serial),
            reason: "98",
            attempts: 0,
        });
        let sent = req.clone();
        let Some((resp, mac_ok)) = self.exchange(req).await.map_err(usage)? else {
            if let (Some(r), Some(reason)) = (self.reversal.as_mut(), self.last_failure) {
                r.reason = reason;
            }
            self.display = "圈存超时,已冲正 load timed out".into();
            self.flush_reversal().await.map_err(usage)?;
            return Ok(outcome("no_answer", "no answer to the load request"));
        };
        let code = resp.text(39).unwrap_or("").to_string();
        if code != "00" {
            // Declined: nothing was debited, nothing to reverse; the card is not touched.
            self.reversal = None;
            self.display = format!("圈存失败 {code}");
            return Ok(outcome(code, "declined by the host"));
        }
        let answer = resp.bytes(62).and_then(LoadAnswer62::parse);
        let Some(answer) = answer.filter(|_| mac_ok) else {
            if let Some(r) = self.reversal.as_mut() {
                r.reason = "A0";
            }
            self.flush_reversal().await.map_err(usage)?;
            return Ok(outcome("A0", "approval without a valid MAC or field 62"));
        };
        self.reversal = None;
        let unfinished = Unfinished {
            stan: stan.clone(),
            serial,
            purse,
            online_ctr: init.online_ctr,
            amount,
            request: sent,
        };
        match credit_for_load(card, answer.host_date, answer.host_time, answer.mac2) {
            Ok(tac) => {
                st.pending_tacs.push(PendingTac { stan, amount, tac });
                self.display = "圈存成功 load done".into();
                Ok(outcome("00", format!("TAC {}", hex::encode_upper(tac))))
            }
            Err(PbocError::Refused { sw, .. }) => {
                // The card refused MAC2: nothing credited; give the money back.
                self.reversal = Some(PendingReversal {
                    message: Self::reversal_of(&unfinished.request),
                    pan: hex::encode_upper(serial),
                    reason: "06",
                    attempts: 0,
                });
                self.flush_reversal().await.map_err(usage)?;
                self.display = format!("圈存失败 {sw:04X},已冲正");
                Ok(outcome(
                    format!("{sw:04X}"),
                    format!("CREDIT FOR LOAD: {}; reversed", crate::card::sw_meaning(sw)),
                ))
            }
            Err(e @ (PbocError::Card(_) | PbocError::Malformed { .. })) => {
                // Did the card commit? Only the card can tell: recover later.
                st.unfinished = Some(unfinished);
                self.display = "圈存未完成,请重新插卡 reinsert the card".into();
                let code = if matches!(e, PbocError::Malformed { .. }) {
                    "no_tac"
                } else {
                    "removed"
                };
                Ok(outcome(code, e.to_string()))
            }
            Err(e) => Err(e),
        }
    }

    async fn pboc_recover(
        &mut self,
        card: &mut dyn Card,
        st: &mut PbocSession,
    ) -> Result<PbocOutcome, PbocError> {
        let Some(u) = st.unfinished.clone() else {
            return Ok(outcome("nothing", "no unfinished load"));
        };
        let usage = |e: TerminalError| PbocError::Usage(e.to_string());
        card.power_on()?;
        ops::select_app(card)?;
        let serial = ops::app_serial(&ops::read_ef15(card)?)?;
        if serial != u.serial {
            return Err(PbocError::Usage(format!(
                "another card ({}) is in the reader; the unfinished load is for {}",
                hex::encode_upper(serial),
                hex::encode_upper(u.serial)
            )));
        }
        let log = ops::read_log(card)?;
        let credited = log.iter().any(|r| {
            r.serial == u.online_ctr && r.txn_type == u.purse.load_type() && r.amount == u.amount
        });
        st.unfinished = None;
        if credited {
            match ops::get_transaction_prove(card, u.purse.load_type(), u.online_ctr)? {
                Some(p) => {
                    st.pending_tacs.push(PendingTac {
                        stan: u.stan.clone(),
                        amount: u.amount,
                        tac: p.tac,
                    });
                    Ok(outcome(
                        "credited",
                        format!(
                            "the card holds load {}; TAC {}",
                            u.stan,
                            hex::encode_upper(p.tac)
                        ),
                    ))
                }
                None => Ok(outcome(
                    "credited",
                    "the card holds the load but cannot prove it (no TAC)",
                )),
            }
        } else {
            self.reversal = Some(PendingReversal {
                message: Self::reversal_of(&u.request),
                pan: hex::encode_upper(u.serial),
                reason: "06",
                attempts: 0,
            });
            self.flush_reversal().await.map_err(usage)?;
            if self.reversal.is_some()
                || self
                    .failed_reversals
                    .iter()
                    .any(|m| m.text(11) == Some(u.stan.as_str()))
            {
                return Ok(outcome("no_answer", "reversal not acknowledged"));
            }
            Ok(outcome(
                "reversed",
                format!("load {} not on the card; reversed", u.stan),
            ))
        }
    }

    async fn pboc_upload_tacs(
        &mut self,
        st: &mut PbocSession,
    ) -> Result<PbocOutcome, TerminalError> {
        self.ready(false)?;
        let mut worst = outcome("00", "");
        let pending = std::mem::take(&mut st.pending_tacs);
        let mut sent = 0;
        for p in pending {
            let stan = self.next_trace();
            let mut m = Message::new(Mti::parse("0220").map_err(|e| internal(e.reason))?)
                .with(3, LOAD_PROC)
                .with(4, format!("{:012}", p.amount))
                .with(11, stan)
                .with(22, "052")
                .with(25, "00")
                .with(41, self.config.tid.as_str())
                .with(42, self.config.mid.as_str())
                .with(49, "156")
                .with(60, format!("{LOAD_TYPE}{}", self.batch))
                .with(
                    62,
                    Value::Binary(
                        Confirm62 {
                            orig_stan: p.stan.clone(),
                            tac: p.tac,
                        }
                        .to_bytes(),
                    ),
                );
            self.mac(&mut m)?;
            let code = match self.exchange(m).await? {
                Some((resp, _)) => resp.text(39).unwrap_or("").to_string(),
                None => {
                    // Keep it for the next upload.
                    st.pending_tacs.push(p);
                    "no_answer".into()
                }
            };
            sent += 1;
            if code != "00" {
                worst = outcome(code, "a confirmation was not accepted");
            }
        }
        if worst.detail.is_empty() {
            worst.detail = format!("{sent} TAC(s) confirmed");
        }
        Ok(worst)
    }

    /// E-purse purchase with the terminal as PSAM: no host message (the TAC goes to the host
    /// later, as for any offline purchase).
    fn pboc_purchase(
        &mut self,
        card: &mut dyn Card,
        st: &mut PbocSession,
        amount: u32,
        purse: PurseKind,
        pin: Option<String>,
    ) -> Result<PbocOutcome, PbocError> {
        let psam = st
            .psam
            .clone()
            .ok_or_else(|| PbocError::Usage("the terminal holds no PSAM key".into()))?;
        ops::select_app(card)?;
        let serial = ops::app_serial(&ops::read_ef15(card)?)?;
        if purse == PurseKind::Ed {
            if let Some(p) = &pin {
                ops::verify_pin(card, p)?;
            }
        }
        let terminal_id = pboc_terminal_id(&self.config.tid);
        let init = init_for_purchase(card, psam.key_index, amount, terminal_id, purse)?;
        st.purchase_serial = st.purchase_serial.wrapping_add(1);
        let tserial = st.purchase_serial.to_be_bytes();
        let (date, time) = self.pboc_clock();
        let session = psam.mac1(
            ops::factor_of(&serial),
            &init,
            PurchaseMacInput {
                amount,
                txn_type: purse.purchase_type(),
                terminal_id,
                terminal_serial: tserial,
                date,
                time,
            },
        )?;
        let (tac, mac2) = debit_for_purchase(card, tserial, date, time, session.mac1)?;
        session.verify_mac2(mac2)?;
        st.purchases.push(PurchaseRecord {
            serial: tserial,
            amount,
            tac,
        });
        self.display = "消费成功 purchase done".into();
        Ok(outcome(
            "9000",
            format!(
                "balance {} -> {}; TAC {}",
                init.balance,
                init.balance.saturating_sub(amount),
                hex::encode_upper(tac)
            ),
        ))
    }

    /// The terminal's date and time as BCD (year from the system clock, MMDD/hhmmss from the
    /// centre's last answer).
    fn pboc_clock(&self) -> ([u8; 4], [u8; 3]) {
        let digits = format!(
            "{:04}{}{}",
            super::current_year(),
            self.clock.0,
            self.clock.1
        );
        let b = hex::decode(&digits).unwrap_or_default();
        if b.len() == 7 && digits.bytes().all(|c| c.is_ascii_digit()) {
            ([b[0], b[1], b[2], b[3]], [b[4], b[5], b[6]])
        } else {
            ([0x20, 0x25, 0x01, 0x01], [0, 0, 0])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_number_from_field_41() {
        assert_eq!(
            hex::encode_upper(pboc_terminal_id("12345678")),
            "000012345678"
        );
        assert_eq!(hex::encode_upper(pboc_terminal_id("T1")), "000000000001");
    }
}
