//! Records: private JSON documents of a phase, kept in its collection with every version.

use serde::{Deserialize, Serialize};

use crate::identity::Principal;

/// Records are private JSON documents of at most this many bytes.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

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

/// Where `PutRecord` takes the document from: the transient map, never the (public) arguments.
pub const TRANSIENT_RECORD: &str = "record";
/// Where `PutRecord` takes the record's id from: a record id is private too.
pub const TRANSIENT_RECORD_ID: &str = "record_id";
