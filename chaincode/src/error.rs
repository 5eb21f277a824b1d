//! The one error type of the contract. Its `Display` is what the peer returns to the client, so it
//! starts with a machine-readable kind (`bad_request:`, `forbidden:`, `not_found:`, `conflict:`,
//! `internal:`) that the gateway maps to an HTTP status, followed by the reason.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContractError {
    #[error("bad_request: {0}")]
    BadRequest(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not_found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// The ledger (peer) refused or failed a call.
    #[error("internal: {0}")]
    Ledger(String),
}

impl ContractError {
    pub fn bad(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::Forbidden(msg.into())
    }
}

pub type Result<T> = std::result::Result<T, ContractError>;
