//! Server-sent events from the chaincode's events, limited to what the caller may see: project
//! events, and phase events only of phases the caller takes part in.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use svcflow_model::acl::is_participant;
use svcflow_model::call::{ProjectArg, TxRef};
use svcflow_model::change::Change;
use svcflow_model::event::{Event, EventIds};
use svcflow_model::phase::Phase;
use svcflow_model::Call;
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::openapi::Refused;
use super::{Caller, Failure, State};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Only events of this project.
    #[param(value_type = Option<svcflow_model::ids::Id>)]
    pub project: Option<String>,
    /// Only events of this phase; needs `project`.
    #[param(value_type = Option<svcflow_model::ids::Id>)]
    pub phase: Option<String>,
    /// Replay from this block on (default: from now).
    pub from_block: Option<u64>,
}

/// The JSON of an event's `data:` line: ids only, never contents. `record`/`file` are private:
/// the block's event does not carry them; the gateway asks the chaincode as the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventData<'a> {
    pub event: Event,
    pub block_number: u64,
    #[schema(value_type = String)]
    pub tx_id: &'a str,
    #[schema(value_type = svcflow_model::ids::Id)]
    pub project: &'a str,
    #[schema(value_type = Option<svcflow_model::ids::Id>)]
    pub phase: Option<&'a str>,
    #[schema(value_type = Option<svcflow_model::ids::Id>)]
    pub record: Option<&'a str>,
    #[schema(value_type = Option<svcflow_model::ids::Id>)]
    pub file: Option<&'a str>,
}

/// `Last-Event-ID: <block>:<tx_id>` resumes right after that event.
fn resume_point(req: &HttpRequest) -> Result<Option<(u64, String)>, Failure> {
    let Some(v) = req.headers().get("last-event-id") else {
        return Ok(None);
    };
    let bad = || Failure::from(ApiError::BadRequest("Last-Event-ID must be <block>:<tx_id> as sent in an event's id".into()));
    let s = v.to_str().map_err(|_| bad())?;
    let (b, tx) = s.split_once(':').ok_or_else(bad)?;
    Ok(Some((b.parse().map_err(|_| bad())?, tx.to_owned())))
}

/// `change` names the record or file a phase event wrote: the event itself (public, in the
/// block) does not, so it is read as the caller from the phase's collection.
fn frame(block: u64, tx_id: &str, event: Event, ids: &EventIds, change: Option<&Change>) -> web::Bytes {
    let data = EventData {
        event,
        block_number: block,
        tx_id,
        project: &ids.project,
        phase: ids.phase.as_deref(),
        record: change.and_then(|c| c.record.as_deref()),
        file: change.and_then(|c| c.file.as_deref()),
    };
    let data = serde_json::to_string(&data).unwrap_or_default();
    web::Bytes::from(format!("id: {block}:{tx_id}\nevent: {event}\ndata: {data}\n\n"))
}

/// Stream chaincode events
///
/// Server-sent events, one per committed state change: `id: <block>:<tx_id>`, `event: <name>`
/// and `data:` an EventData. Events of phases the caller does not take part in are not sent.
#[utoipa::path(
    get, path = "/v1/events", operation_id = "streamEvents", tag = "events",
    params(EventsQuery, (
        "Last-Event-ID" = Option<String>, Header, pattern = "^\\+?[0-9]{1,20}:[ -~\t]*$",
        description = "The `id` of the last event received, `<block>:<tx_id>` (block a u64): the stream resumes after it, and `from_block` is ignored."
    )), responses((status = 200, description = "The event stream; it stays open.", body = String, content_type = "text/event-stream"), Refused)
)]
pub async fn stream(state: State, caller: Caller, req: HttpRequest, q: web::Query<EventsQuery>) -> Result<HttpResponse, Failure> {
    let q = q.into_inner();
    if q.phase.is_some() && q.project.is_none() {
        return Err(ApiError::BadRequest("phase needs project".into()).into());
    }
    let (start, after) = match resume_point(&req)? {
        Some((b, tx)) => (Some(b), Some(tx)),
        None => (q.from_block, None),
    };
    let me = state.identity(&caller).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<web::Bytes>(64);
    let state = state.into_inner();
    tokio::spawn(async move {
        // The peer answers its event stream's headers only with the first event, which may be
        // minutes away: the response starts (and a browser's EventSource opens) before that.
        if tx.send(web::Bytes::from_static(b": svcflow events\n\n")).await.is_err() {
            return;
        }
        let mut events = match state.ledger.events(&caller.user, start, after).await {
            Ok(events) => events,
            Err(e) => {
                let reason = serde_json::json!({ "reason": format!("the peer's event stream failed: {e}") });
                let _ = tx.send(web::Bytes::from(format!("event: end\ndata: {reason}\n\n"))).await;
                return;
            }
        };
        // Phases by (project, id), read as the caller when an event names one not seen yet or
        // that may have changed.
        let mut phases: HashMap<(String, String), Phase> = HashMap::new();
        loop {
            let ev = tokio::select! {
                ev = events.next() => ev,
                _ = tokio::time::sleep(Duration::from_secs(15)) => {
                    if tx.send(web::Bytes::from_static(b": keep-alive\n\n")).await.is_err() { return; }
                    continue;
                }
            };
            let Some(ev) = ev else {
                let _ = tx.send(web::Bytes::from_static(b"event: end\ndata: {\"reason\":\"the peer closed the event stream\"}\n\n")).await;
                return;
            };
            let (Some(event), Ok(ids)) = (Event::parse(&ev.name), serde_json::from_slice::<EventIds>(&ev.payload)) else {
                continue;
            };
            if q.project.as_ref().is_some_and(|p| *p != ids.project) || (q.phase.is_some() && q.phase != ids.phase) {
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
            if tx.send(frame(ev.block_number, &ev.tx_id, event, &ids, change.as_ref())).await.is_err() {
                return;
            }
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).map(Ok::<_, actix_web::Error>);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}
