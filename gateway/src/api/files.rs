//! Off-chain files: streamed in, hashed and encrypted with the phase key, stored, verified, then
//! anchored on-chain; streamed out only through the anchor, decrypted and checked against it.

use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use svcflow_model::call::{ItemRef, PhaseRef};
use svcflow_model::file::{FileAnchor, NewAnchor, TRANSIENT_FILE};
use svcflow_model::ids;
use svcflow_model::phase::PhaseKey;
use svcflow_model::Call;
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::io::StreamReader;

use super::{committed, paginate, AppState, Caller, Failure, PageQuery, State, BLOCK_HEADER, TX_ID_HEADER};
use crate::config::VerifyUploads;
use crate::error::ApiError;
use crate::storage::sealed::{self, DataKey, Expect};
use crate::storage::{validate_key, ObjectStore, StorageError};
use crate::uploads::Pending;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file's name as users see it (not a path).
    pub name: String,
    /// The file id; chosen by the gateway when absent.
    pub id: Option<String>,
}

fn bad(m: impl Into<String>) -> Failure {
    ApiError::BadRequest(m.into()).into()
}

/// A display name, never a path: the chaincode's own rule, checked before any byte is stored.
fn check_name(name: &str) -> Result<(), Failure> {
    ids::check_file_name(name).map_err(|r| ApiError::from(r).into())
}

fn check_id(what: &str, id: &str) -> Result<(), Failure> {
    ids::validate_id(what, id).map_err(|r| ApiError::from(r).into())
}

fn random_hex(n: usize) -> Result<String, Failure> {
    let mut b = vec![0u8; n];
    openssl::rand::rand_bytes(&mut b).map_err(|e| ApiError::Internal(format!("random: {e}")))?;
    Ok(hex::encode(b))
}

/// The file id a retried upload maps to: the same caller, phase and Idempotency-Key give the
/// same id, so the chaincode anchors it once.
fn idempotent_id(user: &str, project: &str, phase: &str, key: &str) -> String {
    let d = openssl::sha::sha256(format!("{user}\n{project}\n{phase}\n{key}").as_bytes());
    format!("f-{}", &hex::encode(d)[..40])
}

