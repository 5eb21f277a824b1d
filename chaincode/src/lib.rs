//! svcflow chaincode: the contract that the chaincode-as-a-service server runs, on the model it
//! shares with the gateway (`svcflow-model`).
//!
//! The contract is written against [`stub::Stub`], so its rules are tested against an in-memory
//! ledger ([`stub::MemStub`]) and run unchanged against the peer.

pub mod collection;
pub mod contract;
pub mod digest;
pub mod error;
pub mod identity;
pub mod keys;
pub mod shim;
pub mod stub;

pub use error::ContractError;
