//! Issuer side of a PBOC load (seed 003 §1.3–1.5, digest §5): derive the card's DLK/DTK from
//! the master keys and its diversification factor, check MAC1, answer MAC2 with the host's date
//! and time, and check the TAC at batch upload. Pure functions: the host and the CLI both call
//! them.

use thiserror::Error;

use super::fixture::{IssuerFixture, PbocFixtures};
use super::load::InitLoadResponse;
use super::ops::PbocError;
use super::pboc::{diversified_keys, CardKeys, PurseKind};
use crate::crypto::pboc::{self, LoadMacInput, PurchaseMacInput};
use crate::crypto::{CryptoError, DesKey};
use crate::fixtures::FixtureError;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IssuerError {
    #[error("MAC1 invalid: the card (or its keys) is not genuine (computed {expected}, card sent {got})")]
    Mac1Invalid { expected: String, got: String },
    #[error("TAC invalid (computed {expected}, terminal sent {got})")]
    TacInvalid { expected: String, got: String },
    #[error("key version {got:02X} / algorithm {alg:02X} not held by the issuer (has {want:02X})")]
    KeyVersion { got: u8, alg: u8, want: u8 },
    #[error("issuer keys: {0}")]
    Crypto(#[from] CryptoError),
}

impl From<IssuerError> for PbocError {
    fn from(e: IssuerError) -> PbocError {
        match e {
            IssuerError::Mac1Invalid { expected, got } => PbocError::BadMac {
                what: "MAC1",
                expected,
                got,
            },
            IssuerError::TacInvalid { expected, got } => PbocError::BadMac {
                what: "TAC",
                expected,
                got,
            },
            other => PbocError::Usage(other.to_string()),
        }
    }
}

/// An issuer's master keys. `Debug` shows key check values only (DesKey).
#[derive(Debug, Clone)]
pub struct Issuer {
    pub name: String,
    mlk: DesKey,
    mpk: DesKey,
    mtk: DesKey,
    mamk: DesKey,
    pub key_index: u8,
    pub key_version: u8,
    pub alg_id: u8,
}

/// What the terminal forwards after INITIALIZE FOR LOAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadRequest {
    pub factor: [u8; 8],
    pub purse: PurseKind,
    pub amount: u32,
    pub terminal_id: [u8; 6],
    pub init: InitLoadResponse,
}

/// The issuer's yes: MAC2 with its date and time, and what the TAC must cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadAuthorisation {
    pub mac2: [u8; 4],
    pub host_date: [u8; 4],
    pub host_time: [u8; 3],
    /// The TAC input the card will use (new balance, counter before the load, ...).
    pub expected: LoadMacInput,
}

impl Issuer {
    pub fn from_fixture(f: &IssuerFixture) -> Result<Issuer, FixtureError> {
        let [mlk, mpk, mtk, mamk] = f.master_keys()?;
        Ok(Issuer {
            name: f.name.clone(),
            mlk,
            mpk,
            mtk,
            mamk,
            key_index: f.key_index,
            key_version: f.key_version,
            alg_id: f.alg_id,
        })
    }

    /// The issuer of a named fixture card.
    pub fn for_card(fx: &PbocFixtures, card: &str) -> Result<Issuer, FixtureError> {
        let c = fx.card(card)?;
        Issuer::from_fixture(fx.issuer(&c.issuer)?)
    }

    /// All of a card's keys (to personalise a virtual card, or for `--reveal`).
    pub fn card_keys(&self, factor: [u8; 8]) -> Result<CardKeys, FixtureError> {
        diversified_keys(
            &[
                self.mlk.clone(),
                self.mpk.clone(),
                self.mtk.clone(),
                self.mamk.clone(),
            ],
            factor,
            self.key_index,
            self.key_version,
            self.alg_id,
        )
    }

