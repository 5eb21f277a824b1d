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
    assert_error(call(f.client(Some(&f.stranger)).get(&whoami)).await, 401, "unauthenticated", "has no identity");

    // Authenticated, but no peer reachable: 503 after trying, never a hang or a 500.
    let c = f.as_user("User1");
    assert_error(call(c.get(&whoami)).await, 503, "unavailable", "");

    // Bad input is refused before anything reaches Fabric or the store.
    assert_error(call(c.post(f.url("/v1/projects")).body("{\"id\":")).await, 400, "bad_request", "invalid JSON");
    assert_error(call(c.post(f.url("/v1/projects"))).await, 400, "bad_request", "JSON body is required");
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
    assert!(metrics.contains(r#"svcflow_http_requests_total{method="GET",route="/v1/whoami",status="401"} 4"#), "{metrics}");
}
