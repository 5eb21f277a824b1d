//! svcflow gateway: the per-org REST management server.

pub mod storage;
