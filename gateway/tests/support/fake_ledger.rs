//! A [`Ledger`] in memory that runs the real contract (`svcflow-chaincode` over its in-memory
//! stub), so the REST handlers are tested against the chaincode's own rules without a network.
//! Every call is one transaction; a submit commits it as a block of its own and publishes its
//! event. Refusals travel as they do from Fabric: as `chaincode response <status>, <message>`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use futures_util::{FutureExt, StreamExt};
use svcflow_chaincode::identity::{from_pem, Identity};
use svcflow_chaincode::stub::{MemLedger, MemStub};
use svcflow_gateway::ledger::{BeforeOrder, BoxFuture, Committed, EventStream, Ledger, LedgerError, LedgerEvent, Stage, SubmitOptions};
use svcflow_model::{Call, Refusal};
use tokio::sync::broadcast;

struct World {
    ledger: RefCell<MemLedger>,
    tx: u64,
    blocks: Vec<LedgerEvent>,
    tx_block: HashMap<String, u64>,
    height: u64,
}

pub struct FakeLedger {
    world: Mutex<World>,
    identities: Mutex<HashMap<String, Identity>>,
    live: broadcast::Sender<LedgerEvent>,
    /// The orgs each transaction submitted with named endorsers asked for.
    pub endorsers: Mutex<Vec<(String, Vec<String>)>>,
    /// Queries evaluated, in all.
    pub evaluations: AtomicUsize,
}

impl FakeLedger {
    /// A channel of Org1MSP..Org3MSP with no collection in the definition, as the network deploys it.
    pub fn new() -> Self {
        let ledger = MemLedger::channel(&["Org1MSP", "Org2MSP", "Org3MSP"]);
        let world = World { ledger: RefCell::new(ledger), tx: 0, blocks: Vec::new(), tx_block: HashMap::new(), height: 1 };
        Self {
            world: Mutex::new(world),
            identities: Mutex::new(HashMap::new()),
            live: broadcast::channel(1024).0,
            endorsers: Mutex::new(Vec::new()),
            evaluations: AtomicUsize::new(0),
        }
    }

    /// Makes wallet users known: name → (MSP id, enrollment certificate PEM).
    pub fn register(&self, users: HashMap<String, (String, Vec<u8>)>) {
        let mut ids = self.identities.lock().unwrap();
        for (name, (msp, pem)) in users {
            ids.insert(name, from_pem(&msp, &pem).expect("enrollment certificate"));
        }
    }

    fn identity(&self, user: &str) -> Result<Identity, LedgerError> {
        self.identities.lock().unwrap().get(user).cloned().ok_or_else(|| LedgerError::NoSigner(user.to_owned()))
    }

    /// Runs `call` as one transaction; commits it when `commit` and it succeeded. `before_order`
    /// sees the tx id of a successful transaction before it commits.
    fn run(&self, user: &str, call: &Call, commit: bool, before_order: Option<BeforeOrder<'_>>) -> Result<Committed, LedgerError> {
        let creator = self.identity(user)?;
        let arg = call.argument().map_err(|refusal| LedgerError::Refused { refusal, tx_id: None })?;
        let mut w = self.world.lock().unwrap();
        w.tx += 1;
        let tx_id = format!("faketx{:06}", w.tx);
        // The gateway asks its own org's peers, which read their org's copy.
        let peer_msp = creator.msp_id.clone();
        let mut stub = MemStub::new(&w.ledger, &tx_id, creator);
        stub.peer_msp = Some(peer_msp);
        stub.transient = call.transient().map_err(|refusal| LedgerError::Refused { refusal, tx_id: None })?;
        let args = vec![call.name().as_bytes().to_vec(), arg.into_bytes()];
        let out = svcflow_chaincode::contract::invoke(&stub, &args).now_or_never().expect("the in-memory stub never waits");
        let result = match out {
            Ok(r) => r,
            Err(e) => {
                // As Fabric's gateway words it in an endorser's error detail.
                let detail = format!("chaincode response {}, {e}", e.kind().status());
                let stage = if commit { Stage::Endorse } else { Stage::Evaluate };
                return Err(match Refusal::from_gateway_detail(&detail) {
                    Some(refusal) => LedgerError::Refused { refusal, tx_id: Some(tx_id) },
                    None => LedgerError::Failed { stage, tx_id: Some(tx_id), detail },
                });
            }
        };
        if !commit {
            return Ok(Committed { result, tx_id, block_number: 0 });
        }
        if let Some(note) = before_order {
            note(&tx_id).map_err(|detail| LedgerError::Failed { stage: Stage::Endorse, tx_id: Some(tx_id.clone()), detail })?;
        }
        stub.commit();
        let events: Vec<(String, Vec<u8>)> = stub.events.borrow().clone();
        drop(stub);
        let block_number = w.height;
        w.height += 1;
        w.tx_block.insert(tx_id.clone(), block_number);
        for (name, payload) in events {
            let ev = LedgerEvent { name, payload, tx_id: tx_id.clone(), block_number };
            w.blocks.push(ev.clone());
            let _ = self.live.send(ev);
        }
        Ok(Committed { result, tx_id, block_number })
    }
}

