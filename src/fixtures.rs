//! Terminals and test cards, loaded from documented YAML (`fixtures/terminals.yaml`,
//! `fixtures/cards.yaml`) by both the host and the reference terminal. The built-in copies are
//! embedded so the binary works from any directory; a lab passes its own files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::crypto::DesKey;
use crate::host::journal::{Account, CardStatus};

/// A secret (key, PIN) whose `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The value, for the code paths that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Supervisor,
    Operator,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    pub code: String,
    pub password: Secret,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalFixture {
    pub tid: String,
    pub mid: String,
    pub merchant_name: String,
    #[serde(default)]
    pub merchant_name_en: String,
    #[serde(default = "default_tpdu")]
    pub tpdu: String,
    pub keks: BTreeMap<u8, Secret>,
    pub active_kek: u8,
    #[serde(default = "default_batch")]
    pub batch: String,
    #[serde(default)]
    pub operators: Vec<Operator>,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
}

fn default_tpdu() -> String {
    "6000030000".into()
}

fn default_batch() -> String {
    "000001".into()
}

impl TerminalFixture {
    /// The KEK selected by `active_kek`.
    pub fn active_kek(&self) -> Result<DesKey, FixtureError> {
        let k = self
            .keks
            .get(&self.active_kek)
            .ok_or_else(|| FixtureError::Invalid {
                origin: "terminals".into(),
                key: format!("{}.active_kek", self.tid),
                reason: format!("slot {} is not in keks", self.active_kek),
            })?;
        DesKey::from_hex(k.expose()).map_err(|e| FixtureError::Invalid {
            origin: "terminals".into(),
            key: format!("{}.keks.{}", self.tid, self.active_kek),
            reason: e.to_string(),
        })
    }

    /// Field 62 of a parameter-download response: posconf's documented layout (the seed gives
    /// none): per parameter `name=value` joined by `;` in ASCII. A lab with its acquirer's
    /// layout replaces this function.
    pub fn param_block(&self) -> Vec<u8> {
        self.params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(";")
            .into_bytes()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardFixture {
    pub name: String,
    pub pan: String,
    pub track2: String,
    #[serde(default)]
    pub track3: Option<String>,
    pub expiry: String,
    #[serde(default = "default_service_code")]
    pub service_code: String,
    pub pin: Secret,
    pub balance: i64,
    pub status: CardStatus,
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(default)]
    pub issuer: String,
    #[serde(default = "default_org")]
    pub card_org: String,
    #[serde(default)]
    pub ic: bool,
}

fn default_service_code() -> String {
    "201".into()
}
fn default_currency() -> String {
    "156".into()
}
fn default_org() -> String {
    "CUP".into()
}

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error(transparent)]
    Yaml(#[from] crate::yaml::YamlError),
    #[error("{origin}: {key}: {reason}")]
    Invalid {
        origin: String,
        key: String,
        reason: String,
    },
}

/// Terminals and cards together.
#[derive(Debug, Clone)]
pub struct Fixtures {
    pub terminals: Vec<TerminalFixture>,
    pub cards: Vec<CardFixture>,
}

const BUILTIN_TERMINALS: &str = include_str!("../fixtures/terminals.yaml");
const BUILTIN_CARDS: &str = include_str!("../fixtures/cards.yaml");

impl Fixtures {
    pub fn from_strs(
        terminals: &str,
        t_origin: &str,
        cards: &str,
        c_origin: &str,
    ) -> Result<Fixtures, FixtureError> {
        let f = Fixtures {
            terminals: crate::yaml::from_str(terminals, t_origin)?,
            cards: crate::yaml::from_str(cards, c_origin)?,
        };
        f.validate(t_origin, c_origin)?;
        Ok(f)
    }

    /// The fixtures shipped with posconf.
    pub fn builtin() -> Result<Fixtures, FixtureError> {
        Fixtures::from_strs(
            BUILTIN_TERMINALS,
            "fixtures/terminals.yaml (built-in)",
            BUILTIN_CARDS,
            "fixtures/cards.yaml (built-in)",
        )
    }

