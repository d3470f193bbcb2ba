//! The wire codec: the CUP direct-connect ISO 8583 dialect declared as data ([`cup`]), a codec
//! generic over such tables ([`codec`]), framing ([`frame`]), masking ([`mask`]), transaction
//! classification ([`txn`]) and a field-by-field diff ([`diff`]).

pub mod bcd;
pub mod codec;
pub mod cup;
pub mod diff;
pub mod error;
pub mod frame;
pub mod mask;
pub mod message;
pub mod spec;
pub mod table;
pub mod txn;
pub mod views;

pub use codec::{Codec, FieldSpan};
pub use cup::CUP_DIRECT;
pub use error::{DecodeError, DecodeErrorKind, EncodeError, PartialDecode};
pub use frame::{decode_frame, DecodedFrame, Frame, Framing, Header, ProcessingRequest, Tpdu};
pub use message::{Message, Mti, Value};
pub use spec::{Dialect, FieldSpec};

/// The CUP codec with default profile settings.
pub fn cup_codec() -> Codec<'static> {
    Codec::new(&CUP_DIRECT)
}