/// The phase's data key; set by this caller if the phase has none yet (a phase added by a
/// manager outside it gets its key from its first participant upload).
async fn phase_key(state: &AppState, caller: &Caller, project: &str, phase: &str, create: bool) -> Result<DataKey, Failure> {
    let arg = PhaseRef { project: project.to_owned(), phase: phase.to_owned() };
    let got: Result<PhaseKey, Failure> = state.query(caller, Call::GetPhaseKey(arg.clone())).await;
    let out = match got {
        Ok(k) => k,
        // No key yet (or no such phase: then SetPhaseKey says so in turn).
        Err(f) if create && matches!(&f.error, ApiError::NotFound(_)) => {
            let mut transient = HashMap::new();
            transient.insert("phase_key".to_owned(), super::projects::new_data_key()?);
            match state.invoke::<serde_json::Value>(caller, Call::SetPhaseKey(arg.clone()), transient).await {
                Ok(_) => {}
                // Someone else set it first: theirs is the key.
                Err(f) if matches!(f.error, ApiError::Conflict(_)) => {}
                Err(f) => return Err(f),
            }
            state.query(caller, Call::GetPhaseKey(arg)).await?
        }
        Err(f) => return Err(f),
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(out.key.as_bytes())
        .map_err(|e| ApiError::Internal(format!("phase key is not base64: {e}")))?;
    Ok(DataKey::from_slice(&raw)?)
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

/// Maps a failed sealed upload: the client's body failing is the client's error.
fn upload_error(e: StorageError) -> Failure {
    if let StorageError::Io(io) = &e {
        if let Some(t) = io.get_ref().and_then(|i| i.downcast_ref::<TooLarge>()) {
            return ApiError::PayloadTooLarge(t.to_string()).into();
        }
        return ApiError::BadRequest(format!("the upload body failed: {io}")).into();
    }
    e.into()
}

pub async fn upload(
    state: State,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<UploadQuery>,
    body: web::Payload,
) -> Result<HttpResponse, Failure> {
    let (project, phase) = path.into_inner();
    let q = q.into_inner();
    check_id("project", &project)?;
    check_id("phase", &phase)?;
    check_name(&q.name)?;
    let limit = state.cfg.server.upload_limit_bytes;
    if let Some(len) = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()) {
        if len > limit {
            return Err(ApiError::PayloadTooLarge(format!("the upload is {len} bytes; the limit is {limit}")).into());
        }
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        // curl --data-binary labels any file as a form; that is never what an upload is.
        .filter(|v| !v.is_empty() && v.len() <= 255 && !v.starts_with("application/x-www-form-urlencoded"))
        .unwrap_or("application/octet-stream")
        .to_owned();
    let idem = match req.headers().get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v
                .to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 255)
                .ok_or_else(|| bad("Idempotency-Key must be 1 to 255 visible ASCII characters"))?;
            Some(k.to_owned())
        }
    };
    let id = match (&q.id, &idem) {
        (Some(id), _) => id.clone(),
        (None, Some(k)) => idempotent_id(&caller.user, &project, &phase, k),
        (None, None) => format!("f-{}", random_hex(16)?),
    };
    check_id("file", &id)?;
    let item = ItemRef { project: project.clone(), phase: phase.clone(), id: id.clone() };

    // A retry of an upload that was anchored: answer with that anchor, store nothing.
    match state.query::<FileAnchor>(&caller, Call::GetFile(item.clone())).await {
        Ok(a) if idem.is_some() && a.uploader.msp_id == caller.msp_id && a.name == q.name => {
            let block = state.fabric.block_of(&caller.user, &a.tx_id).await.ok();
            return Ok(HttpResponse::Ok()
                .insert_header(("idempotent-replayed", "true"))
                .insert_header((TX_ID_HEADER, a.tx_id.as_str()))
                .json(json!({"file": a, "receipt": {"tx_id": a.tx_id, "block_number": block}})));
        }
        Ok(a) => return Err(Failure::from(ApiError::Conflict(format!("file {id} of phase {phase} is already anchored"))).with_tx(&a.tx_id)),
        Err(f) if matches!(f.error, ApiError::NotFound(_)) => {}
        Err(f) => return Err(f),
    }
    let key = phase_key(&state, &caller, &project, &phase, true).await?;

    // Each attempt writes its own object, so concurrent retries never overwrite each other.
    let object_key = format!("{project}/{phase}/{id}.{}", random_hex(8)?);
    validate_key(&object_key)?;
    let pending =
        Pending { object_key: object_key.clone(), project: project.clone(), phase: phase.clone(), file: id.clone(), user: caller.user.clone() };
    state.journal.begin(&pending)?;
    // The request body is tied to this worker thread; the store wants a `Send` reader, so the
    // body is pumped through a small bounded channel (its backpressure reaches the client).
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<web::Bytes>>(4);
    let pump = async move {
        let mut body = body;
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(|e| std::io::Error::other(e.to_string()));
            let failed = piece.is_err();
            if tx.send(piece).await.is_err() || failed {
                break;
            }
        }
    };
    let reader = StreamReader::new(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let mut limited = Limited { inner: reader, left: limit, limit };
    let ((), stored) = tokio::join!(pump, sealed::put(&state.store, &object_key, &key, &mut limited));
    let sealed = match stored {
        Ok(s) => s,
        Err(e) => {
            // A failed put leaves nothing behind.
            state.journal.finish(&object_key);
            return Err(upload_error(e));
        }
    };
    if let Err(f) = check_stored(&state, &object_key, &key, &sealed).await {
        discard(&state, &object_key).await;
        return Err(f);
    }
    let anchor = NewAnchor { name: q.name, size: sealed.size, sha256: sealed.sha256, content_type, object_key: object_key.clone() };
    let mut transient = HashMap::new();
    let anchor = serde_json::to_vec(&anchor).map_err(|e| ApiError::Internal(format!("encoding the anchor: {e}")))?;
    transient.insert(TRANSIENT_FILE.to_owned(), anchor);
    let res = state.fabric.submit(&caller.user, &Call::AnchorFile(item), transient).await;
    state.metrics.fabric_call("AnchorFile", res.is_ok());
    match res {
        Ok(c) => {
            state.journal.finish(&object_key);
            state.metrics.uploaded(sealed.size);
            let a: FileAnchor =
                serde_json::from_slice(&c.result).map_err(|e| ApiError::Internal(format!("AnchorFile answered unexpected JSON: {e}")))?;
            let body = json!({"file": a, "receipt": {"tx_id": c.tx_id, "block_number": c.block_number}});
            Ok(committed(StatusCode::CREATED, &body, &c))
        }
        Err(e) if e.maybe_committed => {
            // The anchor may still commit: keep the object; the sweep settles it.
            tracing::warn!(object = %object_key, tx_id = ?e.tx_id, "anchor outcome unknown; left to the journal sweep");
            state.journal.leave(&object_key);
            Err(e.into())
        }
        Err(e) => {
            discard(&state, &object_key).await;
            Err(e.into())
        }
    }
}

