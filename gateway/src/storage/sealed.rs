//! Sealed objects: plaintext hashed with SHA-256 while it streams, then encrypted with
//! AES-256-GCM in chunks under the phase data key; and back, decrypted and verified.
//!
//! Layout of a sealed object:
//!
//! ```text
//! header  = "SVFS" | version (1 byte) | chunk size (u32 BE) | object id (16 random bytes)
//! record  = nonce (12 random bytes) | ciphertext | tag (16)     -- one per chunk, in order
//! AAD     = header | chunk index (u64 BE) | last flag (1 byte)
//! ```
//!
//! Every chunk holds `chunk size` plaintext bytes except the last, which holds 0..=chunk size and
//! is the only one sealed with last flag 1 (an empty file is one empty last chunk). So tampering
//! fails a tag; reordering fails the index; truncation at a record boundary leaves a final chunk
//! sealed as not-last; anything appended follows the true last chunk; and chunks cannot be moved
//! between objects because the header (with its random id) is in every chunk's AAD.

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use openssl::sha::Sha256;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::io::StreamReader;

use super::{read_up_to, ByteStream, ObjectStore, Result, StorageError};

const MAGIC: &[u8; 4] = b"SVFS";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 4 + 1 + 4 + 16;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Plaintext bytes per chunk: large enough that the 28 bytes of nonce and tag are noise, small
/// enough that a reader never holds much unverified data.
pub const CHUNK_SIZE: usize = 1 << 20;

/// What a sealed upload produced: the anchor material for the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// The object key it is stored under.
    pub key: String,
    /// SHA-256 of the plaintext, lowercase hex.
    pub sha256: String,
    /// Plaintext size in bytes.
    pub size: u64,
    /// Bytes stored (header, nonces and tags included).
    pub stored_size: u64,
}

/// A 32-byte AES-256 key (the phase data key). Never printed; overwritten when dropped.
pub struct DataKey([u8; 32]);

impl DataKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
    /// The key's bytes, for making a copy (a reader takes its key by value).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| StorageError::DataKey(bytes.len()))?;
        Ok(Self(arr))
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            // Volatile so the compiler cannot drop the wipe of memory about to be freed.
            // SAFETY: `b` is a valid, aligned, exclusive reference into `self.0`.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
    }
}

fn aad(header: &[u8], index: u64, last: bool) -> Vec<u8> {
    let mut a = Vec::with_capacity(header.len() + 9);
    a.extend_from_slice(header);
    a.extend_from_slice(&index.to_be_bytes());
    a.push(u8::from(last));
    a
}

fn seal_chunk(key: &DataKey, header: &[u8], index: u64, last: bool, plain: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    openssl::rand::rand_bytes(&mut nonce)?;
    let mut tag = [0u8; TAG_LEN];
    let ct = encrypt_aead(Cipher::aes_256_gcm(), &key.0, Some(&nonce), &aad(header, index, last), plain, &mut tag)?;
    let mut rec = Vec::with_capacity(NONCE_LEN + ct.len() + TAG_LEN);
    rec.extend_from_slice(&nonce);
    rec.extend_from_slice(&ct);
    rec.extend_from_slice(&tag);
    Ok(rec)
}

fn open_chunk(key: &DataKey, header: &[u8], index: u64, last: bool, rec: &[u8]) -> Result<Vec<u8>> {
    if rec.len() < NONCE_LEN + TAG_LEN {
        return Err(StorageError::Integrity(format!("chunk {index} is cut short")));
    }
    let (nonce, rest) = rec.split_at(NONCE_LEN);
    let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
    decrypt_aead(Cipher::aes_256_gcm(), &key.0, Some(nonce), &aad(header, index, last), ct, tag).map_err(|_| {
        StorageError::Integrity(format!("chunk {index} does not authenticate (altered, reordered, truncated, extended, or another key)"))
    })
}

