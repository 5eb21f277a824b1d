//! Records: private JSON documents of a phase with every version, in its participants' copies.

use serde::de::DeserializeOwned;
use svcflow_model::call::{ItemPage, PhasePage, PhaseRef, RecordRef, TxRef};
use svcflow_model::change::{Change, Written};
use svcflow_model::ids::{FileId, Id, IdKind, RecordId};
use svcflow_model::page::{Page, MAX_PAGE_BYTES};
use svcflow_model::phase::Phase;
use svcflow_model::record::{Record, MAX_RECORD_BYTES};
use svcflow_model::transient::NewRecord;

use super::blinding::Blinding;
use super::copies;
use super::phases::as_participant;
use svcflow_model::event::Event;

use super::{decode, emit, me, to_json};
use crate::error::{ContractError, Result};
use crate::keys;
use crate::stub::Stub;

/// Keeps, with the phase's data, which item this transaction wrote: its events say only
/// which phase changed.
pub(super) async fn note_change<S: Stub>(stub: &S, phase: &Phase, blind: &Blinding, record: Option<&RecordId>, file: Option<&FileId>) -> Result<()> {
    let change = Change {
        project: phase.project.clone(),
        phase: phase.id.clone(),
        tx_id: stub.tx_id().to_owned(),
        record: record.cloned(),
        file: file.cloned(),
    };
    let key = keys::change(&phase.project, &phase.id, &blind.name(phase, keys::CHANGE, stub.tx_id())?);
    copies::write(stub, phase, &key, blind.salted(stub, &key, to_json(&change)?)).await
}

/// The record's id and document come privately (a submitted transaction's arguments are public).
pub async fn put<S: Stub>(stub: &S, req: PhaseRef, NewRecord { id, document }: NewRecord) -> Result<Written> {
    if document.len() > MAX_RECORD_BYTES {
        return Err(ContractError::bad(format!("record is {} bytes; at most {MAX_RECORD_BYTES}", document.len())));
    }
    let document: serde_json::Value =
        serde_json::from_slice(&document).map_err(|e| ContractError::bad(format!("transient record is not JSON: {e}")))?;
    let phase = as_participant(stub, &req.project, &req.phase, true).await?;
    let blind = Blinding::writing(stub, &phase).await?;
    let name = blind.name(&phase, keys::RECORD, &id)?;
    let key = keys::record(&phase.project, &phase.id, &name);
    let previous = copies::read(stub, &phase, &key).await?;
    let version = match &previous {
        Some(b) => decode::<Record>("record", b)?.version + 1,
        None => 1,
    };
    let rec = Record {
        project: phase.project.clone(),
        phase: phase.id.clone(),
        id,
        version,
        author: me(stub),
        tx_id: stub.tx_id().to_owned(),
        updated: stub.tx_timestamp().to_owned(),
        document,
    };
    // History of private data is ours to keep (GetHistoryForKey does not cover collections): the
    // version this write supersedes goes under its own key; the latest lives only under the
    // record's. A new record is then two private writes, not three (each costs validation a
    // metadata lookup and every member a write: docs/benchmarks.md, "Performance").
    // Both are salted by this transaction, so the superseded version's hash links it to no
    // earlier write.
    if let Some(prev) = previous {
        let old = keys::record_version(&rec.project, &rec.phase, &name, version - 1);
        copies::write(stub, &phase, &old, blind.salted(stub, &old, prev)).await?;
    }
    copies::write(stub, &phase, &key, blind.salted(stub, &key, to_json(&rec)?)).await?;
    note_change(stub, &phase, &blind, Some(&rec.id), None).await?;
    emit(stub, Event::RecordPut, &rec.project, Some(&rec.phase));
    Ok(Written { project: rec.project, phase: rec.phase, tx_id: rec.tx_id, version: Some(version), updated: Some(rec.updated) })
}

pub async fn change<S: Stub>(stub: &S, req: TxRef) -> Result<Change> {
    let phase = as_participant(stub, &req.project, &req.phase, false).await?;
    let found = match Blinding::reading(stub, &phase).await?.lookup(keys::CHANGE, &req.tx_id) {
        Some(name) => copies::read(stub, &phase, &keys::change(&phase.project, &phase.id, &name)).await?,
        None => None,
    };
    match found {
        Some(b) => decode("change", &b),
        None => Err(ContractError::not_found(format!("transaction {} wrote nothing in phase {}", req.tx_id, phase.id))),
    }
}

pub async fn get<S: Stub>(stub: &S, req: RecordRef) -> Result<Record> {
    let phase = as_participant(stub, &req.project, &req.phase, false).await?;
    let found = match Blinding::reading(stub, &phase).await?.lookup(keys::RECORD, &req.id) {
        Some(name) => copies::read(stub, &phase, &keys::record(&phase.project, &phase.id, &name)).await?,
        None => None,
    };
    match found {
        Some(b) => decode("record", &b),
        None => Err(ContractError::not_found(format!("record {} of phase {} does not exist", req.id, phase.id))),
    }
}

