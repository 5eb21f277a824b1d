//! svcflow gateway: the per-org REST management server.
