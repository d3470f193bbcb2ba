//! Errors of receipt building and reading. Rendering never fails; reading a printout and
//! building a slip from wire fields can.

use super::element::Element;

/// What went wrong reading a printed slip or building one from message fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The printout has no text at all (printer jam, empty capture).
    #[error("receipt text is empty")]
    Empty,
    /// Not one sales-slip label or marker was found, so nothing can be checked.
    #[error("no sales slip element found in the receipt text")]
    NotASalesSlip,
    /// A typed reading was asked for an element that is not printed.
    #[error("receipt element {element} is not printed")]
    Missing { element: Element },
    /// An element is printed but its value cannot be read as what it should be.
    #[error("receipt element {element}: cannot read {value:?}: {reason}")]
    BadValue {
        element: Element,
        value: String,
        reason: &'static str,
    },
    /// Date/time fields (F13 MMDD, F12 hhmmss) that are not a valid moment.
    #[error("invalid receipt date/time {value:?}: {reason}")]
    BadDateTime { value: String, reason: &'static str },
}
