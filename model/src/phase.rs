//! Phases and their participants: public facts (who takes part, in which state, where the data
//! lives), never the data itself.

use serde::{Deserialize, Serialize};

use crate::error::{Refusal, Result};
use crate::identity::Role;
use crate::ids::{check_text, MspId, PhaseId, ProjectId, MAX_NAME_BYTES};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PhaseStatus {
    Planned,
    Active,
    Closed,
}

/// Who takes part in a phase: a whole org, one identity of it, or the org's members of one role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Participant {
    pub msp_id: MspId,
    /// An identity id (as `WhoAmI` shows it); only that identity of the org takes part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Only the org's identities with this role take part.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present_role")]
    pub role: Option<Role>,
}

/// A participant as a request gives it: its MSP id is checked where the list is read, so that an
/// error can name its place (`participants[2].msp_id`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GivenParticipant {
    msp_id: String,
    #[serde(default)]
    identity: Option<String>,
    #[serde(default, deserialize_with = "present_role")]
    role: Option<Role>,
}

fn given(list: Vec<GivenParticipant>) -> Result<Vec<Participant>> {
    let check = |(i, p): (usize, GivenParticipant)| {
        Ok(Participant { msp_id: MspId::named(&format!("participants[{i}].msp_id"), p.msp_id)?, identity: p.identity, role: p.role })
    };
    list.into_iter().enumerate().map(check).collect()
}

/// A request's participant list.
fn participant_list<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<Participant>, D::Error> {
    given(Vec::deserialize(d)?).map_err(|e| serde::de::Error::custom(e.reason))
}

/// A request's participant list, when it changes.
fn new_participant_list<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<Vec<Participant>>, D::Error> {
    match Option::<Vec<GivenParticipant>>::deserialize(d)? {
        None => Ok(None),
        Some(list) => given(list).map(Some).map_err(|e| serde::de::Error::custom(e.reason)),
    }
}

/// `"role": null` would silently mean "any role": a role is given or left out, never null.
fn present_role<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<Role>, D::Error> {
    Option::<Role>::deserialize(d)?.map(Some).ok_or_else(|| {
        serde::de::Error::custom("participant role must be one of client, admin, peer, orderer, member (leave it out for any role), not null")
    })
}

pub const MAX_PARTICIPANTS: usize = 100;

/// A phase's participant list: at least one, at most [`MAX_PARTICIPANTS`], none repeated.
pub fn check_participants(ps: &[Participant]) -> Result<()> {
    if ps.is_empty() {
        return Err(Refusal::bad("a phase needs at least one participant"));
    }
    if ps.len() > MAX_PARTICIPANTS {
        return Err(Refusal::bad(format!("at most {MAX_PARTICIPANTS} participants")));
    }
    for (i, p) in ps.iter().enumerate() {
        if p.identity.as_deref().is_some_and(|id| id.trim().is_empty()) {
            return Err(Refusal::bad(format!("participants[{i}].identity is empty; leave it out for the whole org")));
        }
        if let Some(j) = ps[..i].iter().position(|q| q == p) {
            return Err(Refusal::bad(format!("participants[{i}] repeats participants[{j}]")));
        }
    }
    Ok(())
}

/// The distinct participant orgs, sorted: each keeps a copy of the phase's data.
pub fn org_set(ps: &[Participant]) -> Vec<&str> {
    let mut orgs: Vec<&str> = ps.iter().map(|p| p.msp_id.as_str()).collect();
    orgs.sort_unstable();
    orgs.dedup();
    orgs
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Phase {
    pub project: ProjectId,
    pub id: PhaseId,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::ids::Name))]
    pub name: String,
    /// Its place among the project's phases: they are at exactly 0..n-1, in the order shown.
    pub position: u32,
    pub status: PhaseStatus,
    pub participants: Vec<Participant>,
    /// Where the data lives: [`ORG_COPIES`] (each participant org keeps its own copy in its
    /// implicit collection), or, for a phase created before that model, the one collection of
    /// its org set (`col_Org1MSP_Org2MSP`).
    pub collection: String,
    /// The version of the phase's data key that new files are sealed with. Every removal of a
    /// participant makes a new version, which the removed party never receives.
    #[serde(default = "first_key_version")]
    pub key_version: u32,
    /// Set while a joining org receives its copy (reads and writes go on, but for the fill's last
    /// step), a leaving org's copy is purged (nothing waits), or an older phase moves to per-org
    /// copies (writes wait).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<Migration>,
    /// Whether its private keys name items by a keyed hash of their ids and its values carry a
    /// salt, so that the hashes every block carries confirm no guess (every phase created since
    /// svcflow 0.22; an older phase keeps plain keys: docs/security.md).
    #[serde(default)]
    pub blinded: bool,
    /// A change of participants that adds someone while the phase holds data, waiting for the
    /// approval of every current participant org that stays ([`Proposal`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Proposal>,
}

