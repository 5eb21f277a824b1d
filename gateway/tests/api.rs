#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a failed unwrap is a failed test
//! Every REST route over real HTTPS with client certificates, against the real contract in
//! memory (tests/support/fake_ledger.rs) instead of Fabric: the 2xx of each route and its
//! refusals. Three gateways, one per org, share the ledger and the file store, as on a network.
//! The live suite (tests/gateway_test.sh) runs the same routes against real Fabric and RGW.

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Value};
use support::fake_ledger::FakeLedger;
use support::gateway::{assert_error, call, start, Gateway, Options};

struct Net {
    orgs: Vec<Gateway>,
    objects: tempfile::TempDir,
    ledger: Arc<FakeLedger>,
}

impl Net {
    /// Org1 (User1, User2, Admin), Org2 (User1) and Org3 (User1) gateways on one fake ledger.
    fn start() -> Self {
        let ledger = Arc::new(FakeLedger::new());
        let objects = tempfile::tempdir().unwrap();
        let users: [&[(&str, &str)]; 3] =
            [&[("User1", "client"), ("User2", "client"), ("Admin", "admin")], &[("User1", "client")], &[("User1", "client")]];
        let orgs = (1..=3u8)
            .map(|org| {
                let g = start(Options {
                    org,
                    users: users[org as usize - 1],
                    upload_limit: 1 << 20,
                    objects: Some(objects.path()),
                    ledger: Some(ledger.clone()),
                });
                ledger.register(g.identities());
                g
            })
            .collect();
        Self { orgs, objects, ledger }
    }

