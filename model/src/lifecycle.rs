//! How projects and phases move through their life, and who may move them: the one place to
//! change a phase rule. Each function answers "may this happen now?" with the refusal to give.

use crate::error::{Refusal, Result};
use crate::identity::{Identity, Role};
use crate::phase::{org_set, Phase, PhaseStatus, ORG_COPIES};
use crate::project::Project;

/// Any client (or admin) of a consortium org may create a project; peers and orderers may not.
pub fn may_create_project(who: &Identity) -> Result<()> {
    match who.role {
        Role::Client | Role::Admin => Ok(()),
        other => Err(Refusal::forbidden(format!("a {other:?} identity cannot create projects; use a client or admin identity"))),
    }
}

/// The owner, or an admin of the owner's org, manages a project's phases.
pub fn may_manage(who: &Identity, project: &Project) -> Result<()> {
    let owner_org = who.msp_id == project.owner.msp_id;
    if owner_org && (who.id == project.owner.id || who.role == Role::Admin) {
        Ok(())
    } else {
        Err(Refusal::forbidden(format!("only the owner of project {} or an admin of {} may manage its phases", project.id, project.owner.msp_id)))
    }
}

/// Planned → active → closed; a planned phase may also close without ever running.
pub fn may_become(phase: &Phase, to: PhaseStatus) -> Result<()> {
    use PhaseStatus::*;
    if phase.migration.as_ref().is_some_and(|m| m.filling(phase)) {
        // A fill's steps write the phase's data; they must all land before it closes.
        may_change(phase)?;
    }
    if matches!((phase.status, to), (Planned, Active) | (Planned | Active, Closed)) {
        Ok(())
    } else {
        Err(Refusal::conflict(format!("phase {} is {:?}; it cannot become {:?}", phase.id, phase.status, to)))
    }
}

/// A closed phase is read-only: no new name, participants, records, files or key. While orgs
/// receive their copies, the phase itself (name, place, participants, status) waits too.
pub fn may_change(phase: &Phase) -> Result<()> {
    may_write(phase)?;
    match &phase.migration {
        Some(m) if m.filling(phase) && m.from == ORG_COPIES => Err(Refusal::conflict(format!(
            "phase {}: {} {} receiving a copy of its data (GET its migration for the progress); the phase cannot change until then, its records and files can",
            phase.id,
            m.receiving(phase).join(", "),
            if m.receiving(phase).len() == 1 { "is" } else { "are" },
        ))),
        _ => Ok(()),
    }
}

/// Whether the phase's data (records, files, its key) may be written now.
pub fn may_write(phase: &Phase) -> Result<()> {
    if phase.status == PhaseStatus::Closed {
        return Err(Refusal::conflict(format!("phase {} is closed and read-only", phase.id)));
    }
    match &phase.migration {
        Some(m) if m.holds_writes(phase) && m.from == ORG_COPIES => Err(Refusal::unavailable(format!(
            "phase {}: {} {} about to take part, the last values of {} copy being checked; writes wait for that one step (about a block): try again in a moment",
            phase.id,
            m.receiving(phase).join(", "),
            if m.receiving(phase).len() == 1 { "is" } else { "are" },
            if m.receiving(phase).len() == 1 { "its" } else { "their" },
        ))),
        Some(m) if m.holds_writes(phase) => Err(Refusal::conflict(format!(
            "phase {} is migrating from {} to {} (GET its migration for the progress); its data cannot change until the migration ends, reads go on",
            phase.id, m.from, m.to
        ))),
        // Purging the copies of orgs that left holds nothing up: they left when the change was made.
        _ => Ok(()),
    }
}

/// Only a planned phase moves in the sequence.
pub fn may_reorder(phase: &Phase) -> Result<()> {
    may_change(phase)?;
    if phase.status != PhaseStatus::Planned {
        return Err(Refusal::conflict(format!("phase {} can be reordered only while planned", phase.id)));
    }
    Ok(())
}

