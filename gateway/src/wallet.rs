//! The org's wallet: the signing identities of its users, and the rule that maps a caller's TLS
//! client certificate to one of them.
//!
//! Rule: the TLS layer has already verified the client certificate against the org's TLS CA(s);
//! the certificate itself, by the SHA-256 of its DER, names the wallet entry
//! `<users>/<name>/{tls/client.crt, msp/signcerts/*.pem, msp/keystore/*}` that holds exactly that
//! certificate (as its TLS client certificate, or as its enrollment certificate). Never the CN
//! alone: any CA the gateway trusts could issue a certificate with an Admin's CN. A certificate a
//! CRL of `server.client_crl` revokes stands for no one. Every proposal is then signed with that
//! user's key, never with a shared identity.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::x509::{X509Ref, X509};

use crate::startup::StartError;

/// Why a client certificate stands for no wallet user: the caller is not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("unreadable client certificate")]
    Unreadable,
    #[error("client certificate expired at {0}")]
    Expired(String),
    #[error("client certificate not valid before {0}")]
    NotYetValid(String),
    /// Issued by a trusted CA, but no wallet user holds this very certificate.
    #[error("this client certificate ({subject}, serial {serial}) is no identity in {msp_id}'s wallet")]
    Unknown { subject: String, serial: String, msp_id: String },
    #[error("client certificate {subject} (serial {serial}) is revoked")]
    Revoked { subject: String, serial: String },
    /// The clock could not be read: not the caller's fault.
    #[error("reading the time: {0}")]
    Clock(String),
}

/// One user's signing identity.
#[derive(Clone, Debug)]
pub struct UserIdentity {
    pub name: String,
    pub msp_id: String,
    pub cert_pem: Vec<u8>,
    pub key_path: PathBuf,
}

/// Certificates revoked by the CRLs of `server.client_crl`: (issuer name DER, serial number).
#[derive(Debug, Default)]
pub struct Revoked(HashSet<(Vec<u8>, Vec<u8>)>);

impl Revoked {
    pub fn insert(&mut self, issuer_der: Vec<u8>, serial: Vec<u8>) {
        self.0.insert((issuer_der, serial));
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn contains(&self, cert: &X509Ref) -> bool {
        let Ok(issuer) = cert.issuer_name().to_der() else {
            return false;
        };
        let Ok(serial) = cert.serial_number().to_bn() else {
            return false;
        };
        self.0.contains(&(issuer, serial.to_vec()))
    }
}

#[derive(Debug)]
pub struct Wallet {
    msp_id: String,
    users: HashMap<String, UserIdentity>,
    /// SHA-256 of a certificate's DER → the user holding it.
    by_cert: HashMap<Vec<u8>, String>,
    revoked: Revoked,
}

fn fingerprint(cert: &X509Ref) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    Ok(cert.digest(MessageDigest::sha256())?.to_vec())
}

/// A key file others may read is refused: it would hand the user's identity to every local user.
fn check_key_mode(path: &Path) -> Result<(), StartError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).map_err(|e| StartError::wallet(path, e))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(StartError::wallet(path, format!("is open to others (mode {:o}); chmod 600 it", mode & 0o777)));
    }
    Ok(())
}

fn subject(cert: &X509Ref) -> String {
    common_name(cert).map_or_else(|| "with no CN".to_owned(), |cn| format!("CN={cn}"))
}

fn serial(cert: &X509Ref) -> String {
    cert.serial_number().to_bn().ok().and_then(|b| b.to_hex_str().ok()).map_or_else(|| "?".to_owned(), |h| h.to_string())
}

fn common_name(cert: &X509Ref) -> Option<String> {
    let entry = cert.subject_name().entries_by_nid(Nid::COMMONNAME).next()?;
    String::from_utf8(entry.data().as_slice().to_vec()).ok()
}

fn first_file(dir: &Path) -> std::io::Result<Option<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    files.sort();
    Ok(files.into_iter().next())
}

