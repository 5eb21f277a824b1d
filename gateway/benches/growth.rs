#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench: a failed unwrap is a failed run
//! How cost grows with what a project holds (issue 14), on the running network:
//! - phases of 100 / 1,000 / 10,000 records of 1 KiB (random: LevelDB compresses what repeats):
//!   REST list latency and page size (first page at the default and the largest page size, and a
//!   walk through every page);
//! - what each record costs the ledger on disk: blocks, private data, state and history of
//!   peer0.org1 (a member of the phase) and peer0.org3 (not a member: hashes only);
//! - the time a membership change takes to move a phase's data, by record count (Org3 joins);
//! - a project growing to 1,000 phases: reading the project and its phase list, and adding a
//!   phase without a position (the chaincode reads every phase to place it last).
//!
//! Prints Markdown tables; writes docs/bench/growth.csv and three SVG plots (OUT to change the
//! folder). Needs the network with its gateways (either store: records touch no object store):
//!
//!     fabric-network/network.sh up
//!     cargo bench -p svcflow-gateway --bench growth
//!
//! Knobs: SIZES (100,1000,10000), PHASES (1000), INFLIGHT (200), REPEAT (15 reads per figure).

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::{chart, drive, knob, raw_contract, rest_client, root, submit, GW};
use svcflow_model::call::PhaseRef;
use svcflow_model::ids::{PhaseId, ProjectId, RecordId};
use svcflow_model::transient::NewRecord;
use svcflow_model::Call;

/// Median wall time of `repeat` GETs of `url`, and the size of the last body.
async fn timed_get(client: &reqwest::Client, url: &str, repeat: usize) -> (f64, usize) {
    let mut times = Vec::with_capacity(repeat);
    let mut bytes = 0;
    for _ in 0..repeat {
        let t = Instant::now();
        let r = client.get(url).send().await.expect("GET");
        assert!(r.status().is_success(), "GET {url}: {}", r.status());
        bytes = r.bytes().await.expect("body").len();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], bytes)
}

/// Reads every page of `url` (a paginated list) at `page_size`: (ms, pages, items).
async fn walk(client: &reqwest::Client, url: &str, page_size: u32) -> (f64, usize, usize) {
    let t = Instant::now();
    let (mut bookmark, mut pages, mut items) = (String::new(), 0, 0);
    loop {
        let r = client.get(format!("{url}?page_size={page_size}&bookmark={bookmark}")).send().await.expect("GET page");
        assert!(r.status().is_success(), "GET {url}: {}", r.status());
        let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.expect("body")).expect("JSON page");
        pages += 1;
        items += v["items"].as_array().map_or(0, Vec::len);
        bookmark = v["bookmark"].as_str().unwrap_or_default().to_owned();
        if bookmark.is_empty() {
            return (t.elapsed().as_secs_f64() * 1000.0, pages, items);
        }
    }
}

