//! Records: private JSON documents of a phase with every version, in its collection.

use serde::de::DeserializeOwned;
use svcflow_model::call::{ItemRef, PhaseRef, TxRef};
use svcflow_model::change::{Change, Written};
use svcflow_model::ids;
use svcflow_model::phase::Phase;
use svcflow_model::record::{Record, MAX_RECORD_BYTES, TRANSIENT_RECORD, TRANSIENT_RECORD_ID};

use super::phases::{as_participant, not_held_here, read_private};
use super::{decode, emit, me, to_json};
use crate::error::{ContractError, Result};
use crate::keys;
use crate::stub::Stub;

/// Keeps, in the phase's collection, which item this transaction wrote: its events say only
/// which phase changed.
pub(super) async fn note_change<S: Stub>(stub: &S, phase: &Phase, record: Option<&str>, file: Option<&str>) -> Result<()> {
    let change = Change {
        project: phase.project.clone(),
        phase: phase.id.clone(),
        tx_id: stub.tx_id().to_owned(),
        record: record.map(str::to_owned),
        file: file.map(str::to_owned),
    };
    stub.put_private(&phase.collection, &keys::change(&phase.project, &phase.id, stub.tx_id()), to_json(&change)?).await
}

/// The record id from the transient map (a submitted transaction's arguments are public).
fn transient_id<S: Stub>(stub: &S) -> Result<String> {
    let raw = stub
        .transient(TRANSIENT_RECORD_ID)
        .ok_or_else(|| ContractError::bad("the record id must come in the transient map under \"record_id\" (arguments are public)"))?;
    let id = String::from_utf8(raw.to_vec()).map_err(|_| ContractError::bad("transient record_id is not UTF-8"))?;
    ids::validate_id("record", &id)?;
    Ok(id)
}

pub async fn put<S: Stub>(stub: &S, req: PhaseRef) -> Result<Written> {
    let id = transient_id(stub)?;
    let raw = stub
        .transient(TRANSIENT_RECORD)
        .ok_or_else(|| ContractError::bad("the record document must come in the transient map under \"record\" (arguments are public)"))?;
    if raw.len() > MAX_RECORD_BYTES {
        return Err(ContractError::bad(format!("record is {} bytes; at most {MAX_RECORD_BYTES}", raw.len())));
    }
    let document: serde_json::Value = serde_json::from_slice(raw).map_err(|e| ContractError::bad(format!("transient record is not JSON: {e}")))?;
    let phase = as_participant(stub, &req.project, &req.phase, true).await?;
    let key = keys::record(&phase.project, &phase.id, &id);
    let version = match read_private(stub, &phase, &key).await? {
        Some(b) => decode::<Record>("record", &b)?.version + 1,
        None => 1,
    };
    let rec = Record {
        project: phase.project.clone(),
        phase: phase.id.clone(),
        id,
        version,
        author: me(stub),
        tx_id: stub.tx_id().to_owned(),
        updated: stub.tx_timestamp().to_owned(),
        document,
    };
    let bytes = to_json(&rec)?;
    // History of private data is ours to keep: GetHistoryForKey does not cover collections.
    stub.put_private(&phase.collection, &keys::record_version(&rec.project, &rec.phase, &rec.id, version), bytes.clone()).await?;
    stub.put_private(&phase.collection, &key, bytes).await?;
    note_change(stub, &phase, Some(&rec.id), None).await?;
    emit(stub, "RecordPut", &rec.project, Some(&rec.phase));
    Ok(Written { project: rec.project, phase: rec.phase, tx_id: rec.tx_id, version: Some(version) })
}

pub async fn change<S: Stub>(stub: &S, req: TxRef) -> Result<Change> {
    let phase = as_participant(stub, &req.project, &req.phase, false).await?;
    match read_private(stub, &phase, &keys::change(&phase.project, &phase.id, &req.tx_id)).await? {
        Some(b) => decode("change", &b),
        None => Err(ContractError::not_found(format!("transaction {} wrote nothing in phase {}", req.tx_id, phase.id))),
    }
}

pub async fn get<S: Stub>(stub: &S, req: ItemRef) -> Result<Record> {
    ids::validate_id("record", &req.id)?;
    let phase = as_participant(stub, &req.project, &req.phase, false).await?;
    match read_private(stub, &phase, &keys::record(&phase.project, &phase.id, &req.id)).await? {
        Some(b) => decode("record", &b),
        None => Err(ContractError::not_found(format!("record {} of phase {} does not exist", req.id, phase.id))),
    }
}

/// Every private value of `object_type` under `attrs` in the phase's collection.
pub(super) async fn private_list<S: Stub, T: DeserializeOwned>(
    stub: &S,
    phase: &Phase,
    object_type: &str,
    attrs: &[&str],
    what: &str,
) -> Result<Vec<T>> {
    let (start, end) = keys::prefix_range(object_type, attrs);
    let mut pairs = stub.private_range(&phase.collection, &start, &end).await.map_err(|e| not_held_here(stub, phase, e))?;
    if let Some(m) = &phase.migration {
        // What has moved already; a peer that does not hold the new collection has only the rest.
        if let Ok(moved) = stub.private_range(&m.to, &start, &end).await {
            pairs.extend(moved);
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            pairs.dedup_by(|a, b| a.0 == b.0);
        }
    }
    pairs.iter().map(|(_, v)| decode(what, v)).collect()
}

pub async fn list<S: Stub>(stub: &S, req: PhaseRef) -> Result<Vec<Record>> {
    let phase = as_participant(stub, &req.project, &req.phase, false).await?;
    private_list(stub, &phase, keys::RECORD, &[&phase.project, &phase.id], "record").await
}

pub async fn history<S: Stub>(stub: &S, req: ItemRef) -> Result<Vec<Record>> {
    ids::validate_id("record", &req.id)?;
    let phase = as_participant(stub, &req.project, &req.phase, false).await?;
    let versions: Vec<Record> = private_list(stub, &phase, keys::RECORD_VERSION, &[&phase.project, &phase.id, &req.id], "record").await?;
    if versions.is_empty() {
        return Err(ContractError::not_found(format!("record {} of phase {} does not exist", req.id, phase.id)));
    }
    Ok(versions)
}
