//! Who may read and write a phase's data. The peer enforces org membership of the phase's
//! collection; this adds the identity level (one identity, or one role, of an org).

use crate::error::{Refusal, Result};
use crate::identity::Identity;
use crate::phase::Phase;

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
        Err(Refusal::forbidden(format!(
            "{} ({}) is not a participant of phase {} of project {}",
            who.common_name().unwrap_or_else(|| "this identity".to_owned()),
            who.msp_id,
            phase.id,
            phase.project
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Role;
    use crate::phase::{Participant, PhaseStatus};

    fn who(msp: &str, id: &str, role: Role) -> Identity {
        Identity { msp_id: msp.into(), id: id.into(), subject: format!("CN={id}"), issuer: "CN=ca".into(), role, attrs: Default::default() }
    }

    #[test]
    fn participation_by_org_identity_and_role() {
        let part = |msp: &str, identity: Option<&str>, role: Option<Role>| Participant {
            msp_id: msp.parse().unwrap(),
            identity: identity.map(Into::into),
            role,
        };
        let phase = |ps: Vec<Participant>| Phase {
            project: "p".parse().unwrap(),
            id: "P".parse().unwrap(),
            name: "n".into(),
            position: 0,
            status: PhaseStatus::Active,
            participants: ps,
            collection: "c".into(),
            key_version: 1,
            migration: None,
            blinded: true,
            proposal: None,
        };
        let u1 = who("Org1MSP", "u1", Role::Client);
        let admin = who("Org1MSP", "a", Role::Admin);
        let o2 = who("Org2MSP", "u1", Role::Client);
        let cases = [
            (vec![part("Org1MSP", None, None)], &u1, true),
            (vec![part("Org1MSP", None, None)], &o2, false),
            (vec![part("Org1MSP", Some("u1"), None)], &u1, true),
            (vec![part("Org1MSP", Some("u1"), None)], &admin, false),
            // Same identity id in another org is another identity.
            (vec![part("Org1MSP", Some("u1"), None)], &o2, false),
            (vec![part("Org1MSP", None, Some(Role::Admin))], &admin, true),
            (vec![part("Org1MSP", None, Some(Role::Admin))], &u1, false),
            (vec![part("Org2MSP", None, None), part("Org1MSP", Some("a"), None)], &admin, true),
        ];
        for (ps, caller, want) in cases {
            let ph = phase(ps.clone());
            assert_eq!(is_participant(caller, &ph), want, "{ps:?} / {}", caller.id);
            assert_eq!(must_participate(caller, &ph).is_ok(), want);
        }
    }
}
