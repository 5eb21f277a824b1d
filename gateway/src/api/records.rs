//! A phase's records over HTTP: a JSON body in (checked, with its limit), records out.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use svcflow_model::call::{ItemPage, PhasePage, RecordRef};
use svcflow_model::record::Record;

use super::body::{committed, json_bytes, IdPage, PageQuery};
use super::error::Failure;
use super::params::{PhasePath, RecordPath};
use super::responses::{Committed, Conflicts, NotJson, Refused, TooLarge};
use super::state::State;
use crate::service::records;
use crate::service::Caller;

/// The chaincode's own limit is 1 MiB of document; a little slack for whitespace it drops.
const RECORD_LIMIT: usize = (1 << 20) + 1024;

/// Put a record
///
/// Writes a new version of a record: 201 for its first, 200 for the next. The document travels to
/// the chaincode in the transient map only and stays private to the phase's participants.
#[utoipa::path(
    put, path = "/v1/projects/{project}/phases/{phase}/records/{record}", operation_id = "putRecord", tag = "records", params(RecordPath),
    request_body(content = serde_json::Value, description = "Any JSON document of at most 1 MiB (1048576 bytes), sent as is."),
    responses(Committed<Record, 201>, Committed<Record, 200>, Refused, Conflicts, TooLarge, NotJson)
)]
pub async fn put(state: State, caller: Caller, req: HttpRequest, path: web::Path<RecordPath>, body: web::Payload) -> Result<HttpResponse, Failure> {
    let RecordPath(project, phase, id) = path.into_inner();
    // Checked to be JSON, handed on as sent: the chaincode parses it anyway.
    let doc = json_bytes(&req, body, RECORD_LIMIT).await?;
    let put = records::put(&state, &caller, RecordRef { project, phase, id }, &doc).await?;
    let status = if put.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(committed(status, &put.record, &put.committed))
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
    let r = records::get(&state, &caller, RecordRef { project, phase, id }).await?;
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
    let page = records::list(&state, &caller, PhasePage { project, phase, page_size, bookmark }).await?;
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
    let page = records::history(&state, &caller, ItemPage { project, phase, id, page_size, bookmark }).await?;
    Ok(HttpResponse::Ok().json(IdPage::from(page)))
}
