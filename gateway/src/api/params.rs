//! The path parameters of the routes, by name: the handlers extract these types and name them in
//! their `#[utoipa::path(params(...))]`. Every one is an id.

use serde::Deserialize;
use svcflow_model::ids::Id;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path, names("project"))]
pub struct ProjectPath(#[param(value_type = Id)] pub String);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path, names("project", "phase"))]
pub struct PhasePath(#[param(value_type = Id)] pub String, #[param(value_type = Id)] pub String);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path, names("project", "phase", "record"))]
pub struct RecordPath(#[param(value_type = Id)] pub String, #[param(value_type = Id)] pub String, #[param(value_type = Id)] pub String);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path, names("project", "phase", "file"))]
pub struct FilePath(#[param(value_type = Id)] pub String, #[param(value_type = Id)] pub String, #[param(value_type = Id)] pub String);
