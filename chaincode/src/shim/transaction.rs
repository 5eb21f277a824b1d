//! One transaction: decode the proposal, run the [`Contract`] on a [`TxStub`], answer COMPLETED
//! with the payload or the refusal's status, and the chaincode event.

use std::future::Future;
use std::sync::Arc;

use fabric_shim_protos::common::{ChannelHeader, Header, SignatureHeader};
use fabric_shim_protos::msp::SerializedIdentity;
use fabric_shim_protos::peer::chaincode_message::Type as Msg;
use fabric_shim_protos::peer::{ChaincodeEvent, ChaincodeInput, ChaincodeMessage, ChaincodeProposalPayload, Proposal, Response};
use prost::Message;

use super::ledger::TxStub;
use super::stream::{decode, msg, Conn};
use crate::error::{ContractError, Result};

/// What the shim runs: the one way in to the contract. It takes the concrete [`TxStub`], not any
/// `Stub`: each transaction runs in its own task, and only for a concrete stub can the compiler
/// see that the contract's future is `Send`.
pub trait Contract: Send + Sync + 'static {
    /// Runs `function` with its argument (JSON, `{}` when none was given) on `stub`; the answer is
    /// the response's payload. An error refuses the transaction: the peer endorses none of its writes.
    fn run(&self, stub: &TxStub, function: &str, arg: &[u8]) -> impl Future<Output = Result<Vec<u8>>> + Send;
}

/// Answers one TRANSACTION (or INIT) message of the peer.
pub(super) async fn run<C: Contract>(conn: Conn, m: ChaincodeMessage, chaincode_id: String, contract: Arc<C>) {
    let started = std::time::Instant::now();
    let (stub, args) = match decode_proposal(conn.clone(), &m) {
        Ok(s) => s,
        Err(e) => {
            let resp = Response { status: e.kind().status(), message: e.to_string(), payload: Vec::new() };
            conn.send(msg(Msg::Completed, resp.encode_to_vec(), &m.channel_id, &m.txid)).await;
            return;
        }
    };
    let func = args.first().map(|a| String::from_utf8_lossy(a).into_owned()).unwrap_or_default();
    let result = match function_and_arg(&args) {
        Ok((function, arg)) => contract.run(&stub, &function, arg).await,
        Err(e) => Err(e),
    };
    let resp = match &result {
        Ok(payload) => Response { status: 200, message: String::new(), payload: payload.clone() },
        // The status carries the refusal's kind, which Fabric's gateway reports as
        // `chaincode response <status>, ...` (a 500 without payload it would take for a peer
        // failure and retry elsewhere).
        Err(e) => Response { status: e.kind().status(), message: e.to_string(), payload: Vec::new() },
    };
    match &result {
        Ok(_) => {
            let (calls, waited_us) = stub.ledger_calls();
            tracing::info!(
                function = %func,
                elapsed_us = started.elapsed().as_micros() as u64,
                ledger_calls = calls,
                ledger_us = waited_us,
                "transaction done"
            )
        }
        Err(e) => tracing::info!(function = %func, error = %e, "transaction refused"),
    }
    let mut done = msg(Msg::Completed, resp.encode_to_vec(), &m.channel_id, &m.txid);
    if result.is_ok() {
        if let Some((name, payload)) = stub.take_event() {
            done.chaincode_event = Some(ChaincodeEvent { chaincode_id, tx_id: m.txid.clone(), event_name: name, payload });
        }
    }
    conn.send(done).await;
}

/// The transaction's stub, and its arguments as Fabric passes them: `[function, json]`.
fn decode_proposal(conn: Conn, m: &ChaincodeMessage) -> Result<(TxStub, Vec<Vec<u8>>)> {
    let input: ChaincodeInput = decode("chaincode input", &m.payload)?;
    let signed = m.proposal.as_ref().ok_or_else(|| ContractError::bad("transaction without a signed proposal"))?;
    let proposal: Proposal = decode("proposal", &signed.proposal_bytes)?;
    let header: Header = decode("proposal header", &proposal.header)?;
    let chdr: ChannelHeader = decode("channel header", &header.channel_header)?;
    let shdr: SignatureHeader = decode("signature header", &header.signature_header)?;
    let sid: SerializedIdentity = decode("creator identity", &shdr.creator)?;
    let payload: ChaincodeProposalPayload = decode("proposal payload", &proposal.payload)?;
    let creator = crate::identity::from_pem(&sid.mspid, &sid.id_bytes)?;
    let timestamp = chdr.timestamp.map(rfc3339).unwrap_or_default();
    Ok((TxStub::new(conn, &m.channel_id, &m.txid, timestamp, creator, payload.transient_map), input.args))
}

/// Fabric's arguments `[function, json]`: every function takes one JSON argument (`{}` when none
/// is given).
pub fn function_and_arg(args: &[Vec<u8>]) -> Result<(String, &[u8])> {
    let func = args.first().map(|f| String::from_utf8_lossy(f).into_owned()).ok_or_else(|| ContractError::bad("no function name given"))?;
    if args.len() > 2 {
        return Err(ContractError::bad(format!("{func} takes one JSON argument, got {}", args.len() - 1)));
    }
    Ok((func, args.get(1).map(Vec::as_slice).unwrap_or(b"{}")))
}

