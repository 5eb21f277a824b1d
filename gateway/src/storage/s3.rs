//! S3 backend (Ceph RGW in CI and production) on `rust-s3`.
//!
//! Uploads stream through S3 multipart in 8 MiB parts with a bounded number in flight, so memory
//! stays flat whatever the object size; an upload that fails is aborted and leaves no object.
//!
//! Parts go out on presigned URLs (`UNSIGNED-PAYLOAD`, no `Content-MD5`) rather than through
//! `rust-s3`'s own part upload, which hashes every part twice (MD5 and SHA-256, in software): that
//! was half the gateway's CPU per uploaded MiB. The store's checksums would add nothing here: every
//! sealed chunk carries an AES-GCM tag and the plaintext's SHA-256 is anchored on-chain, so a byte
//! damaged on the way is refused on read either way.

use std::collections::HashMap;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::StreamExt;
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::serde_types::Part;
use s3::{Bucket, Region};
use tokio::io::AsyncRead;
use tokio::task::JoinSet;

use super::{read_up_to, validate_key, ByteStream, ObjectInfo, ObjectStore, Result, StorageError};

/// Where and as whom to reach the S3 service.
#[derive(Clone, Debug)]
pub struct S3Config {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    /// Parts uploaded at once per object (each holds one 8 MiB part in memory).
    pub parts_in_flight: usize,
    pub request_timeout: Duration,
}

pub struct S3Store {
    bucket: Box<Bucket>,
    /// Sends the parts of uploads (presigned requests).
    http: reqwest::Client,
    parts_in_flight: usize,
}

/// Bytes per multipart part; an object smaller than one part goes in a single PUT.
const PART_SIZE: usize = 8 << 20;
const CONTENT_TYPE: &str = "application/octet-stream";
/// How long a presigned part URL is valid: it is used at once, this only bounds a slow part.
const PRESIGN_SECS: u32 = 3600;

impl S3Store {
    pub fn new(cfg: &S3Config) -> Result<Self> {
        let creds = Credentials::new(Some(&cfg.access_key), Some(&cfg.secret_key), None, None, None)
            .map_err(|e| StorageError::Backend(format!("S3 credentials: {e}")))?;
        let region = Region::Custom { region: cfg.region.clone(), endpoint: cfg.endpoint.clone() };
        let bucket =
            Bucket::new(&cfg.bucket, region, creds).map_err(map_err)?.with_path_style().with_request_timeout(cfg.request_timeout).map_err(map_err)?;
        let http =
            reqwest::Client::builder().timeout(cfg.request_timeout).build().map_err(|e| StorageError::Backend(format!("S3 HTTP client: {e}")))?;
        Ok(Self { bucket, http, parts_in_flight: cfg.parts_in_flight.max(1) })
    }

    /// A presigned PUT of `key`, of one part when `part` is (upload id, part number).
    async fn presign(&self, key: &str, part: Option<(&str, u32)>) -> Result<String> {
        let queries = part
            .map(|(upload_id, number)| HashMap::from([("partNumber".to_owned(), number.to_string()), ("uploadId".to_owned(), upload_id.to_owned())]));
        self.bucket.presign_put(key, PRESIGN_SECS, None, queries).await.map_err(map_err)
    }

    /// Sends the parts of a multipart upload, `first` already read; returns them and the size.
    async fn put_parts(&self, key: &str, upload_id: &str, first: BytesMut, body: &mut (dyn AsyncRead + Unpin + Send)) -> Result<(Vec<Part>, u64)> {
        let mut sending = JoinSet::new();
        let mut parts = Vec::new();
        let mut size = 0u64;
        let mut number = 0u32;
        let mut chunk = first;
        loop {
            number += 1;
            size += chunk.len() as u64;
            let url = self.presign(key, Some((upload_id, number))).await?;
            let request = self.http.put(url).body(chunk.freeze());
            let part_key = key.to_owned();
            sending.spawn(async move { send(request, &part_key).await.map(|etag| Part { part_number: number, etag }) });
            // Memory per upload: the parts in flight and the one being read.
            while sending.len() >= self.parts_in_flight {
                parts.push(joined(sending.join_next().await)?);
            }
            chunk = BytesMut::new();
            if read_part(body, &mut chunk).await? == 0 {
                break;
            }
        }
        while let Some(done) = sending.join_next().await {
            parts.push(joined(Some(done))?);
        }
        parts.sort_by_key(|p| p.part_number);
        Ok((parts, size))
    }
}

/// Sends one presigned PUT; returns the ETag the store gave it.
async fn send(request: reqwest::RequestBuilder, key: &str) -> Result<String> {
    let resp = request.send().await.map_err(|e| {
        // The URL carries a signature good for an hour: never into a log or an answer.
        let e = e.without_url();
        if e.is_connect() || e.is_timeout() || e.is_request() || e.is_body() {
            StorageError::Unavailable(format!("PUT {key}: {e}"))
        } else {
            StorageError::Backend(format!("PUT {key}: {e}"))
        }
    })?;
    match resp.status().as_u16() {
        200..=299 => {}
        507 => return Err(StorageError::Full(format!("PUT {key}: HTTP 507"))),
        code @ 500..=599 => return Err(StorageError::Unavailable(format!("PUT {key}: HTTP {code}"))),
        code => return Err(StorageError::Backend(format!("PUT {key}: HTTP {code}"))),
    }
    resp.headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| StorageError::Backend(format!("PUT {key}: no ETag in the answer")))
}

