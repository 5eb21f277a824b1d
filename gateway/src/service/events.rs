//! The chaincode's events as a caller may see them: project events, and phase events only of
//! phases the caller takes part in, with the record or file a phase event wrote.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use svcflow_model::acl::is_participant;
use svcflow_model::call::{ProjectArg, TxRef};
use svcflow_model::change::Change;
use svcflow_model::event::{Event, EventIds};
use svcflow_model::ids::{PhaseId, ProjectId};
use svcflow_model::phase::Phase;
use svcflow_model::Call;
use tokio::sync::mpsc;

use super::caller::Caller;
use super::error::ServiceError;
use super::state::AppState;

/// Which events, from where.
pub struct Subscription {
    /// Only events of this project.
    pub project: Option<ProjectId>,
    /// Only events of this phase (of `project`).
    pub phase: Option<PhaseId>,
    /// From this block on (default: from now).
    pub start: Option<u64>,
    /// Resume after this transaction of block `start`.
    pub after: Option<String>,
}

/// One event a caller may see. `change` names the record or file a phase event wrote: the event
/// itself (public, in the block) does not, so it is read as the caller from the phase's
/// collection.
pub struct Occurred {
    pub event: Event,
    pub block_number: u64,
    pub tx_id: String,
    pub ids: EventIds,
    pub change: Option<Change>,
}

/// What a subscription yields, in order: `Opened`, then events and keep-alives, then `End` when
/// the peer's stream ends.
pub enum Frame {
    /// Sent at once: the peer answers its event stream's headers only with the first event,
    /// which may be minutes away, and a client should not wait for it to see the stream open.
    Opened,
    /// Nothing happened for a while: a client or proxy can tell the stream is alive.
    KeepAlive,
    Event(Box<Occurred>),
    End {
        reason: String,
    },
}

/// How long without an event before a keep-alive.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The caller's events, as frames on a channel; the stream stops when the receiver is dropped.
pub async fn subscribe(state: Arc<AppState>, caller: Caller, sub: Subscription) -> Result<mpsc::Receiver<Frame>, ServiceError> {
    let me = state.identity(&caller).await?;
    let (tx, rx) = mpsc::channel::<Frame>(64);
    tokio::spawn(async move {
        if tx.send(Frame::Opened).await.is_err() {
            return;
        }
        let mut events = match state.ledger.events(&caller.user, sub.start, sub.after).await {
            Ok(events) => events,
            Err(e) => {
                let _ = tx.send(Frame::End { reason: format!("the peer's event stream failed: {e}") }).await;
                return;
            }
        };
        // Phases by (project, id), read as the caller when an event names one not seen yet or
        // that may have changed.
        let mut phases: HashMap<(ProjectId, PhaseId), Phase> = HashMap::new();
        loop {
            let ev = tokio::select! {
                ev = events.next() => ev,
                _ = tokio::time::sleep(KEEP_ALIVE) => {
                    if tx.send(Frame::KeepAlive).await.is_err() { return; }
                    continue;
                }
            };
            let Some(ev) = ev else {
                let _ = tx.send(Frame::End { reason: "the peer closed the event stream".into() }).await;
                return;
            };
            let (Some(event), Ok(ids)) = (Event::parse(&ev.name), serde_json::from_slice::<EventIds>(&ev.payload)) else {
                continue;
            };
            if sub.project.as_ref().is_some_and(|p| *p != ids.project) || (sub.phase.is_some() && sub.phase != ids.phase) {
                continue;
            }
            if let Some(ph) = &ids.phase {
                let k = (ids.project.clone(), ph.clone());
                if event.changes_phase() || !phases.contains_key(&k) {
                    if let Ok(list) = state.query::<Vec<Phase>>(&caller, Call::ListPhases(ProjectArg { project: ids.project.clone() })).await {
                        for p in list {
                            phases.insert((p.project.clone(), p.id.clone()), p);
                        }
                    }
                }
                if !phases.get(&k).is_some_and(|p| is_participant(&me, p)) {
                    continue;
                }
            }
            let change = match &ids.phase {
                Some(phase) if event.writes_item() => {
                    let at = TxRef { project: ids.project.clone(), phase: phase.clone(), tx_id: ev.tx_id.clone() };
                    state.query::<Change>(&caller, Call::GetChange(at)).await.ok()
                }
                _ => None,
            };
            let occurred = Occurred { event, block_number: ev.block_number, tx_id: ev.tx_id, ids, change };
            if tx.send(Frame::Event(Box::new(occurred))).await.is_err() {
                return;
            }
        }
    });
    Ok(rx)
}
