//! The gRPC server the peer dials: its configuration and TLS, `Chaincode.Connect`, and the loop
//! that reads one peer's stream (registration, transactions, replies to ledger calls).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

use fabric_shim_protos::peer::chaincode_message::Type as Msg;
use fabric_shim_protos::peer::chaincode_server::{Chaincode, ChaincodeServer};
use fabric_shim_protos::peer::{ChaincodeId, ChaincodeMessage};
use prost::Message;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Status, Streaming};

use super::stream::{msg, Conn};
use super::transaction::{self, Contract};

/// Fabric's own default limit for chaincode messages.
pub const MAX_MESSAGE_BYTES: usize = 100 * 1024 * 1024;

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
    /// Reads `CHAINCODE_ID`, `CHAINCODE_SERVER_ADDRESS`, `CHAINCODE_PEER_MSP_ID` and, optionally,
    /// `CHAINCODE_TLS_CERT`, `CHAINCODE_TLS_KEY`, `CHAINCODE_TLS_CLIENT_CA`; names the variable
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
        // A phase's data is read from the copy of the org whose peer asks: without it no private
        // read could be answered, so a server that lacks it must not start.
        let msp = var("CHAINCODE_PEER_MSP_ID").ok_or_else(|| {
            ServeError::Config("CHAINCODE_PEER_MSP_ID is not set (the MSP id of the org whose peers dial this server, e.g. Org1MSP)".into())
        })?;
        Ok(Self { chaincode_id, address, tls, peer_msp_id: Some(msp) })
    }
}

fn read(path: &std::path::Path) -> std::result::Result<Vec<u8>, ServeError> {
    std::fs::read(path).map_err(|source| ServeError::Read { path: path.display().to_string(), source })
}

/// Serves until `shutdown` resolves; then ends every peer stream and returns within a few seconds.
pub async fn serve<C: Contract>(
    cfg: ServerConfig,
    contract: C,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::result::Result<(), ServeError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let service = Service {
        chaincode_id: cfg.chaincode_id.clone(),
        stop: stop_rx,
        peer_msp_id: cfg.peer_msp_id.as_deref().map(Arc::from),
        contract: Arc::new(contract),
    };
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

struct Service<C> {
    chaincode_id: String,
    stop: watch::Receiver<bool>,
    peer_msp_id: Option<Arc<str>>,
    contract: Arc<C>,
}

#[tonic::async_trait]
impl<C: Contract> Chaincode for Service<C> {
    type ConnectStream = ReceiverStream<std::result::Result<ChaincodeMessage, Status>>;

    async fn connect(&self, request: Request<Streaming<ChaincodeMessage>>) -> std::result::Result<tonic::Response<Self::ConnectStream>, Status> {
        let peer = request.remote_addr().map(|a| a.to_string()).unwrap_or_else(|| "?".into());
        let (out_tx, out_rx) = mpsc::channel(64);
        let conn = Conn::new(out_tx, self.peer_msp_id.clone());
        tokio::spawn(run_stream(conn, request.into_inner(), self.chaincode_id.clone(), self.stop.clone(), peer, self.contract.clone()));
        Ok(tonic::Response::new(ReceiverStream::new(out_rx)))
    }
}

/// Serves one peer's stream until the peer closes it or the server stops.
async fn run_stream<C: Contract>(
    conn: Conn,
    mut inbound: Streaming<ChaincodeMessage>,
    chaincode_id: String,
    mut stop: watch::Receiver<bool>,
    peer: String,
    contract: Arc<C>,
) {
    let register = ChaincodeId { name: chaincode_id.clone(), ..Default::default() }.encode_to_vec();
    if !conn.send(msg(Msg::Register, register, "", "")).await {
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
                // The span is entered on every poll, never held across an await.
                let span = tracing::info_span!("tx", tx_id = %m.txid, channel = %m.channel_id);
                tokio::spawn(transaction::run(conn.clone(), m, chaincode_id.clone(), contract.clone()).instrument(span));
            }
            Msg::Response | Msg::Error => conn.answer(m),
            Msg::Keepalive => {
                conn.send(m).await;
            }
            other => tracing::warn!(?other, txid = %m.txid, "unexpected message from peer"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric_shim_protos::peer::chaincode_client::ChaincodeClient;
    use fabric_shim_protos::peer::Response;
    use std::collections::HashMap;
    use tokio::sync::oneshot;
    use tokio_stream::StreamExt;

    use crate::shim::transaction::tests::{transaction, Fake};

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
        let server = tokio::spawn(serve(cfg, Fake, async move {
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
            to_cc.send(transaction("svcflow", tx, &["Get", &format!(r#"{{"id":"{tx}"}}"#)])).await.unwrap();
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
}