    pub fn dlk(&self, factor: [u8; 8]) -> Result<DesKey, CryptoError> {
        pboc::diversify(&self.mlk, factor)
    }
    pub fn dtk(&self, factor: [u8; 8]) -> Result<DesKey, CryptoError> {
        pboc::diversify(&self.mtk, factor)
    }
    pub fn dpk(&self, factor: [u8; 8]) -> Result<DesKey, CryptoError> {
        pboc::diversify(&self.mpk, factor)
    }
    pub fn damk(&self, factor: [u8; 8]) -> Result<DesKey, CryptoError> {
        pboc::diversify(&self.mamk, factor)
    }

    /// Check MAC1 and, if genuine, compute MAC2 over the host's date and time.
    pub fn authorise_load(
        &self,
        r: &LoadRequest,
        host_date: [u8; 4],
        host_time: [u8; 3],
    ) -> Result<LoadAuthorisation, IssuerError> {
        if r.init.key_version != self.key_version || r.init.alg_id != self.alg_id {
            return Err(IssuerError::KeyVersion {
                got: r.init.key_version,
                alg: r.init.alg_id,
                want: self.key_version,
            });
        }
        let seslk = pboc::seslk(
            &self.dlk(r.factor)?,
            r.init.random,
            r.init.online_ctr.to_be_bytes(),
        )?;
        let expected = LoadMacInput {
            old_balance: r.init.old_balance,
            amount: r.amount,
            txn_type: r.purse.load_type(),
            terminal_id: r.terminal_id,
            host_date,
            host_time,
            online_ctr: r.init.online_ctr,
            new_balance: r.init.old_balance.wrapping_add(r.amount),
        };
        let mac1 = pboc::load_mac1(&seslk, &expected);
        if mac1 != r.init.mac1 {
            return Err(IssuerError::Mac1Invalid {
                expected: hex::encode_upper(mac1),
                got: hex::encode_upper(r.init.mac1),
            });
        }
        Ok(LoadAuthorisation {
            mac2: pboc::load_mac2(&seslk, &expected),
            host_date,
            host_time,
            expected,
        })
    }

    /// The TAC a card must have produced for this load.
    pub fn load_tac(&self, factor: [u8; 8], i: &LoadMacInput) -> Result<[u8; 4], IssuerError> {
        Ok(pboc::load_tac(&pboc::tac_key(&self.dtk(factor)?)?, i))
    }

    /// Check a load's TAC (at batch upload).
    pub fn verify_load_tac(
        &self,
        factor: [u8; 8],
        i: &LoadMacInput,
        tac: [u8; 4],
    ) -> Result<(), IssuerError> {
        let want = self.load_tac(factor, i)?;
        if want != tac {
            return Err(IssuerError::TacInvalid {
                expected: hex::encode_upper(want),
                got: hex::encode_upper(tac),
            });
        }
        Ok(())
    }

    /// Check a purchase's TAC (at batch upload).
    pub fn verify_purchase_tac(
        &self,
        factor: [u8; 8],
        i: &PurchaseMacInput,
        tac: [u8; 4],
    ) -> Result<(), IssuerError> {
        let want = pboc::purchase_tac(&pboc::tac_key(&self.dtk(factor)?)?, i);
        if want != tac {
            return Err(IssuerError::TacInvalid {
                expected: hex::encode_upper(want),
                got: hex::encode_upper(tac),
            });
        }
        Ok(())
    }

    /// A host-built `04 D6` UPDATE BINARY of EF15 at `offset`, MACed with DAMK over the card's
    /// challenge (digest §3.5; the SIM top-up flow of seed 000 clears records this way).
    pub fn sm_update_ef15(
        &self,
        factor: [u8; 8],
        challenge: [u8; 4],
        offset: u8,
        data: &[u8],
    ) -> Result<Vec<u8>, IssuerError> {
        let header = [0x04, 0xD6, 0x80 | super::pboc::SFI_EF15, offset];
        let mac = pboc::sm_mac(&self.damk(factor)?, challenge, header, data);
        let mut v = header.to_vec();
        v.push((data.len() + 4) as u8);
        v.extend(data);
        v.extend(mac);
        Ok(v)
    }

    /// The PSAM role for purchases, holding this issuer's MPK.
    pub fn psam(&self) -> super::purchase::Psam {
        super::purchase::Psam::new(self.mpk.clone(), self.key_index)
    }
}
