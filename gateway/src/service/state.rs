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

    /// A chaincode transaction as `caller`, committed, decoded (a phase write that had to wait
    /// is sent again: `ledger::invoke_with`).
    pub async fn invoke<T: DeserializeOwned>(&self, caller: &Caller, call: Call) -> Result<(T, Committed), LedgerError> {
        let res = ledger::invoke(&*self.ledger, &caller.user, &call).await;
        self.metrics.fabric_call(call.name(), res.is_ok());
        res
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
