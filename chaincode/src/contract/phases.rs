//! Phases: public facts about who takes part and in which state, and each phase's data key in
//! its participants' copies. What may change when is `svcflow_model::lifecycle`'s to say.

use base64::Engine;
use serde_json::json;
use svcflow_model::call::{KeyRef, PhaseRef};
use svcflow_model::ids::MspId;
use svcflow_model::ids::{PhaseId, ProjectId};
use svcflow_model::phase::{self as model, Migration, NewPhase, Participant, Phase, PhaseKey, PhaseStatus, PhaseUpdate, Proposal, ORG_COPIES};
use svcflow_model::transient::NewPhaseKey;
use svcflow_model::{acl, lifecycle};

use svcflow_model::event::Event;

use super::{copies, decode, emit, projects, to_json};
use crate::collection::{self, implicit_name};
use crate::error::{ContractError, Result};
use crate::keys;
use crate::stub::Stub;

/// Every participant's org must be an org of the channel: each has an implicit collection
/// (Fabric's own, outside the definition), and a peer answers for it only if the org exists.
async fn require_channel_orgs<S: Stub>(stub: &S, ps: &[Participant]) -> Result<()> {
    for org in model::org_set(ps) {
        if let Err(e) = stub.private_hash(&collection::implicit_name(org), "\u{0}probe").await {
            let i = ps.iter().position(|p| p.msp_id == org).unwrap_or(0);
            return Err(ContractError::bad(format!("participants[{i}].msp_id: {org} is not an org of this channel (the peer said: {e})")));
        }
    }
    Ok(())
}

pub async fn get<S: Stub>(stub: &S, project: &ProjectId, phase: &PhaseId) -> Result<Phase> {
    match stub.get_state(&keys::phase(project, phase)).await? {
        Some(b) => decode("phase", &b),
        None => {
            projects::get(stub, project).await?;
            Err(ContractError::not_found(format!("phase {phase} of project {project} does not exist")))
        }
    }
}

/// The project's phases in order, positions 0..n-1.
pub async fn list<S: Stub>(stub: &S, project: &ProjectId) -> Result<Vec<Phase>> {
    Ok(model::in_order(stored(stub, project).await?))
}

