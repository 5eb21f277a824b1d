//! PutRecord throughput through the `fabric-gateway` crate (the raw client the REST gateway will
//! be compared against): many transactions in flight against peer0.org1's Gateway service, each
//! endorsed (Org1 + Org2 for a {Org1, Org2} phase), ordered and waited for until committed.
//!
//!     fabric-network/network.sh up
//!     cargo bench -p svcflow-gateway --bench put_record      # N=2000 INFLIGHT=200 by default

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fabric_gateway::{EcdsaP256Signer, Gateway, Identity};
use tokio::sync::Semaphore;

fn crypto(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crypto-config/peerOrganizations").join(rel)
}

fn first_file(dir: PathBuf) -> PathBuf {
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (is the network up? fabric-network/network.sh up)", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .next()
        .unwrap_or_else(|| panic!("{} is empty", dir.display()))
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let inflight: usize = std::env::var("INFLIGHT").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let user = "org1.svcflow.local/users/User1@org1.svcflow.local/msp";
    let cert = std::fs::read(first_file(crypto(&format!("{user}/signcerts")))).expect("cert");
    let key = std::fs::read_to_string(first_file(crypto(&format!("{user}/keystore")))).expect("key");
    let ca = std::fs::read(crypto("org1.svcflow.local/peers/peer0.org1.svcflow.local/tls/ca.crt")).expect("tls ca");
    let tls = tonic_gw::transport::ClientTlsConfig::new()
        .ca_certificate(tonic_gw::transport::Certificate::from_pem(ca))
        .domain_name("localhost");
    let channel = tonic_gw::transport::Channel::from_static("https://127.0.0.1:7051")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await
        .expect("connect to peer0.org1");
    let signer = Arc::new(EcdsaP256Signer::from_pem(&key).expect("signer"));
    let gateway = Gateway::connect(Identity::new("Org1MSP", cert), signer, channel).expect("gateway");
    let contract = Arc::new(gateway.get_network("svcflow").get_contract("svcflow"));

    let project = format!("tput{}", std::process::id());
    contract
        .submit_transaction("CreateProject", &[&format!(r#"{{"id":"{project}","name":"bench"}}"#)])
        .await
        .expect("CreateProject");
    contract
        .submit_transaction(
            "AddPhase",
            &[&format!(r#"{{"project":"{project}","id":"P","name":"bench","participants":[{{"msp_id":"Org1MSP"}},{{"msp_id":"Org2MSP"}}]}}"#)],
        )
        .await
        .expect("AddPhase");

    let sem = Arc::new(Semaphore::new(inflight));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let permit = sem.clone().acquire_owned().await.expect("semaphore");
        let contract = contract.clone();
        let project = project.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let t = Instant::now();
            let mut transient = HashMap::new();
            transient.insert("record".to_owned(), format!(r#"{{"i":{i},"note":"throughput"}}"#).into_bytes());
            let res = async {
                let commit = contract
                    .new_proposal("PutRecord")
                    .with_arguments([format!(r#"{{"project":"{project}","phase":"P","id":"r{i}"}}"#)])
                    .with_transient(transient)
                    .build()?
                    .endorse()
                    .await?
                    .submit()
                    .await?;
                commit.status().await
            }
            .await;
            (t.elapsed(), res.map(|s| s.successful).unwrap_or(false))
        }));
    }
    let mut lat: Vec<Duration> = Vec::with_capacity(n);
    let mut failed = 0;
    for t in tasks {
        match t.await {
            Ok((d, true)) => lat.push(d),
            _ => failed += 1,
        }
    }
    let total = started.elapsed();
    lat.sort();
    let pct = |p: f64| lat.get(((lat.len().max(1) - 1) as f64 * p) as usize).map(|d| d.as_millis()).unwrap_or(0);
    println!("| measure ({n} PutRecord, {inflight} in flight, fabric-gateway crate via peer0.org1) | value |");
    println!("|---|---|");
    println!("| committed / failed | {} / {failed} |", lat.len());
    println!("| throughput (committed tx/s) | {:.0} |", lat.len() as f64 / total.as_secs_f64());
    println!("| latency submit → committed, p50 / p99 | {} / {} ms |", pct(0.5), pct(0.99));
}
