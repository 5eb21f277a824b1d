#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a failed unwrap is a failed test
//! Off-chain store benchmark: sealed (hash + encrypt) PUT/GET through the storage module against a
//! direct S3 PUT/GET of the same file to the same RGW, and against `dd` on the same disk; peak
//! RSS during a sealed upload. Prints a Markdown table.
//!
//!     eval "$(fabric-network/ceph.sh env)"
//!     cargo bench -p svcflow-gateway --bench storage            # SVCFLOW_BENCH_MIB=1024 by default

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use svcflow_gateway::storage::s3::{S3Config, S3Store};
use svcflow_gateway::storage::sealed::{self, DataKey, Expect};
use svcflow_gateway::storage::{ByteStream, ObjectStore};

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| {
        eprintln!("{k} is not set: run `fabric-network/ceph.sh up` and `eval \"$(fabric-network/ceph.sh env)\"`");
        std::process::exit(2)
    })
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

fn mib_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / d.as_secs_f64()
}

/// Runs `dd` and returns its throughput in MiB/s (from the elapsed time we measure ourselves).
fn dd(args: &[&str], bytes: u64) -> f64 {
    let t = Instant::now();
    let out = Command::new("dd").args(args).output();
    match out {
        Ok(o) if o.status.success() => mib_s(bytes, t.elapsed()),
        Ok(o) => panic!("dd {args:?}: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => panic!("dd: {e}"),
    }
}

async fn drain(mut s: ByteStream) -> u64 {
    let mut n = 0;
    while let Some(b) = s.next().await {
        n += b.expect("read").len() as u64;
    }
    n
}

#[tokio::main]
async fn main() {
    let mib: u64 = std::env::var("SVCFLOW_BENCH_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let bytes = mib << 20;
    let cfg = S3Config {
        endpoint: env("SVCFLOW_S3_ENDPOINT"),
        region: std::env::var("SVCFLOW_S3_REGION").unwrap_or_else(|_| "default".into()),
        bucket: env("SVCFLOW_S3_BUCKET"),
        access_key: env("SVCFLOW_S3_ACCESS_KEY"),
        secret_key: env("SVCFLOW_S3_SECRET_KEY"),
        parts_in_flight: 4,
        request_timeout: Duration::from_secs(60),
        phases: None,
    };
    let store = S3Store::new(&cfg).expect("S3 store");
    // The source file sits on the same disk as the Ceph OSD's block file.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fabric-network/.state/bench");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let file = dir.join("source.bin");
    let of = format!("of={}", file.display());
    let iff = format!("if={}", file.display());
    let count = format!("count={}", mib / 8);
    // Incompressible data: dd from urandom writes the source file (not timed).
    dd(&["if=/dev/urandom", &of, "bs=8M", &count, "status=none"], bytes);
    let dd_write = dd(&["if=/dev/zero", &format!("of={}.dd", file.display()), "bs=8M", &count, "conv=fdatasync", "status=none"], bytes);
    let _ = std::fs::remove_file(format!("{}.dd", file.display()));
    let dd_read = dd(&[&iff, "of=/dev/null", "bs=8M", "iflag=direct", "status=none"], bytes);

    let key = DataKey::new([5u8; 32]);
    let hwm_before = vm_hwm_kib();
    let t = Instant::now();
    let mut src = tokio::fs::File::open(&file).await.expect("open source");
    let sealed = sealed::put(&store, "bench/sealed", &key, &mut src).await.expect("sealed put");
    let sealed_put = mib_s(bytes, t.elapsed());
    let hwm_sealed = vm_hwm_kib();

    let t = Instant::now();
    let mut src = tokio::fs::File::open(&file).await.expect("open source");
    store.put("bench/direct", &mut src).await.expect("direct put");
    let direct_put = mib_s(bytes, t.elapsed());

    let t = Instant::now();
    let n = drain(store.get("bench/direct").await.expect("direct get")).await;
    let direct_get = mib_s(n, t.elapsed());

    let t = Instant::now();
    let expect = Expect { sha256: sealed.sha256.clone(), size: sealed.size };
    let n = drain(sealed::get(&store, "bench/sealed", DataKey::new([5u8; 32]), expect).await.expect("sealed get")).await;
    assert_eq!(n, bytes);
    let sealed_get = mib_s(n, t.elapsed());

    let _ = store.delete("bench/sealed").await;
    let _ = store.delete("bench/direct").await;
    let _ = std::fs::remove_file(&file);

    println!("| measure ({mib} MiB file, RGW on 127.0.0.1, 4 parts in flight) | value |");
    println!("|---|---|");
    println!("| PUT sealed (SHA-256 + AES-256-GCM + multipart) | {sealed_put:.0} MiB/s |");
    println!("| PUT direct S3 (same file, same client, no sealing) | {direct_put:.0} MiB/s |");
    println!("| PUT ratio sealed / direct | {:.2} |", sealed_put / direct_put);
    println!("| GET sealed (decrypt + verify) | {sealed_get:.0} MiB/s |");
    println!("| GET direct S3 | {direct_get:.0} MiB/s |");
    println!("| GET ratio sealed / direct | {:.2} |", sealed_get / direct_get);
    println!("| dd write to the same disk (bs=8M, fdatasync) | {dd_write:.0} MiB/s |");
    println!("| dd read from the same disk (bs=8M, O_DIRECT) | {dd_read:.0} MiB/s |");
    println!("| PUT sealed / dd write | {:.2} |", sealed_put / dd_write);
    println!(
        "| peak RSS of this process after the sealed {mib} MiB upload (VmHWM) | {} MiB (before: {} MiB) |",
        hwm_sealed / 1024,
        hwm_before / 1024
    );
}