fn rfc3339(t: prost_types::Timestamp) -> String {
    svcflow_model::time::rfc3339(t.seconds, Some(u32::try_from(t.nanos / 1_000_000).unwrap_or(0)))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::stub::Stub;
    use fabric_shim_protos::peer::SignedProposal;
    use tokio::sync::mpsc;

    /// A TRANSACTION message of `args`, signed by user1 of Org1.
    pub(in crate::shim) fn transaction(channel: &str, txid: &str, args: &[&str]) -> ChaincodeMessage {
        let creator = SerializedIdentity { mspid: "Org1MSP".into(), id_bytes: crate::identity::tests::USER1_ORG1.as_bytes().to_vec() };
        let header = Header {
            channel_header: ChannelHeader { timestamp: Some(prost_types::Timestamp { seconds: 1_795_478_400, nanos: 0 }), ..Default::default() }
                .encode_to_vec(),
            signature_header: SignatureHeader { creator: creator.encode_to_vec(), ..Default::default() }.encode_to_vec(),
        };
        let input = ChaincodeInput { args: args.iter().map(|a| a.as_bytes().to_vec()).collect(), ..Default::default() };
        let payload = ChaincodeProposalPayload { input: Vec::new(), transient_map: Default::default() };
        let p = Proposal { header: header.encode_to_vec(), payload: payload.encode_to_vec(), ..Default::default() };
        let mut m = msg(Msg::Transaction, input.encode_to_vec(), channel, txid);
        m.proposal = Some(SignedProposal { proposal_bytes: p.encode_to_vec(), signature: Vec::new() });
        m
    }

    /// `Get {"id": ...}` answers the world state's value under the id, or refuses with not_found;
    /// `Emit` sets an event and answers the caller's MSP and the transaction's time.
    pub(in crate::shim) struct Fake;

    impl Contract for Fake {
        async fn run(&self, stub: &TxStub, function: &str, arg: &[u8]) -> Result<Vec<u8>> {
            match function {
                "Get" => {
                    let arg: serde_json::Value = serde_json::from_slice(arg).map_err(|e| ContractError::bad(e.to_string()))?;
                    let id = arg["id"].as_str().unwrap_or_default();
                    stub.get_state(id).await?.ok_or_else(|| ContractError::not_found(format!("project {id}")))
                }
                "Emit" => {
                    stub.set_event("Emitted", arg.to_vec());
                    Ok(format!("{} {}", stub.creator().msp_id, stub.tx_timestamp()).into_bytes())
                }
                _ => Err(ContractError::bad(format!("unknown function {function}"))),
            }
        }
    }

    /// Runs one transaction without a peer; its COMPLETED message.
    async fn complete(m: ChaincodeMessage) -> ChaincodeMessage {
        let (out, mut from_cc) = mpsc::channel(4);
        run(Conn::new(out, None), m, "svcflow_1.0:abc".into(), Arc::new(Fake)).await;
        let done = from_cc.recv().await.expect("an answer").expect("not a gRPC status");
        assert_eq!(done.r#type, Msg::Completed as i32);
        done
    }

    #[tokio::test]
    async fn runs_the_contract_and_answers_its_payload_and_event() {
        let done = complete(transaction("ch", "tx1", &["Emit", r#"{"a":1}"#])).await;
        let resp = Response::decode(done.payload.as_slice()).expect("a response");
        assert_eq!((resp.status, resp.payload.as_slice()), (200, b"Org1MSP 2026-11-24T00:00:00.000Z".as_slice()));
        let event = done.chaincode_event.expect("the event");
        assert_eq!((event.event_name.as_str(), event.tx_id.as_str(), event.chaincode_id.as_str()), ("Emitted", "tx1", "svcflow_1.0:abc"));
        assert_eq!(event.payload, br#"{"a":1}"#);
    }

    #[tokio::test]
    async fn answers_a_refusal_with_its_status_and_no_event() {
        for (args, status, message) in [
            (&["Nope", "{}"][..], 400, "bad_request: unknown function Nope"),
            (&[][..], 400, "bad_request: no function name given"),
            (&["Emit", "{}", "{}"][..], 400, "bad_request: Emit takes one JSON argument, got 2"),
        ] {
            let done = complete(transaction("ch", "tx1", args)).await;
            let resp = Response::decode(done.payload.as_slice()).expect("a response");
            assert_eq!((resp.status, resp.message.as_str()), (status, message));
            assert!(done.chaincode_event.is_none());
        }
        let mut unsigned = transaction("ch", "tx2", &["Emit", "{}"]);
        unsigned.proposal = None;
        let resp = Response::decode(complete(unsigned).await.payload.as_slice()).expect("a response");
        assert_eq!((resp.status, resp.message.as_str()), (400, "bad_request: transaction without a signed proposal"));
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(prost_types::Timestamp { seconds: 0, nanos: 0 }), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(prost_types::Timestamp { seconds: 1_795_478_400, nanos: 5_000_000 }), "2026-11-24T00:00:00.005Z");
        assert_eq!(rfc3339(prost_types::Timestamp { seconds: 951_782_400, nanos: 0 }), "2000-02-29T00:00:00.000Z");
    }
}
