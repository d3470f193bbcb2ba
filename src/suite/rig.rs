//! Rig files and terminal capability files.
//!
//! A **rig file** wires concrete drivers to a run: which terminal (the built-in reference
//! terminal, a real one over a serial automation link, or an operator following prompts),
//! where the embedded centre listens, which card reader, and what the bench provides
//! (`provides: [ic-reader, printer-capture]`). With no `--rig`, [`Rig::embedded_default`].
//!
//! A **capability file** is the terminal's conformance statement (what it supports: pre-auth,
//! offline, tip, foreign cards...). A case applies when every capability it `needs` is
//! provided by the rig or supported by the terminal; other cases report as skipped with the
//! missing capability named. Names are checked against [`KNOWN_CAPABILITIES`] so a typo in a
//! suite or a capability file is an error, not a silently skipped case.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Every capability name a suite, rig or capability file may use.
pub const KNOWN_CAPABILITIES: &[&str] = &[
    // what the rig provides
    "sim",
    "manual",
    "ic-reader",
    "contactless-reader",
    "printer-capture",
    "display-capture",
    "serial-link",
    "pcsc",
    // what the terminal supports
    "magstripe",
    "ic",
    "contactless",
    "pin-pad",
    "pre-auth",
    "offline",
    "adjust",
    "tip",
    "foreign-cards",
    "test-state",
    "param-download",
    "status-upload",
    "lock",
    "pboc-load",
    "e-purse",
];

#[derive(Debug, thiserror::Error)]
pub enum RigError {
    #[error(transparent)]
    Yaml(#[from] crate::yaml::YamlError),
    #[error("{origin}: unknown capability {name:?} (known: {known})")]
    UnknownCapability {
        origin: String,
        name: String,
        known: String,
    },
    #[error("{origin}: host.listen {addr} is not a loopback address; a centre reachable from the network needs `host.allow_remote: true` in the rig file")]
    RemoteBind { origin: String, addr: SocketAddr },
    #[error("{origin}: host.listen {value:?} is not an address:port")]
    BadListen { origin: String, value: String },
}

/// Which terminal the run drives.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "RawTerminal")]
pub enum TerminalRig {
    /// The built-in reference terminal, optionally with fault switches on for every case.
    Sim {
        #[serde(default)]
        faults: Vec<String>,
    },
    /// A real terminal driven over its serial automation link (posconf's line protocol, see
    /// `terminal::automation`).
    Serial {
        port: String,
        #[serde(default = "baud")]
        baud: u32,
        /// How long one command may take before the link counts as dead.
        #[serde(default = "command_timeout")]
        timeout_ms: u64,
    },
    /// An operator performs each step on the terminal following prompts and types results.
    Manual {},
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Driver {
    Sim,
    Serial,
    Manual,
}

/// The `terminal:` section as written; a plain struct so a typo is reported at its line.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawTerminal {
    driver: Driver,
    #[serde(default)]
    faults: Vec<String>,
    #[serde(default)]
    port: Option<String>,
    #[serde(default = "baud")]
    baud: u32,
    #[serde(default = "command_timeout")]
    timeout_ms: u64,
}

impl TryFrom<RawTerminal> for TerminalRig {
    type Error = String;
    fn try_from(r: RawTerminal) -> Result<Self, String> {
        if r.driver != Driver::Sim && !r.faults.is_empty() {
            return Err("terminal.faults applies to the sim driver only".into());
        }
        if r.driver != Driver::Serial && r.port.is_some() {
            return Err("terminal.port applies to the serial driver only".into());
        }
        Ok(match r.driver {
            Driver::Sim => {
                crate::terminal::sim::Faults::from_names(&r.faults)?;
                TerminalRig::Sim { faults: r.faults }
            }
            Driver::Serial => TerminalRig::Serial {
                port: r
                    .port
                    .ok_or("terminal.port is required for the serial driver")?,
                baud: r.baud,
                timeout_ms: r.timeout_ms,
            },
            Driver::Manual => TerminalRig::Manual {},
        })
    }
}

fn baud() -> u32 {
    115_200
}
fn command_timeout() -> u64 {
    90_000
}

impl Default for TerminalRig {
    fn default() -> Self {
        TerminalRig::Sim { faults: Vec::new() }
    }
}

/// Where the embedded centre listens.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostRig {
    /// `127.0.0.1:0` (an ephemeral port per case) for the reference terminal; a fixed port
    /// (e.g. `127.0.0.1:8000`, or a bench interface with `allow_remote`) for a real one.
    #[serde(default = "loopback")]
    pub listen: String,
    #[serde(default)]
    pub allow_remote: bool,
    /// Terminal id (field 41) in the fixtures that the terminal under test uses.
    #[serde(default = "default_tid")]
    pub terminal_id: String,
}

