//! Suite steps with a PBOC card (issue 5): `- card: {...}` in a case. The card comes from the
//! rig's `card:` section (default: the in-process virtual card), is opened once per case that
//! has card steps, and the terminal performs loads and purchases on it through
//! [`Terminal::pboc`]. Expectations read the card through APDUs (so they hold for a card
//! behind pcscd too) and the centre's issuer book, and are relative to the case's start: a
//! card served across cases keeps its state.
//!
//! ```yaml
//! - card: {load: {amount: 500}}                    # expect "00" (host code, card SW, or a word)
//! - card: {faults: {pull_after_init: true}}        # virtual card switches (also via pcscd)
//! - card: {host_faults: {wrong_mac2: true}}
//! - card: {recover: {expect: reversed}}
//! - card: {upload_tacs: {}}
//! - card: {expect_card: {balance_change: 500, new_log_records: 1}}
//! - card: {expect_host: {confirmed: 1, reversed: 0}}
//! - card: {expect_agree: {}}                        # card balance change = host's net loads
//! ```

use serde::Deserialize;

use super::exec::Ctx;
use super::model::{Case, Step};
use super::rig::Rig;
use super::runner::RunError;
use crate::card::issuer::Issuer;
use crate::card::ops;
use crate::card::pboc::{Faults, PurseKind};
use crate::card::{self, Card, CardDriver, CardRig, PbocFixtures};
use crate::host::issuer::{HostFaults, LoadState};
use crate::terminal::sim::load::{PbocAction, PbocSession};
use crate::terminal::Terminal;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CardStep {
    Load {
        amount: u32,
        #[serde(default = "ep")]
        purse: PurseKind,
        #[serde(default)]
        pin: Option<String>,
        #[serde(default = "one")]
        key_index: u8,
        /// Terminal fault: forward MAC1 corrupted (the host must refuse with A7).
        #[serde(default)]
        corrupt_mac1: bool,
        #[serde(default = "ok")]
        expect: String,
    },
    Purchase {
        amount: u32,
        #[serde(default = "ep")]
        purse: PurseKind,
        #[serde(default)]
        pin: Option<String>,
        #[serde(default = "sw_ok")]
        expect: String,
    },
    UploadTacs {
        #[serde(default = "ok")]
        expect: String,
    },
    Recover {
        expect: String,
    },
    /// The card's fault switches from now on.
    Faults(Faults),
    /// The issuer role's fault switches from now on.
    HostFaults {
        #[serde(default)]
        wrong_mac2: bool,
    },
    /// Pull the card out of the reader (virtual: at once; PC/SC: an operator must).
    Remove,
    Reinsert,
    /// What the card holds, relative to the start of the case.
    ExpectCard {
        #[serde(default = "ep")]
        purse: PurseKind,
        #[serde(default)]
        balance_change: Option<i64>,
        #[serde(default)]
        new_log_records: Option<usize>,
    },
    /// The issuer's book for this case: how many loads in each state.
    ExpectHost {
        #[serde(default)]
        authorised: Option<usize>,
        #[serde(default)]
        confirmed: Option<usize>,
        #[serde(default)]
        reversed: Option<usize>,
        #[serde(default)]
        tac_invalid: Option<usize>,
    },
    /// The card's balance change equals the host's net loads minus the terminal's purchases:
    /// no money lost or doubled.
    ExpectAgree {
        #[serde(default = "ep")]
        purse: PurseKind,
    },
}

fn ep() -> PurseKind {
    PurseKind::Ep
}
fn one() -> u8 {
    1
}
fn ok() -> String {
    "00".into()
}
fn sw_ok() -> String {
    "9000".into()
}

/// The case's card, the terminal's PBOC state, and where the card started.
pub struct CardBench {
    pub card: Box<dyn Card>,
    pub session: PbocSession,
    /// Balances at the start of the case: (e-purse, e-passbook), None where the card has none.
    start_balance: (Option<u32>, Option<u32>),
    /// The newest log record at the start: records before it in the log are new. (A count
    /// would not do: the log is cyclic, and a served card's log is full after a few cases.)
    start_log: Option<crate::card::pboc::LogRecord>,
    purchased: u64,
}

impl std::fmt::Debug for CardBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardBench")
            .field("card", &self.card.name())
            .finish_non_exhaustive()
    }
}

/// The rig's `card:` section as the card layer's [`CardRig`] (default: virtual, first card).
pub fn card_rig(rig: &Rig) -> Result<CardRig, RunError> {
    Ok(rig
        .card
        .clone()
        .unwrap_or_else(|| CardRig::virtual_card(None)))
}

/// True when every case would use the same physical (or pcscd-served) card: such cases must
/// run one at a time, or one case's reset tears another's transaction.
pub fn shared_card(rig: &Rig) -> bool {
    rig.card
        .as_ref()
        .is_some_and(|c| c.driver != CardDriver::Virtual)
}

