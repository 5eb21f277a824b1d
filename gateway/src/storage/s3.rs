//! S3 backend (Ceph RGW in CI and production) on `rust-s3`.
//!
//! Two layouts. An org's gateway stores what it uploads in buckets of its own, one per phase
//! ([`PhaseBuckets`]): named by an HMAC under the org's S3 secret (a name tells no one the phase),
//! created with Object Lock (so versioned), objects under random names; the key it returns is
//! `<bucket>/<object>`. A bucket's policy lets the phase's participant orgs' RGW users (uid = MSP
//! id) read its objects and nothing else; [`S3Store::grant`] keeps it in step with the phase. Once
//! an object is anchored, [`S3Store::lock`] gives its version a COMPLIANCE retention, which RGW
//! enforces against the bucket's owner too (docs/gateway.md, "Storage"). Every other key (the
//! older `project/phase/file.rand`) is read from the one shared bucket `S3Config::bucket`.
//!
//! Uploads stream through S3 multipart in 8 MiB parts with a bounded number in flight, so memory
//! stays flat whatever the object size; an upload that fails is aborted and leaves no object.
//!
//! Parts go out on presigned URLs (`UNSIGNED-PAYLOAD`, no `Content-MD5`) rather than through
//! `rust-s3`'s own part upload, which hashes every part twice (MD5 and SHA-256, in software): that
//! was half the gateway's CPU per uploaded MiB. The store's checksums would add nothing here: every
//! sealed chunk carries an AES-GCM tag and the plaintext's SHA-256 is anchored on-chain, so a byte
//! damaged on the way is refused on read either way.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use bytes::BytesMut;
use futures_util::StreamExt;
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::serde_types::{ObjectIdentifier, Part};
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
    /// Per-phase buckets of this org; `None`: every object in `bucket` (the older layout).
    pub phases: Option<PhaseBuckets>,
}

/// This org's own buckets, one per phase it uploads to.
#[derive(Clone, Debug)]
pub struct PhaseBuckets {
    /// The org's MSP id: the owner named in its buckets' names, and its RGW user's uid.
    pub owner: String,
    /// How long an anchored object's version is kept under COMPLIANCE retention.
    pub retention_days: u32,
    /// The buckets this gateway made, with their phase (one tab-separated line each): whose
    /// policies it keeps in step with the phase's participants, across restarts.
    pub registry: PathBuf,
}

/// A bucket of this org and the phase it holds, as the registry keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedBucket {
    pub bucket: String,
    pub project: String,
    pub phase: String,
    /// The wallet user who first uploaded there (the policy sync reads the phase as them).
    pub user: String,
}

pub struct S3Store {
    /// The shared bucket of the older layout (and of every key when `phases` is `None`).
    bucket: Box<Bucket>,
    region: Region,
    creds: Credentials,
    request_timeout: Duration,
    /// Sends the parts of uploads (presigned requests).
    http: reqwest::Client,
    parts_in_flight: usize,
    phases: Option<Phases>,
}

struct Phases {
    cfg: PhaseBuckets,
    /// The HMAC key of bucket names: the org's S3 secret, which no other org holds.
    name_key: Vec<u8>,
    /// By bucket name: those this gateway made (the registry's lines).
    owned: Mutex<BTreeMap<String, OwnedBucket>>,
    /// Buckets created and configured by this process (no need to ask RGW again).
    ready: Mutex<HashSet<String>>,
    /// The participant orgs each bucket's policy names now, as this process last set it.
    granted: Mutex<HashMap<String, Vec<String>>>,
}

/// Bucket names of the per-phase layout: this prefix and 40 hex digits.
const BUCKET_PREFIX: &str = "svf-";
const BUCKET_HEX: usize = 40;