/// A change of a phase's participants that would let someone new see what the participants
/// share: it takes effect only when every current participant org that stays in the phase has
/// approved it (`ApprovePhaseChange`, one call per org; the proposer's org approves by proposing
/// when the proposer takes part). A change that only removes needs nobody's approval, least of
/// all the removed party's. A new proposal replaces one still waiting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Proposal {
    /// The participants the phase will have.
    pub participants: Vec<Participant>,
    /// The orgs whose approval it needs.
    pub needs: Vec<MspId>,
    /// The orgs that approved it so far.
    pub approvals: Vec<MspId>,
    pub by: crate::identity::Principal,
    pub tx_id: String,
}

impl Proposal {
    /// The orgs it still waits for.
    pub fn waiting_for(&self) -> Vec<&MspId> {
        self.needs.iter().filter(|o| !self.approvals.contains(o)).collect()
    }
}

/// The orgs whose approval a change from `old` to `new` participants needs: none when it adds
/// nobody (an org, an identity or a role not listed before), else every org of `old` that stays.
pub fn approvers(old: &[Participant], new: &[Participant]) -> Vec<MspId> {
    if new.iter().all(|p| old.contains(p)) {
        return vec![];
    }
    let new_orgs = org_set(new);
    let mut orgs: Vec<MspId> = old.iter().map(|p| p.msp_id.clone()).filter(|o| new_orgs.contains(&o.as_str())).collect();
    orgs.sort();
    orgs.dedup();
    orgs
}

fn first_key_version() -> u32 {
    1
}

/// The `collection` of a phase whose data each participant org keeps in its own implicit
/// collection (`_implicit_org_<MSP>`, which Fabric gives every org of the channel without any
/// chaincode definition): any subset of the channel's orgs, one that joined later included, with
/// no definition change, and a write costs what its participants cost, not the consortium.
pub const ORG_COPIES: &str = "_implicit_org_*";

impl Phase {
    /// Whether each participant org keeps its own copy ([`ORG_COPIES`]), rather than the phase
    /// having one collection of its org set (phases created before that model).
    pub fn in_org_copies(&self) -> bool {
        self.collection == ORG_COPIES
    }
}

/// A change of where a phase's data is held, under way, batch by batch:
/// - orgs joining a phase of [`ORG_COPIES`] receive their copies (`from` and `to` are both
///   `ORG_COPIES`); the phase has only its staying participants until the fill ends, and its
///   writes go on meanwhile: each also marks its key in the staying copies, and the fill, having
///   walked every key once, copies the marked ones again (`rechecking`). Only for its very last
///   step is the phase `sealed` (writes wait about one block); then the joiners take part. Orgs
///   that left have their copies purged (`purge`); that alone holds no write and no read: they
///   left when the change was made.
/// - a phase created with one collection of its org set moves to per-org copies (`to` is
///   `ORG_COPIES`); its writes wait and it keeps its old participants until the last batch.
///
/// `moved`, `batches`, `cursor`, `listed` and `rechecking` are the current track's progress: the
/// chaincode keeps them apart from the phase (which every write reads, so that steps and writes
/// do not invalidate each other) and shows them here when a phase is read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Migration {
    /// The participants the phase will have.
    pub participants: Vec<Participant>,
    /// The collection the data leaves.
    pub from: String,
    /// The collection the data moves to.
    pub to: String,
    /// Private values moved so far (records with every version, anchors, keys, changes).
    pub moved: u64,
    /// Transactions that moved them.
    pub batches: u32,
    /// Orgs that left a phase of per-org copies whose copies are still to be purged (the purge
    /// of a copy needs its org's peer to endorse it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purge: Vec<MspId>,
    /// Where the current track (the fill, then the purge) stands: the last key it covered, or
    /// for a phase that is not blinded, whose keys name its items, that key's SHA-256 (which every
    /// block carries already) as `sha256:<hex>`. Empty at the start of a track.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cursor: String,
    /// Keys the current track's steps have listed so far (each a key of the phase, in key order).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub listed: u64,
    /// The fill walked every key once and now copies again the keys written meanwhile.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rechecking: bool,
    /// The fill's last step is under way: the phase's writes wait for it (about one block).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sealed: bool,
    /// The transaction that began this migration (empty for one begun by an older chaincode).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub since: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Migration {
    /// The orgs that receive a copy: of per-org copies, those with none yet; from an org set's
    /// collection, every org of the new participants.
    pub fn receiving<'a>(&'a self, phase: &Phase) -> Vec<&'a str> {
        let now = org_set(&phase.participants);
        org_set(&self.participants).into_iter().filter(|o| self.from != ORG_COPIES || !now.contains(o)).collect()
    }

    /// Whether some org has yet to receive its copy: the phase's participants cannot change
    /// again until then.
    pub fn filling(&self, phase: &Phase) -> bool {
        !self.receiving(phase).is_empty()
    }

    /// Whether the phase's writes wait for this migration: an older phase moving out of its org
    /// set's collection (each step purges what it moved there), or a fill's last step.
    pub fn holds_writes(&self, phase: &Phase) -> bool {
        self.filling(phase) && (self.from != ORG_COPIES || self.sealed)
    }
}

