//! Our chaincode shim: a chaincode-as-a-service gRPC server speaking Fabric's chaincode protocol.
//!
//! The peer dials us and opens `Chaincode.Connect`. On that stream we REGISTER our chaincode id,
//! wait for REGISTERED and READY, then serve TRANSACTION messages, each in its own task: ledger
//! calls go out tagged with (channel, tx id) and the peer's RESPONSE/ERROR is routed back to the
//! task that asked. A transaction ends with COMPLETED carrying a `Response` (200 or 500 + reason)
//! and the chaincode event.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::Instrument;

use fabric_shim_protos::common::{ChannelHeader, Header, SignatureHeader};
use fabric_shim_protos::msp::SerializedIdentity;
use fabric_shim_protos::peer::chaincode_message::Type as Msg;
use fabric_shim_protos::peer::chaincode_server::{Chaincode, ChaincodeServer};
use fabric_shim_protos::peer::{
    ChaincodeEvent, ChaincodeId, ChaincodeInput, ChaincodeMessage, ChaincodeProposalPayload, DelState, GetState, GetStateByRange, PutState,
    QueryMetadata, QueryResponse, QueryResponseMetadata, QueryStateClose, QueryStateNext, Response,
};
use fabric_shim_protos::queryresult::Kv;
use prost::Message;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Status, Streaming};

use crate::error::{ContractError, Result};
use crate::identity::Identity;
use crate::stub::{KvPage, Stub};

/// Fabric's own default limit for chaincode messages.
pub const MAX_MESSAGE_BYTES: usize = 100 * 1024 * 1024;
/// Private values per range request (records are at most 1 MiB: a chunk stays far below
/// [`MAX_MESSAGE_BYTES`]).
const PRIVATE_CHUNK: usize = 32;

/// How the server is started (from `CHAINCODE_*` environment variables).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub chaincode_id: String,
    pub address: SocketAddr,
    pub tls: Option<TlsFiles>,
    /// The MSP of the peers this server serves (one server per org): lets the contract tell a
    /// caller who asked a peer outside a phase why that peer holds none of its data.
    pub peer_msp_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
    /// When set, peers must present a client certificate issued by this CA.
    pub client_ca: Option<std::path::PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Config(String),
    #[error("reading {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

impl ServerConfig {
    /// Reads `CHAINCODE_ID`, `CHAINCODE_SERVER_ADDRESS` and, optionally, `CHAINCODE_TLS_CERT`,
    /// `CHAINCODE_TLS_KEY`, `CHAINCODE_TLS_CLIENT_CA`, `CHAINCODE_PEER_MSP_ID`; names the variable
    /// that is wrong.
    pub fn from_env() -> std::result::Result<Self, ServeError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let chaincode_id = var("CHAINCODE_ID").ok_or_else(|| ServeError::Config("CHAINCODE_ID is not set (the package id, label:hash)".into()))?;
        let addr =
            var("CHAINCODE_SERVER_ADDRESS").ok_or_else(|| ServeError::Config("CHAINCODE_SERVER_ADDRESS is not set (e.g. 127.0.0.1:7100)".into()))?;
        let address = addr.parse().map_err(|e| ServeError::Config(format!("CHAINCODE_SERVER_ADDRESS={addr:?} is not ip:port: {e}")))?;
        let tls = match (var("CHAINCODE_TLS_CERT"), var("CHAINCODE_TLS_KEY")) {
            (Some(cert), Some(key)) => {
                Some(TlsFiles { cert: cert.into(), key: key.into(), client_ca: var("CHAINCODE_TLS_CLIENT_CA").map(Into::into) })
            }
            (None, None) => None,
            _ => return Err(ServeError::Config("CHAINCODE_TLS_CERT and CHAINCODE_TLS_KEY go together".into())),
        };
        Ok(Self { chaincode_id, address, tls, peer_msp_id: var("CHAINCODE_PEER_MSP_ID") })
    }
}

fn read(path: &std::path::Path) -> std::result::Result<Vec<u8>, ServeError> {
    std::fs::read(path).map_err(|source| ServeError::Read { path: path.display().to_string(), source })
}

