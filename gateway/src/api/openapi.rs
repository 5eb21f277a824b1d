//! The OpenAPI document, generated: operations from the handlers' `#[utoipa::path]`, their path
//! and query parameters from the handlers' extractors, schemas from the model's types, and the
//! error responses from [`ApiError`]. `/openapi.json` serves it and `/docs` renders it.

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr};
use utoipa::{OpenApi, ToSchema};

use super::error::{ApiError, ErrorBody, TX_ID_HEADER};
use super::responses::{refs, string_header};
use super::{events, files, meta, migrations, projects, records};

const DESCRIPTION: &str = "\
REST gateway in front of the svcflow Hyperledger Fabric chaincode: public projects and phases, \
records and off-chain file anchors private to each phase's participants, and a stream of \
chaincode events.

**Authentication: mutual TLS** (security scheme `mutualTLS`). Every `/v1` route needs a client \
certificate issued by the gateway org's TLS CA (`curl --cert <user>/tls/client.crt --key \
<user>/tls/client.key`); it maps to a wallet user, as whom the gateway calls Fabric. A missing, \
unknown or expired certificate gets 401 `unauthenticated`. `/healthz`, `/metrics`, \
`/openapi.json` and `/docs` need none.

**Errors** are JSON `{code, message, tx_id?}` (schema ErrorBody), one code per status (see \
components/responses). A path no route has answers 404 `not_found`; a path that has routes, \
asked with a method none of them serves (HEAD, OPTIONS and TRACE included), answers 405 \
`method_not_allowed` with an `Allow` header listing the methods it serves. A peer, orderer or the \
object store that is down or overloaded answers 503 `unavailable` with `Retry-After`; a full store \
507 `insufficient_storage`; a 500 `internal` is a bug.

**What is refused with 400 before anything reaches Fabric**, beyond the schemas' types: a query \
parameter no operation lists (every query is closed); a request body that is not JSON or names \
a field its schema does not list (every body object is closed); a body `project` or `id` that \
differs from the path's (both optional in a body: the path names them); a `bookmark` that is not \
one a previous page of the same list returned. Lengths in bytes are of UTF-8: a schema's \
maxLength counts characters, so a non-ASCII string reaches a byte limit sooner.

**Committed writes** carry the headers `x-tx-id` and `x-block-number`.";

#[derive(OpenApi)]
#[openapi(
    info(title = "svcflow gateway", version = "1.0.0"),
    servers(
        (url = "https://127.0.0.1:7443", description = "Org1 gateway"),
        (url = "https://127.0.0.1:8443", description = "Org2 gateway"),
        (url = "https://127.0.0.1:9443", description = "Org3 gateway"),
    ),
    paths(
        meta::healthz, meta::metrics, meta::openapi, meta::docs, meta::whoami, events::stream,
        projects::create, projects::list, projects::get, projects::add_phase, projects::list_phases, projects::get_phase,
        projects::update_phase, projects::approve_phase_change, projects::activate_phase, projects::close_phase, migrations::get, migrations::start,
        records::list, records::put, records::get, records::history,
        files::upload, files::list, files::get, files::download, files::verify, files::reseal,
    ),
    components(schemas(ErrorBody, events::EventData)),
    tags(
        (name = "meta", description = "Health, metrics, this document and the caller's identity."),
        (name = "projects", description = "Public projects."),
        (name = "phases", description = "A project's phases: public, with private data."),
        (name = "records", description = "JSON records private to a phase's participants."),
        (name = "files", description = "Off-chain files, encrypted and anchored on-chain."),
        (name = "events", description = "Server-sent chaincode events."),
    )
)]
struct ApiDoc;

/// Every kind of error, an example of it and what it means; each is a response of the document,
/// named by its code.
fn error_kinds() -> Vec<(ApiError, &'static str)> {
    use ApiError::*;
    vec![
        (BadRequest("invalid JSON body: expected value at line 1 column 1".into()), "An invalid id, name, query, header, path or body."),
        (
            Unauthenticated("a client certificate issued by Org1MSP's CA is required".into()),
            "No client certificate, or one not issued by a CA of `server.client_ca`, or expired.",
        ),
        (
            Forbidden("only participants of phase design may read its records".into()),
            "The caller may not do this: e.g. is not a participant of the phase; its certificate is no wallet user's or is revoked; a write from a page of another origin.",
        ),
        (NotFound("project demo does not exist".into()), "No such project, phase, record or file."),
        (
            MethodNotAllowed { message: "TRACE is not allowed on /v1/projects".into(), allow: "GET, POST".into() },
            "The path has routes, none for this method; `Allow` lists those it has.",
        ),
        (Conflict("project demo already exists".into()), "Conflicts with the current state, e.g. the id exists or the phase is closed."),
        (PayloadTooLarge("the JSON body is over 65536 bytes".into()), "The body is over its limit."),
        (
            UnsupportedMediaType("the body must be sent as Content-Type: application/json, not text/plain".into()),
            "A JSON body sent under another content type (a browser sends cross-site ones as text/plain or a form).",
        ),
        (
            Integrity("the object of file drawing-1 is missing from the store".into()),
            "The stored object does not match its on-chain anchor, or is missing.",
        ),
        (
            Unavailable("no peer of Org1MSP answered".into()),
            "Fabric or the object store cannot be reached now, or is overloaded; retry after `Retry-After` seconds.",
        ),
        (InsufficientStorage("object store full: No space left on device".into()), "The object store has no room for the file."),
        (Internal("AnchorFile answered unexpected JSON".into()), "An unexpected error."),
    ]
}

