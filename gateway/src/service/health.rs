//! Whether the gateway reaches Fabric and its object store.

use std::future::Future;
use std::time::{Duration, Instant};

use svcflow_model::call::NoArgs;
use svcflow_model::Call;

use super::state::AppState;
use crate::storage::ObjectStore;

/// What probing Fabric and the store found; each `Err` says why it did not answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub msp_id: String,
    /// The peers this gateway talks to.
    pub peers: Vec<String>,
    pub fabric: Result<(), String>,
    pub storage: Result<(), String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.fabric.is_ok() && self.storage.is_ok()
    }
}

/// The last probe's report, answered while younger than the TTL (`server.health_ttl_ms`). Anyone
/// may ask `/healthz` (no certificate), so each answer must not cost a Fabric query: callers
/// that find the report stale queue on the lock and the first one probes for all.
pub struct Cache {
    ttl: Duration,
    last: tokio::sync::Mutex<Option<(Instant, Report)>>,
}

impl Cache {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, last: tokio::sync::Mutex::new(None) }
    }

    /// The cached report, or `probe`'s when it is stale; one probe at a time.
    pub async fn get_or_probe<F: Future<Output = Report>>(&self, probe: impl FnOnce() -> F) -> Report {
        let mut last = self.last.lock().await;
        if let Some((at, report)) = &*last {
            if at.elapsed() < self.ttl {
                return report.clone();
            }
        }
        let report = probe().await;
        *last = Some((Instant::now(), report.clone()));
        report
    }
}

/// The health of the gateway as last probed, at most `server.health_ttl_ms` ago.
pub async fn check(state: &AppState) -> Report {
    state.health.get_or_probe(|| probe(state)).await
}

/// Asks a peer a query (as any wallet user: the probe tells nothing private) and the store a
/// lookup.
async fn probe(state: &AppState) -> Report {
    let peers = state.ledger.peers();
    let probe_user = state.wallet.users().map(|u| u.name.clone()).min();
    let fabric = match probe_user {
        Some(u) => {
            let call = Call::WhoAmI(NoArgs {});
            let res = state.ledger.evaluate(&u, &call).await;
            state.metrics.fabric_call(call.name(), res.is_ok());
            res.map(|_| ()).map_err(|e| e.to_string())
        }
        None => Err("empty wallet".into()),
    };
    let storage = state.store.head("healthz/probe").await.map(|_| ()).map_err(|e| e.to_string());
    Report { msp_id: state.wallet.msp_id().to_owned(), peers, fabric, storage }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn report(n: usize) -> Report {
        Report { msp_id: "Org1MSP".into(), peers: vec![], fabric: Err(format!("probe {n}")), storage: Ok(()) }
    }

    #[tokio::test]
    async fn concurrent_and_consecutive_checks_share_one_probe_per_ttl() {
        let cache = Cache::new(Duration::from_millis(300));
        let probes = AtomicUsize::new(0);
        let probe = || async {
            let n = probes.fetch_add(1, Ordering::SeqCst) + 1;
            // A slow peer: the others arrive while this probe is under way.
            tokio::time::sleep(Duration::from_millis(50)).await;
            report(n)
        };
        let answers = futures_util::future::join_all((0..20).map(|_| cache.get_or_probe(probe))).await;
        assert_eq!(probes.load(Ordering::SeqCst), 1);
        assert!(answers.iter().all(|r| *r == report(1)));
        for _ in 0..10 {
            assert_eq!(cache.get_or_probe(probe).await, report(1));
        }
        assert_eq!(probes.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(cache.get_or_probe(probe).await, report(2));
        assert_eq!(probes.load(Ordering::SeqCst), 2);
    }
}
