//! The contract's rules against an in-memory ledger: the division scenario of P1 {Org1, Org2},
//! P2 {Org2, Org3}, P3 {Org1 User1 only}, and every refusal leaving the state unchanged.

use std::cell::RefCell;

use futures_executor::block_on;

use super::*;
use crate::identity::{Identity, Role};
use crate::stub::{MemLedger, MemStub};
use base64::Engine;
use serde_json::json;

fn who(msp: &str, user: &str, role: Role) -> Identity {
    Identity {
        msp_id: msp.to_owned(),
        id: format!("id-{user}@{msp}"),
        subject: format!("CN={user}@{msp}"),
        issuer: format!("CN=ca.{msp}"),
        role,
        attrs: Default::default(),
    }
}
fn user(msp: &str, n: u32) -> Identity {
    who(msp, &format!("User{n}"), Role::Client)
}

struct World {
    ledger: RefCell<MemLedger>,
    tx: RefCell<u32>,
}

impl World {
    fn new() -> Self {
        Self::with(MemLedger::channel(&["Org1MSP", "Org2MSP", "Org3MSP"]))
    }

    fn with(ledger: MemLedger) -> Self {
        Self { ledger: RefCell::new(ledger), tx: RefCell::new(0) }
    }

    /// Runs one transaction as `as_` on a peer of its own org (as its gateway does); commits its
    /// writes only if it succeeded.
    fn call(&self, as_: &Identity, func: &str, arg: serde_json::Value, transient: &[(&str, Vec<u8>)]) -> Result<serde_json::Value> {
        self.call_at(as_, &as_.msp_id, func, arg, transient)
    }

    /// [`Self::call`] endorsed on a peer of `peer_org`.
    fn call_at(
        &self,
        as_: &Identity,
        peer_org: &str,
        func: &str,
        arg: serde_json::Value,
        transient: &[(&str, Vec<u8>)],
    ) -> Result<serde_json::Value> {
        *self.tx.borrow_mut() += 1;
        let mut stub = MemStub::new(&self.ledger, &format!("tx{}", self.tx.borrow()), as_.clone());
        stub.peer_msp = Some(peer_org.to_owned());
        for (k, v) in transient {
            stub.transient.insert((*k).to_owned(), v.clone());
        }
        let out = block_on(invoke(&stub, &[func.as_bytes().to_vec(), arg.to_string().into_bytes()]));
        match out {
            Ok(bytes) => {
                stub.commit();
                Ok(serde_json::from_slice(&bytes).unwrap())
            }
            Err(e) => Err(e),
        }
    }

    /// Runs `func` as `as_` on a peer of `peer_org` (not necessarily the caller's), writing nothing.
    fn on_peer(&self, as_: &Identity, peer_org: &str, func: &str, arg: serde_json::Value) -> Result<serde_json::Value> {
        let mut stub = MemStub::new(&self.ledger, "tx-elsewhere", as_.clone());
        stub.peer_msp = Some(peer_org.to_owned());
        let out = block_on(invoke(&stub, &[func.as_bytes().to_vec(), arg.to_string().into_bytes()]))?;
        Ok(serde_json::from_slice(&out).unwrap())
    }

    fn snapshot(&self) -> String {
        let l = self.ledger.borrow();
        format!("{:?}{:?}", l.state, l.private.iter().collect::<std::collections::BTreeMap<_, _>>())
    }

    /// The call must fail with `kind` and leave the ledger exactly as it was.
    fn refused(&self, as_: &Identity, func: &str, arg: serde_json::Value, transient: &[(&str, Vec<u8>)], kind: &str) -> String {
        let before = self.snapshot();
        let err = self.call(as_, func, arg.clone(), transient).expect_err(&format!("{func} {arg} should be refused"));
        let msg = err.to_string();
        assert!(msg.starts_with(kind), "{func} {arg}: expected {kind}, got {msg}");
        assert_eq!(before, self.snapshot(), "{func} {arg} changed the state although refused");
        msg
    }

    /// The scenario's project: owned by Org1 User1.
    fn scenario(&self) {
        let o1 = user("Org1MSP", 1);
        self.call(&o1, "CreateProject", json!({"id":"p1","name":"Bridge","description":"d"}), &[]).unwrap();
        let key = vec![9u8; 32];
        self.call(&o1, "AddPhase", json!({"project":"p1","id":"P1","name":"design","participants":[{"msp_id":"Org1MSP"},{"msp_id":"Org2MSP"}]}), &[])
            .unwrap();
        self.call(&o1, "SetPhaseKey", json!({"project":"p1","phase":"P1"}), &[("phase_key", key.clone())]).unwrap();
        self.call(&o1, "AddPhase", json!({"project":"p1","id":"P2","name":"build","participants":[{"msp_id":"Org2MSP"},{"msp_id":"Org3MSP"}]}), &[])
            .unwrap();
        self.call(&user("Org2MSP", 1), "SetPhaseKey", json!({"project":"p1","phase":"P2"}), &[("phase_key", key.clone())]).unwrap();
        self.call(
            &o1,
            "AddPhase",
            json!({"project":"p1","id":"P3","name":"audit","participants":[{"msp_id":"Org1MSP","identity":"id-User1@Org1MSP"}]}),
            &[],
        )
        .unwrap();
        self.call(&o1, "SetPhaseKey", json!({"project":"p1","phase":"P3"}), &[("phase_key", key)]).unwrap();
    }
}

/// The key of record `id` of the scenario's phase `phase` (their first data key is `[9; 32]`).
fn record_key(phase: &str, id: &str) -> String {
    crate::keys::record("p1", phase, &super::blinding::name_under(&[9; 32], crate::keys::RECORD, id))
}

/// PutRecord's transient map: the record's id and document (both private).
fn doc(id: &str, v: serde_json::Value) -> Vec<(&'static str, Vec<u8>)> {
    vec![("record_id", id.as_bytes().to_vec()), ("record", v.to_string().into_bytes())]
}

