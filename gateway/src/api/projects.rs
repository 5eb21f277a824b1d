//! Projects and their phases.

use std::collections::BTreeMap;

use actix_web::http::header::{HeaderName, HeaderValue, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde_json::Value;
use svcflow_model::call::{IdArg, PhaseRef, ProjectArg};
use svcflow_model::page::{Page, PageReq};
use svcflow_model::phase::{NewPhase, Phase, PhaseUpdate};
use svcflow_model::project::{NewProject, Project};
use utoipa::openapi::response::Response;
use utoipa::openapi::RefOr;
use utoipa::{IntoResponses, ToSchema};

use super::body::{committed, json_body, Items, PageQuery};
use super::error::ApiError;
use super::error::Failure;
use super::migrations;
use super::params::{PhasePath, ProjectPath};
use super::responses::{committed_response, string_header, BadInput, Committed, Conflicts, NotJson, Refused, TooLarge};
use super::state::State;
use crate::service::projects::{self, DataMove, KeyState};
use crate::service::Caller;

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

/// A JSON body as a typed chaincode argument; a body of the wrong shape is the client's 400.
fn typed<T: DeserializeOwned>(body: Value) -> Result<T, Failure> {
    serde_json::from_value(body).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")).into())
}

/// `POST …/phases`: the phase, committed, and whether its data key is set yet.
pub struct PhaseAdded;

impl IntoResponses for PhaseAdded {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let key = string_header("`set` when the gateway set the phase's data key, `pending` when a participant's first upload will.");
        let r = committed_response("Created, committed.", &Phase::name()).header("x-phase-key", key);
        BTreeMap::from([("201".to_owned(), RefOr::T(r.build()))])
    }
}

/// Create a project
///
/// Creates a public project owned by the caller.
#[utoipa::path(
    post, path = "/v1/projects", operation_id = "createProject", tag = "projects", request_body = NewProject,
    responses(Committed<Project, 201>, Refused, Conflicts, TooLarge, NotJson)
)]
pub async fn create(state: State, caller: Caller, req: HttpRequest, body: web::Payload) -> Result<HttpResponse, Failure> {
    let body: NewProject = json_body(&req, body, BODY_LIMIT).await?;
    let (p, c) = projects::create(&state, &caller, body).await?;
    Ok(committed(StatusCode::CREATED, &p, &c))
}

/// List projects
///
/// Every project, a page at a time, by id.
#[utoipa::path(
    get, path = "/v1/projects", operation_id = "listProjects", tag = "projects", params(PageQuery),
    responses((status = 200, description = "A page of projects.", body = Page<Project>), BadInput)
)]
pub async fn list(state: State, caller: Caller, q: web::Query<PageQuery>) -> Result<HttpResponse, Failure> {
    let q = q.into_inner();
    let page = projects::list(&state, &caller, PageReq { page_size: q.page_size, bookmark: q.bookmark }).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Get a project
#[utoipa::path(
    get, path = "/v1/projects/{project}", operation_id = "getProject", tag = "projects", params(ProjectPath),
    responses((status = 200, description = "The project.", body = Project), Refused)
)]
pub async fn get(state: State, caller: Caller, path: web::Path<ProjectPath>) -> Result<HttpResponse, Failure> {
    let ProjectPath(id) = path.into_inner();
    let p = projects::get(&state, &caller, IdArg { id }).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Add a phase
///
/// Adds a phase, then — when the caller's org takes part in it — generates the phase's 32-byte
/// data key and hands it to the chaincode by transient in a second transaction (SetPhaseKey).
/// Not in AddPhase itself: AddPhase writes public state, so it is endorsed by orgs that may be
/// outside the phase, and the key must never reach their peers. A phase whose key could not be
/// set here (the caller's org is not in it) gets it from its first participant upload.
#[utoipa::path(
    post, path = "/v1/projects/{project}/phases", operation_id = "addPhase", tag = "phases", params(ProjectPath),
    description = "Adds a phase to the project (its owner, or an admin of the owner's org). When the caller's org takes part in \
                   it, the gateway then sets the phase's data key (a second transaction, endorsed by participant orgs only); \
                   otherwise a participant's first upload does.",
    request_body = NewPhase, responses(PhaseAdded, Refused, Conflicts, TooLarge, NotJson)
)]
pub async fn add_phase(
    state: State,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<ProjectPath>,
    body: web::Payload,
) -> Result<HttpResponse, Failure> {
    let ProjectPath(project) = path.into_inner();
    let body: NewPhase = typed(with_ids(json_body(&req, body, BODY_LIMIT).await?, &[("project", &project)])?)?;
    let added = projects::add_phase(&state, &caller, body).await?;
    let key_state = match added.key {
        KeyState::Set => "set",
        KeyState::Pending => "pending",
    };
    let mut res = committed(StatusCode::CREATED, &added.phase, &added.committed);
    res.headers_mut().insert(HeaderName::from_static("x-phase-key"), HeaderValue::from_static(key_state));
    Ok(res)
}

