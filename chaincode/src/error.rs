//! The chaincode's error: a refusal of the contract (its kind shared with the gateway through
//! `svcflow-model`) or a failure of the ledger under it. The shim answers with the kind's status
//! and `code: reason` as the message (see `svcflow_model::error`).

use svcflow_model::{ErrorKind, Refusal};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContractError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The ledger (peer) refused or failed a call, or stored data is unreadable.
    #[error("internal: {0}")]
    Ledger(String),
}

impl ContractError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ContractError::Refused(r) => r.kind,
            ContractError::Ledger(_) => ErrorKind::Internal,
        }
    }

    pub fn bad(msg: impl Into<String>) -> Self {
        Refusal::bad(msg).into()
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Refusal::forbidden(msg).into()
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Refusal::not_found(msg).into()
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        Refusal::conflict(msg).into()
    }
}

pub type Result<T> = std::result::Result<T, ContractError>;
