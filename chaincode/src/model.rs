//! Every record svcflow keeps, shared by the chaincode and the gateway (one definition each).

use serde::{Deserialize, Serialize};

use crate::identity::Role;

/// Someone who did something: an MSP and an identity id within it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub msp_id: String,
    pub id: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectStatus {
    Active,
    Closed,
}

/// Public: every member of the channel can read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub owner: Principal,
    /// Transaction timestamp, RFC 3339.
    pub created: String,
    pub status: ProjectStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseStatus {
    Planned,
    Active,
    Closed,
}

/// Who takes part in a phase: a whole org, one identity of it, or the org's members of one role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    pub msp_id: String,
    /// An identity id (as `WhoAmI` shows it); only that identity of the org takes part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Only the org's identities with this role take part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// Public: who takes part and where the phase's private data lives; never the data itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    pub project: String,
    pub id: String,
    pub name: String,
    pub position: u32,
    pub status: PhaseStatus,
    pub participants: Vec<Participant>,
    /// The private data collection of the participant orgs.
    pub collection: String,
}

/// Private (in the phase's collection): a JSON document and its version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub project: String,
    pub phase: String,
    pub id: String,
    pub version: u64,
    pub author: Principal,
    pub tx_id: String,
    pub updated: String,
    pub document: serde_json::Value,
}

/// Private (in the phase's collection): an off-chain file's anchor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAnchor {
    pub project: String,
    pub phase: String,
    pub id: String,
    pub name: String,
    pub size: u64,
    /// SHA-256 of the plaintext, lowercase hex.
    pub sha256: String,
    pub content_type: String,
    pub object_key: String,
    pub uploader: Principal,
    pub tx_id: String,
    pub created: String,
}

/// A page of a list and the bookmark of the next one (empty when there is none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub bookmark: String,
}

/// A chaincode event's payload: ids only, never private contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventIds {
    pub project: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub tx_id: String,
}
