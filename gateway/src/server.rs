//! Putting the gateway together: config → wallet, Fabric, store, journal → HTTPS server.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{middleware, web, App, HttpServer};

use crate::api;
use crate::config::{Backend, Config};
use crate::fabric::Fabric;
use crate::ledger::Ledger;
use crate::service::AppState;
use crate::storage::s3::{S3Config, S3Store};
use crate::storage::{fs::FsStore, AnyStore};
use crate::uploads;
use crate::uploads::journal::Journal;
use crate::wallet::Wallet;

/// Everything that can be checked before listening is checked here, with a message naming the
/// config key or file at fault.
pub async fn build_state(cfg: Config) -> Result<AppState, String> {
    let wallet = open_wallet(&cfg)?;
    let fabric = Arc::new(Fabric::new(&cfg.fabric, &wallet)?);
    assemble(cfg, wallet, fabric).await
}

/// [`build_state`] over another ledger (a fake, in tests) instead of the configured peers.
pub async fn build_state_on(cfg: Config, ledger: Arc<dyn Ledger>) -> Result<AppState, String> {
    let wallet = open_wallet(&cfg)?;
    assemble(cfg, wallet, ledger).await
}

fn open_wallet(cfg: &Config) -> Result<Wallet, String> {
    Wallet::open(&cfg.fabric.wallet, &cfg.fabric.msp_id).map_err(|e| format!("fabric.wallet: {e}"))
}

async fn assemble(cfg: Config, wallet: Wallet, ledger: Arc<dyn Ledger>) -> Result<AppState, String> {
    let store = match cfg.storage.backend {
        Backend::Fs => {
            let path = cfg.storage.path.clone().unwrap_or_else(|| "svcflow-objects".into());
            AnyStore::Fs(FsStore::open(&path).await.map_err(|e| format!("storage.path {}: {e}", path.display()))?)
        }
        Backend::S3 => {
            let s = &cfg.storage;
            let need = |v: &Option<String>, k: &str| v.clone().ok_or_else(|| format!("storage.{k} is required with backend = \"s3\""));
            let c = S3Config {
                endpoint: need(&s.s3_endpoint, "s3_endpoint")?,
                bucket: need(&s.s3_bucket, "s3_bucket")?,
                region: s.s3_region.clone().unwrap_or_else(|| "default".into()),
                access_key: need(&s.s3_access_key, "s3_access_key")?,
                secret_key: need(&s.s3_secret_key, "s3_secret_key")?,
                parts_in_flight: s.s3_parts_in_flight,
                request_timeout: Duration::from_millis(cfg.fabric.timeout_ms.max(30_000)),
            };
            AnyStore::S3(S3Store::new(&c).map_err(|e| format!("storage (s3): {e}"))?)
        }
    };
    let journal = Journal::open(&cfg.server.journal_dir)?;
    Ok(AppState::new(cfg, wallet, ledger, store, journal))
}

/// Serves until SIGINT/SIGTERM; uploads in flight get up to 30 s to finish.
pub async fn run(state: AppState) -> Result<(), String> {
    let tls = crate::tls::acceptor(&state.cfg.server)?;
    let listen = state.cfg.server.listen.clone();
    let workers = state.cfg.server.workers;
    let sweep_after = Duration::from_millis(state.cfg.server.sweep_after_ms);
    let give_up = Duration::from_millis(state.cfg.server.give_up_ordering_ms);
    let state = Arc::new(state);
    let sweeper = state.clone();
    actix_web::rt::spawn(async move {
        loop {
            let n = uploads::sweep(&sweeper.uploads(), sweep_after, give_up).await;
            if n > 0 {
                tracing::info!(settled = n, "journal sweep");
            }
            actix_web::rt::time::sleep((sweep_after / 4).clamp(Duration::from_millis(500), Duration::from_secs(30))).await;
        }
    });
    let data = web::Data::new(state.clone());
    let mut server = HttpServer::new(move || {
        App::new().app_data(data.clone()).wrap(middleware::from_fn(api::observe)).configure(crate::dashboard::routes).configure(api::routes)
    })
    .on_connect(crate::tls::on_connect)
    // An answer is written whole, so Nagle's algorithm only holds back its last segment until
    // the client ACKs the ones before, which a client delays by 40 ms: measured, a 29 KB page of
    // records took 48 ms and a 146 KB one 8 ms (docs/benchmarks.md, "How cost grows").
    .tcp_nodelay(true)
    .shutdown_timeout(30)
    .client_request_timeout(Duration::from_secs(30));
    if let Some(w) = workers {
        server = server.workers(w);
    }
    let server = server.bind_openssl(&listen, tls).map_err(|e| format!("server.listen {listen}: {e}"))?;
    tracing::info!(%listen, msp_id = %state.wallet.msp_id(), users = state.wallet.len(), peers = ?state.ledger.peers(), "svcflow gateway listening");
    server.run().await.map_err(|e| e.to_string())
}
