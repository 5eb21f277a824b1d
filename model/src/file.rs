//! File anchors: the on-chain (private) proof of an off-chain object.

use serde::{Deserialize, Serialize};

use crate::error::{Refusal, Result};
use crate::identity::Principal;
use crate::ids::{check_file_name, check_text, FileId, PhaseId, ProjectId};

/// Private to the phase's participants: the on-chain anchor of an off-chain file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileAnchor {
    pub project: ProjectId,
    pub phase: PhaseId,
    pub id: FileId,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::ids::FileName))]
    pub name: String,
    pub size: u64,
    /// SHA-256 of the plaintext, lowercase hex.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub sha256: String,
    pub content_type: String,
    pub object_key: String,
    /// The version of the phase key the object is sealed with.
    #[serde(default = "first_key_version")]
    pub key_version: u32,
    pub uploader: Principal,
    pub tx_id: String,
    /// Transaction timestamp, RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created: String,
}

/// What the gateway hands `AnchorFile` in the transient map ([`crate::transient`]): every field
/// is private, the file's id included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAnchor {
    pub id: FileId,
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub content_type: String,
    pub object_key: String,
    /// The phase key version the object was sealed with: the current one, or the anchor is
    /// refused (the key rotated during the upload).
    pub key_version: u32,
}

/// What `ResealFile` takes in the transient map ([`crate::transient`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reseal {
    pub id: FileId,
    pub object_key: String,
    pub key_version: u32,
    /// Size and hash of the plaintext read back from the old object: they must match the anchor.
    pub size: u64,
    pub sha256: String,
}

fn first_key_version() -> u32 {
    1
}

impl NewAnchor {
    pub fn validate(&self) -> Result<()> {
        check_file_name(&self.name)?;
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Refusal::bad("sha256 must be 64 hex digits"));
        }
        check_text("content_type", &self.content_type, 255)?;
        check_text("object_key", &self.object_key, 512)
    }
}
