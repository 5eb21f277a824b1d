//! Off-chain files over HTTP: the upload's request (query, headers, streamed body) handed to
//! `crate::service::files`, downloads streamed out, and their answers.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use svcflow_model::call::{FileRef, PhasePage, PhaseRef};
use svcflow_model::file::FileAnchor;
use svcflow_model::ids::{self, FileId};
use tokio_util::io::StreamReader;
use utoipa::{IntoParams, ToSchema};

use super::body::{committed, IdPage, PageQuery, BLOCK_HEADER};
use super::error::ApiError;
use super::error::{Failure, TX_ID_HEADER};
use super::params::{FilePath, PhasePath};
use super::responses::{Binary, Committed, Conflicts, Mismatch, Refused, StoreFull, TooLarge};
use super::state::State;
use crate::downloads::Verified;
use crate::service::files::{self, Download, UploadRequest};
use crate::service::Caller;
use crate::uploads::reseal::Resealed;
use crate::uploads::Outcome;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file's name as users see it (not a path).
    #[param(value_type = ids::FileName)]
    pub name: String,
    /// The file id; chosen by the gateway when absent (derived from the Idempotency-Key when
    /// there is one).
    pub id: Option<FileId>,
}

/// The transaction that anchored a file, and its block.
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    pub tx_id: String,
    /// Null only on an idempotent replay whose block could not be looked up.
    pub block_number: Option<u64>,
}

/// A file stored and anchored.
#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    pub file: FileAnchor,
    pub receipt: Receipt,
}

/// What reading a stored file back found.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Verification {
    /// Every byte read back matched the anchor.
    Verified {
        /// Always true.
        verified: bool,
        /// SHA-256 of the plaintext, lowercase hex.
        sha256: String,
        /// Plaintext bytes read back and checked.
        size: u64,
        file: Box<FileAnchor>,
        receipt: Receipt,
    },
    /// The stored object is missing or differs from its anchor.
    NotVerified {
        /// Always false.
        verified: bool,
        reason: String,
        /// The anchoring transaction, when known.
        tx_id: Option<String>,
    },
}

fn bad(m: impl Into<String>) -> Failure {
    ApiError::BadRequest(m.into()).into()
}

/// Upload a file
///
/// Streams the raw body in, hashes and encrypts it with the phase's data key, stores it off-chain,
/// checks it, then anchors it on-chain. With an Idempotency-Key, a retry with the same key
/// answers 200 with the first anchor and `idempotent-replayed: true`, never anchoring twice.
#[utoipa::path(
    post, path = "/v1/projects/{project}/phases/{phase}/files", operation_id = "uploadFile", tag = "files",
    params(PhasePath, UploadQuery, (
        "Idempotency-Key" = Option<String>, Header, pattern = "^[ -~\t]{1,255}$",
        description = "1-255 visible ASCII characters: retries with the same key anchor the file once."
    )),
    request_body(
        content = Binary,
        content_type = "application/octet-stream",
        description = "The raw file, any content type (kept as the file's; application/octet-stream when absent), up to the gateway's limit."
    ),
    responses(
        Committed<Uploaded, 201>,
        (status = 200, description = "An idempotent replay: the anchor an earlier request with the same Idempotency-Key made; nothing stored.",
         body = Uploaded, headers(("idempotent-replayed" = String, description = "Always `true`."), ("x-tx-id" = String, description = "The anchoring transaction."))),
        Refused, Conflicts, TooLarge, Mismatch, StoreFull
    )
)]
pub async fn upload(
    state: State,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<PhasePath>,
    q: web::Query<UploadQuery>,
    body: web::Payload,
) -> Result<HttpResponse, Failure> {
    let PhasePath(project, phase) = path.into_inner();
    let q = q.into_inner();
    // Path and query ids were checked as they were parsed; then name, size and key.
    ids::check_file_name(&q.name)?;
    let limit = files::upload_limit(&state);
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
    let wanted = UploadRequest { at: PhaseRef { project, phase }, name: q.name, id: q.id, content_type, idempotency_key: idem };
    // The request body is tied to this worker thread; the store wants a `Send` reader, so the
    // body is pumped through a small bounded channel (its backpressure reaches the client). When
    // the upload ends it drops the reader, and the pump stops at its next send.
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
    let ((), outcome) = tokio::join!(pump, files::upload(&state, &caller, wanted, reader));
    match outcome? {
        Outcome::Anchored { anchor, committed: c } => {
            let body = Uploaded { file: anchor, receipt: Receipt { tx_id: c.tx_id.clone(), block_number: Some(c.block_number) } };
            Ok(committed(StatusCode::CREATED, &body, &c))
        }
        Outcome::Replayed { anchor: a, block_number } => Ok(HttpResponse::Ok()
            .insert_header(("idempotent-replayed", "true"))
            .insert_header((TX_ID_HEADER, a.tx_id.as_str()))
            .json(Uploaded { receipt: Receipt { tx_id: a.tx_id.clone(), block_number }, file: a })),
    }
}

/// List files
///
/// The phase's file anchors, a page at a time, by id.
#[utoipa::path(
    get, path = "/v1/projects/{project}/phases/{phase}/files", operation_id = "listFiles", tag = "files", params(PhasePath, PageQuery),
    responses((status = 200, description = "A page of file anchors.", body = IdPage<FileAnchor>), Refused)
)]
pub async fn list(state: State, caller: Caller, path: web::Path<PhasePath>, q: web::Query<PageQuery>) -> Result<HttpResponse, Failure> {
    let PhasePath(project, phase) = path.into_inner();
    let PageQuery { page_size, bookmark } = q.into_inner();
    let page = files::list(&state, &caller, PhasePage { project, phase, page_size, bookmark }).await?;
    Ok(HttpResponse::Ok().json(IdPage::from(page)))
}