/// Phase `id` among a project's phases (as `ListPhases` answers them).
pub fn find(phases: Vec<Phase>, project: &str, id: &str) -> Result<Phase> {
    phases.into_iter().find(|p| p.id == id).ok_or_else(|| Refusal::not_found(format!("phase {id} of project {project} does not exist")))
}

/// A project's phases in the order shown: by stored position, then id (older versions of the
/// chaincode could store ties), with `position` renumbered 0..n-1 to match.
pub fn in_order(mut phases: Vec<Phase>) -> Vec<Phase> {
    phases.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.id.cmp(&b.id)));
    for (i, p) in phases.iter_mut().enumerate() {
        p.position = i as u32;
    }
    phases
}

/// Where a phase goes among `n` others: `at`, 0 to `n` (the end, also when `at` is left out).
pub fn insertion_index(project: &str, n: usize, at: Option<u32>) -> Result<usize> {
    match at {
        None => Ok(n),
        Some(k) if (k as usize) <= n => Ok(k as usize),
        Some(k) => Err(Refusal::bad(format!("position {k} is past the end: a new phase of project {project} goes at 0 to {n}"))),
    }
}

/// Where a phase moves among a project's `n` phases (itself included): `k`, 0 to `n - 1`.
pub fn move_index(project: &str, n: usize, k: u32) -> Result<usize> {
    if (k as usize) < n {
        Ok(k as usize)
    } else {
        Err(Refusal::bad(format!("position {k} is past the end: the phases of project {project} are at 0 to {}", n.saturating_sub(1))))
    }
}

/// Whether going from `old` to `new` takes anything away from anyone: an org, an identity or a
/// role no longer listed. Such a change rotates the phase key.
pub fn removes(old: &[Participant], new: &[Participant]) -> bool {
    old.iter().any(|p| !new.contains(p))
}

/// `AddPhase`'s argument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewPhase {
    /// Optional in a REST body: the path names the project, and a body that names another is refused (400).
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub project: ProjectId,
    pub id: PhaseId,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::ids::Name))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    #[serde(deserialize_with = "participant_list")]
    pub participants: Vec<Participant>,
    /// Where the phase goes among the project's phases, 0 to their count: the ones from there on
    /// move one down. By default it goes last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
}

impl NewPhase {
    pub fn validate(&self) -> Result<()> {
        check_text("name", &self.name, MAX_NAME_BYTES)?;
        check_participants(&self.participants)
    }
}

/// `UpdatePhase`'s argument: what is given changes, the rest stays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PhaseUpdate {
    /// Optional in a REST body: the path names the project, and a body that names another is refused (400).
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub project: ProjectId,
    /// Optional in a REST body: the path names the phase, and a body that names another is refused (400).
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub id: PhaseId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::ids::Name>))]
    pub name: Option<String>,
    /// Only while the phase is planned: moves it to this place among the project's phases (0 to
    /// their count - 1), the ones between shifting by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    /// Until the phase closes. An org that leaves is out at once (its copy is purged afterwards);
    /// one that joins takes part once it has received its copy (see `Phase::migration`); any
    /// removal rotates the key.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "new_participant_list")]
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    pub participants: Option<Vec<Participant>>,
}

impl PhaseUpdate {
    pub fn validate(&self) -> Result<()> {
        if let Some(name) = &self.name {
            check_text("name", name, MAX_NAME_BYTES)?;
        }
        if let Some(ps) = &self.participants {
            check_participants(ps)?;
        }
        Ok(())
    }
}

/// A phase's 32-byte data key as `GetPhaseKey` answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseKey {
    pub project: ProjectId,
    pub phase: PhaseId,
    /// Which version of the phase's key this is (see [`Phase::key_version`]).
    pub version: u32,
    /// Base64 of the 32-byte key.
    pub key: String,
}