impl Ledger for FakeLedger {
    fn evaluate<'a>(&'a self, user: &'a str, call: &'a Call) -> BoxFuture<'a, Result<Vec<u8>, LedgerError>> {
        self.evaluations.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { self.run(user, call, false, None).map(|c| c.result) })
    }

    fn submit_with<'a>(&'a self, user: &'a str, call: &'a Call, opts: SubmitOptions<'a>) -> BoxFuture<'a, Result<Committed, LedgerError>> {
        if !opts.endorsers.is_empty() {
            self.endorsers.lock().unwrap().push((call.name().to_owned(), opts.endorsers.to_vec()));
        }
        Box::pin(async move { self.run(user, call, true, opts.before_order) })
    }

    fn tx_status<'a>(&'a self, _user: &'a str, tx_id: &'a str) -> BoxFuture<'a, Result<Option<bool>, LedgerError>> {
        // Only committed transactions get a block here; a refused one never reached ordering.
        Box::pin(async move { Ok(self.world.lock().unwrap().tx_block.contains_key(tx_id).then_some(true)) })
    }

    fn block_of<'a>(&'a self, _user: &'a str, tx_id: &'a str) -> BoxFuture<'a, Result<u64, LedgerError>> {
        Box::pin(async move {
            let w = self.world.lock().unwrap();
            w.tx_block.get(tx_id).copied().ok_or_else(|| LedgerError::Failed {
                stage: Stage::Block,
                tx_id: Some(tx_id.to_owned()),
                detail: "no such transaction".into(),
            })
        })
    }

    fn events<'a>(&'a self, _user: &'a str, start_block: Option<u64>, after_tx: Option<String>) -> BoxFuture<'a, Result<EventStream, LedgerError>> {
        Box::pin(async move {
            // Subscribe before reading the past, so nothing committed in between is missed.
            let rx = self.live.subscribe();
            let w = self.world.lock().unwrap();
            let past: Vec<LedgerEvent> = match (start_block, &after_tx) {
                (_, Some(tx)) => match w.blocks.iter().position(|e| &e.tx_id == tx) {
                    Some(i) => w.blocks[i + 1..].to_vec(),
                    None => Vec::new(),
                },
                (Some(b), None) => w.blocks.iter().filter(|e| e.block_number >= b).cloned().collect(),
                (None, None) => Vec::new(),
            };
            let seen = past.last().map(|e| e.block_number).unwrap_or(0);
            let live = tokio_stream_from(rx).filter(move |e| std::future::ready(e.block_number > seen));
            Ok(Box::pin(futures_util::stream::iter(past).chain(live)) as EventStream)
        })
    }

    fn peers(&self) -> Vec<String> {
        vec!["fake".into()]
    }
}

fn tokio_stream_from(rx: broadcast::Receiver<LedgerEvent>) -> impl futures_util::Stream<Item = LedgerEvent> + Send {
    futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(e) => return Some((e, rx)),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}