/// List phases
///
/// Every phase of the project, by position then id.
#[utoipa::path(
    get, path = "/v1/projects/{project}/phases", operation_id = "listPhases", tag = "phases", params(ProjectPath),
    responses((status = 200, description = "The phases.", body = Items<Phase>), Refused)
)]
pub async fn list_phases(state: State, caller: Caller, path: web::Path<ProjectPath>) -> Result<HttpResponse, Failure> {
    let ProjectPath(project) = path.into_inner();
    let items = projects::list_phases(&state, &caller, ProjectArg { project }).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// Get a phase
#[utoipa::path(
    get, path = "/v1/projects/{project}/phases/{phase}", operation_id = "getPhase", tag = "phases", params(PhasePath),
    responses((status = 200, description = "The phase.", body = Phase), Refused)
)]
pub async fn get_phase(state: State, caller: Caller, path: web::Path<PhasePath>) -> Result<HttpResponse, Failure> {
    let PhasePath(project, phase) = path.into_inner();
    Ok(HttpResponse::Ok().json(projects::get_phase(&state, &caller, PhaseRef { project, phase }).await?))
}

/// Update a phase
///
/// Renames, reorders (only while planned) or changes the participants of a phase, planned or
/// active; what the body leaves out stays. A closed phase is read-only (409).
#[utoipa::path(
    patch, path = "/v1/projects/{project}/phases/{phase}", operation_id = "updatePhase", tag = "phases", params(PhasePath),
    description = "Renames, reorders (only while planned) or changes the participants of a phase, planned or active; what the body \
                   leaves out stays. Removing any participant (an org, an identity or a role) makes a new key version \
                   (`key_version`), which the removed party never receives. Each participant org keeps its own copy of the phase's \
                   data. When the participant orgs change, the answer is 202 with `migration` set and a `Location` of its \
                   status: an org that leaves is out at once and its copy is purged in the background (nothing waits); an org \
                   that joins receives a copy first, and until then the staying participants read on and writes are refused \
                   with 409. The work runs in the background when the caller is a participant whose org stays (else such a \
                   participant POSTs that location). The new orgs must share one with the current ones (409 otherwise: add \
                   first, then remove). A phase created before per-org copies moves to them on any participants change.",
    request_body = PhaseUpdate,
    responses(Committed<Phase, 200>, (status = 202, description = "Committed; a joining org is receiving its copy, or a leaving org's copy is being purged; or the change adds someone to a phase holding data and waits for approvals (`X-Approval: pending`, see approvePhaseChange).", body = Phase), Refused, Conflicts, TooLarge, NotJson)
)]
pub async fn update_phase(
    state: State,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<PhasePath>,
    body: web::Payload,
) -> Result<HttpResponse, Failure> {
    let PhasePath(project, phase) = path.into_inner();
    let body: PhaseUpdate = typed(with_ids(json_body(&req, body, BODY_LIMIT).await?, &[("project", &project), ("id", &phase)])?)?;
    Ok(updated_response(projects::update_phase(&state, &caller, body).await?))
}