impl Wallet {
    /// Loads every user under `users_dir` that has a signing certificate and a key. A user whose
    /// files are unreadable is an error that names the file: a half-loaded wallet would turn
    /// into confusing 401s later.
    pub fn open(users_dir: &Path, msp_id: &str) -> Result<Self, StartError> {
        let entries = std::fs::read_dir(users_dir).map_err(|e| StartError::wallet(users_dir, e))?;
        let mut users = HashMap::new();
        let mut by_cert = HashMap::new();
        for entry in entries.filter_map(Result::ok) {
            let msp = entry.path().join("msp");
            if !msp.is_dir() {
                continue;
            }
            let read_first = |sub: &str| -> Result<PathBuf, StartError> {
                let dir = msp.join(sub);
                first_file(&dir).map_err(|e| StartError::wallet(&dir, e))?.ok_or_else(|| StartError::wallet(&dir, "is empty"))
            };
            let cert_path = read_first("signcerts")?;
            let key_path = read_first("keystore")?;
            check_key_mode(&key_path)?;
            let cert_pem = std::fs::read(&cert_path).map_err(|e| StartError::wallet(&cert_path, e))?;
            let cert = X509::from_pem(&cert_pem).map_err(|e| StartError::wallet(&cert_path, e))?;
            let name = common_name(&cert).ok_or_else(|| StartError::wallet(&cert_path, "no subject CN"))?;
            let mut certs = vec![(cert_path.clone(), cert)];
            let tls_path = entry.path().join("tls").join("client.crt");
            if tls_path.is_file() {
                let pem = std::fs::read(&tls_path).map_err(|e| StartError::wallet(&tls_path, e))?;
                certs.push((tls_path.clone(), X509::from_pem(&pem).map_err(|e| StartError::wallet(&tls_path, e))?));
            }
            for (path, c) in certs {
                let fp = fingerprint(&c).map_err(|e| StartError::wallet(&path, e))?;
                if let Some(other) = by_cert.insert(fp, name.clone()) {
                    if other != name {
                        return Err(StartError::wallet(&path, format!("is also {other}'s certificate: a caller must stand for one user")));
                    }
                }
            }
            users.insert(name.clone(), UserIdentity { name, msp_id: msp_id.to_owned(), cert_pem, key_path });
        }
        if users.is_empty() {
            return Err(StartError::wallet(users_dir, "holds no user (expected <user>/msp/signcerts and keystore)"));
        }
        Ok(Self { msp_id: msp_id.to_owned(), users, by_cert, revoked: Revoked::default() })
    }

    /// The wallet refusing the certificates `revoked` lists.
    pub fn revoking(self, revoked: Revoked) -> Self {
        Self { revoked, ..self }
    }

    pub fn msp_id(&self) -> &str {
        &self.msp_id
    }