    /// Polls a phase's migration until it ends.
    async fn migrated(&self, org: usize, user: &str, project: &str, phase: &str) -> Value {
        let path = format!("/v1/projects/{project}/phases/{phase}/migration");
        for _ in 0..200 {
            let (s, m) = self.req(org, user, "GET", &path, None).await;
            assert_eq!(s, 200, "{m}");
            if m["migrating"] == false && m["driving"] == false {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("{path} did not end");
    }

    /// The object key an anchor names.
    fn ledger_object(&self, anchor: &Value) -> String {
        anchor["object_key"].as_str().expect("an anchor").to_owned()
    }

    fn org(&self, n: usize) -> &Gateway {
        &self.orgs[n - 1]
    }

    /// (org, user) sends `method path` with an optional JSON body.
    async fn req(&self, org: usize, user: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let g = self.org(org);
        let c = g.as_user(user);
        let rb = c.request(method.parse().unwrap(), g.url(path));
        call(match body {
            Some(b) => rb.body(b.to_string()),
            None => rb,
        })
        .await
    }

    /// A project owned by Org1 User1 with P1 {Org1, Org2} and P2 {Org2, Org3}.
    async fn scenario(&self, p: &str) {
        let ok = |r: (u16, Value), want: u16| assert_eq!(r.0, want, "{}", r.1);
        ok(self.req(1, "User1", "POST", "/v1/projects", Some(json!({"id": p, "name": "Bridge"}))).await, 201);
        let phase =
            |id: &str, orgs: &[&str]| json!({"id": id, "name": id, "participants": orgs.iter().map(|o| json!({"msp_id": o})).collect::<Vec<_>>()});
        ok(self.req(1, "User1", "POST", &format!("/v1/projects/{p}/phases"), Some(phase("P1", &["Org1MSP", "Org2MSP"]))).await, 201);
        ok(self.req(1, "User1", "POST", &format!("/v1/projects/{p}/phases"), Some(phase("P2", &["Org2MSP", "Org3MSP"]))).await, 201);
    }
}

/// The wallet name of `org`'s `user`, to act on the ledger directly (no gateway drives then).
fn wallet_name(n: &Net, org: usize, user: &str) -> String {
    n.org(org).identities().into_keys().find(|k| k.contains(user)).expect("a wallet user")
}

#[tokio::test]
async fn a_write_to_a_phase_whose_fill_stalled_sealed_finishes_the_fill() {
    use svcflow_gateway::ledger::{self, Ledger};
    use svcflow_model::call::{BatchRef, PhaseRef};
    use svcflow_model::migration::Batch;
    use svcflow_model::Call;
    let n = Net::start();
    n.scenario("s1").await;
    let p1 = "/v1/projects/s1/phases/P1";
    assert_eq!(n.req(1, "User1", "PUT", &format!("{p1}/records/r1"), Some(json!({"v": 1}))).await.0, 201);
    let all = json!({"participants": [{"msp_id": "Org1MSP"}, {"msp_id": "Org2MSP"}, {"msp_id": "Org3MSP"}]});
    assert_eq!(n.req(1, "User1", "PATCH", p1, Some(all)).await.0, 202);
    // Org2 approves on the ledger itself, and Org1's user steps the fill by hand up to its seal:
    // no gateway drives it, as when the driving gateway stopped right there.
    let at = PhaseRef { project: "s1".parse().unwrap(), phase: "P1".parse().unwrap() };
    n.ledger.submit(&wallet_name(&n, 2, "User1"), &Call::ApprovePhaseChange(at.clone())).await.expect("approved");
    let org1 = wallet_name(&n, 1, "User1");
    for _ in 0..2 {
        let from = BatchRef { project: at.project.clone(), phase: at.phase.clone(), after: String::new() };
        let batch: Batch = ledger::query(&*n.ledger, &org1, &Call::ReadMigrationBatch(from)).await.expect("a batch");
        n.ledger.submit(&org1, &Call::MigratePhase(at.clone(), batch)).await.expect("a step");
    }
    let (s, m) = n.req(1, "User1", "GET", &format!("{p1}/migration"), None).await;
    assert_eq!((s, m["migration"]["sealed"].as_bool(), m["driving"].as_bool()), (200, Some(true), Some(false)), "{m}");
    // A write now waits for the last step, which nobody drives: the gateway drives it as the
    // caller (a participant whose org stays), and the write goes through.
    let (s, r) = n.req(1, "User1", "PUT", &format!("{p1}/records/r2"), Some(json!({"v": 2}))).await;
    assert_eq!(s, 201, "{r}");
    n.migrated(1, "User1", "s1", "P1").await;
    assert_eq!(n.req(3, "User1", "GET", &format!("{p1}/records/r2"), None).await.0, 200);
}

#[tokio::test]
async fn projects_and_phases() {
    let n = Net::start();
    let g1 = n.org(1);
    let c = g1.as_user("User1");

    let r = c.post(g1.url("/v1/projects")).body(r#"{"id":"p1","name":"Bridge"}"#).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert!(r.headers().get("x-tx-id").is_some() && r.headers().get("x-block-number").is_some(), "{:?}", r.headers());
    assert_error(n.req(1, "User1", "POST", "/v1/projects", Some(json!({"id": "p1", "name": "again"}))).await, 409, "conflict", "already exists");
    assert_error(n.req(1, "User1", "POST", "/v1/projects", Some(json!({"id": "p 1", "name": "x"}))).await, 400, "bad_request", "project id");
    assert_error(
        n.req(1, "User1", "POST", "/v1/projects", Some(json!({"id": "p2", "name": "x", "colour": "red"}))).await,
        400,
        "bad_request",
        "unknown field",
    );

    let (s, list) = n.req(3, "User1", "GET", "/v1/projects?page_size=10", None).await;
    assert_eq!((s, list["items"][0]["id"].as_str()), (200, Some("p1")), "{list}");
    assert_error(n.req(1, "User1", "GET", "/v1/projects?page_size=0", None).await, 400, "bad_request", "page_size");
    let (s, p) = n.req(2, "User1", "GET", "/v1/projects/p1", None).await;
    assert_eq!((s, p["owner"]["msp_id"].as_str()), (200, Some("Org1MSP")));
    assert_error(n.req(1, "User1", "GET", "/v1/projects/nope", None).await, 404, "not_found", "does not exist");

    // Phases: the key is set when the creator's org takes part, left for a participant otherwise.
    let phase =
        |id: &str, orgs: &[&str]| json!({"id": id, "name": id, "participants": orgs.iter().map(|o| json!({"msp_id": o})).collect::<Vec<_>>()});
    let r = c.post(g1.url("/v1/projects/p1/phases")).body(phase("P1", &["Org1MSP", "Org2MSP"]).to_string()).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers().get("x-phase-key").and_then(|v| v.to_str().ok())), (201, Some("set")));
    let r = c.post(g1.url("/v1/projects/p1/phases")).body(phase("P2", &["Org2MSP", "Org3MSP"]).to_string()).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers().get("x-phase-key").and_then(|v| v.to_str().ok())), (201, Some("pending")));
    assert_error(
        n.req(1, "User1", "POST", "/v1/projects/p1/phases", Some(json!({"project": "p9", "id": "X", "name": "x", "participants": []}))).await,
        400,
        "bad_request",
        "differs",
    );
    assert_error(n.req(2, "User1", "POST", "/v1/projects/p1/phases", Some(phase("P3", &["Org2MSP"]))).await, 403, "forbidden", "manage");
    assert_error(n.req(1, "User1", "POST", "/v1/projects/p1/phases", Some(phase("P1", &["Org1MSP"]))).await, 409, "conflict", "already exists");
    assert_error(n.req(1, "User1", "POST", "/v1/projects/p1/phases", Some(phase("P4", &[]))).await, 400, "bad_request", "participant");
    // Participants are validated, naming the field: an empty identity, a null role, a duplicate.
    let bad = |ps: Value| json!({"id": "P5", "name": "x", "participants": ps});
    let cases = [
        (json!([{"msp_id": "Org1MSP", "identity": ""}]), "participants[0].identity"),
        (json!([{"msp_id": "Org1MSP", "role": null}]), "not null"),
        (json!([{"msp_id": "Org1MSP"}, {"msp_id": "Org1MSP"}]), "participants[1] repeats participants[0]"),
        (json!([{"msp_id": "Org 1"}]), "participants[0].msp_id"),
    ];
    for (ps, says) in cases {
        assert_error(n.req(1, "User1", "POST", "/v1/projects/p1/phases", Some(bad(ps))).await, 400, "bad_request", says);
    }

    let (s, phases) = n.req(3, "User1", "GET", "/v1/projects/p1/phases", None).await;
    assert_eq!((s, phases["items"].as_array().map(Vec::len)), (200, Some(2)), "{phases}");
    let (s, p1) = n.req(3, "User1", "GET", "/v1/projects/p1/phases/P1", None).await;
    assert_eq!((s, p1["collection"].as_str()), (200, Some(svcflow_model::phase::ORG_COPIES)));
    assert_error(n.req(1, "User1", "GET", "/v1/projects/p1/phases/P9", None).await, 404, "not_found", "P9");

    // The lifecycle: rename and reorder while planned; activate once; a closed phase is read-only.
    // Positions are places 0..n-1: past the end is refused, a move shifts the ones between.
    assert_error(n.req(1, "User1", "PATCH", "/v1/projects/p1/phases/P1", Some(json!({"position": 5}))).await, 400, "bad_request", "0 to 1");
    let (s, p1) = n.req(1, "User1", "PATCH", "/v1/projects/p1/phases/P1", Some(json!({"name": "Design", "position": 1}))).await;
    assert_eq!((s, p1["name"].as_str(), p1["position"].as_u64()), (200, Some("Design"), Some(1)), "{p1}");
    let (_, phases) = n.req(1, "User1", "GET", "/v1/projects/p1/phases", None).await;
    let order: Vec<(&str, u64)> =
        phases["items"].as_array().unwrap().iter().map(|p| (p["id"].as_str().unwrap(), p["position"].as_u64().unwrap())).collect();
    assert_eq!(order, vec![("P2", 0), ("P1", 1)]);
    let (s, p1) = n.req(1, "Admin", "POST", "/v1/projects/p1/phases/P1/activate", None).await;
    assert_eq!((s, p1["status"].as_str()), (200, Some("active")), "an admin of the owner's org manages too");
    assert_error(n.req(1, "User1", "POST", "/v1/projects/p1/phases/P1/activate", None).await, 409, "conflict", "cannot become");
    assert_error(n.req(1, "User1", "PATCH", "/v1/projects/p1/phases/P1", Some(json!({"position": 1}))).await, 409, "conflict", "reordered");
    assert_error(n.req(1, "User2", "POST", "/v1/projects/p1/phases/P2/close", None).await, 403, "forbidden", "owner");
    let (s, p2) = n.req(1, "User1", "POST", "/v1/projects/p1/phases/P2/close", None).await;
    assert_eq!((s, p2["status"].as_str()), (200, Some("closed")));
    assert_error(n.req(1, "User1", "PATCH", "/v1/projects/p1/phases/P2", Some(json!({"name": "again"}))).await, 409, "conflict", "read-only");

    let (s, me) = n.req(1, "User2", "GET", "/v1/whoami", None).await;
    assert_eq!((s, me["identity"]["msp_id"].as_str(), me["identity"]["role"].as_str()), (200, Some("Org1MSP"), Some("client")), "{me}");
    assert_eq!(me["user"], "User2@org1.test");
}

