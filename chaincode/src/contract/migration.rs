//! Filling joining orgs' copies of a phase, purging those of orgs that left, and moving an older
//! phase from its org set's collection to per-org copies; see `svcflow_model::migration` for why
//! a batch travels through the transient map.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use svcflow_model::call::{BatchRef, CollectionRef, PhaseRef};
use svcflow_model::lifecycle;
use svcflow_model::migration::{Batch, Holdings, Item, Progress, MAX_BATCH_BYTES, MAX_BATCH_ITEMS, MAX_BATCH_SCAN};
use svcflow_model::phase::{org_set, Migration, Phase, ORG_COPIES};

use super::copies::{self, not_held_here};
use super::phases;
use crate::collection::{implicit_name, IMPLICIT_PREFIX};
use svcflow_model::event::Event;

use super::{decode, emit, to_json};
use crate::digest::sha256;
use crate::error::{ContractError, Result};
use crate::keys;
use crate::stub::Stub;
use serde::{Deserialize, Serialize};

fn migration_of(phase: &Phase) -> Result<&Migration> {
    phase.migration.as_ref().ok_or_else(|| ContractError::conflict(format!("phase {} of project {} is not migrating", phase.id, phase.project)))
}

/// Keys of a step's own: written into the copies whose orgs must endorse the step (their
/// collections' endorsement policies then require it), never moved or counted with the phase.
const STEP_MARK: &str = "svcflow.migration_step";

/// Where the current track stands, kept apart from the phase: every write of the phase reads
/// the phase, so a step that wrote it would invalidate every write endorsed meanwhile. `of` is
/// the transaction that began the migration, so what an earlier one left is never taken for it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Standing {
    of: String,
    cursor: String,
    listed: u64,
    moved: u64,
    batches: u32,
    rechecking: bool,
}

/// Where the migration of `phase` stands: as kept apart, or as an older chaincode kept it in
/// the phase itself.
async fn standing<S: Stub>(stub: &S, phase: &Phase, m: &Migration) -> Result<Standing> {
    if let Some(b) = stub.get_state(&keys::migration(&phase.project, &phase.id)).await? {
        let st: Standing = decode("migration progress", &b)?;
        if st.of == m.since {
            return Ok(st);
        }
    }
    Ok(Standing { of: m.since.clone(), cursor: m.cursor.clone(), listed: m.listed, moved: m.moved, batches: m.batches, rechecking: false })
}

/// The phases as shown: each migration with the progress kept apart.
pub async fn shown_all<S: Stub>(stub: &S, phases: Vec<Phase>) -> Result<Vec<Phase>> {
    let mut out = Vec::with_capacity(phases.len());
    for phase in phases {
        out.push(shown(stub, phase).await?);
    }
    Ok(out)
}

/// The phase as shown: its migration with the progress kept apart.
async fn shown<S: Stub>(stub: &S, mut phase: Phase) -> Result<Phase> {
    let Some(m) = &phase.migration else { return Ok(phase) };
    let st = standing(stub, &phase, m).await?;
    if let Some(m) = phase.migration.as_mut() {
        (m.cursor, m.listed, m.moved, m.batches, m.rechecking) = (st.cursor, st.listed, st.moved, st.batches, st.rechecking);
    }
    Ok(phase)
}

