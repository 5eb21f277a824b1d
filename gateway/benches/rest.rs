#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a failed unwrap is a failed test
//! The REST gateway against the raw clients on the same network and the same RGW:
//! - PutRecord through REST (HTTPS + client cert → gateway → Fabric) against the raw
//!   `fabric-gateway` crate driving the same function as the same user: throughput, p50/p99;
//! - a file upload and download through REST against a direct S3 PUT/GET of the same bytes, with
//!   the CPU per MiB of each process (gateway, RGW, OSDs, client) and of the gateway's stages;
//!   then the download again with curl as the client of both paths (REST, and a presigned GET of
//!   the same stored object), where curl is installed;
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

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use support::{children_ticks, clock_ticks, cpu_ticks, drive, gateway_pid, knob, raw_contract, rest_client, root, rss_kib, user_dir, Run, GW};
use svcflow_gateway::storage::s3::{S3Config, S3Store};
use svcflow_gateway::storage::ObjectStore;
use svcflow_model::call::PhaseRef;
use svcflow_model::ids::{PhaseId, ProjectId, RecordId};
use svcflow_model::transient::NewRecord;
use svcflow_model::Call;

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

/// The processes a file transfer keeps busy.
struct Procs {
    gateway: u32,
    rgw: Vec<u32>,
    osd: Vec<u32>,
}

/// CPU ticks of each group at the start of a transfer.
struct Mark {
    at: Instant,
    ticks: [u64; 4],
}

/// One transfer: MiB/s and CPU ms per MiB of each group.
#[derive(Default)]
struct Transfer {
    mib_s: f64,
    gateway: f64,
    rgw: f64,
    osd: f64,
    client: f64,
}

impl Transfer {
    /// Keeps the faster of two runs.
    fn keep(&mut self, t: Transfer) {
        if t.mib_s > self.mib_s {
            *self = t;
        }
    }
}

impl Procs {
    fn find() -> Self {
        Procs { gateway: gateway_pid(), rgw: pids_named("radosgw"), osd: pids_named("ceph-osd") }
    }
    fn ticks(&self) -> [u64; 4] {
        let sum = |pids: &[u32]| pids.iter().map(|&p| cpu_ticks(p)).sum::<u64>();
        let me = std::process::id();
        [cpu_ticks(self.gateway), sum(&self.rgw), sum(&self.osd), cpu_ticks(me) + children_ticks(me)]
    }
    fn measure(&self) -> Mark {
        Mark { at: Instant::now(), ticks: self.ticks() }
    }
}

impl Mark {
    fn done(self, procs: &Procs, mib: f64) -> Transfer {
        let took = self.at.elapsed();
        let now = procs.ticks();
        let per_mib = |i: usize| (now[i] - self.ticks[i]) as f64 * 1000.0 / clock_ticks() / mib;
        Transfer { mib_s: mib / took.as_secs_f64(), gateway: per_mib(0), rgw: per_mib(1), osd: per_mib(2), client: per_mib(3) }
    }
}

/// Downloads `url` with curl to /dev/null (`tls`: its client certificate and CA, for REST): the
/// faster of two, with the CPU per MiB of each process; curl's CPU is the client's. `None` (the
/// reason on stderr) without curl or when a download fails.
fn curl_get(procs: &Procs, url: &str, tls: &[std::path::PathBuf]) -> Option<Transfer> {
    let mut best = Transfer::default();
    for _ in 0..2 {
        let mut cmd = std::process::Command::new("curl");
        cmd.args(["-sS", "--fail", "-o", "/dev/null", "-w", "%{size_download}"]);
        if let [cert, key, ca] = tls {
            cmd.arg("--cert").arg(cert).arg("--key").arg(key).arg("--cacert").arg(ca);
        }
        let m = procs.measure();
        let out = cmd.arg(url).output().map_err(|e| eprintln!("curl: {e}")).ok()?;
        if !out.status.success() {
            eprintln!("curl {}: {}", out.status, String::from_utf8_lossy(&out.stderr));
            return None;
        }
        let bytes: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
        best.keep(m.done(procs, bytes / (1 << 20) as f64));
    }
    Some(best)
}

/// Processes whose command name is `comm`.
fn pids_named(comm: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm))
        .collect()
}

