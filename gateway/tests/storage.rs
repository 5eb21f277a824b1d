#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a failed unwrap is a failed test
//! The storage suite, run against the filesystem backend and a real Ceph RGW (see `common`).
//! Each case uses its own object keys, so cases run in any order and in parallel.

mod common;

use common::*;
use futures_util::StreamExt;
use svcflow_gateway::storage::sealed::{self, DataKey, Expect, Sealed};
use svcflow_gateway::storage::{ObjectStore, StorageError};

async fn roundtrip<S: ObjectStore>(store: &S, case: &str, len: u64) {
    let k = key(case);
    let mut src = Generated::new(len, len + 7);
    let sealed: Sealed = sealed::put(store, &k, &DataKey::new(KEY), &mut src).await.expect("sealed put");
    assert_eq!((sealed.key.as_str(), sealed.size), (k.as_str(), len));
    assert_eq!(sealed.sha256, src.sha256());
    let info = store.head(&k).await.expect("head").expect("the object exists");
    assert_eq!(info.size, sealed.stored_size);
    let back = sealed::get(store, &k, DataKey::new(KEY), Expect { sha256: sealed.sha256.clone(), size: len }).await.expect("sealed get");
    let (sha, n) = drain(back).await.expect("verified read");
    assert_eq!((sha, n), (sealed.sha256, len));
    store.delete(&k).await.expect("delete");
    assert!(!store.exists(&k).await.expect("exists"));
}

