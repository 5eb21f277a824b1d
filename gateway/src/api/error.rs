//! The HTTP side of every error, in one place: each layer's error (services, ledger, storage,
//! uploads, downloads, wallet, the chaincode's refusals) maps here to a status and the JSON body
//! `{code, message, tx_id?}`, and nowhere else.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use svcflow_model::{ErrorKind, Refusal};
use utoipa::ToSchema;

use crate::downloads::DownloadError;
use crate::ledger::{LedgerError, Stage};
use crate::service::ServiceError;
use crate::storage::StorageError;
use crate::uploads::journal::JournalError;
use crate::uploads::reseal::ResealError;
use crate::uploads::UploadError;
use crate::wallet::WalletError;

pub const TX_ID_HEADER: &str = "x-tx-id";
/// What a 503 suggests: long enough for a restarted peer or a Raft election.
const RETRY_AFTER_SECS: &str = "5";

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
    /// The path has routes, none for the request's method; `allow` lists their methods.
    #[error("{message}")]
    MethodNotAllowed { message: String, allow: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A JSON body sent under another content type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The stored object does not match its on-chain anchor.
    #[error("{0}")]
    Integrity(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    InsufficientStorage(String),
    #[error("{0}")]
    Internal(String),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, PartialEq, Eq, ToSchema)]
