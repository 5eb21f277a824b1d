//! The ledger as the gateway uses it: one trait in front of the Fabric client ([`crate::fabric`])
//! so everything above it (the REST handlers, the upload pipeline) also runs against a fake, and
//! the ledger's own errors, typed by the stage that failed and carrying the tx id.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use futures_util::Stream;
use serde::de::DeserializeOwned;
use svcflow_model::{Call, Refusal};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub type EventStream = Pin<Box<dyn Stream<Item = LedgerEvent> + Send>>;

/// A committed transaction.
#[derive(Debug, Clone)]
pub struct Committed {
    pub result: Vec<u8>,
    pub tx_id: String,
    pub block_number: u64,
}

/// Called with the transaction's id once it is endorsed, before it is sent for ordering; an
/// error stops it there (nothing ordered).
pub type BeforeOrder<'a> = &'a (dyn Fn(&str) -> Result<(), String> + Send + Sync);

/// What [`Ledger::submit_with`] may add to a plain submit.
#[derive(Default, Clone, Copy)]
pub struct SubmitOptions<'a> {
    /// Endorse on a peer of each of these orgs. Fabric's gateway otherwise lets only orgs that
    /// are members of every collection a transaction with transient data touches endorse it,
    /// which a write to one collection and a purge of another cannot satisfy.
    pub endorsers: &'a [String],
    /// E.g. to journal the tx id, so that an unknown outcome can be settled from the ledger.
    pub before_order: Option<BeforeOrder<'a>>,
}

/// A chaincode event of a committed transaction.
#[derive(Debug, Clone)]
pub struct LedgerEvent {
    pub name: String,
    pub payload: Vec<u8>,
    pub tx_id: String,
    pub block_number: u64,
}

/// Where a call was when it failed. Past `Endorse` the transaction may have been ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Evaluate,
    Endorse,
    Submit,
    CommitStatus,
    Events,
    Block,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Evaluate => "evaluate",
            Stage::Endorse => "endorse",
            Stage::Submit => "submit",
            Stage::CommitStatus => "commit status",
            Stage::Events => "events",
            Stage::Block => "block lookup",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The chaincode said no; its kind travelled as a wire code.
    #[error("{}", refusal.reason)]
    Refused { refusal: Refusal, tx_id: Option<String> },
    /// No peer or orderer answered (in time). Before submit nothing changed; from submit on the
    /// transaction may still commit.
    #[error("{stage}: {detail}")]
    Unavailable { stage: Stage, tx_id: Option<String>, detail: String },
    /// A peer or orderer answered with a failure that is no refusal of the chaincode.
    #[error("{stage} failed: {detail}")]
    Failed { stage: Stage, tx_id: Option<String>, detail: String },
    /// Ordered, but invalidated at commit; `conflict` when a concurrent change won (retry).
    #[error("the transaction was invalidated ({code}){}", if *conflict { ": a concurrent change won; retry" } else { "" })]
    Invalidated { tx_id: String, code: String, conflict: bool },
    /// The wallet holds no signing identity for this user.
    #[error("{0} has no signing identity in the wallet")]
    NoSigner(String),
    /// An answer that is not what the call returns.
    #[error("{what} answered unexpected data: {detail}")]
    Unreadable { what: String, tx_id: Option<String>, detail: String },
}

impl LedgerError {
    pub fn tx_id(&self) -> Option<&str> {
        match self {
            LedgerError::Refused { tx_id, .. }
            | LedgerError::Unavailable { tx_id, .. }
            | LedgerError::Failed { tx_id, .. }
            | LedgerError::Unreadable { tx_id, .. } => tx_id.as_deref(),
            LedgerError::Invalidated { tx_id, .. } => Some(tx_id),
            LedgerError::NoSigner(_) => None,
        }
    }

    /// The transaction went to the orderer and its outcome is unknown: it may still commit.
    pub fn maybe_committed(&self) -> bool {
        matches!(
            self,
            LedgerError::Unavailable { stage: Stage::Submit | Stage::CommitStatus, .. }
                | LedgerError::Failed { stage: Stage::Submit | Stage::CommitStatus, .. }
        )
    }

