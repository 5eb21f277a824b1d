//! Settles journal entries no upload is working on: an object whose anchor exists stays; one
//! whose anchor does not is deleted. Entries that cannot be settled now stay for the next sweep.

use std::time::Duration;

use svcflow_model::call::ItemRef;
use svcflow_model::file::FileAnchor;
use svcflow_model::{Call, ErrorKind};

use super::Env;
use crate::ledger;
use crate::storage::{ObjectStore, StorageError};

/// One pass over the entries idle for at least `min_age`; the number settled.
pub async fn sweep(env: &Env<'_>, min_age: Duration) -> usize {
    let mut settled = 0;
    for p in env.journal.stale(min_age) {
        let item = ItemRef { project: p.project.clone(), phase: p.phase.clone(), id: p.file.clone() };
        let anchored = match ledger::query::<FileAnchor>(env.ledger, &p.user, &Call::GetFile(item)).await {
            Ok(a) => a.object_key == p.object_key,
            Err(e) if e.refusal().is_some_and(|r| r.kind == ErrorKind::NotFound) => false,
            Err(e) => {
                tracing::warn!(object = %p.object_key, error = %e, "journal sweep: anchor unknown for now");
                continue;
            }
        };
        if anchored {
            env.journal.finish(&p.object_key);
            settled += 1;
            continue;
        }
        match env.store.delete(&p.object_key).await {
            Ok(()) | Err(StorageError::NotFound(_)) => {
                tracing::info!(object = %p.object_key, "journal sweep: removed an object that was never anchored");
                env.journal.finish(&p.object_key);
                settled += 1;
            }
            Err(e) => {
                tracing::warn!(object = %p.object_key, error = %e, "journal sweep: delete failed; will retry")
            }
        }
    }
    settled
}