fn is_phase_bucket(name: &str) -> bool {
    name.strip_prefix(BUCKET_PREFIX).is_some_and(|h| h.len() == BUCKET_HEX && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
        let bucket = open_bucket(&cfg.bucket, &region, &creds, cfg.request_timeout)?;
        let http =
            reqwest::Client::builder().timeout(cfg.request_timeout).build().map_err(|e| StorageError::Backend(format!("S3 HTTP client: {e}")))?;
        let phases = match &cfg.phases {
            None => None,
            Some(p) => Some(Phases {
                owned: Mutex::new(read_registry(&p.registry)?),
                cfg: p.clone(),
                name_key: cfg.secret_key.as_bytes().to_vec(),
                ready: Mutex::new(HashSet::new()),
                granted: Mutex::new(HashMap::new()),
            }),
        };
        Ok(Self { bucket, region, creds, request_timeout: cfg.request_timeout, http, parts_in_flight: cfg.parts_in_flight.max(1), phases })
    }

    /// Whether `bucket` is another org's phase bucket (read under its owner's policy).
    fn is_foreign(&self, bucket: &Bucket) -> bool {
        let name = bucket.name();
        self.phases.as_ref().is_some_and(|p| name != self.bucket.name() && !lock(&p.owned).contains_key(&name))
    }

    /// The bucket and object name a key stands for: `<phase bucket>/<object>`, or the key in the
    /// shared bucket.
    fn locate<'k>(&self, key: &'k str) -> Result<(Box<Bucket>, &'k str)> {
        validate_key(key)?;
        match key.split_once('/') {
            Some((b, object)) if is_phase_bucket(b) && !object.contains('/') => {
                Ok((open_bucket(b, &self.region, &self.creds, self.request_timeout)?, object))
            }
            _ => Ok((self.bucket.clone(), key)),
        }
    }

    /// A key for a new object of `project`/`phase` (`file` names it in the older layout only):
    /// in this org's bucket of the phase, under a random name, when per-phase buckets are on.
    pub fn new_key(&self, project: &str, phase: &str, file: &str) -> Result<String> {
        let key = match &self.phases {
            None => format!("{project}/{phase}/{file}.{}", hex::encode(rand_bytes::<8>()?)),
            Some(p) => format!("{}/{}", p.bucket_name(project, phase)?, hex::encode(rand_bytes::<16>()?)),
        };
        validate_key(&key)?;
        Ok(key)
    }

    /// Whether the store answers, and knows these credentials: with per-phase buckets, this
    /// org's list of buckets (its user may read nothing else without naming an object); else a
    /// lookup in the shared bucket.
    pub async fn probe(&self) -> Result<()> {
        if self.phases.is_some() {
            Bucket::list_buckets(self.region.clone(), self.creds.clone()).await.map(|_| ()).map_err(map_err)
        } else {
            self.head("healthz/probe").await.map(|_| ())
        }
    }

    /// Whether this store keeps per-phase buckets whose policies follow the participants.
    pub fn grants_access(&self) -> bool {
        self.phases.is_some()
    }

    /// Before a new object `key` (from [`S3Store::new_key`]) is written: its bucket exists, with
    /// Object Lock, is in the registry, and its policy lets `orgs` read.
    pub async fn prepare(&self, key: &str, owned: &OwnedBucket, orgs: &[String]) -> Result<()> {
        let Some(p) = &self.phases else { return Ok(()) };
        let (bucket, _) = self.locate(key)?;
        let name = bucket.name();
        if !lock(&p.ready).contains(&name) {
            self.create_bucket(&name).await?;
            p.register(OwnedBucket { bucket: name.clone(), ..owned.clone() })?;
            lock(&p.ready).insert(name.clone());
        }
        self.put_policy(&bucket, orgs).await
    }

    /// Creates a bucket of this org (again, harmlessly, if it exists): Object Lock on (which
    /// turns versioning on), and the lifecycle rule that aborts forgotten multipart uploads.
    async fn create_bucket(&self, name: &str) -> Result<()> {
        let bucket = open_bucket(name, &self.region, &self.creds, self.request_timeout)?;
        // rust-s3's own flag sends `Enabled`, which RGW refuses (400): the header wants `true`.
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-amz-bucket-object-lock-enabled", reqwest::header::HeaderValue::from_static("true"));
        let url = bucket.presign_put("/", PRESIGN_SECS, Some(headers.clone()), None).await.map_err(map_err)?;
        let what = format!("create bucket {name}");
        let resp = self.http.put(url).headers(headers).send().await.map_err(|e| StorageError::Unavailable(format!("{what}: {}", e.without_url())))?;
        match resp.status().as_u16() {
            200..=299 => {}
            code @ 500..=599 => return Err(StorageError::Unavailable(format!("{what}: HTTP {code}"))),
            code => return Err(StorageError::Backend(format!("{what}: HTTP {code}"))),
        }
        self.put_sub(&bucket, "", "lifecycle", LIFECYCLE.to_owned()).await?;
        tracing::info!(bucket = name, "created a phase bucket (object lock on)");
        Ok(())
    }

    /// The policy of `bucket`: the RGW users of `orgs` may read its objects, nothing more (they
    /// may not list it). Sent only when it differs from what this process last set.
    async fn put_policy(&self, bucket: &Bucket, orgs: &[String]) -> Result<()> {
        let Some(p) = &self.phases else { return Ok(()) };
        let name = bucket.name();
        let mut orgs = orgs.to_vec();
        orgs.sort_unstable();
        orgs.dedup();
        if lock(&p.granted).get(&name) == Some(&orgs) {
            return Ok(());
        }
        self.put_sub(bucket, "", "policy", read_policy(&name, &orgs)).await?;
        tracing::info!(bucket = %name, orgs = ?orgs, "bucket policy set: these orgs read its objects");
        lock(&p.granted).insert(name, orgs);
        Ok(())
    }

    /// Every bucket of this org holding `project`/`phase` lets exactly `orgs` read.
    pub async fn grant(&self, project: &str, phase: &str, orgs: &[String]) -> Result<()> {
        for b in self.owned().into_iter().filter(|b| b.project == project && b.phase == phase) {
            let bucket = open_bucket(&b.bucket, &self.region, &self.creds, self.request_timeout)?;
            self.put_policy(&bucket, orgs).await?;
        }
        Ok(())
    }

    /// The buckets this org's gateway made, with their phases.
    pub fn owned(&self) -> Vec<OwnedBucket> {
        self.phases.as_ref().map(|p| lock(&p.owned).values().cloned().collect()).unwrap_or_default()
    }

    /// An anchored object: its current version is kept (COMPLIANCE retention) for the configured
    /// days, against every user, the bucket's owner included. Objects of the shared bucket are
    /// left as they are.
    pub async fn lock(&self, key: &str) -> Result<()> {
        let Some(p) = &self.phases else { return Ok(()) };
        let (bucket, object) = self.locate(key)?;
        if bucket.name() == self.bucket.name() {
            return Ok(());
        }
        let until = SystemTime::now() + Duration::from_secs(u64::from(p.cfg.retention_days) * 86_400);
        let body = format!(
            "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>COMPLIANCE</Mode><RetainUntilDate>{}</RetainUntilDate></Retention>",
            rfc3339(until)
        );
        self.put_sub(&bucket, object, "retention", body).await
    }

    /// A PUT of a subresource (`?policy`, `?lifecycle`, `?retention`) with an XML or JSON body.
    async fn put_sub(&self, bucket: &Bucket, path: &str, sub: &str, body: String) -> Result<()> {
        let what = format!("PUT {}/{path}?{sub}", bucket.name());
        let url = bucket.presign_put(path, PRESIGN_SECS, None, Some(HashMap::from([(sub.to_owned(), String::new())]))).await.map_err(map_err)?;
        let md5 = openssl::hash::hash(openssl::hash::MessageDigest::md5(), body.as_bytes())?;
        use base64::Engine;
        let request = self.http.put(url).header("Content-MD5", base64::engine::general_purpose::STANDARD.encode(md5)).body(body);
        let resp = request.send().await.map_err(|e| StorageError::Unavailable(format!("{what}: {}", e.without_url())))?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            code @ 500..=599 => Err(StorageError::Unavailable(format!("{what}: HTTP {code}"))),
            code => Err(StorageError::Backend(format!("{what}: HTTP {code}"))),
        }
    }

    /// A presigned PUT of `key`, of one part when `part` is (upload id, part number).
    async fn presign(&self, bucket: &Bucket, key: &str, part: Option<(&str, u32)>) -> Result<String> {
        let queries = part
            .map(|(upload_id, number)| HashMap::from([("partNumber".to_owned(), number.to_string()), ("uploadId".to_owned(), upload_id.to_owned())]));
        bucket.presign_put(key, PRESIGN_SECS, None, queries).await.map_err(map_err)
    }

    /// Sends the parts of a multipart upload, `first` already read; returns them and the size.
    async fn put_parts(
        &self,
        bucket: &Bucket,
        key: &str,
        upload_id: &str,
        first: BytesMut,
        body: &mut (dyn AsyncRead + Unpin + Send),
    ) -> Result<(Vec<Part>, u64)> {
        let mut sending = JoinSet::new();
        let mut parts = Vec::new();
        let mut size = 0u64;
        let mut number = 0u32;
        let mut chunk = first;
        loop {
            number += 1;
            size += chunk.len() as u64;
            let url = self.presign(bucket, key, Some((upload_id, number))).await?;
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

impl Phases {
    /// This org's bucket of a phase: `svf-` and 40 hex digits of an HMAC-SHA256 under the org's
    /// S3 secret, so neither the operator's listing nor another org learns the phase from it.
    fn bucket_name(&self, project: &str, phase: &str) -> Result<String> {
        use openssl::{hash::MessageDigest, pkey::PKey, sign::Signer};
        let key = PKey::hmac(&self.name_key)?;
        let mut mac = Signer::new(MessageDigest::sha256(), &key)?;
        mac.update(format!("svcflow phase bucket\n{}\n{project}\n{phase}", self.cfg.owner).as_bytes())?;
        let hex = hex::encode(mac.sign_to_vec()?);
        Ok(format!("{BUCKET_PREFIX}{}", &hex[..BUCKET_HEX]))
    }

    /// Adds a bucket to the registry (file and memory); one already there is left as it is.
    fn register(&self, b: OwnedBucket) -> Result<()> {
        let mut owned = lock(&self.owned);
        if owned.contains_key(&b.bucket) {
            return Ok(());
        }
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.cfg.registry)?;
        f.write_all(format!("{}\t{}\t{}\t{}\n", b.bucket, b.project, b.phase, b.user).as_bytes())?;
        f.sync_all()?;
        owned.insert(b.bucket.clone(), b);
        Ok(())
    }
}

/// The registry's lines; a missing file is an empty registry, a bad line is skipped (logged).
fn read_registry(path: &std::path::Path) -> Result<BTreeMap<String, OwnedBucket>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        match line.split('\t').collect::<Vec<_>>()[..] {
            [bucket, project, phase, user] if is_phase_bucket(bucket) => {
                out.insert(bucket.to_owned(), OwnedBucket { bucket: bucket.into(), project: project.into(), phase: phase.into(), user: user.into() });
            }
            _ => tracing::warn!(registry = %path.display(), "a bucket registry line that is not bucket, project, phase, user; skipped"),
        }
    }
    Ok(out)
}

