//! The HTTPS listener and client-certificate authentication.
//!
//! The handshake asks for a client certificate but never fails over it: the verification result
//! is kept with the connection and the request is answered with a JSON 401 that says what was
//! wrong (none sent, not issued by the org's CA, expired), which a bare TLS alert cannot.

use std::any::Any;
use std::path::Path;

use actix_tls::accept::openssl::TlsStream;
use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;
use openssl::ssl::{SslAcceptor, SslAcceptorBuilder, SslFiletype, SslMethod, SslVerifyMode};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509Crl, X509VerifyResult, X509};

use crate::config::Server;
use crate::startup::StartError;
use crate::wallet::Revoked;

/// What the TLS layer learnt about the client of one connection.
#[derive(Clone, Debug)]
pub enum ClientCert {
    None,
    /// The certificate (DER) and, when the chain did not verify, why.
    Presented {
        der: Vec<u8>,
        verify_error: Option<String>,
    },
}

fn read_pem_certs(path: &Path, key: &'static str) -> Result<Vec<X509>, StartError> {
    let pem = std::fs::read(path).map_err(|e| StartError::tls_file(key, path, e))?;
    let certs = X509::stack_from_pem(&pem).map_err(|e| StartError::tls_file(key, path, e))?;
    if certs.is_empty() {
        return Err(StartError::tls_file(key, path, "no certificate in it"));
    }
    Ok(certs)
}

/// The acceptor for `server`: its certificate and key, and the client CAs it trusts.
pub fn acceptor(server: &Server) -> Result<SslAcceptorBuilder, StartError> {
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).map_err(StartError::Tls)?;
    b.set_certificate_chain_file(&server.tls_cert).map_err(|e| StartError::tls_file("server.tls_cert", &server.tls_cert, e))?;
    b.set_private_key_file(&server.tls_key, SslFiletype::PEM).map_err(|e| StartError::tls_file("server.tls_key", &server.tls_key, e))?;
    b.check_private_key().map_err(|e| StartError::tls_file("server.tls_key", &server.tls_key, format!("does not match server.tls_cert ({e})")))?;
    let mut store = X509StoreBuilder::new().map_err(StartError::Tls)?;
    for path in &server.client_ca {
        for cert in read_pem_certs(path, "server.client_ca")? {
            b.add_client_ca(&cert).map_err(|e| StartError::tls_file("server.client_ca", path, e))?;
            store.add_cert(cert).map_err(|e| StartError::tls_file("server.client_ca", path, e))?;
        }
    }
    b.set_verify_cert_store(store.build()).map_err(StartError::Tls)?;
    // Accept the handshake whatever the chain says; the result is read back per connection.
    b.set_verify_callback(SslVerifyMode::PEER, |_ok, _ctx| true);
    // With client certificates asked for, OpenSSL refuses to resume a session (a fatal alert, the
    // handshake fails) unless the server names a session id context. Browsers resume on their
    // second connection, so without it every page load broke; the resumed session keeps the
    // client certificate and its verify result, which `on_connect` reads as on a full handshake.
    b.set_session_id_context(b"svcflow-gateway").map_err(StartError::Tls)?;
    Ok(b)
}

/// The certificates the CRLs of `server.client_crl` revoke (one CRL, PEM, per file). Each CRL
/// must be signed by one of the `client_ca`s: a CRL of another CA revokes nothing a caller
/// could present, and one that does not verify is no evidence.
pub fn revoked(server: &Server) -> Result<Revoked, StartError> {
    const KEY: &str = "server.client_crl";
    let mut revoked = Revoked::default();
    if server.client_crl.is_empty() {
        return Ok(revoked);
    }
    let mut cas = Vec::new();
    for path in &server.client_ca {
        cas.extend(read_pem_certs(path, "server.client_ca")?);
    }
    for path in &server.client_crl {
        let pem = std::fs::read(path).map_err(|e| StartError::tls_file(KEY, path, e))?;
        let crl = X509Crl::from_pem(&pem).map_err(|e| StartError::tls_file(KEY, path, format!("not a PEM CRL ({e})")))?;
        let issuer = crl.issuer_name().to_der().map_err(|e| StartError::tls_file(KEY, path, e))?;
        let ca = cas
            .iter()
            .find(|ca| ca.subject_name().to_der().is_ok_and(|s| s == issuer))
            .ok_or_else(|| StartError::tls_file(KEY, path, "its issuer is none of server.client_ca"))?;
        let key = ca.public_key().map_err(|e| StartError::tls_file(KEY, path, e))?;
        if !crl.verify(&key).map_err(|e| StartError::tls_file(KEY, path, e))? {
            return Err(StartError::tls_file(KEY, path, "its signature does not verify with its issuer's key in server.client_ca"));
        }
        for r in crl.get_revoked().into_iter().flatten() {
            let serial = r.serial_number().to_bn().map_err(|e| StartError::tls_file(KEY, path, e))?;
            revoked.insert(issuer.clone(), serial.to_vec());
        }
        if let Some(next) = crl.next_update() {
            if openssl::asn1::Asn1Time::days_from_now(0).is_ok_and(|now| *next < now) {
                tracing::warn!(crl = %path.display(), next_update = %next, "a client CRL is past its next update; certificates revoked since are not refused");
            }
        }
    }
    Ok(revoked)
}

/// `HttpServer::on_connect` hook: records the client certificate of the connection.
pub fn on_connect(conn: &dyn Any, ext: &mut Extensions) {
    let Some(tls) = conn.downcast_ref::<TlsStream<TcpStream>>() else {
        ext.insert(ClientCert::None);
        return;
    };
    let ssl = tls.ssl();
    let cert = match ssl.peer_certificate() {
        None => ClientCert::None,
        Some(c) => {
            let result = ssl.verify_result();
            ClientCert::Presented {
                der: c.to_der().unwrap_or_default(),
                verify_error: (result != X509VerifyResult::OK).then(|| result.error_string().to_owned()),
            }
        }
    };
    ext.insert(cert);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_certificate_is_named_with_its_key_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let server = Server {
            listen: "127.0.0.1:0".into(),
            tls_cert: dir.path().join("server.crt"),
            tls_key: dir.path().join("server.key"),
            client_ca: vec![dir.path().join("ca.pem")],
            upload_limit_bytes: 1,
            journal_dir: dir.path().join("journal"),
            sweep_after_ms: 1,
            give_up_ordering_ms: 1,
            workers: None,
            allowed_origins: Vec::new(),
            client_crl: Vec::new(),
            health_ttl_ms: 1,
        };
        let e = acceptor(&server).err().expect("no certificate, no acceptor");
        assert!(matches!(&e, StartError::TlsFile { key: "server.tls_cert", path, .. } if *path == server.tls_cert), "{e}");
        let shown = e.to_string();
        assert!(shown.starts_with("server.tls_cert ") && shown.contains(&server.tls_cert.display().to_string()), "{shown}");
    }
}
