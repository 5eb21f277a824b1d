//! [`TxStub`]: one transaction's view of the ledger, its calls sent over the peer stream.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use fabric_shim_protos::peer::chaincode_message::Type as Msg;
use fabric_shim_protos::peer::{
    DelState, GetState, GetStateByRange, PutState, QueryMetadata, QueryResponse, QueryResponseMetadata, QueryStateClose, QueryStateNext,
};
use fabric_shim_protos::queryresult::Kv;
use prost::Message;

use super::stream::{decode, msg, Conn};
use crate::error::{ContractError, Result};
use crate::identity::Identity;
use crate::stub::{KvPage, Stub};

/// Private values per range request (records are at most 1 MiB: a chunk stays far below
/// [`MAX_MESSAGE_BYTES`](super::MAX_MESSAGE_BYTES)).
const PRIVATE_CHUNK: usize = 32;

/// One transaction's view of the ledger, over the peer stream.
pub struct TxStub {
    conn: Conn,
    channel: String,
    txid: String,
    timestamp: String,
    creator: Identity,
    transient: HashMap<String, Vec<u8>>,
    event: Mutex<Option<(String, Vec<u8>)>>,
    /// Ledger calls made and microseconds spent waiting for the peer's answers (for the logs).
    calls: AtomicU64,
    waited_us: AtomicU64,
}

impl TxStub {
    /// `timestamp` in RFC 3339; `transient` is the proposal's transient map.
    pub(super) fn new(conn: Conn, channel: &str, txid: &str, timestamp: String, creator: Identity, transient: HashMap<String, Vec<u8>>) -> Self {
        Self {
            conn,
            channel: channel.to_owned(),
            txid: txid.to_owned(),
            timestamp,
            creator,
            transient,
            event: Mutex::new(None),
            calls: Default::default(),
            waited_us: Default::default(),
        }
    }

    /// The event the contract set, taken out for the COMPLETED message.
    pub(super) fn take_event(&self) -> Option<(String, Vec<u8>)> {
        self.event.lock().ok().and_then(|mut e| e.take())
    }

    /// Ledger calls made so far and microseconds spent waiting for their answers.
    pub(super) fn ledger_calls(&self) -> (u64, u64) {
        (self.calls.load(Ordering::Relaxed), self.waited_us.load(Ordering::Relaxed))
    }

    /// Sends one ledger call and waits for the peer's answer to it.
    async fn call(&self, t: Msg, payload: Vec<u8>) -> Result<Vec<u8>> {
        let started = std::time::Instant::now();
        let reply = self.conn.ask(msg(t, payload, &self.channel, &self.txid)).await?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.waited_us.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
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
    async fn del_state(&self, key: &str) -> Result<()> {
        self.call(Msg::DelState, DelState { key: key.to_owned(), collection: String::new() }.encode_to_vec()).await?;
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
    async fn del_private(&self, collection: &str, key: &str) -> Result<()> {
        self.call(Msg::DelState, DelState { key: key.to_owned(), collection: collection.to_owned() }.encode_to_vec()).await?;
        Ok(())
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