#[tokio::test]
async fn records_are_shared_by_participants_only() {
    let n = Net::start();
    n.scenario("r1").await;
    let rec = "/v1/projects/r1/phases/P1/records";

    let (s, r) = n.req(1, "User1", "PUT", &format!("{rec}/spec"), Some(json!({"load_t": 40}))).await;
    assert_eq!((s, r["version"].as_u64()), (201, Some(1)), "{r}");
    let (s, put) = n.req(2, "User1", "PUT", &format!("{rec}/spec"), Some(json!({"load_t": 41, "a": [1, {"b": null}]}))).await;
    assert_eq!((s, put["version"].as_u64(), put["author"]["msp_id"].as_str()), (200, Some(2), Some("Org2MSP")));
    let (s, r) = n.req(1, "User2", "GET", &format!("{rec}/spec"), None).await;
    assert_eq!((s, r["document"]["load_t"].as_u64()), (200, Some(41)));
    // The PUT's answer is built by the gateway from the chaincode's answer, not read back: it is
    // the record any participant reads.
    assert_eq!(put, r);
    let (s, l) = n.req(2, "User1", "GET", rec, None).await;
    assert_eq!((s, l["items"].as_array().map(Vec::len), l["bookmark"].as_str()), (200, Some(1), Some("")));
    let (s, h) = n.req(1, "User1", "GET", &format!("{rec}/spec/history"), None).await;
    assert_eq!((s, h["items"].as_array().map(Vec::len)), (200, Some(2)));

    assert_error(n.req(3, "User1", "GET", &format!("{rec}/spec"), None).await, 403, "forbidden", "not a participant");
    assert_error(n.req(3, "User1", "PUT", &format!("{rec}/spec"), Some(json!({"x": 1}))).await, 403, "forbidden", "not a participant");
    assert_error(n.req(3, "User1", "GET", rec, None).await, 403, "forbidden", "not a participant");
    assert_error(n.req(1, "User1", "GET", "/v1/projects/r1/phases/P2/records", None).await, 403, "forbidden", "not a participant");
    assert_error(n.req(2, "User1", "GET", &format!("{rec}/nope"), None).await, 404, "not_found", "does not exist");
    assert_error(n.req(2, "User1", "GET", &format!("{rec}/nope/history"), None).await, 404, "not_found", "does not exist");
    assert_error(n.req(2, "User1", "GET", &format!("{rec}?page_size=101"), None).await, 400, "bad_request", "page_size");
    let g1 = n.org(1);
    let bad = g1.as_user("User1").put(g1.url(&format!("{rec}/spec"))).body("{not json").send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert_error(n.req(1, "User1", "PUT", &format!("{rec}/a%20b"), Some(json!({}))).await, 400, "bad_request", "record id");

    // One identity only: P3 for Org1's User1, refused to User2 of the same org.
    let (_, me) = n.req(1, "User1", "GET", "/v1/whoami", None).await;
    let p3 = json!({"id": "P3", "name": "audit", "participants": [{"msp_id": "Org1MSP", "identity": me["identity"]["id"]}]});
    assert_eq!(n.req(1, "User1", "POST", "/v1/projects/r1/phases", Some(p3)).await.0, 201);
    assert_eq!(n.req(1, "User1", "PUT", "/v1/projects/r1/phases/P3/records/a", Some(json!({"ok": true}))).await.0, 201);
    assert_error(n.req(1, "User2", "GET", "/v1/projects/r1/phases/P3/records/a", None).await, 403, "forbidden", "User2@org1.test");

    // Closed: read-only, still readable.
    assert_eq!(n.req(1, "User1", "POST", "/v1/projects/r1/phases/P1/close", None).await.0, 200);
    assert_error(n.req(1, "User1", "PUT", &format!("{rec}/spec"), Some(json!({"x": 2}))).await, 409, "conflict", "closed");
    assert_eq!(n.req(2, "User1", "GET", &format!("{rec}/spec"), None).await.0, 200);
}

