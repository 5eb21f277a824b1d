//! svcflow gateway: the per-org REST management server.

pub mod config;
pub mod error;
pub mod storage;
pub mod wallet;