/// Whether the phase's participant orgs may become `new_orgs`: a joining org's copy is filled
/// from a staying participant's, so the two sets must share an org.
pub fn may_change_orgs(phase: &Phase, new_orgs: &[&str]) -> Result<()> {
    may_change(phase)?;
    let old_orgs = org_set(&phase.participants);
    if old_orgs != new_orgs && !new_orgs.iter().any(|o| old_orgs.contains(o)) {
        return Err(Refusal::conflict(format!(
            "phase {}: the new orgs ({}) share none with the current ones ({}), and the data can only be moved by a participant of both; add the new orgs first, then remove the old ones",
            phase.id,
            new_orgs.join(", "),
            old_orgs.join(", ")
        )));
    }
    Ok(())
}

/// Who may move a migrating phase's data: a participant (of the phase as it is) whose org stays
/// in it. Reading the old collection and writing the new one take a member of both.
pub fn may_migrate(who: &Identity, phase: &Phase) -> Result<()> {
    let Some(m) = &phase.migration else {
        return Err(Refusal::conflict(format!("phase {} of project {} is not migrating", phase.id, phase.project)));
    };
    crate::acl::must_participate(who, phase)?;
    let staying = org_set(&m.participants);
    if !staying.contains(&who.msp_id.as_str()) {
        return Err(Refusal::forbidden(format!(
            "{} leaves phase {}: a participant whose org stays ({}) moves its data",
            who.msp_id,
            phase.id,
            staying.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::identity::Principal;
    use crate::phase::Participant;
    use crate::project::ProjectStatus;
    use PhaseStatus::*;

    fn phase(status: PhaseStatus) -> Phase {
        Phase {
            project: "p".parse().unwrap(),
            id: "P".parse().unwrap(),
            name: "n".into(),
            position: 0,
            status,
            participants: vec![Participant { msp_id: "Org1MSP".parse().unwrap(), identity: None, role: None }],
            collection: "col_Org1MSP".into(),
            key_version: 1,
            migration: None,
            blinded: true,
            proposal: None,
        }
    }

    fn kind<T>(r: Result<T>) -> Option<ErrorKind> {
        r.err().map(|e| e.kind)
    }

    #[test]
    fn status_transitions() {
        let conflict = Some(ErrorKind::Conflict);
        let table = [
            (Planned, Active, None),
            (Planned, Closed, None),
            (Active, Closed, None),
            (Planned, Planned, conflict),
            (Active, Active, conflict),
            (Active, Planned, conflict),
            (Closed, Active, conflict),
            (Closed, Planned, conflict),
            (Closed, Closed, conflict),
        ];
        for (from, to, want) in table {
            assert_eq!(kind(may_become(&phase(from), to)), want, "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn what_each_state_allows() {
        let conflict = Some(ErrorKind::Conflict);
        // (state, change, reorder, change orgs, keep orgs)
        let table = [(Planned, None, None, None, None), (Active, None, conflict, None, None), (Closed, conflict, conflict, conflict, conflict)];
        for (st, change, reorder, orgs, same) in table {
            let ph = phase(st);
            assert_eq!(kind(may_change(&ph)), change, "{st:?} change");
            assert_eq!(kind(may_reorder(&ph)), reorder, "{st:?} reorder");
            assert_eq!(kind(may_change_orgs(&ph, &["Org1MSP", "Org2MSP"])), orgs, "{st:?} new org set");
            assert_eq!(kind(may_change_orgs(&ph, &["Org1MSP"])), same, "{st:?} same org set");
            if st != Closed {
                assert_eq!(kind(may_change_orgs(&ph, &["Org2MSP"])), conflict, "{st:?} disjoint org set");
            }
        }
    }

    #[test]
    fn a_migrating_phase_waits() {
        let mut ph = phase(Active);
        ph.migration = Some(crate::phase::Migration {
            participants: ph.participants.clone(),
            from: "col_Org1MSP".into(),
            to: ORG_COPIES.into(),
            moved: 3,
            batches: 1,
            ..Default::default()
        });
        let e = may_change(&ph).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert!(e.reason.contains("migrating from col_Org1MSP to _implicit_org_*"), "{e}");
        assert_eq!(kind(may_write(&ph)), Some(ErrorKind::Conflict));
        assert_eq!(kind(may_become(&ph, Closed)), Some(ErrorKind::Conflict));
        assert_eq!(kind(may_change_orgs(&ph, &["Org1MSP"])), Some(ErrorKind::Conflict));
    }

    #[test]
    fn a_phase_of_org_copies_waits_only_for_a_joining_orgs_last_step() {
        let mut ph = phase(Active);
        ph.collection = ORG_COPIES.into();
        let p = |o: &str| Participant { msp_id: o.parse().unwrap(), identity: None, role: None };
        let m = |ps: Vec<Participant>, purge: Vec<&str>| crate::phase::Migration {
            participants: ps,
            from: ORG_COPIES.into(),
            to: ORG_COPIES.into(),
            moved: 7,
            batches: 1,
            purge: purge.into_iter().map(|o| o.parse().unwrap()).collect(),
            ..Default::default()
        };
        // Org2 joins: the phase itself waits, naming who is receiving its copy; its data does not.
        ph.migration = Some(m(vec![p("Org1MSP"), p("Org2MSP")], vec![]));
        let e = may_change(&ph).unwrap_err();
        assert!(e.reason.contains("Org2MSP is receiving a copy") && e.reason.contains("records and files can"), "{e}");
        assert_eq!(kind(may_become(&ph, Closed)), Some(ErrorKind::Conflict));
        assert_eq!(kind(may_write(&ph)), None);
        // Its last step: writes wait that one block, and are told to come again.
        ph.migration.as_mut().unwrap().sealed = true;
        let e = may_write(&ph).unwrap_err();
        assert!(e.kind == ErrorKind::Unavailable && e.reason.contains("try again"), "{e}");
        // Org3 left and its copy is being purged: nothing waits, and the orgs may change again.
        ph.migration = Some(m(vec![p("Org1MSP")], vec!["Org3MSP"]));
        assert_eq!(kind(may_change(&ph)), None);
        assert_eq!(kind(may_write(&ph)), None);
        assert_eq!(kind(may_become(&ph, Closed)), None);
        assert_eq!(kind(may_change_orgs(&ph, &["Org1MSP", "Org2MSP"])), None);
    }

    #[test]
    fn who_creates_and_manages() {
        let who = |msp: &str, id: &str, role| Identity {
            msp_id: msp.into(),
            id: id.into(),
            subject: format!("CN={id}"),
            issuer: "CN=ca".into(),
            role,
            attrs: Default::default(),
        };
        let project = Project {
            id: "p".parse().unwrap(),
            name: "n".into(),
            description: String::new(),
            owner: Principal { msp_id: "Org1MSP".into(), id: "owner".into() },
            created: "t".into(),
            status: ProjectStatus::Active,
        };
        let forbidden = Some(ErrorKind::Forbidden);
        let table = [
            (who("Org1MSP", "owner", Role::Client), None, None),
            (who("Org1MSP", "other", Role::Client), None, forbidden),
            (who("Org1MSP", "admin", Role::Admin), None, None),
            (who("Org2MSP", "owner", Role::Admin), None, forbidden),
            (who("Org1MSP", "peer0", Role::Peer), forbidden, forbidden),
            (who("Org1MSP", "member", Role::Member), forbidden, forbidden),
        ];
        for (w, create, manage) in table {
            assert_eq!(kind(may_create_project(&w)), create, "create {} {:?}", w.id, w.role);
            assert_eq!(kind(may_manage(&w, &project)), manage, "manage {}@{} {:?}", w.id, w.msp_id, w.role);
        }
    }
}