fn loopback() -> String {
    "127.0.0.1:0".into()
}
fn default_tid() -> String {
    "12345678".into()
}

impl Default for HostRig {
    fn default() -> Self {
        HostRig {
            listen: loopback(),
            allow_remote: false,
            terminal_id: default_tid(),
        }
    }
}

/// A rig file.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rig {
    #[serde(default = "default_rig_name")]
    pub rig: String,
    #[serde(default)]
    pub terminal: TerminalRig,
    #[serde(default)]
    pub host: HostRig,
    /// The card reader (PBOC cards): `{driver: virtual|pcsc, reader, card, wait_ms}`.
    #[serde(default)]
    pub card: Option<crate::card::CardRig>,
    /// What the bench provides beyond the driver's own (`ic-reader`, `printer-capture`...).
    #[serde(default)]
    pub provides: Vec<String>,
    /// The terminal's capability file, relative to the rig file.
    #[serde(default)]
    pub capabilities: Option<PathBuf>,
    /// Supervisor password of the terminal under test (voids and refunds ask for it).
    #[serde(default = "supervisor")]
    pub supervisor_password: String,
    /// Where this rig came from (for errors).
    #[serde(skip)]
    pub origin: String,
}

fn default_rig_name() -> String {
    "embedded-default".into()
}
fn supervisor() -> String {
    "123456".into()
}

/// A terminal's conformance statement.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Make and model, for the report.
    pub terminal: String,
    #[serde(default)]
    pub vendor: Option<String>,
    pub supports: Vec<String>,
}

/// The reference terminal's statement (`hil-rig/capabilities/reference-terminal.yaml`).
pub const REFERENCE_CAPABILITIES: &str =
    include_str!("../../hil-rig/capabilities/reference-terminal.yaml");

fn check_names<'a>(
    origin: &str,
    names: impl IntoIterator<Item = &'a String>,
) -> Result<(), RigError> {
    for n in names {
        if !KNOWN_CAPABILITIES.contains(&n.as_str()) {
            return Err(RigError::UnknownCapability {
                origin: origin.to_string(),
                name: n.clone(),
                known: KNOWN_CAPABILITIES.join(", "),
            });
        }
    }
    Ok(())
}

impl Capabilities {
    pub fn load(path: &Path) -> Result<Capabilities, RigError> {
        let c: Capabilities = crate::yaml::from_file(path)?;
        check_names(&path.display().to_string(), &c.supports)?;
        Ok(c)
    }

    pub fn reference() -> Result<Capabilities, RigError> {
        let origin = "hil-rig/capabilities/reference-terminal.yaml (built-in)";
        let c: Capabilities = crate::yaml::from_str(REFERENCE_CAPABILITIES, origin)?;
        check_names(origin, &c.supports)?;
        Ok(c)
    }
}

impl Rig {
    /// The reference terminal and the embedded centre on an ephemeral loopback port.
    pub fn embedded_default() -> Rig {
        Rig {
            rig: default_rig_name(),
            terminal: TerminalRig::default(),
            host: HostRig::default(),
            card: None,
            provides: Vec::new(),
            capabilities: None,
            supervisor_password: supervisor(),
            origin: "embedded default".into(),
        }
    }

    pub fn load(path: &Path) -> Result<Rig, RigError> {
        let mut rig: Rig = crate::yaml::from_file(path)?;
        rig.origin = path.display().to_string();
        if let Some(c) = rig.capabilities.as_mut() {
            if c.is_relative() {
                *c = path.parent().unwrap_or(Path::new(".")).join(&*c);
            }
        }
        rig.validate()?;
        Ok(rig)
    }

