//! What the benchmarks share: where the network's files are, the clients (REST as Org1 User1,
//! the raw `fabric-gateway` crate as the same user through peer0.org1), a driver that runs jobs
//! with a number in flight, and /proc readings (CPU ticks, RSS) of the network's processes.
#![allow(dead_code)] // each bench uses part of it

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fabric_gateway::{Contract, EcdsaP256Signer, Gateway, Identity};
use tokio::sync::Semaphore;

const ORG1: &str = "org1.svcflow.local";

/// The checkout whose network the benches drive: this one, or `SVCFLOW_ROOT` (tests/bench_cost.sh
/// points it at an older commit's worktree to measure that code with this bench).
pub fn root() -> PathBuf {
    std::env::var_os("SVCFLOW_ROOT").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."))
}
pub fn user_dir(rel: &str) -> PathBuf {
    root().join("crypto-config/peerOrganizations").join(ORG1).join("users/User1@org1.svcflow.local").join(rel)
}
pub fn first_file(dir: PathBuf) -> PathBuf {
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (is the network up? fabric-network/network.sh up)", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .next()
        .unwrap_or_else(|| panic!("{} is empty", dir.display()))
}
pub fn knob(k: &str, d: u64) -> u64 {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

pub fn rest_client() -> reqwest::Client {
    let id = reqwest::Identity::from_pkcs8_pem(
        &std::fs::read(user_dir("tls/client.crt")).expect("cert"),
        &std::fs::read(user_dir("tls/client.key")).expect("key"),
    )
    .expect("client identity");
    let ca = reqwest::Certificate::from_pem(
        &std::fs::read(root().join("fabric-network/.state/gateway/org1/tls/ca.crt")).expect("gateway CA (network.sh up)"),
    )
    .expect("ca");
    // Bodies go as JSON unless a request names its type (an upload's).
    let json =
        reqwest::header::HeaderMap::from_iter([(reqwest::header::CONTENT_TYPE, reqwest::header::HeaderValue::from_static("application/json"))]);
    reqwest::Client::builder().identity(id).add_root_certificate(ca).default_headers(json).pool_max_idle_per_host(256).build().expect("client")
}

pub const GW: &str = "https://127.0.0.1:7443";

#[derive(Default)]
pub struct Run {
    pub lat: Vec<Duration>,
    pub failed: usize,
    pub took: Duration,
}

impl Run {
    pub fn pct(&self, p: f64) -> u128 {
        self.lat.get(((self.lat.len().max(1) - 1) as f64 * p) as usize).map(|d| d.as_millis()).unwrap_or(0)
    }
    pub fn tps(&self) -> f64 {
        self.lat.len() as f64 / self.took.as_secs_f64()
    }
}

/// Runs `n` jobs with `inflight` at once, timing each.
pub async fn drive<F, Fut>(n: usize, inflight: usize, job: F) -> Run
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let sem = Arc::new(Semaphore::new(inflight));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let permit = sem.clone().acquire_owned().await.expect("semaphore");
        let fut = job(i);
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let t = Instant::now();
            let ok = fut.await;
            (t.elapsed(), ok)
        }));
    }
    let mut run = Run::default();
    for t in tasks {
        match t.await {
            Ok((d, true)) => run.lat.push(d),
            _ => run.failed += 1,
        }
    }
    run.took = started.elapsed();
    run.lat.sort();
    run
}

pub fn gateway_pid() -> u32 {
    *network_pids().get("gateway.org1").expect("gateway.org1 pid (network.sh up)")
}

/// utime + stime of a process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    stat_pair(pid, 11)
}

/// CPU ticks (user + system) of `pid`'s children that it has waited for.
pub fn children_ticks(pid: u32) -> u64 {
    stat_pair(pid, 13)
}

/// The sum of two adjacent numbers of /proc/PID/stat, counted from the field after the command.
fn stat_pair(pid: u32, at: usize) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ") ".
    let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    f.get(at).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0) + f.get(at + 1).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// The svcflow contract through peer0.org1's Fabric Gateway service, as Org1 User1.
pub async fn raw_contract() -> Arc<Contract> {
    // Raw fabric-gateway client, as the same user, through the same peer.
    let cert = std::fs::read(first_file(user_dir("msp/signcerts"))).expect("cert");
    let key = std::fs::read_to_string(first_file(user_dir("msp/keystore"))).expect("key");
    let ca =
        std::fs::read(root().join("crypto-config/peerOrganizations").join(ORG1).join("peers/peer0.org1.svcflow.local/tls/ca.crt")).expect("tls ca");
    let tls = tonic_gw::transport::ClientTlsConfig::new().ca_certificate(tonic_gw::transport::Certificate::from_pem(ca)).domain_name("localhost");
    let channel =
        tonic_gw::transport::Channel::from_static("https://127.0.0.1:7051").tls_config(tls).expect("tls").connect().await.expect("peer0.org1");
    let gateway =
        Gateway::connect(Identity::new("Org1MSP", cert), Arc::new(EcdsaP256Signer::from_pem(&key).expect("signer")), channel).expect("gateway");
    Arc::new(gateway.get_network("svcflow").get_contract("svcflow"))
}