/// A page of the private values of `object_type` under `attrs` in the phase's collection (and, while
/// it migrates, what has moved to the new one), after the key `after`: at most `size` items and,
/// past the first, fewer than `MAX_PAGE_BYTES` stored bytes. The bookmark is `id_of` the last
/// item when more follow.
pub(super) async fn private_page<S: Stub, T: DeserializeOwned>(
    stub: &S,
    phase: &Phase,
    range: (&str, &[&str]),
    after: Option<String>,
    size: u32,
    id_of: impl Fn(&T) -> String,
) -> Result<Page<T>> {
    Ok(private_page_sized(stub, phase, range, after, size, id_of).await?.0)
}

/// [`private_page`] and the stored bytes of its items.
async fn private_page_sized<S: Stub, T: DeserializeOwned>(
    stub: &S,
    phase: &Phase,
    (object_type, attrs): (&str, &[&str]),
    after: Option<String>,
    size: u32,
    id_of: impl Fn(&T) -> String,
) -> Result<(Page<T>, usize)> {
    let (start, end) = keys::prefix_range(object_type, attrs);
    // The smallest key after `after`: a composite key ends in \0, so none equals this one.
    let start = after.map(|k| k + "\u{0}").unwrap_or(start);
    let limit = size as usize + 1;
    let mut pairs = copies::range(stub, phase, &start, &end, limit).await?;
    let mut more = pairs.len() > size as usize;
    pairs.truncate(size as usize);
    let mut items = Vec::with_capacity(pairs.len());
    let mut bytes = 0;
    for (i, (_, v)) in pairs.iter().enumerate() {
        if i > 0 && bytes + v.len() > MAX_PAGE_BYTES {
            more = true;
            break;
        }
        bytes += v.len();
        items.push(decode::<T>(object_type, v)?);
    }
    let bookmark = if more { items.last().map(&id_of).unwrap_or_default() } else { String::new() };
    Ok((Page { items, bookmark }, bytes))
}

pub async fn list<S: Stub>(stub: &S, req: PhasePage) -> Result<Page<Record>> {
    let size = req.req().size()?;
    let after: Option<RecordId> = bookmark_id(&req.bookmark)?;
    let phase = as_participant(stub, &req.project, &req.phase, false).await?;
    let after = match after {
        Some(id) => match Blinding::reading(stub, &phase).await?.lookup(keys::RECORD, &id) {
            Some(name) => Some(keys::record(&phase.project, &phase.id, &name)),
            None => return Ok(Page { items: vec![], bookmark: String::new() }),
        },
        None => None,
    };
    private_page(stub, &phase, (keys::RECORD, &[&phase.project, &phase.id]), after, size, |r: &Record| r.id.to_string()).await
}

/// A list's bookmark: none, or the last id of the previous page.
pub(super) fn bookmark_id<K: IdKind>(bookmark: &str) -> Result<Option<Id<K>>> {
    if bookmark.is_empty() {
        return Ok(None);
    }
    Ok(Some(Id::new(bookmark)?))
}

pub async fn history<S: Stub>(stub: &S, req: ItemPage) -> Result<Page<Record>> {
    let size = req.req().size()?;
    let after = match req.bookmark.as_str() {
        "" => None,
        b => Some(b.parse::<u64>().map_err(|_| ContractError::bad(format!("bookmark {b:?} is not a version number")))?),
    };
    let phase = as_participant(stub, &req.project, &req.phase, false).await?;
    let Some(name) = Blinding::reading(stub, &phase).await?.lookup(keys::RECORD, &req.id) else {
        return Err(ContractError::not_found(format!("record {} of phase {} does not exist", req.id, phase.id)));
    };
    let after_key = after.map(|v| keys::record_version(&phase.project, &phase.id, &name, v));
    let (mut page, bytes) =
        private_page_sized(stub, &phase, (keys::RECORD_VERSION, &[&phase.project, &phase.id, &name]), after_key, size, |r: &Record| {
            r.version.to_string()
        })
        .await?;
    if page.bookmark.is_empty() {
        // Past the superseded versions comes the latest, under the record's own key. (Records
        // written before PutRecord kept only superseded versions apart have it under both.)
        if let Some(b) = copies::read(stub, &phase, &keys::record(&phase.project, &phase.id, &name)).await? {
            let latest: Record = decode("record", &b)?;
            let listed = page.items.last().map(|r| r.version).or(after).unwrap_or(0);
            if latest.version > listed {
                if page.items.len() < size as usize && (page.items.is_empty() || bytes + b.len() <= MAX_PAGE_BYTES) {
                    page.items.push(latest);
                } else {
                    page.bookmark = listed.to_string();
                }
            }
        }
    }
    if page.items.is_empty() && after.is_none() {
        return Err(ContractError::not_found(format!("record {} of phase {} does not exist", req.id, phase.id)));
    }
    Ok(page)
}
