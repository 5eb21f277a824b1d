//! Fabric access as the caller: every proposal is signed with the calling user's own key from
//! the org's wallet, sent through the Fabric Gateway service of the org's peers.
//!
//! Peers are tried in the configured order. A peer that is unreachable (gRPC UNAVAILABLE, or no
//! connection at all) before anything reached the orderer is skipped for the next one, and the
//! whole list is retried a few times with backoff; a failure after the transaction went to the
//! orderer is reported with its tx id and never re-sent (it may still commit).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fabric_gateway::pb::protos::TxValidationCode;
use fabric_gateway::{Gateway, GatewayError, Identity};
use futures_util::StreamExt;
use prost::Message;
use svcflow_model::call::PhaseRef;
use svcflow_model::phase::org_set;
use svcflow_model::{Call, Refusal};
use tonic_gw::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic_gw::Code;

use crate::config;
use crate::ledger::{BoxFuture, Committed, EventStream, Ledger, LedgerError, LedgerEvent, Stage, SubmitOptions};
use crate::signer::OpensslSigner;
use crate::startup::StartError;
use crate::wallet::{UserIdentity, Wallet};

struct PeerConn {
    address: String,
    channel: Channel,
}

struct Signer {
    identity: UserIdentity,
    signer: Arc<OpensslSigner>,
}

pub struct Fabric {
    peers: Vec<PeerConn>,
    signers: HashMap<String, Signer>,
    channel: String,
    chaincode: String,
    timeout: Duration,
    attempts: u32,
}

/// The gRPC status of a failed call, when it got as far as one.
fn status_of(e: &GatewayError) -> Option<&tonic_gw::Status> {
    match e {
        GatewayError::Endorse(t) | GatewayError::Submit(t) | GatewayError::CommitStatus(t) | GatewayError::Evaluate(t) => Some(&t.status),
        _ => None,
    }
}

/// True when the peer could not be reached at all, so another peer may be asked.
fn unreachable(e: &GatewayError) -> bool {
    match e {
        GatewayError::Connection(_) => true,
        _ => status_of(e).is_some_and(|s| {
            // A transport failure shows as UNAVAILABLE, or as UNKNOWN whose source is tonic's
            // transport error (a connection that could not be made or broke).
            s.code() == Code::Unavailable
                || (s.code() == Code::Unknown && std::error::Error::source(s).is_some_and(|e| e.is::<tonic_gw::transport::Error>()))
        }),
    }
}

/// The full text of a failed call: the status message and every peer's detail.
fn describe(e: &GatewayError) -> String {
    match e {
        GatewayError::Endorse(t) | GatewayError::Submit(t) | GatewayError::CommitStatus(t) | GatewayError::Evaluate(t) => {
            let mut s = t.status.message().to_owned();
            for d in &t.details {
                s.push('\n');
                s.push_str(&d.message);
            }
            s
        }
        other => other.to_string(),
    }
}

fn tx_id_of(e: &GatewayError) -> Option<String> {
    match e {
        GatewayError::Endorse(t) | GatewayError::Submit(t) | GatewayError::CommitStatus(t) | GatewayError::Evaluate(t) => {
            Some(t.transaction_id.clone()).filter(|s| !s.is_empty())
        }
        GatewayError::Commit { transaction_id, .. } => Some(transaction_id.clone()),
        _ => None,
    }
}

/// A Fabric failure at `stage` as a [`LedgerError`]: a refusal when an endorser's detail is one of
/// the chaincode's (by its wire code), unavailable when no peer could be reached or answered in
/// time, invalidated at commit, failed otherwise.
pub fn map_error(stage: Stage, e: &GatewayError) -> LedgerError {
    let tx_id = tx_id_of(e);
    match e {
        GatewayError::Commit { transaction_id, code } => LedgerError::Invalidated {
            tx_id: transaction_id.clone(),
            code: code.as_str_name().to_owned(),
            conflict: matches!(code, TxValidationCode::MvccReadConflict | TxValidationCode::PhantomReadConflict),
        },
        _ if unreachable(e) => LedgerError::Unavailable { stage, tx_id, detail: format!("no peer reachable: {}", describe(e)) },
        _ if status_of(e).is_some_and(|s| s.code() == Code::DeadlineExceeded) => {
            LedgerError::Unavailable { stage, tx_id, detail: format!("Fabric did not answer in time: {}", describe(e)) }
        }
        GatewayError::Endorse(t) | GatewayError::Evaluate(t) => match t.details.iter().find_map(|d| Refusal::from_gateway_detail(&d.message)) {
            Some(refusal) => LedgerError::Refused { refusal, tx_id },
            // Not the chaincode's answer: an endorsing org with no peer up (no endorsement plan),
            // endorsers that disagree (one a block behind), a peer that failed. Nothing was
            // ordered; it is the network's state, worth a retry.
            None if stage == Stage::Endorse => LedgerError::Unavailable { stage, tx_id, detail: format!("endorsement failed: {}", describe(e)) },
            None => LedgerError::Failed { stage, tx_id, detail: describe(e) },
        },
        other => LedgerError::Failed { stage, tx_id, detail: describe(other) },
    }
}

