//! Records: private JSON documents of a phase, kept in its collection with every version.

use serde::{Deserialize, Serialize};

use crate::identity::Principal;
use crate::ids::{PhaseId, ProjectId, RecordId};

/// Records are private JSON documents of at most this many bytes.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Private to the phase's participants: one version of a JSON document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Record {
    pub project: ProjectId,
    pub phase: PhaseId,
    pub id: RecordId,
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub version: u64,
    pub author: Principal,
    pub tx_id: String,
    /// Transaction timestamp, RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated: String,
    /// The document as it was put: any JSON value of at most 1 MiB.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub document: serde_json::Value,
}
