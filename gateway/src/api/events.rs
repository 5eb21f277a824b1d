//! Server-sent events: the query and `Last-Event-ID` in, `crate::service::events`' frames out as
//! SSE text.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use svcflow_model::event::Event;
use svcflow_model::ids::{FileId, PhaseId, ProjectId, RecordId};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::error::Failure;
use super::responses::Refused;
use super::state::State;
use crate::service::events::{self, Frame, Occurred, Subscription};
use crate::service::Caller;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Only events of this project.
    pub project: Option<svcflow_model::ids::ProjectId>,
    /// Only events of this phase; needs `project`.
    pub phase: Option<svcflow_model::ids::PhaseId>,
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
    pub project: &'a ProjectId,
    pub phase: Option<&'a PhaseId>,
    pub record: Option<&'a RecordId>,
    pub file: Option<&'a FileId>,
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

fn event_text(o: &Occurred) -> String {
    let change = o.change.as_ref();
    let data = EventData {
        event: o.event,
        block_number: o.block_number,
        tx_id: &o.tx_id,
        project: &o.ids.project,
        phase: o.ids.phase.as_ref(),
        record: change.and_then(|c| c.record.as_ref()),
        file: change.and_then(|c| c.file.as_ref()),
    };
    let data = serde_json::to_string(&data).unwrap_or_default();
    format!("id: {}:{}\nevent: {}\ndata: {data}\n\n", o.block_number, o.tx_id, o.event)
}

/// A frame as SSE text: comments for the opening and keep-alives, an `end` event when the
/// stream ends.
fn sse(frame: Frame) -> web::Bytes {
    match frame {
        Frame::Opened => web::Bytes::from_static(b": svcflow events\n\n"),
        Frame::KeepAlive => web::Bytes::from_static(b": keep-alive\n\n"),
        Frame::Event(o) => web::Bytes::from(event_text(&o)),
        Frame::End { reason } => web::Bytes::from(format!("event: end\ndata: {}\n\n", serde_json::json!({ "reason": reason }))),
    }
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
    let sub = Subscription { project: q.project, phase: q.phase, start, after };
    let mut frames = events::subscribe(Arc::clone(&state), caller, sub).await?;
    let body = futures_util::stream::poll_fn(move |cx| frames.poll_recv(cx)).map(|f| Ok::<_, actix_web::Error>(sse(f)));
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}
