//! Projects and their phases.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};
use svcflow_chaincode::model::{Page, Phase, Project};

use super::{committed, json_body, Caller, Failure, PageQuery, State};
use crate::error::ApiError;

/// Request bodies are small JSON documents; records have their own (larger) limit.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Puts the path's ids into a JSON object body, refusing a body that names other ones.
pub fn with_ids(body: Value, ids: &[(&str, &str)]) -> Result<Value, Failure> {
    let Value::Object(mut m) = body else {
        return Err(ApiError::BadRequest("the JSON body must be an object".into()).into());
    };
    for (k, v) in ids {
        match m.get(*k) {
            Some(Value::String(s)) if s == v => {}
            Some(other) => return Err(ApiError::BadRequest(format!("body {k} {other} differs from the path's {v:?}")).into()),
            None => {
                m.insert((*k).to_owned(), Value::String((*v).to_owned()));
            }
        }
    }
    Ok(Value::Object(m))
}

pub async fn create(state: State, caller: Caller, body: web::Payload) -> Result<HttpResponse, Failure> {
    let body: Value = json_body(body, BODY_LIMIT).await?;
    let (p, c): (Project, _) = state.invoke(&caller, "CreateProject", body, HashMap::new()).await?;
    Ok(committed(StatusCode::CREATED, &p, &c))
}

pub async fn list(state: State, caller: Caller, q: web::Query<PageQuery>) -> Result<HttpResponse, Failure> {
    let page: Page<Project> = state.query(&caller, "ListProjects", json!({"page_size": q.page_size, "bookmark": q.bookmark})).await?;
    Ok(HttpResponse::Ok().json(page))
}

pub async fn get(state: State, caller: Caller, path: web::Path<String>) -> Result<HttpResponse, Failure> {
    let p: Project = state.query(&caller, "GetProject", json!({"id": path.into_inner()})).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Adds a phase, then — when the caller's org takes part in it — generates the phase's 32-byte
/// data key and hands it to the chaincode by transient in a second transaction (SetPhaseKey).
/// Not in AddPhase itself: AddPhase writes public state, so it is endorsed by orgs that may be
/// outside the phase, and the key must never reach their peers. A phase whose key could not be
/// set here (the caller's org is not in it) gets it from its first participant upload.
pub async fn add_phase(state: State, caller: Caller, path: web::Path<String>, body: web::Payload) -> Result<HttpResponse, Failure> {
    let project = path.into_inner();
    let body = with_ids(json_body(body, BODY_LIMIT).await?, &[("project", &project)])?;
    let mine = body
        .get("participants")
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().any(|p| p.get("msp_id").and_then(Value::as_str) == Some(caller.msp_id.as_str())));
    let (phase, c): (Phase, _) = state.invoke(&caller, "AddPhase", body, HashMap::new()).await?;
    let mut key_state = "pending";
    if mine {
        let mut transient = HashMap::new();
        transient.insert("phase_key".to_owned(), new_data_key()?);
        let arg = json!({"project": phase.project, "phase": phase.id});
        match state.invoke::<Value>(&caller, "SetPhaseKey", arg, transient).await {
            Ok(_) => key_state = "set",
            // The caller may be in the org but not in the phase (identity or role participants).
            Err(f) => {
                tracing::info!(phase = %phase.id, error = %f, "phase key left for the first participant upload")
            }
        }
    }
    let mut res = committed(StatusCode::CREATED, &phase, &c);
    res.headers_mut()
        .insert(actix_web::http::header::HeaderName::from_static("x-phase-key"), actix_web::http::header::HeaderValue::from_static(key_state));
    Ok(res)
}

/// 32 random bytes from the OS generator.
pub fn new_data_key() -> Result<Vec<u8>, Failure> {
    let mut k = vec![0u8; 32];
    openssl::rand::rand_bytes(&mut k).map_err(|e| ApiError::Internal(format!("random key: {e}")))?;
    Ok(k)
}

pub async fn list_phases(state: State, caller: Caller, path: web::Path<String>) -> Result<HttpResponse, Failure> {
    let phases: Vec<Phase> = state.query(&caller, "ListPhases", json!({"project": path.into_inner()})).await?;
    Ok(HttpResponse::Ok().json(json!({"items": phases})))
}

pub async fn get_phase(state: State, caller: Caller, path: web::Path<(String, String)>) -> Result<HttpResponse, Failure> {
    let (project, phase) = path.into_inner();
    let phases: Vec<Phase> = state.query(&caller, "ListPhases", json!({"project": project})).await?;
    let p =
        phases.into_iter().find(|p| p.id == phase).ok_or_else(|| ApiError::NotFound(format!("phase {phase} of project {project} does not exist")))?;
    Ok(HttpResponse::Ok().json(p))
}

pub async fn update_phase(state: State, caller: Caller, path: web::Path<(String, String)>, body: web::Payload) -> Result<HttpResponse, Failure> {
    let (project, phase) = path.into_inner();
    let body = with_ids(json_body(body, BODY_LIMIT).await?, &[("project", &project), ("id", &phase)])?;
    let (p, c): (Phase, _) = state.invoke(&caller, "UpdatePhase", body, HashMap::new()).await?;
    Ok(committed(StatusCode::OK, &p, &c))
}

async fn transition(state: State, caller: Caller, path: web::Path<(String, String)>, func: &str) -> Result<HttpResponse, Failure> {
    let (project, phase) = path.into_inner();
    let (p, c): (Phase, _) = state.invoke(&caller, func, json!({"project": project, "phase": phase}), HashMap::new()).await?;
    Ok(committed(StatusCode::OK, &p, &c))
}

pub async fn activate_phase(state: State, caller: Caller, path: web::Path<(String, String)>) -> Result<HttpResponse, Failure> {
    transition(state, caller, path, "ActivatePhase").await
}

pub async fn close_phase(state: State, caller: Caller, path: web::Path<(String, String)>) -> Result<HttpResponse, Failure> {
    transition(state, caller, path, "ClosePhase").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_ids_fill_the_body_and_must_agree() {
        let v = with_ids(json!({"name": "n"}), &[("project", "p1")]).unwrap();
        assert_eq!(v, json!({"name": "n", "project": "p1"}));
        assert!(with_ids(json!({"project": "p1"}), &[("project", "p1")]).is_ok());
        assert_eq!(with_ids(json!({"project": "p2"}), &[("project", "p1")]).unwrap_err().error.status(), 400);
        assert_eq!(with_ids(json!([1]), &[("project", "p1")]).unwrap_err().error.status(), 400);
    }
}
