//! Health, metrics, the API description and who the caller is.

use actix_web::HttpResponse;
use serde_json::{json, Value};
use svcflow_model::call::NoArgs;
use svcflow_model::Call;

use super::{Caller, Failure, State};
use crate::storage::ObjectStore;

pub const OPENAPI: &str = include_str!("../../openapi.json");

pub async fn whoami(state: State, caller: Caller) -> Result<HttpResponse, Failure> {
    let id = state.identity(&caller).await?;
    Ok(HttpResponse::Ok().json(json!({"user": caller.user, "msp_id": caller.msp_id, "identity": id})))
}

/// Ready when a peer answers a query and the store answers a lookup. Needs no client
/// certificate, so a supervisor can probe it; it tells nothing private.
pub async fn healthz(state: State) -> HttpResponse {
    let peers = state.ledger.peers();
    let probe_user = state.wallet.users().map(|u| u.name.clone()).min();
    let fabric = match probe_user {
        Some(u) => state.ledger.evaluate(&u, &Call::WhoAmI(NoArgs {})).await.map(|_| ()).map_err(|e| e.to_string()),
        None => Err("empty wallet".into()),
    };
    let storage = state.store.head("healthz/probe").await.map(|_| ()).map_err(|e| e.to_string());
    let mut body = json!({"msp_id": state.wallet.msp_id(), "peers": peers});
    body["fabric"] = json!(fabric.as_ref().err().map_or("ok", String::as_str));
    body["storage"] = json!(storage.as_ref().err().map_or("ok", String::as_str));
    if fabric.is_ok() && storage.is_ok() {
        body["status"] = json!("ok");
        HttpResponse::Ok().json(body)
    } else {
        body["status"] = json!("unavailable");
        HttpResponse::ServiceUnavailable().json(body)
    }
}

pub async fn metrics(state: State) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render())
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}

fn esc(s: &str) -> String {
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

pub async fn docs() -> HttpResponse {
    let page = match serde_json::from_str::<Value>(OPENAPI) {
        Ok(spec) => render_docs(&spec),
        Err(e) => format!("<p>the OpenAPI document does not parse: {}</p>", esc(&e.to_string())),
    };
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_parses_and_renders_every_route() {
        let spec: Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        assert!(spec["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        let page = render_docs(&spec);
        for path in ["/v1/projects", "/v1/projects/{project}/phases/{phase}/files/{file}/verify", "/v1/events", "/healthz"] {
            assert!(spec["paths"][path].is_object(), "{path} missing from openapi.json");
            assert!(page.contains(&esc(path)), "{path} missing from /docs");
        }
    }
}
