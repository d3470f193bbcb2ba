//! Suites: the YAML model of test cases ([`model`]) and the runner that drives a terminal
//! through them and judges the result ([`runner`]).

pub mod model;
pub mod runner;
