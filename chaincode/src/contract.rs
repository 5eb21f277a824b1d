//! The svcflow contract: projects, phases, participants, private records, file anchors and
//! phase keys. Arguments are `[function, json]`; private inputs come only from the transient map
//! (arguments are written on-chain in clear). Every refusal is an error and writes nothing.

use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::acl;
use crate::collection;
use crate::error::{ContractError, Result};
use crate::keys::{self, validate_id};
use crate::model::*;
use crate::stub::Stub;

/// Records are private JSON documents of at most this many bytes.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
pub const MAX_PAGE_SIZE: u32 = 100;

/// Runs one function; the result is the JSON the peer returns as the payload.
pub async fn invoke<S: Stub>(stub: &S, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    let func = args.first().map(|f| String::from_utf8_lossy(f).into_owned()).ok_or_else(|| ContractError::bad("no function name given"))?;
    let arg = args.get(1).map(Vec::as_slice).unwrap_or(b"{}");
    if args.len() > 2 {
        return Err(ContractError::bad(format!("{func} takes one JSON argument, got {}", args.len() - 1)));
    }
    let out = match func.as_str() {
        "CreateProject" => to_json(&create_project(stub, parse(&func, arg)?).await?),
        "GetProject" => to_json(&get_project(stub, &parse::<IdArg>(&func, arg)?.id).await?),
        "ListProjects" => to_json(&list_projects(stub, parse(&func, arg)?).await?),
        "AddPhase" => to_json(&add_phase(stub, parse(&func, arg)?).await?),
        "UpdatePhase" => to_json(&update_phase(stub, parse(&func, arg)?).await?),
        "ActivatePhase" => to_json(&set_status(stub, parse(&func, arg)?, PhaseStatus::Active).await?),
        "ClosePhase" => to_json(&set_status(stub, parse(&func, arg)?, PhaseStatus::Closed).await?),
        "ListPhases" => to_json(&list_phases(stub, &parse::<ProjectArg>(&func, arg)?.project).await?),
        "SetPhaseKey" => to_json(&set_phase_key(stub, parse(&func, arg)?).await?),
        "GetPhaseKey" => to_json(&get_phase_key(stub, parse(&func, arg)?).await?),
        "PutRecord" => to_json(&put_record(stub, parse(&func, arg)?).await?),
        "GetRecord" => to_json(&get_record(stub, parse(&func, arg)?).await?),
        "ListRecords" => to_json(&list_records(stub, parse(&func, arg)?).await?),
        "RecordHistory" => to_json(&record_history(stub, parse(&func, arg)?).await?),
        "AnchorFile" => to_json(&anchor_file(stub, parse(&func, arg)?).await?),
        "GetFile" => to_json(&get_file(stub, parse(&func, arg)?).await?),
        "ListFiles" => to_json(&list_files(stub, parse(&func, arg)?).await?),
        "WhoAmI" => to_json(stub.creator()),
        other => Err(ContractError::bad(format!(
            "unknown function {other:?}; one of CreateProject GetProject ListProjects AddPhase UpdatePhase ActivatePhase ClosePhase ListPhases SetPhaseKey GetPhaseKey PutRecord GetRecord ListRecords RecordHistory AnchorFile GetFile ListFiles WhoAmI"
        ))),
    }?;
    Ok(out)
}

fn parse<T: DeserializeOwned>(func: &str, arg: &[u8]) -> Result<T> {
    serde_json::from_slice(arg).map_err(|e| ContractError::bad(format!("{func}: argument is not the expected JSON: {e}")))
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| ContractError::Ledger(format!("encoding the result: {e}")))
}

fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| ContractError::Ledger(format!("stored {what} is unreadable: {e}")))
}

fn me<S: Stub>(stub: &S) -> Principal {
    Principal { msp_id: stub.creator().msp_id.clone(), id: stub.creator().id.clone() }
}

