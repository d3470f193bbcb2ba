//! Terminal drivers: how posconf reaches the device under test and how a terminal reaches the
//! centre.

pub mod link;
pub mod sim;