/// CPU ms per MiB of the gateway's hash and cipher, on 64 chunks of 1 MiB like a sealed object's:
/// (SHA-256, AES-256-GCM seal, AES-256-GCM open).
fn stage_costs() -> (f64, f64, f64) {
    use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
    let mut chunk = vec![0u8; 1 << 20];
    openssl::rand::rand_bytes(&mut chunk).expect("random");
    let (key, nonce, aad) = ([7u8; 32], [9u8; 12], [1u8; 34]);
    let rounds = 64;
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..rounds {
            f();
        }
        t.elapsed().as_secs_f64() * 1000.0 / rounds as f64
    };
    let hash = time(&mut || {
        std::hint::black_box(openssl::sha::sha256(&chunk));
    });
    let mut tag = [0u8; 16];
    let mut sealed = Vec::new();
    let seal = time(&mut || {
        sealed = encrypt_aead(Cipher::aes_256_gcm(), &key, Some(&nonce), &aad, &chunk, &mut tag).expect("seal");
    });
    let open = time(&mut || {
        std::hint::black_box(decrypt_aead(Cipher::aes_256_gcm(), &key, Some(&nonce), &aad, &sealed, &tag).expect("open"));
    });
    (hash, seal, open)
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
            let at = PhaseRef {
                project: ProjectId::new(project.as_str()).expect("a valid project id"),
                phase: PhaseId::new("P").expect("a valid phase id"),
            };
            let record = NewRecord {
                id: RecordId::new(format!("{tag}{i}")).expect("a valid record id"),
                document: format!(r#"{{"i":{i},"note":"throughput"}}"#).into_bytes(),
            };
            let call = Call::PutRecord(at, record);
            async move {
                let (arg, transient) = (call.argument().expect("an encodable call"), call.transient().expect("an encodable call"));
                let res = async {
                    let commit =
                        contract.new_proposal(call.name()).with_arguments([arg]).with_transient(transient).build()?.endorse().await?.submit().await?;
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
    let s3_cfg = match std::env::var("SVCFLOW_S3_ENDPOINT") {
        Ok(endpoint) => S3Config {
            endpoint,
            region: std::env::var("SVCFLOW_S3_REGION").unwrap_or_else(|_| "default".into()),
            bucket: std::env::var("SVCFLOW_S3_BUCKET").expect("SVCFLOW_S3_BUCKET"),
            access_key: std::env::var("SVCFLOW_S3_ACCESS_KEY").expect("SVCFLOW_S3_ACCESS_KEY"),
            secret_key: std::env::var("SVCFLOW_S3_SECRET_KEY").expect("SVCFLOW_S3_SECRET_KEY"),
            parts_in_flight: 4,
            request_timeout: Duration::from_secs(60),
            phases: None,
        },
        Err(_) => {
            eprintln!("SVCFLOW_S3_* not set: eval \"$(fabric-network/ceph.sh env)\" for the file comparison");
            std::process::exit(2)
        }
    };
    let s3 = S3Store::new(&s3_cfg).expect("s3");
    // What `S3Store::put` was before it sent parts itself: rust-s3's own multipart stream, which
    // hashes each part with MD5 and SHA-256 (the before/after of that change, in this run).
    let crate_bucket = {
        let region = s3::Region::Custom { region: s3_cfg.region.clone(), endpoint: s3_cfg.endpoint.clone() };
        let creds = s3::creds::Credentials::new(Some(&s3_cfg.access_key), Some(&s3_cfg.secret_key), None, None, None).expect("creds");
        s3::Bucket::new(&s3_cfg.bucket, region, creds).expect("bucket").with_path_style()
    };
    let mut crate_put = Transfer::default();
    // Each transfer twice, the faster kept; CPU of every process that takes part, per MiB.
    let procs = Procs::find();
    let mib = (file_len >> 20) as f64;
    let direct_key = format!("bench/{project}/direct");
    let mut s3_put = Transfer::default();
    let mut s3_get = Transfer::default();
    let mut rest_put = Transfer::default();
    let mut rest_get = Transfer::default();
    // Every object this run stores is removed at its end (directly in RGW: anchored files have no
    // delete), so repeated runs do not fill the cluster.
    let mut stored = Vec::new();
    for round in 0..2 {
        let m = procs.measure();
        let mut direct = tokio_util::io::StreamReader::new(body_stream(file_len));
        s3.put(&direct_key, &mut direct).await.expect("direct put");
        s3_put.keep(m.done(&procs, mib));
        let m = procs.measure();
        let mut direct = tokio_util::io::StreamReader::new(body_stream(file_len));
        let r =
            crate_bucket.put_object_stream_builder(&direct_key).with_max_concurrent_chunks(4).execute_stream(&mut direct).await.expect("rust-s3 put");
        assert_eq!(r.status_code(), 200);
        crate_put.keep(m.done(&procs, mib));
        let m = procs.measure();
        let mut got = 0u64;
        let mut st = s3.get(&direct_key).await.expect("direct get");
        while let Some(b) = st.next().await {
            got += b.expect("direct get").len() as u64;
        }
        s3_get.keep(m.done(&procs, mib));
        assert_eq!(got, file_len);
        let name = format!("big{round}");
        let m = procs.measure();
        stored.push(upload(&client, &project, &name, file_len).await.expect("REST upload"));
        rest_put.keep(m.done(&procs, mib));
        let m = procs.measure();
        let r = client.get(format!("{GW}/v1/projects/{project}/phases/P/files/{name}/content")).send().await.expect("REST download");
        assert_eq!(r.status().as_u16(), 200);
        let mut got = 0u64;
        let mut st = r.bytes_stream();
        while let Some(b) = st.next().await {
            got += b.expect("REST download").len() as u64;
        }
        rest_get.keep(m.done(&procs, mib));
        assert_eq!(got, file_len);
    }
    // The same downloads with curl as the client of both paths, on the same stored object: REST
    // reads, opens and verifies it; direct S3 gets its sealed bytes on a presigned URL. (This
    // bench's own HTTPS client costs more CPU per MiB than curl, which the sums above include.)
    let sealed_key = stored.last().expect("a REST upload").clone();
    let by_curl = match crate_bucket.presign_get(&sealed_key, 600, None).await {
        Ok(direct_url) => {
            let tls = [user_dir("tls/client.crt"), user_dir("tls/client.key"), root().join("fabric-network/.state/gateway/org1/tls/ca.crt")];
            let rest_url = format!("{GW}/v1/projects/{project}/phases/P/files/big1/content");
            curl_get(&procs, &rest_url, &tls).zip(curl_get(&procs, &direct_url, &[]))
        }
        Err(e) => {
            eprintln!("presign GET {sealed_key}: {e}");
            None
        }
    };
    let _ = s3.delete(&direct_key).await;
    let (hash, seal, open) = stage_costs();
    println!("| {} MiB file, one at a time (faster of two) | REST gateway | direct S3 to the same RGW | REST / S3 |", file_len >> 20);
    println!("|---|---|---|---|");
    println!(
        "| upload (REST: hash + encrypt + store + anchor) | {:.0} MiB/s | {:.0} MiB/s | **{:.2}** |",
        rest_put.mib_s,
        s3_put.mib_s,
        rest_put.mib_s / s3_put.mib_s
    );
    println!(
        "| download (REST: read + decrypt + verify) | {:.0} MiB/s | {:.0} MiB/s | **{:.2}** |",
        rest_get.mib_s,
        s3_get.mib_s,
        rest_get.mib_s / s3_get.mib_s
    );
    println!();
    println!("CPU ms per MiB, by process (same transfers; RGW = radosgw, OSD = every ceph-osd; client = this bench, and curl below):");
    println!();
    println!("| transfer | MiB/s | gateway | RGW | OSD | client | all | all / wall (cores busy) |");
    println!("|---|---|---|---|---|---|---|---|");
    let rows = [
        ("REST upload", &rest_put),
        ("direct S3 upload", &s3_put),
        ("direct S3 upload, rust-s3's multipart (MD5 + SHA-256 per part; S3Store before)", &crate_put),
        ("REST download", &rest_get),
        ("direct S3 download", &s3_get),
    ];
    for (name, t) in rows {
        let all = t.gateway + t.rgw + t.osd + t.client;
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            t.mib_s,
            t.gateway,
            t.rgw,
            t.osd,
            t.client,
            all,
            all * t.mib_s / 1000.0
        );
    }
    println!();
    // The gateway's own stages: hash and cipher timed here on the same 1 MiB chunks; the S3 leg is
    // this bench's own CPU on the direct transfer (the same `S3Store` code); TLS is the rest
    // (TLS record cipher, the kernel's TCP both ways, copies, HTTP parsing).
    println!("The gateway's CPU ms per MiB by stage:");
    println!();
    println!("| transfer | TLS (in for upload, out for download) + HTTP + copies | hash (SHA-256) | cipher (AES-256-GCM) | S3 leg | gateway total |");
    println!("|---|---|---|---|---|---|");
    for (name, t, cipher, s3_leg) in [("upload", &rest_put, seal, s3_put.client), ("download", &rest_get, open, s3_get.client)] {
        let tls = (t.gateway - hash - cipher - s3_leg).max(0.0);
        println!("| {name} | {tls:.2} | {hash:.2} | {cipher:.2} | {s3_leg:.2} | {:.2} |", t.gateway);
    }
    println!();
    match &by_curl {
        Some((rest, direct)) => {
            println!("Downloads with curl as the client of both paths, the same stored object (faster of two):");
            println!();
            println!("| transfer | MiB/s | gateway | RGW | OSD | client (curl) | all | all / wall (cores busy) |");
            println!("|---|---|---|---|---|---|---|---|");
            for (name, t) in [("REST download (read + decrypt + verify)", rest), ("direct S3 download of the sealed object (presigned GET)", direct)]
            {
                let all = t.gateway + t.rgw + t.osd + t.client;
                println!(
                    "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {all:.2} | {:.2} |",
                    t.mib_s,
                    t.gateway,
                    t.rgw,
                    t.osd,
                    t.client,
                    all * t.mib_s / 1000.0
                );
            }
            println!("| REST / S3 | **{:.2}** | | | | | | |", rest.mib_s / direct.mib_s);
        }
        None => println!("(no curl comparison: see stderr)"),
    }
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
