#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a failed unwrap is a failed test
//! The REST gateway against the raw clients on the same network and the same RGW:
//! - PutRecord through REST (HTTPS + client cert → gateway → Fabric) against the raw
//!   `fabric-gateway` crate driving the same function as the same user: throughput, p50/p99;
//! - a file upload and download through REST against a direct S3 PUT/GET of the same bytes;
//! - the gateway's peak RSS during concurrent 1 GiB uploads.
//!
//! Prints Markdown tables. Needs the network with its gateways and Ceph RGW:
//!
//!     fabric-network/network.sh up -s ceph && eval "$(fabric-network/ceph.sh env)"
//!     cargo bench -p svcflow-gateway --bench rest
//!
//! Knobs: N (2000 records), INFLIGHT (200), FILE_MIB (1024), UPLOADS (8), UPLOAD_MIB (1024);
//! ONLY=records or ONLY=files runs one part (the RSS part runs with files).

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use support::{cpu_ticks, drive, gateway_pid, knob, raw_contract, rest_client, rss_kib, Run, GW};
use svcflow_gateway::storage::s3::{S3Config, S3Store};
use svcflow_gateway::storage::ObjectStore;

/// A stream of `len` bytes in 1 MiB pieces of one random buffer (content does not matter to a
/// store that does not compress; the gateway encrypts it anyway).
fn body_stream(len: u64) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let mut buf = vec![0u8; 1 << 20];
    openssl::rand::rand_bytes(&mut buf).expect("random");
    let piece = Bytes::from(buf);
    let mut left = len;
    futures_util::stream::iter(std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let n = left.min(piece.len() as u64) as usize;
        left -= n as u64;
        Some(Ok(piece.slice(..n)))
    }))
}

fn mib_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / d.as_secs_f64()
}

/// Uploads `len` bytes through REST; the stored object's key, or `None` (reason on stderr).
async fn upload(client: &reqwest::Client, project: &str, name: &str, len: u64) -> Option<String> {
    let url = format!("{GW}/v1/projects/{project}/phases/P/files?name={name}&id={name}");
    match client.post(url).header("content-type", "application/octet-stream").body(reqwest::Body::wrap_stream(body_stream(len))).send().await {
        Ok(r) if r.status().as_u16() == 201 => {
            let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.ok()?).ok()?;
            body["file"]["object_key"].as_str().map(str::to_owned)
        }
        Ok(r) => {
            eprintln!("upload {name}: {} {}", r.status(), r.text().await.unwrap_or_default());
            None
        }
        Err(e) => {
            eprintln!("upload {name}: {e}");
            None
        }
    }
}