/// Get a file anchor
///
/// The on-chain anchor of a file.
#[utoipa::path(
    get, path = "/v1/projects/{project}/phases/{phase}/files/{file}", operation_id = "getFile", tag = "files", params(FilePath),
    responses((status = 200, description = "The anchor.", body = FileAnchor), Refused)
)]
pub async fn get(state: State, caller: Caller, path: web::Path<FilePath>) -> Result<HttpResponse, Failure> {
    let FilePath(project, phase, id) = path.into_inner();
    let a = files::get(&state, &caller, FileRef { project, phase, id }).await?;
    Ok(HttpResponse::Ok().json(a))
}

/// `attachment; filename="..."` with the name's quotes and backslashes escaped, plus its UTF-8
/// form for non-ASCII names.
fn disposition(name: &str) -> String {
    let ascii: String = name.chars().map(|c| if c.is_ascii() && c != '"' && c != '\\' && !c.is_control() { c } else { '_' }).collect();
    let encoded: String =
        name.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Download a file
///
/// The file's bytes, decrypted and checked against its anchor while they stream; an object that
/// does not match its anchor, or is missing, is refused with 502 before its first byte.
#[utoipa::path(
    get, path = "/v1/projects/{project}/phases/{phase}/files/{file}/content", operation_id = "downloadFile", tag = "files", params(FilePath),
    responses(
        (status = 200, description = "The file, with the content type it was uploaded with.", body = Binary, content_type = "application/octet-stream",
         headers(
            ("etag" = String, description = "`\"<sha256>\"` of the plaintext."),
            ("x-content-sha256" = String, description = "SHA-256 of the plaintext, lowercase hex."),
            ("content-disposition" = String, description = "`attachment; filename=\"...\"; filename*=UTF-8''...`"),
            ("x-tx-id" = String, description = "The anchoring transaction.")
         )),
        Refused, Mismatch
    )
)]
pub async fn download(state: State, caller: Caller, path: web::Path<FilePath>) -> Result<HttpResponse, Failure> {
    let FilePath(project, phase, id) = path.into_inner();
    let Download { anchor: a, body } = files::download(&state, &caller, FileRef { project, phase, id }).await?;
    // Its first chunk was checked before the status line goes out; a later one that fails cuts
    // the body short.
    let body = body.map(|r| r.map_err(|e| actix_web::error::ErrorBadGateway(e.to_string())));
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

/// Verify a file
///
/// Reads the whole stored object back and checks it against its anchor. Answers 200 either way:
/// `verified: true` with the anchor and its receipt, or `verified: false` with the reason.
#[utoipa::path(
    get, path = "/v1/projects/{project}/phases/{phase}/files/{file}/verify", operation_id = "verifyFile", tag = "files", params(FilePath),
    responses(
        (status = 200, description = "What reading it back found.", body = Verification,
         headers(("x-tx-id" = String, description = "When verified: the anchoring transaction."), ("x-block-number" = u64, description = "When verified: its block."))),
        Refused
    )
)]
pub async fn verify(state: State, caller: Caller, path: web::Path<FilePath>) -> Result<HttpResponse, Failure> {
    let FilePath(project, phase, id) = path.into_inner();
    match files::verify(&state, &caller, FileRef { project, phase, id }).await? {
        Verified::Whole { anchor: a, size, block_number } => Ok(HttpResponse::Ok()
            .insert_header((TX_ID_HEADER, a.tx_id.as_str()))
            .insert_header((BLOCK_HEADER, block_number.to_string()))
            .json(Verification::Verified {
                verified: true,
                sha256: a.sha256.clone(),
                size,
                receipt: Receipt { tx_id: a.tx_id.clone(), block_number: Some(block_number) },
                file: a,
            })),
        Verified::Broken { reason, tx_id } => Ok(HttpResponse::Ok().json(Verification::NotVerified { verified: false, reason, tx_id })),
    }
}

/// Re-encrypt a phase's files
///
/// Seals every file of the phase that is under an older key version anew under the current one
/// (after a participant was removed), and deletes the old objects: from then on a removed party
/// that kept an old key can decrypt none of them, even holding the stored objects. Sizes and
/// hashes stay; each file is checked against its anchor on the way.
#[utoipa::path(
    post, path = "/v1/projects/{project}/phases/{phase}/reseal", operation_id = "resealFiles", tag = "files", params(PhasePath),
    responses((status = 200, description = "Every file of the phase is under `key_version`; `resealed` lists those this call sealed anew.", body = Resealed), Refused, Conflicts, Mismatch, StoreFull)
)]
pub async fn reseal(state: State, caller: Caller, path: web::Path<PhasePath>) -> Result<HttpResponse, Failure> {
    let PhasePath(project, phase) = path.into_inner();
    let done = files::reseal(&state, &caller, PhaseRef { project, phase }).await?;
    Ok(HttpResponse::Ok().json(done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_escapes_quotes_and_encodes_utf8() {
        assert_eq!(disposition("a\"b.txt"), "attachment; filename=\"a_b.txt\"; filename*=UTF-8''a%22b.txt");
        assert_eq!(disposition("é"), "attachment; filename=\"_\"; filename*=UTF-8''%C3%A9");
    }
}