/// Every process the network runs (by its PID file under fabric-network/.state/pids), by name.
pub fn network_pids() -> BTreeMap<String, u32> {
    let dir = root().join("fabric-network/.state/pids");
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e} (network.sh up)", dir.display())).flatten() {
        let path = e.path();
        let (Some(name), Some(pid)) = (
            path.file_stem().and_then(|s| s.to_str()).map(str::to_owned),
            std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse::<u32>().ok()),
        ) else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            out.insert(name, pid);
        }
    }
    out
}

/// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on Linux).
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// A line chart as SVG; x positions are the `xs` values, evenly spaced (the benches step them
/// by factors, so an even spacing reads as a log scale).
pub fn chart(title: &str, x_label: &str, y_label: &str, xs: &[usize], series: &[(String, Vec<f64>)]) -> String {
    let (w, h, left, right, top, bottom) = (640.0, 380.0, 70.0, 190.0, 40.0, 50.0);
    let ymax = series.iter().flat_map(|(_, v)| v.iter().copied()).fold(0.0_f64, f64::max).max(1e-9) * 1.1;
    let x = |i: usize| left + (w - left - right) * if xs.len() > 1 { i as f64 / (xs.len() - 1) as f64 } else { 0.5 };
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / ymax);
    let colours = ["#1f6feb", "#8250df", "#bf3989", "#0a7e6e", "#9a6700", "#cf222e"];
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="{left}" y="22" font-size="14" font-weight="bold">{title}</text>"#
    );
    for k in 0..=4 {
        let v = ymax * k as f64 / 4.0;
        let (x2, yv, tx, ty) = (w - right, y(v), left - 6.0, y(v) + 4.0);
        let _ =
            write!(s, r##"<line x1="{left}" x2="{x2}" y1="{yv}" y2="{yv}" stroke="#ddd"/><text x="{tx}" y="{ty}" text-anchor="end">{v:.1}</text>"##);
    }
    for (i, xv) in xs.iter().enumerate() {
        let _ = write!(s, r#"<text x="{}" y="{}" text-anchor="middle">{xv}</text>"#, x(i), h - bottom + 18.0);
    }
    let _ = write!(s, r#"<text x="{}" y="{}" text-anchor="middle">{x_label}</text>"#, (left + w - right) / 2.0, h - 10.0);
    let _ = write!(s, r#"<text x="16" y="{}" transform="rotate(-90 16 {0})" text-anchor="middle">{y_label}</text>"#, (top + h - bottom) / 2.0);
    for (k, (name, vals)) in series.iter().enumerate() {
        let c = colours[k % colours.len()];
        let pts: Vec<String> = vals.iter().enumerate().map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v))).collect();
        let _ = write!(s, r#"<polyline fill="none" stroke="{c}" stroke-width="2" points="{}"/>"#, pts.join(" "));
        for (i, v) in vals.iter().enumerate() {
            let _ = write!(s, r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{c}"/>"#, x(i), y(*v));
        }
        let ly = top + 10.0 + 20.0 * k as f64;
        let _ = write!(
            s,
            r#"<rect x="{}" y="{}" width="12" height="3" fill="{c}"/><text x="{}" y="{}">{name}</text>"#,
            w - right + 12.0,
            ly - 4.0,
            w - right + 30.0,
            ly
        );
    }
    s + "</svg>\n"
}

/// The orgs of the benches' private phases, {Org1, Org2}: a private write names them as its
/// endorsers, as any client of a phase of per-org copies must (Fabric's gateway would pick only
/// orgs that are members of every collection written, and each copy has one member).
pub const PHASE_ORGS: [&str; 2] = ["Org1MSP", "Org2MSP"];

/// Submits `call` through `contract` and waits for its commit; whether it committed valid (a
/// failure's reason goes to stderr). A private write is endorsed by [`PHASE_ORGS`].
pub async fn submit(contract: &Contract, call: &svcflow_model::Call) -> bool {
    let (Ok(arg), Ok(transient)) = (call.argument(), call.transient()) else { return false };
    let res = async {
        let mut proposal = contract.new_proposal(call.name()).with_arguments([arg]).with_transient(transient);
        if call.private_phase().is_some() {
            proposal = proposal.with_endorsing_organizations(PHASE_ORGS.map(str::to_owned));
        }
        let commit = proposal.build()?.endorse().await?.submit().await?;
        commit.status().await
    }
    .await;
    match res {
        Ok(s) => s.successful,
        Err(e) => {
            eprintln!("{}: {e}", call.name());
            false
        }
    }
}