#[tokio::test]
async fn files_are_sealed_anchored_and_checked_on_the_way_out() {
    let n = Net::start();
    n.scenario("f1").await;
    let files = "/v1/projects/f1/phases/P1/files";
    let (g1, g2) = (n.org(1), n.org(2));
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();

    let up = |g: &Gateway, user: &str, q: &str| g.as_user(user).post(g.url(&format!("{files}{q}"))).header("content-type", "text/plain");
    let (s, a) = call(up(g1, "User1", "?name=drawing.txt&id=drawing").body(bytes.clone())).await;
    assert_eq!(s, 201, "{a}");
    assert_eq!((a["file"]["size"].as_u64(), a["file"]["name"].as_str()), (Some(200_000), Some("drawing.txt")));
    let tx = a["receipt"]["tx_id"].as_str().unwrap().to_owned();
    assert!(a["receipt"]["block_number"].as_u64().is_some(), "{a}");

    // Org2 reads Org1's file: the same bytes, with the anchor's hash as ETag.
    let r = g2.as_user("User1").get(g2.url(&format!("{files}/drawing/content"))).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let etag = r.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(etag, Some(format!("\"{}\"", a["file"]["sha256"].as_str().unwrap())));
    assert_eq!(r.bytes().await.unwrap().to_vec(), bytes);
    let (s, v) = n.req(2, "User1", "GET", &format!("{files}/drawing/verify"), None).await;
    assert_eq!((s, v["verified"].as_bool(), v["receipt"]["tx_id"].as_str()), (200, Some(true), Some(tx.as_str())), "{v}");
    let (s, l) = n.req(1, "User2", "GET", files, None).await;
    assert_eq!((s, l["items"][0]["id"].as_str()), (200, Some("drawing")));
    let (s, f) = n.req(2, "User1", "GET", &format!("{files}/drawing"), None).await;
    assert_eq!((s, f["tx_id"].as_str()), (200, Some(tx.as_str())));

    // Outsiders and bad input.
    assert_error(n.req(3, "User1", "GET", &format!("{files}/drawing/content"), None).await, 403, "forbidden", "not a participant");
    assert_error(call(up(n.org(3), "User1", "?name=x.txt").body("x")).await, 403, "forbidden", "not a participant");
    assert_error(call(up(g1, "User1", "?name=other.txt&id=drawing").body("x")).await, 409, "conflict", "already anchored");
    assert_error(call(up(g1, "User1", "?name=..").body("x")).await, 400, "bad_request", "not a path");
    assert_error(call(up(g1, "User1", "?name=big").body(vec![0u8; (1 << 20) + 1])).await, 413, "payload_too_large", "limit");
    assert_error(n.req(1, "User1", "GET", &format!("{files}/nope/content"), None).await, 404, "not_found", "does not exist");

    // A retry with the same Idempotency-Key answers with the first anchor and stores nothing.
    let first = call(up(g1, "User1", "?name=r.txt").header("idempotency-key", "k1").body("retry me")).await;
    let again = up(g1, "User1", "?name=r.txt").header("idempotency-key", "k1").body("retry me").send().await.unwrap();
    assert_eq!(again.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    let again: Value = serde_json::from_slice(&again.bytes().await.unwrap()).unwrap();
    assert_eq!((first.0, again["file"]["id"].clone()), (201, first.1["file"]["id"].clone()));

    // A phase whose key was left pending gets it from its first participant upload.
    let r = g2.as_user("User1").post(g2.url("/v1/projects/f1/phases/P2/files?name=plan.txt&id=plan")).body("plan").send().await.unwrap();
    let (st, body) = (r.status().as_u16(), r.text().await.unwrap());
    assert_eq!(st, 201, "{body}");
    let r = n.org(3).as_user("User1").get(n.org(3).url("/v1/projects/f1/phases/P2/files/plan/content")).send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"plan");

    // An object altered in the store is refused on the way out, and verify says so.
    let object: PathBuf = n.objects.path().join(a["file"]["object_key"].as_str().unwrap());
    let mut stored = std::fs::read(&object).unwrap();
    let mid = stored.len() / 2;
    stored[mid] ^= 1;
    std::fs::write(&object, stored).unwrap();
    assert_error(n.req(2, "User1", "GET", &format!("{files}/drawing/content"), None).await, 502, "integrity", "");
    let (s, v) = n.req(1, "User1", "GET", &format!("{files}/drawing/verify"), None).await;
    assert_eq!((s, v["verified"].as_bool()), (200, Some(false)), "{v}");
    std::fs::remove_file(&object).unwrap();
    assert_error(n.req(2, "User1", "GET", &format!("{files}/drawing/content"), None).await, 502, "integrity", "missing");
}

