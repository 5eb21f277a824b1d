//! The path parameters of the routes, by name: the handlers extract these types and name them in
//! their `#[utoipa::path(params(...))]`. Every one is an id, checked here where it enters (a bad
//! one is the client's 400) and its schema taken from its type.

use serde::Deserialize;
use svcflow_model::ids::{FileId, PhaseId, ProjectId, RecordId};
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path, names("project"))]
pub struct ProjectPath(pub ProjectId);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path, names("project", "phase"))]
pub struct PhasePath(pub ProjectId, pub PhaseId);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path, names("project", "phase", "record"))]
pub struct RecordPath(pub ProjectId, pub PhaseId, pub RecordId);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path, names("project", "phase", "file"))]
pub struct FilePath(pub ProjectId, pub PhaseId, pub FileId);
