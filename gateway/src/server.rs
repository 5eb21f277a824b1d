//! Putting the gateway together: config → wallet, Fabric, store, journal → HTTPS server.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{middleware, web, App, HttpServer};

use crate::api;
use crate::config::{Config, StoreConfig};
use crate::fabric::Fabric;
use crate::ledger::Ledger;
use crate::service::AppState;
use crate::startup::StartError;
use crate::storage::s3::{PhaseBuckets, S3Config, S3Store};
use crate::storage::{fs::FsStore, AnyStore};
use crate::uploads;
use crate::uploads::journal::Journal;
use crate::wallet::Wallet;

/// Everything that can be checked before listening is checked here, with an error naming the
/// config key or file at fault.
pub async fn build_state(cfg: Config) -> Result<AppState, StartError> {
    let wallet = Wallet::open(&cfg.fabric.wallet, &cfg.fabric.msp_id)?.revoking(crate::tls::revoked(&cfg.server)?);
    let fabric = Arc::new(Fabric::new(&cfg.fabric, &wallet)?);
    assemble(cfg, wallet, fabric).await
}

/// [`build_state`] over another ledger (a fake, in tests) instead of the configured peers.
pub async fn build_state_on(cfg: Config, ledger: Arc<dyn Ledger>) -> Result<AppState, StartError> {
    let wallet = Wallet::open(&cfg.fabric.wallet, &cfg.fabric.msp_id)?.revoking(crate::tls::revoked(&cfg.server)?);
    assemble(cfg, wallet, ledger).await
}

async fn open_store(cfg: &Config) -> Result<AnyStore, StartError> {
    Ok(match &cfg.storage.backend {
        StoreConfig::Fs { path } => AnyStore::Fs(FsStore::open(path).await.map_err(|source| StartError::Store {
            key: "storage.path",
            value: path.display().to_string(),
            source,
        })?),
        StoreConfig::S3 { endpoint, bucket, region, access_key, secret_key, parts_in_flight, retention_days, bucket_registry, .. } => {
            let c = S3Config {
                endpoint: endpoint.clone(),
                bucket: bucket.clone(),
                region: region.clone(),
                access_key: access_key.clone(),
                secret_key: secret_key.clone(),
                parts_in_flight: *parts_in_flight,
                // A part of 8 MiB must fit in one request even on a short Fabric timeout.
                request_timeout: Duration::from_millis(cfg.fabric.timeout_ms.max(30_000)),
                phases: Some(PhaseBuckets { owner: cfg.fabric.msp_id.clone(), retention_days: *retention_days, registry: bucket_registry.clone() }),
            };
            AnyStore::S3(Box::new(S3Store::new(&c).map_err(|source| StartError::Store {
                key: "storage.s3_endpoint",
                value: format!("{endpoint} (bucket {bucket})"),
                source,
            })?))
        }
    })
}

async fn assemble(cfg: Config, wallet: Wallet, ledger: Arc<dyn Ledger>) -> Result<AppState, StartError> {
    let store = open_store(&cfg).await?;
    let journal = Journal::open(&cfg.server.journal_dir)?;
    Ok(AppState::new(cfg, wallet, ledger, store, journal))
}

/// Serves until SIGINT/SIGTERM; uploads in flight get up to 30 s to finish.
pub async fn run(state: AppState) -> Result<(), StartError> {
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
    if let StoreConfig::S3 { access_sync_ms, .. } = &state.cfg.storage.backend {
        let every = Duration::from_millis(*access_sync_ms);
        let syncer = state.clone();
        actix_web::rt::spawn(async move {
            loop {
                actix_web::rt::time::sleep(every).await;
                crate::access::sync_all(&*syncer.ledger, &syncer.store).await;
            }
        });
    }
    let data = web::Data::new(state.clone());
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            // Inside `observe`, so that refused requests are logged and counted too.
            .wrap(middleware::from_fn(api::same_origin))
            .wrap(middleware::from_fn(api::observe))
            .configure(crate::dashboard::routes)
            .configure(api::routes)
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
    let server = server.bind_openssl(&listen, tls).map_err(|source| StartError::Listen { addr: listen.clone(), source })?;
    tracing::info!(%listen, msp_id = %state.wallet.msp_id(), users = state.wallet.len(), peers = ?state.ledger.peers(), "svcflow gateway listening");
    server.run().await.map_err(StartError::Serve)
}