// A new kind of ApiError fails to compile here until `error_kinds` describes it too.
fn _every_kind_is_described(e: &ApiError) {
    use ApiError::*;
    match e {
        BadRequest(_)
        | Unauthenticated(_)
        | Forbidden(_)
        | NotFound(_)
        | MethodNotAllowed { .. }
        | Conflict(_)
        | PayloadTooLarge(_)
        | UnsupportedMediaType(_)
        | Integrity(_)
        | Unavailable(_)
        | InsufficientStorage(_)
        | Internal(_) => {}
    }
}

fn error_response(e: &ApiError, means: &str) -> Response {
    let example = serde_json::to_value(e.body(None)).ok();
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(ErrorBody::name()))).example(example).build();
    let r = ResponseBuilder::new().description(format!("{means} (`{}`)", e.code())).content("application/json", content);
    match e {
        ApiError::Unauthenticated(_) => r.header("www-authenticate", string_header("Always `Mutual-TLS`.")),
        ApiError::MethodNotAllowed { .. } => r.header("allow", string_header("The methods the path serves, e.g. `GET, POST`.")),
        ApiError::Unavailable(_) => r
            .header(TX_ID_HEADER, string_header("The Fabric transaction the error concerns, when there is one."))
            .header("retry-after", string_header("Seconds to wait before retrying.")),
        _ => r.header(TX_ID_HEADER, string_header("The Fabric transaction the error concerns, when there is one.")),
    }
    .build()
}

