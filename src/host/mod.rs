//! The embedded fake POS centre: a stateful acquirer host that answers, records and judges.
//!
//! - [`journal`]: accounts and transactions; response codes come from this state.
//! - [`centre`]: one request in, one response out (sign-in keys, MAC/PIN verification,
//!   financial, reversal, settlement, batch upload), transport-free.
//! - [`issuer`]: the issuer role for PBOC e-purse loads (MAC1 in, MAC2 out, TAC at upload).
//! - [`behaviour`]: what a test step makes the host do (codes, delays, silence, bad MACs...).
//! - [`server`]: the TCP face with recording and bad-input handling; [`serial`]: the same on
//!   an RS-232 line (STX/len/ETX/LRC frames).

pub mod behaviour;
pub mod centre;
pub mod issuer;
pub mod journal;
pub mod serial;
pub mod server;