pub const PHASE_KEY_BYTES: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    fn p(msp: &str) -> Participant {
        Participant { msp_id: MspId::new(msp).unwrap(), identity: None, role: None }
    }

    #[test]
    fn who_approves_a_change() {
        let user = |msp: &str, id: &str| Participant { identity: Some(id.into()), ..p(msp) };
        let names = |v: Vec<MspId>| v.into_iter().map(|o| o.to_string()).collect::<Vec<_>>();
        // Removing needs nobody; adding an org needs every org that stays, the removed one excepted.
        assert!(approvers(&[p("Org1MSP"), p("Org2MSP")], &[p("Org1MSP")]).is_empty());
        assert_eq!(names(approvers(&[p("Org1MSP"), p("Org2MSP")], &[p("Org1MSP"), p("Org2MSP"), p("Org3MSP")])), ["Org1MSP", "Org2MSP"]);
        assert_eq!(names(approvers(&[p("Org1MSP"), p("Org2MSP")], &[p("Org1MSP"), p("Org3MSP")])), ["Org1MSP"]);
        // So does adding an identity of an org that takes part already.
        assert_eq!(
            names(approvers(&[user("Org1MSP", "u1"), p("Org2MSP")], &[user("Org1MSP", "u1"), user("Org1MSP", "u2"), p("Org2MSP")])),
            ["Org1MSP", "Org2MSP"]
        );
    }

    #[test]
    fn participants() {
        assert!(check_participants(&[p("Org1MSP")]).is_ok());
        assert!(check_participants(&[]).is_err());
        assert!(check_participants(&vec![p("Org1MSP"); 101]).is_err());
        let e = check_participants(&[p("Org1MSP"), p("Org2MSP"), p("Org1MSP")]).unwrap_err();
        assert!(e.reason.contains("participants[2] repeats participants[0]"), "{e}");
        let empty = Participant { msp_id: MspId::new("Org1MSP").unwrap(), identity: Some(" ".into()), role: None };
        assert!(check_participants(&[empty]).unwrap_err().reason.contains("participants[0].identity"));
        let bad: std::result::Result<Participant, _> = serde_json::from_str(r#"{"msp_id":"Org 2"}"#);
        assert!(bad.unwrap_err().to_string().contains("\"Org 2\" is not an MSP id"));
        // In a request's list the error names the participant's place.
        let bad = serde_json::from_str::<NewPhase>(r#"{"project":"p","id":"P","name":"n","participants":[{"msp_id":"Org1MSP"},{"msp_id":"Org 2"}]}"#);
        assert!(bad.unwrap_err().to_string().starts_with("participants[1].msp_id \"Org 2\" is not an MSP id"));
        let bad = serde_json::from_str::<PhaseUpdate>(r#"{"project":"p","id":"P","participants":[{"msp_id":"Org 2","x":1}]}"#);
        assert!(bad.is_err(), "unknown fields of a participant are refused");
        let ok = serde_json::from_str::<PhaseUpdate>(r#"{"project":"p","id":"P"}"#).unwrap();
        assert_eq!(ok.participants, None);
        // A role is given or left out: null is refused, naming what to do.
        let null: std::result::Result<Participant, _> = serde_json::from_str(r#"{"msp_id":"Org1MSP","role":null}"#);
        assert!(null.unwrap_err().to_string().contains("not null"));
        let given: Participant = serde_json::from_str(r#"{"msp_id":"Org1MSP","role":"admin"}"#).unwrap();
        assert_eq!(given.role, Some(Role::Admin));
        let absent: Participant = serde_json::from_str(r#"{"msp_id":"Org1MSP"}"#).unwrap();
        assert_eq!(absent.role, None);
        assert_eq!(org_set(&[p("Org2MSP"), p("Org1MSP"), p("Org2MSP")]), vec!["Org1MSP", "Org2MSP"]);
    }

    #[test]
    fn removals() {
        let alice = Participant { msp_id: MspId::new("Org1MSP").unwrap(), identity: Some("alice".into()), role: None };
        let admin = Participant { msp_id: MspId::new("Org1MSP").unwrap(), identity: None, role: Some(Role::Admin) };
        assert!(!removes(&[p("Org1MSP")], &[p("Org1MSP"), p("Org2MSP")]), "adding an org");
        assert!(removes(&[p("Org1MSP"), p("Org2MSP")], &[p("Org1MSP")]), "removing an org");
        assert!(removes(&[p("Org1MSP"), alice.clone()], &[p("Org1MSP")]), "removing an identity");
        assert!(removes(std::slice::from_ref(&admin), &[p("Org1MSP")]), "a role changed is one taken away");
        assert!(!removes(&[alice.clone(), admin.clone()], &[admin, alice]), "order does not matter");
    }
}
