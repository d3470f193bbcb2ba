//! PBOC test cards and their issuers (`fixtures/pboc-cards.yaml`): what the virtual card is
//! personalised with and which master keys the issuer role holds. The built-in copy is embedded
//! so the binary works from any directory; a lab passes its own file. PUBLIC TEST KEYS ONLY.

use std::path::Path;

use serde::Deserialize;

use crate::crypto::DesKey;
use crate::fixtures::{FixtureError, Secret};

const BUILTIN: &str = include_str!("../../fixtures/pboc-cards.yaml");
const BUILTIN_ORIGIN: &str = "fixtures/pboc-cards.yaml (built-in)";

/// An issuer: master keys from which each card's keys are diversified (digest §3.6).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerFixture {
    pub name: String,
    /// Master load key (DLK = diversify(MLK, D)).
    pub mlk: Secret,
    /// Master purchase key (DPK).
    pub mpk: Secret,
    /// Master TAC key (DTK).
    pub mtk: Secret,
    /// Master application-maintenance key (DAMK, for secure-messaging UPDATE BINARY).
    pub mamk: Secret,
    /// The key index the cards accept in INITIALIZE FOR LOAD/PURCHASE (others: 9403).
    #[serde(default = "one")]
    pub key_index: u8,
    #[serde(default = "one")]
    pub key_version: u8,
    #[serde(default)]
    pub alg_id: u8,
}

fn one() -> u8 {
    1
}

/// One purse (e-purse or e-passbook) as personalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurseFixture {
    /// Balance in fen.
    pub balance: u32,
    #[serde(default)]
    pub online_ctr: u16,
    #[serde(default)]
    pub offline_ctr: u16,
    /// Overdraft limit in fen (3 bytes on the card).
    #[serde(default)]
    pub overdraft: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbocCardFixture {
    pub name: String,
    pub issuer: String,
    /// Application serial number, 10 bytes hex (EF15 [10..20]).
    pub app_serial: String,
    /// Diversification factor, 8 bytes hex; default: the serial's rightmost 8 bytes.
    #[serde(default)]
    pub factor: Option<String>,
    /// PIN digits (4–12).
    pub pin: Secret,
    #[serde(default = "three")]
    pub pin_tries: u8,
    /// Whether a load, and e-passbook balance and purchase, need a VERIFY first (PBOC: yes).
    #[serde(default = "yes")]
    pub require_pin: bool,
    /// Issuer identification in EF15 [0..8], hex.
    #[serde(default = "default_issuer_id")]
    pub issuer_id: String,
    /// YYYYMMDD.
    #[serde(default = "default_start")]
    pub start_date: String,
    #[serde(default = "default_expiry")]
    pub expiry_date: String,
    /// ATR hex; default: the one the digest's vpcd run used.
    #[serde(default)]
    pub atr: Option<String>,
    /// Application AID hex; default: the city-card AID A00000000386980701.
    #[serde(default)]
    pub aid: Option<String>,
    #[serde(default)]
    pub ep: Option<PurseFixture>,
    #[serde(default)]
    pub ed: Option<PurseFixture>,
}

fn three() -> u8 {
    3
}
fn yes() -> bool {
    true
}
fn default_issuer_id() -> String {
    "0000000000000000".into()
}
fn default_start() -> String {
    "20250101".into()
}
fn default_expiry() -> String {
    "20351231".into()
}

pub const DEFAULT_ATR: &str = "3B8F8001804F0CA000000306030001000000006A";
pub const DEFAULT_AID: &str = "A00000000386980701";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbocFixtures {
    pub issuers: Vec<IssuerFixture>,
    pub cards: Vec<PbocCardFixture>,
}

pub(crate) fn hex_n<const N: usize>(
    origin: &str,
    key: &str,
    s: &str,
) -> Result<[u8; N], FixtureError> {
    let b = hex::decode(s.trim()).map_err(|e| invalid(origin, key, e.to_string()))?;
    b.try_into()
        .map_err(|b: Vec<u8>| invalid(origin, key, format!("need {N} bytes, got {}", b.len())))
}

