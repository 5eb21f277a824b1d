//! Who may do what. The peer enforces org membership of collections; these rules add the
//! identity level: project owners, phase participants, roles.

use crate::error::{ContractError, Result};
use crate::identity::{Identity, Role};
use crate::model::{Phase, Project};

/// Any client (or admin) of a consortium org may create a project; peers and orderers may not.
pub fn may_create_project(who: &Identity) -> Result<()> {
    match who.role {
        Role::Client | Role::Admin => Ok(()),
        other => Err(ContractError::forbidden(format!("a {other:?} identity cannot create projects; use a client or admin identity"))),
    }
}

/// The owner, or an admin of the owner's org, manages a project's phases.
pub fn may_manage(who: &Identity, project: &Project) -> Result<()> {
    let owner_org = who.msp_id == project.owner.msp_id;
    if owner_org && (who.id == project.owner.id || who.role == Role::Admin) {
        Ok(())
    } else {
        Err(ContractError::forbidden(format!(
            "only the owner of project {} or an admin of {} may manage its phases",
            project.id, project.owner.msp_id
        )))
    }
}

pub fn is_participant(who: &Identity, phase: &Phase) -> bool {
    phase
        .participants
        .iter()
        .any(|p| p.msp_id == who.msp_id && p.identity.as_ref().is_none_or(|id| *id == who.id) && p.role.is_none_or(|r| r == who.role))
}

/// Only a phase's participants read and write its records, files and key.
pub fn must_participate(who: &Identity, phase: &Phase) -> Result<()> {
    if is_participant(who, phase) {
        Ok(())
    } else {
        Err(ContractError::forbidden(format!(
            "{} ({}) is not a participant of phase {} of project {}",
            who.common_name().unwrap_or_else(|| "this identity".to_owned()),
            who.msp_id,
            phase.id,
            phase.project
        )))
    }
}
