#![allow(dead_code)] // each test binary uses a different subset
//! Helpers shared by the storage suites.
//!
//! RGW cases need `SVCFLOW_S3_ENDPOINT`, `SVCFLOW_S3_BUCKET`, `SVCFLOW_S3_ACCESS_KEY`,
//! `SVCFLOW_S3_SECRET_KEY` (as printed by `fabric-network/ceph.sh env`); without them they fail
//! and say so. Each case uses its own object keys, so cases run in any order and in parallel.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::StreamExt;
use openssl::sha::Sha256;
use svcflow_gateway::storage::s3::{S3Config, S3Store};

use svcflow_gateway::storage::{fs::FsStore, ByteStream, StorageError};
use tokio::io::{AsyncRead, ReadBuf};

pub const KEY: [u8; 32] = [42u8; 32];
pub const MIB: u64 = 1 << 20;

pub fn s3_config() -> S3Config {
    let var = |k: &str| {
        std::env::var(k)
            .unwrap_or_else(|_| panic!("{k} is not set: start RGW with `fabric-network/ceph.sh up` and `eval \"$(fabric-network/ceph.sh env)\"`"))
    };
    S3Config {
        endpoint: var("SVCFLOW_S3_ENDPOINT"),
        region: std::env::var("SVCFLOW_S3_REGION").unwrap_or_else(|_| "default".into()),
        bucket: var("SVCFLOW_S3_BUCKET"),
        access_key: var("SVCFLOW_S3_ACCESS_KEY"),
        secret_key: var("SVCFLOW_S3_SECRET_KEY"),
        parts_in_flight: 4,
        request_timeout: Duration::from_secs(30),
        phases: None,
    }
}

pub fn s3() -> S3Store {
    S3Store::new(&s3_config()).expect("S3 store")
}

pub async fn fs() -> (tempfile::TempDir, FsStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsStore::open(dir.path()).await.expect("fs store");
    (dir, store)
}

/// A unique key per test run and case, so reruns never see old objects.
pub fn key(case: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("test/{case}-{}-{nanos}", std::process::id())
}

/// Deterministic pseudo-random bytes generated on the fly (never held in memory), hashed as read.
pub struct Generated {
    left: u64,
    state: u64,
    sha: Sha256,
    /// Stall (Pending, re-woken) this many times per call after `stall_after` bytes: lets a test
    /// stop RGW while an upload is in flight.
    pace: Option<(u64, Duration)>,
    sleeping: Option<Pin<Box<tokio::time::Sleep>>>,
    produced: u64,
    /// Fail with an I/O error once this many bytes were produced (a client that went away).
    fail_at: Option<u64>,
    /// Produce nothing past this many bytes until the flag is set (a test's outage is in place).
    hold: Option<(u64, std::sync::Arc<std::sync::atomic::AtomicBool>)>,
}

impl Generated {
    pub fn new(len: u64, seed: u64) -> Self {
        Self { left: len, state: seed | 1, sha: Sha256::new(), pace: None, sleeping: None, produced: 0, fail_at: None, hold: None }
    }
    /// Stops after `after` bytes until `go` is set: whatever the machine's speed, the rest of the
    /// stream flows only once the test has done what it waits for.
    pub fn held_at(mut self, after: u64, go: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.hold = Some((after, go));
        self
    }
    pub fn paced(mut self, after: u64, delay: Duration) -> Self {
        self.pace = Some((after, delay));
        self
    }
    pub fn failing_after(mut self, bytes: u64) -> Self {
        self.fail_at = Some(bytes);
        self
    }
    pub fn sha256(&self) -> String {
        hex::encode(self.sha.clone().finish())
    }
}

impl AsyncRead for Generated {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let held = self.hold.as_ref().is_some_and(|(after, go)| self.produced >= *after && !go.load(std::sync::atomic::Ordering::Acquire));
        if held {
            let sleep = self.sleeping.get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(10))));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleeping = None;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if let Some((after, delay)) = self.pace {
            if self.produced >= after {
                let sleep = self.sleeping.get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.sleeping = None;
            }
        }
        let mut n = (buf.remaining() as u64).min(self.left).min(64 * 1024);
        if let Some(at) = self.fail_at {
            if self.produced >= at {
                return Poll::Ready(Err(std::io::Error::other("the client went away")));
            }
            n = n.min(at - self.produced);
        }
        let n = n as usize;
        let mut out = vec![0u8; n];
        for chunk in out.chunks_mut(8) {
            // xorshift64: cheap, deterministic, incompressible enough for a store.
            let mut x = self.state;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.state = x;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        self.sha.update(&out);
        self.left -= n as u64;
        self.produced += n as u64;
        buf.put_slice(&out);
        Poll::Ready(Ok(()))
    }
}

/// Reads a plaintext stream to its end, hashing; returns (sha256, size) or the first error.
pub async fn drain(mut s: ByteStream) -> Result<(String, u64), StorageError> {
    let mut sha = Sha256::new();
    let mut n = 0u64;
    while let Some(item) = s.next().await {
        let b = item?;
        n += b.len() as u64;
        sha.update(&b);
    }
    Ok((hex::encode(sha.finish()), n))
}
