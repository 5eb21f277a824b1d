//! Filling a joining org's copy of a phase (and purging the copies of orgs that left), or moving
//! a phase of one org set's collection to per-org copies, batch by batch.
//!
//! A peer of an org joining the phase holds nothing of it yet, and every endorser of a write must
//! compute the same result; so a staying participant reads a batch from its own copy
//! ([`Call::ReadMigrationBatch`](crate::Call), an evaluation: nothing of it reaches a block) and
//! hands it back in the transient map ([`crate::transient`]) to `MigratePhase`, which checks
//! every value against a staying copy's on-chain hash (every peer holds every hash) and writes it
//! to the copies that lack it, purges it from the copies of orgs that left, or, from an old org
//! set's collection, writes it to every new participant's copy and purges the old. The next read
//! starts after the batch's `next` key, where the migration's public cursor now stands; a driver
//! that stops starts again from the cursor. A join is filled first (the leavers are not needed),
//! then the leavers' copies are purged (a purge waits for its org's peer, and stays pending,
//! shown, until that peer endorses it). Writes go on meanwhile: during the fill each marks its
//! key in the staying copies, and once the cursor has passed every key the fill copies the marked
//! ones again (`Migration::rechecking`, batches with no `after`); the step that takes the last
//! marks seals the phase, so that no write can mark a key unseen, and the next one, with what was
//! marked before the seal, gives the joiners their part. Writes wait only for that step.

use serde::{Deserialize, Serialize};

use crate::error::{Refusal, Result};
use crate::ids::{PhaseId, ProjectId};

/// Values per batch: bounded so a transaction stays small and quick to endorse.
pub const MAX_BATCH_ITEMS: usize = 500;
/// Keys one read looks at, done or not: bounds an evaluation when most of them are done already.
pub const MAX_BATCH_SCAN: usize = 4 * MAX_BATCH_ITEMS;
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

/// Every key of the phase after `after` up to `next` in the copy it was read from, each with its
/// value when a receiving copy lacks it (a done key travels without one); while the fill
/// rechecks, the keys written meanwhile instead. `last` when nothing follows: the batch that
/// carries it ends the step's stage (the walk over every key, the recheck, the purge). The
/// chaincode checks that `after` is where the migration stands (`Migration::cursor`), that keys
/// come in order, each held by the copy read, and that no key it can name itself (a version of
/// the phase's key) is left out of the range; that no other key was left out it cannot check in
/// the same transaction (Fabric allows no private range read in a transaction that writes), so
/// it rests on the reading peer. (`after` and `next` are private keys: they travel in
/// evaluations and the transient map only.)
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    pub items: Vec<Item>,
    pub last: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub next: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub after: String,
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
