//! svcflow gateway: the per-org REST management server.

pub mod api;
pub mod config;
pub mod error;
pub mod fabric;
pub mod metrics;
pub mod server;
pub mod signer;
pub mod storage;
pub mod tls;
pub mod uploads;
pub mod wallet;