fn invalid(origin: &str, key: &str, reason: String) -> FixtureError {
    FixtureError::Invalid {
        origin: origin.into(),
        key: key.into(),
        reason,
    }
}

fn bcd_date(origin: &str, key: &str, s: &str) -> Result<[u8; 4], FixtureError> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(origin, key, format!("{s:?} is not YYYYMMDD")));
    }
    hex_n::<4>(origin, key, s)
}

impl IssuerFixture {
    /// The four master keys (mlk, mpk, mtk, mamk), checked to be double-length.
    pub fn master_keys(&self) -> Result<[DesKey; 4], FixtureError> {
        let k = |what: &str, s: &Secret| -> Result<DesKey, FixtureError> {
            let key = format!("issuers.{}.{what}", self.name);
            match DesKey::from_hex(s.expose()) {
                Ok(k @ DesKey::Double(_)) => Ok(k),
                Ok(_) => Err(invalid("pboc-cards", &key, "must be 16 bytes".into())),
                Err(e) => Err(invalid("pboc-cards", &key, e.to_string())),
            }
        };
        Ok([
            k("mlk", &self.mlk)?,
            k("mpk", &self.mpk)?,
            k("mtk", &self.mtk)?,
            k("mamk", &self.mamk)?,
        ])
    }
}

impl PbocCardFixture {
    pub fn serial(&self) -> Result<[u8; 10], FixtureError> {
        hex_n::<10>(
            "pboc-cards",
            &format!("cards.{}.app_serial", self.name),
            &self.app_serial,
        )
    }

    /// The diversification factor D.
    pub fn factor(&self) -> Result<[u8; 8], FixtureError> {
        match &self.factor {
            Some(f) => hex_n::<8>("pboc-cards", &format!("cards.{}.factor", self.name), f),
            None => {
                let s = self.serial()?;
                let mut d = [0u8; 8];
                d.copy_from_slice(&s[2..]);
                Ok(d)
            }
        }
    }

    /// EF15, the public-application basic data (30 bytes, digest §1).
    pub fn ef15(&self) -> Result<Vec<u8>, FixtureError> {
        let o = "pboc-cards";
        let k = |f: &str| format!("cards.{}.{f}", self.name);
        let mut v = Vec::with_capacity(30);
        v.extend(hex_n::<8>(o, &k("issuer_id"), &self.issuer_id)?);
        v.push(0x03); // application type: EP and ED
        v.push(0x01); // application version
        v.extend(self.serial()?);
        v.extend(bcd_date(o, &k("start_date"), &self.start_date)?);
        v.extend(bcd_date(o, &k("expiry_date"), &self.expiry_date)?);
        v.extend([0, 0]); // issuer-defined
        Ok(v)
    }

    pub fn atr(&self) -> Result<Vec<u8>, FixtureError> {
        let s = self.atr.as_deref().unwrap_or(DEFAULT_ATR);
        hex::decode(s).map_err(|e| {
            invalid(
                "pboc-cards",
                &format!("cards.{}.atr", self.name),
                e.to_string(),
            )
        })
    }

    pub fn aid(&self) -> Result<Vec<u8>, FixtureError> {
        let s = self.aid.as_deref().unwrap_or(DEFAULT_AID);
        hex::decode(s).map_err(|e| {
            invalid(
                "pboc-cards",
                &format!("cards.{}.aid", self.name),
                e.to_string(),
            )
        })
    }
}

impl PbocFixtures {
    pub fn from_str(text: &str, origin: &str) -> Result<PbocFixtures, FixtureError> {
        let f: PbocFixtures = crate::yaml::from_str(text, origin)?;
        f.validate(origin)?;
        Ok(f)
    }

    /// The fixture shipped with posconf.
    pub fn builtin() -> Result<PbocFixtures, FixtureError> {
        PbocFixtures::from_str(BUILTIN, BUILTIN_ORIGIN)
    }