    pub fn users(&self) -> impl Iterator<Item = &UserIdentity> {
        self.users.values()
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The user a (TLS-verified) client certificate stands for: 401 when expired, 403 when revoked
    /// or no user holds this very certificate.
    pub fn for_client_cert(&self, der: &[u8]) -> Result<&UserIdentity, WalletError> {
        let cert = X509::from_der(der).map_err(|_| WalletError::Unreadable)?;
        let now = Asn1Time::days_from_now(0).map_err(|e| WalletError::Clock(e.to_string()))?;
        if cert.not_after() < now {
            return Err(WalletError::Expired(cert.not_after().to_string()));
        }
        if cert.not_before() > now {
            return Err(WalletError::NotYetValid(cert.not_before().to_string()));
        }
        if self.revoked.contains(&cert) {
            return Err(WalletError::Revoked { subject: subject(&cert), serial: serial(&cert) });
        }
        let unknown = || WalletError::Unknown { subject: subject(&cert), serial: serial(&cert), msp_id: self.msp_id.clone() };
        let fp = fingerprint(&cert).map_err(|_| WalletError::Unreadable)?;
        self.by_cert.get(&fp).and_then(|name| self.users.get(name)).ok_or_else(unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::x509::{X509Builder, X509NameBuilder};

    /// A self-signed certificate for `cn`, valid from `from` to `to` days from now.
    fn cert(cn: &str, from: i64, to: i64) -> (X509, Vec<u8>) {
        let key = PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
        let name = name.build();
        let mut b = X509Builder::new().unwrap();
        let mut serial = openssl::bn::BigNum::new().unwrap();
        serial.rand(64, openssl::bn::MsbOption::MAYBE_ZERO, false).unwrap();
        b.set_serial_number(&serial.to_asn1_integer().unwrap()).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        let t = |d: i64| {
            Asn1Time::from_unix(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 + d * 86_400).unwrap()
        };
        b.set_not_before(&t(from)).unwrap();
        b.set_not_after(&t(to)).unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        (b.build(), key.private_key_to_pem_pkcs8().unwrap())
    }

    /// A wallet user `cn` (key file mode 0600): its TLS client certificate and enrollment
    /// certificate.
    fn wallet_with(dir: &Path, cn: &str) -> (X509, X509) {
        use std::os::unix::fs::PermissionsExt;
        let msp = dir.join(cn).join("msp");
        std::fs::create_dir_all(msp.join("signcerts")).unwrap();
        std::fs::create_dir_all(msp.join("keystore")).unwrap();
        std::fs::create_dir_all(dir.join(cn).join("tls")).unwrap();
        let (c, k) = cert(cn, -1, 365);
        std::fs::write(msp.join("signcerts").join("cert.pem"), c.to_pem().unwrap()).unwrap();
        let key = msp.join("keystore").join("priv_sk");
        std::fs::write(&key, k).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (tls, _) = cert(cn, -1, 30);
        std::fs::write(dir.join(cn).join("tls").join("client.crt"), tls.to_pem().unwrap()).unwrap();
        (tls, c)
    }

    #[test]
    fn maps_client_certs_by_the_whole_certificate_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let (tls1, enrollment1) = wallet_with(dir.path(), "User1@org1.svcflow.local");
        let (admin_tls, _) = wallet_with(dir.path(), "Admin@org1.svcflow.local");
        let w = Wallet::open(dir.path(), "Org1MSP").unwrap();
        assert_eq!(w.len(), 2);
        for c in [&tls1, &enrollment1] {
            let u = w.for_client_cert(&c.to_der().unwrap()).unwrap();
            assert_eq!((u.name.as_str(), u.msp_id.as_str()), ("User1@org1.svcflow.local", "Org1MSP"));
        }
        assert_eq!(w.for_client_cert(&admin_tls.to_der().unwrap()).unwrap().name, "Admin@org1.svcflow.local");
        // The same CN in a certificate of another key or CA is someone else.
        for (c, why) in [
            (cert("Admin@org1.svcflow.local", -1, 30).0, "is no identity in Org1MSP's wallet"),
            (cert("User9@org1.svcflow.local", -1, 30).0, "is no identity"),
            (cert("User1@org1.svcflow.local", -30, -1).0, "expired"),
            (cert("User1@org1.svcflow.local", 2, 30).0, "not valid before"),
        ] {
            let e = w.for_client_cert(&c.to_der().unwrap()).unwrap_err();
            assert!(!matches!(e, WalletError::Clock(_)), "{e}");
            assert!(e.to_string().contains(why), "{e}");
        }
        let e = w.for_client_cert(&cert("Admin@org1.svcflow.local", -1, 30).0.to_der().unwrap()).unwrap_err();
        assert!(matches!(&e, WalletError::Unknown { subject, .. } if subject == "CN=Admin@org1.svcflow.local"), "{e}");
        assert!(matches!(w.for_client_cert(b"junk").unwrap_err(), WalletError::Unreadable));
    }

    #[test]
    fn revoked_certificates_stand_for_no_one() {
        let dir = tempfile::tempdir().unwrap();
        let (tls1, _) = wallet_with(dir.path(), "User1@org1.svcflow.local");
        let (tls2, _) = wallet_with(dir.path(), "User2@org1.svcflow.local");
        let mut revoked = Revoked::default();
        revoked.insert(tls1.issuer_name().to_der().unwrap(), tls1.serial_number().to_bn().unwrap().to_vec());
        let w = Wallet::open(dir.path(), "Org1MSP").unwrap().revoking(revoked);
        let e = w.for_client_cert(&tls1.to_der().unwrap()).unwrap_err();
        assert!(matches!(e, WalletError::Revoked { .. }) && e.to_string().contains("User1@org1.svcflow.local"), "{e}");
        assert_eq!(w.for_client_cert(&tls2.to_der().unwrap()).unwrap().name, "User2@org1.svcflow.local");
    }

    #[test]
    fn a_key_file_others_may_read_is_refused_at_start() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        wallet_with(dir.path(), "User1@org1.svcflow.local");
        let key = dir.path().join("User1@org1.svcflow.local/msp/keystore/priv_sk");
        for mode in [0o644, 0o640, 0o604] {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = Wallet::open(dir.path(), "Org1MSP").unwrap_err();
            assert!(matches!(&e, StartError::Wallet { path, .. } if *path == key), "{e}");
            assert!(e.to_string().contains("chmod 600") && e.to_string().contains(&format!("{mode:o}")), "{e}");
        }
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(Wallet::open(dir.path(), "Org1MSP").is_ok());
    }

    #[test]
    fn an_empty_or_broken_wallet_is_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Wallet::open(dir.path(), "Org1MSP").unwrap_err().to_string().contains("holds no user"));
        let signcerts = dir.path().join("U").join("msp").join("signcerts");
        std::fs::create_dir_all(&signcerts).unwrap();
        let e = Wallet::open(dir.path(), "Org1MSP").unwrap_err();
        assert!(matches!(&e, StartError::Wallet { path, .. } if *path == signcerts), "{e}");
        assert!(e.to_string().contains("is empty"), "{e}");
        let missing = dir.path().join("nope");
        let e = Wallet::open(&missing, "Org1MSP").unwrap_err();
        assert!(e.to_string().starts_with(&format!("fabric.wallet {}: ", missing.display())), "{e}");
    }
}