fn argument(call: &Call) -> Result<String, LedgerError> {
    call.argument().map_err(|r| LedgerError::Refused { refusal: r, tx_id: None })
}

fn transient(call: &Call) -> Result<HashMap<String, Vec<u8>>, LedgerError> {
    call.transient().map_err(|r| LedgerError::Refused { refusal: r, tx_id: None })
}

impl Fabric {
    /// Prepares connections (lazily: a peer that is down at start is simply skipped until it
    /// is back) and every wallet user's signer.
    pub fn new(cfg: &config::Fabric, wallet: &Wallet) -> Result<Self, StartError> {
        let mut peers = Vec::new();
        for (i, p) in cfg.peers.iter().enumerate() {
            let peer_err = |field, value: String, reason: String| StartError::Peer { peer: i, field, value, reason };
            let ca = std::fs::read(&p.tls_ca).map_err(|e| peer_err("tls_ca", p.tls_ca.display().to_string(), e.to_string()))?;
            let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
            if let Some(name) = &p.server_name {
                tls = tls.domain_name(name.clone());
            }
            let endpoint = Endpoint::from_shared(format!("https://{}", p.address))
                .map_err(|e| peer_err("address", p.address.clone(), e.to_string()))?
                .tls_config(tls)
                .map_err(|e| peer_err("tls_ca", p.tls_ca.display().to_string(), e.to_string()))?
                .connect_timeout(Duration::from_secs(3))
                .tcp_nodelay(true)
                .http2_keep_alive_interval(Duration::from_secs(30))
                .keep_alive_while_idle(true);
            peers.push(PeerConn { address: p.address.clone(), channel: endpoint.connect_lazy() });
        }
        let mut signers = HashMap::new();
        for user in wallet.users() {
            let pem = std::fs::read(&user.key_path).map_err(|e| StartError::wallet(&user.key_path, e))?;
            let signer = OpensslSigner::from_pem(&pem).map_err(|e| StartError::wallet(&user.key_path, e))?;
            signers.insert(user.name.clone(), Signer { identity: user.clone(), signer: Arc::new(signer) });
        }
        Ok(Self {
            peers,
            signers,
            channel: cfg.channel.clone(),
            chaincode: cfg.chaincode.clone(),
            timeout: Duration::from_millis(cfg.timeout_ms),
            attempts: 3,
        })
    }

    fn gateway(&self, user: &str, peer: &PeerConn, stage: Stage) -> Result<Gateway, LedgerError> {
        let s = self.signers.get(user).ok_or_else(|| LedgerError::NoSigner(user.to_owned()))?;
        Gateway::builder(Identity::new(s.identity.msp_id.clone(), s.identity.cert_pem.clone()), peer.channel.clone())
            .with_sign(s.signer.clone())
            .with_evaluate_timeout(self.timeout)
            .with_endorse_timeout(self.timeout)
            .with_submit_timeout(self.timeout)
            .with_commit_status_timeout(self.timeout)
            .connect()
            .map_err(|e| map_error(stage, &e))
    }

