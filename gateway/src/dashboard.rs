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

const ASSETS: &[Asset] = &[
    Asset { path: "/", media_type: "text/html; charset=utf-8", body: include_str!("../dashboard/index.html") },
    Asset { path: "/ui/app.js", media_type: "text/javascript; charset=utf-8", body: include_str!("../dashboard/app.js") },
    Asset { path: "/ui/app.css", media_type: "text/css; charset=utf-8", body: include_str!("../dashboard/app.css") },
    Asset { path: "/ui/icon.svg", media_type: "image/svg+xml", body: include_str!("../dashboard/icon.svg") },
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
    }
}