/// Reads up to a part from the body (a store error that crossed the reader keeps its kind).
async fn read_part(body: &mut (dyn AsyncRead + Unpin + Send), buf: &mut BytesMut) -> Result<usize> {
    read_up_to(body, buf, PART_SIZE).await.map_err(StorageError::from_io)
}

fn joined(done: Option<std::result::Result<Result<Part>, tokio::task::JoinError>>) -> Result<Part> {
    match done {
        Some(Ok(part)) => part,
        Some(Err(e)) => Err(StorageError::Backend(format!("a part upload task failed: {e}"))),
        None => Err(StorageError::Backend("no part upload in flight".into())),
    }
}

/// What the client may retry later is `Unavailable`: the store not reachable, a connection lost
/// mid-request, or the store's own 5xx (it is overloaded or failing, not the request). A 404 is
/// `NotFound`; the rest `Backend`.
fn map_err(e: S3Error) -> StorageError {
    match &e {
        S3Error::HttpFailWithBody(404, _) => StorageError::NotFound(String::new()),
        S3Error::HttpFailWithBody(507, _) => StorageError::Full(e.to_string()),
        S3Error::HttpFailWithBody(500..=599, _) => StorageError::Unavailable(e.to_string()),
        S3Error::Reqwest(r) if r.is_connect() || r.is_timeout() || r.is_request() || r.is_body() => StorageError::Unavailable(e.to_string()),
        S3Error::Io(_) => StorageError::Unavailable(e.to_string()),
        _ => StorageError::Backend(e.to_string()),
    }
}

fn with_key(key: &str) -> impl Fn(S3Error) -> StorageError + '_ {
    move |e| match map_err(e) {
        StorageError::NotFound(_) => StorageError::NotFound(key.to_owned()),
        other => other,
    }
}

impl ObjectStore for S3Store {
    async fn put(&self, key: &str, body: &mut (dyn AsyncRead + Unpin + Send)) -> Result<u64> {
        validate_key(key)?;
        let mut first = BytesMut::new();
        let n = read_part(body, &mut first).await?;
        if n < PART_SIZE {
            // The whole object is smaller than a part: one request.
            let url = self.presign(key, None).await?;
            send(self.http.put(url).header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE).body(first.freeze()), key).await?;
            return Ok(n as u64);
        }
        let upload = self.bucket.initiate_multipart_upload(key, CONTENT_TYPE).await.map_err(with_key(key))?;
        let sent = self.put_parts(key, &upload.upload_id, first, body).await;
        let completed = match sent {
            Ok((parts, size)) => self.bucket.complete_multipart_upload(key, &upload.upload_id, parts).await.map(|_| size).map_err(with_key(key)),
            Err(e) => Err(e),
        };
        if completed.is_err() {
            // Best effort: a part upload left behind is found by `delete` and the bucket's
            // lifecycle rule; the error the caller sees is the upload's own.
            if let Err(e) = self.bucket.abort_upload(key, &upload.upload_id).await {
                tracing::warn!(object = key, upload_id = %upload.upload_id, error = %e, "could not abort a failed multipart upload");
            }
        }
        completed
    }

    async fn get(&self, key: &str) -> Result<ByteStream> {
        validate_key(key)?;
        let resp = self.bucket.get_object_stream(key).await.map_err(with_key(key))?;
        let owned = key.to_owned();
        Ok(Box::pin(resp.bytes.map(move |r| r.map_err(|e| with_key(&owned)(e)))))
    }

    /// Also aborts any incomplete multipart upload of the key: a writer killed mid-upload, or one
    /// whose own abort failed (RGW was down), leaves parts that no object lists.
    async fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        for page in self.bucket.list_multiparts_uploads(Some(key), None).await.map_err(map_err)? {
            for u in page.uploads.iter().filter(|u| u.key == key) {
                self.bucket.abort_upload(key, &u.id).await.map_err(map_err)?;
                tracing::info!(object = key, upload_id = %u.id, "aborted an incomplete multipart upload");
            }
        }
        self.bucket.delete_object(key).await.map_err(with_key(key))?;
        Ok(())
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        validate_key(key)?;
        match self.bucket.head_object(key).await {
            Ok((head, _)) => {
                let size = head
                    .content_length
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or_else(|| StorageError::Backend(format!("HEAD {key}: no valid Content-Length")))?;
                Ok(Some(ObjectInfo { size }))
            }
            Err(e) => match map_err(e) {
                StorageError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A part that cannot be sent is the store being unavailable, and its reason never quotes the
    /// presigned URL (whose signature would let anyone holding it write that part for an hour).
    #[tokio::test]
    async fn a_failed_presigned_put_is_unavailable_and_names_no_signature() {
        // Port 9 (discard) on loopback: nothing listens there.
        let store = S3Store::new(&S3Config {
            endpoint: "http://127.0.0.1:9".into(),
            region: "default".into(),
            bucket: "b".into(),
            access_key: "AKIDEXAMPLE".into(),
            secret_key: "secret".into(),
            parts_in_flight: 1,
            request_timeout: Duration::from_secs(5),
        })
        .expect("store");
        let err = store.put("k", &mut &b"small object"[..]).await.expect_err("nothing listens");
        let msg = err.to_string();
        assert!(matches!(err, StorageError::Unavailable(_)), "{msg}");
        assert!(!msg.contains("Signature") && !msg.contains("X-Amz"), "{msg}");
    }
}
