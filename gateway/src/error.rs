//! The gateway's one error type, mapped once to an HTTP status and a JSON body
//! `{code, message, tx_id?}`.

use serde::Serialize;

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

    /// Maps a chaincode refusal. Fabric wraps the chaincode's message in its own text (e.g.
    /// `endorsement failure during evaluate. response: status:500 message:"forbidden: ..."`), so the
    /// kind the contract put first is searched for anywhere in it.
    pub fn from_chaincode(message: &str) -> Self {
        for (kind, make) in [
            ("bad_request: ", ApiError::BadRequest as fn(String) -> ApiError),
            ("forbidden: ", ApiError::Forbidden),
            ("not_found: ", ApiError::NotFound),
            ("conflict: ", ApiError::Conflict),
        ] {
            if let Some(at) = message.find(kind) {
                let rest = &message[at + kind.len()..];
                // Fabric repeats the message once per peer detail; the first line says it all.
                let reason = rest.lines().next().unwrap_or(rest).trim_end_matches(['"', ' ', '}']);
                return make(reason.to_owned());
            }
        }
        if message.contains("does not have read access permission") || message.contains("tx creator does not have write access") {
            return ApiError::Forbidden(message.to_owned());
        }
        ApiError::Internal(message.to_owned())
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
        let cases = [
            (
                r#"endorsement failure during evaluate. response: status:500 message:"forbidden: User2@org1 (Org1MSP) is not a participant of phase P3""#,
                403,
                "User2@org1 (Org1MSP) is not a participant of phase P3",
            ),
            ("not_found: project p9 does not exist", 404, "project p9 does not exist"),
            ("bad_request: record is 2000000 bytes; at most 1048576", 400, "record is 2000000 bytes; at most 1048576"),
            ("conflict: phase P2 is closed and read-only", 409, "phase P2 is closed and read-only"),
            ("tx creator does not have read access permission on privatedata", 403, "tx creator does not have read access permission on privatedata"),
            ("internal: GET_STATE failed", 500, "internal: GET_STATE failed"),
        ];
        for (msg, status, text) in cases {
            let e = ApiError::from_chaincode(msg);
            assert_eq!((e.status(), e.to_string().as_str()), (status, text), "{msg}");
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
