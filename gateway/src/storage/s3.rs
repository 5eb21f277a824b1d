//! S3 backend (Ceph RGW in CI and production) on `rust-s3`.
//!
//! Uploads stream through S3 multipart in 8 MiB parts with a bounded number in flight, so memory
//! stays flat whatever the object size; an upload that fails is aborted and leaves no object.

use std::time::Duration;

use futures_util::StreamExt;
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::{Bucket, Region};
use tokio::io::AsyncRead;

use super::{validate_key, ByteStream, ObjectInfo, ObjectStore, Result, StorageError};

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
    parts_in_flight: usize,
}

impl S3Store {
    pub fn new(cfg: &S3Config) -> Result<Self> {
        let creds = Credentials::new(Some(&cfg.access_key), Some(&cfg.secret_key), None, None, None)
            .map_err(|e| StorageError::Backend(format!("S3 credentials: {e}")))?;
        let region = Region::Custom { region: cfg.region.clone(), endpoint: cfg.endpoint.clone() };
        let bucket =
            Bucket::new(&cfg.bucket, region, creds).map_err(map_err)?.with_path_style().with_request_timeout(cfg.request_timeout).map_err(map_err)?;
        Ok(Self { bucket, parts_in_flight: cfg.parts_in_flight.max(1) })
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
        let resp = self
            .bucket
            .put_object_stream_builder(key)
            .with_content_type("application/octet-stream")
            .with_max_concurrent_chunks(self.parts_in_flight)
            .execute_stream(body)
            .await
            .map_err(with_key(key))?;
        match resp.status_code() {
            200..=299 => {}
            507 => return Err(StorageError::Full(format!("PUT {key}: HTTP 507"))),
            code @ 500..=599 => return Err(StorageError::Unavailable(format!("PUT {key}: HTTP {code}"))),
            code => return Err(StorageError::Backend(format!("PUT {key}: HTTP {code}"))),
        }
        Ok(resp.uploaded_bytes() as u64)
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
