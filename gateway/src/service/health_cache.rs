//! The last `/healthz` probe's report, kept for a while: anyone may ask (no certificate), so an
//! answer must not cost a Fabric query each time.

use std::future::Future;
use std::time::{Duration, Instant};

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
