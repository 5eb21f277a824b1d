//! Health, metrics, the API description and who the caller is.

use actix_web::HttpResponse;
use serde::Serialize;
use serde_json::Value;
use svcflow_model::identity::Identity;
use utoipa::ToSchema;

use super::error::Failure;
use super::state::State;
use crate::service::{health, Caller};

/// Builds the OpenAPI document for an upload limit. The route table hands it to the routes that
/// serve the document, which the document itself lists.
pub type Document = fn(u64) -> utoipa::openapi::OpenApi;

/// The caller: the wallet user its client certificate maps to, and its identity as the chaincode
/// sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    /// The gateway wallet user the client certificate maps to.
    #[schema(example = "User1@org1.svcflow.local")]
    pub user: String,
    #[schema(value_type = svcflow_model::ids::MspId)]
    pub msp_id: String,
    /// Its `id` names this identity as a phase participant.
    pub identity: Identity,
}

/// Who the caller is
#[utoipa::path(get, path = "/v1/whoami", operation_id = "whoAmI", tag = "meta", responses((status = 200, description = "The caller.", body = WhoAmI)))]
pub async fn whoami(state: State, caller: Caller) -> Result<HttpResponse, Failure> {
    let identity = state.identity(&caller).await?;
    Ok(HttpResponse::Ok().json(WhoAmI { user: caller.user, msp_id: caller.msp_id, identity }))
}

/// Whether the gateway reaches Fabric and its object store.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when both answer, else `unavailable`.
    #[schema(value_type = String, example = "ok")]
    pub status: &'static str,
    #[schema(value_type = svcflow_model::ids::MspId)]
    pub msp_id: String,
    /// The peers this gateway talks to.
    pub peers: Vec<String>,
    /// `ok`, or why a peer did not answer a query.
    pub fabric: String,
    /// `ok`, or why the object store did not answer a lookup.
    pub storage: String,
}

/// Health check
///
/// Ready when a peer answers a query and the store answers a lookup. Needs no client
/// certificate, so a supervisor can probe it; it tells nothing private.
#[utoipa::path(
    get, path = "/healthz", operation_id = "getHealth", tag = "meta",
    responses((status = 200, description = "Healthy.", body = Health), (status = 503, description = "Fabric or the object store is unreachable.", body = Health))
)]
pub async fn healthz(state: State) -> HttpResponse {
    let report = health::check(&state).await;
    let ok = report.ok();
    let body = Health {
        status: if ok { "ok" } else { "unavailable" },
        msp_id: report.msp_id,
        peers: report.peers,
        fabric: report.fabric.err().unwrap_or_else(|| "ok".into()),
        storage: report.storage.err().unwrap_or_else(|| "ok".into()),
    };
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus metrics
///
/// Request, Fabric call and transfer metrics. Needs no client certificate.
#[utoipa::path(
    get, path = "/metrics", operation_id = "getMetrics", tag = "meta",
    responses((status = 200, description = "The Prometheus text exposition format (0.0.4).", body = String, content_type = "text/plain"))
)]
pub async fn metrics(state: State) -> HttpResponse {
    HttpResponse::Ok().content_type(crate::metrics::CONTENT_TYPE).body(state.metrics.render())
}

/// This gateway's OpenAPI document, with its upload limit.
fn document(state: &State, build: Document) -> Value {
    serde_json::to_value(build(crate::service::files::upload_limit(state))).unwrap_or_default()
}

/// This OpenAPI document
///
/// Generated from the code that serves the API. Needs no client certificate.
#[utoipa::path(
    get, path = "/openapi.json", operation_id = "getOpenApi", tag = "meta",
    responses((status = 200, description = "The OpenAPI document.", body = Object, content_type = "application/json"))
)]
pub async fn openapi(state: State, build: Document) -> HttpResponse {
    HttpResponse::Ok().json(document(&state, build))
}

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The API description as a page, rendered here from the OpenAPI document (no script, nothing
/// fetched from elsewhere: gateways often run where no CDN is reachable).
pub fn render_docs(spec: &Value) -> String {
    let title = spec["info"]["title"].as_str().unwrap_or("svcflow gateway");
    let mut h = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}}\
         .op{{border:1px solid #ccc;border-radius:4px;margin:1em 0;padding:.5em 1em}}\
         .m{{font-weight:bold;text-transform:uppercase;display:inline-block;width:4.5em}}\
         code{{background:#f4f4f4}} td{{padding:0 .8em 0 0;vertical-align:top}}</style></head><body>\
         <h1>{t}</h1><p>{d}</p><p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a></p>",
        t = esc(title),
        d = esc(spec["info"]["description"].as_str().unwrap_or("")).replace("\n\n", "</p><p>")
    );
    if let Some(paths) = spec["paths"].as_object() {
        for (path, item) in paths {
            let Some(ops) = item.as_object() else {
                continue;
            };
            for (method, op) in ops {
                if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                    continue;
                }
                h += &format!(
                    "<div class=\"op\"><span class=\"m\">{}</span><code>{}</code> — {}<p>{}</p>",
                    esc(method),
                    esc(path),
                    esc(op["summary"].as_str().unwrap_or("")),
                    esc(op["description"].as_str().unwrap_or(""))
                );
                let params: Vec<&Value> =
                    item["parameters"].as_array().into_iter().flatten().chain(op["parameters"].as_array().into_iter().flatten()).collect();
                if !params.is_empty() {
                    h += "<table>";
                    for p in params {
                        let p = resolve(spec, p);
                        h += &format!(
                            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                            esc(p["name"].as_str().unwrap_or("?")),
                            esc(p["in"].as_str().unwrap_or("")),
                            esc(p["description"].as_str().unwrap_or(""))
                        );
                    }
                    h += "</table>";
                }
                if let Some(rs) = op["responses"].as_object() {
                    let codes: Vec<String> =
                        rs.iter().map(|(c, r)| format!("{c} {}", resolve(spec, r)["description"].as_str().unwrap_or(""))).collect();
                    h += &format!("<p><small>{}</small></p>", esc(&codes.join(" · ")));
                }
                h += "</div>";
            }
        }
    }
    h + "</body></html>"
}

/// Follows a local `$ref`.
fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
        Some(path) => path.split('/').fold(spec, |node, part| &node[part]),
        None => v,
    }
}

/// API documentation page
///
/// /openapi.json as a page, with no script. Needs no client certificate.
#[utoipa::path(
    get, path = "/docs", operation_id = "getDocs", tag = "meta",
    responses((status = 200, description = "The HTML page.", body = String, content_type = "text/html"))
)]
pub async fn docs(state: State, build: Document) -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(render_docs(&document(&state, build)))
}