impl CardBench {
    /// Open the rig's card when the case has card steps (None otherwise). A missing reader or
    /// card is a bench fault (exit 3); a wrong fixture name a set-up error (exit 2).
    pub fn for_case(rig: &Rig, case: &Case) -> Result<Option<CardBench>, RunError> {
        if !case.steps.iter().any(|s| matches!(s, Step::Card(_))) {
            return Ok(None);
        }
        let cr = card_rig(rig)?;
        let fx = PbocFixtures::builtin().map_err(|e| RunError::Setup(e.to_string()))?;
        let mut card = card::open(&cr, &fx).map_err(|e| {
            if e.is_infrastructure() {
                RunError::Rig(e.to_string())
            } else {
                RunError::Setup(e.to_string())
            }
        })?;
        let rig_err = |e: ops::PbocError| match e.exit_code() {
            3 => RunError::Rig(e.to_string()),
            _ => RunError::Setup(format!("card: {e}")),
        };
        card.power_on().map_err(|e| rig_err(e.into()))?;
        ops::select_app(card.as_mut()).map_err(rig_err)?;
        let serial =
            ops::app_serial(&ops::read_ef15(card.as_mut()).map_err(rig_err)?).map_err(rig_err)?;
        // The fixture card: the rig's name, else the one with this serial. A physical card that
        // matches neither is refused: guessing its keys and PIN would spend PIN tries (a lab's
        // test card blocks after three). The virtual card is a fixture card by construction.
        let hexs = hex::encode_upper(serial);
        let fc = match &cr.card {
            Some(n) => fx.card(n),
            None => match fx
                .cards
                .iter()
                .find(|c| c.app_serial.eq_ignore_ascii_case(&hexs))
            {
                Some(c) => Ok(c),
                None if cr.driver == crate::card::CardDriver::Virtual => fx.first_card(),
                None => {
                    return Err(RunError::Setup(format!(
                        "the card in the reader (application serial {hexs}) is not in the card \
                         fixtures: add it there or name it in the rig (card: {{card: NAME}})"
                    )))
                }
            },
        }
        .map_err(|e| RunError::Setup(e.to_string()))?;
        let issuer = Issuer::for_card(&fx, &fc.name).map_err(|e| RunError::Setup(e.to_string()))?;
        let pin = fc.pin.expose().to_string();
        let ep = ops::get_balance(card.as_mut(), PurseKind::Ep).ok();
        // The e-passbook's balance needs the PIN; VERIFY only when the card asks for it (6982),
        // so a card without an e-passbook never spends a PIN try here.
        let ed = match ops::get_balance(card.as_mut(), PurseKind::Ed) {
            Ok(b) => Some(b),
            Err(e) if e.sw() == Some(crate::card::apdu::sw::SECURITY) => {
                ops::verify_pin(card.as_mut(), &pin)
                    .and_then(|_| ops::get_balance(card.as_mut(), PurseKind::Ed))
                    .ok()
            }
            Err(_) => None,
        };
        let start_balance = (ep, ed);
        let start_log = ops::read_log(card.as_mut())
            .ok()
            .and_then(|l| l.first().copied());
        Ok(Some(CardBench {
            card,
            session: PbocSession {
                psam: Some(issuer.psam()),
                pin: Some(pin),
                ..PbocSession::default()
            },
            start_balance,
            start_log,
            purchased: 0,
        }))
    }

    fn start(&self, purse: PurseKind) -> Result<i64, String> {
        let b = match purse {
            PurseKind::Ep => self.start_balance.0,
            PurseKind::Ed => self.start_balance.1,
        };
        b.map(i64::from)
            .ok_or_else(|| format!("the card had no readable {purse:?} balance at the start"))
    }

    fn balance(&mut self, purse: PurseKind) -> Result<u32, String> {
        let c = self.card.as_mut();
        c.power_on().map_err(|e| e.to_string())?;
        ops::select_app(c).map_err(|e| e.to_string())?;
        if purse == PurseKind::Ed {
            if let Some(p) = self.session.pin.clone() {
                ops::verify_pin(c, &p).map_err(|e| e.to_string())?;
            }
        }
        ops::get_balance(c, purse).map_err(|e| e.to_string())
    }
}

fn matches(got: &str, want: &str) -> Result<String, String> {
    if got.eq_ignore_ascii_case(want) {
        Ok(got.to_string())
    } else {
        Err(format!("expected {want}, got {got}"))
    }
}

