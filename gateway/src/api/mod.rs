//! The REST API, HTTP only: routes, extractors and the mapping of errors to responses. What a
//! route does lives below (`crate::uploads`, `crate::downloads`, `crate::ledger`, ...).

mod body;
mod caller;
pub mod error;
mod events;
mod files;
mod meta;
mod projects;
mod records;
mod state;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

pub use body::{committed, json_body, json_bytes, paginate, IdPage, PageQuery, BLOCK_HEADER, MAX_PAGE_SIZE};
pub use caller::Caller;
use error::ApiError;
pub use error::{Failure, TX_ID_HEADER};
pub use state::{AppState, State};

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
