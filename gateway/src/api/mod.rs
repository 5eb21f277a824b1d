//! The REST API: routes, the caller extractor, JSON bodies and the one error response.

mod events;
mod files;
mod meta;
mod projects;
mod records;

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use svcflow_model::call::{Access, NoArgs};
use svcflow_model::identity::Identity;
use svcflow_model::Call;

use crate::config::Config;
use crate::error::ApiError;
use crate::fabric::{Committed, Fabric, FabricError};
use crate::metrics::Metrics;
use crate::storage::{AnyStore, StorageError};
use crate::tls::ClientCert;
use crate::uploads::Journal;
use crate::wallet::Wallet;
pub use files::sweep;

pub const TX_ID_HEADER: &str = "x-tx-id";
pub const BLOCK_HEADER: &str = "x-block-number";

/// Everything a handler needs; one per gateway process.
pub struct AppState {
    pub cfg: Config,
    pub wallet: Wallet,
    pub fabric: Fabric,
    pub store: AnyStore,
    pub metrics: Metrics,
    pub journal: Journal,
    /// `WhoAmI` answers, by wallet user (an identity does not change while the gateway runs).
    whoami: Mutex<HashMap<String, Identity>>,
}

impl AppState {
    pub fn new(cfg: Config, wallet: Wallet, fabric: Fabric, store: AnyStore, journal: Journal) -> Self {
        Self { cfg, wallet, fabric, store, metrics: Metrics::default(), journal, whoami: Mutex::new(HashMap::new()) }
    }

    /// A chaincode query as `caller`, decoded.
    pub async fn query<T: DeserializeOwned>(&self, caller: &Caller, call: Call) -> Result<T, Failure> {
        debug_assert_eq!(call.access(), Access::Read, "{} writes: submit it", call.name());
        let res = self.fabric.evaluate(&caller.user, &call).await;
        self.metrics.fabric_call(call.name(), res.is_ok());
        decode(call.name(), &res?)
    }

    /// A chaincode transaction as `caller`, committed, decoded.
    pub async fn invoke<T: DeserializeOwned>(
        &self,
        caller: &Caller,
        call: Call,
        transient: HashMap<String, Vec<u8>>,
    ) -> Result<(T, Committed), Failure> {
        let res = self.fabric.submit(&caller.user, &call, transient).await;
        self.metrics.fabric_call(call.name(), res.is_ok());
        let c = res?;
        let v = decode(call.name(), &c.result).map_err(|f| f.with_tx(&c.tx_id))?;
        Ok((v, c))
    }

    /// The caller's identity as the chaincode sees it.
    pub async fn identity(&self, caller: &Caller) -> Result<Identity, Failure> {
        if let Some(id) = self.whoami.lock().unwrap_or_else(|p| p.into_inner()).get(&caller.user) {
            return Ok(id.clone());
        }
        let id: Identity = self.query(caller, Call::WhoAmI(NoArgs {})).await?;
        self.whoami.lock().unwrap_or_else(|p| p.into_inner()).insert(caller.user.clone(), id.clone());
        Ok(id)
    }
}

fn decode<T: DeserializeOwned>(func: &str, bytes: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::Internal(format!("{func} answered unexpected JSON: {e}")).into())
}

pub type State = web::Data<Arc<AppState>>;

/// An error response: `{code, message, tx_id?}` with the matching status.
#[derive(Debug)]
pub struct Failure {
    pub error: ApiError,
    pub tx_id: Option<String>,
}

impl Failure {
    pub fn with_tx(mut self, tx_id: &str) -> Self {
        self.tx_id.get_or_insert_with(|| tx_id.to_owned());
        self
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Self { error, tx_id: None }
    }
}

impl From<FabricError> for Failure {
    fn from(e: FabricError) -> Self {
        Self { error: e.error, tx_id: e.tx_id }
    }
}

impl From<StorageError> for Failure {
    fn from(e: StorageError) -> Self {
        ApiError::from(e).into()
    }
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status_code());
        if let Some(tx) = &self.tx_id {
            r.insert_header((TX_ID_HEADER, tx.as_str()));
        }
        if matches!(self.error, ApiError::Unauthenticated(_)) {
            r.insert_header(("www-authenticate", "Mutual-TLS"));
        }
        r.json(self.error.body(self.tx_id.clone()))
    }
}

