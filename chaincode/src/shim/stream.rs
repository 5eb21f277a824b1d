//! The peer stream as the transactions on it share it: messages out, and the peer's replies
//! routed back to the ledger call that waits for them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fabric_shim_protos::peer::chaincode_message::Type as Msg;
use fabric_shim_protos::peer::ChaincodeMessage;
use prost::Message;
use tokio::sync::{mpsc, oneshot};
use tonic::Status;

use crate::error::{ContractError, Result};

/// Replies of the peer to our ledger calls, by (channel, tx id).
type Pending = Arc<Mutex<HashMap<(String, String), oneshot::Sender<ChaincodeMessage>>>>;

pub(super) type Outbound = mpsc::Sender<std::result::Result<ChaincodeMessage, Status>>;

#[derive(Clone)]
pub(super) struct Conn {
    out: Outbound,
    pending: Pending,
    pub(super) peer_msp_id: Option<Arc<str>>,
}

impl Conn {
    pub(super) fn new(out: Outbound, peer_msp_id: Option<Arc<str>>) -> Self {
        Self { out, pending: Arc::new(Mutex::new(HashMap::new())), peer_msp_id }
    }

    /// Sends `m`; false once the peer's stream is gone.
    pub(super) async fn send(&self, m: ChaincodeMessage) -> bool {
        self.out.send(Ok(m)).await.is_ok()
    }

    /// Sends a ledger call and waits for the peer's reply to it. A transaction has at most one
    /// call in flight, so (channel, tx id) names the reply.
    pub(super) async fn ask(&self, m: ChaincodeMessage) -> Result<ChaincodeMessage> {
        let (tx, rx) = oneshot::channel();
        let key = (m.channel_id.clone(), m.txid.clone());
        self.pending.lock().map_err(|_| ContractError::Ledger("shim state poisoned".into()))?.insert(key.clone(), tx);
        if !self.send(m).await {
            let _ = self.pending.lock().map(|mut p| p.remove(&key));
            return Err(ContractError::Ledger("peer stream closed".into()));
        }
        rx.await.map_err(|_| ContractError::Ledger("peer stream closed before it answered".into()))
    }

    /// Hands a RESPONSE/ERROR of the peer to the call waiting for it.
    pub(super) fn answer(&self, m: ChaincodeMessage) {
        let waiter = self.pending.lock().ok().and_then(|mut p| p.remove(&(m.channel_id.clone(), m.txid.clone())));
        match waiter {
            Some(w) => {
                let _ = w.send(m);
            }
            None => tracing::warn!(txid = %m.txid, "reply for no pending ledger call"),
        }
    }
}

pub(super) fn msg(t: Msg, payload: Vec<u8>, channel: &str, txid: &str) -> ChaincodeMessage {
    ChaincodeMessage { r#type: t as i32, payload, txid: txid.to_owned(), channel_id: channel.to_owned(), ..Default::default() }
}

/// A protobuf message from the peer; a malformed one is the caller's bad request.
pub(super) fn decode<M: Message + Default>(what: &str, b: &[u8]) -> Result<M> {
    M::decode(b).map_err(|e| ContractError::bad(format!("malformed {what}: {e}")))
}
