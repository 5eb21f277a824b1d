//! Moving a migrating phase's values to the new org set's collection; see
//! `svcflow_model::migration` for why a batch travels through the transient map.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use svcflow_model::call::{CollectionRef, PhaseRef};
use svcflow_model::lifecycle;
use svcflow_model::migration::{Batch, Holdings, Item, Progress, MAX_BATCH_BYTES, MAX_BATCH_ITEMS};
use svcflow_model::phase::{Migration, Phase};

use super::phases::{self, not_held_here};
use svcflow_model::event::Event;

use super::{emit, projects};
use crate::digest::sha256;
use crate::error::{ContractError, Result};
use crate::keys;
use crate::stub::Stub;

fn migration_of(phase: &Phase) -> Result<&Migration> {
    phase.migration.as_ref().ok_or_else(|| ContractError::conflict(format!("phase {} of project {} is not migrating", phase.id, phase.project)))
}

/// The next values of the phase still in the old collection, at most one batch.
pub async fn read_batch<S: Stub>(stub: &S, req: PhaseRef) -> Result<Batch> {
    let phase = phases::as_participant(stub, &req.project, &req.phase, false).await?;
    let m = migration_of(&phase)?;
    let mut batch = Batch::default();
    let mut bytes = 0;
    for object_type in keys::PHASE_PRIVATE {
        let (start, end) = keys::prefix_range(object_type, &[&phase.project, &phase.id]);
        // One more than fits, to know whether anything is left after this batch.
        let room = MAX_BATCH_ITEMS + 1 - batch.items.len();
        let pairs = stub.private_range_limit(&m.from, &start, &end, room).await.map_err(|e| not_held_here(stub, &phase, e))?;
        for (key, value) in pairs {
            if batch.items.len() == MAX_BATCH_ITEMS || bytes >= MAX_BATCH_BYTES {
                return Ok(batch);
            }
            bytes += value.len();
            batch.items.push(Item { key, value: B64.encode(value) });
        }
    }
    batch.last = true;
    Ok(batch)
}

/// Moves one batch: each value must be what the old collection holds (its on-chain hash, which
/// every endorser can read, member of the old org set or not); it is written to the new
/// collection and purged from the old. The batch marked last ends the migration.
pub async fn step<S: Stub>(stub: &S, req: PhaseRef, batch: Batch) -> Result<Progress> {
    batch.check_size()?;
    if batch.items.is_empty() && !batch.last {
        return Err(ContractError::bad("an empty batch must be the last"));
    }
    let mut phase = phases::get(stub, &req.project, &req.phase).await?;
    lifecycle::may_migrate(stub.creator(), &phase)?;
    let m = migration_of(&phase)?.clone();
    for (i, item) in batch.items.iter().enumerate() {
        if !keys::of_phase(&item.key, &phase.project, &phase.id) {
            return Err(ContractError::bad(format!("batch item {i} is not a value of phase {}", phase.id)));
        }
        let value = B64.decode(item.value.as_bytes()).map_err(|e| ContractError::bad(format!("batch item {i}: value is not base64: {e}")))?;
        match stub.private_hash(&m.from, &item.key).await? {
            Some(h) if h == sha256(&value) => {}
            _ => {
                return Err(ContractError::conflict(format!(
                    "batch item {i} is not what {} holds (moved already, or changed): read the next batch again",
                    m.from
                )))
            }
        }
        stub.put_private(&m.to, &item.key, value).await?;
        stub.purge_private(&m.from, &item.key).await?;
    }
    let moved = batch.items.len() as u64;
    let total = m.moved + moved;
    if batch.last {
        phase.participants = m.participants;
        phase.collection = m.to;
        phase.migration = None;
    } else {
        phase.migration = Some(Migration { moved: total, batches: m.batches + 1, ..m });
    }
    phases::put(stub, &phase).await?;
    emit(stub, if batch.last { Event::PhaseMigrated } else { Event::PhaseMigrating }, &phase.project, Some(&phase.id));
    Ok(Progress { project: phase.project, phase: phase.id, tx_id: stub.tx_id().to_owned(), moved, total, done: batch.last })
}

/// How many of the phase's values `collection` holds on this peer. The peer itself refuses
/// callers outside the collection; counts name nothing private.
pub async fn holdings<S: Stub>(stub: &S, req: CollectionRef) -> Result<Holdings> {
    projects::get(stub, &req.project).await?;
    if !req.collection.starts_with("col_") {
        return Err(ContractError::bad(format!("collection {:?} is not one of svcflow's (col_...)", req.collection)));
    }
    let mut values = 0;
    for object_type in keys::PHASE_PRIVATE {
        let (start, end) = keys::prefix_range(object_type, &[&req.project, &req.phase]);
        values += stub.private_range(&req.collection, &start, &end).await?.len() as u64;
    }
    Ok(Holdings { project: req.project, phase: req.phase, collection: req.collection, values })
}