#[tokio::test]
async fn events_replay_only_what_the_caller_may_see() {
    let n = Net::start();
    n.scenario("e1").await;
    assert_eq!(n.req(1, "User1", "PUT", "/v1/projects/e1/phases/P1/records/r", Some(json!({"a": 1}))).await.0, 201);
    assert_eq!(n.req(2, "User1", "PUT", "/v1/projects/e1/phases/P2/records/r", Some(json!({"b": 1}))).await.0, 201);
    // Replays from block 0; the stream stays open, so read until the last expected event.
    async fn events(g: &Gateway, until: &str) -> String {
        let mut r = g.as_user("User1").get(g.url("/v1/events?project=e1&from_block=0")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let mut seen = String::new();
        while !seen.contains(until) {
            match tokio::time::timeout(std::time::Duration::from_secs(5), r.chunk()).await {
                Ok(Ok(Some(c))) => seen.push_str(&String::from_utf8_lossy(&c)),
                _ => break,
            }
        }
        seen
    }
    let org2 = events(n.org(2), "\"phase\":\"P2\",\"project\":\"e1\",\"record\":\"r\"").await;
    assert!(org2.contains("event: ProjectCreated") && org2.contains("event: RecordPut"), "{org2}");
    assert!(org2.contains("\"phase\":\"P1\"") && org2.contains("\"phase\":\"P2\""), "Org2 takes part in both: {org2}");
    let org3 = events(n.org(3), "\"phase\":\"P2\",\"project\":\"e1\",\"record\":\"r\"").await;
    assert!(org3.contains("\"phase\":\"P2\"") && !org3.contains("\"phase\":\"P1\""), "Org3 never sees P1's events: {org3}");
    assert_error(n.req(1, "User1", "GET", "/v1/events?phase=P1", None).await, 400, "bad_request", "phase needs project");
}

#[tokio::test]
async fn membership_changes_move_the_data_and_rotate_the_key() {
    let n = Net::start();
    n.scenario("m1").await;
    let (p1, p2) = ("/v1/projects/m1/phases/P1", "/v1/projects/m1/phases/P2");
    let ok = |r: (u16, Value), want: u16| {
        assert_eq!(r.0, want, "{}", r.1);
        r.1
    };
    ok(n.req(2, "User1", "PUT", &format!("{p1}/records/spec"), Some(json!({"v": 1}))).await, 201);
    ok(n.req(1, "User1", "PUT", &format!("{p1}/records/spec"), Some(json!({"v": 2}))).await, 200);
    let g1 = n.org(1);
    let up = g1.as_user("User1").post(g1.url(&format!("{p1}/files?name=old.txt&id=old"))).body("sealed under key 1");
    assert_eq!(call(up).await.1["file"]["key_version"], 1);
    ok(n.req(1, "User1", "POST", &format!("{p1}/activate"), None).await, 200);

    // Org2 leaves the active P1 and Org3 joins: 202, and the owner's gateway (Org1 stays) fills
    // Org3's copy and purges Org2's, endorsed by all three (each copy takes its org's peer).
    let swap = json!({"participants": [{"msp_id": "Org1MSP"}, {"msp_id": "Org3MSP"}]});
    let r = g1.as_user("User1").patch(g1.url(p1)).body(swap.to_string()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 202);
    assert_eq!(r.headers().get("location").and_then(|v| v.to_str().ok()), Some(format!("{p1}/migration").as_str()));
    assert_eq!(r.headers().get("x-migration").and_then(|v| v.to_str().ok()), Some("moving"));
    let m = n.migrated(1, "User1", "m1", "P1").await;
    assert!(m.get("migration").is_none(), "{m}");
    let ph = ok(n.req(3, "User1", "GET", p1, None).await, 200);
    assert_eq!((ph["collection"].as_str(), ph["key_version"].as_u64()), (Some(svcflow_model::phase::ORG_COPIES), Some(2)), "{ph}");
    let endorsers = n.ledger.endorsers.lock().unwrap().clone();
    assert!(endorsers.contains(&("MigratePhase".to_owned(), vec!["Org1MSP".into(), "Org2MSP".into(), "Org3MSP".into()])), "{endorsers:?}");

    // The joiner reads the history and the file sealed before it joined; the leaver reads nothing.
    let h = ok(n.req(3, "User1", "GET", &format!("{p1}/records/spec/history"), None).await, 200);
    assert_eq!(h["items"].as_array().map(Vec::len), Some(2));
    let g3 = n.org(3);
    let r = g3.as_user("User1").get(g3.url(&format!("{p1}/files/old/content"))).send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"sealed under key 1");
    assert_error(n.req(2, "User1", "GET", &format!("{p1}/records/spec"), None).await, 403, "forbidden", "not a participant");
    // New files use key version 2; resealing moves the old one onto it too.
    let (s, a) = call(g3.as_user("User1").post(g3.url(&format!("{p1}/files?name=new.txt&id=new"))).body("after the swap")).await;
    assert_eq!((s, a["file"]["key_version"].as_u64()), (201, Some(2)), "{a}");
    let old_object = n.ledger_object(&n.req(1, "User1", "GET", &format!("{p1}/files/old"), None).await.1);
    let done = ok(n.req(1, "User1", "POST", &format!("{p1}/reseal"), None).await, 200);
    assert_eq!(done, json!({"key_version": 2, "resealed": ["old"]}));
    assert!(!n.objects.path().join(&old_object).exists(), "the object under the old key is gone");
    assert_eq!(ok(n.req(3, "User1", "GET", &format!("{p1}/files/old"), None).await, 200)["key_version"], 2);
    let r = g3.as_user("User1").get(g3.url(&format!("{p1}/files/old/content"))).send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"sealed under key 1");
    assert_eq!(ok(n.req(1, "User1", "POST", &format!("{p1}/reseal"), None).await, 200)["resealed"], json!([]));

    // P2 {Org2, Org3}: Org3 leaves. It is out at once and writes go on; its copy's purge waits
    // for a participant to drive it (the manager, Org1, is none).
    let r = g1.as_user("User1").patch(g1.url(p2)).body(json!({"participants": [{"msp_id": "Org2MSP"}]}).to_string()).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers().get("x-migration").and_then(|v| v.to_str().ok())), (202, Some("pending")));
    ok(n.req(2, "User1", "PUT", &format!("{p2}/records/x"), Some(json!({}))).await, 201);
    assert_error(n.req(3, "User1", "GET", &format!("{p2}/records/x"), None).await, 403, "forbidden", "not a participant");
    let (s, m) = n.req(2, "User1", "GET", &format!("{p2}/migration"), None).await;
    assert_eq!((s, m["migrating"].as_bool(), m["migration"]["purge"].clone()), (200, Some(true), json!(["Org3MSP"])), "{m}");
    assert_error(n.req(3, "User1", "POST", &format!("{p2}/migration"), None).await, 403, "forbidden", "not a participant");
    assert_eq!(n.req(2, "User1", "POST", &format!("{p2}/migration"), None).await.0, 202);
    n.migrated(2, "User1", "m1", "P2").await;
    assert_error(n.req(2, "User1", "POST", &format!("{p2}/migration"), None).await, 409, "conflict", "not migrating");
    // Org3 joins again: its copy is filled from Org2's while writes go on.
    let back = json!({"participants": [{"msp_id": "Org2MSP"}, {"msp_id": "Org3MSP"}]});
    // Org3 back into P2, which holds Org2's data: the manager proposes, Org2 approves.
    let r = g1.as_user("User1").patch(g1.url(p2)).body(back.to_string()).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers().get("x-approval").and_then(|v| v.to_str().ok())), (202, Some("pending")));
    let proposed: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((proposed["proposal"]["needs"].clone(), proposed["proposal"]["approvals"].clone()), (json!(["Org2MSP"]), json!([])));
    assert_error(n.req(3, "User1", "GET", &format!("{p2}/records/x"), None).await, 403, "forbidden", "not a participant");
    assert_error(n.req(3, "User1", "POST", &format!("{p2}/approval"), None).await, 403, "forbidden", "not a participant");
    let (s, approved) = n.req(2, "User1", "POST", &format!("{p2}/approval"), None).await;
    assert_eq!((s, approved.get("proposal"), approved["migration"]["participants"].as_array().map(Vec::len)), (202, None, Some(2)), "{approved}");
    assert_error(n.req(2, "User1", "POST", &format!("{p2}/approval"), None).await, 409, "conflict", "waits for approval");
    // Org2's approval made the change, and Org2's gateway fills Org3's copy.
    n.migrated(2, "User1", "m1", "P2").await;
    assert_eq!(ok(n.req(3, "User1", "GET", &format!("{p2}/records/x"), None).await, 200)["version"], 1);
    ok(n.req(3, "User1", "PUT", &format!("{p2}/records/y"), Some(json!({}))).await, 201);
    // Disjoint org sets and unknown orgs are refused, naming why.
    assert_error(
        n.req(1, "User1", "PATCH", p2, Some(json!({"participants": [{"msp_id": "Org1MSP"}]}))).await,
        409,
        "conflict",
        "add the new orgs first",
    );
    assert_error(
        n.req(1, "User1", "PATCH", p2, Some(json!({"participants": [{"msp_id": "Org2MSP"}, {"msp_id": "Org9MSP"}]}))).await,
        400,
        "bad_request",
        "participants[1].msp_id: Org9MSP is not an org of this channel",
    );
}