fn open_bucket(name: &str, region: &Region, creds: &Credentials, timeout: Duration) -> Result<Box<Bucket>> {
    Bucket::new(name, region.clone(), creds.clone()).map_err(map_err)?.with_path_style().with_request_timeout(timeout).map_err(map_err)
}

fn rand_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    openssl::rand::rand_bytes(&mut b)?;
    Ok(b)
}

/// A bucket policy letting the RGW users of `orgs` (uid = MSP id) get the bucket's objects.
fn read_policy(bucket: &str, orgs: &[String]) -> String {
    let principals: Vec<String> = orgs.iter().map(|o| format!("arn:aws:iam:::user/{o}")).collect();
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "participants-read",
            "Effect": "Allow",
            "Principal": { "AWS": principals },
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [format!("arn:aws:s3:::{bucket}/*")],
        }, {
            // To find an object's first version (the anchored one) by its name: names are
            // random, and the bucket holds this phase's objects alone.
            "Sid": "participants-find-versions",
            "Effect": "Allow",
            "Principal": { "AWS": principals },
            "Action": ["s3:ListBucketVersions"],
            "Resource": [format!("arn:aws:s3:::{bucket}")],
        }]
    })
    .to_string()
}

/// Incomplete multipart uploads (a writer killed mid-upload) are aborted after a day.
const LIFECYCLE: &str = "<LifecycleConfiguration><Rule><ID>abort-incomplete-multipart</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>";

