//! Requests a page of another origin makes the browser send. A browser presents the user's client
//! certificate to the gateway whichever page asks, so a foreign page could otherwise create,
//! change or upload as that user (a form POST, or `fetch` in `no-cors` mode, needs no CORS
//! permission). Browsers name the page's origin in `Origin` and its relation to the target in
//! `Sec-Fetch-Site` on every such request, and a page cannot forge either; clients that are not
//! browsers (curl, the CLI, scripts) send neither and are not affected.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HOST, ORIGIN};
use actix_web::http::Method;
use actix_web::ResponseError;

use super::error::{ApiError, Failure};
use super::state::State;

const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Why a request is refused as cross-origin, for its 403.
#[derive(Debug, PartialEq, Eq)]
pub struct CrossOrigin(String);

/// Whether the request may go on. `host` is the request's `Host` (the gateway's own origin is
/// `https://` + it); `allowed` are further origins (`server.allowed_origins`). Methods that
/// change nothing always may: a foreign page can make a browser send them, but cannot read the
/// answer.
pub fn check(method: &Method, headers: &HeaderMap, host: Option<&str>, allowed: &[String]) -> Result<(), CrossOrigin> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let header = |name| headers.get(name).map(|v| v.to_str().unwrap_or("(not text)"));
    let origin = header(ORIGIN);
    // Configured on purpose: such a page is cross-site by the browser's account and still welcome.
    if let Some(o) = origin {
        if allowed.iter().any(|a| a.eq_ignore_ascii_case(o)) {
            return Ok(());
        }
    }
    if let Some(site) = header(actix_web::http::header::HeaderName::from_static(SEC_FETCH_SITE)) {
        if !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none")) {
            return Err(CrossOrigin(format!(
                "a {method} from another site's page is refused (Sec-Fetch-Site: {site}); only the gateway's own pages{} may change anything",
                also(allowed)
            )));
        }
    }
    if let Some(o) = origin {
        let own = host.map(|h| format!("https://{h}"));
        if !own.as_deref().is_some_and(|own| own.eq_ignore_ascii_case(o)) {
            return Err(CrossOrigin(format!(
                "a {method} from a page of {o} is refused; only pages of {}{} may change anything",
                own.as_deref().unwrap_or("the gateway's own origin"),
                also(allowed)
            )));
        }
    }
    Ok(())
}

fn also(allowed: &[String]) -> String {
    if allowed.is_empty() {
        " (server.allowed_origins adds others)".into()
    } else {
        format!(" and of {}", allowed.join(", "))
    }
}

/// Middleware: `check` on every request, a 403 `{code, message}` when it fails.
pub async fn same_origin<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: actix_web::middleware::Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    // HTTP/2 carries the host as the URI's authority, HTTP/1.1 in `Host`.
    let host = req.headers().get(HOST).and_then(|h| h.to_str().ok()).map(str::to_owned).or_else(|| req.uri().authority().map(|a| a.to_string()));
    let allowed = req.app_data::<State>().map(|s| s.cfg.server.allowed_origins.clone()).unwrap_or_default();
    match check(req.method(), req.headers(), host.as_deref(), &allowed) {
        Ok(()) => Ok(next.call(req).await?.map_into_left_body()),
        Err(CrossOrigin(message)) => {
            let res = Failure::from(ApiError::Forbidden(message)).error_response();
            Ok(req.into_response(res).map_into_right_body())
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    const HOST: Option<&str> = Some("127.0.0.1:7443");

    #[test]
    fn writes_from_other_origins_are_refused() {
        let allowed = ["https://ops.example".to_owned()];
        let refused: &[(&Method, &[(&str, &str)])] = &[
            (&Method::POST, &[("origin", "http://127.0.0.1:8000")]),
            (&Method::POST, &[("origin", "https://127.0.0.1:8443")]),
            (&Method::POST, &[("origin", "http://127.0.0.1:7443")]),
            (&Method::PUT, &[("origin", "null")]),
            (&Method::PATCH, &[("sec-fetch-site", "cross-site")]),
            (&Method::POST, &[("sec-fetch-site", "same-site")]),
            (&Method::DELETE, &[("sec-fetch-site", "cross-site"), ("origin", "https://127.0.0.1:7443")]),
            (&Method::POST, &[("origin", "https://127.0.0.1:7443"), ("sec-fetch-site", "same-site")]),
        ];
        for (m, h) in refused {
            let e = check(m, &headers(h), HOST, &allowed).expect_err(&format!("{m} {h:?}"));
            assert!(e.0.contains("refused") && e.0.contains("https://ops.example"), "{}", e.0);
        }
        let e = check(&Method::POST, &headers(&[("origin", "https://evil.test")]), HOST, &[]).unwrap_err();
        assert!(e.0.contains("https://evil.test") && e.0.contains("https://127.0.0.1:7443") && e.0.contains("server.allowed_origins"), "{}", e.0);
        // A request naming an origin but no host has no origin of its own to match.
        assert!(check(&Method::POST, &headers(&[("origin", "https://127.0.0.1:7443")]), None, &[]).is_err());
    }

    #[test]
    fn own_pages_allowed_origins_reads_and_non_browsers_pass() {
        let allowed = ["https://ops.example".to_owned()];
        let passed: &[(&Method, &[(&str, &str)])] = &[
            (&Method::POST, &[]),
            (&Method::POST, &[("origin", "https://127.0.0.1:7443"), ("sec-fetch-site", "same-origin")]),
            (&Method::POST, &[("origin", "HTTPS://127.0.0.1:7443")]),
            (&Method::PUT, &[("sec-fetch-site", "none")]),
            (&Method::POST, &[("origin", "https://ops.example"), ("sec-fetch-site", "cross-site")]),
            (&Method::GET, &[("origin", "https://evil.test"), ("sec-fetch-site", "cross-site")]),
            (&Method::HEAD, &[("sec-fetch-site", "cross-site")]),
            (&Method::OPTIONS, &[("origin", "null")]),
        ];
        for (m, h) in passed {
            assert_eq!(check(m, &headers(h), HOST, &allowed), Ok(()), "{m} {h:?}");
        }
    }
}