/// A 256 KiB tmpfs as the file store (the test runs as root, as CI does): it must be mounted, or
/// the test fails — a full disk is never skipped.
struct SmallDisk(tempfile::TempDir);

impl SmallDisk {
    fn mount() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"]).arg(dir.path()).status().unwrap();
        assert!(ok.success(), "mounting a tmpfs for the full-disk test (needs root)");
        Self(dir)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(self.0.path()).status();
    }
}

#[tokio::test]
async fn a_full_store_answers_507_and_keeps_nothing() {
    let disk = SmallDisk::mount();
    let ledger = Arc::new(FakeLedger::new());
    let g =
        start(Options { org: 1, users: &[("User1", "client")], upload_limit: 1 << 20, objects: Some(disk.0.path()), ledger: Some(ledger.clone()) });
    ledger.register(g.identities());
    let c = g.as_user("User1");
    assert_eq!(call(c.post(g.url("/v1/projects")).body(r#"{"id":"d1","name":"Disk"}"#)).await.0, 201);
    let phase = json!({"id": "P1", "name": "p", "participants": [{"msp_id": "Org1MSP"}]});
    assert_eq!(call(c.post(g.url("/v1/projects/d1/phases")).body(phase.to_string())).await.0, 201);
    let files = "/v1/projects/d1/phases/P1/files";
    assert_eq!(call(c.post(g.url(&format!("{files}?name=small.txt"))).body("fits")).await.0, 201);
    let big = vec![7u8; 900 * 1024];
    assert_error(call(c.post(g.url(&format!("{files}?name=big.bin&id=big"))).body(big)).await, 507, "insufficient_storage", "full");
    let (s, l) = call(c.get(g.url(files))).await;
    assert_eq!((s, l["items"].as_array().map(Vec::len)), (200, Some(1)), "{l}");
    let leftovers: Vec<_> = walk(disk.0.path()).into_iter().filter(|p| p.to_string_lossy().contains("big")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let incoming = std::fs::read_dir(disk.0.path().join(".incoming")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(incoming, 0, "no temporary file left");
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `/healthz` needs no certificate, so anyone may call it at any rate: its answers come from one
/// probe per `server.health_ttl_ms` (2 s by default), however many arrive at once or in a row.
#[tokio::test]
async fn healthz_answers_from_one_fabric_query_per_interval() {
    let ledger = Arc::new(FakeLedger::new());
    let g = start(Options { ledger: Some(ledger.clone()), ..Options::default() });
    ledger.register(g.identities());
    let anon = g.client(None);
    let url = g.url("/healthz");
    let answers = futures_util::future::join_all((0..20).map(|_| call(anon.get(&url)))).await;
    for _ in 0..10 {
        let (s, body) = call(anon.get(&url)).await;
        assert_eq!((s, body["fabric"].as_str()), (200, Some("ok")), "{body}");
    }
    assert!(answers.iter().all(|(s, b)| *s == 200 && b["status"] == "ok"), "{answers:?}");
    assert_eq!(ledger.evaluations.load(std::sync::atomic::Ordering::SeqCst), 1, "30 health checks, one query");
}
