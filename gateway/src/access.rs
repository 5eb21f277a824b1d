//! Who may read the objects this org's gateway stores: each of its phase buckets lets the phase's
//! participant orgs read and no one else (see `storage::s3`). The policy is set on every upload,
//! right after a membership change made through this gateway, and by a periodic sync
//! (`storage.s3_access_sync_ms`) for a change made through another org's gateway: a removed
//! org's reads end with the first of those.

use svcflow_model::ids::{PhaseId, ProjectId};
use svcflow_model::phase::{org_set, Phase};

use crate::ledger::{Ledger, LedgerError};
use crate::migration;
use crate::storage::s3::OwnedBucket;
use crate::storage::{AnyStore, StorageError};

/// Why the phase's bucket could not be readied: reading the phase, or the store.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Storage(StorageError),
}

/// The orgs that may read the phase's objects: while a membership change is under way, those the
/// phase will have (a joiner reads as soon as it receives its copy, a leaver is out at once).
fn orgs_of(phase: &Phase) -> Vec<String> {
    let ps = phase.migration.as_ref().map_or(&phase.participants, |m| &m.participants);
    org_set(ps).into_iter().map(str::to_owned).collect()
}

/// Before `user` writes the new object `key` of the phase: its bucket exists and the phase's
/// participant orgs, as the ledger has them now, may read it.
pub async fn prepare(ledger: &dyn Ledger, store: &AnyStore, user: &str, project: &ProjectId, phase: &PhaseId, key: &str) -> Result<(), AccessError> {
    if !store.grants_access() {
        return Ok(());
    }
    let ph = migration::phase(ledger, user, project, phase).await?;
    let owned = OwnedBucket { bucket: String::new(), project: project.to_string(), phase: phase.to_string(), user: user.to_owned() };
    store.prepare(key, &owned, &orgs_of(&ph)).await.map_err(AccessError::Storage)
}

/// The phase as a membership change left it: this org's buckets of it follow its participants.
pub async fn follow(store: &AnyStore, phase: &Phase) {
    if let Err(e) = store.grant(phase.project.as_str(), phase.id.as_str(), &orgs_of(phase)).await {
        tracing::warn!(project = %phase.project, phase = %phase.id, error = %e, "bucket policy not updated after a membership change; the periodic sync retries");
    }
}

/// One pass over this org's buckets: each one's policy is set to its phase's participants as the
/// ledger has them now. Returns how many buckets are in step. A phase this org can no longer
/// read (it was removed itself) keeps the policy it had: the remaining participants still read
/// the objects this org anchored there.
pub async fn sync_all(ledger: &dyn Ledger, store: &AnyStore) -> usize {
    let mut in_step = 0;
    for b in store.owned() {
        let (Ok(project), Ok(phase)) = (ProjectId::new(b.project.as_str()), PhaseId::new(b.phase.as_str())) else {
            tracing::warn!(bucket = %b.bucket, "bucket registry: not a project and phase id; left alone");
            continue;
        };
        match migration::phase(ledger, &b.user, &project, &phase).await {
            Ok(ph) => match store.grant(&b.project, &b.phase, &orgs_of(&ph)).await {
                Ok(()) => in_step += 1,
                Err(e) => tracing::warn!(bucket = %b.bucket, error = %e, "bucket policy sync failed; will retry"),
            },
            Err(e) => tracing::warn!(bucket = %b.bucket, error = %e, "bucket policy sync: the phase could not be read; policy left as it is"),
        }
    }
    in_step
}