/// Whether a receiving copy still lacks `key`'s value (hashed `hash`).
async fn to_receive<S: Stub>(stub: &S, m: &Migration, receiving: &[&str], key: &str, hash: &[u8]) -> Result<bool> {
    if m.from != ORG_COPIES {
        // From an org set's collection everything read is still there: each step purges it.
        return Ok(true);
    }
    for org in receiving {
        if stub.private_hash(&implicit_name(org), key).await?.as_deref() != Some(hash) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The phase's private values in `collection` after the key `after` ("" for the first), in key
/// order over every type of value, at most `limit`.
async fn scan<S: Stub>(stub: &S, phase: &Phase, collection: &str, after: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>> {
    let mut types = keys::PHASE_PRIVATE;
    types.sort_unstable_by_key(|t| keys::composite(t, &[]));
    let mut out = Vec::new();
    for object_type in types {
        let (start, end) = keys::prefix_range(object_type, &[&phase.project, &phase.id]);
        // The smallest key after `after`: a composite key ends in \0, so none equals this one.
        let after = format!("{after}\u{0}");
        let start = if after.len() == 1 || after < start { start } else { after };
        if start >= end || out.len() >= limit {
            continue;
        }
        let pairs = stub.private_range_limit(collection, &start, &end, limit - out.len()).await.map_err(|e| not_held_here(stub, phase, e))?;
        out.extend(pairs);
    }
    Ok(out)
}

/// How the public cursor names `key`: itself in a blinded phase (a keyed hash, naming nothing),
/// else its SHA-256, which the block that wrote it carries already.
fn cursor_of(phase: &Phase, key: &str) -> String {
    match key {
        "" => String::new(),
        k if phase.blinded => k.to_owned(),
        k => format!("sha256:{}", copies::hex(&sha256(k.as_bytes()))),
    }
}

/// The key a read starts after: the one given, else the one the public cursor names (found by
/// its hash in this peer's copy for a phase that is not blinded).
async fn start_after<S: Stub>(stub: &S, phase: &Phase, st: &Standing, source: &str, given: &str) -> Result<String> {
    if !given.is_empty() || st.cursor.is_empty() {
        return Ok(given.to_owned());
    }
    if phase.blinded {
        return Ok(st.cursor.clone());
    }
    let mut after = String::new();
    loop {
        let pairs = scan(stub, phase, source, &after, MAX_BATCH_SCAN).await?;
        if let Some((k, _)) = pairs.iter().find(|(k, _)| cursor_of(phase, k) == st.cursor) {
            return Ok(k.clone());
        }
        match pairs.last() {
            Some((k, _)) if pairs.len() == MAX_BATCH_SCAN => after.clone_from(k),
            _ => return Err(ContractError::conflict(format!("phase {}: this peer's copy lacks the key the migration stands at", phase.id))),
        }
    }
}

/// The next keys of the phase after `after` (by default where the migration stands), at most
/// one batch, read from this peer's copy (or the old org set's collection): every key, done or
/// not, with its value when a receiving copy lacks it.
pub async fn read_batch<S: Stub>(stub: &S, req: BatchRef) -> Result<Batch> {
    let phase = phases::as_participant(stub, &req.project, &req.phase, false).await?;
    let m = migration_of(&phase)?;
    let source = copies::batch_source(stub, &phase, &m.from).map_err(|e| not_held_here(stub, &phase, e))?;
    let receiving = m.receiving(&phase);
    let filling = m.from != ORG_COPIES || !receiving.is_empty();
    let st = standing(stub, &phase, m).await?;
    let (after, pairs) = if st.rechecking {
        (String::new(), written_meanwhile(stub, &phase, &source).await?)
    } else {
        let after = start_after(stub, &phase, &st, &source, &req.after).await?;
        let pairs = scan(stub, &phase, &source, &after, MAX_BATCH_ITEMS + 1).await?;
        (after, pairs)
    };
    let mut batch = Batch { after: after.clone(), next: after, ..Batch::default() };
    let mut bytes = 0;
    for (key, value) in &pairs {
        if batch.items.len() == MAX_BATCH_ITEMS || bytes >= MAX_BATCH_BYTES {
            return Ok(batch);
        }
        let value = if filling && to_receive(stub, m, &receiving, key, &sha256(value)).await? { B64.encode(value) } else { String::new() };
        bytes += value.len();
        batch.next.clone_from(key);
        batch.items.push(Item { key: key.clone(), value });
    }
    batch.last = true;
    Ok(batch)
}

/// The keys marked in `source` as written during the fill, with their values there, in key
/// order: at most one batch and one more.
async fn written_meanwhile<S: Stub>(stub: &S, phase: &Phase, source: &str) -> Result<Vec<(String, Vec<u8>)>> {
    #[derive(Deserialize)]
    struct Note {
        key: String,
    }
    let (start, end) = keys::prefix_range(keys::WRITTEN_IN_FILL, &[&phase.project, &phase.id]);
    let marks = stub.private_range_limit(source, &start, &end, MAX_BATCH_ITEMS + 1).await?;
    let mut out = Vec::with_capacity(marks.len());
    for (_, note) in marks {
        let key = decode::<Note>("mark of a key written during the fill", &note)?.key;
        // No value of a phase is ever deleted; a mark names a key its copy holds.
        if let Some(value) = stub.get_private(source, &key).await? {
            out.push((key, value));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// One step of the current track. A fill (some org receives its copy, or an older phase moves
/// out of its org set's collection) checks each value against a staying copy's on-chain hash
/// (every peer holds every hash) and writes it to every receiving copy that lacks it; a purge
/// removes each key from the copies of orgs that left. The batch must start where the migration
/// stands and list, in key order, keys the phase holds; the orgs whose copies the step reads (a
/// fill's staying orgs) or purges (a purge's leavers) must endorse it; and it must list every
/// key the chaincode can name itself (the phase's key versions) that its range covers, so an
/// empty last batch ends nothing. (Fabric allows no private range read in a transaction that
/// writes, so the chaincode cannot list a copy to prove no other key was left out.)
///
/// A fill walks every key once, then rechecks the keys written meanwhile (each write marked its
/// key in the staying copies; a recheck step unmarks what it copied). The recheck's last batch
/// seals the phase (writes wait from then on, so none can mark a key unseen), and the next last
/// batch, with what was marked before the seal, gives the phase its new participants. The purge
/// goes on after it (writes do not wait for it) and stays pending, shown, while a leaver's peer
/// is away.
pub async fn step<S: Stub>(stub: &S, req: PhaseRef, batch: Batch) -> Result<Progress> {
    batch.check_size()?;
    let mut phase = phases::get(stub, &req.project, &req.phase).await?;
    lifecycle::may_migrate(stub.creator(), &phase)?;
    let m = migration_of(&phase)?.clone();
    let st = standing(stub, &phase, &m).await?;
    let at = if st.rechecking { String::new() } else { st.cursor.clone() };
    if cursor_of(&phase, &batch.after) != at {
        return Err(ContractError::conflict(format!(
            "the batch does not start where the migration of phase {} stands (another step moved on): read the next batch again",
            phase.id
        )));
    }
    let mut prev = batch.after.as_str();
    for (i, item) in batch.items.iter().enumerate() {
        if !keys::of_phase(&item.key, &phase.project, &phase.id) {
            return Err(ContractError::bad(format!("batch item {i} is not a value of phase {}", phase.id)));
        }
        if item.key.as_str() <= prev {
            return Err(ContractError::bad(format!("batch item {i} is out of key order")));
        }
        prev = &item.key;
    }
    let next = prev.to_owned();
    let legacy = m.from != ORG_COPIES;
    let receiving: Vec<String> = m.receiving(&phase).into_iter().map(implicit_name).collect();
    let filling = legacy || !receiving.is_empty();
    let staying: Vec<String> = org_set(&phase.participants).into_iter().map(implicit_name).collect();
    let purging: Vec<String> = m.purge.iter().map(|o| implicit_name(o)).collect();
    // The orgs whose copies the step reads or purges endorse it: a mark in their copies makes
    // their collections' policies require it.
    let vouching: &[String] = match (legacy, filling) {
        (true, _) => &[],
        (false, true) => &staying,
        (false, false) => &purging,
    };
    let mark = keys::composite(STEP_MARK, &[&phase.project, &phase.id]);
    for copy in vouching {
        stub.put_private(copy, &mark, stub.tx_id().as_bytes().to_vec()).await?;
    }
    let source = if legacy { m.from.clone() } else { staying.first().cloned().unwrap_or_default() };
    if !st.rechecking {
        covers_the_keys(stub, &phase, &source, &batch, &next).await?;
    }
    let mut moved = 0u64;
    for (i, item) in batch.items.iter().enumerate() {
        let held = stub.private_hash(&source, &item.key).await?;
        if held.is_none() {
            return Err(ContractError::conflict(format!("batch item {i} is no key that {source} holds: read the batch again")));
        }
        if filling {
            if item.value.is_empty() {
                for to in &receiving {
                    if stub.private_hash(to, &item.key).await? != held {
                        return Err(ContractError::conflict(format!(
                            "batch item {i} comes without its value, but {to} lacks it: read the batch again"
                        )));
                    }
                }
            } else {
                let value = B64.decode(item.value.as_bytes()).map_err(|e| ContractError::bad(format!("batch item {i}: value is not base64: {e}")))?;
                let hash = sha256(&value);
                if held.as_deref() != Some(hash.as_slice()) {
                    return Err(ContractError::conflict(format!(
                        "batch item {i} is not what {source} holds (moved already, or changed): read the next batch again"
                    )));
                }
                let mut wrote = false;
                for to in &receiving {
                    if stub.private_hash(to, &item.key).await?.as_deref() != Some(hash.as_slice()) {
                        stub.put_private(to, &item.key, value.clone()).await?;
                        wrote = true;
                    }
                }
                moved += u64::from(wrote || legacy);
            }
            if legacy {
                stub.purge_private(&m.from, &item.key).await?;
            }
            if st.rechecking {
                // Checked and copied with what the staying copies hold now (a write since would
                // have changed that hash and invalidated this step): unmarked.
                let name = copies::written_mark_name(&phase, &item.key);
                for copy in &staying {
                    stub.del_private(copy, &name).await?;
                }
            }
        } else {
            for from in &purging {
                if stub.private_hash(from, &item.key).await?.is_some() {
                    stub.purge_private(from, &item.key).await?;
                    moved += 1;
                }
            }
        }
    }
    let mut st = Standing { moved: st.moved + moved, batches: st.batches + 1, ..st };
    let progress_key = keys::migration(&phase.project, &phase.id);
    let mut done = false;
    match (batch.last, filling) {
        (false, _) => {
            if !st.rechecking {
                st.listed += batch.items.len() as u64;
                st.cursor = cursor_of(&phase, &next);
            }
        }
        // Every key walked once: next, the keys written meanwhile.
        (true, true) if !legacy && !st.rechecking => {
            (st.rechecking, st.cursor, st.listed) = (true, String::new(), 0);
        }
        // The marks seen are copied: the phase waits for writes from now, and the next last
        // batch holds every key marked before.
        (true, true) if !legacy && !m.sealed => {
            phase.migration = Some(Migration { sealed: true, ..m.clone() });
            phases::put(stub, &phase).await?;
        }
        // The fill is done: the joiners take part, and the leavers' copies are purged next.
        (true, true) => {
            phase.participants = m.participants.clone();
            phase.collection = ORG_COPIES.into();
            phase.migration = (!legacy && !m.purge.is_empty()).then(|| Migration { sealed: false, ..m.clone() });
            st = Standing { of: m.since.clone(), moved: st.moved, batches: st.batches, ..Standing::default() };
            done = phase.migration.is_none();
            phases::put(stub, &phase).await?;
        }
        (true, false) => {
            phase.migration = None;
            done = true;
            phases::put(stub, &phase).await?;
        }
    }
    if done {
        stub.del_state(&progress_key).await?;
    } else {
        stub.put_state(&progress_key, to_json(&st)?).await?;
    }
    emit(stub, if done { Event::PhaseMigrated } else { Event::PhaseMigrating }, &phase.project, Some(&phase.id));
    Ok(Progress { project: phase.project, phase: phase.id, tx_id: stub.tx_id().to_owned(), moved, total: st.moved, done })
}

/// Refuses a batch whose range covers a key the chaincode can name itself, a version of the
/// phase's key that `source` holds, without listing it: its range is after `after` up to its
/// last key, or to the end when it is the last. (Hash reads, alike on every endorser.)
async fn covers_the_keys<S: Stub>(stub: &S, phase: &Phase, source: &str, batch: &Batch, next: &str) -> Result<()> {
    for version in 1..=phase.key_version {
        let key = keys::phase_key(&phase.project, &phase.id, version);
        let covered = key.as_str() > batch.after.as_str() && (batch.last || key.as_str() <= next);
        if covered && !batch.items.iter().any(|i| i.key == key) && stub.private_hash(source, &key).await?.is_some() {
            return Err(ContractError::conflict(format!(
                "the batch leaves out a value its range covers (version {version} of phase {}'s key): read the batch again",
                phase.id
            )));
        }
    }
    Ok(())
}

/// How many of the phase's values `collection` holds on this peer: an org's own check that it
/// kept nothing after leaving, or that its copy is whole. For the phase's participants, and for
/// an org asking about its own copy (a leaver included); a count says how much a phase holds,
/// which is nobody else's business. (A peer outside the collection's org answers 0: it holds
/// none of that org's data.)
pub async fn holdings<S: Stub>(stub: &S, req: CollectionRef) -> Result<Holdings> {
    let phase = phases::get(stub, &req.project, &req.phase).await?;
    let me = stub.creator();
    if req.collection != implicit_name(&me.msp_id) && !svcflow_model::acl::is_participant(me, &phase) {
        return Err(ContractError::forbidden(format!(
            "{} is not a participant of phase {}: it may count only its own org's copy ({})",
            me.msp_id,
            phase.id,
            implicit_name(&me.msp_id)
        )));
    }
    if !req.collection.starts_with("col_") && !req.collection.starts_with(IMPLICIT_PREFIX) {
        return Err(ContractError::bad(format!(
            "collection {:?} holds no phase's data: an org's copy is {IMPLICIT_PREFIX}<MSP id>, an older phase's collection col_...",
            req.collection
        )));
    }
    let mut values = 0;
    for object_type in keys::PHASE_PRIVATE {
        let (start, end) = keys::prefix_range(object_type, &[&req.project, &req.phase]);
        values += stub.private_range(&req.collection, &start, &end).await?.len() as u64;
    }
    Ok(Holdings { project: req.project, phase: req.phase, collection: req.collection, values })
}