    /// Files where given, the built-in copy otherwise.
    pub fn load_or_builtin(
        terminals: Option<&Path>,
        cards: Option<&Path>,
    ) -> Result<Fixtures, FixtureError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|source| {
                FixtureError::Yaml(crate::yaml::YamlError::Io {
                    origin: p.display().to_string(),
                    source,
                })
            })
        };
        let (t, to) = match terminals {
            Some(p) => (read(p)?, p.display().to_string()),
            None => (
                BUILTIN_TERMINALS.to_string(),
                "fixtures/terminals.yaml (built-in)".into(),
            ),
        };
        let (c, co) = match cards {
            Some(p) => (read(p)?, p.display().to_string()),
            None => (
                BUILTIN_CARDS.to_string(),
                "fixtures/cards.yaml (built-in)".into(),
            ),
        };
        Fixtures::from_strs(&t, &to, &c, &co)
    }

    fn validate(&self, t_origin: &str, c_origin: &str) -> Result<(), FixtureError> {
        let bad = |origin: &str, key: String, reason: String| {
            Err(FixtureError::Invalid {
                origin: origin.into(),
                key,
                reason,
            })
        };
        let mut seen = std::collections::HashSet::new();
        for t in &self.terminals {
            if t.tid.len() != 8 {
                return bad(
                    t_origin,
                    format!("{}.tid", t.tid),
                    "must be 8 characters (ans8)".into(),
                );
            }
            if t.mid.len() != 15 {
                return bad(
                    t_origin,
                    format!("{}.mid", t.tid),
                    format!("must be 15 characters (ans15), got {}", t.mid.len()),
                );
            }
            if !seen.insert(t.tid.clone()) {
                return bad(
                    t_origin,
                    format!("{}.tid", t.tid),
                    "duplicate terminal id".into(),
                );
            }
            for (slot, k) in &t.keks {
                if !matches!(k.expose().len(), 16 | 32)
                    || !k.expose().chars().all(|c| c.is_ascii_hexdigit())
                {
                    return bad(
                        t_origin,
                        format!("{}.keks.{slot}", t.tid),
                        "must be 16 or 32 hex digits".into(),
                    );
                }
            }
            t.active_kek()?;
            if t.batch.len() != 6 || !t.batch.chars().all(|c| c.is_ascii_digit()) {
                return bad(
                    t_origin,
                    format!("{}.batch", t.tid),
                    "must be 6 digits".into(),
                );
            }
        }
        let mut names = std::collections::HashSet::new();
        for c in &self.cards {
            let key = |k: &str| format!("{}.{k}", c.name);
            if !names.insert(c.name.clone()) {
                return bad(c_origin, key("name"), "duplicate card name".into());
            }
            if !(13..=19).contains(&c.pan.len()) || !c.pan.chars().all(|x| x.is_ascii_digit()) {
                return bad(c_origin, key("pan"), "must be 13-19 digits".into());
            }
            if c.track2.split('=').next() != Some(c.pan.as_str()) {
                return bad(
                    c_origin,
                    key("track2"),
                    "the PAN part of track 2 differs from pan".into(),
                );
            }
            let pin = c.pin.expose();
            if !(4..=12).contains(&pin.len()) || !pin.chars().all(|x| x.is_ascii_digit()) {
                return bad(c_origin, key("pin"), "must be 4-12 digits".into());
            }
        }
        Ok(())
    }

    pub fn terminal(&self, tid: &str) -> Option<&TerminalFixture> {
        self.terminals.iter().find(|t| t.tid == tid)
    }

    /// A card of another organisation than CUP (it settles in the foreign block).
    pub fn is_foreign_card(&self, name: &str) -> bool {
        self.card(name).is_some_and(|c| c.card_org != "CUP")
    }

    pub fn card(&self, name: &str) -> Option<&CardFixture> {
        self.cards.iter().find(|c| c.name == name)
    }

    pub fn card_by_pan(&self, pan: &str) -> Option<&CardFixture> {
        self.cards.iter().find(|c| c.pan == pan)
    }

    /// The centre's opening accounts.
    pub fn accounts(&self) -> Vec<Account> {
        self.cards
            .iter()
            .map(|c| Account {
                pan: c.pan.clone(),
                balance: c.balance,
                status: c.status,
                expiry: c.expiry.clone(),
                currency: c.currency.clone(),
                card_org: c.card_org.clone(),
                held: 0,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_fixtures_load_with_the_documented_default_terminal() {
        let f = Fixtures::builtin().expect("built-in fixtures are valid");
        let t = f.terminal("12345678").expect("default terminal");
        assert_eq!(t.mid, "898110048120001");
        assert_eq!(
            t.active_kek().unwrap().hex(),
            "11111111111111112222222222222222"
        );
        assert_eq!(t.keks.len(), 3, "seed 5.2.1.1: at least 3 KEKs");
        assert_eq!(f.card("good").unwrap().pan, "6225881234567890");
        assert_eq!(format!("{:?}", f.card("good").unwrap().pin), "***");
        assert!(f.accounts().iter().any(|a| a.status == CardStatus::Lost));
        assert!(String::from_utf8(t.param_block())
            .unwrap()
            .contains("timeout_s=60"));
    }

    #[test]
    fn invalid_fixtures_name_file_and_key() {
        let t = "- {tid: \"1234567\", mid: \"898110048120001\", merchant_name: x, keks: {1: \"1111111111111111\"}, active_kek: 1}\n";
        let e = Fixtures::from_strs(t, "t.yaml", "[]", "c.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.yaml") && e.contains("1234567.tid"), "{e}");
        let t = "- {tid: \"12345678\", mid: \"898110048120001\", merchant_name: x, keks: {1: \"1111\"}, active_kek: 1}\n";
        assert!(Fixtures::from_strs(t, "t.yaml", "[]", "c.yaml")
            .unwrap_err()
            .to_string()
            .contains("keks.1"));
        let t = "- {tid: \"12345678\", mid: \"898110048120001\", merchant_name: x, keks: {1: \"1111111111111111\"}, active_kek: 2}\n";
        assert!(Fixtures::from_strs(t, "t.yaml", "[]", "c.yaml")
            .unwrap_err()
            .to_string()
            .contains("active_kek"));
        let c = "- {name: a, pan: \"6225881234567890\", track2: \"6225881234567891=25\", expiry: \"2512\", pin: \"1234\", balance: 1, status: active}\n";
        let e = Fixtures::from_strs("[]", "t.yaml", c, "c.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.yaml") && e.contains("a.track2"), "{e}");
        let typo = "- {name: a, pan: \"1\", track2: \"1\", expiry: \"2512\", pin: \"1234\", balance: 1, status: gone}\n";
        assert!(Fixtures::from_strs("[]", "t.yaml", typo, "c.yaml")
            .unwrap_err()
            .to_string()
            .contains("c.yaml:1:"));
    }
}