/// Run one card step; `Ok` is what it saw, `Err` why it failed.
pub async fn run<T: Terminal>(
    t: &mut T,
    step: &CardStep,
    ctx: &mut Ctx<'_, '_>,
) -> Result<String, String> {
    let Some(bench) = ctx.card.as_mut() else {
        return Err("no card bench for this case".into());
    };
    let centre = ctx.centre.clone();
    let with_host =
        |f: &mut dyn FnMut(&mut crate::host::issuer::PbocHost) -> Result<String, String>| {
            match &centre {
                Some(c) => f(&mut c.lock().unwrap_or_else(|p| p.into_inner()).pboc),
                None => Err("this rig's centre cannot be inspected".into()),
            }
        };
    let (action, want) = match step {
        CardStep::Load {
            amount,
            purse,
            pin,
            key_index,
            corrupt_mac1,
            expect,
        } => (
            PbocAction::Load {
                amount: *amount,
                purse: *purse,
                pin: pin.clone(),
                key_index: *key_index,
                corrupt_mac1: *corrupt_mac1,
            },
            expect,
        ),
        CardStep::Purchase {
            amount,
            purse,
            pin,
            expect,
        } => (
            PbocAction::Purchase {
                amount: *amount,
                purse: *purse,
                pin: pin.clone(),
            },
            expect,
        ),
        CardStep::UploadTacs { expect } => (PbocAction::UploadTacs, expect),
        CardStep::Recover { expect } => (PbocAction::Recover, expect),
        CardStep::Faults(f) => {
            return ops::set_faults(bench.card.as_mut(), *f)
                .map(|_| format!("card faults {f:?}"))
                .map_err(|e| e.to_string());
        }
        CardStep::HostFaults { wrong_mac2 } => {
            return with_host(&mut |h| {
                h.faults = HostFaults {
                    wrong_mac2: *wrong_mac2,
                };
                Ok(format!("host faults {:?}", h.faults))
            });
        }
        CardStep::Remove => {
            return bench
                .card
                .remove()
                .map(|_| "card removed".into())
                .map_err(|e| e.to_string())
        }
        CardStep::Reinsert => {
            return bench
                .card
                .reinsert()
                .map(|_| "card reinserted".into())
                .map_err(|e| e.to_string())
        }
        CardStep::ExpectCard {
            purse,
            balance_change,
            new_log_records,
        } => {
            let mut seen = Vec::new();
            if let Some(want) = balance_change {
                let now = i64::from(bench.balance(*purse)?);
                let start = bench.start(*purse)?;
                if now - start != *want {
                    return Err(format!(
                        "balance changed by {}, expected {want} ({start} -> {now})",
                        now - start
                    ));
                }
                seen.push(format!("balance {start} -> {now}"));
            }
            if let Some(want) = new_log_records {
                let log = ops::read_log(bench.card.as_mut()).map_err(|e| e.to_string())?;
                let added = match &bench.start_log {
                    Some(first) => log.iter().position(|r| r == first).unwrap_or(log.len()),
                    None => log.len(),
                };
                if added != *want {
                    return Err(format!("{added} new log records, expected {want}"));
                }
                seen.push(format!("{added} new log records"));
            }
            return Ok(seen.join(", "));
        }
        CardStep::ExpectHost {
            authorised,
            confirmed,
            reversed,
            tac_invalid,
        } => {
            return with_host(&mut |h| {
                let count = |s: LoadState| h.loads.iter().filter(|l| l.state == s).count();
                let mut seen = Vec::new();
                for (name, want, state) in [
                    ("authorised", authorised, LoadState::Authorised),
                    ("confirmed", confirmed, LoadState::Confirmed),
                    ("reversed", reversed, LoadState::Reversed),
                    ("tac_invalid", tac_invalid, LoadState::TacInvalid),
                ] {
                    let n = count(state);
                    if let Some(w) = want {
                        if n != *w {
                            return Err(format!("{n} loads {name}, expected {w}"));
                        }
                    }
                    seen.push(format!("{name} {n}"));
                }
                Ok(seen.join(", "))
            });
        }
        CardStep::ExpectAgree { purse } => {
            let now = i64::from(bench.balance(*purse)?);
            let start = bench.start(*purse)?;
            let loaded = with_host(&mut |h| Ok(h.loaded_total().to_string()))?
                .parse::<i64>()
                .unwrap_or(0);
            let spent = bench.purchased as i64;
            if now - start != loaded - spent {
                return Err(format!(
                    "card and host disagree: card changed by {}, host loaded {loaded} and the terminal spent {spent}",
                    now - start
                ));
            }
            return Ok(format!(
                "card {start} -> {now} = host loads {loaded} - purchases {spent}"
            ));
        }
    };
    let o = t
        .pboc(bench.card.as_mut(), &action, &mut bench.session)
        .await
        .map_err(|e| e.to_string())?;
    if let (PbocAction::Purchase { amount, .. }, "9000") = (&action, o.code.as_str()) {
        bench.purchased += u64::from(*amount);
    }
    matches(&o.code, want)
        .map(|g| format!("{g} ({})", o.detail))
        .map_err(|e| format!("{e} ({})", o.detail))
}
