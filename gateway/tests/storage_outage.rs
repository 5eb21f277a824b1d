#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a failed unwrap is a failed test
//! RGW outage during an upload. A binary of its own: it stops and restarts RGW, which the
//! other storage cases (run in parallel within their binary) must not see.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use svcflow_gateway::storage::sealed::{self, DataKey};
use svcflow_gateway::storage::{ObjectStore, StorageError};

fn ceph_sh() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fabric-network/ceph.sh")
}

/// RGW stopped while an upload is in flight: a clear error, and no object (not even part of one)
/// visible once RGW is back.
#[tokio::test]
async fn rgw_stopped_mid_upload_leaves_no_object() {
    let store = s3();
    let k = key("rgw-interrupted");
    // 64 MiB, held after 20 MiB until RGW is down: the rest must meet the outage however fast
    // the machine is (a paced source raced RGW's graceful stop and sometimes finished first).
    let go = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut src = Generated::new(64 * MIB, 9).held_at(20 * MIB, go.clone());
    let data_key = DataKey::new(KEY);
    let upload = sealed::put(&store, &k, &data_key, &mut src);
    let stopper = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let st = tokio::task::spawn_blocking(|| std::process::Command::new(ceph_sh()).arg("stop-rgw").status())
            .await
            .expect("join")
            .expect("run ceph.sh stop-rgw");
        assert!(st.success(), "ceph.sh stop-rgw failed");
        go.store(true, std::sync::atomic::Ordering::Release);
    };
    let (res, ()) = tokio::join!(upload, stopper);
    let start = std::process::Command::new(ceph_sh()).arg("start-rgw").status().expect("run ceph.sh start-rgw");
    assert!(start.success(), "ceph.sh start-rgw failed");
    // Unavailable is what the API answers with 503 (retry later); any other kind would be a 500.
    match res {
        Err(e @ StorageError::Unavailable(_)) => eprintln!("upload with RGW stopped failed with: {e}"),
        other => panic!("an upload with RGW stopped must fail as unavailable (HTTP 503), got {other:?}"),
    }
    assert!(!store.exists(&k).await.expect("exists after restart"), "half an object is visible");
}