/// Bytes under each of a peer's ledger stores.
fn ledger_bytes(peer: &str) -> [u64; 4] {
    let base = root().join(format!("fabric-network/.state/{peer}/production/ledgersData"));
    ["chains", "pvtdataStore", "stateLeveldb", "historyLeveldb"].map(|d| dir_bytes(&base.join(d)))
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

async fn post(client: &reqwest::Client, path: &str, body: String) -> reqwest::Response {
    client.post(format!("{GW}{path}")).body(body).send().await.expect("POST")
}

/// 1,000 characters no compressor can shrink (LevelDB compresses blocks as it compacts, so a
/// repeated pad would make the ledger look smaller than real documents make it).
fn pad() -> String {
    let mut b = [0u8; 500];
    openssl::rand::rand_bytes(&mut b).expect("random");
    hex::encode(b)
}

/// Stores `n` records of 1 KiB in `phase` (raw PutRecord, `inflight` at once), sending again
/// those that failed (an MVCC conflict of the phase's counters) until all are in.
async fn fill(contract: &std::sync::Arc<fabric_gateway::Contract>, project: &str, phase: &str, n: usize, inflight: usize) -> Duration {
    let t = Instant::now();
    let mut todo: Vec<usize> = (0..n).collect();
    for _ in 0..5 {
        let missing = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let ids = std::sync::Arc::new(todo.clone());
        let job = {
            let project = ProjectId::new(project).expect("a valid project id");
            let phase = PhaseId::new(phase).expect("a valid phase id");
            let (contract, missing, ids) = (contract.clone(), missing.clone(), ids.clone());
            move |k: usize| {
                let (contract, missing, i) = (contract.clone(), missing.clone(), ids[k]);
                let record = NewRecord {
                    id: RecordId::new(format!("r{i:05}")).expect("a valid record id"),
                    document: format!(r#"{{"n":{i},"pad":"{}"}}"#, pad()).into_bytes(),
                };
                let call = Call::PutRecord(PhaseRef { project: project.clone(), phase: phase.clone() }, record);
                async move {
                    let ok = submit(&contract, &call).await;
                    if !ok {
                        missing.lock().expect("lock").push(i);
                    }
                    ok
                }
            }
        };
        drive(todo.len(), inflight, job).await;
        todo = std::mem::take(&mut *missing.lock().expect("lock"));
        if todo.is_empty() {
            return t.elapsed();
        }
    }
    panic!("{} records of {phase} could not be stored", todo.len());
}

/// Waits until the phase's migration has ended; the time since `since`.
async fn migration_done(client: &reqwest::Client, url: &str, since: Instant) -> Duration {
    loop {
        let r = client.get(url).send().await.expect("GET migration");
        let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.expect("body")).unwrap_or_default();
        if v["migrating"] == false && v["driving"] == false {
            return since.elapsed();
        }
        assert!(since.elapsed() < Duration::from_secs(1800), "migration of {url} has not ended after 30 minutes: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct RecordRow {
    n: usize,
    fill_s: f64,
    first_ms: f64,
    first_bytes: usize,
    max_ms: f64,
    max_bytes: usize,
    walk_ms: f64,
    pages: usize,
    migrate_s: f64,
}

struct PhaseRow {
    n: usize,
    project_ms: f64,
    list_ms: f64,
    list_bytes: usize,
    add_ms: f64,
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::var("SIZES")
        .unwrap_or_else(|_| "100,1000,10000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("SIZES: comma-separated counts"))
        .collect();
    let phases = knob("PHASES", 1000) as usize;
    let inflight = knob("INFLIGHT", 200) as usize;
    let repeat = knob("REPEAT", 15) as usize;
    let out = std::env::var("OUT").map(PathBuf::from).unwrap_or_else(|_| root().join("docs/bench"));
    let client = rest_client();
    let contract = raw_contract().await;
    let project = format!("growth{}", std::process::id());
    let r = post(&client, "/v1/projects", format!(r#"{{"id":"{project}","name":"growth"}}"#)).await;
    assert_eq!(r.status().as_u16(), 201, "create project: {}", r.text().await.unwrap_or_default());

    // Records: each size in its own {Org1, Org2} phase.
    let before = [ledger_bytes("peer0.org1"), ledger_bytes("peer0.org3")];
    let mut records = Vec::new();
    for &n in &sizes {
        let phase = format!("r{n}");
        let body = format!(r#"{{"id":"{phase}","name":"{n} records","participants":[{{"msp_id":"Org1MSP"}},{{"msp_id":"Org2MSP"}}]}}"#);
        let r = post(&client, &format!("/v1/projects/{project}/phases"), body).await;
        assert_eq!(r.status().as_u16(), 201, "add phase: {}", r.text().await.unwrap_or_default());
        let fill_s = fill(&contract, &project, &phase, n, inflight).await.as_secs_f64();
        let list = format!("{GW}/v1/projects/{project}/phases/{phase}/records");
        let (first_ms, first_bytes) = timed_get(&client, &list, repeat).await;
        let (max_ms, max_bytes) = timed_get(&client, &format!("{list}?page_size=100"), repeat).await;
        let (walk_ms, pages, items) = walk(&client, &list, 100).await;
        assert_eq!(items, n, "a walk through {phase} found {items} records");
        records.push(RecordRow { n, fill_s, first_ms, first_bytes, max_ms, max_bytes, walk_ms, pages, migrate_s: 0.0 });
        eprintln!("{n} records: stored in {fill_s:.1} s");
    }
    let after = [ledger_bytes("peer0.org1"), ledger_bytes("peer0.org3")];
    let stored: usize = sizes.iter().sum();

    // Membership change by record count: Org3 joins each phase; timed from the PATCH until the
    // gateway says the migration ended, as a REST caller sees it.
    for row in &mut records {
        let url = format!("{GW}/v1/projects/{project}/phases/r{}", row.n);
        let t = Instant::now();
        let r = client
            .patch(&url)
            .body(r#"{"participants":[{"msp_id":"Org1MSP"},{"msp_id":"Org2MSP"},{"msp_id":"Org3MSP"}]}"#)
            .send()
            .await
            .expect("PATCH participants");
        assert_eq!(r.status().as_u16(), 202, "PATCH participants: {}", r.text().await.unwrap_or_default());
        row.migrate_s = migration_done(&client, &format!("{url}/migration"), t).await.as_secs_f64();
        eprintln!("{} records: migrated in {:.1} s", row.n, row.migrate_s);
    }

    // Phases: a second project grows to `phases`; the bulk goes in one at a time (every add reads
    // the project's phases to place itself and shift the ones after it, so concurrent adds to one
    // project conflict), each checkpoint then times a few more.
    let big = format!("{project}p");
    let r = post(&client, "/v1/projects", format!(r#"{{"id":"{big}","name":"many phases"}}"#)).await;
    assert_eq!(r.status().as_u16(), 201, "create project: {}", r.text().await.unwrap_or_default());
    let checkpoints: Vec<usize> = [10, 100, 1000, 10000].into_iter().filter(|&c| c < phases).chain([phases]).collect();
    let mut phase_rows = Vec::new();
    let mut have = 0usize;
    for &target in &checkpoints {
        let bulk = target.saturating_sub(have + 5);
        let job = {
            let (client, big) = (client.clone(), big.clone());
            move |i: usize| {
                let pos = have + i;
                let body = format!(r#"{{"id":"p{pos:05}","name":"phase {pos}","participants":[{{"msp_id":"Org2MSP"}}]}}"#);
                let req = client.post(format!("{GW}/v1/projects/{big}/phases")).body(body).send();
                async move { matches!(req.await, Ok(r) if r.status().as_u16() == 201) }
            }
        };
        let run = drive(bulk, 1, job).await;
        assert_eq!(run.failed, 0, "adding phases");
        have += bulk;
        // The last few without a position, one at a time: each reads every phase to place itself.
        let mut adds = Vec::new();
        while have < target {
            let body = format!(r#"{{"id":"p{have:05}","name":"phase {have}","participants":[{{"msp_id":"Org2MSP"}}]}}"#);
            let t = Instant::now();
            let r = post(&client, &format!("/v1/projects/{big}/phases"), body).await;
            assert_eq!(r.status().as_u16(), 201, "add phase: {}", r.text().await.unwrap_or_default());
            adds.push(t.elapsed().as_secs_f64() * 1000.0);
            have += 1;
        }
        adds.sort_by(f64::total_cmp);
        let (project_ms, _) = timed_get(&client, &format!("{GW}/v1/projects/{big}"), repeat).await;
        let (list_ms, list_bytes) = timed_get(&client, &format!("{GW}/v1/projects/{big}/phases"), repeat).await;
        phase_rows.push(PhaseRow { n: target, project_ms, list_ms, list_bytes, add_ms: adds[adds.len() / 2] });
        eprintln!("{target} phases");
    }

    // Tables.
    println!("| records in the phase | stored in (raw, {inflight} in flight) | first page (20): ms, bytes | page of 100: ms, bytes | every page of 100: ms (pages) | Org3 joins: migration s |");
    println!("|---|---|---|---|---|---|");
    for r in &records {
        println!(
            "| {} | {:.1} s | {:.1} ms, {} | {:.1} ms, {} | {:.0} ms ({}) | {:.1} |",
            r.n, r.fill_s, r.first_ms, r.first_bytes, r.max_ms, r.max_bytes, r.walk_ms, r.pages, r.migrate_s
        );
    }
    println!();
    let names = ["blocks", "private data", "state", "history"];
    println!("| ledger bytes per record of 1 KiB ({stored} records) | peer0.org1 (member) | peer0.org3 (not a member) |");
    println!("|---|---|---|");
    for (k, name) in names.iter().enumerate() {
        let per = |p: usize| after[p][k].saturating_sub(before[p][k]) as f64 / stored as f64;
        println!("| {name} | {:.0} | {:.0} |", per(0), per(1));
    }
    let total = |p: usize| (0..4).map(|k| after[p][k].saturating_sub(before[p][k])).sum::<u64>() as f64 / stored as f64;
    println!("| **all** | **{:.0}** | **{:.0}** |", total(0), total(1));
    println!();
    println!("| phases in the project | GET project: ms | GET phases (all, one answer): ms, bytes | add a phase without a position: ms (median) |");
    println!("|---|---|---|---|");
    for r in &phase_rows {
        println!("| {} | {:.1} | {:.1}, {} | {:.0} |", r.n, r.project_ms, r.list_ms, r.list_bytes, r.add_ms);
    }

    // CSV and plots.
    std::fs::create_dir_all(&out).expect("output folder");
    let mut csv = String::from("kind,count,fill_s,first_page_ms,first_page_bytes,page100_ms,page100_bytes,walk_ms,pages,migrate_s,project_ms,phases_ms,phases_bytes,add_phase_ms\n");
    for r in &records {
        let _ = writeln!(
            csv,
            "records,{},{:.2},{:.2},{},{:.2},{},{:.1},{},{:.2},,,,",
            r.n, r.fill_s, r.first_ms, r.first_bytes, r.max_ms, r.max_bytes, r.walk_ms, r.pages, r.migrate_s
        );
    }
    for r in &phase_rows {
        let _ = writeln!(csv, "phases,{},,,,,,,,,{:.2},{:.2},{},{:.1}", r.n, r.project_ms, r.list_ms, r.list_bytes, r.add_ms);
    }
    std::fs::write(out.join("growth.csv"), csv).expect("write csv");
    let xs: Vec<usize> = records.iter().map(|r| r.n).collect();
    let lists = [
        ("first page of 20".to_owned(), records.iter().map(|r| r.first_ms).collect()),
        ("page of 100".to_owned(), records.iter().map(|r| r.max_ms).collect()),
    ];
    std::fs::write(out.join("growth-list.svg"), chart("REST list latency by phase size", "records in the phase", "ms (median)", &xs, &lists))
        .expect("write svg");
    let moves = [("Org3 joins".to_owned(), records.iter().map(|r| r.migrate_s).collect())];
    std::fs::write(out.join("growth-migration.svg"), chart("Membership change by phase size", "records in the phase", "seconds", &xs, &moves))
        .expect("write svg");
    let pxs: Vec<usize> = phase_rows.iter().map(|r| r.n).collect();
    let ps = [
        ("GET project".to_owned(), phase_rows.iter().map(|r| r.project_ms).collect()),
        ("GET phases".to_owned(), phase_rows.iter().map(|r| r.list_ms).collect()),
        ("add a phase".to_owned(), phase_rows.iter().map(|r| r.add_ms).collect()),
    ];
    std::fs::write(out.join("growth-phases.svg"), chart("A project's phases", "phases in the project", "ms (median)", &pxs, &ps)).expect("write svg");
    eprintln!("wrote {}/growth.csv and growth-{{list,migration,phases}}.svg", out.display());
}