/// Writes a sealed object, rewrites its raw bytes with `mangle` through the store itself (for S3:
/// straight through the S3 API), and expects the verified read to fail.
async fn refuses_mangled<S: ObjectStore>(store: &S, case: &str, mangle: fn(&mut Vec<u8>)) {
    let k = key(case);
    let len = 3 * MIB + 11;
    let sealed = sealed::put(store, &k, &DataKey::new(KEY), &mut Generated::new(len, 3)).await.expect("put");
    let mut raw = Vec::new();
    let mut s = store.get(&k).await.expect("raw get");
    while let Some(b) = s.next().await {
        raw.extend_from_slice(&b.expect("raw bytes"));
    }
    mangle(&mut raw);
    store.put(&k, &mut raw.as_slice()).await.expect("raw overwrite");
    let res = match sealed::get(store, &k, DataKey::new(KEY), Expect { sha256: sealed.sha256, size: len }).await {
        Ok(s) => drain(s).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match res {
        Err(StorageError::Integrity(msg)) => assert!(!msg.is_empty()),
        other => panic!("{case}: a mangled object must be refused, got {other:?}"),
    }
    store.delete(&k).await.expect("delete");
}

#[allow(clippy::ptr_arg)] // shares its signature with `truncate`
fn flip_byte(raw: &mut Vec<u8>) {
    let i = raw.len() / 2;
    raw[i] ^= 0x40;
}
fn truncate(raw: &mut Vec<u8>) {
    raw.truncate(raw.len() - (1 << 20) - 28);
}

async fn concurrent<S: ObjectStore>(store: &S, case: &str) {
    let jobs = (0..8u64).map(|i| async move {
        let k = key(&format!("{case}-{i}"));
        let len = 5 * MIB + i * 12345;
        let mut src = Generated::new(len, i + 100);
        let sealed = sealed::put(store, &k, &DataKey::new(KEY), &mut src).await.expect("put");
        let (sha, n) = drain(sealed::get(store, &k, DataKey::new(KEY), Expect { sha256: sealed.sha256.clone(), size: len }).await.expect("get"))
            .await
            .expect("read");
        assert_eq!((sha, n), (src.sha256(), len));
        store.delete(&k).await.expect("delete");
    });
    futures_util::future::join_all(jobs).await;
}

/// An upload whose source fails half-way (the client went away) leaves no object, and a failed
/// overwrite leaves the previous object as it was. `len` below 8 MiB is one S3 PUT, above it a
/// multipart upload that must be aborted.
async fn failing_source<S: ObjectStore>(store: &S, case: &str, len: u64) {
    let k = key(case);
    let mut broken = Generated::new(2 * len, 5).failing_after(len);
    let res = sealed::put(store, &k, &DataKey::new(KEY), &mut broken).await;
    assert!(matches!(res, Err(StorageError::Io(_))), "{case}: {res:?}");
    assert!(!store.exists(&k).await.expect("exists"), "{case}: half an object is visible");

    let mut src = Generated::new(1000, 6);
    let first = sealed::put(store, &k, &DataKey::new(KEY), &mut src).await.expect("put");
    let mut broken = Generated::new(2 * len, 5).failing_after(len);
    assert!(sealed::put(store, &k, &DataKey::new(KEY), &mut broken).await.is_err());
    let back = sealed::get(store, &k, DataKey::new(KEY), Expect { sha256: first.sha256.clone(), size: 1000 }).await.expect("get");
    assert_eq!(drain(back).await.expect("the first version is intact"), (src.sha256(), 1000));
    store.delete(&k).await.expect("delete");
}

async fn missing<S: ObjectStore>(store: &S) {
    let k = key("missing");
    assert!(!store.exists(&k).await.expect("exists"));
    assert_eq!(store.head(&k).await.expect("head"), None);
    assert!(matches!(store.get(&k).await.map(|_| ()), Err(StorageError::NotFound(_))));
    let res = sealed::get(store, &k, DataKey::new(KEY), Expect { sha256: String::new(), size: 0 }).await;
    assert!(matches!(res.map(|_| ()), Err(StorageError::NotFound(_))));
    assert!(matches!(store.put("../escape", &mut &b"x"[..]).await, Err(StorageError::InvalidKey(..))));
}

// ---- filesystem backend ------------------------------------------------------------------------

#[tokio::test]
async fn fs_roundtrips_empty_small_and_1gib() {
    let (_d, store) = fs().await;
    roundtrip(&store, "fs-empty", 0).await;
    roundtrip(&store, "fs-small", 1234).await;
    roundtrip(&store, "fs-1gib", 1024 * MIB).await;
}

#[tokio::test]
async fn fs_refuses_altered_and_truncated_objects() {
    let (_d, store) = fs().await;
    refuses_mangled(&store, "fs-altered", flip_byte).await;
    refuses_mangled(&store, "fs-truncated", truncate).await;
}

#[tokio::test]
async fn fs_concurrent_uploads() {
    let (_d, store) = fs().await;
    concurrent(&store, "fs-concurrent").await;
}

#[tokio::test]
async fn fs_failing_source_leaves_no_object() {
    let (_d, store) = fs().await;
    failing_source(&store, "fs-failing-small", 3 * MIB).await;
    failing_source(&store, "fs-failing-large", 20 * MIB).await;
}

#[tokio::test]
async fn fs_missing_objects_and_bad_keys() {
    let (_d, store) = fs().await;
    missing(&store).await;
}

// ---- Ceph RGW ----------------------------------------------------------------------------------

#[tokio::test]
async fn rgw_roundtrips_empty_small_and_1gib() {
    let store = s3();
    roundtrip(&store, "rgw-empty", 0).await;
    roundtrip(&store, "rgw-small", 1234).await;
    roundtrip(&store, "rgw-1gib", 1024 * MIB).await;
}

#[tokio::test]
async fn rgw_refuses_objects_altered_or_truncated_through_s3() {
    let store = s3();
    refuses_mangled(&store, "rgw-altered", flip_byte).await;
    refuses_mangled(&store, "rgw-truncated", truncate).await;
}

#[tokio::test]
async fn rgw_concurrent_uploads() {
    concurrent(&s3(), "rgw-concurrent").await;
}

#[tokio::test]
async fn rgw_failing_source_leaves_no_object() {
    let store = s3();
    failing_source(&store, "rgw-failing-small", 3 * MIB).await;
    failing_source(&store, "rgw-failing-multipart", 20 * MIB).await;
    // The failed multipart uploads were aborted, not left for the lifecycle rule: RGW lists none.
    let k = key("rgw-failing-multipart");
    let cfg = s3_config();
    let region = s3::Region::Custom { region: cfg.region.clone(), endpoint: cfg.endpoint.clone() };
    let creds = s3::creds::Credentials::new(Some(&cfg.access_key), Some(&cfg.secret_key), None, None, None).expect("creds");
    let bucket = s3::Bucket::new(&cfg.bucket, region, creds).expect("bucket").with_path_style();
    let pages = bucket.list_multiparts_uploads(Some(&k), None).await.expect("list multipart uploads");
    let left: Vec<_> = pages.iter().flat_map(|p| p.uploads.iter()).filter(|u| u.key == k).map(|u| u.id.clone()).collect();
    assert!(left.is_empty(), "incomplete multipart uploads left for {k}: {left:?}");
}

#[tokio::test]
async fn rgw_missing_objects_and_bad_keys() {
    missing(&s3()).await;
}

/// This org's bucket of a phase (Object Lock on, a read policy, the registry), a sealed object
/// stored there single-part and multipart, locked once anchored: a later delete only hides it.
#[tokio::test]
async fn rgw_phase_buckets_hold_and_lock_objects() {
    use svcflow_gateway::storage::s3::{OwnedBucket, PhaseBuckets, S3Store};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = s3_config();
    cfg.phases = Some(PhaseBuckets { owner: "StorageTestMSP".into(), retention_days: 1, registry: dir.path().join("buckets.tsv") });
    let store = S3Store::new(&cfg).expect("store");
    let project = key("phase-buckets").replace('/', "-");
    let owned = OwnedBucket { bucket: String::new(), project: project.clone(), phase: "P1".into(), user: "User1".into() };
    for len in [5, 9 * MIB + 3] {
        let k = store.new_key(&project, "P1", "f").expect("key");
        let (bucket, object) = k.split_once('/').expect("bucket/object");
        assert!(bucket.starts_with("svf-") && bucket.len() == 44 && object.len() == 32 && !k.contains(&project), "{k}");
        store.prepare(&k, &owned, &["Org2MSP".into()]).await.expect("bucket ready");
        let sealed = sealed::put(&store, &k, &DataKey::new(KEY), &mut Generated::new(len, 5)).await.expect("sealed put");
        assert_eq!(store.head(&k).await.expect("head").map(|i| i.size), Some(sealed.stored_size));
        store.lock(&k).await.expect("lock");
        let back = sealed::get(&store, &k, DataKey::new(KEY), Expect { sha256: sealed.sha256.clone(), size: len }).await.expect("get");
        assert_eq!(drain(back).await.expect("verified").1, len);
        // The locked version stays; the delete only hides it behind a marker.
        store.delete(&k).await.expect("delete");
        assert_eq!(store.head(&k).await.expect("head"), None);
    }
    // An object never locked (its anchor failed) is removed outright.
    let k = store.new_key(&project, "P1", "g").expect("key");
    store.put(&k, &mut &b"never anchored"[..]).await.expect("put");
    store.delete(&k).await.expect("delete");
    assert_eq!(store.head(&k).await.expect("head"), None);
    let owned_now = store.owned();
    assert_eq!(owned_now.len(), 1, "{owned_now:?}");
    assert_eq!((owned_now[0].project.as_str(), owned_now[0].phase.as_str()), (project.as_str(), "P1"));
    let again = S3Store::new(&cfg).expect("store");
    assert_eq!(again.owned(), owned_now, "the registry outlives the process");
    store.grant(&project, "P1", &["Org1MSP".into(), "Org3MSP".into()]).await.expect("grant");
    store.probe().await.expect("probe");
}