/// Serves until `shutdown` resolves; then ends every peer stream and returns within a few seconds.
pub async fn serve(cfg: ServerConfig, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::result::Result<(), ServeError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let service = Service { chaincode_id: cfg.chaincode_id.clone(), stop: stop_rx, peer_msp_id: cfg.peer_msp_id.as_deref().map(Arc::from) };
    let mut builder = tonic::transport::Server::builder().tcp_nodelay(true).http2_keepalive_interval(Some(Duration::from_secs(60)));
    if let Some(tls) = &cfg.tls {
        let identity = tonic::transport::Identity::from_pem(read(&tls.cert)?, read(&tls.key)?);
        let mut t = tonic::transport::ServerTlsConfig::new().identity(identity);
        if let Some(ca) = &tls.client_ca {
            t = t.client_ca_root(tonic::transport::Certificate::from_pem(read(ca)?));
        }
        builder = builder.tls_config(t)?;
    }
    tracing::info!(chaincode_id = %cfg.chaincode_id, address = %cfg.address, tls = cfg.tls.is_some(), "chaincode server listening");
    let svc = ChaincodeServer::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES).max_encoding_message_size(MAX_MESSAGE_BYTES);
    builder
        .add_service(svc)
        .serve_with_shutdown(cfg.address, async move {
            shutdown.await;
            tracing::info!("stopping: closing peer streams");
            let _ = stop_tx.send(true);
        })
        .await?;
    Ok(())
}

struct Service {
    chaincode_id: String,
    stop: watch::Receiver<bool>,
    peer_msp_id: Option<Arc<str>>,
}

#[tonic::async_trait]
impl Chaincode for Service {
    type ConnectStream = ReceiverStream<std::result::Result<ChaincodeMessage, Status>>;

    async fn connect(&self, request: Request<Streaming<ChaincodeMessage>>) -> std::result::Result<tonic::Response<Self::ConnectStream>, Status> {
        let peer = request.remote_addr().map(|a| a.to_string()).unwrap_or_else(|| "?".into());
        let (out_tx, out_rx) = mpsc::channel(64);
        let conn = Conn { out: out_tx, pending: Arc::new(Mutex::new(HashMap::new())), peer_msp_id: self.peer_msp_id.clone() };
        tokio::spawn(run_stream(conn, request.into_inner(), self.chaincode_id.clone(), self.stop.clone(), peer));
        Ok(tonic::Response::new(ReceiverStream::new(out_rx)))
    }
}

/// Replies of the peer to our ledger calls, by (channel, tx id).
type Pending = Arc<Mutex<HashMap<(String, String), oneshot::Sender<ChaincodeMessage>>>>;

#[derive(Clone)]
struct Conn {
    out: mpsc::Sender<std::result::Result<ChaincodeMessage, Status>>,
    pending: Pending,
    peer_msp_id: Option<Arc<str>>,
}