/// Turns the pipe's EOF into an error unless the producer marked the body complete, so a store
/// never commits a body whose source failed half-way (it aborts instead).
struct EofGuard<'a, R> {
    inner: R,
    complete: &'a AtomicBool,
}

impl<R: AsyncRead + Unpin> AsyncRead for EofGuard<'_, R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = std::pin::Pin::new(&mut this.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = polled {
            if buf.filled().len() == before && !this.complete.load(Ordering::Acquire) {
                return std::task::Poll::Ready(Err(std::io::Error::other("upload source failed before its end")));
            }
        }
        polled
    }
}

/// `read_up_to` from the upload's source, remembering whether it was the source that failed.
async fn read_source(r: &mut (dyn AsyncRead + Unpin + Send), buf: &mut BytesMut, failed: &AtomicBool) -> std::io::Result<usize> {
    read_up_to(r, buf, CHUNK_SIZE).await.inspect_err(|_| failed.store(true, Ordering::Release))
}

/// Reads until `buf` is full or EOF; returns how many bytes were read.
async fn read_full(r: &mut (impl AsyncRead + Unpin + ?Sized), buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let m = r.read(&mut buf[n..]).await?;
        if m == 0 {
            break;
        }
        n += m;
    }
    Ok(n)
}

/// A chunk between two stages of a transfer: plaintext on its way to be sealed, or a record on
/// its way to be opened. `last` is known by reading one chunk ahead.
struct Piece {
    bytes: BytesMut,
    last: bool,
}

fn new_header() -> Result<Vec<u8>> {
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.push(VERSION);
    header.extend_from_slice(&(CHUNK_SIZE as u32).to_be_bytes());
    let mut id = [0u8; 16];
    openssl::rand::rand_bytes(&mut id)?;
    header.extend_from_slice(&id);
    Ok(header)
}

/// Hashes, encrypts and stores everything `plain` yields under `key`.
///
/// Three stages run at once, so one transfer uses more than one core: this task reads the source
/// (the request body: TLS in), a blocking thread hashes and seals each chunk (SHA-256 and
/// AES-GCM, most of a transfer's CPU), and the store sends the records on from a small in-memory
/// pipe. Each stage holds a chunk or two, so memory stays flat whatever the size.
pub async fn put<S: ObjectStore>(store: &S, object_key: &str, data_key: &DataKey, plain: &mut (dyn AsyncRead + Unpin + Send)) -> Result<Sealed> {
    let (mut pipe_in, pipe_out) = tokio::io::duplex(2 * CHUNK_SIZE);
    let complete = AtomicBool::new(false);
    let source_failed = AtomicBool::new(false);
    let header = new_header()?;
    let (chunk_tx, mut chunk_rx) = mpsc::channel::<Piece>(1);
    let (rec_tx, mut rec_rx) = mpsc::channel::<(Vec<u8>, bool)>(1);

    let sealer = {
        let key = DataKey::from_slice(data_key.expose())?;
        let header = header.clone();
        tokio::task::spawn_blocking(move || -> Result<(String, u64)> {
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            let mut index = 0u64;
            while let Some(p) = chunk_rx.blocking_recv() {
                hasher.update(&p.bytes);
                size += p.bytes.len() as u64;
                let rec = seal_chunk(&key, &header, index, p.last, &p.bytes)?;
                if rec_tx.blocking_send((rec, p.last)).is_err() {
                    return Err(StorageError::Backend("the store stopped reading the upload".into()));
                }
                if p.last {
                    return Ok((hex::encode(hasher.finish()), size));
                }
                index += 1;
            }
            Err(StorageError::Backend("the upload's source stopped before its end".into()))
        })
    };
    let source_failed_ref = &source_failed;
    let reader = async move {
        let mut cur = BytesMut::new();
        let mut cur_len = read_source(plain, &mut cur, source_failed_ref).await?;
        loop {
            // A full chunk is the last only if nothing follows it: read ahead to know.
            let mut next = BytesMut::new();
            let next_len = if cur_len == CHUNK_SIZE { read_source(plain, &mut next, source_failed_ref).await? } else { 0 };
            let last = next_len == 0;
            // A sealer that went away failed: its own error says why.
            if chunk_tx.send(Piece { bytes: cur, last }).await.is_err() || last {
                return Ok::<(), StorageError>(());
            }
            cur = next;
            cur_len = next_len;
        }
    };
    let writer = async {
        let res: Result<()> = async {
            pipe_in.write_all(&header).await?;
            while let Some((rec, last)) = rec_rx.recv().await {
                pipe_in.write_all(&rec).await?;
                if last {
                    // Mark success before the EOF the store will see: an EOF without it is a failure.
                    complete.store(true, Ordering::Release);
                    pipe_in.shutdown().await?;
                    break;
                }
            }
            Ok(())
        }
        .await;
        // Whatever happened, close the pipe so the store's read side ends.
        drop(pipe_in);
        drop(rec_rx);
        res
    };
    // The store owns the read side: if it gives up, the pipe closes and the other stages stop too.
    let consumer = async {
        let mut guarded = EofGuard { inner: pipe_out, complete: &complete };
        store.put(object_key, &mut guarded).await
    };
    let (read, written, stored) = tokio::join!(reader, writer, consumer);
    let sealed = sealer.await.map_err(|e| StorageError::Backend(format!("the sealing thread failed: {e}")))?;
    match (read, sealed, written, stored) {
        (Ok(()), Ok((sha256, size)), Ok(()), Ok(stored_size)) => Ok(Sealed { key: object_key.to_owned(), sha256, size, stored_size }),
        // The source failed: the store saw an I/O error instead of an EOF and kept nothing.
        (Err(e), ..) if source_failed.load(Ordering::Acquire) => Err(e),
        // The store failed (the other stages then only saw their channels close): its reason.
        (.., Err(e)) => Err(e),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) => Err(e),
    }
}

