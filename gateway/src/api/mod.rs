//! The REST API, HTTP only: routes, extractors and the mapping of errors to responses. Each
//! handler parses its request, calls one function of `crate::service` and maps the answer.

mod body;
mod caller;
pub mod error;
mod events;
mod files;
mod meta;
mod migrations;
pub(crate) mod openapi;
mod origin;
mod params;
mod projects;
mod records;
mod responses;
mod state;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse, Route};

pub use body::{committed, json_body, json_bytes, IdPage, Items, PageQuery, BLOCK_HEADER, MAX_PAGE_SIZE};
use error::ApiError;
pub use error::{Failure, TX_ID_HEADER};
pub use origin::same_origin;
pub use state::State;

fn json_error(error: ApiError) -> actix_web::Error {
    Failure::from(error).into()
}

type Handler = fn() -> Route;

/// Every route: method, path and handler. `routes` registers them a path at a time, so that a
/// path asked with a method it has no route for gets 405, and `openapi` documents each one
/// (its tests hold the two to each other).
pub const ROUTES: &[(Method, &str, Handler)] = &[
    (Method::GET, "/healthz", || web::route().to(meta::healthz)),
    (Method::GET, "/metrics", || web::route().to(meta::metrics)),
    // The document lists these two routes, so they are handed the function that builds it.
    (Method::GET, "/openapi.json", || web::route().to(|state: State| meta::openapi(state, openapi::document))),
    (Method::GET, "/docs", || web::route().to(|state: State| meta::docs(state, openapi::document))),
    (Method::GET, "/v1/whoami", || web::route().to(meta::whoami)),
    (Method::GET, "/v1/events", || web::route().to(events::stream)),
    (Method::POST, "/v1/projects", || web::route().to(projects::create)),
    (Method::GET, "/v1/projects", || web::route().to(projects::list)),
    (Method::GET, "/v1/projects/{project}", || web::route().to(projects::get)),
    (Method::POST, "/v1/projects/{project}/phases", || web::route().to(projects::add_phase)),
    (Method::GET, "/v1/projects/{project}/phases", || web::route().to(projects::list_phases)),
    (Method::GET, "/v1/projects/{project}/phases/{phase}", || web::route().to(projects::get_phase)),
    (Method::PATCH, "/v1/projects/{project}/phases/{phase}", || web::route().to(projects::update_phase)),
    (Method::POST, "/v1/projects/{project}/phases/{phase}/approval", || web::route().to(projects::approve_phase_change)),
    (Method::POST, "/v1/projects/{project}/phases/{phase}/activate", || web::route().to(projects::activate_phase)),
    (Method::POST, "/v1/projects/{project}/phases/{phase}/close", || web::route().to(projects::close_phase)),
    (Method::GET, "/v1/projects/{project}/phases/{phase}/migration", || web::route().to(migrations::get)),
    (Method::POST, "/v1/projects/{project}/phases/{phase}/migration", || web::route().to(migrations::start)),
    (Method::GET, "/v1/projects/{project}/phases/{phase}/records", || web::route().to(records::list)),
    (Method::PUT, "/v1/projects/{project}/phases/{phase}/records/{record}", || web::route().to(records::put)),
    (Method::GET, "/v1/projects/{project}/phases/{phase}/records/{record}", || web::route().to(records::get)),
    (Method::GET, "/v1/projects/{project}/phases/{phase}/records/{record}/history", || web::route().to(records::history)),
    (Method::POST, "/v1/projects/{project}/phases/{phase}/files", || web::route().to(files::upload)),
    (Method::GET, "/v1/projects/{project}/phases/{phase}/files", || web::route().to(files::list)),
    (Method::GET, "/v1/projects/{project}/phases/{phase}/files/{file}", || web::route().to(files::get)),
    (Method::GET, "/v1/projects/{project}/phases/{phase}/files/{file}/content", || web::route().to(files::download)),
    (Method::GET, "/v1/projects/{project}/phases/{phase}/files/{file}/verify", || web::route().to(files::verify)),
    (Method::POST, "/v1/projects/{project}/phases/{phase}/reseal", || web::route().to(files::reseal)),
];

/// Registers every route on `cfg`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|e, _| json_error(ApiError::BadRequest(format!("bad path: {e}")))))
        .app_data(web::QueryConfig::default().error_handler(|e, _| json_error(ApiError::BadRequest(format!("bad query: {e}")))));
    let mut paths: Vec<&str> = Vec::new();
    for (_, path, _) in ROUTES {
        if !paths.contains(path) {
            paths.push(path);
        }
    }
    for path in paths {
        // One resource per path: actix tries a path's resources in turn and, when none has the
        // method, answers with the resource's default service, not the app's 404.
        let resource = ROUTES
            .iter()
            .filter(|(_, p, _)| *p == path)
            .fold(web::resource(path), |r, (method, _, handler)| r.route(handler().method(method.clone())))
            .default_service(web::to(method_not_allowed));
        cfg.service(resource);
    }
    cfg.default_service(web::to(not_found));
}

/// The methods `path` (a route's pattern) has routes for, as `Allow` lists them.
fn allowed(path: &str) -> String {
    let mut methods: Vec<&str> = ROUTES.iter().filter(|(_, p, _)| *p == path).map(|(m, _, _)| m.as_str()).collect();
    methods.sort_unstable();
    methods.join(", ")
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, Failure> {
    let allow = allowed(&req.match_pattern().unwrap_or_default());
    let message = format!("{} is not allowed on {}; it allows {allow}", req.method(), req.path());
    Err(ApiError::MethodNotAllowed { message, allow }.into())
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
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    fn spec() -> Value {
        serde_json::to_value(openapi::document(1 << 30)).unwrap()
    }

    #[test]
    fn the_docs_page_renders_every_route() {
        let page = meta::render_docs(&spec());
        for (method, path, _) in ROUTES {
            assert!(
                page.contains(&format!("{}</span><code>{}</code>", meta::esc(&method.as_str().to_lowercase()), meta::esc(path))),
                "{method} {path} missing from /docs"
            );
        }
    }

    // The route table and the document must name the same (method, path) pairs: a route without
    // its #[utoipa::path] in the document, or an operation no route serves, fails here.
    #[test]
    fn the_route_table_and_the_document_agree() {
        let routes: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p, _)| (m.as_str().to_owned(), (*p).to_owned())).collect();
        assert_eq!(routes.len(), ROUTES.len(), "a (method, path) is in the route table twice");
        let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace", "query"];
        let mut documented = BTreeSet::new();
        for (path, item) in spec()["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys().filter(|k| methods.contains(&k.as_str())) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
        let missing: Vec<_> = routes.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&routes).collect();
        assert!(missing.is_empty() && unserved.is_empty(), "routes not in the document: {missing:?}; documented, no route: {unserved:?}");
    }
}