    /// Runs `call` against each peer in order until one is reachable, `attempts` rounds; the
    /// answer and the address of the peer that gave it.
    async fn with_failover<T, F, Fut>(&self, user: &str, what: &str, stage: Stage, call: F) -> Result<(T, &str), LedgerError>
    where
        F: Fn(Gateway) -> Fut,
        Fut: std::future::Future<Output = Result<T, GatewayError>>,
    {
        let mut last = None;
        for round in 0..self.attempts {
            if round > 0 {
                tokio::time::sleep(Duration::from_millis(200 << round)).await;
            }
            for peer in &self.peers {
                let gw = self.gateway(user, peer, stage)?;
                match tokio::time::timeout(self.timeout + Duration::from_secs(1), call(gw)).await {
                    Ok(Ok(v)) => return Ok((v, &peer.address)),
                    Ok(Err(e)) if unreachable(&e) => {
                        tracing::warn!(peer = %peer.address, call = what, error = %describe(&e), "peer unreachable, trying the next");
                        last = Some(map_error(stage, &e));
                    }
                    Ok(Err(e)) => return Err(map_error(stage, &e)),
                    Err(_) => {
                        tracing::warn!(peer = %peer.address, call = what, "peer did not answer in time, trying the next");
                        let detail = format!("{what}: {} did not answer in {:?}", peer.address, self.timeout);
                        last = Some(LedgerError::Unavailable { stage, tx_id: None, detail });
                    }
                }
            }
        }
        Err(last.unwrap_or_else(|| LedgerError::Unavailable { stage, tx_id: None, detail: "no peer configured".into() }))
    }

    /// The orgs whose peers endorse a private write to phase `at`: its participants'. Fabric's
    /// gateway would let only orgs that are members of every collection the write touches endorse
    /// it, and no org is a member of another org's implicit collection. Read for every write, not
    /// cached: a stale list could hand the private input to the peer of an org that just left.
    async fn participant_orgs(&self, user: &str, at: &PhaseRef) -> Result<Vec<String>, LedgerError> {
        let phase = crate::migration::phase(self, user, &at.project, &at.phase).await?;
        Ok(org_set(&phase.participants).into_iter().map(str::to_owned).collect())
    }

    /// A query of any chaincode on the channel (qscc too), returning its raw answer.
    async fn evaluate_on(&self, user: &str, chaincode: &str, func: &str, args: Vec<String>, stage: Stage) -> Result<Vec<u8>, LedgerError> {
        let channel = self.channel.clone();
        let (answer, _) = self
            .with_failover(user, func, stage, |gw| {
                let contract = gw.get_network(&channel).get_contract(chaincode);
                let args = args.clone();
                async move { contract.new_proposal(func).with_arguments(args).build()?.evaluate().await }
            })
            .await?;
        Ok(answer)
    }

    /// A transaction: endorsed (failing over between peers), ordered, and waited for until it
    /// is committed valid. The call's private input goes in the transient map only.
    async fn submit_call(&self, user: &str, call: &Call, opts: SubmitOptions<'_>) -> Result<Committed, LedgerError> {
        let transient = transient(call)?;
        let participants;
        let orgs = match call.private_phase() {
            Some(at) if opts.endorsers.is_empty() => {
                participants = self.participant_orgs(user, at).await?;
                &participants[..]
            }
            _ => opts.endorsers,
        };
        let (chaincode, channel) = (self.chaincode.clone(), self.channel.clone());
        let (func, arg) = (call.name(), argument(call)?);
        let arg = arg.as_str();
        // Endorsement is the stage that may move to another peer: nothing has been ordered yet.
        let (tx, peer) = self
            .with_failover(user, func, Stage::Endorse, |gw| {
                let contract = gw.get_network(&channel).get_contract(&chaincode);
                let transient = transient.clone();
                async move {
                    let mut proposal = contract.new_proposal(func).with_arguments([arg]).with_transient(transient);
                    if !orgs.is_empty() {
                        proposal = proposal.with_endorsing_organizations(orgs.iter().cloned());
                    }
                    proposal.build()?.endorse().await
                }
            })
            .await?;
        let tx_id = tx.transaction_id().to_owned();
        if let Some(note) = opts.before_order {
            note(&tx_id).map_err(|detail| LedgerError::Failed { stage: Stage::Endorse, tx_id: Some(tx_id.clone()), detail })?;
        }
        let result = tx.result().to_vec();
        // Past endorsement the transaction may be ordered whatever the error says; only an
        // invalid commit status is a certain failure.
        let late = |stage: Stage, detail: String| LedgerError::Unavailable { stage, tx_id: Some(tx_id.clone()), detail };
        let with_tx = |e: LedgerError| match e {
            LedgerError::Refused { refusal, .. } => {
                LedgerError::Failed { stage: Stage::Submit, tx_id: Some(tx_id.clone()), detail: refusal.to_string() }
            }
            LedgerError::Unavailable { stage, detail, .. } => late(stage, detail),
            LedgerError::Failed { stage, detail, .. } => LedgerError::Failed { stage, tx_id: Some(tx_id.clone()), detail },
            other => other,
        };
        let commit = tokio::time::timeout(self.timeout + Duration::from_secs(1), tx.submit())
            .await
            .map_err(|_| late(Stage::Submit, format!("{func}: the orderer did not accept the transaction in time; it may still commit")))?
            .map_err(|e| with_tx(map_error(Stage::Submit, &e)))?;
        let status = tokio::time::timeout(self.timeout + Duration::from_secs(1), commit.status())
            .await
            .map_err(|_| late(Stage::CommitStatus, format!("{func}: no commit status in time; the transaction may still commit")))?
            .map_err(|e| with_tx(map_error(Stage::CommitStatus, &e)))?;
        if !status.successful {
            return Err(map_error(Stage::CommitStatus, &GatewayError::Commit { transaction_id: tx_id.clone(), code: status.code }));
        }
        // The request's own log line carries the tx id; this one is for following a transaction.
        tracing::debug!(tx_id = %tx_id, function = func, %peer, block = status.block_number, "committed");
        Ok(Committed { result, tx_id, block_number: status.block_number })
    }

