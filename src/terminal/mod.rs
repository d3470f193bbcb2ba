//! Terminal drivers: how posconf reaches the device under test and how a terminal reaches the
//! centre.
//!
//! - [`Terminal`]: the operator-level actions a suite step can ask of any terminal; the built-in
//!   reference terminal ([`sim`]) implements them in software; serial-automation and manual
//!   (operator-prompt) drivers implement the same trait.
//! - [`link`]: `HostLink`, a terminal's connection to the centre.

pub mod automation;
pub mod display;
pub mod link;
pub mod manual;
pub mod sim;

pub use sim::{CardInput, Outcome};

/// Why a terminal action could not be carried out (as opposed to being declined by the host,
/// which is an [`Outcome`] with a response code).
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("not signed in: POS sign-in (0800) is required first")]
    NotSignedIn,
    #[error("no operator signed in")]
    NoOperator,
    #[error("refused by the terminal: {0}")]
    Refused(String),
    #[error("no transaction with voucher {0} in this batch")]
    NoOriginal(String),
    #[error("sign-in failed: {0}")]
    SignIn(String),
    #[error("internal: {0}")]
    Internal(String),
}

/// Operator-level actions (seed 001 chapters 6-7). Amounts are in fen.
#[allow(async_fn_in_trait)]
pub trait Terminal {
    /// Power on and self-test; the terminal then needs an operator and a POS sign-in.
    async fn power_on(&mut self) -> Result<Outcome, TerminalError>;
    async fn operator_sign_in(
        &mut self,
        code: &str,
        password: &str,
    ) -> Result<Outcome, TerminalError>;
    async fn pos_sign_in(&mut self) -> Result<Outcome, TerminalError>;
    async fn balance_inquiry(&mut self, card: &CardInput) -> Result<Outcome, TerminalError>;
    async fn purchase(&mut self, card: &CardInput, amount: u64) -> Result<Outcome, TerminalError>;
    /// Void a purchase of this batch by voucher number; needs the supervisor password.
    async fn void(
        &mut self,
        card: &CardInput,
        voucher: &str,
        supervisor_password: &str,
    ) -> Result<Outcome, TerminalError>;
    /// Refund against an original's RRN and date (MMDD); needs the supervisor password.
    async fn refund(
        &mut self,
        card: &CardInput,
        amount: u64,
        orig_rrn: &str,
        orig_date: &str,
        supervisor_password: &str,
    ) -> Result<Outcome, TerminalError>;
    async fn pre_auth(&mut self, card: &CardInput, amount: u64) -> Result<Outcome, TerminalError>;
    async fn pre_auth_void(
        &mut self,
        card: &CardInput,
        amount: u64,
        auth_code: &str,
        orig_date: &str,
    ) -> Result<Outcome, TerminalError>;
    async fn completion(
        &mut self,
        card: &CardInput,
        amount: u64,
        auth_code: &str,
        orig_date: &str,
    ) -> Result<Outcome, TerminalError>;
    async fn completion_void(
        &mut self,
        card: &CardInput,
        voucher: &str,
        supervisor_password: &str,
    ) -> Result<Outcome, TerminalError>;
    /// Batch settlement (and batch upload when unbalanced): the 0510 result flags (RMB, foreign).
    async fn settle(&mut self) -> Result<(char, char), TerminalError>;
    async fn sign_off(&mut self) -> Result<Outcome, TerminalError>;
    async fn echo_test(&mut self) -> Result<Outcome, TerminalError>;
    /// Enter or leave the test state (seed 6.1.4.1): only with an empty batch.
    fn set_test_mode(&mut self, on: bool) -> Result<(), TerminalError>;
    /// Offline settlement with a phone authorisation code; sent before the next settlement.
    async fn offline_settlement(
        &mut self,
        card: &CardInput,
        amount: u64,
        auth_code: &str,
    ) -> Result<Outcome, TerminalError>;
    /// Settlement adjust (32) or adjust with tip (34) of a transaction of this batch.
    async fn adjust(
        &mut self,
        voucher: &str,
        new_amount: u64,
        tip: u64,
    ) -> Result<Outcome, TerminalError>;
    /// Parameter download (0800, 60.3 = 360).
    async fn download_parameters(&mut self) -> Result<Outcome, TerminalError>;
    /// Lock the terminal (seed 6.1.4.4); the operator's or a supervisor's password unlocks it.
    fn lock(&mut self) -> Result<(), TerminalError>;
    fn unlock(&mut self, password: &str) -> Result<(), TerminalError>;
    /// What the screen shows now.
    fn read_display(&self) -> String;
    /// The last slip printed (sales, settlement or fault slip).
    fn last_receipt(&self) -> Option<String>;
    /// Slips printed since the last call, in order (a settlement prints several).
    fn take_printed(&mut self) -> Vec<String>;
    /// Voucher (trace) number of the last transaction the terminal stored, when it can say:
    /// offline entries reach the centre only at settlement, so a later adjust needs it.
    fn last_voucher(&self) -> Option<String> {
        None
    }
    /// POS status upload (0820, 60.3 = 362).
    async fn upload_status(&mut self) -> Result<Outcome, TerminalError>;
    /// Reprint the last sales slip (marked DUPLICATED).
    async fn reprint(&mut self) -> Result<Outcome, TerminalError>;
    /// A PBOC load / e-purse action with the card in the terminal's reader (issue 5;
    /// `sim::load`). Drivers that cannot be told to do one refuse.
    async fn pboc(
        &mut self,
        _card: &mut dyn crate::card::Card,
        _action: &sim::load::PbocAction,
        _st: &mut sim::load::PbocSession,
    ) -> Result<sim::load::PbocOutcome, TerminalError> {
        Err(TerminalError::Refused(
            "this terminal driver cannot be told to perform a PBOC load".into(),
        ))
    }
}