/// The object is in the store, whole, before any anchor points at it: its stored size matches
/// and, with `storage.verify_uploads = "full"`, it reads back through decryption to the same
/// size and hash.
async fn check_stored(state: &AppState, object_key: &str, key: &DataKey, sealed: &sealed::Sealed) -> Result<(), Failure> {
    match state.store.head(object_key).await? {
        Some(info) if info.size == sealed.stored_size => {}
        other => {
            return Err(ApiError::Integrity(format!(
                "stored object {object_key} has {:?} bytes, {} were written",
                other.map(|i| i.size),
                sealed.stored_size
            ))
            .into())
        }
    }
    if state.cfg.storage.verify_uploads == VerifyUploads::Full {
        let copy = DataKey::from_slice(key.expose())?;
        let mut back = sealed::get(&state.store, object_key, copy, Expect { sha256: sealed.sha256.clone(), size: sealed.size }).await?;
        while let Some(piece) = back.next().await {
            piece?;
        }
    }
    Ok(())
}

/// Removes an object whose anchor definitely failed; if even that fails, the sweep retries.
async fn discard(state: &AppState, object_key: &str) {
    match state.store.delete(object_key).await {
        Ok(()) | Err(StorageError::NotFound(_)) => state.journal.finish(object_key),
        Err(e) => {
            tracing::warn!(object = %object_key, error = %e, "could not remove an unanchored object; left to the journal sweep");
            state.journal.leave(object_key);
        }
    }
}

/// Settles journal entries no upload is working on: an object whose anchor exists stays; one
/// whose anchor does not is deleted. Entries that cannot be settled now stay for the next sweep.
pub async fn sweep(state: &AppState, min_age: Duration) -> usize {
    let mut settled = 0;
    for p in state.journal.stale(min_age) {
        let caller = Caller { user: p.user.clone(), msp_id: state.wallet.msp_id().to_owned() };
        let item = ItemRef { project: p.project.clone(), phase: p.phase.clone(), id: p.file.clone() };
        let anchored = match state.query::<FileAnchor>(&caller, Call::GetFile(item)).await {
            Ok(a) => a.object_key == p.object_key,
            Err(f) if matches!(f.error, ApiError::NotFound(_)) => false,
            Err(f) => {
                tracing::warn!(object = %p.object_key, error = %f, "journal sweep: anchor unknown for now");
                continue;
            }
        };
        if anchored {
            state.journal.finish(&p.object_key);
            settled += 1;
            continue;
        }
        match state.store.delete(&p.object_key).await {
            Ok(()) | Err(StorageError::NotFound(_)) => {
                tracing::info!(object = %p.object_key, "journal sweep: removed an object that was never anchored");
                state.journal.finish(&p.object_key);
                settled += 1;
            }
            Err(e) => {
                tracing::warn!(object = %p.object_key, error = %e, "journal sweep: delete failed; will retry")
            }
        }
    }
    settled
}

pub async fn list(state: State, caller: Caller, path: web::Path<(String, String)>, q: web::Query<PageQuery>) -> Result<HttpResponse, Failure> {
    let (project, phase) = path.into_inner();
    let all: Vec<FileAnchor> = state.query(&caller, Call::ListFiles(PhaseRef { project, phase })).await?;
    Ok(HttpResponse::Ok().json(paginate(all, |a| a.id.as_str(), &q)?))
}

pub async fn get(state: State, caller: Caller, path: web::Path<(String, String, String)>) -> Result<HttpResponse, Failure> {
    let (project, phase, id) = path.into_inner();
    let a: FileAnchor = state.query(&caller, Call::GetFile(ItemRef { project, phase, id })).await?;
    Ok(HttpResponse::Ok().json(a))
}

/// The anchor and an authenticated plaintext stream of its object.
async fn open(state: &AppState, caller: &Caller, project: &str, phase: &str, id: &str) -> Result<(FileAnchor, crate::storage::ByteStream), Failure> {
    let item = ItemRef { project: project.to_owned(), phase: phase.to_owned(), id: id.to_owned() };
    let a: FileAnchor = state.query(caller, Call::GetFile(item)).await?;
    let key = phase_key(state, caller, project, phase, false).await?;
    let stream = sealed::get(&state.store, &a.object_key, key, Expect { sha256: a.sha256.clone(), size: a.size })
        .await
        .map_err(|e| match e {
            StorageError::NotFound(_) => Failure::from(ApiError::Integrity(format!("the object of file {id} is missing from the store"))),
            other => Failure::from(other),
        })
        .map_err(|f| f.with_tx(&a.tx_id))?;
    Ok((a, stream))
}

