//! The gateway's one error type, mapped once to an HTTP status and a JSON body
//! `{code, message, tx_id?}`.

use serde::Serialize;
use svcflow_model::{ErrorKind, Refusal};

use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The stored object does not match its on-chain anchor.
    #[error("{0}")]
    Integrity(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<String>,
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthenticated(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::Conflict(_) => 409,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::Integrity(_) => 502,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::Integrity(_) => "integrity",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn body(&self, tx_id: Option<String>) -> ErrorBody {
        ErrorBody { code: self.code(), message: self.to_string(), tx_id }
    }
}

/// A chaincode refusal, by the kind its wire code names (see `svcflow_model::error`).
impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r.kind {
            ErrorKind::BadRequest => ApiError::BadRequest(r.reason),
            ErrorKind::Forbidden => ApiError::Forbidden(r.reason),
            ErrorKind::NotFound => ApiError::NotFound(r.reason),
            ErrorKind::Conflict => ApiError::Conflict(r.reason),
            ErrorKind::Internal => ApiError::Internal(r.reason),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(_) => ApiError::NotFound(e.to_string()),
            StorageError::InvalidKey(..) => ApiError::BadRequest(e.to_string()),
            StorageError::Integrity(_) => ApiError::Integrity(e.to_string()),
            StorageError::Unavailable(_) => ApiError::Unavailable(e.to_string()),
            StorageError::Backend(_) | StorageError::Io(_) | StorageError::Crypto(_) | StorageError::DataKey(_) => ApiError::Internal(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chaincode_kinds_map_to_statuses() {
        for (kind, status) in [
            (ErrorKind::BadRequest, 400),
            (ErrorKind::Forbidden, 403),
            (ErrorKind::NotFound, 404),
            (ErrorKind::Conflict, 409),
            (ErrorKind::Internal, 500),
        ] {
            let e = ApiError::from(Refusal::new(kind, "why"));
            assert_eq!((e.status(), e.code(), e.to_string().as_str()), (status, kind.code(), "why"));
        }
    }

    #[test]
    fn body_is_code_message_and_tx_id() {
        let b = ApiError::Conflict("already anchored".into()).body(Some("abc".into()));
        assert_eq!(serde_json::to_value(&b).unwrap(), serde_json::json!({"code":"conflict","message":"already anchored","tx_id":"abc"}));
        let b = ApiError::NotFound("x".into()).body(None);
        assert_eq!(serde_json::to_value(&b).unwrap(), serde_json::json!({"code":"not_found","message":"x"}));
    }

    #[test]
    fn storage_errors_map() {
        assert_eq!(ApiError::from(StorageError::Integrity("bad".into())).status(), 502);
        assert_eq!(ApiError::from(StorageError::InvalidKey("../x".into(), "no")).status(), 400);
        assert_eq!(ApiError::from(StorageError::Unavailable("down".into())).status(), 503);
    }
}