fn v1_operations(doc: &mut Document) -> impl Iterator<Item = &mut Operation> {
    doc.paths
        .paths
        .iter_mut()
        .filter(|(path, _)| path.starts_with("/v1/"))
        .flat_map(|(_, item)| [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten())
}

/// The document, stating this gateway's upload limit.
pub fn document(upload_limit: u64) -> Document {
    let mut doc = ApiDoc::openapi();
    doc.info.description = Some(DESCRIPTION.into());
    let components = doc.components.get_or_insert_with(Default::default);
    for (kind, means) in error_kinds() {
        components.responses.insert(kind.code().to_owned(), RefOr::T(error_response(&kind, means)));
    }
    if let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut(&*ErrorBody::name()) {
        if let Some(RefOr::T(Schema::Object(code))) = body.properties.get_mut("code") {
            code.enum_values = Some(error_kinds().iter().map(|(k, _)| k.code().into()).collect());
        }
    }
    components.security_schemes.insert(
        "mutualTLS".into(),
        RefOr::T(SecurityScheme::MutualTls {
            description: Some("A client certificate issued by the gateway org's TLS CA, naming a user of its wallet.".into()),
            deprecated: None,
            extensions: None,
        }),
    );
    let every_v1 = refs(&[ApiError::Unauthenticated(String::new()), ApiError::Internal(String::new()), ApiError::Unavailable(String::new())]);
    for op in v1_operations(&mut doc) {
        op.security = Some(vec![SecurityRequirement::new("mutualTLS", Vec::<String>::new())]);
        op.responses.responses.extend(every_v1.clone());
    }
    if let Some(upload) = doc.paths.paths.get_mut("/v1/projects/{project}/phases/{phase}/files").and_then(|p| p.post.as_mut()) {
        let d = upload.description.get_or_insert_with(String::new);
        d.push_str(&format!(" This gateway's limit is {upload_limit} bytes."));
    }
    doc
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::Value;

    use super::*;

    fn spec() -> Value {
        serde_json::to_value(document(1 << 30)).unwrap()
    }

    /// Every `$ref` in `v`, with where it stands.
    fn refs_in<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("$ref", Value::String(r)) => out.push((at.clone(), r)),
                        _ => refs_in(x, format!("{at}/{k}"), out),
                    }
                }
            }
            Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| refs_in(x, format!("{at}/{i}"), out)),
            _ => {}
        }
    }

    // The dashboard lists the event names from here, and every id's rule comes from its type.
    #[test]
    fn events_and_ids_take_their_schemas_from_the_model() {
        let spec = spec();
        let schemas = &spec["components"]["schemas"];
        let names: Vec<&str> = schemas["Event"]["enum"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        assert_eq!(names, svcflow_model::event::Event::ALL.iter().map(|e| e.name()).collect::<Vec<_>>());
        assert_eq!(schemas["Id"]["pattern"], svcflow_model::ids::ID_PATTERN);
        assert_eq!(schemas["MspId"]["pattern"], svcflow_model::ids::MSP_ID_PATTERN);
        for (path, param) in [("/v1/projects/{project}", 0), ("/v1/projects/{project}/phases/{phase}/records/{record}", 2)] {
            let p = &spec["paths"][path]["get"]["parameters"][param]["schema"];
            assert_eq!(p["$ref"], "#/components/schemas/Id", "{path}: {p}");
        }
        assert_eq!(schemas["Phase"]["properties"]["project"]["$ref"], "#/components/schemas/Id");
    }

    #[test]
    fn is_openapi_3_and_every_ref_resolves() {
        let spec = spec();
        assert!(spec["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", spec["openapi"]);
        let mut all = Vec::new();
        refs_in(&spec, String::new(), &mut all);
        assert!(all.len() > 50, "{} refs", all.len());
        for (at, r) in all {
            let target = r.strip_prefix("#/").map(|p| p.split('/').fold(&spec, |node, part| &node[part]));
            assert!(target.is_some_and(|t| t.is_object()), "{at}: $ref {r} does not resolve");
        }
    }

    #[test]
    fn error_responses_are_under_their_status() {
        let spec = spec();
        let kinds: BTreeMap<String, u16> = error_kinds().iter().map(|(k, _)| (k.code().to_owned(), k.status())).collect();
        assert_eq!(kinds.len(), error_kinds().len(), "two kinds share a code");
        for (path, item) in spec["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for (status, r) in op["responses"].as_object().unwrap() {
                    if let Some(code) = r["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/responses/")) {
                        assert_eq!(kinds.get(code).map(u16::to_string).as_deref(), Some(status.as_str()), "{method} {path}: {status} is {code}");
                    }
                }
                let v1 = path.starts_with("/v1/");
                assert_eq!(op["security"].is_array(), v1, "{method} {path}: mutual TLS");
                assert_eq!(op["responses"]["401"].is_object(), v1, "{method} {path}: 401");
            }
        }
    }

    #[test]
    fn operations_are_complete() {
        let spec = spec();
        let mut ids = BTreeSet::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            let in_path: BTreeSet<&str> = path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();
            for (method, op) in item.as_object().unwrap() {
                assert!(ids.insert(op["operationId"].as_str().unwrap().to_owned()), "{method} {path}: operationId {} twice", op["operationId"]);
                assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{method} {path}: summary");
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                let declared: BTreeSet<&str> = params.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect();
                assert_eq!(declared, in_path, "{method} {path}: path parameters");
                for (status, r) in op["responses"].as_object().unwrap() {
                    assert!(
                        r["$ref"].is_string() || r["description"].as_str().is_some_and(|d| !d.is_empty()),
                        "{method} {path}: {status} has no description"
                    );
                }
            }
        }
    }

    #[test]
    fn states_the_rules_the_server_enforces() {
        let spec = spec();
        let s = &spec["components"]["schemas"];
        assert_eq!(s["Id"]["pattern"], svcflow_model::ids::ID_PATTERN);
        assert_eq!(s["FileName"]["pattern"], svcflow_model::ids::FILE_NAME_PATTERN);
        for body in ["NewProject", "NewPhase", "PhaseUpdate", "Participant"] {
            assert_eq!(s[body]["additionalProperties"], false, "{body} is closed");
        }
        let required = |name: &str| -> BTreeSet<String> {
            s[name]["required"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
        };
        assert!(!required("NewPhase").contains("project") && required("NewPhase").contains("id"));
        assert!(!required("PhaseUpdate").contains("project") && !required("PhaseUpdate").contains("id"));
        let upload = &spec["paths"]["/v1/projects/{project}/phases/{phase}/files"]["post"];
        assert!(upload["description"].as_str().unwrap().contains("limit is 1073741824 bytes"));
        let name = upload["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "name").unwrap();
        assert_eq!(name["schema"]["$ref"], "#/components/schemas/FileName");
        let list = &spec["paths"]["/v1/projects"]["get"]["parameters"];
        let param = |n: &str| list.as_array().unwrap().iter().find(|p| p["name"] == n).unwrap().clone();
        assert_eq!((param("page_size")["schema"]["minimum"].as_u64(), param("page_size")["schema"]["maximum"].as_u64()), (Some(1), Some(100)));
        assert!(param("bookmark")["description"].as_str().unwrap().contains("previous page"));
    }
}
