//! Off-chain files: uploads handed to `crate::uploads`, downloads and checks through
//! `crate::downloads`, re-encryption by `crate::uploads::reseal`, anchors from the ledger.

use futures_util::StreamExt;
use svcflow_model::call::{FileRef, PhasePage, PhaseRef};
use svcflow_model::file::FileAnchor;
use svcflow_model::ids::FileId;
use svcflow_model::page::Page;
use svcflow_model::Call;
use tokio::io::AsyncRead;

use super::caller::Caller;
use super::error::ServiceError;
use super::state::AppState;
use crate::downloads::{self, DownloadError, Verified};
use crate::storage::ByteStream;
use crate::uploads::reseal::{self, Resealed};
use crate::uploads::{self, Outcome, Upload};

/// An upload as asked for: where, under which name, and how it may be retried.
pub struct UploadRequest {
    pub at: PhaseRef,
    pub name: String,
    /// Chosen by the client, else derived from `idempotency_key`, else random.
    pub id: Option<FileId>,
    pub content_type: String,
    /// Retries with the same key anchor the file once.
    pub idempotency_key: Option<String>,
}

/// The largest upload this gateway takes, in bytes.
pub fn upload_limit(state: &AppState) -> u64 {
    state.cfg.server.upload_limit_bytes
}

/// Streams `body` into an anchored file as `caller` (see `crate::uploads`).
pub async fn upload<R: AsyncRead + Unpin + Send>(state: &AppState, caller: &Caller, req: UploadRequest, body: R) -> Result<Outcome, ServiceError> {
    let UploadRequest { at: PhaseRef { project, phase }, name, id, content_type, idempotency_key } = req;
    let id = match (id, &idempotency_key) {
        (Some(id), _) => id,
        (None, Some(k)) => uploads::idempotent_id(&caller.user, &project, &phase, k)?,
        (None, None) => uploads::random_id()?,
    };
    let u = Upload {
        user: caller.user.clone(),
        msp_id: caller.msp_id.clone(),
        project,
        phase,
        id,
        name,
        content_type,
        idempotent: idempotency_key.is_some(),
        limit: upload_limit(state),
    };
    Ok(uploads::upload(&state.uploads(), u, body).await?)
}

pub async fn list(state: &AppState, caller: &Caller, page: PhasePage) -> Result<Page<FileAnchor>, ServiceError> {
    Ok(state.query(caller, Call::ListFiles(page)).await?)
}

pub async fn get(state: &AppState, caller: &Caller, at: FileRef) -> Result<FileAnchor, ServiceError> {
    Ok(state.query(caller, Call::GetFile(at)).await?)
}

/// A file being read: its anchor and its plaintext, checked chunk by chunk.
pub struct Download {
    pub anchor: FileAnchor,
    pub body: ByteStream,
}

/// Opens a file for reading as `caller`. Its first chunk is read and checked here: an object
/// refused at its first chunk (every small file) is an error, not a stream that fails at once.
pub async fn download(state: &AppState, caller: &Caller, at: FileRef) -> Result<Download, ServiceError> {
    let (anchor, mut stream) = downloads::open(&*state.ledger, &state.store, &caller.user, at).await?;
    let first = match stream.next().await {
        Some(Ok(b)) => Some(b),
        Some(Err(source)) => {
            tracing::warn!(file = %anchor.id, error = %source, "download refused");
            return Err(DownloadError::Storage { source, tx_id: anchor.tx_id }.into());
        }
        None => None,
    };
    state.metrics.downloaded(anchor.size);
    let body = Box::pin(futures_util::stream::iter(first.map(Ok)).chain(stream));
    Ok(Download { anchor, body })
}

/// Reads the whole stored object back and checks it against its anchor.
pub async fn verify(state: &AppState, caller: &Caller, at: FileRef) -> Result<Verified, ServiceError> {
    Ok(downloads::verify(&*state.ledger, &state.store, &caller.user, at).await?)
}

/// Seals every file of the phase under an older key version anew under the current one.
pub async fn reseal(state: &AppState, caller: &Caller, at: PhaseRef) -> Result<Resealed, ServiceError> {
    Ok(reseal::phase(&state.uploads(), &caller.user, &at.project, &at.phase).await?)
}