/// What a reader expects the plaintext to be (from the on-chain anchor).
#[derive(Clone, Debug)]
pub struct Expect {
    pub sha256: String,
    pub size: u64,
}

/// What the store's reader hands the opener: the object's header, then its records in order.
enum Read {
    Header([u8; HEADER_LEN]),
    Record(Piece),
}

/// Fetches, decrypts and verifies the object, streaming plaintext out.
///
/// Each chunk is released only once it authenticates, and the last one only once the whole
/// plaintext's SHA-256 and size match `expect`: a reader never sees a clean end of a bad object;
/// the stream ends with an `Err` instead. Reading the store stays on this runtime while a
/// blocking thread opens and hashes, so a download uses more than one core.
pub async fn get<S: ObjectStore>(store: &S, object_key: &str, data_key: DataKey, expect: Expect) -> Result<ByteStream> {
    let raw = store.get(object_key).await?;
    let (tx, rx) = mpsc::channel::<Result<Bytes>>(2);
    let (rec_tx, rec_rx) = mpsc::channel::<Result<Read>>(2);
    tokio::spawn(async move {
        // Store errors cross the reader as io::Errors and come back out with their kind.
        let reader = StreamReader::new(raw.map(|r| r.map_err(StorageError::into_io)));
        if let Err(e) = read_records(reader, &rec_tx).await {
            let _ = rec_tx.send(Err(e)).await;
        }
    });
    let object_key = object_key.to_owned();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = open_records(rec_rx, &data_key, &expect, &tx) {
            tracing::warn!(object = %object_key, error = %e, "sealed object refused on read");
            let _ = tx.blocking_send(Err(e));
        }
    });
    Ok(Box::pin(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })))
}

