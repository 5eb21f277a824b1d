//! Filling joining orgs' copies of a phase, purging those of orgs that left, and moving an older
//! phase from its org set's collection to per-org copies; see `svcflow_model::migration` for why
//! a batch travels through the transient map.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use svcflow_model::call::{BatchRef, CollectionRef, PhaseRef};
use svcflow_model::lifecycle;
use svcflow_model::migration::{Batch, Holdings, Item, Progress, MAX_BATCH_BYTES, MAX_BATCH_ITEMS, MAX_BATCH_SCAN};
use svcflow_model::phase::{org_set, Migration, Phase, ORG_COPIES};

use super::copies::{self, not_held_here};
use super::phases;
use crate::collection::{implicit_name, IMPLICIT_PREFIX};
use svcflow_model::event::Event;

use super::{emit, projects};
use crate::digest::sha256;
use crate::error::{ContractError, Result};
use crate::keys;
use crate::stub::Stub;

fn migration_of(phase: &Phase) -> Result<&Migration> {
    phase.migration.as_ref().ok_or_else(|| ContractError::conflict(format!("phase {} of project {} is not migrating", phase.id, phase.project)))
}

/// Whether `key`'s value (hashed `hash`) still has to reach a receiving org's copy or leave a
/// purged one.
async fn pending<S: Stub>(stub: &S, m: &Migration, receiving: &[&str], key: &str, hash: &[u8]) -> Result<bool> {
    if m.from != ORG_COPIES {
        // From an org set's collection everything read is still there: each step purges it.
        return Ok(true);
    }
    for org in receiving {
        if stub.private_hash(&implicit_name(org), key).await?.as_deref() != Some(hash) {
            return Ok(true);
        }
    }
    for org in &m.purge {
        if stub.private_hash(&implicit_name(org), key).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The next values of the phase still to copy or purge after `after`, at most one batch, read
/// from this peer's copy (or the old org set's collection).
pub async fn read_batch<S: Stub>(stub: &S, req: BatchRef) -> Result<Batch> {
    let phase = phases::as_participant(stub, &req.project, &req.phase, false).await?;
    let m = migration_of(&phase)?;
    let source = copies::batch_source(stub, &phase, &m.from).map_err(|e| not_held_here(stub, &phase, e))?;
    let receiving = m.receiving(&phase);
    // A purge needs the keys only; the values go along only when a copy must receive them.
    let values = !receiving.is_empty();
    let mut batch = Batch::default();
    let (mut bytes, mut scanned) = (0, 0);
    let mut types = keys::PHASE_PRIVATE;
    types.sort_unstable_by_key(|t| keys::composite(t, &[]));
    for object_type in types {
        let (start, end) = keys::prefix_range(object_type, &[&phase.project, &phase.id]);
        // The smallest key after `after`: a composite key ends in \0, so none equals this one.
        let after = format!("{}\u{0}", req.after);
        let start = if req.after.is_empty() || after < start { start } else { after };
        if start >= end {
            continue;
        }
        // One more than fits, to know whether anything is left after this batch.
        let room = MAX_BATCH_SCAN + 1 - scanned;
        let pairs = stub.private_range_limit(&source, &start, &end, room).await.map_err(|e| not_held_here(stub, &phase, e))?;
        for (key, value) in pairs {
            if batch.items.len() == MAX_BATCH_ITEMS || bytes >= MAX_BATCH_BYTES || scanned == MAX_BATCH_SCAN {
                return Ok(batch);
            }
            scanned += 1;
            batch.next.clone_from(&key);
            if pending(stub, m, &receiving, &key, &sha256(&value)).await? {
                let value = if values { B64.encode(&value) } else { String::new() };
                bytes += value.len();
                batch.items.push(Item { key, value });
            }
        }
    }
    batch.last = true;
    Ok(batch)
}

/// Moves one batch: each value must be what a staying copy (or the old org set's collection)
/// holds, by its on-chain hash, which every endorser can read, holder or not. It is written to
/// every receiving copy that lacks it and purged from the copies of orgs that left (or from the
/// old collection). The batch marked last ends the migration.
pub async fn step<S: Stub>(stub: &S, req: PhaseRef, batch: Batch) -> Result<Progress> {
    batch.check_size()?;
    if batch.items.is_empty() && !batch.last {
        return Err(ContractError::bad("an empty batch must be the last"));
    }
    let mut phase = phases::get(stub, &req.project, &req.phase).await?;
    lifecycle::may_migrate(stub.creator(), &phase)?;
    let m = migration_of(&phase)?.clone();
    let receiving: Vec<String> = m.receiving(&phase).into_iter().map(implicit_name).collect();
    let (source, purge): (String, Vec<String>) = if m.from == ORG_COPIES {
        let staying = org_set(&phase.participants);
        let first = staying.first().ok_or_else(|| ContractError::conflict(format!("phase {} has no staying participant", phase.id)))?;
        (implicit_name(first), m.purge.iter().map(|o| implicit_name(o)).collect())
    } else {
        (m.from.clone(), vec![m.from.clone()])
    };
    for (i, item) in batch.items.iter().enumerate() {
        if !keys::of_phase(&item.key, &phase.project, &phase.id) {
            return Err(ContractError::bad(format!("batch item {i} is not a value of phase {}", phase.id)));
        }
        if !receiving.is_empty() {
            let value = B64.decode(item.value.as_bytes()).map_err(|e| ContractError::bad(format!("batch item {i}: value is not base64: {e}")))?;
            let hash = sha256(&value);
            if stub.private_hash(&source, &item.key).await?.as_deref() != Some(hash.as_slice()) {
                return Err(ContractError::conflict(format!(
                    "batch item {i} is not what {source} holds (moved already, or changed): read the next batch again"
                )));
            }
            for to in &receiving {
                if stub.private_hash(to, &item.key).await?.as_deref() != Some(hash.as_slice()) {
                    stub.put_private(to, &item.key, value.clone()).await?;
                }
            }
        }
        for from in &purge {
            if m.from != ORG_COPIES || stub.private_hash(from, &item.key).await?.is_some() {
                stub.purge_private(from, &item.key).await?;
            }
        }
    }
    let moved = batch.items.len() as u64;
    let total = m.moved + moved;
    if batch.last {
        phase.participants = m.participants;
        phase.collection = ORG_COPIES.into();
        phase.migration = None;
    } else {
        phase.migration = Some(Migration { moved: total, batches: m.batches + 1, ..m });
    }
    phases::put(stub, &phase).await?;
    emit(stub, if batch.last { Event::PhaseMigrated } else { Event::PhaseMigrating }, &phase.project, Some(&phase.id));
    Ok(Progress { project: phase.project, phase: phase.id, tx_id: stub.tx_id().to_owned(), moved, total, done: batch.last })
}

/// How many of the phase's values `collection` holds on this peer: an org's own check that it
/// kept nothing after leaving, or that its copy is whole. Counts name nothing private. (An older
/// org-set collection is member-only, so its peer refuses outsiders; an implicit collection is
/// not, and a peer outside the org answers 0: it holds none of that org's data.)
pub async fn holdings<S: Stub>(stub: &S, req: CollectionRef) -> Result<Holdings> {
    projects::get(stub, &req.project).await?;
    if !req.collection.starts_with("col_") && !req.collection.starts_with(IMPLICIT_PREFIX) {
        return Err(ContractError::bad(format!(
            "collection {:?} holds no phase's data: an org's copy is {IMPLICIT_PREFIX}<MSP id>, an older phase's collection col_...",
            req.collection
        )));
    }
    let mut values = 0;
    for object_type in keys::PHASE_PRIVATE {
        let (start, end) = keys::prefix_range(object_type, &[&req.project, &req.phase]);
        values += stub.private_range(&req.collection, &start, &end).await?.len() as u64;
    }
    Ok(Holdings { project: req.project, phase: req.phase, collection: req.collection, values })
}