    /// The file where given, the built-in copy otherwise.
    pub fn load_or_builtin(path: Option<&Path>) -> Result<PbocFixtures, FixtureError> {
        match path {
            None => PbocFixtures::builtin(),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| {
                    FixtureError::Yaml(crate::yaml::YamlError::Io {
                        origin: p.display().to_string(),
                        source,
                    })
                })?;
                PbocFixtures::from_str(&text, &p.display().to_string())
            }
        }
    }

    /// A card by name, or an error listing the names there are.
    pub fn card(&self, name: &str) -> Result<&PbocCardFixture, FixtureError> {
        self.cards.iter().find(|c| c.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.cards.iter().map(|c| c.name.as_str()).collect();
            invalid(
                "pboc-cards",
                "cards",
                format!("no card named {name:?} (there are: {})", names.join(", ")),
            )
        })
    }

    pub fn issuer(&self, name: &str) -> Result<&IssuerFixture, FixtureError> {
        self.issuers
            .iter()
            .find(|i| i.name == name)
            .ok_or_else(|| invalid("pboc-cards", "issuers", format!("no issuer named {name:?}")))
    }

    /// The first card: the default for `--card`.
    pub fn first_card(&self) -> Result<&PbocCardFixture, FixtureError> {
        self.cards
            .first()
            .ok_or_else(|| invalid("pboc-cards", "cards", "no cards".into()))
    }

    fn validate(&self, origin: &str) -> Result<(), FixtureError> {
        let mut names = std::collections::HashSet::new();
        for i in &self.issuers {
            i.master_keys()
                .map_err(|e| invalid(origin, &format!("issuers.{}", i.name), e.to_string()))?;
        }
        for c in &self.cards {
            let key = |f: &str| format!("cards.{}.{f}", c.name);
            if !names.insert(c.name.clone()) {
                return Err(invalid(origin, &key("name"), "duplicate card name".into()));
            }
            self.issuer(&c.issuer)
                .map_err(|e| invalid(origin, &key("issuer"), e.to_string()))?;
            c.factor()
                .and_then(|_| c.ef15())
                .and_then(|_| c.atr())
                .and_then(|_| c.aid())
                .map_err(|e| invalid(origin, &format!("cards.{}", c.name), e.to_string()))?;
            let pin = c.pin.expose();
            if !(4..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    origin,
                    &key("pin"),
                    "must be 4 to 12 digits".into(),
                ));
            }
            if c.pin_tries == 0 || c.pin_tries > 15 {
                return Err(invalid(origin, &key("pin_tries"), "must be 1 to 15".into()));
            }
            if c.ep.is_none() && c.ed.is_none() {
                return Err(invalid(
                    origin,
                    &c.name,
                    "needs an ep or an ed purse".into(),
                ));
            }
            for p in [c.ep, c.ed].into_iter().flatten() {
                if p.overdraft > 0xFF_FFFF {
                    return Err(invalid(origin, &key("overdraft"), "exceeds 3 bytes".into()));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_the_first_card_is_vector_c() {
        let f = PbocFixtures::builtin().unwrap();
        let c = f.first_card().unwrap();
        assert_eq!(hex::encode_upper(c.factor().unwrap()), "2025000000000001");
        assert_eq!(c.ef15().unwrap().len(), 30);
        assert_eq!(&c.ef15().unwrap()[10..20], &c.serial().unwrap());
        assert!(f.cards.iter().any(|c| c.ep.is_none() && c.ed.is_some()));
        assert!(!format!("{f:?}").contains("000102030405"), "keys redacted");
    }

    #[test]
    fn errors_name_the_key() {
        let e = PbocFixtures::from_str("issuers: []\ncards: []\nextra: 1\n", "x.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.yaml:3") && e.contains("extra"), "{e}");
        let text = BUILTIN.replace(
            "app_serial: \"00002025000000000001\"",
            "app_serial: \"0011\"",
        );
        let e = PbocFixtures::from_str(&text, "y.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("app_serial") && e.contains("need 10 bytes"),
            "{e}"
        );
    }
}
