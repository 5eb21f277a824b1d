//! What every operation shares: one per gateway process.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use svcflow_model::call::{Access, NoArgs};
use svcflow_model::identity::Identity;
use svcflow_model::ids::{PhaseId, ProjectId};
use svcflow_model::Call;

use super::caller::Caller;
use crate::config::Config;
use crate::ledger::{self, Committed, Ledger, LedgerError};
use crate::metrics::Metrics;
use crate::storage::AnyStore;
use crate::uploads::journal::Journal;
use crate::uploads::Env;
use crate::wallet::Wallet;

/// How often a phase write is sent again (waits of 0.3 to 2.4 s, ≈ 7 s in all: several blocks).
const WRITE_RETRIES: u32 = 5;

/// Whether a write's failure passes by itself: the phase had writes wait a moment, or a
/// concurrent transaction invalidated it (so it wrote nothing).
fn worth_sending_again(e: &LedgerError) -> bool {
    match e {
        LedgerError::Refused { refusal, .. } => refusal.kind == svcflow_model::ErrorKind::Unavailable,
        LedgerError::Invalidated { conflict, .. } => *conflict,
        _ => false,
    }
}

/// A phase by (project, phase id).
pub(super) type MigratingPhase = (ProjectId, PhaseId);

pub struct AppState {
    pub cfg: Config,
    pub wallet: Wallet,
    pub ledger: Arc<dyn Ledger>,
    pub store: AnyStore,
    pub metrics: Metrics,
    pub journal: Journal,
    /// The last `/healthz` probe.
    pub health: super::health_cache::Cache,
    /// `WhoAmI` answers, by wallet user (an identity does not change while the gateway runs).
    whoami: Mutex<HashMap<String, Identity>>,
    /// Phases whose migration this gateway is moving now; shared with the tasks moving them
    /// (`migrations.rs`), which remove their phase when they stop.
    pub(super) migrations: Arc<Mutex<HashSet<MigratingPhase>>>,
}

impl AppState {
    pub fn new(cfg: Config, wallet: Wallet, ledger: Arc<dyn Ledger>, store: AnyStore, journal: Journal) -> Self {
        let health = super::health_cache::Cache::new(std::time::Duration::from_millis(cfg.server.health_ttl_ms));
        Self {
            cfg,
            wallet,
            ledger,
            store,
            metrics: Metrics::default(),
            journal,
            health,
            whoami: Mutex::new(HashMap::new()),
            migrations: Arc::default(),
        }
    }

    /// A chaincode query as `caller`, decoded.
    pub async fn query<T: DeserializeOwned>(&self, caller: &Caller, call: Call) -> Result<T, LedgerError> {
        debug_assert_eq!(call.access(), Access::Read, "{} writes: submit it", call.name());
        let res = ledger::query(&*self.ledger, &caller.user, &call).await;
        self.metrics.fabric_call(call.name(), res.is_ok());
        res
    }

    /// A chaincode transaction as `caller`, committed, decoded.
    ///
    /// A write of a phase's data is sent again when the phase had it wait (the last step of a
    /// change of its participants, about one block), or when a concurrent transaction changed
    /// what it read first (invalidated, so nothing of it was written): the caller sees the write
    /// go through rather than a refusal a moment's wait would have avoided.
    pub async fn invoke<T: DeserializeOwned>(&self, caller: &Caller, call: Call) -> Result<(T, Committed), LedgerError> {
        let mut attempt = 0;
        loop {
            let res = ledger::invoke(&*self.ledger, &caller.user, &call).await;
            self.metrics.fabric_call(call.name(), res.is_ok());
            match res {
                Err(e) if attempt < WRITE_RETRIES && call.private_phase().is_some() && worth_sending_again(&e) => {
                    attempt += 1;
                    tracing::info!(call = call.name(), tx_id = e.tx_id().unwrap_or_default(), error = %e, attempt, "phase write waits; sending it again");
                    tokio::time::sleep(std::time::Duration::from_millis(150 << attempt.min(4))).await;
                }
                other => return other,
            }
        }
    }

    /// The caller's identity as the chaincode sees it.
    pub async fn identity(&self, caller: &Caller) -> Result<Identity, LedgerError> {
        if let Some(id) = self.whoami.lock().unwrap_or_else(|p| p.into_inner()).get(&caller.user) {
            return Ok(id.clone());
        }
        let id: Identity = self.query(caller, Call::WhoAmI(NoArgs {})).await?;
        self.whoami.lock().unwrap_or_else(|p| p.into_inner()).insert(caller.user.clone(), id.clone());
        Ok(id)
    }

    /// What the upload pipeline and the sweep work with.
    pub fn uploads(&self) -> Env<'_> {
        Env { ledger: &*self.ledger, store: &self.store, journal: &self.journal, metrics: &self.metrics, verify: self.cfg.storage.verify_uploads }
    }
}
