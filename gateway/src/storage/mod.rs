//! Off-chain object storage: where phase files live, encrypted with the phase data key.
//!
//! [`ObjectStore`] is the raw byte store with two backends, [`s3::S3Store`] (Ceph RGW or any S3)
//! and [`fs::FsStore`] (the embedded default for a quick local run). [`sealed`] puts the
//! hash-then-encrypt pipeline around either one.

pub mod fs;
pub mod s3;
pub mod sealed;

use std::pin::Pin;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Everything the storage layer can fail with; the gateway maps it once to HTTP.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object {0} not found")]
    NotFound(String),
    #[error("invalid object key {0:?}: {1}")]
    InvalidKey(String, &'static str),
    #[error("object store unavailable: {0}")]
    Unavailable(String),
    #[error("object store error: {0}")]
    Backend(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The stored object does not match what was written: altered, truncated, reordered,
    /// extended, or read with the wrong key.
    #[error("integrity check failed: {0}")]
    Integrity(String),
    #[error("crypto error: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
    #[error("a data key must be 32 bytes, got {0}")]
    DataKey(usize),
    /// The store has no room: its disk or its quota is full.
    #[error("object store full: {0}")]
    Full(String),
}

impl StorageError {
    /// Recovers a `StorageError` that travelled inside an `io::Error` (through an `AsyncRead`
    /// adapter), so a store failing mid-stream keeps its kind; any other I/O error stays `Io`.
    pub fn from_io(e: std::io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<StorageError>()) {
            if let Some(inner) = e.into_inner() {
                if let Ok(se) = inner.downcast::<StorageError>() {
                    return *se;
                }
            }
            return StorageError::Backend("unreadable inner error".into());
        }
        StorageError::Io(e)
    }

    /// The opposite of [`StorageError::from_io`].
    /// An error of the store's own I/O (not of the bytes handed to it): full, or a store failure.
    pub fn store_io(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => StorageError::Full(e.to_string()),
            _ => StorageError::Backend(e.to_string()),
        }
    }

    pub fn into_io(self) -> std::io::Error {
        match self {
            StorageError::Io(e) => e,
            other => std::io::Error::other(other),
        }
    }
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// A stream of object bytes; an `Err` item ends it.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// What `head` tells about a stored object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Stored bytes.
    pub size: u64,
}

/// A flat namespace of immutable objects. A `put` is all-or-nothing: until it returns `Ok`
/// no reader sees the object, and a failed `put` (a store error, or `body` failing before its
/// end) leaves nothing visible; an existing object under the key is replaced only on success.
///
/// `put` reads a byte stream as an `AsyncRead`; a `Stream` of `Bytes` (an HTTP request body)
/// becomes one with `tokio_util::io::StreamReader`.
#[allow(async_fn_in_trait)] // used with static dispatch (or through `AnyStore`)
pub trait ObjectStore: Send + Sync {
    /// Stores everything `body` yields under `key`; returns the number of bytes stored.
    async fn put(&self, key: &str, body: &mut (dyn AsyncRead + Unpin + Send)) -> Result<u64>;
    /// Streams the object back; `NotFound` if there is none.
    async fn get(&self, key: &str) -> Result<ByteStream>;
    /// Removes the object; `NotFound` if there is none (S3 does not tell: `Ok` there).
    async fn delete(&self, key: &str) -> Result<()>;
    /// The object's metadata, or `None` if there is no such object.
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>>;
    async fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.head(key).await?.is_some())
    }
}

/// The backend chosen by configuration.
pub enum AnyStore {
    Fs(fs::FsStore),
    // Boxed: its clients and credentials are large beside the fs store's one path.
    S3(Box<s3::S3Store>),
}

impl ObjectStore for AnyStore {
    async fn put(&self, key: &str, body: &mut (dyn AsyncRead + Unpin + Send)) -> Result<u64> {
        match self {
            AnyStore::Fs(s) => s.put(key, body).await,
            AnyStore::S3(s) => s.put(key, body).await,
        }
    }
    async fn get(&self, key: &str) -> Result<ByteStream> {
        match self {
            AnyStore::Fs(s) => s.get(key).await,
            AnyStore::S3(s) => s.get(key).await,
        }
    }
    async fn delete(&self, key: &str) -> Result<()> {
        match self {
            AnyStore::Fs(s) => s.delete(key).await,
            AnyStore::S3(s) => s.delete(key).await,
        }
    }
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        match self {
            AnyStore::Fs(s) => s.head(key).await,
            AnyStore::S3(s) => s.head(key).await,
        }
    }
}