/// The authenticated caller: a wallet user of this gateway's org.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: String,
    pub msp_id: String,
}

impl FromRequest for Caller {
    type Error = Failure;
    type Future = Ready<Result<Self, Failure>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(caller(req))
    }
}

fn caller(req: &HttpRequest) -> Result<Caller, Failure> {
    let state = req.app_data::<State>().ok_or_else(|| ApiError::Internal("no state".into()))?;
    let unauth = |m: String| Failure::from(ApiError::Unauthenticated(m));
    match req.conn_data::<ClientCert>() {
        None | Some(ClientCert::None) => Err(unauth(format!(
            "a client certificate issued by {}'s CA is required (curl --cert <user>/tls/client.crt --key <user>/tls/client.key)",
            state.wallet.msp_id()
        ))),
        Some(ClientCert::Presented { verify_error: Some(why), .. }) => {
            Err(unauth(format!("client certificate refused: {why} (it must be issued by {}'s TLS CA)", state.wallet.msp_id())))
        }
        Some(ClientCert::Presented { der, verify_error: None }) => {
            let u = state.wallet.for_client_cert(der)?;
            Ok(Caller { user: u.name.clone(), msp_id: u.msp_id.clone() })
        }
    }
}

/// Reads a request body of at most `limit` bytes that must be JSON, whatever its content type
/// says (so a pasted `curl -d` works), with a 4xx naming what is wrong; the bytes are kept as sent.
pub async fn json_bytes(mut payload: web::Payload, limit: usize) -> Result<web::Bytes, Failure> {
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("reading the request body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(format!("the JSON body is over {limit} bytes")).into());
        }
        buf.extend_from_slice(&chunk);
    }
    if buf.is_empty() {
        return Err(ApiError::BadRequest("a JSON body is required".into()).into());
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(&buf).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    Ok(buf.freeze())
}

/// [`json_bytes`], decoded.
pub async fn json_body<T: DeserializeOwned>(payload: web::Payload, limit: usize) -> Result<T, Failure> {
    let buf = json_bytes(payload, limit).await?;
    serde_json::from_slice(&buf).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")).into())
}

/// `?page_size=&bookmark=` of every list.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub page_size: Option<u32>,
    #[serde(default)]
    pub bookmark: String,
}

pub use svcflow_model::page::MAX_PAGE_SIZE;

/// One page of a list the chaincode returns whole (private data has no paginated range
/// queries): items sorted by id, the bookmark being the last id of the page.
#[derive(Debug, Serialize)]
pub struct IdPage<T> {
    pub items: Vec<T>,
    pub bookmark: String,
}

pub fn paginate<T>(mut all: Vec<T>, id: impl Fn(&T) -> &str, q: &PageQuery) -> Result<IdPage<T>, Failure> {
    let size = q.page_size.unwrap_or(20);
    if size == 0 || size > MAX_PAGE_SIZE {
        return Err(ApiError::BadRequest(format!("page_size must be 1 to {MAX_PAGE_SIZE}")).into());
    }
    all.sort_by(|a, b| id(a).cmp(id(b)));
    let start = if q.bookmark.is_empty() { 0 } else { all.partition_point(|x| id(x) <= q.bookmark.as_str()) };
    let mut items: Vec<T> = all.into_iter().skip(start).collect();
    let more = items.len() > size as usize;
    items.truncate(size as usize);
    let bookmark = if more { items.last().map(|x| id(x).to_owned()).unwrap_or_default() } else { String::new() };
    Ok(IdPage { items, bookmark })
}

/// A JSON response for a committed write: the tx id and block in headers.
pub fn committed<T: Serialize>(status: StatusCode, body: &T, c: &Committed) -> HttpResponse {
    HttpResponse::build(status).insert_header((TX_ID_HEADER, c.tx_id.as_str())).insert_header((BLOCK_HEADER, c.block_number.to_string())).json(body)
}

fn json_error(error: ApiError) -> actix_web::Error {
    Failure::from(error).into()
}

