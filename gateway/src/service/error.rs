//! What a service operation can fail with: the typed error of the layer that failed, kept whole
//! so that `api/error.rs` maps each kind to its status without reading messages.

use svcflow_model::Refusal;

use crate::downloads::DownloadError;
use crate::ledger::LedgerError;
use crate::uploads::reseal::ResealError;
use crate::uploads::UploadError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A rule of the model refused it before the ledger was asked.
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A write committed in transaction `tx_id`, then reading back what it wrote failed.
    #[error("{source}")]
    ReadBack { source: LedgerError, tx_id: String },
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error(transparent)]
    Download(#[from] DownloadError),
    #[error(transparent)]
    Reseal(#[from] ResealError),
    /// The OS random generator failed to make a phase key.
    #[error("random key: {0}")]
    RandomKey(openssl::error::ErrorStack),
}