pub struct ErrorBody {
    /// The kind of error: one per status.
    #[schema(value_type = String, example = "not_found")]
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// The Fabric transaction the error concerns, when there is one.
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
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict(_) => 409,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::Integrity(_) => 502,
            ApiError::Unavailable(_) => 503,
            ApiError::InsufficientStorage(_) => 507,
            ApiError::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Integrity(_) => "integrity",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::InsufficientStorage(_) => "insufficient_storage",
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
            ErrorKind::Unavailable => ApiError::Unavailable(r.reason),
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
            StorageError::Full(_) => ApiError::InsufficientStorage(e.to_string()),
            StorageError::Backend(_) | StorageError::Io(_) | StorageError::Crypto(_) | StorageError::DataKey(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Refused { refusal, .. } => refusal.into(),
            LedgerError::Unavailable { .. } => ApiError::Unavailable(e.to_string()),
            // Sent for ordering, then no (clear) answer: an orderer or peer failing, not a bug.
            // The outcome is unknown; the answer carries the tx id to look it up or retry.
            LedgerError::Failed { stage: Stage::Submit | Stage::CommitStatus, .. } => {
                ApiError::Unavailable(format!("{e}; the transaction may still commit"))
            }
            LedgerError::Invalidated { conflict: true, .. } => ApiError::Conflict(e.to_string()),
            LedgerError::NoSigner(_) => ApiError::Unauthenticated(e.to_string()),
            LedgerError::Failed { .. } | LedgerError::Invalidated { .. } | LedgerError::Unreadable { .. } => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<WalletError> for ApiError {
    fn from(e: WalletError) -> Self {
        match e {
            WalletError::Clock(_) => ApiError::Internal(e.to_string()),
            // Authenticated by a trusted CA, yet no one this gateway may act for.
            WalletError::Unknown { .. } | WalletError::Revoked { .. } => ApiError::Forbidden(e.to_string()),
            WalletError::Unreadable | WalletError::Expired(_) | WalletError::NotYetValid(_) => ApiError::Unauthenticated(e.to_string()),
        }
    }
}

impl From<JournalError> for ApiError {
    fn from(e: JournalError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

/// An error response: `{code, message, tx_id?}` with the matching status.
#[derive(Debug)]
pub struct Failure {
    pub error: ApiError,
    pub tx_id: Option<String>,
}

impl Failure {
    pub fn with_tx(mut self, tx_id: &str) -> Self {
        self.tx_id.get_or_insert_with(|| tx_id.to_owned());
        self
    }

    fn tx(error: impl Into<ApiError>, tx_id: Option<&str>) -> Self {
        Self { error: error.into(), tx_id: tx_id.map(str::to_owned) }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Self { error, tx_id: None }
    }
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        ApiError::from(r).into()
    }
}

impl From<LedgerError> for Failure {
    fn from(e: LedgerError) -> Self {
        let tx_id = e.tx_id().map(str::to_owned);
        Self { error: e.into(), tx_id }
    }
}

impl From<StorageError> for Failure {
    fn from(e: StorageError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<WalletError> for Failure {
    fn from(e: WalletError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<UploadError> for Failure {
    fn from(e: UploadError) -> Self {
        let message = e.to_string();
        match e {
            UploadError::Invalid(r) => r.into(),
            UploadError::TooLarge(_) => ApiError::PayloadTooLarge(message).into(),
            UploadError::Body(_) => ApiError::BadRequest(message).into(),
            UploadError::AlreadyAnchored { tx_id, .. } => Failure::tx(ApiError::Conflict(message), Some(&tx_id)),
            UploadError::NotStored { .. } => ApiError::Integrity(message).into(),
            UploadError::ObjectMissing { tx_id, .. } => Failure::tx(ApiError::Integrity(message), Some(&tx_id)),
            UploadError::Journal(j) => ApiError::from(j).into(),
            UploadError::Storage(s) => s.into(),
            UploadError::Ledger(l) => l.into(),
        }
    }
}

impl From<DownloadError> for Failure {
    fn from(e: DownloadError) -> Self {
        let tx_id = e.tx_id().map(str::to_owned);
        let error = match e {
            DownloadError::Ledger(l) => return l.into(),
            DownloadError::Missing { .. } => ApiError::Integrity(e.to_string()),
            DownloadError::Storage { source, .. } => source.into(),
        };
        Self { error, tx_id }
    }
}

impl From<ResealError> for Failure {
    fn from(e: ResealError) -> Self {
        match e {
            ResealError::Upload(u) => u.into(),
            ResealError::Download(d) => d.into(),
        }
    }
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Refused(r) => r.into(),
            ServiceError::Ledger(l) => l.into(),
            // The write's transaction, unless the failed read names one of its own.
            ServiceError::ReadBack { source, tx_id } => Failure::from(source).with_tx(&tx_id),
            ServiceError::Upload(u) => u.into(),
            ServiceError::Download(d) => d.into(),
            ServiceError::Reseal(r) => r.into(),
            ServiceError::RandomKey(_) => ApiError::Internal(e.to_string()).into(),
        }
    }
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status_code());
        if let Some(tx) = &self.tx_id {
            r.insert_header((TX_ID_HEADER, tx.as_str()));
        }
        match &self.error {
            ApiError::Unauthenticated(_) => {
                r.insert_header(("www-authenticate", "Mutual-TLS"));
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                r.insert_header((header::ALLOW, allow.as_str()));
            }
            // A peer, orderer or the store is down or overloaded: worth a retry soon.
            ApiError::Unavailable(_) => {
                r.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS));
            }
            _ => {}
        }
        r.json(self.error.body(self.tx_id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_of_the_network_and_store_are_503_or_507_never_blamed_on_the_client() {
        let full = StorageError::store_io(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert_eq!(ApiError::from(full).status(), 507);
        assert_eq!(ApiError::from(StorageError::store_io(std::io::Error::from(std::io::ErrorKind::PermissionDenied))).status(), 500);
        let upload = Failure::from(UploadError::from(StorageError::Full("disk".into())));
        assert_eq!((upload.error.status(), upload.error.code()), (507, "insufficient_storage"));
        let lost = LedgerError::Failed { stage: Stage::CommitStatus, tx_id: Some("t".into()), detail: "h2 protocol error".into() };
        let f = Failure::from(lost);
        assert_eq!((f.error.status(), f.tx_id.as_deref()), (503, Some("t")), "an orderer lost mid-commit is no bug: {}", f.error);
        let evaluate = LedgerError::Failed { stage: Stage::Evaluate, tx_id: None, detail: "x".into() };
        assert_eq!(Failure::from(evaluate).error.status(), 500);
        let down = Failure::from(ApiError::Unavailable("no peer".into()));
        let r = down.error_response();
        assert_eq!(r.status().as_u16(), 503);
        assert_eq!(r.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some(RETRY_AFTER_SECS));
    }

    #[test]
    fn chaincode_kinds_map_to_statuses() {
        for (kind, status) in [
            (ErrorKind::BadRequest, 400),
            (ErrorKind::Forbidden, 403),
            (ErrorKind::NotFound, 404),
            (ErrorKind::Conflict, 409),
            (ErrorKind::Internal, 500),
            (ErrorKind::Unavailable, 503),
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
    fn ledger_errors_map_with_their_tx_id() {
        use crate::ledger::Stage;
        let cases = [
            (LedgerError::Refused { refusal: Refusal::conflict("closed"), tx_id: Some("t1".into()) }, 409, Some("t1")),
            (LedgerError::Unavailable { stage: Stage::Endorse, tx_id: None, detail: "down".into() }, 503, None),
            (LedgerError::Unavailable { stage: Stage::CommitStatus, tx_id: Some("t2".into()), detail: "slow".into() }, 503, Some("t2")),
            (LedgerError::Invalidated { tx_id: "t3".into(), code: "MVCC_READ_CONFLICT".into(), conflict: true }, 409, Some("t3")),
            (LedgerError::Invalidated { tx_id: "t4".into(), code: "ENDORSEMENT_POLICY_FAILURE".into(), conflict: false }, 500, Some("t4")),
            (LedgerError::Failed { stage: Stage::Endorse, tx_id: None, detail: "x".into() }, 500, None),
            (LedgerError::NoSigner("u".into()), 401, None),
        ];
        for (e, status, tx) in cases {
            let f = Failure::from(e);
            assert_eq!((f.error.status(), f.tx_id.as_deref()), (status, tx), "{f}");
        }
    }

    #[test]
    fn upload_errors_map() {
        let cases = [
            (UploadError::TooLarge(5), 413),
            (UploadError::Body(std::io::Error::other("reset")), 400),
            (UploadError::Invalid(Refusal::bad("name")), 400),
            (UploadError::NotStored { object_key: "k".into(), found: None, written: 3 }, 502),
            (UploadError::Storage(StorageError::Unavailable("down".into())), 503),
        ];
        for (e, status) in cases {
            assert_eq!(Failure::from(e).error.status(), status);
        }
        let f = Failure::from(UploadError::AlreadyAnchored { id: "f".into(), phase: "P".into(), tx_id: "t".into() });
        assert_eq!((f.error.status(), f.tx_id.as_deref()), (409, Some("t")));
    }

    #[test]
    fn storage_errors_map() {
        assert_eq!(ApiError::from(StorageError::Integrity("bad".into())).status(), 502);
        assert_eq!(ApiError::from(StorageError::InvalidKey("../x".into(), "no")).status(), 400);
        assert_eq!(ApiError::from(StorageError::Unavailable("down".into())).status(), 503);
    }
}
