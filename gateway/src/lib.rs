//! svcflow gateway: the per-org REST management server.

pub mod access;
pub mod api;
pub mod config;
pub mod dashboard;
pub mod downloads;
pub mod fabric;
pub mod ledger;
pub mod metrics;
pub mod migration;
pub mod phase_key;
pub mod server;
pub mod service;
pub mod signer;
pub mod startup;
pub mod storage;
pub mod tls;
pub mod uploads;
pub mod wallet;