fn emit<S: Stub>(stub: &S, name: &str, project: &str, phase: Option<&str>, record: Option<&str>, file: Option<&str>) {
    let ids = EventIds {
        project: project.to_owned(),
        phase: phase.map(str::to_owned),
        record: record.map(str::to_owned),
        file: file.map(str::to_owned),
        tx_id: stub.tx_id().to_owned(),
    };
    stub.set_event(name, serde_json::to_vec(&ids).unwrap_or_default());
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdArg {
    id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectArg {
    project: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseRef {
    pub project: String,
    #[serde(alias = "id")]
    pub phase: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRef {
    pub project: String,
    pub phase: String,
    pub id: String,
}

// ---- projects ---------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

fn check_text(what: &str, s: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() || s.len() > max {
        return Err(ContractError::bad(format!("{what} must be 1 to {max} bytes")));
    }
    Ok(())
}

pub async fn create_project<S: Stub>(stub: &S, req: NewProject) -> Result<Project> {
    validate_id("project", &req.id)?;
    check_text("name", &req.name, 200)?;
    if req.description.len() > 4000 {
        return Err(ContractError::bad("description must be at most 4000 bytes"));
    }
    acl::may_create_project(stub.creator())?;
    let key = keys::project(&req.id);
    if stub.get_state(&key).await?.is_some() {
        return Err(ContractError::Conflict(format!("project {} already exists", req.id)));
    }
    let p = Project {
        id: req.id,
        name: req.name,
        description: req.description,
        owner: me(stub),
        created: stub.tx_timestamp().to_owned(),
        status: ProjectStatus::Active,
    };
    stub.put_state(&key, to_json(&p)?).await?;
    emit(stub, "ProjectCreated", &p.id, None, None, None);
    Ok(p)
}

pub async fn get_project<S: Stub>(stub: &S, id: &str) -> Result<Project> {
    validate_id("project", id)?;
    match stub.get_state(&keys::project(id)).await? {
        Some(b) => decode("project", &b),
        None => Err(ContractError::NotFound(format!("project {id} does not exist"))),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PageReq {
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub bookmark: String,
}

pub async fn list_projects<S: Stub>(stub: &S, req: PageReq) -> Result<Page<Project>> {
    let size = req.page_size.unwrap_or(20);
    if size == 0 || size > MAX_PAGE_SIZE {
        return Err(ContractError::bad(format!("page_size must be 1 to {MAX_PAGE_SIZE}")));
    }
    let (start, end) = keys::prefix_range(keys::PROJECT, &[]);
    let in_range = req.bookmark >= start && req.bookmark < end;
    if !req.bookmark.is_empty() && !in_range {
        return Err(ContractError::bad("bookmark is not one ListProjects returned"));
    }
    let (kvs, bookmark) = stub.state_range_page(&start, &end, size, &req.bookmark).await?;
    let items = kvs.iter().map(|(_, v)| decode("project", v)).collect::<Result<Vec<Project>>>()?;
    Ok(Page { items, bookmark })
}

// ---- phases -----------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPhase {
    pub project: String,
    pub id: String,
    pub name: String,
    pub participants: Vec<Participant>,
    #[serde(default)]
    pub position: Option<u32>,
}

fn check_participants(ps: &[Participant]) -> Result<()> {
    if ps.is_empty() {
        return Err(ContractError::bad("a phase needs at least one participant"));
    }
    if ps.len() > 100 {
        return Err(ContractError::bad("at most 100 participants"));
    }
    for p in ps {
        if p.msp_id.is_empty() || !p.msp_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
            return Err(ContractError::bad(format!("participant msp_id {:?} is not an MSP id", p.msp_id)));
        }
    }
    Ok(())
}

fn collection_of(ps: &[Participant]) -> String {
    collection::name_for(ps.iter().map(|p| p.msp_id.as_str()))
}

/// Fails with the command that adds the collection when it is not in the chaincode definition.
async fn require_collection<S: Stub>(stub: &S, ps: &[Participant]) -> Result<String> {
    let name = collection_of(ps);
    if let Err(e) = stub.private_hash(&name, "\u{0}probe").await {
        let orgs = collection::org_set_arg(ps.iter().map(|p| p.msp_id.as_str()));
        return Err(ContractError::bad(format!(
            "collection {name} for {orgs} is not in the chaincode definition; an admin adds it with: fabric-network/network.sh addCollection {orgs} (peer said: {e})"
        )));
    }
    Ok(name)
}

pub async fn get_phase<S: Stub>(stub: &S, project: &str, phase: &str) -> Result<Phase> {
    validate_id("project", project)?;
    validate_id("phase", phase)?;
    match stub.get_state(&keys::phase(project, phase)).await? {
        Some(b) => decode("phase", &b),
        None => {
            get_project(stub, project).await?;
            Err(ContractError::NotFound(format!("phase {phase} of project {project} does not exist")))
        }
    }
}

pub async fn list_phases<S: Stub>(stub: &S, project: &str) -> Result<Vec<Phase>> {
    get_project(stub, project).await?;
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

fn phase_key_from_transient<S: Stub>(stub: &S) -> Result<Option<Vec<u8>>> {
    match stub.transient("phase_key") {
        None => Ok(None),
        Some(k) if k.len() == 32 => Ok(Some(k.to_vec())),
        Some(k) => Err(ContractError::bad(format!("transient phase_key must be 32 bytes, got {}", k.len()))),
    }
}

pub async fn add_phase<S: Stub>(stub: &S, req: NewPhase) -> Result<Phase> {
    validate_id("phase", &req.id)?;
    check_text("name", &req.name, 200)?;
    check_participants(&req.participants)?;
    let project = get_project(stub, &req.project).await?;
    acl::may_manage(stub.creator(), &project)?;
    if stub.get_state(&keys::phase(&req.project, &req.id)).await?.is_some() {
        return Err(ContractError::Conflict(format!("phase {} of project {} already exists", req.id, req.project)));
    }
    let collection = require_collection(stub, &req.participants).await?;
    let position = match req.position {
        Some(p) => p,
        None => list_phases(stub, &req.project).await?.iter().map(|p| p.position + 1).max().unwrap_or(0),
    };
    let phase = Phase {
        project: req.project,
        id: req.id,
        name: req.name,
        position,
        status: PhaseStatus::Planned,
        participants: req.participants,
        collection,
    };
    // The key can only be written by a member org of the collection (memberOnlyWrite): a manager
    // outside the phase adds it without, and a participant sets it with SetPhaseKey.
    if let Some(k) = phase_key_from_transient(stub)? {
        if !phase.participants.iter().any(|p| p.msp_id == stub.creator().msp_id) {
            return Err(ContractError::bad(format!(
                "{} is not a participant org of the phase, so it cannot write its key; add the phase without phase_key and let a participant call SetPhaseKey",
                stub.creator().msp_id
            )));
        }
        stub.put_private(&phase.collection, &keys::phase_key(&phase.project, &phase.id), k).await?;
    }
    stub.put_state(&keys::phase(&phase.project, &phase.id), to_json(&phase)?).await?;
    emit(stub, "PhaseAdded", &phase.project, Some(&phase.id), None, None);
    Ok(phase)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseUpdate {
    pub project: String,
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub position: Option<u32>,
    #[serde(default)]
    pub participants: Option<Vec<Participant>>,
}

pub async fn update_phase<S: Stub>(stub: &S, req: PhaseUpdate) -> Result<Phase> {
    let project = get_project(stub, &req.project).await?;
    acl::may_manage(stub.creator(), &project)?;
    let mut phase = get_phase(stub, &req.project, &req.id).await?;
    if phase.status == PhaseStatus::Closed {
        return Err(ContractError::Conflict(format!("phase {} is closed and read-only", phase.id)));
    }
    if let Some(name) = req.name {
        check_text("name", &name, 200)?;
        phase.name = name;
    }
    if let Some(pos) = req.position {
        if phase.status != PhaseStatus::Planned {
            return Err(ContractError::Conflict(format!("phase {} can be reordered only while planned", phase.id)));
        }
        phase.position = pos;
    }
    if let Some(ps) = req.participants {
        check_participants(&ps)?;
        let collection = collection_of(&ps);
        // Data already in the old collection cannot follow into another one: once a phase has
        // started, its org set is fixed (identities and roles within those orgs may still change).
        if collection != phase.collection && phase.status != PhaseStatus::Planned {
            return Err(ContractError::Conflict(format!(
                "phase {} is {:?}: its participant orgs are fixed; only identities and roles within them may change",
                phase.id, phase.status
            )));
        }
        phase.collection = require_collection(stub, &ps).await?;
        phase.participants = ps;
    }
    stub.put_state(&keys::phase(&phase.project, &phase.id), to_json(&phase)?).await?;
    emit(stub, "PhaseUpdated", &phase.project, Some(&phase.id), None, None);
    Ok(phase)
}

pub async fn set_status<S: Stub>(stub: &S, req: PhaseRef, to: PhaseStatus) -> Result<Phase> {
    let project = get_project(stub, &req.project).await?;
    acl::may_manage(stub.creator(), &project)?;
    let mut phase = get_phase(stub, &req.project, &req.phase).await?;
    let ok =
        matches!((phase.status, to), (PhaseStatus::Planned, PhaseStatus::Active) | (PhaseStatus::Planned | PhaseStatus::Active, PhaseStatus::Closed));
    if !ok {
        return Err(ContractError::Conflict(format!("phase {} is {:?}; it cannot become {:?}", phase.id, phase.status, to)));
    }
    phase.status = to;
    stub.put_state(&keys::phase(&phase.project, &phase.id), to_json(&phase)?).await?;
    let event = if to == PhaseStatus::Active { "PhaseActivated" } else { "PhaseClosed" };
    emit(stub, event, &phase.project, Some(&phase.id), None, None);
    Ok(phase)
}

/// A participant's view of a phase it may read and write.
async fn participant_phase<S: Stub>(stub: &S, project: &str, phase: &str, writing: bool) -> Result<Phase> {
    let phase = get_phase(stub, project, phase).await?;
    acl::must_participate(stub.creator(), &phase)?;
    if writing && phase.status == PhaseStatus::Closed {
        return Err(ContractError::Conflict(format!("phase {} is closed and read-only", phase.id)));
    }
    Ok(phase)
}

#[derive(Serialize, Deserialize)]
pub struct PhaseKeyOut {
    pub project: String,
    pub phase: String,
    /// Base64 of the 32-byte key.
    pub key: String,
}

pub async fn set_phase_key<S: Stub>(stub: &S, req: PhaseRef) -> Result<serde_json::Value> {
    let phase = participant_phase(stub, &req.project, &req.phase, true).await?;
    let k = phase_key_from_transient(stub)?.ok_or_else(|| ContractError::bad("transient phase_key (32 bytes) is required"))?;
    let key = keys::phase_key(&phase.project, &phase.id);
    if stub.get_private(&phase.collection, &key).await?.is_some() {
        return Err(ContractError::Conflict(format!("phase {} already has a key", phase.id)));
    }
    stub.put_private(&phase.collection, &key, k).await?;
    emit(stub, "PhaseKeySet", &phase.project, Some(&phase.id), None, None);
    Ok(json!({"project": phase.project, "phase": phase.id}))
}

pub async fn get_phase_key<S: Stub>(stub: &S, req: PhaseRef) -> Result<PhaseKeyOut> {
    let phase = participant_phase(stub, &req.project, &req.phase, false).await?;
    match stub.get_private(&phase.collection, &keys::phase_key(&phase.project, &phase.id)).await? {
        Some(k) => Ok(PhaseKeyOut { project: phase.project, phase: phase.id, key: base64::engine::general_purpose::STANDARD.encode(k) }),
        None => Err(ContractError::NotFound(format!("phase {} has no key yet", phase.id))),
    }
}

// ---- records ----------------------------------------------------------------------------------

pub async fn put_record<S: Stub>(stub: &S, req: ItemRef) -> Result<Record> {
    validate_id("record", &req.id)?;
    let raw = stub
        .transient("record")
        .ok_or_else(|| ContractError::bad("the record document must come in the transient map under \"record\" (arguments are public)"))?;
    if raw.len() > MAX_RECORD_BYTES {
        return Err(ContractError::bad(format!("record is {} bytes; at most {MAX_RECORD_BYTES}", raw.len())));
    }
    let document: serde_json::Value = serde_json::from_slice(raw).map_err(|e| ContractError::bad(format!("transient record is not JSON: {e}")))?;
    let phase = participant_phase(stub, &req.project, &req.phase, true).await?;
    let key = keys::record(&phase.project, &phase.id, &req.id);
    let version = match stub.get_private(&phase.collection, &key).await? {
        Some(b) => decode::<Record>("record", &b)?.version + 1,
        None => 1,
    };
    let rec = Record {
        project: phase.project.clone(),
        phase: phase.id.clone(),
        id: req.id,
        version,
        author: me(stub),
        tx_id: stub.tx_id().to_owned(),
        updated: stub.tx_timestamp().to_owned(),
        document,
    };
    let bytes = to_json(&rec)?;
    // History of private data is ours to keep: GetHistoryForKey does not cover collections.
    stub.put_private(&phase.collection, &keys::record_version(&rec.project, &rec.phase, &rec.id, version), bytes.clone()).await?;
    stub.put_private(&phase.collection, &key, bytes).await?;
    emit(stub, "RecordPut", &rec.project, Some(&rec.phase), Some(&rec.id), None);
    Ok(rec)
}

pub async fn get_record<S: Stub>(stub: &S, req: ItemRef) -> Result<Record> {
    validate_id("record", &req.id)?;
    let phase = participant_phase(stub, &req.project, &req.phase, false).await?;
    match stub.get_private(&phase.collection, &keys::record(&phase.project, &phase.id, &req.id)).await? {
        Some(b) => decode("record", &b),
        None => Err(ContractError::NotFound(format!("record {} of phase {} does not exist", req.id, phase.id))),
    }
}

async fn private_list<S: Stub, T: DeserializeOwned>(stub: &S, phase: &Phase, object_type: &str, attrs: &[&str], what: &str) -> Result<Vec<T>> {
    let (start, end) = keys::prefix_range(object_type, attrs);
    stub.private_range(&phase.collection, &start, &end).await?.iter().map(|(_, v)| decode(what, v)).collect()
}

pub async fn list_records<S: Stub>(stub: &S, req: PhaseRef) -> Result<Vec<Record>> {
    let phase = participant_phase(stub, &req.project, &req.phase, false).await?;
    private_list(stub, &phase, keys::RECORD, &[&phase.project, &phase.id], "record").await
}

pub async fn record_history<S: Stub>(stub: &S, req: ItemRef) -> Result<Vec<Record>> {
    validate_id("record", &req.id)?;
    let phase = participant_phase(stub, &req.project, &req.phase, false).await?;
    let versions: Vec<Record> = private_list(stub, &phase, keys::RECORD_VERSION, &[&phase.project, &phase.id, &req.id], "record").await?;
    if versions.is_empty() {
        return Err(ContractError::NotFound(format!("record {} of phase {} does not exist", req.id, phase.id)));
    }
    Ok(versions)
}

// ---- files ------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAnchor {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub content_type: String,
    pub object_key: String,
}

pub async fn anchor_file<S: Stub>(stub: &S, req: ItemRef) -> Result<FileAnchor> {
    validate_id("file", &req.id)?;
    let raw = stub
        .transient("file")
        .ok_or_else(|| ContractError::bad("the file anchor must come in the transient map under \"file\" (arguments are public)"))?;
    let a: NewAnchor = serde_json::from_slice(raw).map_err(|e| ContractError::bad(format!("transient file is not the expected JSON: {e}")))?;
    check_text("file name", &a.name, 255)?;
    if a.name.contains(['/', '\\', '\u{0}']) || a.name == "." || a.name == ".." {
        return Err(ContractError::bad("file name must not contain '/', '\\' or NUL, nor be '.' or '..'"));
    }
    if a.sha256.len() != 64 || !a.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ContractError::bad("sha256 must be 64 hex digits"));
    }
    check_text("content_type", &a.content_type, 255)?;
    check_text("object_key", &a.object_key, 512)?;
    let phase = participant_phase(stub, &req.project, &req.phase, true).await?;
    let key = keys::file(&phase.project, &phase.id, &req.id);
    if stub.get_private(&phase.collection, &key).await?.is_some() {
        return Err(ContractError::Conflict(format!("file {} of phase {} is already anchored", req.id, phase.id)));
    }
    let anchor = FileAnchor {
        project: phase.project.clone(),
        phase: phase.id.clone(),
        id: req.id,
        name: a.name,
        size: a.size,
        sha256: a.sha256.to_ascii_lowercase(),
        content_type: a.content_type,
        object_key: a.object_key,
        uploader: me(stub),
        tx_id: stub.tx_id().to_owned(),
        created: stub.tx_timestamp().to_owned(),
    };
    stub.put_private(&phase.collection, &key, to_json(&anchor)?).await?;
    emit(stub, "FileAnchored", &anchor.project, Some(&anchor.phase), None, Some(&anchor.id));
    Ok(anchor)
}

pub async fn get_file<S: Stub>(stub: &S, req: ItemRef) -> Result<FileAnchor> {
    validate_id("file", &req.id)?;
    let phase = participant_phase(stub, &req.project, &req.phase, false).await?;
    match stub.get_private(&phase.collection, &keys::file(&phase.project, &phase.id, &req.id)).await? {
        Some(b) => decode("file anchor", &b),
        None => Err(ContractError::NotFound(format!("file {} of phase {} does not exist", req.id, phase.id))),
    }
}

pub async fn list_files<S: Stub>(stub: &S, req: PhaseRef) -> Result<Vec<FileAnchor>> {
    let phase = participant_phase(stub, &req.project, &req.phase, false).await?;
    private_list(stub, &phase, keys::FILE, &[&phase.project, &phase.id], "file anchor").await
}

#[cfg(test)]
#[path = "contract_tests.rs"]
mod tests;