/// Reads the header and the records of a sealed object and hands them on in order.
async fn read_records(mut r: impl AsyncRead + Unpin, out: &mpsc::Sender<Result<Read>>) -> Result<()> {
    let mut header = [0u8; HEADER_LEN];
    if read_full(&mut r, &mut header).await.map_err(StorageError::from_io)? != HEADER_LEN || &header[..4] != MAGIC {
        return Err(StorageError::Integrity("not a sealed object (bad or missing header)".into()));
    }
    if header[4] != VERSION {
        return Err(StorageError::Integrity(format!("unknown sealed format version {}", header[4])));
    }
    let chunk = u32::from_be_bytes([header[5], header[6], header[7], header[8]]) as usize;
    if chunk == 0 || chunk > 16 * CHUNK_SIZE {
        return Err(StorageError::Integrity(format!("implausible chunk size {chunk}")));
    }
    if out.send(Ok(Read::Header(header))).await.is_err() {
        return Ok(()); // the reader went away
    }
    let rec_len = NONCE_LEN + chunk + TAG_LEN;
    let mut cur = BytesMut::new();
    let mut cur_len = read_up_to(&mut r, &mut cur, rec_len).await.map_err(StorageError::from_io)?;
    loop {
        let mut next = BytesMut::new();
        let next_len = if cur_len == rec_len { read_up_to(&mut r, &mut next, rec_len).await.map_err(StorageError::from_io)? } else { 0 };
        let last = next_len == 0;
        if out.send(Ok(Read::Record(Piece { bytes: cur, last }))).await.is_err() || last {
            return Ok(());
        }
        cur = next;
        cur_len = next_len;
    }
}