/// What only some stores do: where a new object goes, who may read a phase's objects, and keeping
/// an anchored object (see [`s3`]); the fs store keeps one directory that its gateways share.
impl AnyStore {
    /// A key for a new object of the phase: `project/phase/file.<random>` in the fs store (and
    /// in the S3 store's older layout), `<bucket>/<random>` in this org's bucket of the phase.
    pub fn new_key(&self, project: &str, phase: &str, file: &str) -> Result<String> {
        match self {
            AnyStore::Fs(_) => {
                let mut r = [0u8; 8];
                openssl::rand::rand_bytes(&mut r)?;
                let key = format!("{project}/{phase}/{file}.{}", hex::encode(r));
                validate_key(&key)?;
                Ok(key)
            }
            AnyStore::S3(s) => s.new_key(project, phase, file),
        }
    }

    /// Whether the store answers (for the health check).
    pub async fn probe(&self) -> Result<()> {
        match self {
            AnyStore::Fs(s) => s.head("healthz/probe").await.map(|_| ()),
            AnyStore::S3(s) => s.probe().await,
        }
    }

    /// Whether the phase's participant orgs must be granted reads of what this gateway stores.
    pub fn grants_access(&self) -> bool {
        matches!(self, AnyStore::S3(s) if s.grants_access())
    }

    /// Before a new object `key` is written: its place exists and `orgs` may read there.
    pub async fn prepare(&self, key: &str, owned: &s3::OwnedBucket, orgs: &[String]) -> Result<()> {
        match self {
            AnyStore::Fs(_) => Ok(()),
            AnyStore::S3(s) => s.prepare(key, owned, orgs).await,
        }
    }

    /// The objects this gateway stored for the phase may be read by exactly `orgs`.
    pub async fn grant(&self, project: &str, phase: &str, orgs: &[String]) -> Result<()> {
        match self {
            AnyStore::Fs(_) => Ok(()),
            AnyStore::S3(s) => s.grant(project, phase, orgs).await,
        }
    }

    /// The phases this gateway stored objects for, in buckets of its own.
    pub fn owned(&self) -> Vec<s3::OwnedBucket> {
        match self {
            AnyStore::Fs(_) => Vec::new(),
            AnyStore::S3(s) => s.owned(),
        }
    }

    /// The object is anchored: from now on no single org may destroy it.
    pub async fn lock(&self, key: &str) -> Result<()> {
        match self {
            AnyStore::Fs(_) => Ok(()),
            AnyStore::S3(s) => s.lock(key).await,
        }
    }
}

/// Object keys are `/`-separated names of `[A-Za-z0-9._-]` segments, none starting with `.`;
/// nothing that could climb out of a directory, reach the fs backend's own `.incoming`, or be
/// read differently by two backends.
pub fn validate_key(key: &str) -> Result<()> {
    let bad = |why| Err(StorageError::InvalidKey(key.to_owned(), why));
    if key.is_empty() || key.len() > 512 {
        return bad("must be 1 to 512 bytes");
    }
    for seg in key.split('/') {
        if seg.is_empty() || seg.starts_with('.') {
            return bad("empty segment, or one starting with '.'");
        }
        if !seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') {
            return bad("only A-Z a-z 0-9 . _ - and / are allowed");
        }
    }
    Ok(())
}

/// Reads into a fresh `buf` until it holds `want` bytes or EOF; returns how many it holds.
/// It reads into spare capacity, so a chunk about to be overwritten is never zeroed first.
pub(crate) async fn read_up_to(r: &mut (impl AsyncRead + Unpin + ?Sized), buf: &mut BytesMut, want: usize) -> std::io::Result<usize> {
    buf.clear();
    buf.reserve(want);
    while buf.len() < want {
        let room = want - buf.len();
        if r.read_buf(&mut (&mut *buf).limit(room)).await? == 0 {
            break;
        }
    }
    Ok(buf.len())
}

#[cfg(test)]
mod tests {
    use super::validate_key;

    #[test]
    fn keys() {
        for ok in ["a", "p1/ph1/f-1.bin", "A_b.c"] {
            assert!(validate_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/a", "a/", "a//b", "../x", "a/../b", "a/./b", ".incoming/x", "a/.b", "a b", "a\\b", "é"] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
    }
}
