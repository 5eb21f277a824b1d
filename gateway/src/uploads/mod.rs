//! Uploads, from a byte stream to an anchored file: the order of writes that keeps the promise
//! "nothing anchored without its object, no object left without its anchor".
//!
//! 1. the journal records the upload (fsynced) before the first byte is stored;
//! 2. the bytes are hashed and sealed with the phase key while they stream into the store;
//! 3. the stored object is checked (size, or a full read-back with `verify_uploads = "full"`);
//! 4. the anchor (name, size, hash, object key) goes to the chaincode by transient;
//! 5. committed → the entry is removed; definitely failed → the object is deleted; unknown →
//!    the entry stays for [`sweep`], which asks the ledger later.
//!
//! No HTTP here: the REST layer hands over a reader and maps [`UploadError`] to a status.

pub mod journal;
pub mod reseal;
mod sweep;

use std::pin::Pin;
use std::task::{Context, Poll};

use svcflow_model::call::{FileRef, PhaseRef};
use svcflow_model::change::Written;
use svcflow_model::file::{FileAnchor, NewAnchor};
use svcflow_model::ids::{FileId, PhaseId, ProjectId};
use svcflow_model::{ids, Call, ErrorKind, Refusal};
use tokio::io::{AsyncRead, ReadBuf};

use crate::access;
use crate::config::VerifyUploads;
use crate::ledger::{self, Committed, Ledger, LedgerError, SubmitOptions};
use crate::metrics::Metrics;
use crate::phase_key;
use crate::storage::sealed::{self, DataKey, Expect, Sealed};
use crate::storage::{AnyStore, ObjectStore, StorageError};
use journal::{Journal, JournalError, Pending};
pub use sweep::sweep;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// A rule of the input (file name, id) is broken.
    #[error(transparent)]
    Invalid(#[from] Refusal),
    #[error("the upload is over the limit of {0} bytes")]
    TooLarge(u64),
    /// The client's body failed while it streamed.
    #[error("the upload body failed: {0}")]
    Body(std::io::Error),
    #[error("file {id} of phase {phase} is already anchored")]
    AlreadyAnchored { id: String, phase: String, tx_id: String },
    /// The store answered for the object with other bytes than were written.
    #[error("stored object {object_key} has {found:?} bytes, {written} were written")]
    NotStored { object_key: String, found: Option<u64>, written: u64 },
    #[error("file {id} is anchored (transaction {tx_id}) but its object is missing from the store")]
    ObjectMissing { id: String, tx_id: String },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Storage(StorageError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<crate::access::AccessError> for UploadError {
    fn from(e: crate::access::AccessError) -> Self {
        match e {
            crate::access::AccessError::Ledger(e) => UploadError::Ledger(e),
            crate::access::AccessError::Storage(e) => UploadError::Storage(e),
        }
    }
}

impl From<StorageError> for UploadError {
    /// A failure of the client's body travels through the store's reader as I/O: it is the
    /// client's error, not the store's.
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Io(io) => match io.get_ref().and_then(|i| i.downcast_ref::<TooLarge>()) {
                Some(t) => UploadError::TooLarge(t.0),
                None => UploadError::Body(io),
            },
            other => UploadError::Storage(other),
        }
    }
}

/// What is uploaded, by whom, where.
pub struct Upload {
    /// The wallet user uploading (the ledger is called as them).
    pub user: String,
    pub msp_id: String,
    pub project: ProjectId,
    pub phase: PhaseId,
    /// The file id: chosen by the caller, derived from an Idempotency-Key, or random.
    pub id: FileId,
    pub name: String,
    pub content_type: String,
    /// An Idempotency-Key was given: a file already anchored by this org under this name is
    /// the retry's answer.
    pub idempotent: bool,
    pub limit: u64,
}

/// The result of an upload.
pub enum Outcome {
    Anchored {
        anchor: FileAnchor,
        committed: Committed,
    },
    /// A retry of an upload that was anchored before: nothing was stored again.
    Replayed {
        anchor: FileAnchor,
        block_number: Option<u64>,
    },
}

/// The parts of the gateway an upload uses.
pub struct Env<'a> {
    pub ledger: &'a dyn Ledger,
    pub store: &'a AnyStore,
    pub journal: &'a Journal,
    pub metrics: &'a Metrics,
    pub verify: VerifyUploads,
}

fn random_hex(n: usize) -> Result<String, UploadError> {
    let mut b = vec![0u8; n];
    openssl::rand::rand_bytes(&mut b).map_err(|e| UploadError::Storage(StorageError::Crypto(e)))?;
    Ok(hex::encode(b))
}

