//! A phase's migration (a joining org's copy filled, a leaving org's purged, an older phase moved
//! to per-org copies), as REST: its status, and a call that starts (or resumes) it as the caller.

use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use svcflow_model::call::PhaseRef;
use svcflow_model::phase::{Migration, Phase};
use utoipa::ToSchema;

use super::error::Failure;
use super::params::PhasePath;
use super::responses::{Conflicts, Refused};
use super::state::State;
use crate::service::migrations::{self, Status};
use crate::service::Caller;
use svcflow_model::ids::{PhaseId, ProjectId};

/// Where a phase's data is going, and whether this gateway is moving it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MigrationStatus {
    pub project: ProjectId,
    pub phase: PhaseId,
    pub migrating: bool,
    /// What moves where, while `migrating`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration: Option<Migration>,
    /// This gateway is moving the data now.
    pub driving: bool,
}

impl From<Status> for MigrationStatus {
    fn from(Status { phase, driving }: Status) -> Self {
        Self { project: phase.project, phase: phase.id, migrating: phase.migration.is_some(), migration: phase.migration, driving }
    }
}

/// Where a phase's migration status is served.
pub fn location(phase: &Phase) -> String {
    format!("/v1/projects/{}/phases/{}/migration", phase.project, phase.id)
}

/// A phase's migration
///
/// Whether a joining org's copy is being filled or a leaving org's purged (after the participant
/// orgs changed), how far it got, and whether this gateway is doing it.
#[utoipa::path(
    get, path = "/v1/projects/{project}/phases/{phase}/migration", operation_id = "getMigration", tag = "phases", params(PhasePath),
    responses((status = 200, description = "The migration's state.", body = MigrationStatus), Refused)
)]
pub async fn get(state: State, caller: Caller, path: web::Path<PhasePath>) -> Result<HttpResponse, Failure> {
    let PhasePath(project, phase) = path.into_inner();
    let s = migrations::status(&state, &caller, PhaseRef { project, phase }).await?;
    Ok(HttpResponse::Ok().json(MigrationStatus::from(s)))
}

/// Move a phase's data
///
/// Starts, or resumes after an interruption, moving a migrating phase's data as the caller, in
/// the background: batches of at most 500 values read from the caller's org's copy, each checked
/// against a staying copy's on-chain hash and written to the joining orgs' copies, or purged from
/// the leaving orgs' copies. Only a participant whose org stays in the phase may (403 otherwise);
/// 409 when the phase is not migrating. Poll the GET until `migrating` is false.
#[utoipa::path(
    post, path = "/v1/projects/{project}/phases/{phase}/migration", operation_id = "moveData", tag = "phases", params(PhasePath),
    responses((status = 202, description = "Moving; the state as it was when it started.", body = MigrationStatus), Refused, Conflicts)
)]
pub async fn start(state: State, caller: Caller, path: web::Path<PhasePath>) -> Result<HttpResponse, Failure> {
    let PhasePath(project, phase) = path.into_inner();
    let s = migrations::start(&state, &caller, PhaseRef { project, phase }).await?;
    let at = location(&s.phase);
    Ok(HttpResponse::build(StatusCode::ACCEPTED).insert_header((LOCATION, at)).json(MigrationStatus::from(s)))
}