    /// The chaincode's refusal, if that is what this is.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            LedgerError::Refused { refusal, .. } => Some(refusal),
            _ => None,
        }
    }
}

/// The chaincode on the channel, called as one of the org's wallet users.
pub trait Ledger: Send + Sync {
    /// A query: endorsed by one peer, never ordered.
    fn evaluate<'a>(&'a self, user: &'a str, call: &'a Call) -> BoxFuture<'a, Result<Vec<u8>, LedgerError>>;
    /// A transaction: endorsed, ordered and waited for until committed valid. The call's private
    /// input goes in the transient map only (`Call::transient`).
    fn submit<'a>(&'a self, user: &'a str, call: &'a Call) -> BoxFuture<'a, Result<Committed, LedgerError>> {
        self.submit_with(user, call, SubmitOptions::default())
    }
    /// A transaction with options: who endorses, and a step between endorsement and ordering.
    fn submit_with<'a>(&'a self, user: &'a str, call: &'a Call, opts: SubmitOptions<'a>) -> BoxFuture<'a, Result<Committed, LedgerError>>;
    /// Whether transaction `tx_id` is in a block: `Some(valid)`, or `None` when no block holds it.
    fn tx_status<'a>(&'a self, user: &'a str, tx_id: &'a str) -> BoxFuture<'a, Result<Option<bool>, LedgerError>>;
    /// The number of the block holding `tx_id`.
    fn block_of<'a>(&'a self, user: &'a str, tx_id: &'a str) -> BoxFuture<'a, Result<u64, LedgerError>>;
    /// Chaincode events from `start_block` on (or from now), or right after `after_tx`.
    fn events<'a>(&'a self, user: &'a str, start_block: Option<u64>, after_tx: Option<String>) -> BoxFuture<'a, Result<EventStream, LedgerError>>;
    /// The peers it talks to, for logs and health.
    fn peers(&self) -> Vec<String>;
}

fn decode<T: DeserializeOwned>(call: &Call, bytes: &[u8], tx_id: Option<&str>) -> Result<T, LedgerError> {
    serde_json::from_slice(bytes).map_err(|e| LedgerError::Unreadable {
        what: call.name().to_owned(),
        tx_id: tx_id.map(str::to_owned),
        detail: e.to_string(),
    })
}

/// A query, decoded.
pub async fn query<T: DeserializeOwned>(ledger: &dyn Ledger, user: &str, call: &Call) -> Result<T, LedgerError> {
    decode(call, &ledger.evaluate(user, call).await?, None)
}

/// A committed transaction, its answer decoded.
pub async fn invoke<T: DeserializeOwned>(ledger: &dyn Ledger, user: &str, call: &Call) -> Result<(T, Committed), LedgerError> {
    invoke_with(ledger, user, call, SubmitOptions::default()).await
}

/// A committed transaction submitted with options, its answer decoded.
pub async fn invoke_with<T: DeserializeOwned>(
    ledger: &dyn Ledger,
    user: &str,
    call: &Call,
    opts: SubmitOptions<'_>,
) -> Result<(T, Committed), LedgerError> {
    let c = ledger.submit_with(user, call, opts).await?;
    let v = decode(call, &c.result, Some(&c.tx_id))?;
    Ok((v, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_past_endorsement_may_have_committed() {
        let at = |stage| LedgerError::Unavailable { stage, tx_id: Some("t".into()), detail: "x".into() };
        assert!(!at(Stage::Endorse).maybe_committed());
        assert!(!at(Stage::Evaluate).maybe_committed());
        assert!(at(Stage::Submit).maybe_committed());
        assert!(at(Stage::CommitStatus).maybe_committed());
        let invalid = LedgerError::Invalidated { tx_id: "t".into(), code: "MVCC_READ_CONFLICT".into(), conflict: true };
        assert!(!invalid.maybe_committed());
        assert_eq!(invalid.tx_id(), Some("t"));
        assert!(invalid.to_string().contains("retry"));
    }
}
