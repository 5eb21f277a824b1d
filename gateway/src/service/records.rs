//! A phase's records: JSON documents private to its participants. The document travels to the
//! chaincode in the transient map only, so it never appears on the public ledger.

use svcflow_model::call::{ItemPage, PhasePage, PhaseRef, RecordRef};
use svcflow_model::change::Written;
use svcflow_model::page::Page;
use svcflow_model::record::Record;
use svcflow_model::transient::NewRecord;
use svcflow_model::{Call, ErrorKind};

use super::caller::Caller;
use super::error::ServiceError;
use super::state::AppState;
use crate::ledger::Committed;
use crate::phase_key;

/// A record version written, committed.
pub struct Put {
    pub record: Record,
    pub committed: Committed,
    /// It is the record's first version.
    pub created: bool,
}

/// Writes `doc` (checked to be JSON) as the record's next version.
pub async fn put(state: &AppState, caller: &Caller, at: RecordRef, doc: &[u8]) -> Result<Put, ServiceError> {
    // The id travels privately too; the answer (written into the block) says only the version.
    let phase = phase_of(&at);
    let record = NewRecord { id: at.id.clone(), document: doc.to_vec() };
    let call = Call::PutRecord(phase, record);
    let (w, committed): (Written, _) = match state.invoke(caller, call.clone()).await {
        // A conflict may be a phase without a key of its current version (added by a manager
        // outside it, or rotated by a removal): given one, the write goes through.
        Err(e)
            if e.refusal().is_some_and(|r| r.kind == ErrorKind::Conflict)
                && phase_key::ensure(&*state.ledger, &caller.user, &at.project, &at.phase).await? =>
        {
            state.invoke(caller, call).await?
        }
        // Still waiting for a fill's last step: nobody may be driving it; this caller finishes
        // it when it may, and the write goes through after it.
        Err(e)
            if e.refusal().is_some_and(|r| r.kind == ErrorKind::Unavailable)
                && super::migrations::finish_sealed(state, caller, &phase_of(&at)).await? =>
        {
            state.invoke(caller, call).await?
        }
        other => other?,
    };
    let created = w.version == Some(1);
    let record = written_record(state, caller, at, doc, w, &committed.tx_id).await?;
    Ok(Put { record, committed, created })
}

fn phase_of(at: &RecordRef) -> PhaseRef {
    PhaseRef { project: at.project.clone(), phase: at.phase.clone() }
}

/// The record a PutRecord wrote: the chaincode answers its version and timestamp, the author is
/// the caller and the document is what was sent, so nothing needs reading back (a read would cost
/// the peer and the chaincode a second proposal per write). A chaincode that does not answer the
/// timestamp (an older one) is asked for the record.
async fn written_record(state: &AppState, caller: &Caller, at: RecordRef, doc: &[u8], w: Written, tx_id: &str) -> Result<Record, ServiceError> {
    if let (Some(version), Some(updated)) = (w.version, w.updated) {
        // `doc` was checked to be JSON on the way in.
        if let Ok(document) = serde_json::from_slice(doc) {
            let author = state.identity(caller).await?.principal();
            return Ok(Record { project: at.project, phase: at.phase, id: at.id, version, author, tx_id: tx_id.to_owned(), updated, document });
        }
    }
    state.query(caller, Call::GetRecord(at)).await.map_err(|source| ServiceError::ReadBack { source, tx_id: tx_id.to_owned() })
}

pub async fn get(state: &AppState, caller: &Caller, at: RecordRef) -> Result<Record, ServiceError> {
    Ok(state.query(caller, Call::GetRecord(at)).await?)
}

pub async fn list(state: &AppState, caller: &Caller, page: PhasePage) -> Result<Page<Record>, ServiceError> {
    Ok(state.query(caller, Call::ListRecords(page)).await?)
}

pub async fn history(state: &AppState, caller: &Caller, page: ItemPage) -> Result<Page<Record>, ServiceError> {
    Ok(state.query(caller, Call::RecordHistory(page)).await?)
}
