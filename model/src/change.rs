//! What a submitted write answers, and what it changed.
//!
//! A submitted transaction's response and events are written into the block every org keeps, so
//! a write answers only public facts ([`Written`]): which project and phase, its tx id and the
//! new version. Which record or file it wrote is private: participants ask for it afterwards
//! ([`Change`], read by `GetChange` from the phase's collection).

use serde::{Deserialize, Serialize};

use crate::ids::{FileId, PhaseId, ProjectId, RecordId};

/// The answer of a private write (`PutRecord`, `AnchorFile`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub project: ProjectId,
    pub phase: PhaseId,
    pub tx_id: String,
    /// The record's new version (`PutRecord`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The transaction's timestamp, RFC 3339 (public: the block has it in the transaction's
    /// header). With it and the version, the writer's gateway knows the whole record it wrote
    /// without reading it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
}

/// Which item a transaction of a phase wrote (private to the phase's participants).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub project: ProjectId,
    pub phase: PhaseId,
    pub tx_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileId>,
}