#[tokio::main]
async fn main() {
    let n = knob("N", 2000) as usize;
    let inflight = knob("INFLIGHT", 200) as usize;
    let client = rest_client();
    let project = format!("bench{}", std::process::id());

    // One project and a {Org1, Org2} phase, made through REST.
    let post = |path: String, body: String| client.post(format!("{GW}{path}")).body(body).send();
    let r = post("/v1/projects".into(), format!(r#"{{"id":"{project}","name":"bench"}}"#)).await.expect("create project");
    assert_eq!(r.status().as_u16(), 201, "create project: {}", r.text().await.unwrap_or_default());
    let r = post(
        format!("/v1/projects/{project}/phases"),
        r#"{"id":"P","name":"bench","participants":[{"msp_id":"Org1MSP"},{"msp_id":"Org2MSP"}]}"#.into(),
    )
    .await
    .expect("add phase");
    assert_eq!(r.status().as_u16(), 201, "add phase: {}", r.text().await.unwrap_or_default());

    let contract = raw_contract().await;

    // Warm both paths up (connections, chaincode), then measure: REST, raw, REST again, raw
    // again; the better of each pair is reported so a passing hiccup does not decide the ratio.
    let rest = |tag: &'static str| {
        let client = client.clone();
        let project = project.clone();
        move |i: usize| {
            let req = client
                .put(format!("{GW}/v1/projects/{project}/phases/P/records/{tag}{i}"))
                .body(format!(r#"{{"i":{i},"note":"throughput"}}"#))
                .send();
            async move { matches!(req.await, Ok(r) if r.status().is_success()) }
        }
    };
    let raw = |tag: &'static str| {
        let contract = contract.clone();
        let project = project.clone();
        move |i: usize| {
            let contract = contract.clone();
            // The record id is private: it travels in the transient map, like the document.
            let arg = format!(r#"{{"project":"{project}","phase":"P"}}"#);
            async move {
                let mut transient = HashMap::new();
                transient.insert("record".to_owned(), format!(r#"{{"i":{i},"note":"throughput"}}"#).into_bytes());
                transient.insert("record_id".to_owned(), format!("{tag}{i}").into_bytes());
                let res = async {
                    let commit =
                        contract.new_proposal("PutRecord").with_arguments([arg]).with_transient(transient).build()?.endorse().await?.submit().await?;
                    commit.status().await
                }
                .await;
                res.map(|s| s.successful).unwrap_or(false)
            }
        }
    };
    let only = std::env::var("ONLY").unwrap_or_default();
    if only != "files" {
        drive(100, 50, rest("w")).await;
        drive(100, 50, raw("v")).await;
        let gw = gateway_pid();
        let (g0, m0) = (cpu_ticks(gw), cpu_ticks(std::process::id()));
        let rest1 = drive(n, inflight, rest("a")).await;
        let (g1, m1) = (cpu_ticks(gw), cpu_ticks(std::process::id()));
        let raw1 = drive(n, inflight, raw("b")).await;
        let m2 = cpu_ticks(std::process::id());
        let rest2 = drive(n, inflight, rest("c")).await;
        let raw2 = drive(n, inflight, raw("d")).await;
        // CPU per transaction (clock ticks of 10 ms → ms per tx) of the gateway and of this client.
        let per_tx = |ticks: u64| ticks as f64 * 10.0 / n as f64;
        let best = |a: Run, b: Run| if a.tps() >= b.tps() { a } else { b };
        let (rest, raw) = (best(rest1, rest2), best(raw1, raw2));
        println!("| PutRecord, {n} transactions, {inflight} in flight, Org1 User1, {{Org1, Org2}} phase | REST gateway | raw fabric-gateway | REST / raw |");
        println!("|---|---|---|---|");
        println!("| committed / failed | {} / {} | {} / {} | |", rest.lat.len(), rest.failed, raw.lat.len(), raw.failed);
        println!("| throughput (committed tx/s) | {:.0} | {:.0} | {:.2} |", rest.tps(), raw.tps(), rest.tps() / raw.tps());
        println!("| latency p50 | {} ms | {} ms | |", rest.pct(0.5), raw.pct(0.5));
        println!("| latency p99 | {} ms | {} ms | |", rest.pct(0.99), raw.pct(0.99));
        println!(
            "| CPU per tx: gateway / client (first runs) | {:.2} / {:.2} ms | – / {:.2} ms | |",
            per_tx(g1 - g0),
            per_tx(m1 - m0),
            per_tx(m2 - m1)
        );
        println!();
    }
    if only == "records" {
        return;
    }

    // Files: REST against direct S3 on the same RGW.
    let file_len = knob("FILE_MIB", 1024) << 20;
    let s3 = match std::env::var("SVCFLOW_S3_ENDPOINT") {
        Ok(endpoint) => S3Store::new(&S3Config {
            endpoint,
            region: std::env::var("SVCFLOW_S3_REGION").unwrap_or_else(|_| "default".into()),
            bucket: std::env::var("SVCFLOW_S3_BUCKET").expect("SVCFLOW_S3_BUCKET"),
            access_key: std::env::var("SVCFLOW_S3_ACCESS_KEY").expect("SVCFLOW_S3_ACCESS_KEY"),
            secret_key: std::env::var("SVCFLOW_S3_SECRET_KEY").expect("SVCFLOW_S3_SECRET_KEY"),
            parts_in_flight: 4,
            request_timeout: Duration::from_secs(60),
        })
        .expect("s3"),
        Err(_) => {
            eprintln!("SVCFLOW_S3_* not set: eval \"$(fabric-network/ceph.sh env)\" for the file comparison");
            std::process::exit(2)
        }
    };
    let t = Instant::now();
    let mut direct = tokio_util::io::StreamReader::new(body_stream(file_len));
    s3.put(&format!("bench/{project}/direct"), &mut direct).await.expect("direct put");
    let s3_put = t.elapsed();
    let t = Instant::now();
    let mut got = 0u64;
    let mut st = s3.get(&format!("bench/{project}/direct")).await.expect("direct get");
    while let Some(b) = st.next().await {
        got += b.expect("direct get").len() as u64;
    }
    let s3_get = t.elapsed();
    assert_eq!(got, file_len);
    let t = Instant::now();
    // Every object this run stores is removed at its end (directly in RGW: anchored files have no
    // delete), so repeated runs do not fill the cluster.
    let mut stored = vec![upload(&client, &project, "big", file_len).await.expect("REST upload")];
    let rest_put = t.elapsed();
    let t = Instant::now();
    let r = client.get(format!("{GW}/v1/projects/{project}/phases/P/files/big/content")).send().await.expect("REST download");
    assert_eq!(r.status().as_u16(), 200);
    let mut got = 0u64;
    let mut st = r.bytes_stream();
    while let Some(b) = st.next().await {
        got += b.expect("REST download").len() as u64;
    }
    let rest_get = t.elapsed();
    assert_eq!(got, file_len);
    let _ = s3.delete(&format!("bench/{project}/direct")).await;
    println!(
        "| {} MiB file, one at a time | REST gateway (hash + encrypt + anchor / verify + decrypt) | direct S3 to the same RGW | REST / S3 |",
        file_len >> 20
    );
    println!("|---|---|---|---|");
    println!(
        "| upload | {:.0} MiB/s | {:.0} MiB/s | {:.2} |",
        mib_s(file_len, rest_put),
        mib_s(file_len, s3_put),
        s3_put.as_secs_f64() / rest_put.as_secs_f64()
    );
    println!(
        "| download | {:.0} MiB/s | {:.0} MiB/s | {:.2} |",
        mib_s(file_len, rest_get),
        mib_s(file_len, s3_get),
        s3_get.as_secs_f64() / rest_get.as_secs_f64()
    );
    println!();

    // Peak RSS of Org1's gateway during concurrent uploads.
    let uploads = knob("UPLOADS", 8) as usize;
    let upload_len = knob("UPLOAD_MIB", 1024) << 20;
    let pid = gateway_pid();
    let before = rss_kib(pid);
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let t = Instant::now();
    let jobs: Vec<_> = (0..uploads)
        .map(|i| {
            let client = client.clone();
            let project = project.clone();
            tokio::spawn(async move { upload(&client, &project, &format!("c{i}.bin"), upload_len).await })
        })
        .collect();
    let mut ok = 0;
    for j in jobs {
        if let Ok(Some(key)) = j.await {
            stored.push(key);
            ok += 1;
        }
    }
    let took = t.elapsed();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    println!("| {uploads} concurrent {} MiB uploads through Org1's gateway | value |", upload_len >> 20);
    println!("|---|---|");
    println!("| uploaded / failed | {ok} / {} |", uploads - ok);
    for key in &stored {
        let _ = s3.delete(key).await;
    }
    println!("| aggregate throughput | {:.0} MiB/s |", mib_s(upload_len * ok as u64, took));
    println!("| gateway RSS before | {} MiB |", before / 1024);
    println!("| gateway peak RSS during | {} MiB |", peak.load(Ordering::Relaxed) / 1024);
}
