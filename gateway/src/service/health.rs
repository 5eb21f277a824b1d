//! Whether the gateway reaches Fabric and its object store.

use svcflow_model::call::NoArgs;
use svcflow_model::Call;

use super::state::AppState;

/// What probing Fabric and the store found; each `Err` says why it did not answer.
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

/// Asks a peer a query (as any wallet user: the probe tells nothing private) and the store a
/// lookup.
pub async fn check(state: &AppState) -> Report {
    let peers = state.ledger.peers();
    let probe_user = state.wallet.users().map(|u| u.name.clone()).min();
    let fabric = match probe_user {
        Some(u) => state.ledger.evaluate(&u, &Call::WhoAmI(NoArgs {})).await.map(|_| ()).map_err(|e| e.to_string()),
        None => Err("empty wallet".into()),
    };
    let storage = state.store.probe().await.map_err(|e| e.to_string());
    Report { msp_id: state.wallet.msp_id().to_owned(), peers, fabric, storage }
}