    pub fn validate(&self) -> Result<(), RigError> {
        check_names(&self.origin, &self.provides)?;
        let addr = self.listen_addr()?;
        if !addr.ip().is_loopback() && !self.host.allow_remote {
            return Err(RigError::RemoteBind {
                origin: self.origin.clone(),
                addr,
            });
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, RigError> {
        self.host.listen.parse().map_err(|_| RigError::BadListen {
            origin: self.origin.clone(),
            value: self.host.listen.clone(),
        })
    }

    pub fn is_sim(&self) -> bool {
        matches!(self.terminal, TerminalRig::Sim { .. })
    }

    /// What the driver itself brings.
    fn driver_provides(&self) -> &'static [&'static str] {
        match self.terminal {
            TerminalRig::Sim { .. } => &["sim", "printer-capture", "display-capture"],
            TerminalRig::Serial { .. } => &["serial-link", "printer-capture", "display-capture"],
            TerminalRig::Manual {} => &["manual"],
        }
    }

    /// Every capability available: the driver's, the rig's `provides`, the terminal's
    /// statement, and `manual` when an operator is present.
    pub fn available(&self, caps: &Capabilities, operator: bool) -> BTreeSet<String> {
        let mut s: BTreeSet<String> = self
            .driver_provides()
            .iter()
            .map(|x| x.to_string())
            .collect();
        s.extend(self.provides.iter().cloned());
        s.extend(caps.supports.iter().cloned());
        if let Some(c) = &self.card {
            if c.driver == crate::card::CardDriver::Pcsc {
                s.insert("pcsc".into());
            }
            s.insert("ic-reader".into());
        }
        if operator {
            s.insert("manual".into());
        }
        s
    }
}

/// JSON Schemas of rig files and capability files (`posconf schema rig|capabilities`).
pub fn rig_schema() -> serde_json::Value {
    schemars::schema_for!(Rig).to_value()
}

pub fn capabilities_schema() -> serde_json::Value {
    schemars::schema_for!(Capabilities).to_value()
}

/// Check a suite case's `needs` names.
pub fn check_needs(origin: &str, needs: &[String]) -> Result<(), RigError> {
    check_names(origin, needs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rig_files_parse_with_defaults_and_refuse_typos_and_remote_binds() {
        let r: Rig = crate::yaml::from_str(
            "rig: bench-1\nterminal: {driver: serial, port: /dev/ttyUSB0}\nhost: {listen: \"127.0.0.1:8000\"}\nprovides: [printer-capture]\n",
            "r.yaml",
        )
        .unwrap();
        assert!(matches!(
            r.terminal,
            TerminalRig::Serial { baud: 115_200, .. }
        ));
        r.validate().unwrap();
        let e = crate::yaml::from_str::<Rig>("rig: x\nterminal: {driver: seriel}\n", "r.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.yaml:2:") && e.contains("seriel"), "{e}");
        let e = crate::yaml::from_str::<Rig>("terminal: {driver: serial}\n", "r.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("terminal.port is required"), "{e}");
        let e = crate::yaml::from_str::<Rig>(
            "terminal: {driver: sim, faults: [wrong_mca]}\n",
            "r.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("wrong_mca"), "{e}");
        let mut r = Rig::embedded_default();
        r.host.listen = "0.0.0.0:8000".into();
        assert!(matches!(r.validate(), Err(RigError::RemoteBind { .. })));
        r.host.allow_remote = true;
        r.validate().unwrap();
        r.provides = vec!["ic-raeder".into()];
        let e = r.validate().unwrap_err().to_string();
        assert!(e.contains("\"ic-raeder\""), "{e}");
    }

    #[test]
    fn the_reference_statement_parses_and_availability_merges_sources() {
        let caps = Capabilities::reference().unwrap();
        assert!(caps.supports.iter().any(|s| s == "pre-auth"));
        let r = Rig::embedded_default();
        let a = r.available(&caps, false);
        assert!(a.contains("sim") && a.contains("pre-auth") && !a.contains("manual"));
        assert!(r.available(&caps, true).contains("manual"));
    }
}