fn msg(t: Msg, payload: Vec<u8>, channel: &str, txid: &str) -> ChaincodeMessage {
    ChaincodeMessage { r#type: t as i32, payload, txid: txid.to_owned(), channel_id: channel.to_owned(), ..Default::default() }
}

async fn run_stream(conn: Conn, mut inbound: Streaming<ChaincodeMessage>, chaincode_id: String, mut stop: watch::Receiver<bool>, peer: String) {
    let register = ChaincodeId { name: chaincode_id.clone(), ..Default::default() }.encode_to_vec();
    if conn.out.send(Ok(msg(Msg::Register, register, "", ""))).await.is_err() {
        return;
    }
    let mut registered = false;
    loop {
        let next = tokio::select! {
            m = inbound.message() => m,
            _ = stop.changed() => { tracing::info!(%peer, "closing the stream of a peer"); return; }
        };
        let m = match next {
            Ok(Some(m)) => m,
            Ok(None) => {
                if registered {
                    tracing::info!(%peer, "peer closed the stream");
                } else {
                    tracing::error!(%peer, %chaincode_id, "peer closed the stream before accepting our registration: is CHAINCODE_ID the package id installed and approved on this peer?");
                }
                return;
            }
            Err(e) => {
                tracing::warn!(%peer, error = %e, "stream from peer failed");
                return;
            }
        };
        match Msg::try_from(m.r#type).unwrap_or(Msg::Undefined) {
            Msg::Registered => {
                registered = true;
                tracing::info!(%peer, %chaincode_id, "registered with peer");
            }
            Msg::Ready => tracing::debug!(%peer, "peer ready"),
            Msg::Error if !registered => {
                tracing::error!(%peer, %chaincode_id, reason = %String::from_utf8_lossy(&m.payload),
                    "peer refused our chaincode id: CHAINCODE_ID must be the package id installed and approved on this peer");
                return;
            }
            Msg::Transaction | Msg::Init => {
                let conn = conn.clone();
                let id = chaincode_id.clone();
                // The span is entered on every poll, never held across an await.
                let span = tracing::info_span!("tx", tx_id = %m.txid, channel = %m.channel_id);
                tokio::spawn(handle_tx(conn, m, id).instrument(span));
            }
            Msg::Response | Msg::Error => {
                let waiter = conn.pending.lock().ok().and_then(|mut p| p.remove(&(m.channel_id.clone(), m.txid.clone())));
                match waiter {
                    Some(w) => {
                        let _ = w.send(m);
                    }
                    None => tracing::warn!(txid = %m.txid, "reply for no pending ledger call"),
                }
            }
            Msg::Keepalive => {
                let _ = conn.out.send(Ok(m)).await;
            }
            other => tracing::warn!(?other, txid = %m.txid, "unexpected message from peer"),
        }
    }
}

async fn handle_tx(conn: Conn, m: ChaincodeMessage, chaincode_id: String) {
    let started = std::time::Instant::now();
    let stub = match TxStub::from_message(conn.clone(), &m) {
        Ok(s) => s,
        Err(e) => {
            let resp = Response { status: e.kind().status(), message: e.to_string(), payload: Vec::new() };
            let _ = conn.out.send(Ok(msg(Msg::Completed, resp.encode_to_vec(), &m.channel_id, &m.txid))).await;
            return;
        }
    };
    let func = stub.args.first().map(|a| String::from_utf8_lossy(a).into_owned()).unwrap_or_default();
    let result = crate::contract::invoke(&stub, &stub.args).await;
    let resp = match &result {
        Ok(payload) => Response { status: 200, message: String::new(), payload: payload.clone() },
        // The status carries the refusal's kind, which Fabric's gateway reports as
        // `chaincode response <status>, ...` (a 500 without payload it would take for a peer
        // failure and retry elsewhere).
        Err(e) => Response { status: e.kind().status(), message: e.to_string(), payload: Vec::new() },
    };
    match &result {
        Ok(_) => tracing::info!(
            function = %func,
            elapsed_us = started.elapsed().as_micros() as u64,
            ledger_calls = stub.calls.load(std::sync::atomic::Ordering::Relaxed),
            ledger_us = stub.waited_us.load(std::sync::atomic::Ordering::Relaxed),
            "transaction done"
        ),
        Err(e) => tracing::info!(function = %func, error = %e, "transaction refused"),
    }
    let mut done = msg(Msg::Completed, resp.encode_to_vec(), &m.channel_id, &m.txid);
    if result.is_ok() {
        if let Some((name, payload)) = stub.event.lock().ok().and_then(|mut e| e.take()) {
            done.chaincode_event = Some(ChaincodeEvent { chaincode_id, tx_id: m.txid.clone(), event_name: name, payload });
        }
    }
    let _ = conn.out.send(Ok(done)).await;
}

/// One transaction's view of the ledger, over the peer stream.
pub struct TxStub {
    conn: Conn,
    channel: String,
    txid: String,
    timestamp: String,
    creator: Identity,
    args: Vec<Vec<u8>>,
    transient: HashMap<String, Vec<u8>>,
    event: Mutex<Option<(String, Vec<u8>)>>,
    /// Ledger calls made and microseconds spent waiting for the peer's answers (for the logs).
    calls: std::sync::atomic::AtomicU64,
    waited_us: std::sync::atomic::AtomicU64,
}

fn decode<M: Message + Default>(what: &str, b: &[u8]) -> Result<M> {
    M::decode(b).map_err(|e| ContractError::bad(format!("malformed {what}: {e}")))
}

impl TxStub {
    fn from_message(conn: Conn, m: &ChaincodeMessage) -> Result<Self> {
        let input: ChaincodeInput = decode("chaincode input", &m.payload)?;
        let signed = m.proposal.as_ref().ok_or_else(|| ContractError::bad("transaction without a signed proposal"))?;
        let proposal: fabric_shim_protos::peer::Proposal = decode("proposal", &signed.proposal_bytes)?;
        let header: Header = decode("proposal header", &proposal.header)?;
        let chdr: ChannelHeader = decode("channel header", &header.channel_header)?;
        let shdr: SignatureHeader = decode("signature header", &header.signature_header)?;
        let sid: SerializedIdentity = decode("creator identity", &shdr.creator)?;
        let payload: ChaincodeProposalPayload = decode("proposal payload", &proposal.payload)?;
        let creator = crate::identity::from_pem(&sid.mspid, &sid.id_bytes)?;
        let timestamp = chdr.timestamp.map(rfc3339).unwrap_or_default();
        Ok(Self {
            conn,
            channel: m.channel_id.clone(),
            txid: m.txid.clone(),
            timestamp,
            creator,
            args: input.args,
            transient: payload.transient_map,
            event: Mutex::new(None),
            calls: Default::default(),
            waited_us: Default::default(),
        })
    }

    /// Sends one ledger call and waits for the peer's answer to it.
    async fn call(&self, t: Msg, payload: Vec<u8>) -> Result<Vec<u8>> {
        let started = std::time::Instant::now();
        let (tx, rx) = oneshot::channel();
        let key = (self.channel.clone(), self.txid.clone());
        self.conn.pending.lock().map_err(|_| ContractError::Ledger("shim state poisoned".into()))?.insert(key.clone(), tx);
        if self.conn.out.send(Ok(msg(t, payload, &self.channel, &self.txid))).await.is_err() {
            let _ = self.conn.pending.lock().map(|mut p| p.remove(&key));
            return Err(ContractError::Ledger("peer stream closed".into()));
        }
        let reply = rx.await.map_err(|_| ContractError::Ledger("peer stream closed before it answered".into()))?;
        self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.waited_us.fetch_add(started.elapsed().as_micros() as u64, std::sync::atomic::Ordering::Relaxed);
        match Msg::try_from(reply.r#type) {
            Ok(Msg::Response) => Ok(reply.payload),
            Ok(Msg::Error) => Err(ContractError::Ledger(String::from_utf8_lossy(&reply.payload).into_owned())),
            _ => Err(ContractError::Ledger(format!("unexpected reply type {} to {t:?}", reply.r#type))),
        }
    }

    /// A range read, stopping early once `limit` pairs are in (the peer sends them in chunks).
    async fn range(&self, collection: &str, start: &str, end: &str, page: Option<(u32, &str)>, limit: usize) -> Result<KvPage> {
        let metadata =
            page.map(|(size, bookmark)| QueryMetadata { page_size: size as i32, bookmark: bookmark.to_owned() }.encode_to_vec()).unwrap_or_default();
        let req = GetStateByRange { start_key: start.to_owned(), end_key: end.to_owned(), collection: collection.to_owned(), metadata };
        let mut resp: QueryResponse = decode("query response", &self.call(Msg::GetStateByRange, req.encode_to_vec()).await?)?;
        let mut out = Vec::new();
        loop {
            for r in &resp.results {
                let kv: Kv = decode("query result", &r.result_bytes)?;
                out.push((kv.key, kv.value));
            }
            if !resp.has_more || out.len() >= limit {
                break;
            }
            let next = QueryStateNext { id: resp.id.clone() }.encode_to_vec();
            resp = decode("query response", &self.call(Msg::QueryStateNext, next).await?)?;
        }
        out.truncate(limit);
        let _ = self.call(Msg::QueryStateClose, QueryStateClose { id: resp.id.clone() }.encode_to_vec()).await;
        let bookmark = if page.is_some() && !resp.metadata.is_empty() {
            decode::<QueryResponseMetadata>("query metadata", &resp.metadata)?.bookmark
        } else {
            String::new()
        };
        // Fabric hands back a bookmark even after the last page; an empty page means done.
        let bookmark = if out.is_empty() || page.is_some_and(|(s, _)| out.len() < s as usize) { String::new() } else { bookmark };
        Ok((out, bookmark))
    }
}

fn rfc3339(t: prost_types::Timestamp) -> String {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm): no date crate needed.
    let secs = t.seconds;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, t.nanos / 1_000_000)
}

impl Stub for TxStub {
    fn tx_id(&self) -> &str {
        &self.txid
    }
    fn tx_timestamp(&self) -> &str {
        &self.timestamp
    }
    fn peer_msp(&self) -> Option<&str> {
        self.conn.peer_msp_id.as_deref()
    }
    fn creator(&self) -> &Identity {
        &self.creator
    }
    fn transient(&self, key: &str) -> Option<&[u8]> {
        self.transient.get(key).map(Vec::as_slice)
    }
    fn set_event(&self, name: &str, payload: Vec<u8>) {
        if let Ok(mut e) = self.event.lock() {
            *e = Some((name.to_owned(), payload));
        }
    }

    async fn get_state(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let v = self.call(Msg::GetState, GetState { key: key.to_owned(), collection: String::new() }.encode_to_vec()).await?;
        Ok((!v.is_empty()).then_some(v))
    }
    async fn put_state(&self, key: &str, value: Vec<u8>) -> Result<()> {
        self.call(Msg::PutState, PutState { key: key.to_owned(), value, collection: String::new() }.encode_to_vec()).await?;
        Ok(())
    }
    async fn state_range_page(&self, start: &str, end: &str, page_size: u32, bookmark: &str) -> Result<KvPage> {
        self.range("", start, end, Some((page_size, bookmark)), usize::MAX).await
    }
    async fn state_range(&self, start: &str, end: &str) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(self.range("", start, end, None, usize::MAX).await?.0)
    }
    async fn get_private(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let v = self.call(Msg::GetState, GetState { key: key.to_owned(), collection: collection.to_owned() }.encode_to_vec()).await?;
        Ok((!v.is_empty()).then_some(v))
    }
    async fn put_private(&self, collection: &str, key: &str, value: Vec<u8>) -> Result<()> {
        self.call(Msg::PutState, PutState { key: key.to_owned(), value, collection: collection.to_owned() }.encode_to_vec()).await?;
        Ok(())
    }
    async fn private_range(&self, collection: &str, start: &str, end: &str) -> Result<Vec<(String, Vec<u8>)>> {
        self.private_range_limit(collection, start, end, usize::MAX).await
    }
    /// In ranges of at most `PRIVATE_CHUNK` (32) values: the peer sends a range's results in
    /// batches of 100, which for values of 1 MiB would pass the 100 MiB message limit. For a
    /// collection the peer takes the query's page size as the range's total (it cannot page
    /// private data), so each range asks for one chunk and the next starts after its last key.
    async fn private_range_limit(&self, collection: &str, start: &str, end: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>> {
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        let mut from = start.to_owned();
        while out.len() < limit {
            let want = (limit - out.len()).min(PRIVATE_CHUNK);
            let (chunk, _) = self.range(collection, &from, end, Some((want as u32, "")), want).await?;
            let got = chunk.len();
            if let Some((k, _)) = chunk.last() {
                from = format!("{k}\u{0}");
            }
            out.extend(chunk);
            if got < want {
                break;
            }
        }
        Ok(out)
    }
    async fn purge_private(&self, collection: &str, key: &str) -> Result<()> {
        self.call(Msg::PurgePrivateData, DelState { key: key.to_owned(), collection: collection.to_owned() }.encode_to_vec()).await?;
        Ok(())
    }
    async fn private_hash(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let v = self.call(Msg::GetPrivateDataHash, GetState { key: key.to_owned(), collection: collection.to_owned() }.encode_to_vec()).await?;
        Ok((!v.is_empty()).then_some(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric_shim_protos::peer::chaincode_client::ChaincodeClient;
    use fabric_shim_protos::peer::{Proposal, SignedProposal};
    use tokio_stream::StreamExt;

    fn proposal(args: &[&str]) -> (Vec<u8>, SignedProposal) {
        let creator = SerializedIdentity { mspid: "Org1MSP".into(), id_bytes: crate::identity::tests::USER1_ORG1.as_bytes().to_vec() };
        let header = Header {
            channel_header: ChannelHeader { timestamp: Some(prost_types::Timestamp { seconds: 1_795_478_400, nanos: 0 }), ..Default::default() }
                .encode_to_vec(),
            signature_header: SignatureHeader { creator: creator.encode_to_vec(), ..Default::default() }.encode_to_vec(),
        };
        let input = ChaincodeInput { args: args.iter().map(|a| a.as_bytes().to_vec()).collect(), ..Default::default() };
        let payload = ChaincodeProposalPayload { input: Vec::new(), transient_map: Default::default() };
        let p = Proposal { header: header.encode_to_vec(), payload: payload.encode_to_vec(), ..Default::default() };
        (input.encode_to_vec(), SignedProposal { proposal_bytes: p.encode_to_vec(), signature: Vec::new() })
    }

    /// A fake peer over a real gRPC connection: registration, two transactions in flight on one
    /// stream with their ledger replies answered in reverse order, then a stop while connected.
    #[tokio::test]
    async fn serves_concurrent_transactions_and_stops_while_connected() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cfg = ServerConfig {
            chaincode_id: "svcflow_1.0:abc".into(),
            address: format!("127.0.0.1:{port}").parse().unwrap(),
            tls: None,
            peer_msp_id: None,
        };
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(serve(cfg, async move {
            let _ = stop_rx.await;
        }));
        let channel = loop {
            match tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}")).unwrap().connect().await {
                Ok(c) => break c,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        let (to_cc, rx) = mpsc::channel(16);
        let mut from_cc = ChaincodeClient::new(channel).connect(ReceiverStream::new(rx)).await.unwrap().into_inner();

        let first = from_cc.next().await.unwrap().unwrap();
        assert_eq!(first.r#type, Msg::Register as i32);
        assert_eq!(ChaincodeId::decode(first.payload.as_slice()).unwrap().name, "svcflow_1.0:abc");
        to_cc.send(msg(Msg::Registered, vec![], "", "")).await.unwrap();
        to_cc.send(msg(Msg::Ready, vec![], "", "")).await.unwrap();

        for tx in ["txA", "txB"] {
            let (input, signed) = proposal(&["GetProject", &format!(r#"{{"id":"{tx}"}}"#)]);
            let mut m = msg(Msg::Transaction, input, "svcflow", tx);
            m.proposal = Some(signed);
            to_cc.send(m).await.unwrap();
        }
        // Both transactions ask for their project before either is answered.
        let mut asks = Vec::new();
        while asks.len() < 2 {
            let m = from_cc.next().await.unwrap().unwrap();
            assert_eq!(m.r#type, Msg::GetState as i32);
            asks.push(m.txid);
        }
        asks.sort();
        assert_eq!(asks, vec!["txA", "txB"]);
        // Answer B first (found), then A (absent): replies must reach the right transaction.
        let project = r#"{"id":"txB","name":"n","description":"","owner":{"msp_id":"Org1MSP","id":"x"},"created":"t","status":"active"}"#;
        to_cc.send(msg(Msg::Response, project.as_bytes().to_vec(), "svcflow", "txB")).await.unwrap();
        to_cc.send(msg(Msg::Response, vec![], "svcflow", "txA")).await.unwrap();
        let mut done = HashMap::new();
        while done.len() < 2 {
            let m = from_cc.next().await.unwrap().unwrap();
            assert_eq!(m.r#type, Msg::Completed as i32);
            done.insert(m.txid.clone(), Response::decode(m.payload.as_slice()).unwrap());
        }
        assert_eq!(done["txB"].status, 200);
        assert!(String::from_utf8_lossy(&done["txB"].payload).contains(r#""id":"txB""#));
        // The refusal's kind travels as the status (404 = not_found) and as the message's code.
        assert_eq!(done["txA"].status, 404);
        assert!(done["txA"].message.starts_with("not_found: project txA"), "{}", done["txA"].message);

        // Stop with the peer still connected: the server ends its stream and returns promptly.
        let t = std::time::Instant::now();
        stop_tx.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server).await.expect("stopped within 5 s").unwrap().unwrap();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(from_cc.next().await.is_none_or(|r| r.is_err()), "the peer's stream must end");
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(prost_types::Timestamp { seconds: 0, nanos: 0 }), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(prost_types::Timestamp { seconds: 1_795_478_400, nanos: 5_000_000 }), "2026-11-24T00:00:00.005Z");
        assert_eq!(rfc3339(prost_types::Timestamp { seconds: 951_782_400, nanos: 0 }), "2000-02-29T00:00:00.000Z");
    }
}
