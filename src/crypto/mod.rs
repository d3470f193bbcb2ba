//! Payment crypto on the `des` crate: CUP POS MAC, ANSI X9.9/X9.19, X9.8 PIN blocks,
//! key check values, sign-in working-key blocks (field 62), track encryption and PBOC
//! e-purse crypto. No DES is written here; only the modes and layouts around it.

pub mod error;
pub mod kcv;
pub mod key;
pub mod mac;
pub mod pboc;
pub mod pin_block;
pub mod track;
pub mod working_keys;

pub use error::CryptoError;
pub use kcv::check_value;
pub use key::DesKey;
pub use mac::{cup_ecb_mac, cup_ecb_mac_trace, verify_mac, x9_19_mac, x9_9_mac, MacAlgorithm};
pub use pin_block::{decrypt_pin_block, encrypt_pin_block};
pub use working_keys::{decode_field62, encode_field62, KeyLayout, WorkingKeys};
