//! The web dashboard: a page and its script and style, built into the binary and served on the
//! gateway's own port. It needs no client certificate to load; every call it makes goes to the
//! REST API on the same origin, so the browser's client certificate is the caller's identity and
//! the page sees exactly what that identity may see.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

/// One built-in file: where it is served, its media type and its bytes.
struct Asset {
    path: &'static str,
    media_type: &'static str,
    body: &'static str,
}

/// A script module of `gateway/dashboard/`, served under `/ui/`.
macro_rules! module {
    ($file:literal) => {
        Asset { path: concat!("/ui/", $file), media_type: "text/javascript; charset=utf-8", body: include_str!(concat!("../dashboard/", $file)) }
    };
}

const ASSETS: &[Asset] = &[
    Asset { path: "/", media_type: "text/html; charset=utf-8", body: include_str!("../dashboard/index.html") },
    Asset { path: "/ui/app.css", media_type: "text/css; charset=utf-8", body: include_str!("../dashboard/app.css") },
    Asset { path: "/ui/icon.svg", media_type: "image/svg+xml", body: include_str!("../dashboard/icon.svg") },
    module!("app.js"),
    module!("api.js"),
    module!("dom.js"),
    module!("events.js"),
    module!("files.js"),
    module!("format.js"),
    module!("outcome.js"),
    module!("page-phase.js"),
    module!("page-project.js"),
    module!("page-projects.js"),
    module!("paged.js"),
    module!("participants.js"),
    module!("reorder.js"),
    module!("session.js"),
    module!("showing.js"),
];

/// Scripts, styles and connections only from this origin: no inline script can run even if a
/// record's contents ever reached the page as markup, and no other site can frame it.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Registers the dashboard's files (GET and HEAD); the API's routes are registered apart.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for asset in ASSETS {
        cfg.service(web::resource(asset.path).route(web::get().to(move || serve(asset))).route(web::head().to(move || serve(asset))));
    }
}

async fn serve(asset: &'static Asset) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(asset.media_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        // A new gateway build may bring a new script: the browser asks again each time (the files
        // are small and served from memory).
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(asset.body)
}

#[cfg(test)]
mod tests {
    use actix_web::test as web_test;
    use actix_web::App;

    use super::*;

    #[actix_web::test]
    async fn every_asset_is_served_with_its_type_and_policy() {
        let app = web_test::init_service(App::new().configure(routes)).await;
        for asset in ASSETS {
            let res = web_test::call_service(&app, web_test::TestRequest::get().uri(asset.path).to_request()).await;
            assert!(res.status().is_success(), "{}", asset.path);
            assert_eq!(res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some(asset.media_type));
            assert!(res.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        }
    }

    #[test]
    fn the_page_loads_only_files_that_are_served() {
        let page = ASSETS[0].body;
        for reference in page.split(['"', '\'']).filter(|s| s.starts_with("/ui/")) {
            assert!(ASSETS.iter().any(|a| a.path == reference), "index.html refers to {reference}, which is not served");
        }
        // CSP forbids inline script and style: the page must have none.
        assert!(!page.contains("<script>") && !page.contains("style="), "index.html has inline script or style");
        assert!(page.contains(r#"<script type="module" src="/ui/app.js"></script>"#), "index.html loads app.js as a module");
    }

    fn modules() -> impl Iterator<Item = &'static Asset> {
        ASSETS.iter().filter(|a| a.path.ends_with(".js"))
    }

    /// The modules `source` imports or re-exports from (`import … from "./x.js"`, `import
    /// "./x.js"`, `export … from "./x.js"`), as the paths they resolve to from `base`, the
    /// importing file's path. A statement starts a line and may span lines up to its `;`.
    fn imports(base: &str, source: &str) -> Vec<String> {
        let dir = &base[..base.rfind('/').unwrap()];
        let mut found = Vec::new();
        let mut rest = source;
        while !rest.is_empty() {
            let line = rest.trim_start_matches([' ', '\t']);
            let statement = line.split(';').next().unwrap_or("");
            let is_import = line.starts_with("import ") || line.starts_with("import{") || line.starts_with("import\"") || line.starts_with("import'");
            let is_reexport = line.starts_with("export ") && statement.contains(" from ");
            if is_import || is_reexport {
                let specifier = statement.trim_end().rsplit(['"', '\'']).nth(1).expect("an import names its module in quotes");
                let mut path: Vec<&str> = dir.split('/').collect();
                for part in specifier.split('/') {
                    match part {
                        "." => {}
                        ".." => {
                            path.pop();
                        }
                        _ => path.push(part),
                    }
                }
                found.push(path.join("/"));
            }
            rest = rest.split_once('\n').map_or("", |(_, next)| next);
        }
        found
    }

    #[test]
    fn every_module_imported_is_served_and_every_module_served_is_imported() {
        let mut reached = vec!["/ui/app.js".to_string()];
        for module in modules() {
            for import in imports(module.path, module.body) {
                assert!(ASSETS.iter().any(|a| a.path == import), "{} imports {import}, which is not served", module.path);
                reached.push(import);
            }
        }
        for module in modules() {
            assert!(reached.iter().any(|r| r == module.path), "{} is served but nothing imports it", module.path);
        }
    }

    #[test]
    fn imports_resolve_as_the_browser_resolves_them() {
        let source = "// x; y\nimport { h, fill } from \"./dom.js\";\nimport {\n  a,\n} from './b.js';\nimport \"../c.js\";\nexport { d } from \"./d.js\";\nconst y = \"import x from './no.js'\";";
        assert_eq!(imports("/ui/pages/x.js", source), ["/ui/pages/dom.js", "/ui/pages/b.js", "/ui/c.js", "/ui/pages/d.js"]);
    }

    /// The Live events list listens for the names at this place of the OpenAPI document.
    #[test]
    fn the_openapi_document_lists_every_event_where_the_page_reads_them() {
        let doc = serde_json::to_value(crate::api::openapi::document(1 << 20)).unwrap();
        let names: Vec<&str> = doc["components"]["schemas"]["Event"]["enum"]
            .as_array()
            .expect("components.schemas.Event.enum")
            .iter()
            .filter_map(|n| n.as_str())
            .collect();
        let all: Vec<&str> = svcflow_model::event::Event::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(names, all);
        let events = ASSETS.iter().find(|a| a.path == "/ui/events.js").unwrap().body;
        assert!(events.contains("\"/openapi.json\"") && events.contains("components.schemas.Event.enum"));
    }
}
