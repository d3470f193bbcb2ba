//! The card layer (issue 5): one small synchronous [`Card`] trait over a virtual PBOC 2.0 card
//! (in process, or served to pcscd through vpcd) and real readers through PC/SC, plus the
//! terminal-side and issuer-side PBOC load/purchase logic as plain functions over `&mut dyn
//! Card`.
//!
//! Errors keep infrastructure faults (no pcscd, no reader, no card in time) apart from what the
//! card did, because a conformance run must not blame a terminal for a lab that is not set up:
//! the runner maps [`CardError::is_infrastructure`] to exit code 3.

pub mod apdu;
pub mod fixture;
pub mod issuer;
pub mod load;
pub mod ops;
pub mod pboc;
pub mod pcsc;
pub mod purchase;
pub mod vpcd;

use serde::Deserialize;
use thiserror::Error;

pub use apdu::{sw_meaning, Apdu, ApduError, Response};
pub use fixture::PbocFixtures;
pub use pboc::PbocCard;

/// A card in a reader. Object-safe and `Send`, so a runner can hold `Box<dyn Card>` on any
/// thread.
pub trait Card: Send {
    /// Power the card (cold reset) and return its ATR.
    fn power_on(&mut self) -> Result<Vec<u8>, CardError>;
    /// Send one C-APDU; the answer is `data ‖ SW1SW2` (a status word other than 9000 is not an
    /// error at this layer).
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError>;
    /// Take the card out of the field: immediate for a virtual card; a physical reader waits
    /// for someone to do it (or fails saying so).
    fn remove(&mut self) -> Result<(), CardError>;
    /// Put the card back (it then needs `power_on`, or powers on at the next `transmit`).
    fn reinsert(&mut self) -> Result<(), CardError>;
    /// For logs and reports: "virtual PBOC card \"ep1\"", "pcsc:Virtual PCD 00 00".
    fn name(&self) -> String;
    /// The in-process virtual card behind this handle, if any: for fault switches and state
    /// inspection in tests.
    fn as_virtual(&mut self) -> Option<&mut PbocCard> {
        None
    }
}

#[derive(Debug, Error)]
pub enum CardError {
    /// pcscd is not running or not reachable.
    #[error("PC/SC service not available (is pcscd running? try hil-rig/pcscd.sh start): {0}")]
    NoService(String),
    #[error("no reader matching {pattern:?} (readers: {available})")]
    NoReader { pattern: String, available: String },
    #[error("no card in {reader} after waiting {waited_ms} ms")]
    NoCard { reader: String, waited_ms: u64 },
    /// Any other PC/SC failure of the reader stack.
    #[error("PC/SC {op}: {detail}")]
    Pcsc { op: &'static str, detail: String },
    /// The physical action this driver cannot do itself.
    #[error("{0}")]
    NeedsOperator(String),
    #[error("vpcd {addr}: {detail}")]
    Vpcd { addr: String, detail: String },
    /// The card left (or lost power) while a command was in flight.
    #[error("card removed")]
    Removed,
    #[error("card was reset by another application; the session state is gone")]
    Reset,
    #[error("malformed response to {command}: {detail}")]
    Malformed {
        command: &'static str,
        detail: String,
    },
    #[error("APDU: {0}")]
    Apdu(#[from] ApduError),
    /// The rig or fixture names something that is not there (exit 2, not 3).
    #[error("{0}")]
    Config(String),
}

impl CardError {
    /// True for faults of the rig rather than the card or the terminal (exit code 3).
    pub fn is_infrastructure(&self) -> bool {
        matches!(
            self,
            CardError::NoService(_)
                | CardError::NoReader { .. }
                | CardError::NoCard { .. }
                | CardError::Pcsc { .. }
                | CardError::NeedsOperator(_)
                | CardError::Vpcd { .. }
        )
    }

    /// True when the rig file or fixture is wrong (exit code 2).
    pub fn is_config(&self) -> bool {
        matches!(self, CardError::Config(_))
    }
}

impl From<crate::fixtures::FixtureError> for CardError {
    fn from(e: crate::fixtures::FixtureError) -> CardError {
        CardError::Config(e.to_string())
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CardDriver {
    /// The in-process virtual PBOC card from `fixtures/pboc-cards.yaml`.
    Virtual,
    /// A PC/SC reader (a physical one, or pcscd's vpcd fed by `posconf card serve-vpcd`).
    Pcsc,
}

/// The `card:` section of a rig file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CardRig {
    pub driver: CardDriver,
    /// Reader name substring (pcsc); default: the first reader.
    #[serde(default)]
    pub reader: Option<String>,
    /// Fixture card name (virtual); default: the first card.
    #[serde(default)]
    pub card: Option<String>,
    /// How long to wait for a card to be present (pcsc), in ms; default 5000.
    #[serde(default)]
    pub wait_ms: Option<u64>,
}

pub const DEFAULT_WAIT_MS: u64 = 5000;

impl CardRig {
    pub fn virtual_card(name: Option<&str>) -> CardRig {
        CardRig {
            driver: CardDriver::Virtual,
            reader: None,
            card: name.map(str::to_string),
            wait_ms: None,
        }
    }
}

/// Open the card a rig describes. For `virtual`, a fresh card personalised from `fixtures`.
pub fn open(rig: &CardRig, fixtures: &PbocFixtures) -> Result<Box<dyn Card>, CardError> {
    match rig.driver {
        CardDriver::Virtual => {
            let name = match &rig.card {
                Some(n) => n.clone(),
                None => fixtures.first_card()?.name.clone(),
            };
            Ok(Box::new(PbocCard::from_fixture(fixtures, &name)?))
        }
        CardDriver::Pcsc => {
            let wait = std::time::Duration::from_millis(rig.wait_ms.unwrap_or(DEFAULT_WAIT_MS));
            Ok(Box::new(pcsc::PcscCard::open(rig.reader.as_deref(), wait)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rig_section_is_strict_and_opens_a_virtual_card() {
        let r: CardRig = crate::yaml::from_str("driver: virtual\ncard: ep2\n", "rig").unwrap();
        let fx = PbocFixtures::builtin().unwrap();
        let mut c = open(&r, &fx).unwrap();
        assert!(c.name().contains("ep2"));
        assert!(!c.power_on().unwrap().is_empty());
        let e = crate::yaml::from_str::<CardRig>("driver: pcsc\nreadr: x\n", "rig.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("rig.yaml:2") && e.contains("readr"), "{e}");
        let bad = CardRig::virtual_card(Some("nope"));
        let e = open(&bad, &fx).err().unwrap();
        assert!(e.is_config() && !e.is_infrastructure(), "{e}");
        assert!(e.to_string().contains("ep1"), "lists the names: {e}");
    }

    #[test]
    fn infrastructure_errors_are_classified() {
        assert!(CardError::NoService("x".into()).is_infrastructure());
        assert!(CardError::NoCard {
            reader: "r".into(),
            waited_ms: 1
        }
        .is_infrastructure());
        assert!(!CardError::Removed.is_infrastructure());
        assert!(!CardError::Malformed {
            command: "x",
            detail: "y".into()
        }
        .is_infrastructure());
    }
}
