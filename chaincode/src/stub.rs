//! What the contract may ask of the ledger during one transaction, as a trait: the shim
//! implements it over the peer connection, [`MemStub`] over maps for unit tests.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::error::{ContractError, Result};
use crate::identity::Identity;

/// Key/value pairs of a range, and the bookmark for the next page ("" when done).
pub type KvPage = (Vec<(String, Vec<u8>)>, String);

#[allow(async_fn_in_trait)] // used with static dispatch
pub trait Stub {
    fn tx_id(&self) -> &str;
    /// Transaction timestamp, RFC 3339.
    fn tx_timestamp(&self) -> &str;
    fn creator(&self) -> &Identity;
    /// The MSP of the peer running this transaction, when the server was told.
    fn peer_msp(&self) -> Option<&str> {
        None
    }
    fn transient(&self, key: &str) -> Option<&[u8]>;
    fn set_event(&self, name: &str, payload: Vec<u8>);

    async fn get_state(&self, key: &str) -> Result<Option<Vec<u8>>>;
    async fn put_state(&self, key: &str, value: Vec<u8>) -> Result<()>;
    async fn del_state(&self, key: &str) -> Result<()>;
    /// A paginated range. Fabric refuses writes in a transaction after one: read-only paths only.
    async fn state_range_page(&self, start: &str, end: &str, page_size: u32, bookmark: &str) -> Result<KvPage>;
    async fn state_range(&self, start: &str, end: &str) -> Result<Vec<(String, Vec<u8>)>>;

    async fn get_private(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>>;
    async fn put_private(&self, collection: &str, key: &str, value: Vec<u8>) -> Result<()>;
    /// Deletes a private value (its earlier versions stay in the peers' private history).
    async fn del_private(&self, collection: &str, key: &str) -> Result<()>;
    async fn private_range(&self, collection: &str, start: &str, end: &str) -> Result<Vec<(String, Vec<u8>)>>;
    /// The first `limit` pairs of a private range (Fabric cannot paginate private data).
    async fn private_range_limit(&self, collection: &str, start: &str, end: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>>;
    /// Removes a private value from every peer of the collection at commit, its history in the
    /// peers' private stores included; only the hash in the block remains.
    async fn purge_private(&self, collection: &str, key: &str) -> Result<()>;
    /// Hash of a private value; works for any org, member or not. Errors if the collection is not
    /// in the chaincode definition, which is how the contract learns that.
    async fn private_hash(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>>;
}

/// The world state and collections of an in-memory ledger, shared across transactions.
#[derive(Default)]
pub struct MemLedger {
    pub state: BTreeMap<String, Vec<u8>>,
    pub private: HashMap<String, BTreeMap<String, Vec<u8>>>,
    pub collections: BTreeSet<String>,
    /// Collection → member MSP ids, to play the peer's memberOnlyRead/Write refusal.
    pub members: HashMap<String, Vec<String>>,
    /// The channel's orgs, whose implicit collections exist whatever the definition holds.
    pub channel_orgs: BTreeSet<String>,
}

impl MemLedger {
    /// A channel of `orgs`, with no collection in the chaincode definition.
    pub fn channel(orgs: &[&str]) -> Self {
        Self { channel_orgs: orgs.iter().map(|o| (*o).to_owned()).collect(), ..Self::default() }
    }

    /// Adds the member-only collection an older version defined for an org set (`col_A_B`).
    pub fn with_org_set_collection(mut self, orgs: &[&str]) -> Self {
        let name = crate::collection::org_set_name(orgs.iter().copied());
        self.collections.insert(name.clone());
        self.members.insert(name, orgs.iter().map(|o| (*o).to_owned()).collect());
        self
    }
}

/// A buffered write: collection (None for the world state), key, value (None: purge).
type Write = (Option<String>, String, Option<Vec<u8>>);

/// One transaction against a [`MemLedger`]: writes are buffered and applied by `commit` only if
/// the transaction succeeded, as on a peer.
pub struct MemStub<'a> {
    pub ledger: &'a RefCell<MemLedger>,
    pub tx_id: String,
    pub timestamp: String,
    pub creator: Identity,
    pub transient: HashMap<String, Vec<u8>>,
    /// The peer's org; a peer outside a collection has only its hashes, as on Fabric.
    pub peer_msp: Option<String>,
    writes: RefCell<Vec<Write>>,
    /// A range read of private data was made: as on Fabric, the transaction may write nothing.
    pvt_queried: std::cell::Cell<bool>,
    pub events: RefCell<Vec<(String, Vec<u8>)>>,
}

impl<'a> MemStub<'a> {
    pub fn new(ledger: &'a RefCell<MemLedger>, tx_id: &str, creator: Identity) -> Self {
        Self {
            ledger,
            tx_id: tx_id.to_owned(),
            timestamp: "2026-11-24T00:00:00Z".to_owned(),
            creator,
            transient: HashMap::new(),
            peer_msp: None,
            writes: RefCell::new(Vec::new()),
            pvt_queried: std::cell::Cell::new(false),
            events: RefCell::new(Vec::new()),
        }
    }

    pub fn commit(&self) {
        let mut l = self.ledger.borrow_mut();
        for (coll, k, v) in self.writes.borrow_mut().drain(..) {
            match (coll, v) {
                (None, Some(v)) => {
                    l.state.insert(k, v);
                }
                (None, None) => {
                    l.state.remove(&k);
                }
                (Some(c), Some(v)) => {
                    l.private.entry(c).or_default().insert(k, v);
                }
                (Some(c), None) => {
                    l.private.entry(c).or_default().remove(&k);
                }
            }
        }
    }

    fn may_write(&self) -> Result<()> {
        if self.pvt_queried.get() {
            return Err(ContractError::Ledger(
                "unsuppored transaction. Transaction has already performed queries on pvt data. Writes are not allowed".into(),
            ));
        }
        Ok(())
    }

    fn check_collection(&self, collection: &str, member_only: bool) -> Result<()> {
        let l = self.ledger.borrow();
        if collection.strip_prefix(crate::collection::IMPLICIT_PREFIX).is_some_and(|org| l.channel_orgs.contains(org)) {
            return Ok(());
        }
        if !l.collections.contains(collection) {
            return Err(ContractError::Ledger(format!("collection {collection} could not be found")));
        }
        if member_only && !l.members.get(collection).is_some_and(|m| m.contains(&self.creator.msp_id)) {
            return Err(ContractError::Ledger(format!(
                "tx creator does not have read access permission on privatedata in chaincodeName:svcflow collectionName: {collection}"
            )));
        }
        Ok(())
    }

    /// A peer of an org outside the collection holds the hashes only (Fabric's words); an org's
    /// implicit collection is held by that org's peers alone.
    fn check_peer_holds(&self, collection: &str) -> Result<()> {
        let l = self.ledger.borrow();
        let holds = |m: &String| match collection.strip_prefix(crate::collection::IMPLICIT_PREFIX) {
            Some(org) => org == m,
            None => l.members.get(collection).is_some_and(|ms| ms.contains(m)),
        };
        match &self.peer_msp {
            Some(m) if !holds(m) => Err(ContractError::Ledger("private data matching public hash version is not available".into())),
            _ => Ok(()),
        }
    }

    /// Reads see the transaction's own earlier writes, like Fabric's don't; close enough for
    /// the contract, which never reads what it wrote in the same transaction.
    fn read(&self, coll: Option<&str>, key: &str) -> Option<Vec<u8>> {
        let l = self.ledger.borrow();
        match coll {
            None => l.state.get(key).cloned(),
            Some(c) => l.private.get(c).and_then(|m| m.get(key).cloned()),
        }
    }
}

impl Stub for MemStub<'_> {
    fn tx_id(&self) -> &str {
        &self.tx_id
    }
    fn tx_timestamp(&self) -> &str {
        &self.timestamp
    }
    fn peer_msp(&self) -> Option<&str> {
        self.peer_msp.as_deref()
    }
    fn creator(&self) -> &Identity {
        &self.creator
    }
    fn transient(&self, key: &str) -> Option<&[u8]> {
        self.transient.get(key).map(Vec::as_slice)
    }
    fn set_event(&self, name: &str, payload: Vec<u8>) {
        self.events.borrow_mut().push((name.to_owned(), payload));
    }

    async fn get_state(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.read(None, key))
    }
    async fn put_state(&self, key: &str, value: Vec<u8>) -> Result<()> {
        self.may_write()?;
        self.writes.borrow_mut().push((None, key.to_owned(), Some(value)));
        Ok(())
    }
    async fn del_state(&self, key: &str) -> Result<()> {
        self.may_write()?;
        self.writes.borrow_mut().push((None, key.to_owned(), None));
        Ok(())
    }
    async fn state_range_page(&self, start: &str, end: &str, page_size: u32, bookmark: &str) -> Result<KvPage> {
        let l = self.ledger.borrow();
        let from = if bookmark.is_empty() { start } else { bookmark };
        let mut items: Vec<(String, Vec<u8>)> =
            l.state.range(from.to_owned()..end.to_owned()).take(page_size as usize + 1).map(|(k, v)| (k.clone(), v.clone())).collect();
        let next = if items.len() > page_size as usize { items.pop().map(|(k, _)| k).unwrap_or_default() } else { String::new() };
        Ok((items, next))
    }