#[test]
fn division_holds_for_records() {
    let w = World::new();
    w.scenario();
    let (o1u1, o1u2, o2, o3) = (user("Org1MSP", 1), user("Org1MSP", 2), user("Org2MSP", 1), user("Org3MSP", 1));
    // Participants write and read.
    let put = w.call(&o2, "PutRecord", json!({"project":"p1","phase":"P1"}), &doc("r1", json!({"spec":1}))).unwrap();
    // The answer goes into the block: public facts only (the timestamp is in the transaction's
    // header anyway), the record's id and document stay private.
    assert_eq!(put, json!({"project":"p1","phase":"P1","tx_id":put["tx_id"],"version":1,"updated":put["updated"]}));
    assert!(put["updated"].as_str().is_some_and(|t| t.contains('T')), "{put}");
    let change = w.call(&o1u2, "GetChange", json!({"project":"p1","phase":"P1","tx_id":put["tx_id"]}), &[]).unwrap();
    assert_eq!(change["record"], "r1");
    let r = w.call(&o1u2, "GetRecord", json!({"project":"p1","phase":"P1","id":"r1"}), &[]).unwrap();
    assert_eq!(r["document"]["spec"], 1);
    w.call(&o3, "PutRecord", json!({"project":"p1","phase":"P2"}), &doc("r2", json!({"x":true}))).unwrap();
    w.call(&o1u1, "PutRecord", json!({"project":"p1","phase":"P3"}), &doc("r3", json!({"audit":"ok"}))).unwrap();
    // Org3 is refused on P1 by the chaincode (and the peer would refuse it too).
    let m = w.refused(&o3, "GetRecord", json!({"project":"p1","phase":"P1","id":"r1"}), &[], "forbidden:");
    assert!(m.contains("not a participant"), "{m}");
    w.refused(&o3, "PutRecord", json!({"project":"p1","phase":"P1"}), &doc("r9", json!({})), "forbidden:");
    w.refused(&o3, "ListRecords", json!({"project":"p1","phase":"P1"}), &[], "forbidden:");
    w.refused(&o3, "GetPhaseKey", json!({"project":"p1","phase":"P1"}), &[], "forbidden:");
    // Org1 is no participant of P2.
    w.refused(&o1u1, "GetRecord", json!({"project":"p1","phase":"P2","id":"r2"}), &[], "forbidden:");
    // Org1 User2 is refused on P3, which only Org1 User1 takes part in.
    w.refused(&o1u2, "GetRecord", json!({"project":"p1","phase":"P3","id":"r3"}), &[], "forbidden:");
    w.refused(&o1u2, "PutRecord", json!({"project":"p1","phase":"P3"}), &doc("r3", json!({})), "forbidden:");
    w.refused(&o1u2, "GetPhaseKey", json!({"project":"p1","phase":"P3"}), &[], "forbidden:");
    // Public project and phase data is readable by all.
    for x in [&o1u2, &o2, &o3] {
        assert_eq!(w.call(x, "GetProject", json!({"id":"p1"}), &[]).unwrap()["owner"]["msp_id"], "Org1MSP");
        assert_eq!(w.call(x, "ListPhases", json!({"project":"p1"}), &[]).unwrap().as_array().unwrap().len(), 3);
    }
    // Versions and history.
    w.call(&o1u1, "PutRecord", json!({"project":"p1","phase":"P1"}), &doc("r1", json!({"spec":2}))).unwrap();
    let h = w.call(&o2, "RecordHistory", json!({"project":"p1","phase":"P1","id":"r1"}), &[]).unwrap();
    let versions: Vec<u64> = h["items"].as_array().unwrap().iter().map(|r| r["version"].as_u64().unwrap()).collect();
    assert_eq!(versions, vec![1, 2]);
    assert_eq!(w.call(&o2, "ListRecords", json!({"project":"p1","phase":"P1"}), &[]).unwrap()["items"].as_array().unwrap().len(), 1);
    // The phase key goes only to participants.
    let k = w.call(&o2, "GetPhaseKey", json!({"project":"p1","phase":"P1"}), &[]).unwrap();
    assert_eq!(k["key"], base64::engine::general_purpose::STANDARD.encode([9u8; 32]));
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let w = World::new();
    w.scenario();
    let (o1, o2, o3) = (user("Org1MSP", 1), user("Org2MSP", 1), user("Org3MSP", 1));
    let big = vec![b' '; MAX_RECORD_BYTES + 1];
    type Case<'a> = (&'a Identity, &'a str, serde_json::Value, Vec<(&'a str, Vec<u8>)>, &'a str);
    let cases: Vec<Case> = vec![
        (&o1, "CreateProject", json!("not an object"), vec![], "bad_request:"),
        (&o1, "CreateProject", json!({"id":"p1","name":"again"}), vec![], "conflict:"),
        (&o1, "CreateProject", json!({"id":"bad id","name":"x"}), vec![], "bad_request:"),
        (&o1, "CreateProject", json!({"id":"p2","name":"x","extra":1}), vec![], "bad_request:"),
        (&o1, "GetProject", json!({"id":"nope"}), vec![], "not_found:"),
        (&o1, "AddPhase", json!({"project":"p1","id":"P1","name":"dup","participants":[{"msp_id":"Org1MSP"}]}), vec![], "conflict:"),
        (&o1, "AddPhase", json!({"project":"nope","id":"X","name":"x","participants":[{"msp_id":"Org1MSP"}]}), vec![], "not_found:"),
        (&o1, "AddPhase", json!({"project":"p1","id":"X","name":"x","participants":[]}), vec![], "bad_request:"),
        (&o2, "AddPhase", json!({"project":"p1","id":"X","name":"x","participants":[{"msp_id":"Org2MSP"}]}), vec![], "forbidden:"),
        (
            &o1,
            "AddPhase",
            json!({"project":"p1","id":"X","name":"x","participants":[{"msp_id":"Org2MSP"}]}),
            vec![("phase_key", vec![1; 32])],
            "bad_request:",
        ),
        (
            &o1,
            "AddPhase",
            json!({"project":"p1","id":"X","name":"x","participants":[{"msp_id":"Org1MSP"}]}),
            vec![("phase_key", vec![1; 32])],
            "bad_request:",
        ),
        (&o1, "SetPhaseKey", json!({"project":"p1","phase":"P1"}), vec![("phase_key", vec![1; 5])], "bad_request:"),
        (&o2, "PutRecord", json!({"project":"p1","phase":"P1"}), vec![], "bad_request:"),
        (&o2, "PutRecord", json!({"project":"p1","phase":"P1"}), vec![("record_id", b"r1".to_vec())], "bad_request:"),
        (
            &o2,
            "PutRecord",
            json!({"project":"p1","phase":"P1"}),
            vec![("record_id", b"r1".to_vec()), ("record", b"{not json".to_vec())],
            "bad_request:",
        ),
        (&o2, "PutRecord", json!({"project":"p1","phase":"P1"}), vec![("record_id", b"r1".to_vec()), ("record", big)], "bad_request:"),
        (&o2, "PutRecord", json!({"project":"p1","phase":"P1"}), vec![("record_id", b"a b".to_vec()), ("record", b"{}".to_vec())], "bad_request:"),
        // A record id in the public arguments is refused: it would be written into the block.
        (&o2, "PutRecord", json!({"project":"p1","phase":"P1","id":"r1"}), doc("r1", json!({})), "bad_request:"),
        (&o2, "PutRecord", json!({"project":"p1","phase":"nope"}), doc("r1", json!({})), "not_found:"),
        (&o2, "GetRecord", json!({"project":"p1","phase":"P1","id":"nope"}), vec![], "not_found:"),
        (&o2, "Nope", json!({}), vec![], "bad_request:"),
        (
            &o2,
            "AnchorFile",
            json!({"project":"p1","phase":"P1"}),
            vec![("file", br#"{"id":"f1","name":"../x","size":1,"sha256":"00","content_type":"a","object_key":"k"}"#.to_vec())],
            "bad_request:",
        ),
        (&o3, "ActivatePhase", json!({"project":"p1","phase":"P2"}), vec![], "forbidden:"),
    ];
    for (as_, func, arg, transient, kind) in cases {
        w.refused(as_, func, arg, &transient, kind);
    }
}

#[test]
fn closed_phases_are_read_only_and_lifecycle_is_ordered() {
    let w = World::new();
    w.scenario();
    let (o1, o2) = (user("Org1MSP", 1), user("Org2MSP", 1));
    w.call(&o2, "PutRecord", json!({"project":"p1","phase":"P1"}), &doc("r1", json!({"a":1}))).unwrap();
    w.call(&o1, "ActivatePhase", json!({"project":"p1","phase":"P1"}), &[]).unwrap();
    w.refused(&o1, "ActivatePhase", json!({"project":"p1","phase":"P1"}), &[], "conflict:");
    w.refused(&o1, "UpdatePhase", json!({"project":"p1","id":"P1","position":7}), &[], "conflict:");
    // Orgs may change once active, but the data needs a participant of both sets to move it.
    let m = w.refused(&o1, "UpdatePhase", json!({"project":"p1","id":"P1","participants":[{"msp_id":"Org3MSP"}]}), &[], "conflict:");
    assert!(m.contains("add the new orgs first"), "{m}");
    // Identities within the same orgs may change once active.
    w.call(&o1, "UpdatePhase", json!({"project":"p1","id":"P1","participants":[{"msp_id":"Org1MSP","role":"admin"},{"msp_id":"Org2MSP"}]}), &[])
        .unwrap();
    w.call(&o1, "ClosePhase", json!({"project":"p1","phase":"P1"}), &[]).unwrap();
    w.refused(&o2, "PutRecord", json!({"project":"p1","phase":"P1"}), &doc("r1", json!({"a":2})), "conflict:");
    w.refused(&o1, "UpdatePhase", json!({"project":"p1","id":"P1","name":"renamed"}), &[], "conflict:");
    // Still readable by participants.
    assert_eq!(w.call(&o2, "GetRecord", json!({"project":"p1","phase":"P1","id":"r1"}), &[]).unwrap()["document"]["a"], 1);
    // Reorder and rename a planned phase: it goes first, the others shift down.
    let p = w.call(&o1, "UpdatePhase", json!({"project":"p1","id":"P3","position":0,"name":"audit first"}), &[]).unwrap();
    assert_eq!(p["position"], 0);
    w.refused(&o1, "UpdatePhase", json!({"project":"p1","id":"P3","position":3}), &[], "bad_request: position 3 is past the end");
    let order: Vec<String> = w
        .call(&o2, "ListPhases", json!({"project":"p1"}), &[])
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(order, vec!["P3", "P1", "P2"]);
}

impl World {
    /// The project's phases as the ledger holds them: (id, stored position), in stored order.
    fn stored_phases(&self, project: &str) -> Vec<(String, u64)> {
        let (start, end) = crate::keys::prefix_range(crate::keys::PHASE, &[project]);
        let ledger = self.ledger.borrow();
        let mut out: Vec<(String, u64)> = ledger
            .state
            .range(start..end)
            .map(|(_, v)| serde_json::from_slice::<serde_json::Value>(v).unwrap())
            .map(|p| (p["id"].as_str().unwrap().to_owned(), p["position"].as_u64().unwrap()))
            .collect();
        out.sort_by_key(|(_, pos)| *pos);
        out
    }
}

/// Positions are a real order: after any sequence of adds (at a place or at the end), moves and
/// refused moves, the project's phases are stored at exactly 0..n-1, in the order a plain list
/// predicts, and ListPhases shows that order.
#[test]
fn random_adds_and_moves_keep_positions_a_real_order() {
    for seed in [1u64, 7, 42, 2026] {
        let w = World::new();
        let o1 = user("Org1MSP", 1);
        w.call(&o1, "CreateProject", json!({"id":"ord","name":"order"}), &[]).unwrap();
        let mut expected: Vec<String> = Vec::new();
        let mut state = seed;
        let mut next = |n: u64| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        for step in 0..60 {
            let n = expected.len() as u64;
            match next(4) {
                // Add, at a place (0..=n) or, for n + 1, where it is left out (the end).
                0 | 1 if n < 12 => {
                    let id = format!("ph{step}");
                    let at = next(n + 2);
                    let mut arg = json!({"project":"ord","id":id,"name":"x","participants":[{"msp_id":"Org1MSP"}]});
                    if at <= n {
                        arg["position"] = json!(at);
                        expected.insert(at as usize, id);
                    } else {
                        expected.push(id);
                    }
                    w.call(&o1, "AddPhase", arg, &[]).unwrap();
                }
                // A move past the end is refused and changes nothing.
                2 if n > 0 => {
                    let id = &expected[next(n) as usize];
                    w.refused(&o1, "UpdatePhase", json!({"project":"ord","id":id,"position":n}), &[], "bad_request:");
                }
                _ if n > 0 => {
                    let (from, to) = (next(n) as usize, next(n) as usize);
                    let id = expected.remove(from);
                    let p = w.call(&o1, "UpdatePhase", json!({"project":"ord","id":id,"position":to}), &[]).unwrap();
                    assert_eq!(p["position"], to as u64);
                    expected.insert(to, id);
                }
                _ => continue,
            }
            let stored = w.stored_phases("ord");
            let want: Vec<(String, u64)> = expected.iter().cloned().zip(0u64..).collect();
            assert_eq!(stored, want, "seed {seed}, step {step}");
            let listed = w.call(&o1, "ListPhases", json!({"project":"ord"}), &[]).unwrap();
            let listed: Vec<(String, u64)> =
                listed.as_array().unwrap().iter().map(|p| (p["id"].as_str().unwrap().to_owned(), p["position"].as_u64().unwrap())).collect();
            assert_eq!(listed, want, "seed {seed}, step {step}");
        }
    }
}

#[test]
fn any_org_of_the_channel_takes_part_without_a_definition_change() {
    let w = World::new();
    let o1 = user("Org1MSP", 1);
    w.call(&o1, "CreateProject", json!({"id":"p1","name":"n"}), &[]).unwrap();
    let add = |id: &str, ps: serde_json::Value| json!({"project":"p1","id":id,"name":"x","participants":ps});
    for (id, ps) in [("A", json!([{"msp_id":"Org1MSP"},{"msp_id":"Org3MSP"}])), ("B", json!([{"msp_id":"Org2MSP"}]))] {
        let ph = w.call(&o1, "AddPhase", add(id, ps), &[]).unwrap();
        assert_eq!(ph["collection"], svcflow_model::phase::ORG_COPIES);
    }
    // An org that is not on the channel is named by its field...
    let m = w.refused(&o1, "AddPhase", add("C", json!([{"msp_id":"Org1MSP"},{"msp_id":"Org4MSP"}])), &[], "bad_request:");
    assert!(m.contains("participants[1].msp_id: Org4MSP is not an org of this channel"), "{m}");
    // ...and takes part as soon as it has joined the channel, with the same chaincode definition.
    w.ledger.borrow_mut().channel_orgs.insert("Org4MSP".into());
    w.call(&o1, "AddPhase", add("C", json!([{"msp_id":"Org1MSP"},{"msp_id":"Org4MSP"}])), &[]).unwrap();
    w.call(&o1, "SetPhaseKey", json!({"project":"p1","phase":"C"}), &[("phase_key", vec![9; 32])]).unwrap();
    w.call(&user("Org4MSP", 1), "PutRecord", json!({"project":"p1","phase":"C"}), &doc("r", json!({"by":4}))).unwrap();
    assert_eq!(w.call(&o1, "GetRecord", json!({"project":"p1","phase":"C","id":"r"}), &[]).unwrap()["document"]["by"], 4);
}

#[test]
fn a_write_goes_to_every_participants_copy_and_nowhere_else() {
    let w = World::new();
    w.scenario();
    w.call(&user("Org2MSP", 1), "PutRecord", json!({"project":"p1","phase":"P1"}), &doc("r1", json!({"a":1}))).unwrap();
    let l = w.ledger.borrow();
    let copy = |org: &str| l.private.get(&format!("_implicit_org_{org}")).cloned().unwrap_or_default();
    let key = record_key("P1", "r1");
    assert!(copy("Org1MSP").contains_key(&key) && copy("Org2MSP").contains_key(&key));
    assert_eq!(copy("Org1MSP").get(&key), copy("Org2MSP").get(&key));
    assert!(!copy("Org3MSP").keys().any(|k| crate::keys::of_phase(k, "p1", "P1")), "Org3 takes no part in P1");
    assert!(l.private.keys().all(|c| c.starts_with("_implicit_org_")), "no collection outside the orgs' own: {:?}", l.private.keys());
}

#[test]
fn copies_that_differ_are_refused_not_read() {
    let w = World::new();
    w.scenario();
    let (o1, o2) = (user("Org1MSP", 1), user("Org2MSP", 1));
    w.call(&o1, "PutRecord", json!({"project":"p1","phase":"P1"}), &doc("r1", json!({"a":1}))).unwrap();
    // Org2's copy altered on its own peer: Org1's peer sees its hash differ and says so, so a
    // write endorsed by both fails with a reason, not with endorsements that disagree.
    let key = record_key("P1", "r1");
    w.ledger.borrow_mut().private.get_mut("_implicit_org_Org2MSP").unwrap().insert(key, b"{}".to_vec());
    let m = w.refused(&o1, "GetRecord", json!({"project":"p1","phase":"P1","id":"r1"}), &[], "conflict:");
    assert!(m.contains("held by Org1MSP and Org2MSP differ"), "{m}");
    w.refused(&o2, "PutRecord", json!({"project":"p1","phase":"P1"}), &doc("r1", json!({"a":2})), "conflict:");
}

#[test]
fn files_anchor_once_and_only_for_participants() {
    let w = World::new();
    w.scenario();
    let (o1, o3) = (user("Org1MSP", 1), user("Org3MSP", 1));
    let anchor = |name: &str| {
        vec![(
            "file",
            json!({"id":"f1","name":name,"size":5,"sha256":"ab".repeat(32),"content_type":"text/plain","object_key":"p1/P1/f1","key_version":1})
                .to_string()
                .into_bytes(),
        )]
    };
    let a = w.call(&o1, "AnchorFile", json!({"project":"p1","phase":"P1"}), &anchor("a.txt")).unwrap();
    // The answer (written into the block) names no file, name or hash...
    assert_eq!(a, json!({"project":"p1","phase":"P1","tx_id":"tx8"}));
    // ...a participant asks which file it was.
    let c = w.call(&o1, "GetChange", json!({"project":"p1","phase":"P1","tx_id":"tx8"}), &[]).unwrap();
    assert_eq!(c["file"], "f1");
    w.refused(&o3, "GetChange", json!({"project":"p1","phase":"P1","tx_id":"tx8"}), &[], "forbidden:");
    w.refused(&o1, "AnchorFile", json!({"project":"p1","phase":"P1"}), &anchor("b.txt"), "conflict:");
    w.refused(&o3, "GetFile", json!({"project":"p1","phase":"P1","id":"f1"}), &[], "forbidden:");
    assert_eq!(w.call(&o1, "ListFiles", json!({"project":"p1","phase":"P1"}), &[]).unwrap()["items"].as_array().unwrap().len(), 1);
}

#[test]
fn projects_paginate_and_events_carry_ids_only() {
    let w = World::new();
    let o1 = user("Org1MSP", 1);
    for i in 0..5 {
        w.call(&o1, "CreateProject", json!({"id":format!("q{i}"),"name":"n"}), &[]).unwrap();
    }
    let p1 = w.call(&o1, "ListProjects", json!({"page_size":2}), &[]).unwrap();
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    let p2 = w.call(&o1, "ListProjects", json!({"page_size":2,"bookmark":p1["bookmark"]}), &[]).unwrap();
    let p3 = w.call(&o1, "ListProjects", json!({"page_size":2,"bookmark":p2["bookmark"]}), &[]).unwrap();
    assert_eq!(p3["items"].as_array().unwrap().len(), 1);
    assert_eq!(p3["bookmark"], "");
    w.refused(&o1, "ListProjects", json!({"page_size":0}), &[], "bad_request:");
    // A peer identity cannot create projects.
    w.refused(&who("Org1MSP", "peer0", Role::Peer), "CreateProject", json!({"id":"z","name":"n"}), &[], "forbidden:");
    // Events: ids, no contents.
    let stub = MemStub::new(&w.ledger, "txe", o1.clone());
    block_on(invoke(&stub, &[b"AddPhase".to_vec(), br#"{"project":"q0","id":"A","name":"n","participants":[{"msp_id":"Org1MSP"}]}"#.to_vec()]))
        .unwrap();
    let ev = stub.events.borrow();
    assert_eq!(ev[0].0, "PhaseAdded");
    let payload: serde_json::Value = serde_json::from_slice(&ev[0].1).unwrap();
    assert_eq!(payload, json!({"project":"q0","phase":"A","tx_id":"txe"}));
}

#[test]
fn a_peer_outside_the_phase_says_it_holds_nothing() {
    let w = World::new();
    w.scenario();
    let o1 = user("Org1MSP", 1);
    w.call(&o1, "PutRecord", json!({"project":"p1","phase":"P1"}), &doc("r1", json!({"a":1}))).unwrap();
    // Org1 User1 (a participant) asks Org3's peer, which holds only the hashes of P1's data.
    let read = |func: &str, arg: serde_json::Value| w.on_peer(&o1, "Org3MSP", func, arg).unwrap_err();
    for (func, arg) in [
        ("GetRecord", json!({"project":"p1","phase":"P1","id":"r1"})),
        ("ListRecords", json!({"project":"p1","phase":"P1"})),
        ("GetPhaseKey", json!({"project":"p1","phase":"P1"})),
    ] {
        let e = read(func, arg);
        assert_eq!(e.kind(), svcflow_model::ErrorKind::Forbidden, "{func}: {e}");
        let m = e.to_string();
        assert!(m.contains("Org3MSP takes no part in phase P1") && m.contains("holds no copy"), "{m}");
    }
}

/// An anchor for AnchorFile's transient map.
fn anchor(id: &str, key_version: u32) -> Vec<(&'static str, Vec<u8>)> {
    let a = json!({"id":id,"name":format!("{id}.txt"),"size":5,"sha256":"ab".repeat(32),"content_type":"text/plain","object_key":format!("p1/P1/{id}"),"key_version":key_version});
    vec![("file", a.to_string().into_bytes())]
}

fn batch_of(w: &World, as_: &Identity) -> serde_json::Value {
    batch_after(w, as_, "")
}

fn batch_after(w: &World, as_: &Identity, after: &str) -> serde_json::Value {
    w.call(as_, "ReadMigrationBatch", json!({"project":"p1","phase":"P1","after":after}), &[]).unwrap()
}

/// How many of p1/P1's values `org`'s copy holds, as `as_` asks `org`'s peer.
fn held(w: &World, as_: &Identity, collection: &str) -> u64 {
    let peer = collection.strip_prefix("_implicit_org_").unwrap_or(&as_.msp_id);
    let arg = json!({"project":"p1","phase":"P1","collection":collection});
    w.on_peer(as_, peer, "PhaseHoldings", arg).unwrap()["values"].as_u64().unwrap()
}

fn migrate(w: &World, as_: &Identity, batch: &serde_json::Value) -> Result<serde_json::Value> {
    w.call(as_, "MigratePhase", json!({"project":"p1","phase":"P1"}), &[("batch", batch.to_string().into_bytes())])
}

/// The migration of p1/P1 as `ListPhases` shows it (null when none).
fn migration_now(w: &World, as_: &Identity) -> serde_json::Value {
    let phases = w.call(as_, "ListPhases", json!({"project":"p1"}), &[]).unwrap();
    phases.as_array().unwrap().iter().find(|p| p["id"] == "P1").unwrap()["migration"].clone()
}

/// Steps p1/P1's fill to its end as `as_` (the walk, the recheck, the sealed last step); the
/// steps it took.
fn fill(w: &World, as_: &Identity) -> Vec<serde_json::Value> {
    let mut steps = Vec::new();
    loop {
        let m = migration_now(w, as_);
        let joining = m["participants"].as_array().is_some_and(|ps| {
            let now = w.call(as_, "ListPhases", json!({"project":"p1"}), &[]).unwrap();
            let now = now.as_array().unwrap().iter().find(|p| p["id"] == "P1").unwrap()["participants"].clone();
            ps.iter().any(|p| !now.as_array().unwrap().iter().any(|q| q["msp_id"] == p["msp_id"]))
        });
        if !joining {
            return steps;
        }
        assert!(steps.len() < 20, "the fill does not end: {steps:?}");
        steps.push(migrate(w, as_, &batch_of(w, as_)).unwrap());
    }
}

#[test]
fn an_org_swapped_on_an_active_phase_leaves_at_once_and_the_joiner_receives_a_copy() {
    let w = World::new();
    w.scenario();
    let (o1, o2, o3) = (user("Org1MSP", 1), user("Org2MSP", 1), user("Org3MSP", 1));
    let p1 = json!({"project":"p1","phase":"P1"});
    w.call(&o2, "PutRecord", p1.clone(), &doc("r1", json!({"v":1}))).unwrap();
    w.call(&o1, "PutRecord", p1.clone(), &doc("r1", json!({"v":2}))).unwrap();
    w.call(&o1, "AnchorFile", p1.clone(), &anchor("f1", 1)).unwrap();
    w.call(&o1, "ActivatePhase", p1.clone(), &[]).unwrap();
    // {Org1, Org2} -> {Org1, Org3}: Org2 leaves, so the key rotates; Org2 is out at once, Org3 in
    // once its copy is filled.
    let ph = w.call(&o1, "UpdatePhase", json!({"project":"p1","id":"P1","participants":[{"msp_id":"Org1MSP"},{"msp_id":"Org3MSP"}]}), &[]).unwrap();
    assert_eq!(ph["key_version"], 2);
    assert_eq!(ph["collection"], svcflow_model::phase::ORG_COPIES);
    assert_eq!(ph["participants"], json!([{"msp_id":"Org1MSP"}]));
    assert_eq!(ph["migration"]["purge"], json!(["Org2MSP"]));
    // While Org3 receives its copy: the staying participants read (and may write, see
    // writes_during_a_fill_reach_the_joiner); the phase itself waits.
    assert_eq!(w.call(&o1, "GetRecord", json!({"project":"p1","phase":"P1","id":"r1"}), &[]).unwrap()["version"], 2);
    w.refused(&o2, "GetRecord", json!({"project":"p1","phase":"P1","id":"r1"}), &[], "forbidden:");
    w.refused(&o3, "GetRecord", json!({"project":"p1","phase":"P1","id":"r1"}), &[], "forbidden:");
    let m = w.refused(&o1, "UpdatePhase", json!({"project":"p1","id":"P1","participants":[{"msp_id":"Org1MSP"}]}), &[], "conflict:");
    assert!(m.contains("Org3MSP is receiving a copy"), "{m}");
    w.refused(&o1, "ClosePhase", p1.clone(), &[], "conflict:");
    // Only a staying participant reads a batch and moves it.
    w.refused(&o3, "ReadMigrationBatch", p1.clone(), &[], "forbidden:");
    w.refused(&o2, "ReadMigrationBatch", p1.clone(), &[], "forbidden:");
    let batch = batch_of(&w, &o1);
    assert_eq!(batch["last"], true);
    // r1 and its superseded version 1, f1, key v1, 3 changes.
    assert_eq!(batch["items"].as_array().unwrap().len(), 7);
    w.refused(&o2, "MigratePhase", p1.clone(), &[("batch", batch.to_string().into_bytes())], "forbidden:");
    // A value that is not what the staying copies hold is refused.
    let mut forged = batch.clone();
    forged["items"][0]["value"] = json!(base64::engine::general_purpose::STANDARD.encode(b"{\"forged\":true}"));
    let m = w.refused(&o1, "MigratePhase", p1.clone(), &[("batch", forged.to_string().into_bytes())], "conflict:");
    assert!(m.contains("is not what _implicit_org_Org1MSP holds"), "{m}");
    let mut foreign = batch.clone();
    foreign["items"][0]["key"] = json!(crate::keys::record("p1", "P2", "r2"));
    w.refused(&o1, "MigratePhase", p1.clone(), &[("batch", foreign.to_string().into_bytes())], "bad_request:");
    // An empty batch marked last, or one that leaves out a key the chaincode can name (the phase's
    // key), ends nothing.
    let m = w.refused(&o1, "MigratePhase", p1.clone(), &[("batch", json!({"items":[],"last":true}).to_string().into_bytes())], "conflict:");
    assert!(m.contains("leaves out a value its range covers (version 1"), "{m}");
    let mut short = batch.clone();
    short["items"].as_array_mut().unwrap().remove(4);
    w.refused(&o1, "MigratePhase", p1.clone(), &[("batch", short.to_string().into_bytes())], "conflict:");
    // A batch must list keys the phase holds, in order, from where the migration stands.
    let mut forged = batch.clone();
    forged["items"][6]["key"] = json!(crate::keys::record_version("p1", "P1", &"f".repeat(32), 999));
    w.refused(&o1, "MigratePhase", p1.clone(), &[("batch", forged.to_string().into_bytes())], "conflict:");
    let mut elsewhere = batch.clone();
    elsewhere["after"] = batch["items"][0]["key"].clone();
    elsewhere["items"].as_array_mut().unwrap().remove(0);
    let m = w.refused(&o1, "MigratePhase", p1.clone(), &[("batch", elsewhere.to_string().into_bytes())], "conflict:");
    assert!(m.contains("does not start where the migration"), "{m}");
    let walked = migrate(&w, &o1, &batch).unwrap();
    assert_eq!((walked["moved"].as_u64(), walked["total"].as_u64(), walked["done"].as_bool()), (Some(7), Some(7), Some(false)));
    assert_eq!(migration_now(&w, &o1)["rechecking"], true);
    // Nothing was written meanwhile: the recheck finds nothing, seals, and ends the fill.
    let rest = fill(&w, &o1);
    assert_eq!(rest.len(), 2, "{rest:?}");
    assert!(rest.iter().all(|s| s["moved"] == 0 && s["done"] == false), "{rest:?}");
    // The fill is done: Org3 takes part; Org2's copy is purged next, writes do not wait for it.
    let ph = w.call(&o1, "ListPhases", json!({"project":"p1"}), &[]).unwrap()[0].clone();
    assert_eq!(
        (ph["participants"].clone(), ph["migration"]["purge"].clone()),
        (json!([{"msp_id":"Org1MSP"},{"msp_id":"Org3MSP"}]), json!(["Org2MSP"]))
    );
    // The purge lists keys only; an empty last one ends nothing either.
    let purge = batch_of(&w, &o1);
    assert!(purge["items"].as_array().unwrap().iter().all(|i| i["value"] == ""), "{purge}");
    let empty = json!({"items":[],"last":true}).to_string().into_bytes();
    assert!(w.call_at(&o1, "Org2MSP", "MigratePhase", p1.clone(), &[("batch", empty)]).unwrap_err().to_string().contains("leaves out"));
    let done = w.call_at(&o1, "Org2MSP", "MigratePhase", p1.clone(), &[("batch", purge.to_string().into_bytes())]).unwrap();
    assert_eq!((done["moved"].as_u64(), done["done"].as_bool()), (Some(7), Some(true)));
    // Replaying the batch finds nothing to move.
    assert!(migrate(&w, &o1, &batch).is_err());
    let ph = w.call(&o1, "ListPhases", json!({"project":"p1"}), &[]).unwrap()[0].clone();
    assert_eq!((ph["collection"].as_str(), ph.get("migration")), (Some(svcflow_model::phase::ORG_COPIES), None));
    assert_eq!(ph["participants"], json!([{"msp_id":"Org1MSP"},{"msp_id":"Org3MSP"}]));
    // The leaver's copy keeps nothing of P1, Org1's never moved, the joiner's has everything.
    assert_eq!(held(&w, &o2, "_implicit_org_Org2MSP"), 0);
    assert_eq!(held(&w, &o1, "_implicit_org_Org1MSP"), 7);
    assert_eq!(held(&w, &o3, "_implicit_org_Org3MSP"), 7);
    let h = w.call(&o3, "RecordHistory", json!({"project":"p1","phase":"P1","id":"r1"}), &[]).unwrap();
    assert_eq!(h["items"].as_array().unwrap().len(), 2);
    assert_eq!(w.call(&o3, "GetFile", json!({"project":"p1","phase":"P1","id":"f1"}), &[]).unwrap()["key_version"], 1);
    assert_eq!(
        w.call(&o3, "GetPhaseKey", json!({"project":"p1","phase":"P1","version":1}), &[]).unwrap()["key"],
        base64::engine::general_purpose::STANDARD.encode([9u8; 32])
    );
    w.refused(&o3, "GetPhaseKey", p1.clone(), &[], "not_found:");
    w.refused(&o2, "GetRecord", json!({"project":"p1","phase":"P1","id":"r1"}), &[], "forbidden:");
    // The new key version; an upload sealed with the old one is refused.
    w.call(&o3, "SetPhaseKey", p1.clone(), &[("phase_key", vec![3; 32])]).unwrap();
    assert_eq!(w.call(&o1, "GetPhaseKey", p1.clone(), &[]).unwrap()["version"], 2);
    w.refused(&o2, "GetPhaseKey", json!({"project":"p1","phase":"P1","version":2}), &[], "forbidden:");
    let m = w.refused(&o3, "AnchorFile", p1.clone(), &anchor("f2", 1), "conflict:");
    assert!(m.contains("upload it again"), "{m}");
    w.call(&o3, "AnchorFile", p1.clone(), &anchor("f2", 2)).unwrap();
    // Resealing f1 under version 2 keeps its size and hash.
    let reseal = |v: u32, sha: &str| {
        vec![("file", json!({"id":"f1","object_key":"p1/P1/f1.2","key_version":v,"size":5,"sha256":sha}).to_string().into_bytes())]
    };
    w.refused(&o1, "ResealFile", p1.clone(), &reseal(2, &"cd".repeat(32)), "conflict:");
    w.refused(&o1, "ResealFile", p1.clone(), &reseal(1, &"ab".repeat(32)), "conflict:");
    w.call(&o1, "ResealFile", p1.clone(), &reseal(2, &"ab".repeat(32))).unwrap();
    let f1 = w.call(&o3, "GetFile", json!({"project":"p1","phase":"P1","id":"f1"}), &[]).unwrap();
    assert_eq!((f1["key_version"].as_u64(), f1["object_key"].as_str()), (Some(2), Some("p1/P1/f1.2")));
}

#[test]
fn a_leaver_is_out_at_once_and_its_copy_purged_while_writes_go_on() {
    let w = World::new();
    w.scenario();
    let (o1, o2, o3) = (user("Org1MSP", 1), user("Org2MSP", 1), user("Org3MSP", 1));
    let p1 = json!({"project":"p1","phase":"P1"});
    let all = json!([{"msp_id":"Org1MSP"},{"msp_id":"Org2MSP"},{"msp_id":"Org3MSP"}]);
    w.call(&o1, "UpdatePhase", json!({"project":"p1","id":"P1","participants":all}), &[]).unwrap();
    let join = w.call(&o2, "ApprovePhaseChange", p1.clone(), &[]).unwrap();
    fill(&w, &o1);
    assert_eq!(join["key_version"], 1, "a join takes nothing away");
    w.call(&o3, "PutRecord", p1.clone(), &doc("r1", json!({"v":1}))).unwrap();
    // Org3 leaves: out at once, no write waits; its copy is purged by later steps.
    let ph = w.call(&o1, "UpdatePhase", json!({"project":"p1","id":"P1","participants":[{"msp_id":"Org1MSP"},{"msp_id":"Org2MSP"}]}), &[]).unwrap();
    assert_eq!((ph["key_version"].as_u64(), ph["migration"]["purge"].clone()), (Some(2), json!(["Org3MSP"])));
    w.refused(&o3, "GetRecord", json!({"project":"p1","phase":"P1","id":"r1"}), &[], "forbidden:");
    // Writes wait for the key the leaver never gets: their salts derive from it.
    w.refused(&o2, "PutRecord", p1.clone(), &doc("r2", json!({"v":1})), "conflict:");
    w.call(&o2, "SetPhaseKey", p1.clone(), &[("phase_key", vec![4; 32])]).unwrap();
    w.call(&o2, "PutRecord", p1.clone(), &doc("r2", json!({"v":1}))).unwrap();
    // The batch names keys only: nothing is copied, so no value travels.
    let batch = batch_of(&w, &o2);
    assert!(batch["items"].as_array().unwrap().iter().all(|i| i["value"] == ""), "{batch}");
    // It lists every key of the staying copy; what Org3 never held (r2, its change, key v2) it
    // has nothing to purge of.
    assert_eq!(batch["items"].as_array().unwrap().len(), held(&w, &o2, "_implicit_org_Org2MSP") as usize);
    assert_eq!(held(&w, &o2, "_implicit_org_Org2MSP"), held(&w, &o3, "_implicit_org_Org3MSP") + 3);
    // The leaver cannot hold the phase up: its orgs change again meanwhile, the purge goes along.
    let ph = w
        .call(&o1, "UpdatePhase", json!({"project":"p1","id":"P1","participants":[{"msp_id":"Org1MSP"},{"msp_id":"Org2MSP","role":"client"}]}), &[])
        .unwrap();
    assert_eq!(ph["migration"]["purge"], json!(["Org3MSP"]));
    let done = migrate(&w, &o2, &batch_of(&w, &o2)).unwrap();
    assert_eq!(done["done"], true);
    assert_eq!(held(&w, &o3, "_implicit_org_Org3MSP"), 0);
    assert_eq!(w.call(&o1, "GetRecord", json!({"project":"p1","phase":"P1","id":"r1"}), &[]).unwrap()["version"], 1);
}

#[test]
fn a_phase_of_an_org_set_collection_keeps_working_and_moves_to_per_org_copies() {
    let w = World::with(MemLedger::channel(&["Org1MSP", "Org2MSP", "Org3MSP"]).with_org_set_collection(&["Org1MSP", "Org2MSP"]));
    let (o1, o2) = (user("Org1MSP", 1), user("Org2MSP", 1));
    w.call(&o1, "CreateProject", json!({"id":"p1","name":"n"}), &[]).unwrap();
    w.call(&o1, "AddPhase", json!({"project":"p1","id":"P1","name":"x","participants":[{"msp_id":"Org1MSP"},{"msp_id":"Org2MSP"}]}), &[]).unwrap();
    // As an older version created it: one collection of its org set.
    let key = crate::keys::phase("p1", "P1");
    let mut ph: serde_json::Value = serde_json::from_slice(&w.ledger.borrow().state[&key]).unwrap();
    ph["collection"] = json!("col_Org1MSP_Org2MSP");
    ph["blinded"] = json!(false);
    w.ledger.borrow_mut().state.insert(key, ph.to_string().into_bytes());
    let p1 = json!({"project":"p1","phase":"P1"});
    for i in 0..3 {
        w.call(&o2, "PutRecord", p1.clone(), &doc(&format!("r{i}"), json!({"i":i}))).unwrap();
    }
    assert_eq!(w.call(&o1, "GetRecord", json!({"project":"p1","phase":"P1","id":"r1"}), &[]).unwrap()["document"]["i"], 1);
    assert_eq!(held(&w, &o1, "col_Org1MSP_Org2MSP"), 6);
    // Setting its participants (the same ones here) moves it to per-org copies.
    let ph = w.call(&o1, "UpdatePhase", json!({"project":"p1","id":"P1","participants":[{"msp_id":"Org1MSP"},{"msp_id":"Org2MSP"}]}), &[]).unwrap();
    assert_eq!(
        (ph["migration"]["from"].as_str(), ph["migration"]["to"].as_str()),
        (Some("col_Org1MSP_Org2MSP"), Some(svcflow_model::phase::ORG_COPIES))
    );
    w.refused(&o2, "PutRecord", p1.clone(), &doc("r9", json!({})), "conflict:");
    let first = batch_after(&w, &o1, "");
    assert_eq!(first["items"].as_array().unwrap().len(), 6);
    migrate(&w, &o1, &first).unwrap();
    assert_eq!(held(&w, &o1, "col_Org1MSP_Org2MSP"), 0);
    assert_eq!((held(&w, &o1, "_implicit_org_Org1MSP"), held(&w, &o2, "_implicit_org_Org2MSP")), (6, 6));
    assert_eq!(all_records(&w, &o2), 3);
    w.call(&o2, "PutRecord", p1, &doc("r9", json!({}))).unwrap();
    assert_eq!(w.call(&o1, "ListPhases", json!({"project":"p1"}), &[]).unwrap()[0]["collection"], svcflow_model::phase::ORG_COPIES);
}

#[test]
fn a_large_migration_goes_in_batches_and_resumes_where_it_stopped() {
    let w = World::new();
    w.scenario();
    let (o1, o2) = (user("Org1MSP", 1), user("Org2MSP", 1));
    let p1 = json!({"project":"p1","phase":"P1"});
    for i in 0..250 {
        w.call(&o2, "PutRecord", p1.clone(), &doc(&format!("r{i:03}"), json!({"i":i}))).unwrap();
    }
    // An org joins: nothing is taken away, so the key stays.
    let ph = w
        .call(
            &o1,
            "UpdatePhase",
            json!({"project":"p1","id":"P1","participants":[{"msp_id":"Org1MSP"},{"msp_id":"Org2MSP"},{"msp_id":"Org3MSP"}]}),
            &[],
        )
        .unwrap();
    assert_eq!((ph["key_version"].as_u64(), ph["proposal"]["needs"].clone()), (Some(1), json!(["Org1MSP", "Org2MSP"])));
    w.call(&o2, "ApprovePhaseChange", p1.clone(), &[]).unwrap();
    // 250 records, 250 changes and one key: two batches.
    let first = batch_of(&w, &o2);
    assert_eq!((first["items"].as_array().unwrap().len(), first["last"].as_bool()), (svcflow_model::migration::MAX_BATCH_ITEMS, Some(false)));
    let step = migrate(&w, &o2, &first).unwrap();
    assert_eq!(step["done"], false);
    // The next read goes on after the batch; a driver that starts again from the first value
    // skips what Org3's copy holds already, and both find the same rest.
    let second = batch_after(&w, &o1, first["next"].as_str().unwrap());
    let mut again = batch_of(&w, &o2);
    again["next"] = second["next"].clone();
    assert_eq!(second, again);
    assert_eq!((second["items"].as_array().unwrap().len(), second["last"].as_bool()), (1, Some(true)));
    // Reads during the migration see everything from the staying copies.
    assert_eq!(all_records(&w, &o1), 250);
    assert_eq!(w.call(&o1, "GetRecord", json!({"project":"p1","phase":"P1","id":"r000"}), &[]).unwrap()["document"]["i"], 0);
    let walked = migrate(&w, &o1, &second).unwrap();
    assert_eq!((walked["total"].as_u64(), walked["done"].as_bool()), (Some(501), Some(false)));
    let rest = fill(&w, &o1);
    assert_eq!(rest.last().map(|s| (s["total"].as_u64(), s["done"].as_bool())), Some((Some(501), Some(true))));
    assert_eq!(all_records(&w, &user("Org3MSP", 1)), 250);
}

#[test]
fn writes_during_a_fill_reach_the_joiner() {
    let w = World::new();
    w.scenario();
    let (o1, o2, o3) = (user("Org1MSP", 1), user("Org2MSP", 1), user("Org3MSP", 1));
    let p1 = json!({"project":"p1","phase":"P1"});
    let rec = |id: &str| json!({"project":"p1","phase":"P1","id":id});
    for i in 0..3 {
        w.call(&o2, "PutRecord", p1.clone(), &doc(&format!("r{i}"), json!({"v":0}))).unwrap();
    }
    let all = json!([{"msp_id":"Org1MSP"},{"msp_id":"Org2MSP"},{"msp_id":"Org3MSP"}]);
    w.call(&o1, "UpdatePhase", json!({"project":"p1","id":"P1","participants":all}), &[]).unwrap();
    w.call(&o2, "ApprovePhaseChange", p1.clone(), &[]).unwrap();
    // The walk passes every key; then Org1 writes r1 (passed already) and a new r9.
    let walk = batch_of(&w, &o1);
    migrate(&w, &o1, &walk).unwrap();
    assert_eq!(migration_now(&w, &o1)["rechecking"], true);
    w.call(&o1, "PutRecord", p1.clone(), &doc("r1", json!({"v":1}))).unwrap();
    w.call(&o1, "PutRecord", p1.clone(), &doc("r9", json!({"v":1}))).unwrap();
    // Org3 is not in yet, and its copy still has r1's first version only.
    w.refused(&o3, "GetRecord", rec("r1"), &[], "forbidden:");
    // The recheck carries what was written, with values Org3 lacks.
    let recheck = batch_of(&w, &o1);
    let keys: Vec<&str> = recheck["items"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
    // r1, its superseded version (salted anew), its change; r9 and its change.
    assert_eq!((keys.len(), recheck["last"].as_bool(), recheck["after"].as_str()), (5, Some(true), None), "{recheck}");
    assert!(recheck["items"].as_array().unwrap().iter().all(|i| i["value"] != ""), "{recheck}");
    // A write lands between the read and the step that takes it (the step seals the phase).
    w.call(&o2, "PutRecord", p1.clone(), &doc("r2", json!({"v":2}))).unwrap();
    let sealed = migrate(&w, &o1, &recheck).unwrap();
    assert_eq!((sealed["moved"].as_u64(), sealed["done"].as_bool()), (Some(5), Some(false)));
    assert_eq!(migration_now(&w, &o1)["sealed"], true);
    // Sealed: writes wait that one step, told to come again; reads go on.
    let m = w.refused(&o1, "PutRecord", p1.clone(), &doc("r3", json!({})), "unavailable:");
    assert!(m.contains("try again in a moment"), "{m}");
    assert_eq!(w.call(&o1, "GetRecord", rec("r2"), &[]).unwrap()["version"], 2);
    // The last batch has what was marked before the seal; an empty one would leave it out (the
    // chaincode cannot see that: Fabric's rule, see migration.rs), the driver reads it.
    let last = batch_of(&w, &o1);
    assert_eq!(last["items"].as_array().unwrap().len(), 3, "r2, its superseded version, its change: {last}");
    let done = migrate(&w, &o1, &last).unwrap();
    assert_eq!(done["done"], true);
    assert_eq!(migration_now(&w, &o1), serde_json::Value::Null);
    // Org3 takes part with every latest value, and writes go on, now to its copy too.
    assert_eq!(w.call(&o3, "GetRecord", rec("r1"), &[]).unwrap()["document"]["v"], 1);
    assert_eq!(w.call(&o3, "GetRecord", rec("r2"), &[]).unwrap()["document"]["v"], 2);
    assert_eq!(w.call(&o3, "GetRecord", rec("r9"), &[]).unwrap()["document"]["v"], 1);
    assert_eq!(w.call(&o3, "RecordHistory", rec("r1"), &[]).unwrap()["items"].as_array().unwrap().len(), 2);
    assert_eq!(held(&w, &o3, "_implicit_org_Org3MSP"), held(&w, &o1, "_implicit_org_Org1MSP"));
    w.call(&o3, "PutRecord", p1.clone(), &doc("r3", json!({}))).unwrap();
    assert_eq!(held(&w, &o3, "_implicit_org_Org3MSP"), held(&w, &o2, "_implicit_org_Org2MSP"));
    // No mark is left in any copy, and the progress kept apart is gone.
    let l = w.ledger.borrow();
    let marks = l.private.values().flat_map(|c| c.keys()).filter(|k| k.contains(crate::keys::WRITTEN_IN_FILL)).count();
    assert_eq!(marks, 0);
    assert!(!l.state.contains_key(&crate::keys::migration("p1", "P1")));
}

#[test]
fn removing_an_identity_rotates_the_key_without_moving_data() {
    let w = World::new();
    w.scenario();
    let (o1u1, o1u2) = (user("Org1MSP", 1), user("Org1MSP", 2));
    let p3 = json!({"project":"p1","phase":"P3"});
    // P3: Org1 User1 only. Add User2, then remove User1.
    let both = json!([{"msp_id":"Org1MSP","identity":"id-User1@Org1MSP"},{"msp_id":"Org1MSP","identity":"id-User2@Org1MSP"}]);
    let ph = w.call(&o1u1, "UpdatePhase", json!({"project":"p1","id":"P3","participants":both}), &[]).unwrap();
    assert_eq!((ph["key_version"].as_u64(), ph.get("migration")), (Some(1), None));
    w.call(&o1u2, "GetPhaseKey", p3.clone(), &[]).unwrap();
    let ph = w
        .call(&o1u1, "UpdatePhase", json!({"project":"p1","id":"P3","participants":[{"msp_id":"Org1MSP","identity":"id-User2@Org1MSP"}]}), &[])
        .unwrap();
    assert_eq!((ph["key_version"].as_u64(), ph.get("migration")), (Some(2), None));
    w.call(&o1u2, "SetPhaseKey", p3.clone(), &[("phase_key", vec![5; 32])]).unwrap();
    w.refused(&o1u1, "GetPhaseKey", p3.clone(), &[], "forbidden:");
    assert_eq!(w.call(&o1u2, "GetPhaseKey", json!({"project":"p1","phase":"P3","version":1}), &[]).unwrap()["version"], 1);
    w.refused(&o1u2, "GetPhaseKey", json!({"project":"p1","phase":"P3","version":3}), &[], "bad_request:");
}

/// How many records of p1/P1 `as_` reads, page after page (100 at most each).
fn all_records(w: &World, as_: &Identity) -> usize {
    let (mut n, mut bookmark) = (0, String::new());
    loop {
        let page = w.call(as_, "ListRecords", json!({"project":"p1","phase":"P1","page_size":100,"bookmark":bookmark}), &[]).unwrap();
        n += page["items"].as_array().unwrap().len();
        bookmark = page["bookmark"].as_str().unwrap().to_owned();
        if bookmark.is_empty() {
            return n;
        }
    }
}

#[test]
fn private_lists_come_in_bounded_pages() {
    let w = World::new();
    w.scenario();
    let (o1, o2) = (user("Org1MSP", 1), user("Org2MSP", 1));
    let p1 = json!({"project":"p1","phase":"P1"});
    for i in 0..5 {
        w.call(&o2, "PutRecord", p1.clone(), &doc(&format!("r{i}"), json!({"i":i}))).unwrap();
    }
    let page = |arg: serde_json::Value| w.call(&o1, "ListRecords", arg, &[]).unwrap();
    let ids = |p: &serde_json::Value| p["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    // Pages come in the order of the records' keyed names (which says nothing about the ids);
    // each bookmark is the last id of its page, and the pages cover every record once.
    let mut seen = Vec::new();
    let mut bookmark = String::new();
    for round in 0.. {
        let p = page(json!({"project":"p1","phase":"P1","page_size":2,"bookmark":bookmark}));
        let got = ids(&p);
        bookmark = p["bookmark"].as_str().unwrap().to_owned();
        assert_eq!(got.len(), if round < 2 { 2 } else { 1 }, "page {round}: {got:?}");
        if !bookmark.is_empty() {
            assert_eq!(Some(&bookmark), got.last());
        }
        seen.extend(got);
        if bookmark.is_empty() {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, ["r0", "r1", "r2", "r3", "r4"]);
    assert_eq!(all_records(&w, &o1), 5);
    w.refused(&o1, "ListRecords", json!({"project":"p1","phase":"P1","page_size":101}), &[], "bad_request:");
    w.refused(&o1, "ListRecords", json!({"project":"p1","phase":"P1","bookmark":"a b"}), &[], "bad_request:");
    // Big records: a page stops before 3.5 MiB of them, whatever its page_size.
    let big = "x".repeat((1 << 20) - 100);
    for i in 0..10 {
        w.call(&o2, "PutRecord", p1.clone(), &doc(&format!("s{i}"), json!({"pad":big}))).unwrap();
    }
    let p = page(json!({"project":"p1","phase":"P1","page_size":100}));
    let bigs = p["items"].as_array().unwrap().iter().filter(|r| r["id"].as_str().unwrap().starts_with('s')).count();
    assert!(bigs <= 3 && !p["bookmark"].as_str().unwrap().is_empty(), "{bigs} big records in one page");
    // History pages by version number.
    for v in 0..3 {
        w.call(&o2, "PutRecord", p1.clone(), &doc("h", json!({"v":v}))).unwrap();
    }
    let h = w.call(&o1, "RecordHistory", json!({"project":"p1","phase":"P1","id":"h","page_size":2}), &[]).unwrap();
    assert_eq!((h["items"][1]["version"].as_u64(), h["bookmark"].as_str()), (Some(2), Some("2")));
    let h = w.call(&o1, "RecordHistory", json!({"project":"p1","phase":"P1","id":"h","page_size":2,"bookmark":"2"}), &[]).unwrap();
    assert_eq!((h["items"][0]["version"].as_u64(), h["bookmark"].as_str()), (Some(3), Some("")));
    w.refused(&o1, "RecordHistory", json!({"project":"p1","phase":"P1","id":"h","bookmark":"x"}), &[], "bad_request:");
    // The latest version lives under the record's key only; one written before that change has it
    // under its version key too, and is listed once.
    w.call(&o2, "PutRecord", p1.clone(), &doc("old", json!({"v":1}))).unwrap();
    let held = |key: &str| w.ledger.borrow().private["_implicit_org_Org1MSP"].get(key).cloned();
    let old = super::blinding::name_under(&[9; 32], crate::keys::RECORD, "old");
    assert_eq!(held(&crate::keys::record_version("p1", "P1", &old, 1)), None);
    let latest = held(&record_key("P1", "old")).unwrap();
    for copy in ["_implicit_org_Org1MSP", "_implicit_org_Org2MSP"] {
        w.ledger.borrow_mut().private.get_mut(copy).unwrap().insert(crate::keys::record_version("p1", "P1", &old, 1), latest.clone());
    }
    let versions = |w: &World| -> Vec<u64> {
        let h = w.call(&o1, "RecordHistory", json!({"project":"p1","phase":"P1","id":"old"}), &[]).unwrap();
        h["items"].as_array().unwrap().iter().map(|r| r["version"].as_u64().unwrap()).collect()
    };
    assert_eq!(versions(&w), vec![1]);
    w.call(&o2, "PutRecord", p1.clone(), &doc("old", json!({"v":2}))).unwrap();
    assert_eq!(versions(&w), vec![1, 2]);
    assert_eq!(w.call(&o1, "ListFiles", p1, &[]).unwrap()["bookmark"], "");
}

#[test]
fn a_blinded_phase_keys_and_values_confirm_no_guess() {
    let w = World::new();
    w.scenario();
    let o2 = user("Org2MSP", 1);
    let p1 = json!({"project":"p1","phase":"P1"});
    let copy = |w: &World| w.ledger.borrow().private["_implicit_org_Org1MSP"].clone();
    w.call(&o2, "PutRecord", p1.clone(), &doc("r1", json!({"status":"approved"}))).unwrap();
    let first = copy(&w)[&record_key("P1", "r1")].clone();
    w.call(&o2, "PutRecord", p1.clone(), &doc("r1", json!({"status":"approved"}))).unwrap();
    let after = copy(&w);
    let phase_keys = crate::keys::prefix_range(crate::keys::PHASE_KEY, &[]);
    let values: Vec<_> = after.iter().filter(|(k, _)| crate::keys::of_phase(k, "p1", "P1") && !(phase_keys.0 <= **k && **k < phase_keys.1)).collect();
    assert_eq!(values.len(), 4, "record, its version 1 and two changes: {:?}", values.iter().map(|(k, _)| k).collect::<Vec<_>>());
    for (k, v) in &values {
        assert!(!k.contains("r1"), "key {k:?} names the record");
        let salt = serde_json::from_slice::<serde_json::Value>(v).unwrap()["salt"].as_str().unwrap().to_owned();
        assert!(salt.len() == 32 && salt.bytes().all(|b| b.is_ascii_hexdigit()), "{salt}");
    }
    // The superseded version moved to its own key with a new salt: its hash matches no earlier write.
    let v1 = &after[&crate::keys::record_version("p1", "P1", &super::blinding::name_under(&[9; 32], crate::keys::RECORD, "r1"), 1)];
    assert_ne!(crate::digest::sha256(v1), crate::digest::sha256(&first));
    let mut unique: Vec<_> = values.iter().map(|(_, v)| crate::digest::sha256(v)).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), values.len(), "two values hash alike");
    // Readers get the record without the salt.
    let r = w.call(&o2, "GetRecord", json!({"project":"p1","phase":"P1","id":"r1"}), &[]).unwrap();
    assert_eq!((r.get("salt"), r["version"].as_u64()), (None, Some(2)));
}

#[test]
fn phase_holdings_are_counted_for_participants_and_an_orgs_own_copy_only() {
    let w = World::new();
    w.scenario();
    let o3 = user("Org3MSP", 1);
    let count =
        |as_: &Identity, peer: &str, coll: &str| w.on_peer(as_, peer, "PhaseHoldings", json!({"project":"p1","phase":"P1","collection":coll}));
    let m = count(&o3, "Org1MSP", "_implicit_org_Org1MSP").unwrap_err().to_string();
    assert!(m.starts_with("forbidden:") && m.contains("not a participant"), "{m}");
    assert_eq!(count(&o3, "Org3MSP", "_implicit_org_Org3MSP").unwrap()["values"], 0, "its own org's copy it may count");
    assert!(count(&user("Org1MSP", 1), "Org1MSP", "_implicit_org_Org1MSP").unwrap()["values"].as_u64().unwrap() > 0);
}

#[test]
fn adding_to_a_phase_with_data_waits_for_every_staying_participant_org() {
    let w = World::new();
    w.scenario();
    let (o1, o2, o3) = (user("Org1MSP", 1), user("Org2MSP", 1), user("Org3MSP", 1));
    let p1 = json!({"project":"p1","phase":"P1"});
    w.call(&o2, "PutRecord", p1.clone(), &doc("r1", json!({"by":"Org2"}))).unwrap();
    let all = json!([{"msp_id":"Org1MSP"},{"msp_id":"Org2MSP"},{"msp_id":"Org3MSP"}]);
    // The owner (Org1, a participant) proposes Org3: Org1 approves by proposing, Org2 has not.
    let ph = w.call(&o1, "UpdatePhase", json!({"project":"p1","id":"P1","participants":all}), &[]).unwrap();
    assert_eq!((ph["participants"].as_array().map(Vec::len), ph.get("migration")), (Some(2), None));
    assert_eq!((ph["proposal"]["needs"].clone(), ph["proposal"]["approvals"].clone()), (json!(["Org1MSP", "Org2MSP"]), json!(["Org1MSP"])));
    w.refused(&o3, "GetRecord", json!({"project":"p1","phase":"P1","id":"r1"}), &[], "forbidden:");
    // Nobody but a staying participant org approves, each once.
    w.refused(&o3, "ApprovePhaseChange", p1.clone(), &[], "forbidden:");
    w.refused(&o1, "ApprovePhaseChange", p1.clone(), &[], "conflict:");
    w.refused(&user("Org1MSP", 2), "ApprovePhaseChange", json!({"project":"p1","phase":"P3"}), &[], "forbidden:");
    let ph = w.call(&o2, "ApprovePhaseChange", p1.clone(), &[]).unwrap();
    assert_eq!((ph.get("proposal"), ph["migration"]["participants"].as_array().map(Vec::len)), (None, Some(3)));
    w.refused(&o2, "ApprovePhaseChange", p1.clone(), &[], "conflict:");
    fill(&w, &o1);
    assert_eq!(w.call(&o3, "GetRecord", json!({"project":"p1","phase":"P1","id":"r1"}), &[]).unwrap()["document"]["by"], "Org2");
    // Removing needs nobody's approval, least of all the removed org's.
    let ph = w.call(&o1, "UpdatePhase", json!({"project":"p1","id":"P1","participants":[{"msp_id":"Org1MSP"},{"msp_id":"Org3MSP"}]}), &[]).unwrap();
    assert_eq!((ph["participants"].as_array().map(Vec::len), ph.get("proposal")), (Some(2), None));
    // A phase holding nothing yet (no key) takes anyone at once.
    w.call(&o1, "AddPhase", json!({"project":"p1","id":"E","name":"e","participants":[{"msp_id":"Org1MSP"},{"msp_id":"Org2MSP"}]}), &[]).unwrap();
    let ph = w.call(&o1, "UpdatePhase", json!({"project":"p1","id":"E","participants":all}), &[]).unwrap();
    assert_eq!((ph["migration"]["participants"].as_array().map(Vec::len), ph.get("proposal")), (Some(3), None));
}
