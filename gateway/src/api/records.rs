//! A phase's records: JSON documents private to its participants. The document travels to the
//! chaincode in the transient map only, so it never appears on the public ledger.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;
use svcflow_model::call::{ItemRef, PhaseRef};
use svcflow_model::change::Written;
use svcflow_model::record::{Record, TRANSIENT_RECORD, TRANSIENT_RECORD_ID};
use svcflow_model::Call;

use super::{committed, json_bytes, paginate, Caller, Failure, PageQuery, State};

/// The chaincode's own limit is 1 MiB of document; a little slack for whitespace it drops.
const RECORD_LIMIT: usize = (1 << 20) + 1024;

pub async fn put(state: State, caller: Caller, path: web::Path<(String, String, String)>, body: web::Payload) -> Result<HttpResponse, Failure> {
    let (project, phase, id) = path.into_inner();
    // Checked to be JSON, handed on as sent: the chaincode parses it anyway.
    let doc = json_bytes(body, RECORD_LIMIT).await?;
    let mut transient = HashMap::new();
    transient.insert(TRANSIENT_RECORD.to_owned(), doc.to_vec());
    // The id travels privately too; the answer (written into the block) says only the version.
    transient.insert(TRANSIENT_RECORD_ID.to_owned(), id.clone().into_bytes());
    let (w, c): (Written, _) = state.invoke(&caller, Call::PutRecord(PhaseRef { project: project.clone(), phase: phase.clone() }), transient).await?;
    // What was written, read back privately from the peer that committed it.
    let r: Record = state.query(&caller, Call::GetRecord(ItemRef { project, phase, id })).await.map_err(|f| f.with_tx(&c.tx_id))?;
    let status = if w.version == Some(1) { StatusCode::CREATED } else { StatusCode::OK };
    Ok(committed(status, &r, &c))
}

pub async fn get(state: State, caller: Caller, path: web::Path<(String, String, String)>) -> Result<HttpResponse, Failure> {
    let (project, phase, id) = path.into_inner();
    let r: Record = state.query(&caller, Call::GetRecord(ItemRef { project, phase, id })).await?;
    Ok(HttpResponse::Ok().json(r))
}

pub async fn list(state: State, caller: Caller, path: web::Path<(String, String)>, q: web::Query<PageQuery>) -> Result<HttpResponse, Failure> {
    let (project, phase) = path.into_inner();
    let all: Vec<Record> = state.query(&caller, Call::ListRecords(PhaseRef { project, phase })).await?;
    Ok(HttpResponse::Ok().json(paginate(all, |r| r.id.as_str(), &q)?))
}

pub async fn history(state: State, caller: Caller, path: web::Path<(String, String, String)>) -> Result<HttpResponse, Failure> {
    let (project, phase, id) = path.into_inner();
    let versions: Vec<Record> = state.query(&caller, Call::RecordHistory(ItemRef { project, phase, id })).await?;
    Ok(HttpResponse::Ok().json(json!({"items": versions})))
}
