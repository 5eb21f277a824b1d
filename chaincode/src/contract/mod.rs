//! The svcflow contract: projects, phases, participants, private records, file anchors and
//! phase keys. Fabric's arguments `[function, json]` become a typed [`Call`]; private inputs come
//! only from the transient map (arguments are written on-chain in clear). Every refusal is an
//! error and writes nothing.
//!
//! One module per thing the contract keeps; the rules they apply (ids, participation, the phase
//! lifecycle) are `svcflow-model`'s, shared with the gateway.

mod blinding;
mod copies;
mod files;
mod migration;
mod phases;
mod projects;
mod records;

use serde::de::DeserializeOwned;
use serde::Serialize;
use svcflow_model::call::Call;
use svcflow_model::event::{Event, EventIds};
use svcflow_model::identity::Principal;
use svcflow_model::ids::{PhaseId, ProjectId};

use crate::error::{ContractError, Result};
use crate::shim::{function_and_arg, Contract, TxStub};
use crate::stub::Stub;

pub use svcflow_model::page::MAX_PAGE_SIZE;
pub use svcflow_model::record::MAX_RECORD_BYTES;

/// Runs one function; the result is the JSON the peer returns as the payload.
pub async fn invoke<S: Stub>(stub: &S, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    let (func, arg) = function_and_arg(args)?;
    dispatch(stub, Call::parse(&func, arg, |key| stub.transient(key))?).await
}

/// The contract as the shim runs it.
pub struct Svcflow;

impl Contract for Svcflow {
    async fn run(&self, stub: &TxStub, function: &str, arg: &[u8]) -> Result<Vec<u8>> {
        dispatch(stub, Call::parse(function, arg, |key| stub.transient(key))?).await
    }
}

/// Runs one typed call.
pub async fn dispatch<S: Stub>(stub: &S, call: Call) -> Result<Vec<u8>> {
    use svcflow_model::phase::PhaseStatus::{Active, Closed};
    match call {
        Call::CreateProject(a) => to_json(&projects::create(stub, a).await?),
        Call::GetProject(a) => to_json(&projects::get(stub, &a.id).await?),
        Call::ListProjects(a) => to_json(&projects::list(stub, a).await?),
        Call::AddPhase(a) => to_json(&phases::add(stub, a).await?),
        Call::UpdatePhase(a) => to_json(&phases::update(stub, a).await?),
        Call::ApprovePhaseChange(a) => to_json(&phases::approve_change(stub, a).await?),
        Call::ActivatePhase(a) => to_json(&phases::set_status(stub, a, Active).await?),
        Call::ClosePhase(a) => to_json(&phases::set_status(stub, a, Closed).await?),
        Call::ListPhases(a) => to_json(&migration::shown_all(stub, phases::list(stub, &a.project).await?).await?),
        Call::SetPhaseKey(a, key) => to_json(&phases::set_key(stub, a, key).await?),
        Call::GetPhaseKey(a) => to_json(&phases::get_key(stub, a).await?),
        Call::PutRecord(a, record) => to_json(&records::put(stub, a, record).await?),
        Call::GetRecord(a) => to_json(&records::get(stub, a).await?),
        Call::ListRecords(a) => to_json(&records::list(stub, a).await?),
        Call::RecordHistory(a) => to_json(&records::history(stub, a).await?),
        Call::AnchorFile(a, anchor) => to_json(&files::anchor(stub, a, anchor).await?),
        Call::GetFile(a) => to_json(&files::get(stub, a).await?),
        Call::ListFiles(a) => to_json(&files::list(stub, a).await?),
        Call::ResealFile(a, reseal) => to_json(&files::reseal(stub, a, reseal).await?),
        Call::ReadMigrationBatch(a) => to_json(&migration::read_batch(stub, a).await?),
        Call::MigratePhase(a, batch) => to_json(&migration::step(stub, a, batch).await?),
        Call::PhaseHoldings(a) => to_json(&migration::holdings(stub, a).await?),
        Call::GetChange(a) => to_json(&records::change(stub, a).await?),
        Call::WhoAmI(_) => to_json(stub.creator()),
    }
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| ContractError::Ledger(format!("encoding the result: {e}")))
}

fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| ContractError::Ledger(format!("stored {what} is unreadable: {e}")))
}

fn me<S: Stub>(stub: &S) -> Principal {
    stub.creator().principal()
}

/// An event names public ids only: it is written into the block every org keeps.
fn emit<S: Stub>(stub: &S, event: Event, project: &ProjectId, phase: Option<&PhaseId>) {
    let ids = EventIds { project: project.clone(), phase: phase.cloned(), tx_id: stub.tx_id().to_owned() };
    stub.set_event(event.name(), serde_json::to_vec(&ids).unwrap_or_default());
}

#[cfg(test)]
mod tests;