/// Approve a change of participants
///
/// The caller's org approves the change of participants waiting on the phase (its `proposal`).
#[utoipa::path(
    post, path = "/v1/projects/{project}/phases/{phase}/approval", operation_id = "approvePhaseChange", tag = "phases", params(PhasePath),
    description = "A change of participants that adds anyone (an org, an identity or a role) to a phase that holds data takes \
                   effect only when every current participant org that stays in the phase has approved it: the PATCH that \
                   proposes it answers 202 with `X-Approval: pending` and the phase's `proposal` (the participants it will \
                   have, the orgs it `needs`, their `approvals` so far; the proposer's org approves by proposing when the \
                   proposer takes part). A participant of each org named in `needs` POSTs here once. The last approval makes \
                   the change, answered as the PATCH would have been (202 with `migration` when a joining org receives its \
                   copy). A change that only removes needs nobody's approval; a new PATCH replaces a proposal still waiting.",
    responses(Committed<Phase, 200>, (status = 202, description = "Committed; still waiting for other orgs' approvals (`X-Approval: pending`), or made, with a joining org receiving its copy.", body = Phase), Refused, Conflicts)
)]
pub async fn approve_phase_change(state: State, caller: Caller, path: web::Path<PhasePath>) -> Result<HttpResponse, Failure> {
    let PhasePath(project, phase) = path.into_inner();
    Ok(updated_response(projects::approve_change(&state, &caller, PhaseRef { project, phase }).await?))
}

/// A phase's update as the caller sees it: 200 when nothing moves or waits, else 202 saying what.
fn updated_response(updated: projects::UpdatedPhase) -> HttpResponse {
    let (p, c) = (&updated.phase, &updated.committed);
    let moving = match updated.data {
        DataMove::Stays => return committed(StatusCode::OK, p, c),
        DataMove::Awaiting => {
            let mut res = committed(StatusCode::ACCEPTED, p, c);
            res.headers_mut().insert(HeaderName::from_static("x-approval"), HeaderValue::from_static("pending"));
            return res;
        }
        DataMove::Moving => "moving",
        DataMove::Pending => "pending",
    };
    let mut res = committed(StatusCode::ACCEPTED, p, c);
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&migrations::location(p)) {
        headers.insert(LOCATION, v);
    }
    headers.insert(HeaderName::from_static("x-migration"), HeaderValue::from_static(moving));
    res
}

/// Activate a phase
///
/// Moves a planned phase to active.
#[utoipa::path(
    post, path = "/v1/projects/{project}/phases/{phase}/activate", operation_id = "activatePhase", tag = "phases", params(PhasePath),
    responses(Committed<Phase, 200>, Refused, Conflicts)
)]
pub async fn activate_phase(state: State, caller: Caller, path: web::Path<PhasePath>) -> Result<HttpResponse, Failure> {
    let PhasePath(project, phase) = path.into_inner();
    let (p, c) = projects::activate_phase(&state, &caller, PhaseRef { project, phase }).await?;
    Ok(committed(StatusCode::OK, &p, &c))
}

/// Close a phase
///
/// Closes a phase: it becomes read-only.
#[utoipa::path(
    post, path = "/v1/projects/{project}/phases/{phase}/close", operation_id = "closePhase", tag = "phases", params(PhasePath),
    responses(Committed<Phase, 200>, Refused, Conflicts)
)]
pub async fn close_phase(state: State, caller: Caller, path: web::Path<PhasePath>) -> Result<HttpResponse, Failure> {
    let PhasePath(project, phase) = path.into_inner();
    let (p, c) = projects::close_phase(&state, &caller, PhaseRef { project, phase }).await?;
    Ok(committed(StatusCode::OK, &p, &c))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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
