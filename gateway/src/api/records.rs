//! A phase's records: JSON documents private to its participants. The document travels to the
//! chaincode in the transient map only, so it never appears on the public ledger.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use svcflow_model::call::{ItemPage, ItemRef, PhasePage, PhaseRef};
use svcflow_model::change::Written;
use svcflow_model::page::Page;
use svcflow_model::record::{Record, TRANSIENT_RECORD, TRANSIENT_RECORD_ID};
use svcflow_model::Call;

use super::openapi::{Committed, Conflicts, Refused, TooLarge};
use super::params::{PhasePath, RecordPath};
use super::{committed, json_bytes, Caller, Failure, IdPage, PageQuery, State};

/// The chaincode's own limit is 1 MiB of document; a little slack for whitespace it drops.
const RECORD_LIMIT: usize = (1 << 20) + 1024;

/// Put a record
///
/// Writes a new version of a record: 201 for its first, 200 for the next. The document travels to
/// the chaincode in the transient map only and stays private to the phase's participants.
#[utoipa::path(
    put, path = "/v1/projects/{project}/phases/{phase}/records/{record}", operation_id = "putRecord", tag = "records", params(RecordPath),
    request_body(content = serde_json::Value, description = "Any JSON document of at most 1 MiB (1048576 bytes), sent as is."),
    responses(Committed<Record, 201>, Committed<Record, 200>, Refused, Conflicts, TooLarge)
)]
pub async fn put(state: State, caller: Caller, path: web::Path<RecordPath>, body: web::Payload) -> Result<HttpResponse, Failure> {
    let RecordPath(project, phase, id) = path.into_inner();
    // Checked to be JSON, handed on as sent: the chaincode parses it anyway.
    let doc = json_bytes(body, RECORD_LIMIT).await?;
    let mut transient = HashMap::new();
    transient.insert(TRANSIENT_RECORD.to_owned(), doc.to_vec());
    // The id travels privately too; the answer (written into the block) says only the version.
    transient.insert(TRANSIENT_RECORD_ID.to_owned(), id.clone().into_bytes());
    let (w, c): (Written, _) = state.invoke(&caller, Call::PutRecord(PhaseRef { project: project.clone(), phase: phase.clone() }), transient).await?;
    let status = if w.version == Some(1) { StatusCode::CREATED } else { StatusCode::OK };
    let r = written_record(&state, &caller, ItemRef { project, phase, id }, &doc, w, &c.tx_id).await?;
    Ok(committed(status, &r, &c))
}

/// The record a PutRecord wrote: the chaincode answers its version and timestamp, the author is
/// the caller and the document is what was sent, so nothing needs reading back (a read would cost
/// the peer and the chaincode a second proposal per write). A chaincode that does not answer the
/// timestamp (an older one) is asked for the record.
async fn written_record(state: &State, caller: &Caller, at: ItemRef, doc: &[u8], w: Written, tx_id: &str) -> Result<Record, Failure> {
    if let (Some(version), Some(updated)) = (w.version, w.updated) {
        // `doc` was checked to be JSON on the way in.
        if let Ok(document) = serde_json::from_slice(doc) {
            let author = state.identity(caller).await?.principal();
            return Ok(Record { project: at.project, phase: at.phase, id: at.id, version, author, tx_id: tx_id.to_owned(), updated, document });
        }
    }
    state.query(caller, Call::GetRecord(at)).await.map_err(|f| f.with_tx(tx_id))
}

/// Get a record
///
/// The latest version of a record.
#[utoipa::path(
    get, path = "/v1/projects/{project}/phases/{phase}/records/{record}", operation_id = "getRecord", tag = "records", params(RecordPath),
    responses((status = 200, description = "The record.", body = Record), Refused)
)]
pub async fn get(state: State, caller: Caller, path: web::Path<RecordPath>) -> Result<HttpResponse, Failure> {
    let RecordPath(project, phase, id) = path.into_inner();
    let r: Record = state.query(&caller, Call::GetRecord(ItemRef { project, phase, id })).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// List records
///
/// The latest version of each of the phase's records, a page at a time, by id.
#[utoipa::path(
    get, path = "/v1/projects/{project}/phases/{phase}/records", operation_id = "listRecords", tag = "records", params(PhasePath, PageQuery),
    responses((status = 200, description = "A page of records.", body = IdPage<Record>), Refused)
)]
pub async fn list(state: State, caller: Caller, path: web::Path<PhasePath>, q: web::Query<PageQuery>) -> Result<HttpResponse, Failure> {
    let PhasePath(project, phase) = path.into_inner();
    let PageQuery { page_size, bookmark } = q.into_inner();
    let page: Page<Record> = state.query(&caller, Call::ListRecords(PhasePage { project, phase, page_size, bookmark })).await?;
    Ok(HttpResponse::Ok().json(IdPage::from(page)))
}

/// Record history
///
/// Every version of a record, oldest first, a page at a time (the bookmark is a version number).
#[utoipa::path(
    get, path = "/v1/projects/{project}/phases/{phase}/records/{record}/history", operation_id = "getRecordHistory",
    tag = "records", params(RecordPath, PageQuery), responses((status = 200, description = "A page of the record's versions.", body = IdPage<Record>), Refused)
)]
pub async fn history(state: State, caller: Caller, path: web::Path<RecordPath>, q: web::Query<PageQuery>) -> Result<HttpResponse, Failure> {
    let RecordPath(project, phase, id) = path.into_inner();
    let PageQuery { page_size, bookmark } = q.into_inner();
    let page: Page<Record> = state.query(&caller, Call::RecordHistory(ItemPage { project, phase, id, page_size, bookmark })).await?;
    Ok(HttpResponse::Ok().json(IdPage::from(page)))
}
