#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a failed unwrap is a failed run
//! What a committed transaction costs: CPU of every process of the network (each peer, the
//! orderers, the chaincode servers, the gateways) and of this client, per committed transaction,
//! beside throughput and p50/p99 latency. Two writes: a public one (`CreateProject`, endorsed by a
//! majority of orgs) and a private one (`PutRecord` on an {Org1, Org2} phase). Two paths: raw (the
//! `fabric-gateway` crate as Org1 User1 through peer0.org1) and REST (Org1's gateway, as the same
//! user). Each at 1, 50 and 200 transactions in flight.
//!
//! CPU is read from /proc (utime + stime of each process, every thread) before and after each
//! run, so only what that run made the processes do counts; the machine should be otherwise
//! idle. Prints a Markdown table; writes `<OUT>/cost-<LABEL>.csv` (every process apart) and two
//! SVG plots (throughput and network CPU per transaction against in flight).
//!
//!     fabric-network/network.sh up
//!     LABEL=baseline cargo bench -p svcflow-gateway --bench cost
//!
//! Knobs: N (1000 transactions a run), N1 (100 at 1 in flight), INFLIGHTS ("1,50,200"),
//! ONLY (public | private | raw | rest: one of each pair), LABEL (run), OUT (docs/bench).

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use support::{chart, clock_ticks, cpu_ticks, drive, knob, network_pids, raw_contract, rest_client, root, submit, Run, GW};
use svcflow_model::call::PhaseRef;
use svcflow_model::ids::{PhaseId, ProjectId, RecordId};
use svcflow_model::project::NewProject;
use svcflow_model::transient::NewRecord;
use svcflow_model::Call;

#[derive(Clone, Copy, PartialEq)]
enum Write {
    Public,
    Private,
}

#[derive(Clone, Copy, PartialEq)]
enum Path {
    Raw,
    Rest,
}

impl Write {
    fn label(self) -> &'static str {
        match self {
            Write::Public => "CreateProject (public)",
            Write::Private => "PutRecord ({Org1, Org2})",
        }
    }
}
impl Write {
    /// The write's name in the CSV.
    fn key(self) -> &'static str {
        match self {
            Write::Public => "public",
            Write::Private => "private",
        }
    }
}
impl Path {
    fn label(self) -> &'static str {
        match self {
            Path::Raw => "raw",
            Path::Rest => "REST",
        }
    }
}

/// One measured run: its timings and the CPU ticks each process spent in it.
struct Measured {
    write: Write,
    path: Path,
    inflight: usize,
    run: Run,
    ticks: BTreeMap<String, u64>,
}

impl Measured {
    /// In flight, committed, failed, tx/s, p50 and p99 (ms): the columns the table and the CSV share.
    fn timing(&self) -> [String; 6] {
        let r = &self.run;
        [
            self.inflight.to_string(),
            r.lat.len().to_string(),
            r.failed.to_string(),
            format!("{:.0}", r.tps()),
            r.pct(0.5).to_string(),
            r.pct(0.99).to_string(),
        ]
    }
    /// Milliseconds of CPU per committed transaction of the processes `pick` selects.
    fn ms_per_tx(&self, tick_ms: f64, pick: impl Fn(&str) -> bool) -> f64 {
        let t: u64 = self.ticks.iter().filter(|(n, _)| pick(n)).map(|(_, t)| t).sum();
        t as f64 * tick_ms / self.run.lat.len().max(1) as f64
    }
}

/// The processes of a network total: peers, orderers and chaincode servers (not gateways, not
/// the client).
fn network_part(name: &str) -> bool {
    name.starts_with("peer") || name.starts_with("orderer") || name.starts_with("chaincode")
}

fn snapshot(pids: &BTreeMap<String, u32>) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = pids.iter().map(|(n, p)| (n.clone(), cpu_ticks(*p))).collect();
    out.insert("client".into(), cpu_ticks(std::process::id()));
    out
}

