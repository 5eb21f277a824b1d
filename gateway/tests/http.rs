//! The real `svcflow-gateway` HTTPS server (openssl, client certificates) answered over a real TLS
//! connection, with no Fabric peer reachable: authentication, error bodies, bad input and the
//! meta routes, none of which needs the network. The live suite (tests/gateway_test.sh) covers
//! the rest against a real Fabric network and RGW.

use std::path::Path;
use std::time::Duration;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use svcflow_gateway::config::Config;

fn key() -> PKey<Private> {
    PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap()).unwrap()
}

fn days(d: i64) -> Asn1Time {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    Asn1Time::from_unix(now + d * 86_400).unwrap()
}

/// A certificate for `cn` signed by `issuer` (self-signed when `None`), valid `from..to` days.
fn cert(cn: &str, k: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>, from: i64, to: i64, ca: bool) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(rand_u32()).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map(|(c, _)| c.subject_name()).unwrap_or(&name)).unwrap();
    b.set_pubkey(k).unwrap();
    b.set_not_before(&days(from)).unwrap();
    b.set_not_after(&days(to)).unwrap();
    if ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap()).unwrap();
    } else {
        let san = SubjectAlternativeName::new().ip("127.0.0.1").dns("localhost").build(&b.x509v3_context(issuer.map(|(c, _)| &**c), None)).unwrap();
        b.append_extension(san).unwrap();
    }
    b.sign(issuer.map(|(_, k)| k).unwrap_or(k), MessageDigest::sha256()).unwrap();
    b.build()
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    openssl::rand::rand_bytes(&mut b).unwrap();
    u32::from_le_bytes(b) >> 1
}

fn write(p: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

struct Fixture {
    _dir: tempfile::TempDir,
    port: u16,
    ca_pem: Vec<u8>,
    /// (cert, key) PEMs
    user: (Vec<u8>, Vec<u8>),
    expired: (Vec<u8>, Vec<u8>),
    stranger: (Vec<u8>, Vec<u8>),
    other_ca: (Vec<u8>, Vec<u8>),
}

fn pem_pair(c: &X509, k: &PKey<Private>) -> (Vec<u8>, Vec<u8>) {
    (c.to_pem().unwrap(), k.private_key_to_pem_pkcs8().unwrap())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the gateway on a free port with a fresh CA, wallet and fs store; its only peer is a
/// port nobody listens on.
fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca_key = key();
    let ca = cert("tlsca.org1.test", &ca_key, None, -1, 365, true);
    let server_key = key();
    let server = cert("gateway.org1.test", &server_key, Some((&ca, &ca_key)), -1, 365, false);
    write(&d.join("ca.pem"), &ca.to_pem().unwrap());
    write(&d.join("server.crt"), &server.to_pem().unwrap());
    write(&d.join("server.key"), &server_key.private_key_to_pem_pkcs8().unwrap());
    // The wallet: User1's enrollment cert and key (a separate CA in Fabric; any cert will do here).
    let enroll_key = key();
    let enroll = cert("User1@org1.test", &enroll_key, None, -1, 365, false);
    write(&d.join("users/User1@org1.test/msp/signcerts/cert.pem"), &enroll.to_pem().unwrap());
    write(&d.join("users/User1@org1.test/msp/keystore/priv_sk"), &enroll_key.private_key_to_pem_pkcs8().unwrap());
    let uk = key();
    let user = pem_pair(&cert("User1@org1.test", &uk, Some((&ca, &ca_key)), -1, 30, false), &uk);
    let ek = key();
    let expired = pem_pair(&cert("User1@org1.test", &ek, Some((&ca, &ca_key)), -30, -1, false), &ek);
    let sk = key();
    let stranger = pem_pair(&cert("User9@org1.test", &sk, Some((&ca, &ca_key)), -1, 30, false), &sk);
    let ok = key();
    let other = cert("tlsca.org2.test", &ok, None, -1, 365, true);
    let xk = key();
    let other_ca = pem_pair(&cert("User1@org1.test", &xk, Some((&other, &ok)), -1, 30, false), &xk);
    write(&d.join("peer-ca.pem"), &ca.to_pem().unwrap());

    let port = free_port();
    let dead_peer = free_port();
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
tls_cert = "{d}/server.crt"
tls_key = "{d}/server.key"
client_ca = ["{d}/ca.pem"]
journal_dir = "{d}/journal"
upload_limit_bytes = 1000
workers = 1

[fabric]
msp_id = "Org1MSP"
wallet = "{d}/users"
peers = [{{ address = "127.0.0.1:{dead_peer}", tls_ca = "{d}/peer-ca.pem" }}]
timeout_ms = 1000

[storage]
backend = "fs"
path = "{d}/objects"
"#,
        d = d.display()
    );
    let cfg = Config::from_toml(&toml, "test", Vec::new()).expect("config");
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let state = svcflow_gateway::server::build_state(cfg).await.expect("state");
            svcflow_gateway::server::run(state).await.expect("server");
        })
    });
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Fixture { _dir: dir, port, ca_pem: ca.to_pem().unwrap(), user, expired, stranger, other_ca }
}

impl Fixture {
    fn client(&self, id: Option<&(Vec<u8>, Vec<u8>)>) -> reqwest::Client {
        let mut b =
            reqwest::Client::builder().add_root_certificate(reqwest::Certificate::from_pem(&self.ca_pem).unwrap()).timeout(Duration::from_secs(20));
        if let Some((c, k)) = id {
            b = b.identity(reqwest::Identity::from_pkcs8_pem(c, k).unwrap());
        }
        b.build().unwrap()
    }
    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }
}

/// Sends and returns (status, JSON body or Null).
async fn call(rb: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let r = rb.send().await.expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
}

fn assert_error(got: (u16, serde_json::Value), status: u16, code: &str, says: &str) {
    assert_eq!(got.0, status, "{:?}", got.1);
    assert_eq!(got.1["code"], code, "{:?}", got.1);
    let msg = got.1["message"].as_str().unwrap_or_default();
    assert!(msg.contains(says), "message {msg:?} should say {says:?}");
}

#[tokio::test]
async fn authentication_errors_and_meta_routes_over_real_tls() {
    let f = start();
    let whoami = f.url("/v1/whoami");

    // Authentication: every refusal is a JSON 401 naming the reason.
    assert_error(call(f.client(None).get(&whoami)).await, 401, "unauthenticated", "client certificate");
    assert_error(call(f.client(Some(&f.other_ca)).get(&whoami)).await, 401, "unauthenticated", "refused");
    assert_error(call(f.client(Some(&f.expired)).get(&whoami)).await, 401, "unauthenticated", "expired");
    assert_error(call(f.client(Some(&f.stranger)).get(&whoami)).await, 401, "unauthenticated", "has no identity");

    // Authenticated, but no peer reachable: 503 after trying, never a hang or a 500.
    let c = f.client(Some(&f.user));
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
    assert_error(call(c.delete(f.url("/v1/projects"))).await, 404, "not_found", "no route");
    let big = format!("\"{}\"", "a".repeat(70_000));
    assert_error(call(c.post(f.url("/v1/projects")).body(big)).await, 413, "payload_too_large", "JSON body");

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