/// A fresh random file id.
pub fn random_id() -> Result<FileId, UploadError> {
    Ok(FileId::new(format!("f-{}", random_hex(16)?))?)
}

/// The file id a retried upload maps to: the same caller, phase and Idempotency-Key give the
/// same id, so the chaincode anchors it once.
pub fn idempotent_id(user: &str, project: &str, phase: &str, key: &str) -> Result<FileId, UploadError> {
    let d = openssl::sha::sha256(format!("{user}\n{project}\n{phase}\n{key}").as_bytes());
    Ok(FileId::new(format!("f-{}", &hex::encode(d)[..40]))?)
}

/// Checks what can be checked before a byte is read.
pub fn check(u: &Upload) -> Result<(), UploadError> {
    // Its ids are valid by their types.
    ids::check_file_name(&u.name)?;
    Ok(())
}

/// Streams `body` into an anchored file (see the module's steps).
/// `body` is taken by value: a caller pumping it from elsewhere sees it dropped (and stops) as
/// soon as the upload ends, whether or not it read a byte.
pub async fn upload<R: AsyncRead + Unpin + Send>(env: &Env<'_>, u: Upload, body: R) -> Result<Outcome, UploadError> {
    check(&u)?;
    let item = FileRef { project: u.project.clone(), phase: u.phase.clone(), id: u.id.clone() };

    // A retry of an upload that was anchored: answer with that anchor, store nothing.
    match ledger::query::<FileAnchor>(env.ledger, &u.user, &Call::GetFile(item.clone())).await {
        Ok(a) if u.idempotent && a.uploader.msp_id == u.msp_id && a.name == u.name => {
            // The answer promises the file: only when its object is there too.
            if env.store.head(&a.object_key).await.map_err(UploadError::Storage)?.is_none() {
                return Err(UploadError::ObjectMissing { id: a.id.to_string(), tx_id: a.tx_id });
            }
            let block_number = env.ledger.block_of(&u.user, &a.tx_id).await.ok();
            return Ok(Outcome::Replayed { anchor: a, block_number });
        }
        Ok(a) => return Err(UploadError::AlreadyAnchored { id: u.id.to_string(), phase: u.phase.to_string(), tx_id: a.tx_id }),
        Err(e) if e.refusal().is_some_and(|r| r.kind == ErrorKind::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let phase_key::Versioned { version: key_version, key } = phase_key::current(env.ledger, &u.user, &u.project, &u.phase, true).await?;

    // Each attempt writes its own object, so concurrent retries never overwrite each other.
    let object_key = env.store.new_key(u.project.as_str(), u.phase.as_str(), u.id.as_str()).map_err(UploadError::Storage)?;
    access::prepare(env.ledger, env.store, &u.user, &u.project, &u.phase, &object_key).await?;
    let pending = Pending {
        object_key: object_key.clone(),
        project: u.project.to_string(),
        phase: u.phase.to_string(),
        file: u.id.to_string(),
        user: u.user.clone(),
        tx_id: None,
    };
    env.journal.begin(&pending)?;
    let mut limited = Limited { inner: body, left: u.limit, limit: u.limit };
    let sealed = match sealed::put(env.store, &object_key, &key, &mut limited).await {
        Ok(s) => s,
        Err(e) => {
            // A failed put may still have left parts of a multipart upload (its own abort failed
            // with the store down): removed now, or by the sweep.
            discard(env, &object_key).await;
            return Err(e.into());
        }
    };
    if let Err(e) = check_stored(env, &object_key, &key, &sealed).await {
        discard(env, &object_key).await;
        return Err(e);
    }
    let sealed_size = sealed.size;
    let anchor = NewAnchor {
        id: u.id,
        name: u.name,
        size: sealed.size,
        sha256: sealed.sha256,
        content_type: u.content_type,
        object_key: object_key.clone(),
        key_version,
    };
    let phase = PhaseRef { project: item.project.clone(), phase: item.phase.clone() };
    // The tx id goes into the journal before the anchor is ordered: an unknown outcome is then
    // settled by asking the ledger about that transaction.
    let note = |tx_id: &str| env.journal.note(&Pending { tx_id: Some(tx_id.to_owned()), ..pending.clone() }).map_err(|e| e.to_string());
    let opts = SubmitOptions { endorsers: &[], before_order: Some(&note) };
    let anchored = ledger::invoke_with::<Written>(env.ledger, &u.user, &Call::AnchorFile(phase, anchor), opts).await;
    env.metrics.fabric_call("AnchorFile", anchored.is_ok());
    match anchored {
        Ok((_, committed)) => {
            keep(env, &object_key).await;
            env.metrics.uploaded(sealed_size);
            // The anchor as stored, read back privately (the commit's answer names nothing).
            let anchor = ledger::query::<FileAnchor>(env.ledger, &u.user, &Call::GetFile(item)).await?;
            Ok(Outcome::Anchored { anchor, committed })
        }
        Err(e) if e.maybe_committed() => {
            // The anchor may still commit: keep the object; the sweep settles it.
            tracing::warn!(object = %object_key, tx_id = ?e.tx_id(), "anchor outcome unknown; left to the journal sweep");
            env.journal.leave(&object_key);
            Err(e.into())
        }
        Err(e) => {
            discard(env, &object_key).await;
            Err(e.into())
        }
    }
}

/// The object is in the store, whole, before any anchor points at it: its stored size matches
/// and, with `storage.verify_uploads = "full"`, it reads back through decryption to the same
/// size and hash.
async fn check_stored(env: &Env<'_>, object_key: &str, key: &DataKey, sealed: &Sealed) -> Result<(), UploadError> {
    match env.store.head(object_key).await.map_err(UploadError::Storage)? {
        Some(info) if info.size == sealed.stored_size => {}
        other => return Err(UploadError::NotStored { object_key: object_key.to_owned(), found: other.map(|i| i.size), written: sealed.stored_size }),
    }
    if env.verify == VerifyUploads::Full {
        use futures_util::StreamExt;
        let copy = DataKey::from_slice(key.expose()).map_err(UploadError::Storage)?;
        let expect = Expect { sha256: sealed.sha256.clone(), size: sealed.size };
        let mut back = sealed::get(env.store, object_key, copy, expect).await.map_err(UploadError::Storage)?;
        while let Some(piece) = back.next().await {
            piece.map_err(UploadError::Storage)?;
        }
    }
    Ok(())
}

/// The object is anchored: it is locked against deletion, then its journal entry goes. If the
/// lock fails the entry stays, and the sweep (which finds the anchor naming it) locks it later.
pub(crate) async fn keep(env: &Env<'_>, object_key: &str) -> bool {
    match env.store.lock(object_key).await {
        Ok(()) => {
            env.journal.finish(object_key);
            true
        }
        Err(e) => {
            tracing::warn!(object = %object_key, error = %e, "could not lock an anchored object; left to the journal sweep");
            env.journal.leave(object_key);
            false
        }
    }
}

/// Removes an object whose anchor definitely failed; if even that fails, the sweep retries.
async fn discard(env: &Env<'_>, object_key: &str) {
    match env.store.delete(object_key).await {
        Ok(()) | Err(StorageError::NotFound(_)) => env.journal.finish(object_key),
        Err(e) => {
            tracing::warn!(object = %object_key, error = %e, "could not remove an unanchored object; left to the journal sweep");
            env.journal.leave(object_key);
        }
    }
}

/// Counts the body and fails it once it passes the limit (a body without Content-Length, or
/// one that lies about it).
struct Limited<R> {
    inner: R,
    left: u64,
    limit: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("the upload is over the limit of {0} bytes")]
struct TooLarge(u64);

impl<R: AsyncRead + Unpin> AsyncRead for Limited<R> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        // Read at most one byte past the limit into a window of `buf`; only a read within the
        // limit is handed on.
        let max = (self.left.saturating_add(1)).min(buf.remaining() as u64) as usize;
        let mut window = buf.take(max);
        let res = Pin::new(&mut self.inner).poll_read(cx, &mut window);
        let n = window.filled().len();
        match res {
            Poll::Ready(Ok(())) if n as u64 > self.left => Poll::Ready(Err(std::io::Error::other(TooLarge(self.limit)))),
            Poll::Ready(Ok(())) => {
                // SAFETY: the inner reader initialised and filled these `n` bytes of `buf`.
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                self.left -= n as u64;
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_give_stable_valid_ids() {
        let a = idempotent_id("u", "p", "ph", "k1").unwrap();
        assert_eq!(a, idempotent_id("u", "p", "ph", "k1").unwrap());
        assert_ne!(a, idempotent_id("u2", "p", "ph", "k1").unwrap());
        assert_ne!(a, idempotent_id("u", "p", "ph", "k2").unwrap());
    }

    #[tokio::test]
    async fn the_limit_fails_the_body_past_it() {
        use tokio::io::AsyncReadExt;
        let mut ok = Limited { inner: &b"12345"[..], left: 5, limit: 5 };
        let mut v = Vec::new();
        ok.read_to_end(&mut v).await.unwrap();
        let mut over = Limited { inner: &b"123456"[..], left: 5, limit: 5 };
        let e = over.read_to_end(&mut Vec::new()).await.unwrap_err();
        assert!(matches!(UploadError::from(StorageError::Io(e)), UploadError::TooLarge(5)));
    }
}
