//! A phase's migration to a new org set's collection, as REST: its status, and a call that starts
//! (or resumes) moving the data as the caller.

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
/// Whether the phase's data is moving to the collection of a new org set (after its participant
/// orgs changed), how far it got, and whether this gateway is moving it.
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
/// the background: batches of at most 500 values, each checked against the old collection's
/// hashes, written to the new collection and purged from the old. Only a participant whose org
/// stays in the phase may (403 otherwise); 409 when the phase is not migrating. Poll the GET
/// until `migrating` is false.
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
