//! Where a phase's private values are read and written.
//!
//! A phase of per-org copies ([`ORG_COPIES`]) keeps one copy in the implicit collection of each
//! participant org, written in the same transaction. What the peer enforces then: only peers of
//! the participant orgs ever receive the values (an org's implicit collection is disseminated to
//! that org's peers alone), and a write commits only if a peer of every participant org endorsed
//! it (each implicit collection's endorsement policy is its org's `Endorsement` policy, and every
//! write goes to every copy). What the chaincode alone enforces: who may read (an implicit
//! collection is not member-only, so any client of the channel may ask a participant's peer; the
//! caller's identity is checked against the participants), and identities or roles within an org.
//!
//! A phase created before per-org copies has one collection of its org set (`col_…`); its values
//! are read and written there, and while it moves to per-org copies, what has moved is read from
//! the answering peer's copy.

use svcflow_model::phase::{org_set, Phase, ORG_COPIES};

use crate::collection::implicit_name;
use crate::digest::sha256;
use crate::error::{ContractError, Result};
use crate::keys;
use crate::stub::Stub;

/// The org of the peer running this transaction; a phase of per-org copies is read from its copy.
fn peer_org<S: Stub>(stub: &S) -> Result<&str> {
    stub.peer_msp().ok_or_else(|| {
        ContractError::Ledger(
            "this chaincode server does not know its peer's org (CHAINCODE_PEER_MSP_ID is not set), so it cannot tell which copy of a phase's data that peer holds".into(),
        )
    })
}

/// The collection holding this peer's copy of the phase's data, when its org takes part
/// (`orgs`: the phase's orgs, or the orgs of a migration's new participants).
fn own_copy<S: Stub>(stub: &S, phase: &Phase, orgs: &[&str]) -> Result<String> {
    let me = peer_org(stub)?;
    if !orgs.contains(&me) {
        return Err(not_a_holder(phase, me, orgs, "it holds no copy"));
    }
    Ok(implicit_name(me))
}

fn not_a_holder(phase: &Phase, org: &str, orgs: &[&str], said: &str) -> ContractError {
    ContractError::forbidden(format!(
        "this peer's org {org} takes no part in phase {} of project {} ({}), so it holds none of its data: ask a peer of a participant org ({said})",
        phase.id,
        phase.project,
        orgs.join(", ")
    ))
}

/// A private read of the phase's data from this peer's copy.
///
/// Every endorser of a write reads its own org's copy, and their read sets must be identical; so
/// each also reads the hash of the value in every other participant's copy (every peer holds
/// every hash), and a copy that differs is refused here rather than as endorsements that disagree.
pub(super) async fn read<S: Stub>(stub: &S, phase: &Phase, key: &str) -> Result<Option<Vec<u8>>> {
    if phase.in_org_copies() {
        let orgs = org_set(&phase.participants);
        let own = own_copy(stub, phase, &orgs)?;
        let value = stub.get_private(&own, key).await?;
        let hash = value.as_deref().map(sha256);
        for org in orgs {
            let other = implicit_name(org);
            if other != own && stub.private_hash(&other, key).await? != hash {
                return Err(ContractError::conflict(format!(
                    "the copies of phase {} held by {} and {org} differ for one value: a peer has not committed the latest block yet (try again), or a copy was altered",
                    phase.id,
                    peer_org(stub)?
                )));
            }
        }
        return Ok(value);
    }
    let found = stub.get_private(&phase.collection, key).await.map_err(|e| not_held_here(stub, phase, e))?;
    match (found, moved_copy(stub, phase)) {
        (None, Some(copy)) => stub.get_private(&copy, key).await,
        (found, _) => Ok(found),
    }
}

/// While a phase of an org set's collection moves to per-org copies: this peer's copy, where what
/// has moved already is, if its org is one of the new participants.
fn moved_copy<S: Stub>(stub: &S, phase: &Phase) -> Option<String> {
    let m = phase.migration.as_ref().filter(|m| m.to == ORG_COPIES)?;
    let me = stub.peer_msp()?;
    org_set(&m.participants).contains(&me).then(|| implicit_name(me))
}

/// Writes a value of the phase: to every participant's copy, or to its org set's collection.
///
/// While orgs receive their copies, the write goes to the staying participants' copies (their
/// peers endorse it; a joiner's could not, lacking values the write reads), and marks the key
/// there ([`written_mark`]): the fill copies every marked key again before the joiners take
/// part, so a key it had passed already reaches them with its latest value.
pub(super) async fn write<S: Stub>(stub: &S, phase: &Phase, key: &str, value: Vec<u8>) -> Result<()> {
    if !phase.in_org_copies() {
        return stub.put_private(&phase.collection, key, value).await;
    }
    let filling = phase.migration.as_ref().is_some_and(|m| m.filling(phase));
    let mark = filling.then(|| written_mark(phase, key, &value));
    for org in org_set(&phase.participants) {
        let copy = implicit_name(org);
        stub.put_private(&copy, key, value.clone()).await?;
        if let Some((name, note)) = &mark {
            stub.put_private(&copy, name, note.clone()).await?;
        }
    }
    Ok(())
}

/// A key written during a fill: the mark's name (by the key's hash, which the block carries
/// already) and its note, the key and the SHA-256 of what was written (the value carries fresh
/// randomness, so the note's own hash in the block confirms no guess).
fn written_mark(phase: &Phase, key: &str, value: &[u8]) -> (String, Vec<u8>) {
    let name = written_mark_name(phase, key);
    let note = serde_json::json!({ "key": key, "value_sha256": hex(&sha256(value)) });
    (name, note.to_string().into_bytes())
}

/// The name of the mark of `key` written during a fill (what a recheck step removes).
pub(super) fn written_mark_name(phase: &Phase, key: &str) -> String {
    keys::written_in_fill(&phase.project, &phase.id, &hex(&sha256(key.as_bytes())))
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first `limit` values of a range of the phase's data on this peer (with, while a phase of
/// an org set's collection moves to per-org copies, what has moved already).
pub(super) async fn range<S: Stub>(stub: &S, phase: &Phase, start: &str, end: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>> {
    if phase.in_org_copies() {
        let own = own_copy(stub, phase, &org_set(&phase.participants))?;
        return stub.private_range_limit(&own, start, end, limit).await;
    }
    let mut pairs = stub.private_range_limit(&phase.collection, start, end, limit).await.map_err(|e| not_held_here(stub, phase, e))?;
    if let Some(copy) = moved_copy(stub, phase) {
        pairs.extend(stub.private_range_limit(&copy, start, end, limit).await?);
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|a, b| a.0 == b.0);
        pairs.truncate(limit);
    }
    Ok(pairs)
}

/// The collection a migration batch is read from on this peer: its own copy (of a staying
/// participant), or the old org set's collection.
pub(super) fn batch_source<S: Stub>(stub: &S, phase: &Phase, from: &str) -> Result<String> {
    if from == ORG_COPIES {
        own_copy(stub, phase, &org_set(&phase.participants))
    } else {
        Ok(from.to_owned())
    }
}

/// `e` of a private read of an org set's collection, as a clear refusal when this peer's org
/// takes no part in the phase.
pub(super) fn not_held_here<S: Stub>(stub: &S, phase: &Phase, e: ContractError) -> ContractError {
    let orgs = org_set(&phase.participants);
    match (stub.peer_msp(), e) {
        (Some(m), ContractError::Ledger(said)) if !orgs.contains(&m) => not_a_holder(phase, m, &orgs, &format!("the peer said: {said}")),
        (_, e) => e,
    }
}
