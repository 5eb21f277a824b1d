//! Settles journal entries no upload is working on, from the ledger: an object its anchor names
//! stays; one it does not name is deleted once the transaction that would have named it is known
//! to be final (in a block, valid or not) or was never sent for ordering. Entries that cannot be
//! settled now stay for the next sweep.

use std::time::Duration;

use svcflow_model::call::FileRef;
use svcflow_model::file::FileAnchor;
use svcflow_model::ids::{FileId, PhaseId, ProjectId};
use svcflow_model::{Call, ErrorKind};

use super::journal::Pending;
use super::Env;
use crate::ledger;
use crate::storage::{ObjectStore, StorageError};

/// What to do with an entry.
#[derive(Debug, PartialEq, Eq)]
enum Settle {
    /// The anchor names the object: it stays; the entry goes.
    Keep,
    /// Nothing names the object, nor can any more: delete it, then the entry.
    Remove(&'static str),
    /// Not known yet.
    Wait,
}

/// A transaction sent for ordering is in a block within seconds (the Raft batch timeout) unless
/// the orderer that took it failed before replicating it; `give_up` after it was sent, it never
/// will be (`server.give_up_ordering_ms`).
async fn decide(env: &Env<'_>, p: &Pending, idle: Duration, give_up: Duration) -> Settle {
    // The journal's own entries: written from checked ids, so an entry that fails the check was
    // not written by this gateway and names nothing it may delete.
    let item = match (ProjectId::new(p.project.as_str()), PhaseId::new(p.phase.as_str()), FileId::new(p.file.as_str())) {
        (Ok(project), Ok(phase), Ok(id)) => FileRef { project, phase, id },
        _ => {
            tracing::warn!(object = %p.object_key, "journal sweep: the entry's ids are not valid ids; left alone");
            return Settle::Wait;
        }
    };
    match ledger::query::<FileAnchor>(env.ledger, &p.user, &Call::GetFile(item)).await {
        Ok(a) if a.object_key == p.object_key => return Settle::Keep,
        Ok(_) => {}
        Err(e) if e.refusal().is_some_and(|r| r.kind == ErrorKind::NotFound) => {}
        Err(e) => {
            tracing::warn!(object = %p.object_key, error = %e, "journal sweep: anchor unknown for now");
            return Settle::Wait;
        }
    }
    // The anchor does not name this object (now).
    let Some(tx_id) = &p.tx_id else {
        return Settle::Remove("its transaction was never sent for ordering");
    };
    match env.ledger.tx_status(&p.user, tx_id).await {
        // Final either way, and the anchor does not name the object: nothing ever will.
        Ok(Some(_)) => Settle::Remove("its transaction is final and the anchor names another object or none"),
        Ok(None) if idle >= give_up => Settle::Remove("its transaction is in no block long after it was sent"),
        Ok(None) => Settle::Wait,
        Err(e) => {
            tracing::warn!(object = %p.object_key, tx_id = %tx_id, error = %e, "journal sweep: transaction status unknown for now");
            Settle::Wait
        }
    }
}

/// One pass over the entries idle for at least `min_age`; the number settled.
pub async fn sweep(env: &Env<'_>, min_age: Duration, give_up: Duration) -> usize {
    let mut settled = 0;
    for (p, idle) in env.journal.stale(min_age) {
        match decide(env, &p, idle, give_up).await {
            Settle::Keep => {
                if super::keep(env, &p.object_key).await {
                    settled += 1;
                }
            }
            Settle::Wait => {}
            Settle::Remove(why) => match env.store.delete(&p.object_key).await {
                Ok(()) | Err(StorageError::NotFound(_)) => {
                    tracing::info!(object = %p.object_key, tx_id = p.tx_id.as_deref().unwrap_or(""), why, "journal sweep: removed an object no anchor names");
                    env.journal.finish(&p.object_key);
                    settled += 1;
                }
                Err(e) => {
                    tracing::warn!(object = %p.object_key, error = %e, "journal sweep: delete failed; will retry")
                }
            },
        }
    }
    settled
}