    async fn state_range(&self, start: &str, end: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let l = self.ledger.borrow();
        Ok(l.state.range(start.to_owned()..end.to_owned()).map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    async fn get_private(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.check_collection(collection, true)?;
        self.check_peer_holds(collection)?;
        Ok(self.read(Some(collection), key))
    }
    async fn put_private(&self, collection: &str, key: &str, value: Vec<u8>) -> Result<()> {
        self.check_collection(collection, true)?;
        self.may_write()?;
        self.writes.borrow_mut().push((Some(collection.to_owned()), key.to_owned(), Some(value)));
        Ok(())
    }
    async fn del_private(&self, collection: &str, key: &str) -> Result<()> {
        self.purge_private(collection, key).await
    }
    async fn private_range(&self, collection: &str, start: &str, end: &str) -> Result<Vec<(String, Vec<u8>)>> {
        self.private_range_limit(collection, start, end, usize::MAX).await
    }
    async fn private_range_limit(&self, collection: &str, start: &str, end: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>> {
        self.check_collection(collection, true)?;
        self.check_peer_holds(collection)?;
        // Fabric's simulator: private range reads only in a transaction that writes nothing.
        if !self.writes.borrow().is_empty() {
            return Err(ContractError::Ledger("unsuppored transaction. Queries on pvt data is supported only in a read-only transaction".into()));
        }
        self.pvt_queried.set(true);
        let l = self.ledger.borrow();
        Ok(l.private
            .get(collection)
            .map(|m| m.range(start.to_owned()..end.to_owned()).take(limit).map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }
    async fn purge_private(&self, collection: &str, key: &str) -> Result<()> {
        self.check_collection(collection, true)?;
        self.may_write()?;
        self.writes.borrow_mut().push((Some(collection.to_owned()), key.to_owned(), None));
        Ok(())
    }
    async fn private_hash(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.check_collection(collection, false)?;
        Ok(self.read(Some(collection), key).map(|v| crate::digest::sha256(&v)))
    }
}
