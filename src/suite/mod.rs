//! Suites: the YAML model of test cases ([`model`]) and the runner that drives a terminal
//! through them and judges the result ([`runner`]).

pub mod card_steps;
pub mod exec;
pub mod expect;
pub mod model;
pub mod rig;
pub mod runner;
pub mod vars;
