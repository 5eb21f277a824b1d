//! A phase's migration (joining orgs' copies filled, leaving orgs' purged): its status, and doing
//! it as a caller who may, in the background (`crate::migration` moves the batches).

use std::sync::Arc;

use svcflow_model::call::PhaseRef;
use svcflow_model::lifecycle;
use svcflow_model::phase::Phase;

use super::caller::Caller;
use super::error::ServiceError;
use super::state::AppState;
use crate::migration;

/// A phase (whose `migration` says what moves where, while it migrates) and whether this
/// gateway is moving its data now.
pub struct Status {
    pub phase: Phase,
    pub driving: bool,
}

/// The phase's migration as `caller` sees it.
pub async fn status(state: &AppState, caller: &Caller, at: PhaseRef) -> Result<Status, ServiceError> {
    let phase = migration::phase(&*state.ledger, &caller.user, &at.project, &at.phase).await?;
    let driving = driving(state, &phase);
    Ok(Status { phase, driving })
}

/// Starts, or resumes, moving the phase's data as `caller`: only a participant whose org stays
/// may.
pub async fn start(state: &AppState, caller: &Caller, at: PhaseRef) -> Result<Status, ServiceError> {
    let phase = migration::phase(&*state.ledger, &caller.user, &at.project, &at.phase).await?;
    let who = state.identity(caller).await?;
    lifecycle::may_migrate(&who, &phase)?;
    drive(state, caller.user.clone(), &phase);
    Ok(Status { phase, driving: true })
}

/// Starts moving `phase`'s data in the background as `caller` when the caller may (a participant
/// whose org stays); says whether it did. Others leave it to such a participant.
pub(super) async fn start_if_allowed(state: &AppState, caller: &Caller, phase: &Phase) -> Result<bool, ServiceError> {
    let who = state.identity(caller).await?;
    if lifecycle::may_migrate(&who, phase).is_err() {
        return Ok(false);
    }
    drive(state, caller.user.clone(), phase);
    Ok(true)
}

/// A write kept waiting past the gateway's own retries: its phase may be sealed for the fill's
/// last step with nobody driving it (its driver stopped). Drives it as `caller` when the phase
/// is sealed and the caller may; says whether the write is worth sending again.
pub(super) async fn finish_sealed(state: &AppState, caller: &Caller, at: &PhaseRef) -> Result<bool, ServiceError> {
    let phase = migration::phase(&*state.ledger, &caller.user, &at.project, &at.phase).await?;
    if !phase.migration.as_ref().is_some_and(|m| m.sealed) {
        return Ok(false);
    }
    tracing::info!(project = %at.project, phase = %at.phase, "a write waits for a sealed fill: finishing it");
    start_if_allowed(state, caller, &phase).await
}

fn driving(state: &AppState, phase: &Phase) -> bool {
    state.migrations.lock().unwrap_or_else(|p| p.into_inner()).contains(&(phase.project.clone(), phase.id.clone()))
}

/// Moves a migrating phase's data as `user` in the background, unless this gateway does so
/// already. A failure is logged; the data stays consistent and a new start resumes.
fn drive(state: &AppState, user: String, phase: &Phase) {
    let (project, phase) = (phase.project.clone(), phase.id.clone());
    let key = (project.clone(), phase.clone());
    if !state.migrations.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone()) {
        return;
    }
    let (ledger, running) = (Arc::clone(&state.ledger), Arc::clone(&state.migrations));
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        match migration::run(&*ledger, &user, &project, &phase).await {
            Ok(m) => tracing::info!(
                %project,
                %phase,
                values = m.values,
                transactions = m.transactions,
                ms = started.elapsed().as_millis() as u64,
                "migration done"
            ),
            Err(e) => {
                tracing::warn!(%project, %phase, tx_id = e.tx_id().unwrap_or(""), error = %e, "migration stopped; POST its /migration to resume")
            }
        }
        running.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
    });
}
