//! File anchors: the private proof (name, size, hash, object key) of an off-chain object.

use svcflow_model::call::{FileRef, PhasePage, PhaseRef};
use svcflow_model::change::Written;
use svcflow_model::file::{FileAnchor, NewAnchor, Reseal};
use svcflow_model::ids::FileId;
use svcflow_model::page::Page;

use super::blinding::Blinding;
use super::copies;
use super::phases::as_participant;
use super::records::{bookmark_id, note_change, private_page};
use svcflow_model::event::Event;

use super::{decode, emit, me, to_json};
use crate::error::{ContractError, Result};
use crate::keys;
use crate::stub::Stub;

/// The anchor, with the file's id, comes privately (a submitted transaction's arguments are public).
pub async fn anchor<S: Stub>(stub: &S, req: PhaseRef, a: NewAnchor) -> Result<Written> {
    a.validate()?;
    let phase = as_participant(stub, &req.project, &req.phase, true).await?;
    if a.key_version != phase.key_version {
        return Err(ContractError::conflict(format!(
            "the file was sealed with key version {} but phase {} is at version {} (a participant was removed during the upload): upload it again",
            a.key_version, phase.id, phase.key_version
        )));
    }
    let blind = Blinding::writing(stub, &phase).await?;
    let key = keys::file(&phase.project, &phase.id, &blind.name(&phase, keys::FILE, &a.id)?);
    if copies::read(stub, &phase, &key).await?.is_some() {
        return Err(ContractError::conflict(format!("file {} of phase {} is already anchored", a.id, phase.id)));
    }
    let anchor = FileAnchor {
        project: phase.project.clone(),
        phase: phase.id.clone(),
        id: a.id,
        name: a.name,
        size: a.size,
        sha256: a.sha256.to_ascii_lowercase(),
        content_type: a.content_type,
        object_key: a.object_key,
        key_version: a.key_version,
        uploader: me(stub),
        tx_id: stub.tx_id().to_owned(),
        created: stub.tx_timestamp().to_owned(),
    };
    copies::write(stub, &phase, &key, blind.salted(stub, &key, to_json(&anchor)?)).await?;
    note_change(stub, &phase, &blind, None, Some(&anchor.id)).await?;
    emit(stub, Event::FileAnchored, &anchor.project, Some(&anchor.phase));
    Ok(Written { project: anchor.project, phase: anchor.phase, tx_id: anchor.tx_id, version: None, updated: None })
}

pub async fn get<S: Stub>(stub: &S, req: FileRef) -> Result<FileAnchor> {
    let phase = as_participant(stub, &req.project, &req.phase, false).await?;
    let found = match Blinding::reading(stub, &phase).await?.lookup(keys::FILE, &req.id) {
        Some(name) => copies::read(stub, &phase, &keys::file(&phase.project, &phase.id, &name)).await?,
        None => None,
    };
    match found {
        Some(b) => decode("file anchor", &b),
        None => Err(ContractError::not_found(format!("file {} of phase {} does not exist", req.id, phase.id))),
    }
}

pub async fn list<S: Stub>(stub: &S, req: PhasePage) -> Result<Page<FileAnchor>> {
    let size = req.req().size()?;
    let after: Option<FileId> = bookmark_id(&req.bookmark)?;
    let phase = as_participant(stub, &req.project, &req.phase, false).await?;
    let after = match after {
        Some(id) => match Blinding::reading(stub, &phase).await?.lookup(keys::FILE, &id) {
            Some(name) => Some(keys::file(&phase.project, &phase.id, &name)),
            None => return Ok(Page { items: vec![], bookmark: String::new() }),
        },
        None => None,
    };
    private_page(stub, &phase, (keys::FILE, &[&phase.project, &phase.id]), after, size, |a: &FileAnchor| a.id.to_string()).await
}

/// Points an anchor at its object sealed anew under the current key version; the plaintext's
/// size and hash must be the anchored ones.
pub async fn reseal<S: Stub>(stub: &S, req: PhaseRef, r: Reseal) -> Result<Written> {
    let phase = as_participant(stub, &req.project, &req.phase, true).await?;
    if r.key_version != phase.key_version {
        return Err(ContractError::conflict(format!("phase {} is at key version {}, not {}", phase.id, phase.key_version, r.key_version)));
    }
    let blind = Blinding::writing(stub, &phase).await?;
    let key = keys::file(&phase.project, &phase.id, &blind.name(&phase, keys::FILE, &r.id)?);
    let mut anchor: FileAnchor = match copies::read(stub, &phase, &key).await? {
        Some(b) => decode("file anchor", &b)?,
        None => return Err(ContractError::not_found(format!("file {} of phase {} does not exist", r.id, phase.id))),
    };
    if anchor.size != r.size || !anchor.sha256.eq_ignore_ascii_case(&r.sha256) {
        return Err(ContractError::conflict(format!("the resealed object of file {} is not the anchored plaintext", r.id)));
    }
    anchor.object_key = r.object_key;
    anchor.key_version = r.key_version;
    copies::write(stub, &phase, &key, blind.salted(stub, &key, to_json(&anchor)?)).await?;
    note_change(stub, &phase, &blind, None, Some(&anchor.id)).await?;
    emit(stub, Event::FileResealed, &anchor.project, Some(&anchor.phase));
    Ok(Written { project: anchor.project, phase: anchor.phase, tx_id: stub.tx_id().to_owned(), version: None, updated: None })
}