/// Registers every route on `cfg`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|e, _| json_error(ApiError::BadRequest(format!("bad path: {e}")))))
        .app_data(web::QueryConfig::default().error_handler(|e, _| json_error(ApiError::BadRequest(format!("bad query: {e}")))))
        .route("/healthz", web::get().to(meta::healthz))
        .route("/metrics", web::get().to(meta::metrics))
        .route("/openapi.json", web::get().to(meta::openapi))
        .route("/docs", web::get().to(meta::docs))
        .service(
            web::scope("/v1")
                .route("/whoami", web::get().to(meta::whoami))
                .route("/events", web::get().to(events::stream))
                .route("/projects", web::post().to(projects::create))
                .route("/projects", web::get().to(projects::list))
                .route("/projects/{project}", web::get().to(projects::get))
                .route("/projects/{project}/phases", web::post().to(projects::add_phase))
                .route("/projects/{project}/phases", web::get().to(projects::list_phases))
                .route("/projects/{project}/phases/{phase}", web::get().to(projects::get_phase))
                .route("/projects/{project}/phases/{phase}", web::patch().to(projects::update_phase))
                .route("/projects/{project}/phases/{phase}/activate", web::post().to(projects::activate_phase))
                .route("/projects/{project}/phases/{phase}/close", web::post().to(projects::close_phase))
                .route("/projects/{project}/phases/{phase}/records", web::get().to(records::list))
                .route("/projects/{project}/phases/{phase}/records/{record}", web::put().to(records::put))
                .route("/projects/{project}/phases/{phase}/records/{record}", web::get().to(records::get))
                .route("/projects/{project}/phases/{phase}/records/{record}/history", web::get().to(records::history))
                .route("/projects/{project}/phases/{phase}/files", web::post().to(files::upload))
                .route("/projects/{project}/phases/{phase}/files", web::get().to(files::list))
                .route("/projects/{project}/phases/{phase}/files/{file}", web::get().to(files::get))
                .route("/projects/{project}/phases/{phase}/files/{file}/content", web::get().to(files::download))
                .route("/projects/{project}/phases/{phase}/files/{file}/verify", web::get().to(files::verify)),
        )
        .default_service(web::to(not_found));
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, Failure> {
    Err(ApiError::NotFound(format!("no route for {} {} (see /openapi.json or /docs)", req.method(), req.path())).into())
}

/// Logs every request with its tx id and counts it in the metrics.
pub async fn observe(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let state = req.app_data::<State>().cloned();
    let res = next.call(req).await?;
    let status = res.status().as_u16();
    let tx_id = res.headers().get(HeaderName::from_static(TX_ID_HEADER)).and_then(|v: &HeaderValue| v.to_str().ok()).unwrap_or("").to_owned();
    let took = started.elapsed();
    if let Some(s) = state {
        s.metrics.request(&method, &route, status, took);
    }
    let error = res.response().error().map(|e| e.to_string()).unwrap_or_default();
    if status >= 500 {
        tracing::error!(%method, %path, status, ms = took.as_millis() as u64, tx_id = %tx_id, %error, "request");
    } else {
        tracing::info!(%method, %path, status, ms = took.as_millis() as u64, tx_id = %tx_id, %error, "request");
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_by_id_with_a_bookmark() {
        let all: Vec<String> = ["c", "a", "e", "b", "d"].iter().map(|s| s.to_string()).collect();
        let q = |n, b: &str| PageQuery { page_size: Some(n), bookmark: b.into() };
        let p = paginate(all.clone(), |s| s.as_str(), &q(2, "")).unwrap();
        assert_eq!((p.items, p.bookmark.as_str()), (vec!["a".to_string(), "b".into()], "b"));
        let p = paginate(all.clone(), |s| s.as_str(), &q(2, "b")).unwrap();
        assert_eq!((p.items, p.bookmark.as_str()), (vec!["c".to_string(), "d".into()], "d"));
        let p = paginate(all.clone(), |s| s.as_str(), &q(2, "d")).unwrap();
        assert_eq!((p.items, p.bookmark.as_str()), (vec!["e".to_string()], ""));
        assert_eq!(paginate(all.clone(), |s| s.as_str(), &q(0, "")).unwrap_err().error.status(), 400);
        assert_eq!(paginate(all, |s| s.as_str(), &q(101, "")).unwrap_err().error.status(), 400);
    }
}
