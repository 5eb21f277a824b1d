//! Projects: public, every member of the channel reads them.

use serde::{Deserialize, Serialize};

use crate::error::{Refusal, Result};
use crate::identity::Principal;
use crate::ids::{check_text, ProjectId, MAX_DESCRIPTION_BYTES, MAX_NAME_BYTES};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ProjectStatus {
    Active,
    Closed,
}

/// Public: every member of the channel reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Project {
    pub id: ProjectId,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::ids::Name))]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::ids::Description))]
    pub description: String,
    pub owner: Principal,
    /// Transaction timestamp, RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created: String,
    pub status: ProjectStatus,
}

/// `CreateProject`'s argument (the REST body of `POST /v1/projects`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    pub id: ProjectId,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::ids::Name))]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::ids::Description))]
    pub description: String,
}

impl NewProject {
    pub fn validate(&self) -> Result<()> {
        check_text("name", &self.name, MAX_NAME_BYTES)?;
        if self.description.len() > MAX_DESCRIPTION_BYTES {
            return Err(Refusal::bad(format!("description must be at most {MAX_DESCRIPTION_BYTES} bytes")));
        }
        Ok(())
    }
}