    /// The number of the block holding transaction `tx_id` (from the query system chaincode).
    async fn block_number(&self, user: &str, tx_id: &str) -> Result<u64, LedgerError> {
        let raw = self.evaluate_on(user, "qscc", "GetBlockByTxID", vec![self.channel.clone(), tx_id.to_owned()], Stage::Block).await?;
        let unreadable = |detail: String| LedgerError::Unreadable { what: "GetBlockByTxID".into(), tx_id: Some(tx_id.to_owned()), detail };
        let block = fabric_gateway::pb::common::Block::decode(raw.as_slice()).map_err(|e| unreadable(e.to_string()))?;
        block.header.map(|h| h.number).ok_or_else(|| unreadable("a block without a header".into()))
    }

    /// A transaction's validation from the query system chaincode: `None` when the peer answers
    /// that no block holds it.
    async fn transaction_status(&self, user: &str, tx_id: &str) -> Result<Option<bool>, LedgerError> {
        let raw = match self.evaluate_on(user, "qscc", "GetTransactionByID", vec![self.channel.clone(), tx_id.to_owned()], Stage::Block).await {
            Ok(raw) => raw,
            // The peer answered, and without the transaction: qscc has no other failure for a
            // well-formed id on a channel the peer is on. Unreachable peers stay errors.
            Err(LedgerError::Failed { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let unreadable = |detail: String| LedgerError::Unreadable { what: "GetTransactionByID".into(), tx_id: Some(tx_id.to_owned()), detail };
        let t = fabric_gateway::pb::protos::ProcessedTransaction::decode(raw.as_slice()).map_err(|e| unreadable(e.to_string()))?;
        Ok(Some(t.validation_code == TxValidationCode::Valid as i32))
    }

    /// Chaincode events from `start_block` on (or from now), read as `user`.
    async fn event_stream(&self, user: &str, start_block: Option<u64>, after_tx: Option<String>) -> Result<EventStream, LedgerError> {
        let (chaincode, channel) = (self.chaincode.clone(), self.channel.clone());
        let (events, _) = self
            .with_failover(user, "ChaincodeEvents", Stage::Events, |gw| {
                let mut req = gw.get_network(&channel).new_chaincode_events_request(&chaincode);
                if let Some(b) = start_block {
                    req = req.with_start_block(b);
                }
                if let Some(t) = after_tx.clone() {
                    req = req.with_after_transaction_id(t);
                }
                async move { req.build().events().await }
            })
            .await?;
        Ok(Box::pin(events.map(|e| LedgerEvent { name: e.event_name, payload: e.payload, tx_id: e.transaction_id, block_number: e.block_number })))
    }
}

impl Ledger for Fabric {
    fn evaluate<'a>(&'a self, user: &'a str, call: &'a Call) -> BoxFuture<'a, Result<Vec<u8>, LedgerError>> {
        Box::pin(async move { self.evaluate_on(user, &self.chaincode, call.name(), vec![argument(call)?], Stage::Evaluate).await })
    }

    fn submit_with<'a>(&'a self, user: &'a str, call: &'a Call, opts: SubmitOptions<'a>) -> BoxFuture<'a, Result<Committed, LedgerError>> {
        Box::pin(self.submit_call(user, call, opts))
    }

    fn tx_status<'a>(&'a self, user: &'a str, tx_id: &'a str) -> BoxFuture<'a, Result<Option<bool>, LedgerError>> {
        Box::pin(self.transaction_status(user, tx_id))
    }

    fn block_of<'a>(&'a self, user: &'a str, tx_id: &'a str) -> BoxFuture<'a, Result<u64, LedgerError>> {
        Box::pin(self.block_number(user, tx_id))
    }

    fn events<'a>(&'a self, user: &'a str, start_block: Option<u64>, after_tx: Option<String>) -> BoxFuture<'a, Result<EventStream, LedgerError>> {
        Box::pin(self.event_stream(user, start_block, after_tx))
    }

    fn peers(&self) -> Vec<String> {
        self.peers.iter().map(|p| p.address.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric_gateway::TransactionError;

    fn endorse_err(code: Code, msg: &str) -> GatewayError {
        endorse_err_with(code, msg, &[])
    }

    fn endorse_err_with(code: Code, msg: &str, details: &[&str]) -> GatewayError {
        let details = details
            .iter()
            .map(|m| fabric_gateway::pb::gateway::ErrorDetail { address: "127.0.0.1:7051".into(), msp_id: "Org1MSP".into(), message: (*m).into() })
            .collect();
        GatewayError::Endorse(Box::new(TransactionError { transaction_id: "tx1".into(), status: tonic_gw::Status::new(code, msg), details }))
    }

    #[test]
    fn failures_map_to_http_errors_with_the_tx_id() {
        // As Fabric's gateway reports a chaincode refusal: one detail per endorser asked.
        let e = map_error(
            Stage::Endorse,
            &endorse_err_with(
                Code::Aborted,
                "failed to endorse transaction, see attached details for more info",
                &["chaincode response 403, forbidden: not a participant of phase P"],
            ),
        );
        assert_eq!(e.refusal().map(|r| r.kind), Some(svcflow_model::ErrorKind::Forbidden));
        assert_eq!((e.to_string().as_str(), e.tx_id()), ("not a participant of phase P", Some("tx1")));
        // A peer's own failure (no chaincode response of ours) is no refusal: at endorsement it is
        // the network's state (503, retry), nothing having been ordered.
        let e =
            map_error(Stage::Endorse, &endorse_err_with(Code::Aborted, "failed", &["private data matching public hash version is not available"]));
        assert!(matches!(e, LedgerError::Unavailable { stage: Stage::Endorse, .. }) && !e.maybe_committed(), "{e:?}");
        let e = map_error(Stage::Endorse, &endorse_err(Code::FailedPrecondition, "no peers available to satisfy the endorsement policy"));
        assert!(matches!(e, LedgerError::Unavailable { stage: Stage::Endorse, .. }), "{e:?}");
        let e = map_error(Stage::Evaluate, &endorse_err(Code::Aborted, "failed"));
        assert!(matches!(e, LedgerError::Failed { stage: Stage::Evaluate, .. }), "{e:?}");
        let e = map_error(Stage::Endorse, &endorse_err(Code::Unavailable, "connection refused"));
        assert!(matches!(e, LedgerError::Unavailable { stage: Stage::Endorse, .. }), "{e:?}");
        assert!(!e.maybe_committed());
        assert!(unreachable(&endorse_err(Code::Unavailable, "x")));
        assert!(!unreachable(&endorse_err(Code::Aborted, "x")));
        let e = map_error(Stage::Submit, &endorse_err(Code::DeadlineExceeded, "slow"));
        assert!(matches!(e, LedgerError::Unavailable { .. }) && e.maybe_committed(), "{e:?}");
        let e = map_error(Stage::CommitStatus, &GatewayError::Commit { transaction_id: "t2".into(), code: TxValidationCode::MvccReadConflict });
        assert!(matches!(e, LedgerError::Invalidated { conflict: true, .. }), "{e:?}");
        assert_eq!(e.tx_id(), Some("t2"));
    }
}