fn job(
    write: Write,
    path: Path,
    tag: String,
    project: String,
    client: reqwest::Client,
    contract: Arc<fabric_gateway::Contract>,
) -> impl Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> {
    move |i: usize| {
        let (client, contract, project, tag) = (client.clone(), contract.clone(), project.clone(), tag.clone());
        Box::pin(async move {
            let doc = format!(r#"{{"i":{i},"note":"what a transaction costs"}}"#);
            match (write, path) {
                (Write::Public, Path::Rest) => {
                    let body = format!(r#"{{"id":"{tag}-{i}","name":"cost"}}"#);
                    matches!(client.post(format!("{GW}/v1/projects")).body(body).send().await, Ok(r) if r.status().is_success())
                }
                (Write::Private, Path::Rest) => {
                    let url = format!("{GW}/v1/projects/{project}/phases/P/records/{tag}-{i}");
                    matches!(client.put(url).body(doc).send().await, Ok(r) if r.status().is_success())
                }
                (Write::Public, Path::Raw) => {
                    let id = ProjectId::new(format!("{tag}-{i}")).expect("a valid project id");
                    let call = Call::CreateProject(NewProject { id, name: "cost".into(), description: String::new() });
                    submit(&contract, &call).await
                }
                (Write::Private, Path::Raw) => {
                    let at = PhaseRef {
                        project: ProjectId::new(project).expect("a valid project id"),
                        phase: PhaseId::new("P").expect("a valid phase id"),
                    };
                    let record = NewRecord { id: RecordId::new(format!("{tag}-{i}")).expect("a valid record id"), document: doc.into_bytes() };
                    submit(&contract, &Call::PutRecord(at, record)).await
                }
            }
        })
    }
}

#[tokio::main]
async fn main() {
    let n = knob("N", 1000) as usize;
    let n1 = knob("N1", 100) as usize;
    let inflights: Vec<usize> =
        std::env::var("INFLIGHTS").unwrap_or_else(|_| "1,50,200".into()).split(',').filter_map(|s| s.trim().parse().ok()).collect();
    let only = std::env::var("ONLY").unwrap_or_default();
    let label = std::env::var("LABEL").unwrap_or_else(|_| "run".into());
    let out = std::env::var("OUT").map(PathBuf::from).unwrap_or_else(|_| root().join("docs/bench"));
    let tick_ms = 1000.0 / clock_ticks();
    let client = rest_client();
    let contract = raw_contract().await;
    let run_id = format!("cost{}", std::process::id());

    // The private writes' project and {Org1, Org2} phase, made through REST.
    let r = client.post(format!("{GW}/v1/projects")).body(format!(r#"{{"id":"{run_id}","name":"cost"}}"#)).send().await.expect("create project");
    assert!(r.status().is_success(), "create project: {}", r.text().await.unwrap_or_default());
    let r = client
        .post(format!("{GW}/v1/projects/{run_id}/phases"))
        .body(r#"{"id":"P","name":"cost","participants":[{"msp_id":"Org1MSP"},{"msp_id":"Org2MSP"}]}"#)
        .send()
        .await
        .expect("add phase");
    assert!(r.status().is_success(), "add phase: {}", r.text().await.unwrap_or_default());

    let writes: Vec<Write> = [Write::Public, Write::Private]
        .into_iter()
        .filter(|w| only.is_empty() || only == "raw" || only == "rest" || (only == "public") == (*w == Write::Public))
        .collect();
    let paths: Vec<Path> = [Path::Raw, Path::Rest]
        .into_iter()
        .filter(|p| only.is_empty() || only == "public" || only == "private" || (only == "raw") == (*p == Path::Raw))
        .collect();

    // Warm every path up (connections, chaincode, caches) before anything is measured.
    for &w in &writes {
        for &p in &paths {
            drive(40, 20, job(w, p, format!("{run_id}-warm-{}", p.label()), run_id.clone(), client.clone(), contract.clone())).await;
        }
    }
    let pids = network_pids();
    let mut results: Vec<Measured> = Vec::new();
    for &inflight in &inflights {
        for &w in &writes {
            for &p in &paths {
                let count = if inflight == 1 { n1 } else { n };
                let tag = format!("{run_id}-{}-{inflight}-{}", p.label(), if w == Write::Public { "pub" } else { "prv" });
                let before = snapshot(&pids);
                let run = drive(count, inflight, job(w, p, tag, run_id.clone(), client.clone(), contract.clone())).await;
                let after = snapshot(&pids);
                let ticks = after.iter().map(|(k, v)| (k.clone(), v.saturating_sub(before.get(k).copied().unwrap_or(0)))).collect();
                eprintln!("{} {} at {inflight}: {} committed, {} failed, {:.0} tx/s", w.label(), p.label(), run.lat.len(), run.failed, run.tps());
                results.push(Measured { write: w, path: p, inflight, run, ticks });
            }
        }
    }

    // The table: per run, throughput and latency, then CPU per committed transaction.
    let peers: Vec<&String> = pids.keys().filter(|k| k.starts_with("peer")).collect();
    let mut head = "| write | path | in flight | committed / failed | tx/s | p50 ms | p99 ms |".to_owned();
    for p in &peers {
        head += &format!(" {p} |");
    }
    head += " orderers | chaincode servers | gateways | client | **network** | all |";
    println!("CPU in ms per committed transaction ({label}; clock tick {tick_ms} ms)\n");
    println!("{head}");
    println!("{}", "|---".repeat(head.matches('|').count() - 1) + "|");
    for m in &results {
        let [inflight, committed, failed, tps, p50, p99] = m.timing();
        let mut line = format!("| {} | {} | {inflight} | {committed} / {failed} | {tps} | {p50} | {p99} |", m.write.label(), m.path.label());
        for p in &peers {
            line += &format!(" {:.2} |", m.ms_per_tx(tick_ms, |n| n == p.as_str()));
        }
        line += &format!(
            " {:.2} | {:.2} | {:.2} | {:.2} | **{:.2}** | {:.2} |",
            m.ms_per_tx(tick_ms, |n| n.starts_with("orderer")),
            m.ms_per_tx(tick_ms, |n| n.starts_with("chaincode")),
            m.ms_per_tx(tick_ms, |n| n.starts_with("gateway")),
            m.ms_per_tx(tick_ms, |n| n == "client"),
            m.ms_per_tx(tick_ms, network_part),
            m.ms_per_tx(tick_ms, |_| true),
        );
        println!("{line}");
    }

    // CSV with every process apart, and the plots.
    std::fs::create_dir_all(&out).expect("output dir");
    let names: Vec<String> = results.first().map(|m| m.ticks.keys().cloned().collect()).unwrap_or_default();
    let mut csv = format!(
        "label,write,path,inflight,committed,failed,tps,p50_ms,p99_ms,{}\n",
        names.iter().map(|n| format!("{n}_ms_per_tx")).collect::<Vec<_>>().join(",")
    );
    for m in &results {
        let cpu: Vec<String> = names.iter().map(|n| format!("{:.3}", m.ms_per_tx(tick_ms, |x| x == n))).collect();
        let mut timing = m.timing();
        // The CSV keeps a decimal of throughput.
        timing[3] = format!("{:.1}", m.run.tps());
        let _ = writeln!(csv, "{label},{},{},{},{}", m.write.key(), m.path.label(), timing.join(","), cpu.join(","));
    }
    let csv_path = out.join(format!("cost-{label}.csv"));
    std::fs::write(&csv_path, csv).expect("write csv");
    let mut tps_series = Vec::new();
    let mut cpu_series = Vec::new();
    for &w in &writes {
        for &p in &paths {
            let of = |f: &dyn Fn(&Measured) -> f64| -> Vec<f64> {
                inflights.iter().map(|i| results.iter().find(|m| m.write == w && m.path == p && m.inflight == *i).map(f).unwrap_or(0.0)).collect()
            };
            let name = format!("{} {}", if w == Write::Public { "public" } else { "PutRecord" }, p.label());
            tps_series.push((name.clone(), of(&|m| m.run.tps())));
            cpu_series.push((name, of(&|m| m.ms_per_tx(tick_ms, network_part))));
        }
    }
    let tps_path = out.join(format!("cost-{label}-throughput.svg"));
    std::fs::write(&tps_path, chart(&format!("Committed tx/s ({label})"), "transactions in flight", "tx/s", &inflights, &tps_series))
        .expect("write svg");
    let cpu_path = out.join(format!("cost-{label}-cpu.svg"));
    std::fs::write(
        &cpu_path,
        chart(&format!("Network CPU per committed tx ({label})"), "transactions in flight", "ms of CPU", &inflights, &cpu_series),
    )
    .expect("write svg");
    println!("\nwritten: {}, {}, {}", csv_path.display(), tps_path.display(), cpu_path.display());
}
