//! Downloads: only through the anchor. The object is read, decrypted with the phase key and
//! checked chunk by chunk against the anchored size and hash; nothing unchecked is handed on.

use futures_util::StreamExt;
use svcflow_model::call::FileRef;
use svcflow_model::file::FileAnchor;
use svcflow_model::Call;

use crate::ledger::{self, Ledger, LedgerError};
use crate::phase_key;
use crate::storage::sealed::{self, Expect};
use crate::storage::{AnyStore, ByteStream, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The anchor exists, its object does not.
    #[error("the object of file {id} is missing from the store")]
    Missing { id: String, tx_id: String },
    /// The store failed, or the object is not what was anchored (`StorageError::Integrity`).
    #[error("{source}")]
    Storage { source: StorageError, tx_id: String },
}

impl DownloadError {
    pub fn tx_id(&self) -> Option<&str> {
        match self {
            DownloadError::Ledger(e) => e.tx_id(),
            DownloadError::Missing { tx_id, .. } | DownloadError::Storage { tx_id, .. } => Some(tx_id),
        }
    }
}

/// The anchor and an authenticated plaintext stream of its object, read as `user`.
pub async fn open(ledger: &dyn Ledger, store: &AnyStore, user: &str, item: FileRef) -> Result<(FileAnchor, ByteStream), DownloadError> {
    let (project, phase, id) = (item.project.clone(), item.phase.clone(), item.id.clone());
    let a: FileAnchor = ledger::query(ledger, user, &Call::GetFile(item)).await?;
    let key = phase_key::version(ledger, user, &project, &phase, a.key_version).await?;
    let stream = sealed::get(store, &a.object_key, key, Expect { sha256: a.sha256.clone(), size: a.size }).await.map_err(|e| match e {
        StorageError::NotFound(_) => DownloadError::Missing { id: id.to_string(), tx_id: a.tx_id.clone() },
        source => DownloadError::Storage { source, tx_id: a.tx_id.clone() },
    })?;
    Ok((a, stream))
}

/// What a full re-read of a file found.
pub enum Verified {
    /// Every byte read back and matched the anchor.
    Whole { anchor: Box<FileAnchor>, size: u64, block_number: u64 },
    /// The stored object is missing or differs from its anchor.
    Broken { reason: String, tx_id: Option<String> },
}

/// Reads the whole object back through the anchor's checks and looks up the anchor's block.
pub async fn verify(ledger: &dyn Ledger, store: &AnyStore, user: &str, item: FileRef) -> Result<Verified, DownloadError> {
    let (a, mut stream) = match open(ledger, store, user, item).await {
        Ok(v) => v,
        Err(e @ (DownloadError::Missing { .. } | DownloadError::Storage { source: StorageError::Integrity(_), .. })) => {
            return Ok(Verified::Broken { reason: e.to_string(), tx_id: e.tx_id().map(str::to_owned) })
        }
        Err(e) => return Err(e),
    };
    let mut read = 0u64;
    while let Some(piece) = stream.next().await {
        match piece {
            Ok(b) => read += b.len() as u64,
            Err(e) => return Ok(Verified::Broken { reason: e.to_string(), tx_id: Some(a.tx_id.clone()) }),
        }
    }
    let block_number = ledger.block_of(user, &a.tx_id).await?;
    Ok(Verified::Whole { anchor: Box::new(a), size: read, block_number })
}
