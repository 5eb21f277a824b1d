//! A real `svcflow-gateway` over real TLS with client certificates, for one org: a fresh TLS CA,
//! server certificate, wallet and fs store in a temp dir. Its ledger is either the configured
//! peers (here a port nobody listens on) or one given by the test (a fake).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
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
use svcflow_gateway::ledger::Ledger;

pub fn key() -> PKey<Private> {
    PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap()).unwrap()
}

fn days(d: i64) -> Asn1Time {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    Asn1Time::from_unix(now + d * 86_400).unwrap()
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    openssl::rand::rand_bytes(&mut b).unwrap();
    u32::from_le_bytes(b) >> 1
}

/// A certificate for `cn` (with subject OU `ou` when given, as Fabric's NodeOUs read it) signed by
/// `issuer` (self-signed when `None`), valid `from..to` days from now.
pub fn cert(cn: &str, ou: Option<&str>, k: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>, from: i64, to: i64, ca: bool) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    if let Some(ou) = ou {
        name.append_entry_by_nid(Nid::ORGANIZATIONALUNITNAME, ou).unwrap();
    }
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

pub fn write(p: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// A private key file, readable by its owner only (the gateway refuses anything laxer).
pub fn write_key(p: &Path, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    write(p, bytes);
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// `dir/crl.pem`: `ca`'s CRL revoking `revoked`, made by `openssl ca` (the crate builds no CRLs).
fn crl(dir: &Path, ca: &X509, ca_key: &PKey<Private>, revoked: &X509) {
    let c = dir.join("crl");
    write(&c.join("ca.pem"), &ca.to_pem().unwrap());
    write_key(&c.join("ca.key"), &ca_key.private_key_to_pem_pkcs8().unwrap());
    let mut serial = revoked.serial_number().to_bn().unwrap().to_hex_str().unwrap().to_string();
    if serial.len() % 2 == 1 {
        serial.insert(0, '0');
    }
    let subject = revoked.subject_name().entries().map(|e| format!("/CN={}", String::from_utf8_lossy(e.data().as_slice()))).collect::<String>();
    write(&c.join("index.txt"), format!("R\t300101000000Z\t250101000000Z\t{serial}\tunknown\t{subject}\n").as_bytes());
    let cnf = format!("[ca]\ndefault_ca=c\n[c]\ndatabase={d}/index.txt\ndefault_md=sha256\ndefault_crl_days=30\n", d = c.display());
    write(&c.join("ca.cnf"), cnf.as_bytes());
    let out = std::process::Command::new("openssl")
        .args(["ca", "-gencrl", "-batch", "-config"])
        .arg(c.join("ca.cnf"))
        .arg("-cert")
        .arg(c.join("ca.pem"))
        .arg("-keyfile")
        .arg(c.join("ca.key"))
        .arg("-out")
        .arg(dir.join("crl.pem"))
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl ca -gencrl: {}", String::from_utf8_lossy(&out.stderr));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A client certificate and key, PEM.
pub type Pems = (Vec<u8>, Vec<u8>);

fn pem_pair(c: &X509, k: &PKey<Private>) -> Pems {
    (c.to_pem().unwrap(), k.private_key_to_pem_pkcs8().unwrap())
}

/// A wallet user: its name (the certificates' CN) and its NodeOU role.
pub struct User {
    pub name: String,
    pub ou: String,
    /// The enrollment certificate the gateway signs with (what the chaincode sees), PEM.
    pub enrollment: Vec<u8>,
    /// The TLS client certificate a caller presents.
    pub tls: Pems,
}

pub struct Gateway {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub msp_id: String,
    pub ca_pem: Vec<u8>,
    pub users: Vec<User>,
    /// Client certificates that must be refused: expired, of a user the wallet lacks, of another CA.
    pub expired: Pems,
    pub stranger: Pems,
    pub other_ca: Pems,
    /// A wallet user's CN from a second CA the gateway trusts (`client_ca` lists both).
    pub same_cn_other_ca: Pems,
    /// A certificate of the org's CA that the gateway's CRL (`client_crl`) revokes.
    pub revoked: Pems,
}

/// What to start.
pub struct Options<'a> {
    /// `n` of `Org<n>MSP` / `org<n>.test`.
    pub org: u8,
    /// Wallet users as (name before the `@`, NodeOU).
    pub users: &'a [(&'a str, &'a str)],
    pub upload_limit: u64,
    /// Where files go: shared by the gateways of one test, like the fs store of a local network.
    pub objects: Option<&'a Path>,
    pub ledger: Option<Arc<dyn Ledger>>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Self { org: 1, users: &[("User1", "client")], upload_limit: 1000, objects: None, ledger: None }
    }
}

/// Starts the gateway on a free port and waits until it listens.
pub fn start(o: Options<'_>) -> Gateway {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let domain = format!("org{}.test", o.org);
    let msp_id = format!("Org{}MSP", o.org);
    let ca_key = key();
    let ca = cert(&format!("tlsca.{domain}"), None, &ca_key, None, -1, 365, true);
    let server_key = key();
    let server = cert(&format!("gateway.{domain}"), None, &server_key, Some((&ca, &ca_key)), -1, 365, false);
    write(&d.join("ca.pem"), &ca.to_pem().unwrap());
    write(&d.join("server.crt"), &server.to_pem().unwrap());
    write(&d.join("server.key"), &server_key.private_key_to_pem_pkcs8().unwrap());
    let mut users = Vec::new();
    for (short, ou) in o.users {
        let name = format!("{short}@{domain}");
        // The enrollment identity (from the org's CA in Fabric; any issuer will do here).
        let ek = key();
        let enrollment = cert(&name, Some(ou), &ek, None, -1, 365, false).to_pem().unwrap();
        write(&d.join(format!("users/{name}/msp/signcerts/cert.pem")), &enrollment);
        write_key(&d.join(format!("users/{name}/msp/keystore/priv_sk")), &ek.private_key_to_pem_pkcs8().unwrap());
        let tk = key();
        let tls = pem_pair(&cert(&name, None, &tk, Some((&ca, &ca_key)), -1, 30, false), &tk);
        // cryptogen's layout: the wallet knows a caller by this very certificate.
        write(&d.join(format!("users/{name}/tls/client.crt")), &tls.0);
        users.push(User { name, ou: (*ou).to_owned(), enrollment, tls });
    }
    let first = users.first().map(|u| u.name.clone()).unwrap_or_default();
    let ek = key();
    let expired = pem_pair(&cert(&first, None, &ek, Some((&ca, &ca_key)), -30, -1, false), &ek);
    let sk = key();
    let stranger = pem_pair(&cert(&format!("User9@{domain}"), None, &sk, Some((&ca, &ca_key)), -1, 30, false), &sk);
    let ok = key();
    let other = cert("tlsca.other.test", None, &ok, None, -1, 365, true);
    let xk = key();
    let other_ca = pem_pair(&cert(&first, None, &xk, Some((&other, &ok)), -1, 30, false), &xk);
    write(&d.join("peer-ca.pem"), &ca.to_pem().unwrap());
    let k2 = key();
    let ca2 = cert("tlsca.second.test", None, &k2, None, -1, 365, true);
    write(&d.join("ca2.pem"), &ca2.to_pem().unwrap());
    let sk2 = key();
    let same_cn_other_ca = pem_pair(&cert(&first, None, &sk2, Some((&ca2, &k2)), -1, 30, false), &sk2);
    let rk = key();
    let revoked_cert = cert(&first, None, &rk, Some((&ca, &ca_key)), -1, 30, false);
    let revoked = pem_pair(&revoked_cert, &rk);
    crl(d, &ca, &ca_key, &revoked_cert);

    let port = free_port();
    let dead_peer = free_port();
    let objects = o.objects.map(Path::to_path_buf).unwrap_or_else(|| d.join("objects"));
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
tls_cert = "{d}/server.crt"
tls_key = "{d}/server.key"
client_ca = ["{d}/ca.pem", "{d}/ca2.pem"]
client_crl = ["{d}/crl.pem"]
journal_dir = "{d}/journal"
upload_limit_bytes = {limit}
workers = 1

[fabric]
msp_id = "{msp_id}"
wallet = "{d}/users"
peers = [{{ address = "127.0.0.1:{dead_peer}", tls_ca = "{d}/peer-ca.pem" }}]
timeout_ms = 1000

[storage]
backend = "fs"
path = "{objects}"
"#,
        d = d.display(),
        limit = o.upload_limit,
        objects = objects.display(),
    );
    let cfg = Config::from_toml(&toml, "test", Vec::new()).expect("config");
    let ledger = o.ledger;
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let state = match ledger {
                Some(l) => svcflow_gateway::server::build_state_on(cfg, l).await,
                None => svcflow_gateway::server::build_state(cfg).await,
            };
            svcflow_gateway::server::run(state.expect("state")).await.expect("server");
        })
    });
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Gateway { dir, port, msp_id, ca_pem: ca.to_pem().unwrap(), users, expired, stranger, other_ca, same_cn_other_ca, revoked }
}

