//! Moving a phase's data to the collection of its new org set, batch by batch.
//!
//! A peer of an org joining the phase holds nothing of it yet, and every endorser of a write must
//! compute the same result; so a participant of both sets reads a batch from the old collection
//! ([`Call::ReadMigrationBatch`](crate::Call), an evaluation: nothing of it reaches a block) and
//! hands it back in the transient map ([`crate::transient`]) to `MigratePhase`, which checks
//! every value against the old collection's on-chain hash, writes it to the new collection and
//! purges it from the old one. Each batch leaves less behind, so an interrupted migration resumes
//! by reading the next batch: there is no cursor to keep (it would name private ids).

use serde::{Deserialize, Serialize};

use crate::error::{Refusal, Result};
use crate::ids::{PhaseId, ProjectId};

/// Values per batch: bounded so a transaction stays small and quick to endorse.
pub const MAX_BATCH_ITEMS: usize = 500;
/// Bytes of values per batch (a batch may exceed it by its last value, a record of at most 1 MiB):
/// base64 in the answer of `ReadMigrationBatch`, it stays within the 4 MiB a gRPC client takes.
pub const MAX_BATCH_BYTES: usize = 1 << 20;

/// One private value of the phase, as it is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub key: String,
    /// The stored bytes, base64.
    pub value: String,
}

/// A batch of the phase's values still in the old collection. `last` when nothing else is left:
/// the batch that carries it ends the migration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    pub items: Vec<Item>,
    pub last: bool,
}

impl Batch {
    pub fn check_size(&self) -> Result<()> {
        if self.items.len() > MAX_BATCH_ITEMS {
            return Err(Refusal::bad(format!("a migration batch holds at most {MAX_BATCH_ITEMS} values, got {}", self.items.len())));
        }
        Ok(())
    }
}

/// What a migration step did: public facts only (it is a submitted transaction's response).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progress {
    pub project: ProjectId,
    pub phase: PhaseId,
    pub tx_id: String,
    /// Values moved by this step.
    pub moved: u64,
    /// Values moved by the whole migration so far.
    pub total: u64,
    /// The migration ended with this step: the phase has its new participants and collection.
    pub done: bool,
}

/// How many of a phase's values a collection holds on the peer that answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Holdings {
    pub project: ProjectId,
    pub phase: PhaseId,
    pub collection: String,
    pub values: u64,
}