/// `attachment; filename="..."` with the name's quotes and backslashes escaped, plus its UTF-8
/// form for non-ASCII names.
fn disposition(name: &str) -> String {
    let ascii: String = name.chars().map(|c| if c.is_ascii() && c != '"' && c != '\\' && !c.is_control() { c } else { '_' }).collect();
    let encoded: String =
        name.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

pub async fn download(state: State, caller: Caller, path: web::Path<(String, String, String)>) -> Result<HttpResponse, Failure> {
    let (project, phase, id) = path.into_inner();
    let (a, mut stream) = open(&state, &caller, &project, &phase, &id).await?;
    // The first piece is checked before the status line goes out: an object refused at its
    // first chunk (every small file) gets a JSON error, not a cut-off 200.
    let first = match stream.next().await {
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => {
            tracing::warn!(file = %id, error = %e, "download refused");
            return Err(Failure::from(e).with_tx(&a.tx_id));
        }
        None => None,
    };
    state.metrics.downloaded(a.size);
    let head = futures_util::stream::iter(first.map(Ok::<_, StorageError>));
    let body = head.chain(stream).map(|r| r.map_err(|e| actix_web::error::ErrorBadGateway(e.to_string())));
    Ok(HttpResponse::Ok()
        .content_type(a.content_type.as_str())
        .insert_header((header::CONTENT_DISPOSITION, disposition(&a.name)))
        .insert_header((header::ETAG, format!("\"{}\"", a.sha256)))
        .insert_header(("x-content-sha256", a.sha256.as_str()))
        // The uploader chose the content type: never let a browser sniff or render it as a page.
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((TX_ID_HEADER, a.tx_id.as_str()))
        .no_chunking(a.size)
        .streaming(body))
}

pub async fn verify(state: State, caller: Caller, path: web::Path<(String, String, String)>) -> Result<HttpResponse, Failure> {
    let (project, phase, id) = path.into_inner();
    let (a, mut stream) = match open(&state, &caller, &project, &phase, &id).await {
        Ok(v) => v,
        Err(f) if matches!(f.error, ApiError::Integrity(_)) => return Ok(not_verified(&f)),
        Err(f) => return Err(f),
    };
    let mut read = 0u64;
    while let Some(piece) = stream.next().await {
        match piece {
            Ok(b) => read += b.len() as u64,
            Err(e) => return Ok(not_verified(&Failure::from(e).with_tx(&a.tx_id))),
        }
    }
    let block = state.fabric.block_of(&caller.user, &a.tx_id).await?;
    Ok(HttpResponse::Ok().insert_header((TX_ID_HEADER, a.tx_id.as_str())).insert_header((BLOCK_HEADER, block.to_string())).json(json!({
        "verified": true, "sha256": a.sha256, "size": read, "file": a,
        "receipt": {"tx_id": a.tx_id, "block_number": block},
    })))
}

fn not_verified(f: &Failure) -> HttpResponse {
    HttpResponse::Ok().json(json!({"verified": false, "reason": f.error.to_string(), "tx_id": f.tx_id}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_file_names_never_paths() {
        for ok in ["drawing.pdf", "a b.txt", "été.png", "..a"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", " ", "../etc/passwd", "a/b", "a\\b", ".", "..", "a\nb", &"x".repeat(256)] {
            assert_eq!(check_name(bad).unwrap_err().error.status(), 400, "{bad:?}");
        }
    }

    #[test]
    fn idempotency_keys_give_stable_valid_ids() {
        let a = idempotent_id("u", "p", "ph", "k1");
        assert_eq!(a, idempotent_id("u", "p", "ph", "k1"));
        assert_ne!(a, idempotent_id("u2", "p", "ph", "k1"));
        assert_ne!(a, idempotent_id("u", "p", "ph", "k2"));
        assert!(check_id("file", &a).is_ok());
    }

    #[test]
    fn disposition_escapes_quotes_and_encodes_utf8() {
        assert_eq!(disposition("a\"b.txt"), "attachment; filename=\"a_b.txt\"; filename*=UTF-8''a%22b.txt");
        assert_eq!(disposition("é"), "attachment; filename=\"_\"; filename*=UTF-8''%C3%A9");
    }

    #[tokio::test]
    async fn the_limit_fails_the_body_past_it() {
        use tokio::io::AsyncReadExt;
        let mut ok = Limited { inner: &b"12345"[..], left: 5, limit: 5 };
        let mut v = Vec::new();
        ok.read_to_end(&mut v).await.unwrap();
        let mut over = Limited { inner: &b"123456"[..], left: 5, limit: 5 };
        let e = over.read_to_end(&mut Vec::new()).await.unwrap_err();
        assert!(matches!(upload_error(StorageError::Io(e)).error, ApiError::PayloadTooLarge(_)));
    }
}
