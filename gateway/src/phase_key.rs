//! A phase's data key, the AES key its files are sealed with. It lives in the phase's private
//! collection; the gateway fetches it as the caller (so only participants ever get it) and, for
//! a phase that has none yet, generates one and hands it over by transient.

use base64::Engine;
use svcflow_model::call::{KeyRef, PhaseRef};
use svcflow_model::ids::{PhaseId, ProjectId};
use svcflow_model::phase::{PhaseKey, PHASE_KEY_BYTES};
use svcflow_model::transient::NewPhaseKey;
use svcflow_model::{Call, ErrorKind};

use crate::ledger::{self, Ledger, LedgerError};
use crate::storage::sealed::DataKey;

/// A new random key from the OS generator.
pub fn generate() -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let mut k = vec![0u8; PHASE_KEY_BYTES];
    openssl::rand::rand_bytes(&mut k)?;
    Ok(k)
}

/// Sets a new key for a phase that has none, as `user` (a participant).
pub async fn set(ledger: &dyn Ledger, user: &str, phase: PhaseRef, key: Vec<u8>) -> Result<(), LedgerError> {
    let key = NewPhaseKey::new(key).map_err(|refusal| LedgerError::Refused { refusal, tx_id: None })?;
    ledger.submit(user, &Call::SetPhaseKey(phase, key)).await.map(|_| ())
}

/// A phase key with the version it is.
pub struct Versioned {
    pub version: u32,
    pub key: DataKey,
}

/// The phase's current key as `user` reads it. With `create`, a phase without a key of its
/// current version gets one first (a phase added by a manager outside it, or whose key rotated,
/// gets its key from its next participant upload).
pub async fn current(ledger: &dyn Ledger, user: &str, project: &ProjectId, phase: &PhaseId, create: bool) -> Result<Versioned, LedgerError> {
    let arg = KeyRef { project: project.clone(), phase: phase.clone(), version: None };
    let found: PhaseKey = match ledger::query(ledger, user, &Call::GetPhaseKey(arg.clone())).await {
        Ok(k) => k,
        // No key yet (or no such phase: then SetPhaseKey says so in turn).
        Err(e) if create && e.refusal().is_some_and(|r| r.kind == ErrorKind::NotFound) => {
            let key = generate().map_err(|e| unreadable(format!("no random key: {e}")))?;
            match set(ledger, user, PhaseRef { project: project.clone(), phase: phase.clone() }, key).await {
                Ok(()) => {}
                // Someone else set it first: theirs is the key.
                Err(e) if e.refusal().is_some_and(|r| r.kind == ErrorKind::Conflict) => {}
                Err(e) => return Err(e),
            }
            ledger::query(ledger, user, &Call::GetPhaseKey(arg)).await?
        }
        Err(e) => return Err(e),
    };
    Ok(Versioned { version: found.version, key: decode(&found)? })
}

/// Gives the phase a key of its current version if it has none, as `user`; says whether it has
/// one now. A write refused for want of one (a blinded phase's names and salts derive from its
/// keys) is worth one more try then, also when another caller set the key since the refusal
/// (a write refused for another reason is refused again on that try).
pub async fn ensure(ledger: &dyn Ledger, user: &str, project: &ProjectId, phase: &PhaseId) -> Result<bool, LedgerError> {
    let arg = KeyRef { project: project.clone(), phase: phase.clone(), version: None };
    match ledger::query::<PhaseKey>(ledger, user, &Call::GetPhaseKey(arg)).await {
        Ok(_) => Ok(true),
        Err(e) if e.refusal().is_some_and(|r| r.kind == ErrorKind::NotFound) => {
            let key = generate().map_err(|e| unreadable(format!("no random key: {e}")))?;
            match set(ledger, user, PhaseRef { project: project.clone(), phase: phase.clone() }, key).await {
                Ok(()) => Ok(true),
                // Someone else set it meanwhile: a new try finds it.
                Err(e) if e.refusal().is_some_and(|r| r.kind == ErrorKind::Conflict) => Ok(true),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// Version `version` of the phase's key (the one an anchor names), as `user` reads it.
pub async fn version(ledger: &dyn Ledger, user: &str, project: &ProjectId, phase: &PhaseId, version: u32) -> Result<DataKey, LedgerError> {
    let arg = KeyRef { project: project.clone(), phase: phase.clone(), version: Some(version) };
    decode(&ledger::query(ledger, user, &Call::GetPhaseKey(arg)).await?)
}

fn decode(found: &PhaseKey) -> Result<DataKey, LedgerError> {
    let raw = base64::engine::general_purpose::STANDARD.decode(found.key.as_bytes()).map_err(|e| unreadable(format!("not base64: {e}")))?;
    DataKey::from_slice(&raw).map_err(|e| unreadable(e.to_string()))
}

fn unreadable(detail: String) -> LedgerError {
    LedgerError::Unreadable { what: "GetPhaseKey".into(), tx_id: None, detail }
}
