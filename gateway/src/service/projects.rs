//! Projects and their phases.

use svcflow_model::call::{IdArg, PhaseRef, ProjectArg};
use svcflow_model::page::{Page, PageReq};
use svcflow_model::phase::{NewPhase, Phase, PhaseUpdate};
use svcflow_model::project::{NewProject, Project};
use svcflow_model::Call;

use super::caller::Caller;
use super::error::ServiceError;
use super::migrations;
use super::state::AppState;
use crate::ledger::Committed;
use crate::phase_key;

/// Whether a new phase has its data key yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Set right after the phase was added.
    Set,
    /// Left for a participant's first upload.
    Pending,
}

/// A phase added, committed, and whether its key is set.
pub struct AddedPhase {
    pub phase: Phase,
    pub committed: Committed,
    pub key: KeyState,
}

/// Where a phase's data is after an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataMove {
    /// The participant orgs did not change: the data stays in its collection.
    Stays,
    /// It moves to the new org set's collection, and this gateway is moving it (as the caller).
    Moving,
    /// It is to move; a participant whose org stays must start it.
    Pending,
    /// The change adds someone to a phase holding data: it waits for the approval of the
    /// participant orgs named in the phase's `proposal`.
    Awaiting,
}

/// A phase updated, committed, and where its data goes.
pub struct UpdatedPhase {
    pub phase: Phase,
    pub committed: Committed,
    pub data: DataMove,
}

pub async fn create(state: &AppState, caller: &Caller, new: NewProject) -> Result<(Project, Committed), ServiceError> {
    Ok(state.invoke(caller, Call::CreateProject(new)).await?)
}

pub async fn list(state: &AppState, caller: &Caller, page: PageReq) -> Result<Page<Project>, ServiceError> {
    Ok(state.query(caller, Call::ListProjects(page)).await?)
}

pub async fn get(state: &AppState, caller: &Caller, id: IdArg) -> Result<Project, ServiceError> {
    Ok(state.query(caller, Call::GetProject(id)).await?)
}

/// Adds a phase, then — when the caller's org takes part in it — sets its data key in a second
/// transaction. Not in AddPhase itself: AddPhase writes public state, so it is endorsed by orgs
/// that may be outside the phase, and the key must never reach their peers.
pub async fn add_phase(state: &AppState, caller: &Caller, new: NewPhase) -> Result<AddedPhase, ServiceError> {
    let mine = new.participants.iter().any(|p| p.msp_id == caller.msp_id);
    let (phase, committed): (Phase, _) = state.invoke(caller, Call::AddPhase(new)).await?;
    let mut key = KeyState::Pending;
    if mine {
        let raw = phase_key::generate().map_err(ServiceError::RandomKey)?;
        let arg = PhaseRef { project: phase.project.clone(), phase: phase.id.clone() };
        match phase_key::set(&*state.ledger, &caller.user, arg, raw).await {
            Ok(_) => key = KeyState::Set,
            // The caller may be in the org but not in the phase (identity or role participants).
            Err(e) => {
                tracing::info!(phase = %phase.id, error = %e, "phase key left for the first participant upload")
            }
        }
    }
    Ok(AddedPhase { phase, committed, key })
}

pub async fn list_phases(state: &AppState, caller: &Caller, project: ProjectArg) -> Result<Vec<Phase>, ServiceError> {
    Ok(state.query(caller, Call::ListPhases(project)).await?)
}

pub async fn get_phase(state: &AppState, caller: &Caller, at: PhaseRef) -> Result<Phase, ServiceError> {
    let phases: Vec<Phase> = state.query(caller, Call::ListPhases(ProjectArg { project: at.project.clone() })).await?;
    Ok(svcflow_model::phase::find(phases, &at.project, &at.phase)?)
}

/// Updates a phase; when its participant orgs changed, starts moving its data as the caller if
/// the caller may.
pub async fn update_phase(state: &AppState, caller: &Caller, update: PhaseUpdate) -> Result<UpdatedPhase, ServiceError> {
    let (phase, committed): (Phase, _) = state.invoke(caller, Call::UpdatePhase(update)).await?;
    let awaiting = phase.proposal.as_ref().is_some_and(|p| p.tx_id == committed.tx_id);
    updated(state, caller, phase, committed, awaiting).await
}

/// Approves, for the caller's org, the change of participants waiting on the phase; the last
/// approval makes it, and its data then moves as after `update_phase`.
pub async fn approve_change(state: &AppState, caller: &Caller, at: PhaseRef) -> Result<UpdatedPhase, ServiceError> {
    let (phase, committed): (Phase, _) = state.invoke(caller, Call::ApprovePhaseChange(at)).await?;
    let awaiting = phase.proposal.is_some();
    updated(state, caller, phase, committed, awaiting).await
}

async fn updated(state: &AppState, caller: &Caller, phase: Phase, committed: Committed, awaiting: bool) -> Result<UpdatedPhase, ServiceError> {
    // A removed org's reads of this org's objects end now, not at the next periodic sync.
    crate::access::follow(&state.store, &phase).await;
    let data = if awaiting {
        DataMove::Awaiting
    } else if phase.migration.is_none() {
        DataMove::Stays
    } else if migrations::start_if_allowed(state, caller, &phase).await? {
        DataMove::Moving
    } else {
        DataMove::Pending
    };
    Ok(UpdatedPhase { phase, committed, data })
}

pub async fn activate_phase(state: &AppState, caller: &Caller, at: PhaseRef) -> Result<(Phase, Committed), ServiceError> {
    Ok(state.invoke(caller, Call::ActivatePhase(at)).await?)
}

pub async fn close_phase(state: &AppState, caller: &Caller, at: PhaseRef) -> Result<(Phase, Committed), ServiceError> {
    Ok(state.invoke(caller, Call::ClosePhase(at)).await?)
}
