#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a failed unwrap is a failed test
//! The real `svcflow-gateway` HTTPS server (openssl, client certificates) answered over a real TLS
//! connection, with no Fabric peer reachable: authentication, error bodies, bad input and the
//! meta routes, none of which needs the network. The live suite (tests/gateway_test.sh) covers
//! the rest against a real Fabric network and RGW.

mod support;

use support::gateway::{assert_error, call, start, Options};

#[tokio::test]
async fn authentication_errors_and_meta_routes_over_real_tls() {
    let f = start(Options::default());
    let whoami = f.url("/v1/whoami");

    // Authentication: every refusal is a JSON 401 naming the reason.
    assert_error(call(f.client(None).get(&whoami)).await, 401, "unauthenticated", "client certificate");
    assert_error(call(f.client(Some(&f.other_ca)).get(&whoami)).await, 401, "unauthenticated", "refused");
    assert_error(call(f.client(Some(&f.expired)).get(&whoami)).await, 401, "unauthenticated", "expired");
    // A certificate of the org's CA that no wallet user holds, and one with a wallet user's CN
    // from another CA the gateway trusts: authenticated, standing for no one.
    assert_error(call(f.client(Some(&f.stranger)).get(&whoami)).await, 403, "forbidden", "is no identity");
    assert_error(call(f.client(Some(&f.same_cn_other_ca)).get(&whoami)).await, 403, "forbidden", "is no identity");
    assert_error(call(f.client(Some(&f.revoked)).get(&whoami)).await, 403, "forbidden", "revoked");

    // Authenticated, but no peer reachable: 503 after trying, never a hang or a 500.
    let c = f.as_user("User1");
    assert_error(call(c.get(&whoami)).await, 503, "unavailable", "");

    // Bad input is refused before anything reaches Fabric or the store.
    assert_error(call(c.post(f.url("/v1/projects")).body("{\"id\":")).await, 400, "bad_request", "invalid JSON");
    assert_error(call(c.post(f.url("/v1/projects"))).await, 400, "bad_request", "JSON body is required");
    // JSON only as application/json, on every route that takes it: a foreign page can send
    // text/plain or a form without asking first.
    for (method, path) in [
        (reqwest::Method::POST, "/v1/projects"),
        (reqwest::Method::POST, "/v1/projects/p/phases"),
        (reqwest::Method::PATCH, "/v1/projects/p/phases/ph"),
        (reqwest::Method::PUT, "/v1/projects/p/phases/ph/records/r"),
    ] {
        for ct in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
            let r = c.request(method.clone(), f.url(path)).header("content-type", ct).body(r#"{"id":"p","name":"n"}"#);
            assert_error(call(r).await, 415, "unsupported_media_type", "application/json");
        }
    }
    // A write from a page of another origin is refused before anything else; one from the
    // gateway's own pages, or from a client that is no browser, goes on (here to the 503 of no peer).
    let own = f.url("");
    for (h, v) in [("origin", "https://evil.test"), ("origin", "null"), ("sec-fetch-site", "cross-site"), ("sec-fetch-site", "same-site")] {
        let r = c.post(f.url("/v1/projects")).header(h, v).body(r#"{"id":"p","name":"n"}"#);
        assert_error(call(r).await, 403, "forbidden", "refused");
        let r = c.post(f.url("/v1/projects/p/phases/ph/files?name=a.txt")).header(h, v).header("content-type", "text/plain").body("x");
        assert_error(call(r).await, 403, "forbidden", "refused");
    }
    let same = c.post(f.url("/v1/projects")).header("origin", own.as_str()).header("sec-fetch-site", "same-origin").body(r#"{"id":"p","name":"n"}"#);
    assert_error(call(same).await, 503, "unavailable", "");
    let (s, _) = call(c.get(f.url("/v1/projects")).header("origin", "https://evil.test").header("sec-fetch-site", "cross-site")).await;
    assert_eq!(s, 503, "a read is no write: it goes on");
    assert_error(call(c.post(f.url("/v1/projects/p/phases")).body("[1]")).await, 400, "bad_request", "object");
    assert_error(call(c.post(f.url("/v1/projects/p/phases/ph/files?name=../x")).body("x")).await, 400, "bad_request", "not a path");
    assert_error(call(c.post(f.url("/v1/projects/p/phases/ph/files?name=a&id=a%2Fb")).body("x")).await, 400, "bad_request", "file id");
    assert_error(call(c.post(f.url("/v1/projects/p/phases/ph/files")).body("x")).await, 400, "bad_request", "name");
    assert_error(call(c.post(f.url("/v1/projects/p/phases/ph/files?name=a")).body(vec![0u8; 2000])).await, 413, "payload_too_large", "limit");
    assert_error(call(c.get(f.url("/v1/projects?page_size=x"))).await, 400, "bad_request", "bad query");
    assert_error(call(c.get(f.url("/v1/nothing"))).await, 404, "not_found", "no route");
    assert_error(call(c.delete(f.url("/v1/projects"))).await, 405, "method_not_allowed", "not allowed");
    let big = format!("\"{}\"", "a".repeat(70_000));
    assert_error(call(c.post(f.url("/v1/projects")).body(big)).await, 413, "payload_too_large", "JSON body");

    // A path that has routes, asked with a method none of them serves: 405 naming those it has,
    // before any authentication.
    for (method, path, allow) in [("TRACE", "/v1/projects", "GET, POST"), ("DELETE", "/v1/projects", "GET, POST"), ("PUT", "/healthz", "GET")] {
        let res = f.client(None).request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), f.url(path)).send().await.unwrap();
        assert_eq!(res.headers().get("allow").and_then(|v| v.to_str().ok()), Some(allow), "{method} {path}");
        let status = res.status().as_u16();
        let body = serde_json::from_str(&res.text().await.unwrap()).unwrap();
        assert_error((status, body), 405, "method_not_allowed", &format!("allows {allow}"));
    }
    assert_error(call(f.client(None).get(f.url("/v1/projects/p/nothing"))).await, 404, "not_found", "no route");

    // Meta routes need no client certificate.
    let anon = f.client(None);
    let (s, health) = call(anon.get(f.url("/healthz"))).await;
    assert_eq!((s, health["status"].as_str()), (503, Some("unavailable")), "{health}");
    assert_eq!(health["storage"], "ok");
    let (s, spec) = call(anon.get(f.url("/openapi.json"))).await;
    assert_eq!(s, 200);
    assert!(spec["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let docs = anon.get(f.url("/docs")).send().await.unwrap().text().await.unwrap();
    assert!(docs.contains("/v1/projects/{project}/phases"), "docs page lists the routes");
    let metrics = anon.get(f.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"svcflow_http_requests_total{method="GET",route="/v1/whoami",status="401"} 3"#), "{metrics}");
    assert!(metrics.contains(r#"svcflow_http_requests_total{method="GET",route="/v1/whoami",status="403"} 3"#), "{metrics}");
}
