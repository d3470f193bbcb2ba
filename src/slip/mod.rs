//! Receipts (chapter 12 of the CUP POS spec: 签购单, 结算总计单, 结算明细单, 故障单) as data,
//! as printed text and parsed back from text.
//!
//! Status: the reader and element-by-element verifier for the coming receipt checks (issue 4).
//! The reference terminal still prints through the smaller [`crate::receipt`]; when receipt
//! checks land, the terminal moves to this module and `receipt.rs` goes, so there is one model.
//!
//! One model serves both sides of a test: the built-in reference terminal renders a slip and
//! prints it; a check parses what a real terminal printed and compares it element by element
//! with the transaction it just saw on the wire ([`verify_sales_slip`]). Layout facts the
//! sources disagree on ([var]) are fields of the slip with the most common value as default;
//! `docs` in the module items say which.

pub mod element;
pub mod error;
pub mod layout;
pub mod model;
pub mod parse;
pub mod render;
pub mod verify;

#[cfg(test)]
mod roundtrip_tests;

pub use element::{Element, Lang};
pub use error::ReceiptError;
pub use layout::{char_width, display_width, PAPER_WIDTH};
pub use model::{
    has_slip, CopyKind, DetailLine, DetailSlip, EntryMode, FaultSlip, RefLine, SalesSlip,
    SettlementBlock, SettlementSlip, SettlementStatus, Slip, SlipDateTime, SLIP_KINDS,
};
pub use parse::{parse_sales_slip, ParsedSlip, PrintedAmount};
pub use render::render;
pub use verify::{verify_sales_slip, Mismatch};
