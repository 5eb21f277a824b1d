//! svcflow chaincode: the model shared with the gateway, and the contract that the
//! chaincode-as-a-service server runs.
//!
//! The contract is written against [`stub::Stub`], so its rules are tested against an in-memory
//! ledger ([`stub::MemStub`]) and run unchanged against the peer.

pub mod acl;
pub mod collection;
pub mod contract;
pub mod error;
pub mod identity;
pub mod keys;
pub mod model;
pub mod shim;
pub mod stub;

pub use error::ContractError;
