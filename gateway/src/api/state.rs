//! What every handler shares: one per gateway process.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use actix_web::web;
use serde::de::DeserializeOwned;
use svcflow_model::call::{Access, NoArgs};
use svcflow_model::identity::Identity;
use svcflow_model::Call;

use super::caller::Caller;
use super::error::Failure;
use crate::config::Config;
use crate::ledger::{self, Committed, Ledger};
use crate::metrics::Metrics;
use crate::storage::AnyStore;
use crate::uploads::journal::Journal;
use crate::uploads::Env;
use crate::wallet::Wallet;

pub struct AppState {
    pub cfg: Config,
    pub wallet: Wallet,
    pub ledger: Arc<dyn Ledger>,
    pub store: AnyStore,
    pub metrics: Metrics,
    pub journal: Journal,
    /// `WhoAmI` answers, by wallet user (an identity does not change while the gateway runs).
    whoami: Mutex<HashMap<String, Identity>>,
    /// Phases (project, phase) whose migration this gateway is moving now.
    migrations: Arc<Mutex<HashSet<(String, String)>>>,
}

pub type State = web::Data<Arc<AppState>>;

impl AppState {
    pub fn new(cfg: Config, wallet: Wallet, ledger: Arc<dyn Ledger>, store: AnyStore, journal: Journal) -> Self {
        Self { cfg, wallet, ledger, store, metrics: Metrics::default(), journal, whoami: Mutex::new(HashMap::new()), migrations: Arc::default() }
    }

    /// A chaincode query as `caller`, decoded.
    pub async fn query<T: DeserializeOwned>(&self, caller: &Caller, call: Call) -> Result<T, Failure> {
        debug_assert_eq!(call.access(), Access::Read, "{} writes: submit it", call.name());
        let res = ledger::query(&*self.ledger, &caller.user, &call).await;
        self.metrics.fabric_call(call.name(), res.is_ok());
        Ok(res?)
    }

    /// A chaincode transaction as `caller`, committed, decoded.
    pub async fn invoke<T: DeserializeOwned>(
        &self,
        caller: &Caller,
        call: Call,
        transient: HashMap<String, Vec<u8>>,
    ) -> Result<(T, Committed), Failure> {
        let res = ledger::invoke(&*self.ledger, &caller.user, &call, transient).await;
        self.metrics.fabric_call(call.name(), res.is_ok());
        Ok(res?)
    }

    /// The caller's identity as the chaincode sees it.
    pub async fn identity(&self, caller: &Caller) -> Result<Identity, Failure> {
        if let Some(id) = self.whoami.lock().unwrap_or_else(|p| p.into_inner()).get(&caller.user) {
            return Ok(id.clone());
        }
        let id: Identity = self.query(caller, Call::WhoAmI(NoArgs {})).await?;
        self.whoami.lock().unwrap_or_else(|p| p.into_inner()).insert(caller.user.clone(), id.clone());
        Ok(id)
    }

    /// Whether this gateway is moving the phase's data now.
    pub fn driving(&self, project: &str, phase: &str) -> bool {
        self.migrations.lock().unwrap_or_else(|p| p.into_inner()).contains(&(project.to_owned(), phase.to_owned()))
    }

    /// Moves a migrating phase's data as `user` in the background, unless this gateway does so
    /// already. A failure is logged; the data stays consistent and a new start resumes.
    pub fn drive_migration(&self, user: String, project: String, phase: String) {
        let key = (project.clone(), phase.clone());
        if !self.migrations.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone()) {
            return;
        }
        let (ledger, running) = (Arc::clone(&self.ledger), Arc::clone(&self.migrations));
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            match crate::migration::run(&*ledger, &user, &project, &phase).await {
                Ok(m) => tracing::info!(
                    project,
                    phase,
                    values = m.values,
                    transactions = m.transactions,
                    ms = started.elapsed().as_millis() as u64,
                    "migration done"
                ),
                Err(e) => {
                    tracing::warn!(project, phase, tx_id = e.tx_id().unwrap_or(""), error = %e, "migration stopped; POST its /migration to resume")
                }
            }
            running.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
        });
    }

    /// What the upload pipeline and the sweep work with.
    pub fn uploads(&self) -> Env<'_> {
        Env { ledger: &*self.ledger, store: &self.store, journal: &self.journal, metrics: &self.metrics, verify: self.cfg.storage.verify_uploads }
    }
}