impl Gateway {
    pub fn user(&self, short: &str) -> &User {
        self.users.iter().find(|u| u.name.starts_with(&format!("{short}@"))).unwrap_or_else(|| panic!("no user {short}"))
    }

    /// Wallet user name → (MSP id, enrollment certificate): what a fake ledger needs to know who
    /// signed.
    pub fn identities(&self) -> HashMap<String, (String, Vec<u8>)> {
        self.users.iter().map(|u| (u.name.clone(), (self.msp_id.clone(), u.enrollment.clone()))).collect()
    }

    /// A client sending bodies as JSON unless a request names another content type (uploads).
    pub fn client(&self, id: Option<&Pems>) -> reqwest::Client {
        let json =
            reqwest::header::HeaderMap::from_iter([(reqwest::header::CONTENT_TYPE, reqwest::header::HeaderValue::from_static("application/json"))]);
        let mut b = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&self.ca_pem).unwrap())
            .default_headers(json)
            .timeout(Duration::from_secs(20));
        if let Some((c, k)) = id {
            b = b.identity(reqwest::Identity::from_pkcs8_pem(c, k).unwrap());
        }
        b.build().unwrap()
    }

    /// A client presenting `short`'s TLS certificate.
    pub fn as_user(&self, short: &str) -> reqwest::Client {
        self.client(Some(&self.user(short).tls))
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }
}

/// Sends and returns (status, JSON body or Null).
pub async fn call(rb: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let r = rb.send().await.expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
}

pub fn assert_error(got: (u16, serde_json::Value), status: u16, code: &str, says: &str) {
    assert_eq!(got.0, status, "{:?}", got.1);
    assert_eq!(got.1["code"], code, "{:?}", got.1);
    let msg = got.1["message"].as_str().unwrap_or_default();
    assert!(msg.contains(says), "message {msg:?} should say {says:?}");
}