/// Opens and hashes the records `read_records` hands on (on a blocking thread) and sends the
/// plaintext out; the last chunk only once the whole object matches `expect`.
fn open_records(mut rx: mpsc::Receiver<Result<Read>>, key: &DataKey, expect: &Expect, tx: &mpsc::Sender<Result<Bytes>>) -> Result<()> {
    let stopped = || StorageError::Unavailable("the store's stream stopped before the object's end".into());
    let header = match rx.blocking_recv() {
        Some(Ok(Read::Header(h))) => h,
        Some(Ok(Read::Record(_))) => return Err(StorageError::Backend("a record came before the header".into())),
        Some(Err(e)) => return Err(e),
        None => return Err(stopped()),
    };
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut index = 0u64;
    loop {
        let rec = match rx.blocking_recv() {
            Some(Ok(Read::Record(p))) => p,
            Some(Ok(Read::Header(_))) => return Err(StorageError::Backend("a second header".into())),
            Some(Err(e)) => return Err(e),
            None => return Err(stopped()),
        };
        let last = rec.last;
        let plain = open_chunk(key, &header, index, last, &rec.bytes)?;
        hasher.update(&plain);
        size += plain.len() as u64;
        if last {
            let got = hex::encode(std::mem::replace(&mut hasher, Sha256::new()).finish());
            if size != expect.size {
                return Err(StorageError::Integrity(format!("size {size} differs from the anchored {}", expect.size)));
            }
            if !got.eq_ignore_ascii_case(&expect.sha256) {
                return Err(StorageError::Integrity(format!("SHA-256 {got} differs from the anchored {}", expect.sha256)));
            }
        }
        if !plain.is_empty() && tx.blocking_send(Ok(Bytes::from(plain))).is_err() {
            return Ok(()); // the reader went away
        }
        if last {
            return Ok(());
        }
        index += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::fs::FsStore;

    const KEY: [u8; 32] = [7u8; 32];

    async fn collect(mut s: ByteStream) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(item) = s.next().await {
            out.extend_from_slice(&item?);
        }
        Ok(out)
    }

    fn sha(data: &[u8]) -> String {
        hex::encode(openssl::sha::sha256(data))
    }

    async fn roundtrip(len: usize) -> (tempfile::TempDir, FsStore, Vec<u8>, Sealed) {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).await.unwrap();
        let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let sealed = put(&store, "o", &DataKey::new(KEY), &mut data.as_slice()).await.unwrap();
        (dir, store, data, sealed)
    }

    #[tokio::test]
    async fn roundtrips_sizes_around_chunk_edges() {
        for len in [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 2 * CHUNK_SIZE + 5] {
            let (_d, store, data, sealed) = roundtrip(len).await;
            assert_eq!(sealed.size, len as u64);
            assert_eq!(sealed.sha256, sha(&data));
            let expect = Expect { sha256: sealed.sha256.clone(), size: sealed.size };
            let got = collect(get(&store, "o", DataKey::new(KEY), expect).await.unwrap()).await.unwrap();
            assert_eq!(got, data, "len {len}");
        }
    }

    /// Rewrites the stored object and expects the read to fail.
    async fn refused_after(len: usize, mangle: impl FnOnce(&mut Vec<u8>)) -> StorageError {
        let (dir, store, _data, sealed) = roundtrip(len).await;
        let path = dir.path().join("o");
        let mut raw = std::fs::read(&path).unwrap();
        mangle(&mut raw);
        std::fs::write(&path, &raw).unwrap();
        let expect = Expect { sha256: sealed.sha256, size: sealed.size };
        match get(&store, "o", DataKey::new(KEY), expect).await {
            Err(e) => e,
            Ok(s) => collect(s).await.expect_err("a mangled object must not read back"),
        }
    }

    #[tokio::test]
    async fn detects_tampering_truncation_reordering_appending() {
        let rec = NONCE_LEN + CHUNK_SIZE + TAG_LEN;
        type Mangle = Box<dyn FnOnce(&mut Vec<u8>)>;
        let cases: Vec<(&str, usize, Mangle)> = vec![
            ("flip a ciphertext bit", 10, Box::new(|r: &mut Vec<u8>| r[HEADER_LEN + NONCE_LEN + 2] ^= 1)),
            ("flip a header bit", 10, Box::new(|r: &mut Vec<u8>| r[10] ^= 1)),
            ("truncate inside a chunk", 10, Box::new(|r: &mut Vec<u8>| r.truncate(r.len() - 3))),
            ("truncate at a chunk boundary", 2 * CHUNK_SIZE + 5, Box::new(move |r: &mut Vec<u8>| r.truncate(HEADER_LEN + 2 * rec))),
            ("drop everything but the header", 0, Box::new(|r: &mut Vec<u8>| r.truncate(HEADER_LEN))),
            ("append a byte", 10, Box::new(|r: &mut Vec<u8>| r.push(0))),
            (
                "append a copy of the last chunk",
                CHUNK_SIZE + 1,
                Box::new(move |r: &mut Vec<u8>| {
                    let last = r[HEADER_LEN + rec..].to_vec();
                    r.extend_from_slice(&last)
                }),
            ),
            (
                "swap two chunks",
                3 * CHUNK_SIZE,
                Box::new(move |r: &mut Vec<u8>| {
                    let a = r[HEADER_LEN..HEADER_LEN + rec].to_vec();
                    let b = r[HEADER_LEN + rec..HEADER_LEN + 2 * rec].to_vec();
                    r[HEADER_LEN..HEADER_LEN + rec].copy_from_slice(&b);
                    r[HEADER_LEN + rec..HEADER_LEN + 2 * rec].copy_from_slice(&a);
                }),
            ),
            ("not sealed at all", 10, Box::new(|r: &mut Vec<u8>| *r = b"plain text".to_vec())),
        ];
        for (name, len, mangle) in cases {
            let err = refused_after(len, mangle).await;
            assert!(matches!(err, StorageError::Integrity(_)), "{name}: {err}");
        }
    }

    #[tokio::test]
    async fn wrong_key_and_wrong_anchor_are_refused() {
        let (_d, store, _data, sealed) = roundtrip(100).await;
        let expect = Expect { sha256: sealed.sha256.clone(), size: sealed.size };
        let s = get(&store, "o", DataKey::new([8u8; 32]), expect).await.unwrap();
        assert!(matches!(collect(s).await, Err(StorageError::Integrity(_))));
        let wrong = Expect { sha256: "00".repeat(32), size: sealed.size };
        let s = get(&store, "o", DataKey::new(KEY), wrong).await.unwrap();
        assert!(matches!(collect(s).await, Err(StorageError::Integrity(_))));
        let wrong_size = Expect { sha256: sealed.sha256, size: 99 };
        let s = get(&store, "o", DataKey::new(KEY), wrong_size).await.unwrap();
        assert!(matches!(collect(s).await, Err(StorageError::Integrity(_))));
    }

    #[tokio::test]
    async fn reports_the_key_and_refuses_bad_data_keys() {
        let (_d, _store, _data, sealed) = roundtrip(3).await;
        assert_eq!((sealed.key.as_str(), sealed.size), ("o", 3));
        assert_eq!(sealed.stored_size, (HEADER_LEN + NONCE_LEN + 3 + TAG_LEN) as u64);
        assert!(matches!(DataKey::from_slice(&[1u8; 31]), Err(StorageError::DataKey(31))));
        assert!(DataKey::from_slice(&[1u8; 32]).is_ok());
        assert_eq!(format!("{:?}", DataKey::new(KEY)), "DataKey(..)");
    }

    #[tokio::test]
    async fn the_empty_object_is_one_sealed_chunk() {
        let (_d, store, _data, sealed) = roundtrip(0).await;
        assert_eq!(sealed.sha256, sha(b""));
        assert_eq!(sealed.stored_size, (HEADER_LEN + NONCE_LEN + TAG_LEN) as u64);
        let expect = Expect { sha256: sealed.sha256.clone(), size: 0 };
        assert!(collect(get(&store, "o", DataKey::new(KEY), expect).await.unwrap()).await.unwrap().is_empty());
        // An empty object read as if it had content, and content read as if empty, are refused.
        let s = get(&store, "o", DataKey::new(KEY), Expect { sha256: sealed.sha256, size: 1 }).await.unwrap();
        assert!(matches!(collect(s).await, Err(StorageError::Integrity(_))));
    }

    #[tokio::test]
    async fn a_bad_last_chunk_is_refused_before_its_bytes_are_released() {
        // Two chunks; the last one altered: the reader gets the first chunk, then an error, never
        // a byte of the last chunk and never a clean end.
        let len = CHUNK_SIZE + 10;
        let (dir, store, _data, sealed) = roundtrip(len).await;
        let path = dir.path().join("o");
        let mut raw = std::fs::read(&path).unwrap();
        let at = raw.len() - TAG_LEN - 1;
        raw[at] ^= 1;
        std::fs::write(&path, &raw).unwrap();
        let mut s = get(&store, "o", DataKey::new(KEY), Expect { sha256: sealed.sha256, size: sealed.size }).await.unwrap();
        assert_eq!(s.next().await.unwrap().unwrap().len(), CHUNK_SIZE);
        assert!(matches!(s.next().await, Some(Err(StorageError::Integrity(_)))));
        assert!(s.next().await.is_none());
    }

    /// Sealed uploads and reads must be spawnable on a multi-threaded runtime (compile-time check).
    #[allow(dead_code)]
    fn futures_are_send(store: &crate::storage::AnyStore, body: &mut (dyn AsyncRead + Unpin + Send)) {
        fn send<T: Send>(_: T) {}
        send(put(store, "k", &DataKey::new(KEY), body));
        send(get(store, "k", DataKey::new(KEY), Expect { sha256: String::new(), size: 0 }));
    }

    #[tokio::test]
    async fn a_failing_source_leaves_no_object() {
        struct Broken(usize);
        impl AsyncRead for Broken {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                if self.0 == 0 {
                    return std::task::Poll::Ready(Err(std::io::Error::other("client went away")));
                }
                let n = self.0.min(buf.remaining()).min(4096);
                buf.put_slice(&vec![1u8; n]);
                self.0 -= n;
                std::task::Poll::Ready(Ok(()))
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).await.unwrap();
        let err = put(&store, "o", &DataKey::new(KEY), &mut Broken(3 * CHUNK_SIZE / 2)).await;
        assert!(err.is_err());
        assert!(!store.exists("o").await.unwrap());
    }
}
