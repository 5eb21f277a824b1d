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
///
/// A write of a phase's data is sent again when the phase had it wait (the last step of a change
/// of its participants, about one block: `unavailable`), or when a concurrent transaction changed
/// what it read first (invalidated, so nothing of it was written): the caller sees the write go
/// through rather than a refusal that a moment's wait would have avoided.
pub async fn invoke_with<T: DeserializeOwned>(
    ledger: &dyn Ledger,
    user: &str,
    call: &Call,
    opts: SubmitOptions<'_>,
) -> Result<(T, Committed), LedgerError> {
    let mut attempt = 0;
    let c = loop {
        match ledger.submit_with(user, call, opts).await {
            Err(e) if attempt < WRITE_RETRIES && call.private_phase().is_some() && passes_by_itself(&e) => {
                attempt += 1;
                tracing::info!(call = call.name(), tx_id = e.tx_id().unwrap_or_default(), error = %e, attempt, "phase write waits; sending it again");
                tokio::time::sleep(std::time::Duration::from_millis(150 << attempt.min(4))).await;
            }
            other => break other?,
        }
    };
    let v = decode(call, &c.result, Some(&c.tx_id))?;
    Ok((v, c))
}

/// How often a phase write is sent again (waits of 0.3 to 2.4 s, ≈ 7 s in all: several blocks).
const WRITE_RETRIES: u32 = 5;

/// Whether a write's failure passes by itself: the phase had writes wait a moment, or a
/// concurrent transaction invalidated it (so it wrote nothing).
fn passes_by_itself(e: &LedgerError) -> bool {
    match e {
        LedgerError::Refused { refusal, .. } => refusal.kind == svcflow_model::ErrorKind::Unavailable,
        LedgerError::Invalidated { conflict, .. } => *conflict,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Answers each submit with the next of `answers` (then commits), counting the submits.
    struct Scripted {
        answers: std::sync::Mutex<Vec<LedgerError>>,
        submits: AtomicU32,
    }

    impl Ledger for Scripted {
        fn evaluate<'a>(&'a self, _: &'a str, _: &'a Call) -> BoxFuture<'a, Result<Vec<u8>, LedgerError>> {
            Box::pin(async { Ok(Vec::new()) })
        }
        fn submit_with<'a>(&'a self, _: &'a str, _: &'a Call, _: SubmitOptions<'a>) -> BoxFuture<'a, Result<Committed, LedgerError>> {
            let n = self.submits.fetch_add(1, Ordering::SeqCst);
            let next = self.answers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            Box::pin(async move {
                match next {
                    Some(e) => Err(e),
                    None => Ok(Committed { result: b"{}".to_vec(), tx_id: format!("t{n}"), block_number: 1 }),
                }
            })
        }
        fn tx_status<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<Option<bool>, LedgerError>> {
            Box::pin(async { Ok(None) })
        }
        fn block_of<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<u64, LedgerError>> {
            Box::pin(async { Ok(0) })
        }
        fn events<'a>(&'a self, _: &'a str, _: Option<u64>, _: Option<String>) -> BoxFuture<'a, Result<EventStream, LedgerError>> {
            Box::pin(async { Err(LedgerError::NoSigner("none".into())) })
        }
        fn peers(&self) -> Vec<String> {
            Vec::new()
        }
    }

    fn put_record() -> Call {
        let doc = r#"{"project":"p","phase":"P"}"#;
        Call::parse("PutRecord", doc.as_bytes(), |k| match k {
            "record_id" => Some(b"r".as_slice()),
            "record" => Some(b"{}".as_slice()),
            _ => None,
        })
        .expect("a PutRecord call")
    }

    #[tokio::test]
    async fn a_phase_write_that_waited_is_sent_again_and_nothing_else_is() {
        let waits = || LedgerError::Refused { refusal: svcflow_model::Refusal::unavailable("sealed"), tx_id: None };
        let lost = || LedgerError::Invalidated { tx_id: "t".into(), code: "MVCC_READ_CONFLICT".into(), conflict: true };
        let ledger = Scripted { answers: std::sync::Mutex::new(vec![lost(), waits()]), submits: AtomicU32::new(0) };
        let (_, c): (serde_json::Value, _) = invoke(&ledger, "u", &put_record()).await.expect("sent again until it commits");
        assert_eq!((ledger.submits.load(Ordering::SeqCst), c.tx_id.as_str()), (3, "t2"));
        // A conflict refusal is the caller's to see at once.
        let refused = LedgerError::Refused { refusal: svcflow_model::Refusal::conflict("closed"), tx_id: None };
        let ledger = Scripted { answers: std::sync::Mutex::new(vec![refused]), submits: AtomicU32::new(0) };
        assert!(invoke::<serde_json::Value>(&ledger, "u", &put_record()).await.is_err());
        assert_eq!(ledger.submits.load(Ordering::SeqCst), 1);
    }

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
