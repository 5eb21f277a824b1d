//! Re-encrypting a phase's files under its current key version (after a participant was
//! removed): each older object is read back through its anchor's checks, sealed anew into a new
//! object, and the anchor re-pointed (`ResealFile`); the old object is deleted after the commit.
//! Both objects are in the journal until the outcome is known, so whichever the anchor does not
//! name is removed, by this call or by the sweep.

use svcflow_model::call::{FileRef, PhasePage, PhaseRef};
use svcflow_model::file::{FileAnchor, Reseal};
use svcflow_model::ids::{FileId, PhaseId, ProjectId};
use svcflow_model::page::{Page, MAX_PAGE_SIZE};
use svcflow_model::Call;
use tokio_util::io::StreamReader;

use super::journal::Pending;
use super::{discard, keep, Env, UploadError};
use crate::access;
use crate::downloads::{self, DownloadError};
use crate::ledger::{self, SubmitOptions};
use crate::phase_key;
use crate::storage::sealed;
use crate::storage::StorageError;
use futures_util::StreamExt;

/// What a reseal did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Resealed {
    /// The key version every file of the phase is now sealed with.
    pub key_version: u32,
    /// Files sealed anew by this call.
    pub resealed: Vec<FileId>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error(transparent)]
    Download(#[from] DownloadError),
}

/// Seals every file of the phase that is under an older key version anew, as `user`.
pub async fn phase(env: &Env<'_>, user: &str, project: &ProjectId, phase: &PhaseId) -> Result<Resealed, ResealError> {
    let current = phase_key::current(env.ledger, user, project, phase, true).await.map_err(UploadError::from)?;
    let at = PhaseRef { project: project.clone(), phase: phase.clone() };
    let mut older = Vec::new();
    let mut bookmark = String::new();
    loop {
        let list = Call::ListFiles(PhasePage { project: project.clone(), phase: phase.clone(), page_size: Some(MAX_PAGE_SIZE), bookmark });
        let page: Page<FileAnchor> = ledger::query(env.ledger, user, &list).await.map_err(UploadError::from)?;
        older.extend(page.items.into_iter().filter(|a| a.key_version < current.version));
        if page.bookmark.is_empty() {
            break;
        }
        bookmark = page.bookmark;
    }
    let mut resealed = Vec::new();
    for a in older {
        let item = FileRef { project: project.clone(), phase: phase.clone(), id: a.id.clone() };
        let (a, plain) = downloads::open(env.ledger, env.store, user, item).await?;
        let object_key = env.store.new_key(project.as_str(), phase.as_str(), a.id.as_str()).map_err(UploadError::Storage)?;
        access::prepare(env.ledger, env.store, user, project, phase, &object_key).await.map_err(|e| ResealError::Upload(e.into()))?;
        let pending = |key: &str, tx_id: Option<&str>| Pending {
            object_key: key.to_owned(),
            project: project.to_string(),
            phase: phase.to_string(),
            file: a.id.to_string(),
            user: user.to_owned(),
            tx_id: tx_id.map(str::to_owned),
        };
        env.journal.begin(&pending(&object_key, None)).map_err(UploadError::from)?;
        let mut reader = StreamReader::new(plain.map(|piece| piece.map_err(StorageError::into_io)));
        let sealed = match sealed::put(env.store, &object_key, &current.key, &mut reader).await {
            Ok(s) => s,
            Err(e) => {
                discard(env, &object_key).await;
                return Err(UploadError::from(e).into());
            }
        };
        // The old object is settled like a new one from here: kept only while the anchor names it.
        env.journal.begin(&pending(&a.object_key, None)).map_err(UploadError::from)?;
        let r = Reseal { id: a.id.clone(), object_key: object_key.clone(), key_version: current.version, size: sealed.size, sha256: sealed.sha256 };
        // Both entries learn the transaction before it is ordered, so that the sweep can settle
        // them from the ledger if the outcome stays unknown.
        let note = |tx_id: &str| {
            env.journal
                .note(&pending(&object_key, Some(tx_id)))
                .and_then(|()| env.journal.note(&pending(&a.object_key, Some(tx_id))))
                .map_err(|e| e.to_string())
        };
        let opts = SubmitOptions { endorsers: &[], before_order: Some(&note) };
        let done = env.ledger.submit_with(user, &Call::ResealFile(at.clone(), r), opts).await;
        env.metrics.fabric_call("ResealFile", done.is_ok());
        match done {
            Ok(c) => {
                tracing::info!(tx_id = %c.tx_id, %project, %phase, key_version = current.version, "file resealed");
                keep(env, &object_key).await;
                discard(env, &a.object_key).await;
                resealed.push(a.id);
            }
            Err(e) if e.maybe_committed() => {
                env.journal.leave(&object_key);
                env.journal.leave(&a.object_key);
                return Err(UploadError::from(e).into());
            }
            Err(e) => {
                env.journal.finish(&a.object_key);
                discard(env, &object_key).await;
                return Err(UploadError::from(e).into());
            }
        }
    }
    Ok(Resealed { key_version: current.version, resealed })
}