/// `2027-12-07T22:10:00Z`, for a retention date.
fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    svcflow_model::time::rfc3339(i64::try_from(secs).unwrap_or(i64::MAX), None)
}

/// A presigned request that got no answer: the store out of reach (503), else a fault.
fn request_failed(e: reqwest::Error, what: &str) -> StorageError {
    // The URL carries a signature good for an hour: never into a log or an answer.
    let e = e.without_url();
    if e.is_connect() || e.is_timeout() || e.is_request() || e.is_body() {
        StorageError::Unavailable(format!("{what}: {e}"))
    } else {
        StorageError::Backend(format!("{what}: {e}"))
    }
}

/// Sends one presigned PUT; returns the ETag the store gave it.
async fn send(request: reqwest::RequestBuilder, key: &str) -> Result<String> {
    let resp = request.send().await.map_err(|e| request_failed(e, &format!("PUT {key}")))?;
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
        let (bucket, key) = self.locate(key)?;
        let mut first = BytesMut::new();
        let n = read_part(body, &mut first).await?;
        if n < PART_SIZE {
            // The whole object is smaller than a part: one request.
            let url = self.presign(&bucket, key, None).await?;
            send(self.http.put(url).header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE).body(first.freeze()), key).await?;
            return Ok(n as u64);
        }
        let upload = bucket.initiate_multipart_upload(key, CONTENT_TYPE).await.map_err(with_key(key))?;
        let sent = self.put_parts(&bucket, key, &upload.upload_id, first, body).await;
        let completed = match sent {
            Ok((parts, size)) => bucket.complete_multipart_upload(key, &upload.upload_id, parts).await.map(|_| size).map_err(with_key(key)),
            Err(e) => Err(e),
        };
        if completed.is_err() {
            // Best effort: a part upload left behind is found by `delete` and the bucket's
            // lifecycle rule; the error the caller sees is the upload's own.
            if let Err(e) = bucket.abort_upload(key, &upload.upload_id).await {
                tracing::warn!(object = key, upload_id = %upload.upload_id, error = %e, "could not abort a failed multipart upload");
            }
        }
        completed
    }

    async fn get(&self, key: &str) -> Result<ByteStream> {
        let (bucket, key) = self.locate(key)?;
        let foreign = self.is_foreign(&bucket);
        let resp = match bucket.get_object_stream(key).await {
            Ok(resp) => resp,
            // Maybe hidden behind a delete marker by its owner (404, or to a reader who may not
            // list the bucket's names 403, as for a missing object): the anchored version is
            // still there, under retention, and listing versions tells which it is (or, refused
            // too, that this org is not granted yet). A newer version over it is read above and
            // refused as not what the anchor names: a substitution is always seen.
            Err(S3Error::HttpFailWithBody(404, _)) if bucket.name() != self.bucket.name() => {
                return self.get_first_version(&bucket, key, foreign).await
            }
            Err(S3Error::HttpFailWithBody(403, _)) if foreign => return self.get_first_version(&bucket, key, foreign).await,
            Err(e) => return Err(read_refused(e, foreign, key)),
        };
        let owned = key.to_owned();
        Ok(Box::pin(resp.bytes.map(move |r| r.map_err(|e| with_key(&owned)(e)))))
    }

    /// An object in another org's phase bucket is left alone (`Ok`). Also aborts any incomplete
    /// multipart upload of the key: a writer killed mid-upload, or one
    /// whose own abort failed (RGW was down), leaves parts that no object lists. In a phase
    /// bucket (versioned) the current version itself is removed; one under retention (anchored
    /// before) cannot be, and is hidden behind a delete marker instead.
    async fn delete(&self, key: &str) -> Result<()> {
        let (bucket, key) = self.locate(key)?;
        if self.is_foreign(&bucket) {
            // Another org's bucket (a reseal by this org replaced an object it stored): only its
            // owner may touch it, and the old version is under retention there anyway; no
            // removed org reads it (the bucket's policy follows the participants).
            tracing::info!(object = key, "an object in another org's bucket: left to its owner");
            return Ok(());
        }
        for page in bucket.list_multiparts_uploads(Some(key), None).await.map_err(map_err)? {
            for u in page.uploads.iter().filter(|u| u.key == key) {
                bucket.abort_upload(key, &u.id).await.map_err(map_err)?;
                tracing::info!(object = key, upload_id = %u.id, "aborted an incomplete multipart upload");
            }
        }
        if bucket.name() != self.bucket.name() {
            let version = match bucket.head_object(key).await {
                Ok((head, _)) => head.version_id,
                Err(e) => match map_err(e) {
                    StorageError::NotFound(_) => None,
                    other => return Err(other),
                },
            };
            if let Some(v) = version {
                let done = bucket.delete_objects(vec![ObjectIdentifier::with_version(key, v)]).await.map_err(with_key(key))?;
                if done.errors.is_empty() {
                    return Ok(());
                }
                tracing::info!(object = key, "the object's version is retained (anchored): hidden behind a delete marker");
            }
        }
        bucket.delete_object(key).await.map_err(with_key(key))?;
        Ok(())
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        let (bucket, key) = self.locate(key)?;
        let foreign = self.is_foreign(&bucket);
        match bucket.head_object(key).await {
            Ok((head, _)) => {
                let size = head
                    .content_length
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or_else(|| StorageError::Backend(format!("HEAD {key}: no valid Content-Length")))?;
                Ok(Some(ObjectInfo { size }))
            }
            Err(e) => match read_refused(e, foreign, key) {
                StorageError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }
}

impl S3Store {
    /// An object of a phase bucket as first written: the version anchored (this gateway writes
    /// each name once), kept under retention; a delete marker does not hide it from a read by
    /// version.
    async fn get_first_version(&self, bucket: &Bucket, key: &str, foreign: bool) -> Result<ByteStream> {
        let queries = HashMap::from([("versions".to_owned(), String::new()), ("prefix".to_owned(), key.to_owned())]);
        let url = bucket.presign_get("/", PRESIGN_SECS, Some(queries)).await.map_err(map_err)?;
        let listing = fetch(&self.http, url, key, foreign)
            .await?
            .text()
            .await
            .map_err(|e| StorageError::Unavailable(format!("GET {key}: {}", e.without_url())))?;
        let version = first_version(&listing, key)?.ok_or_else(|| StorageError::NotFound(key.to_owned()))?;
        let url = bucket.presign_get(key, PRESIGN_SECS, Some(HashMap::from([("versionId".to_owned(), version)]))).await.map_err(map_err)?;
        let owned = key.to_owned();
        let resp = fetch(&self.http, url, key, foreign).await?;
        Ok(Box::pin(resp.bytes_stream().map(move |r| r.map_err(|e| StorageError::Unavailable(format!("GET {owned}: {}", e.without_url()))))))
    }
}

/// One presigned GET, its status mapped like a read's error (see [`read_refused`]).
async fn fetch(http: &reqwest::Client, url: String, key: &str, foreign: bool) -> Result<reqwest::Response> {
    let resp = http.get(url).send().await.map_err(|e| request_failed(e, &format!("GET {key}")))?;
    match resp.status().as_u16() {
        200..=299 => Ok(resp),
        code => {
            let body = resp.text().await.unwrap_or_default();
            Err(read_refused(S3Error::HttpFailWithBody(code, body), foreign, key))
        }
    }
}

/// The id of `key`'s first version in a `ListObjectVersions` answer (delete markers aside):
/// versions of a key are listed newest first, and each carries its time too, which decides.
fn first_version(xml: &str, key: &str) -> Result<Option<String>> {
    use quick_xml::events::Event as Xml;
    let bad = |e: &dyn std::fmt::Display| StorageError::Backend(format!("the store's list of {key}'s versions is unreadable: {e}"));
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut path, mut entry) = (Vec::<String>::new(), [String::new(), String::new(), String::new()]);
    let mut first: Option<(String, String)> = None;
    loop {
        match reader.read_event().map_err(|e| bad(&e))? {
            Xml::Start(t) => {
                path.push(String::from_utf8_lossy(t.local_name().as_ref()).into_owned());
                if path.len() == 2 && path[1] == "Version" {
                    entry = Default::default();
                }
            }
            Xml::Text(t) if path.len() == 3 && path[1] == "Version" => {
                let text = t.decode().map_err(|e| bad(&e))?.into_owned();
                match path[2].as_str() {
                    "Key" => entry[0] = text,
                    "VersionId" => entry[1] = text,
                    "LastModified" => entry[2] = text,
                    _ => {}
                }
            }
            Xml::End(_) => {
                if path.len() == 2 && path[1] == "Version" && entry[0] == key {
                    // RFC 3339 times of one format: they sort as strings; the later-listed wins a tie.
                    if first.as_ref().is_none_or(|(t, _)| entry[2] <= *t) {
                        first = Some((entry[2].clone(), entry[1].clone()));
                    }
                }
                path.pop();
            }
            Xml::Eof => return Ok(first.map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// A read's error. Another org's phase bucket refusing this org (403) means its owner's gateway
/// has not yet granted the phase's new participants (it keeps each bucket's policy in step every
/// `storage.s3_access_sync_ms`): a caller the chaincode let through is a participant, so that
/// passes by itself, and is said so (503) rather than as a fault of the store (500).
fn read_refused(e: S3Error, foreign: bool, key: &str) -> StorageError {
    match e {
        S3Error::HttpFailWithBody(403, _) if foreign => StorageError::Unavailable(format!(
            "object {key}: the org that stored it has not granted this org read access yet (its gateway brings each bucket's policy in step with the phase's participants within storage.s3_access_sync_ms); try again shortly"
        )),
        e => with_key(key)(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_version_is_found_whatever_its_owner_put_or_marked_since() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>svf-x</Name><Prefix>o1</Prefix>
<DeleteMarker><Key>o1</Key><VersionId>marker</VersionId><IsLatest>true</IsLatest><LastModified>2026-12-08T02:00:03.000Z</LastModified></DeleteMarker>
<Version><Key>o1</Key><VersionId>overwrite</VersionId><IsLatest>false</IsLatest><LastModified>2026-12-08T02:00:02.000Z</LastModified><Size>3</Size></Version>
<Version><Key>o1</Key><VersionId>anchored</VersionId><IsLatest>false</IsLatest><LastModified>2026-12-08T02:00:01.000Z</LastModified><Size>9</Size></Version>
<Version><Key>o10</Key><VersionId>other</VersionId><LastModified>2026-12-08T01:00:00.000Z</LastModified></Version></ListVersionsResult>"#;
        assert_eq!(first_version(xml, "o1").unwrap().as_deref(), Some("anchored"));
        assert_eq!(first_version(xml, "o10").unwrap().as_deref(), Some("other"));
        assert_eq!(first_version(xml, "o2").unwrap(), None);
        let only_marker = "<ListVersionsResult><DeleteMarker><Key>o1</Key><VersionId>m</VersionId></DeleteMarker></ListVersionsResult>";
        assert_eq!(first_version(only_marker, "o1").unwrap(), None);
        assert!(first_version("<ListVersionsResult><Version><Key>o1</Key></Broken>", "o1").is_err());
    }

    #[test]
    fn a_foreign_bucket_not_granted_yet_is_unavailable_not_a_fault() {
        let denied = || S3Error::HttpFailWithBody(403, "<Error><Code>AccessDenied</Code></Error>".into());
        let e = read_refused(denied(), true, "svf-x/o");
        assert!(matches!(&e, StorageError::Unavailable(m) if m.contains("not granted this org read access yet")), "{e}");
        assert!(matches!(read_refused(denied(), false, "svf-x/o"), StorageError::Backend(_)));
        assert!(matches!(read_refused(S3Error::HttpFailWithBody(404, String::new()), true, "svf-x/o"), StorageError::NotFound(k) if k == "svf-x/o"));
    }

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
            phases: None,
        })
        .expect("store");
        let err = store.put("k", &mut &b"small object"[..]).await.expect_err("nothing listens");
        let msg = err.to_string();
        assert!(matches!(err, StorageError::Unavailable(_)), "{msg}");
        assert!(!msg.contains("Signature") && !msg.contains("X-Amz"), "{msg}");
    }

    fn phases(owner: &str, secret: &str) -> Phases {
        Phases {
            cfg: PhaseBuckets { owner: owner.into(), retention_days: 1, registry: PathBuf::from("/nonexistent") },
            name_key: secret.as_bytes().to_vec(),
            owned: Mutex::new(BTreeMap::new()),
            ready: Mutex::new(HashSet::new()),
            granted: Mutex::new(HashMap::new()),
        }
    }

    /// A bucket's name is stable for its phase, tells nothing of it, and differs between orgs
    /// and between secrets; keys of the older layout are never taken for a phase bucket.
    #[test]
    fn phase_bucket_names() {
        let a = phases("Org1MSP", "s1").bucket_name("p", "P1").unwrap();
        assert_eq!(a, phases("Org1MSP", "s1").bucket_name("p", "P1").unwrap());
        assert!(is_phase_bucket(&a) && !a.contains("p1") && !a.contains("org1"), "{a}");
        for other in [
            phases("Org2MSP", "s1").bucket_name("p", "P1"),
            phases("Org1MSP", "s2").bucket_name("p", "P1"),
            phases("Org1MSP", "s1").bucket_name("p", "P2"),
        ] {
            assert_ne!(a, other.unwrap());
        }
        assert!(!is_phase_bucket("svcflow") && !is_phase_bucket("svf-xyz") && !is_phase_bucket(&a.to_uppercase()));
    }

    #[test]
    fn retention_dates() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_680_800)), "2026-12-07T22:00:00Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn the_policy_names_each_org_once_for_reading_only() {
        let p: serde_json::Value = serde_json::from_str(&read_policy("svf-b", &["Org1MSP".into(), "Org2MSP".into()])).unwrap();
        assert_eq!(p["Statement"][0]["Action"], serde_json::json!(["s3:GetObject", "s3:GetObjectVersion"]));
        assert_eq!(p["Statement"][0]["Principal"]["AWS"], serde_json::json!(["arn:aws:iam:::user/Org1MSP", "arn:aws:iam:::user/Org2MSP"]));
        assert_eq!(p["Statement"][0]["Resource"], serde_json::json!(["arn:aws:s3:::svf-b/*"]));
        // Versions listed, never the objects' names alone, nothing written.
        assert_eq!(p["Statement"][1]["Action"], serde_json::json!(["s3:ListBucketVersions"]));
        assert_eq!(p["Statement"][1]["Principal"], p["Statement"][0]["Principal"]);
        assert_eq!(p["Statement"][1]["Resource"], serde_json::json!(["arn:aws:s3:::svf-b"]));
        assert_eq!(p["Statement"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn the_registry_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = phases("Org1MSP", "s");
        p.cfg.registry = dir.path().join("buckets.tsv");
        let b = OwnedBucket { bucket: format!("svf-{}", "a".repeat(40)), project: "p".into(), phase: "P1".into(), user: "User1@org1".into() };
        p.register(b.clone()).unwrap();
        p.register(b.clone()).unwrap();
        std::fs::OpenOptions::new().append(true).open(&p.cfg.registry).unwrap().write_all(b"garbage\n").unwrap();
        let back = read_registry(&p.cfg.registry).unwrap();
        assert_eq!(back.into_values().collect::<Vec<_>>(), vec![b]);
    }
}
