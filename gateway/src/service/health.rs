//! Whether the gateway reaches Fabric and its object store.

use svcflow_model::call::NoArgs;
use svcflow_model::Call;

pub use super::health_cache::{Cache, Report};
use super::state::AppState;

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
    let storage = state.store.probe().await.map_err(|e| e.to_string());
    Report { msp_id: state.wallet.msp_id().to_owned(), peers, fabric, storage }
}
