#![allow(dead_code)] // each test binary uses a different subset
//! The gateway as a process of its own for the HTTPS tests: [`gateway`] starts one over real TLS,
//! [`fake_ledger`] gives it the real contract in memory instead of Fabric peers.

pub mod fake_ledger;
pub mod gateway;
