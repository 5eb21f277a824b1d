//! The org's wallet: the signing identities of its users, and the rule that maps a caller's TLS
//! client certificate to one of them.
//!
//! Rule: the TLS layer has already verified the client certificate against the org's TLS CA; its
//! subject CN (cryptogen: `User1@org1.svcflow.local`) names the wallet entry
//! `<users>/<CN>/msp/{signcerts/*.pem, keystore/*}` whose enrollment certificate carries the same CN.
//! Every proposal is then signed with that user's key, never with a shared identity.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::nid::Nid;
use openssl::x509::X509;

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
    #[error("client certificate has no subject CN")]
    NoCommonName,
    #[error("{cn} has no identity in {msp_id}'s wallet")]
    Unknown { cn: String, msp_id: String },
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

#[derive(Debug)]
pub struct Wallet {
    msp_id: String,
    users: HashMap<String, UserIdentity>,
}

fn common_name(cert: &X509) -> Option<String> {
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
            let cert_pem = std::fs::read(&cert_path).map_err(|e| StartError::wallet(&cert_path, e))?;
            let cert = X509::from_pem(&cert_pem).map_err(|e| StartError::wallet(&cert_path, e))?;
            let name = common_name(&cert).ok_or_else(|| StartError::wallet(&cert_path, "no subject CN"))?;
            users.insert(name.clone(), UserIdentity { name, msp_id: msp_id.to_owned(), cert_pem, key_path });
        }
        if users.is_empty() {
            return Err(StartError::wallet(users_dir, "holds no user (expected <user>/msp/signcerts and keystore)"));
        }
        Ok(Self { msp_id: msp_id.to_owned(), users })
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

    /// The user a (TLS-verified) client certificate stands for; 401 when expired or unknown.
    pub fn for_client_cert(&self, der: &[u8]) -> Result<&UserIdentity, WalletError> {
        let cert = X509::from_der(der).map_err(|_| WalletError::Unreadable)?;
        let now = Asn1Time::days_from_now(0).map_err(|e| WalletError::Clock(e.to_string()))?;
        if cert.not_after() < now {
            return Err(WalletError::Expired(cert.not_after().to_string()));
        }
        if cert.not_before() > now {
            return Err(WalletError::NotYetValid(cert.not_before().to_string()));
        }
        let cn = common_name(&cert).ok_or(WalletError::NoCommonName)?;
        self.users.get(&cn).ok_or_else(|| WalletError::Unknown { cn, msp_id: self.msp_id.clone() })
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

    fn wallet_with(dir: &Path, cn: &str) {
        let msp = dir.join(cn).join("msp");
        std::fs::create_dir_all(msp.join("signcerts")).unwrap();
        std::fs::create_dir_all(msp.join("keystore")).unwrap();
        let (c, k) = cert(cn, -1, 365);
        std::fs::write(msp.join("signcerts").join("cert.pem"), c.to_pem().unwrap()).unwrap();
        std::fs::write(msp.join("keystore").join("priv_sk"), k).unwrap();
    }

    #[test]
    fn maps_client_certs_by_cn_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        wallet_with(dir.path(), "User1@org1.svcflow.local");
        wallet_with(dir.path(), "Admin@org1.svcflow.local");
        let w = Wallet::open(dir.path(), "Org1MSP").unwrap();
        assert_eq!(w.len(), 2);
        let (tls, _) = cert("User1@org1.svcflow.local", -1, 30);
        let u = w.for_client_cert(&tls.to_der().unwrap()).unwrap();
        assert_eq!((u.name.as_str(), u.msp_id.as_str()), ("User1@org1.svcflow.local", "Org1MSP"));
        for (c, why) in [
            (cert("User9@org1.svcflow.local", -1, 30).0, "has no identity"),
            (cert("User1@org1.svcflow.local", -30, -1).0, "expired"),
            (cert("User1@org1.svcflow.local", 2, 30).0, "not valid before"),
        ] {
            let e = w.for_client_cert(&c.to_der().unwrap()).unwrap_err();
            assert!(!matches!(e, WalletError::Clock(_)), "{e}");
            assert!(e.to_string().contains(why), "{e}");
        }
        assert!(matches!(w.for_client_cert(b"junk").unwrap_err(), WalletError::Unreadable));
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