/// The project's phases as stored, in order (positions as stored).
async fn stored<S: Stub>(stub: &S, project: &ProjectId) -> Result<Vec<Phase>> {
    projects::get(stub, project).await?;
    // Unpaginated: AddPhase reads this list and then writes, which Fabric forbids after a
    // paginated query.
    let (start, end) = keys::prefix_range(keys::PHASE, &[project]);
    let mut out = Vec::new();
    for (_, v) in stub.state_range(&start, &end).await? {
        out.push(decode::<Phase>("phase", &v)?);
    }
    out.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// Writes the positions of `order` (the project's phases in their new order) as 0..n-1, each
/// phase only if its stored position differs; `skip` is written by the caller itself.
async fn renumber<S: Stub>(stub: &S, order: Vec<Phase>, skip: &PhaseId) -> Result<()> {
    for (i, mut p) in order.into_iter().enumerate() {
        if p.id != *skip && p.position != i as u32 {
            p.position = i as u32;
            put(stub, &p).await?;
        }
    }
    Ok(())
}

pub(super) async fn put<S: Stub>(stub: &S, phase: &Phase) -> Result<()> {
    stub.put_state(&keys::phase(&phase.project, &phase.id), to_json(phase)?).await
}

pub async fn add<S: Stub>(stub: &S, req: NewPhase) -> Result<Phase> {
    req.validate()?;
    let project = projects::get(stub, &req.project).await?;
    lifecycle::may_manage(stub.creator(), &project)?;
    if stub.get_state(&keys::phase(&req.project, &req.id)).await?.is_some() {
        return Err(ContractError::conflict(format!("phase {} of project {} already exists", req.id, req.project)));
    }
    require_channel_orgs(stub, &req.participants).await?;
    let mut order = stored(stub, &req.project).await?;
    let at = model::insertion_index(&req.project, order.len(), req.position)?;
    let phase = Phase {
        project: req.project,
        id: req.id,
        name: req.name,
        position: at as u32,
        status: PhaseStatus::Planned,
        participants: req.participants,
        collection: ORG_COPIES.to_owned(),
        key_version: 1,
        migration: None,
        blinded: true,
        proposal: None,
    };
    order.insert(at, phase.clone());
    renumber(stub, order, &phase.id).await?;
    put(stub, &phase).await?;
    emit(stub, Event::PhaseAdded, &phase.project, Some(&phase.id));
    Ok(phase)
}

pub async fn update<S: Stub>(stub: &S, req: PhaseUpdate) -> Result<Phase> {
    req.validate()?;
    let project = projects::get(stub, &req.project).await?;
    lifecycle::may_manage(stub.creator(), &project)?;
    let mut phase = get(stub, &req.project, &req.id).await?;
    lifecycle::may_change(&phase)?;
    if let Some(name) = req.name {
        phase.name = name;
    }
    if let Some(pos) = req.position {
        lifecycle::may_reorder(&phase)?;
        let mut order = stored(stub, &req.project).await?;
        let to = model::move_index(&req.project, order.len(), pos)?;
        if let Some(from) = order.iter().position(|p| p.id == phase.id) {
            let moving = order.remove(from);
            order.insert(to, moving);
        }
        phase.position = to as u32;
        renumber(stub, order, &phase.id).await?;
    }
    let mut event = Event::PhaseUpdated;
    if let Some(ps) = req.participants {
        lifecycle::may_change_orgs(&phase, &model::org_set(&ps))?;
        require_channel_orgs(stub, &ps).await?;
        let needs = if holds_data(stub, &phase).await? { model::approvers(&phase.participants, &ps) } else { vec![] };
        let me = stub.creator();
        let mine = needs.iter().find(|o| o.as_str() == me.msp_id && acl::is_participant(me, &phase)).cloned();
        let proposal =
            Proposal { participants: ps, approvals: mine.into_iter().collect(), needs, by: me.principal(), tx_id: stub.tx_id().to_owned() };
        if proposal.waiting_for().is_empty() {
            set_participants(&mut phase, proposal.participants, stub.tx_id());
        } else {
            phase.proposal = Some(proposal);
            event = Event::PhaseChangeProposed;
        }
    }
    put(stub, &phase).await?;
    emit(stub, event, &phase.project, Some(&phase.id));
    Ok(phase)
}

/// A participant org's approval of the change waiting on the phase; the last one makes it.
pub async fn approve_change<S: Stub>(stub: &S, req: PhaseRef) -> Result<Phase> {
    let mut phase = get(stub, &req.project, &req.phase).await?;
    lifecycle::may_change(&phase)?;
    let me = stub.creator();
    acl::must_participate(me, &phase)?;
    let Some(mut proposal) = phase.proposal.take() else {
        return Err(ContractError::conflict(format!("no change of phase {}'s participants waits for approval", phase.id)));
    };
    let Some(org) = proposal.needs.iter().find(|o| o.as_str() == me.msp_id).cloned() else {
        return Err(ContractError::forbidden(format!("the change of phase {} needs no approval of {}", phase.id, me.msp_id)));
    };
    if proposal.approvals.contains(&org) {
        return Err(ContractError::conflict(format!("{org} approved this change of phase {} already", phase.id)));
    }
    proposal.approvals.push(org);
    let event = if proposal.waiting_for().is_empty() {
        lifecycle::may_change_orgs(&phase, &model::org_set(&proposal.participants))?;
        require_channel_orgs(stub, &proposal.participants).await?;
        set_participants(&mut phase, proposal.participants, stub.tx_id());
        Event::PhaseUpdated
    } else {
        phase.proposal = Some(proposal);
        Event::PhaseChangeApproved
    };
    put(stub, &phase).await?;
    emit(stub, event, &phase.project, Some(&phase.id));
    Ok(phase)
}

/// Whether the phase may hold anything a newcomer would see: a key of any version in a
/// participant's copy (every phase's data needs one; its hash is on every peer), or a phase of
/// an older model.
async fn holds_data<S: Stub>(stub: &S, phase: &Phase) -> Result<bool> {
    let Some(first) = model::org_set(&phase.participants).first().map(|o| implicit_name(o)) else { return Ok(false) };
    if !phase.in_org_copies() || phase.migration.is_some() {
        return Ok(true);
    }
    for version in 1..=phase.key_version {
        if stub.private_hash(&first, &keys::phase_key(&phase.project, &phase.id, version)).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

fn set_participants(phase: &mut Phase, ps: Vec<Participant>, tx_id: &str) {
    if model::removes(&phase.participants, &ps) {
        // Whoever was removed keeps what they read, never the key of what comes next.
        phase.key_version += 1;
    }
    phase.proposal = None;
    change_participants(phase, ps, tx_id);
}

/// The new participants `ps`, and what must move for them. Per-org copies: orgs that leave are
/// out at once and their copies are purged afterwards; orgs that join take part once their copies
/// are filled (until then the staying participants, with their new entries, have the phase).
/// An org set's collection: the whole phase moves to per-org copies of the new participants.
fn change_participants(phase: &mut Phase, ps: Vec<Participant>, tx_id: &str) {
    if !phase.in_org_copies() {
        let from = phase.collection.clone();
        phase.migration = Some(Migration { participants: ps, from, to: ORG_COPIES.into(), since: tx_id.to_owned(), ..Migration::default() });
        return;
    }
    let mut old: Vec<MspId> = phase.participants.iter().map(|p| p.msp_id.clone()).collect();
    old.sort();
    old.dedup();
    let new: Vec<&str> = model::org_set(&ps);
    // Copies still to purge from an earlier change, unless that org is back.
    let mut purge: Vec<MspId> = phase.migration.take().map(|m| m.purge).unwrap_or_default();
    purge.extend(old.iter().filter(|o| !new.contains(&o.as_str())).cloned());
    purge.retain(|o| !new.contains(&o.as_str()));
    purge.sort();
    purge.dedup();
    let joining = new.iter().any(|o| !old.iter().any(|m| m.as_str() == *o));
    let staying: Vec<Participant> = ps.iter().filter(|p| old.contains(&p.msp_id)).cloned().collect();
    if joining || !purge.is_empty() {
        phase.migration = Some(Migration {
            participants: ps.clone(),
            from: ORG_COPIES.into(),
            to: ORG_COPIES.into(),
            purge,
            since: tx_id.to_owned(),
            ..Migration::default()
        });
    }
    phase.participants = if joining { staying } else { ps };
}

pub async fn set_status<S: Stub>(stub: &S, req: PhaseRef, to: PhaseStatus) -> Result<Phase> {
    let project = projects::get(stub, &req.project).await?;
    lifecycle::may_manage(stub.creator(), &project)?;
    let mut phase = get(stub, &req.project, &req.phase).await?;
    lifecycle::may_become(&phase, to)?;
    phase.status = to;
    put(stub, &phase).await?;
    let event = if to == PhaseStatus::Active { Event::PhaseActivated } else { Event::PhaseClosed };
    emit(stub, event, &phase.project, Some(&phase.id));
    Ok(phase)
}

/// A participant's view of a phase it may read, or write (`writing`: not while closed).
pub(super) async fn as_participant<S: Stub>(stub: &S, project: &ProjectId, phase: &PhaseId, writing: bool) -> Result<Phase> {
    let phase = get(stub, project, phase).await?;
    acl::must_participate(stub.creator(), &phase)?;
    if writing {
        lifecycle::may_write(&phase)?;
    }
    Ok(phase)
}

/// Sets the key of the phase's current key version, which must not have one yet.
/// The key comes privately, and only with this call (`AddPhase` refuses one: its endorsers may be
/// outside the phase).
pub async fn set_key<S: Stub>(stub: &S, req: PhaseRef, k: NewPhaseKey) -> Result<serde_json::Value> {
    let phase = as_participant(stub, &req.project, &req.phase, true).await?;
    let key = keys::phase_key(&phase.project, &phase.id, phase.key_version);
    if copies::read(stub, &phase, &key).await?.is_some() {
        return Err(ContractError::conflict(format!("phase {} already has a key of version {}", phase.id, phase.key_version)));
    }
    copies::write(stub, &phase, &key, k.bytes().to_vec()).await?;
    emit(stub, Event::PhaseKeySet, &phase.project, Some(&phase.id));
    Ok(json!({"project": phase.project, "phase": phase.id, "version": phase.key_version}))
}

pub async fn get_key<S: Stub>(stub: &S, req: KeyRef) -> Result<PhaseKey> {
    let phase = as_participant(stub, &req.project, &req.phase, false).await?;
    let version = req.version.unwrap_or(phase.key_version);
    if version == 0 || version > phase.key_version {
        return Err(ContractError::bad(format!("phase {} has key versions 1 to {}, not {version}", phase.id, phase.key_version)));
    }
    match copies::read(stub, &phase, &keys::phase_key(&phase.project, &phase.id, version)).await? {
        Some(k) => Ok(PhaseKey { project: phase.project, phase: phase.id, version, key: base64::engine::general_purpose::STANDARD.encode(k) }),
        None => Err(ContractError::not_found(format!("phase {} has no key of version {version} yet", phase.id))),
    }
}
