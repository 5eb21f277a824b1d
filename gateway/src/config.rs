//! The gateway's configuration: one typed struct, read from a TOML file, overridden by
//! `SVCFLOW_GW_*` environment variables, and validated at start with a message naming the bad key.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("reading {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: {reason}")]
    Parse { path: String, reason: String },
    /// `key` is the TOML key (`fabric.peers`) or the environment variable that set it.
    #[error("bad value for {key}: {reason}")]
    Invalid { key: String, reason: String },
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.to_owned(), reason: reason.into() }
}

/// The gateway's settings, checked whole: a `Config` exists only if every key was valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub server: Server,
    pub fabric: Fabric,
    pub storage: Storage,
}

/// The file as written, before the environment and validation: the store's keys are flat in
/// TOML (and in `SVCFLOW_GW_*`), and only become a [`StoreConfig`] once all are known.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    server: Server,
    fabric: Fabric,
    #[serde(default)]
    storage: RawStorage,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub listen: String,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    /// CA certificates whose client certificates are accepted (the org's TLS CA).
    pub client_ca: Vec<PathBuf>,
    #[serde(default = "default_upload_limit")]
    pub upload_limit_bytes: u64,
    /// Where uploads in progress are journalled (see `uploads`); must survive a restart.
    #[serde(default = "default_journal_dir")]
    pub journal_dir: PathBuf,
    /// An unsettled upload is swept (its anchor looked up, its object deleted if there is none)
    /// once its journal entry is this old; well above the Fabric timeout so an anchor still on
    /// its way is never raced.
    #[serde(default = "default_sweep_after_ms")]
    pub sweep_after_ms: u64,
    /// A journalled transaction in no block this long after it was sent was never ordered (the
    /// orderer that took it failed first): the sweep then deletes its object.
    #[serde(default = "default_give_up_ordering_ms")]
    pub give_up_ordering_ms: u64,
    /// HTTP worker threads (default: one per core).
    #[serde(default)]
    pub workers: Option<usize>,
    /// Origins besides the gateway's own (`https://` + the request's Host) whose pages may send
    /// it state-changing requests, as `scheme://host[:port]`; empty: none.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Certificate revocation lists (PEM) of the `client_ca`s: a client certificate they revoke
    /// is refused. Each must be signed by one of the `client_ca`s.
    #[serde(default)]
    pub client_crl: Vec<PathBuf>,
    /// `/healthz` answers from a probe at most this old, so that probing it never loads Fabric
    /// more than once per this many milliseconds.
    #[serde(default = "default_health_ttl_ms")]
    pub health_ttl_ms: u64,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Fabric {
    pub msp_id: String,
    /// The org's `users/` directory: one `<name>/msp/{signcerts,keystore}` per user.
    pub wallet: PathBuf,
    /// Peers in failover order.
    pub peers: Vec<Peer>,
    #[serde(default = "default_channel")]
    pub channel: String,
    #[serde(default = "default_chaincode")]
    pub chaincode: String,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    pub address: String,
    pub tls_ca: PathBuf,
    #[serde(default)]
    pub server_name: Option<String>,
}

/// The `[storage]` table, validated: which store holds the sealed objects, and how uploads
/// are checked before they are anchored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Storage {
    pub backend: StoreConfig,
    /// Before an upload is anchored: `size` checks the stored object's size; `full` re-reads it
    /// and checks every chunk and the hash (a second pass over the object).
    pub verify_uploads: VerifyUploads,
}

/// The object store and everything it needs; a backend's keys are required only with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreConfig {
    /// `backend = "fs"`: objects under a local directory (`storage.path`).
    Fs { path: PathBuf },
    /// `backend = "s3"`: Ceph RGW (any S3 with bucket policies and Object Lock), path-style. The
    /// org's own RGW user (uid = its MSP id) stores what its gateway uploads in buckets of its own,
    /// one per phase (see `storage::s3`).
    S3 {
        endpoint: String,
        /// The one bucket every gateway shared before per-phase buckets: older anchors' objects
        /// are read from it.
        bucket: String,
        /// `storage.s3_region`, `default` when not given (RGW ignores it).
        region: String,
        access_key: String,
        /// From `storage.s3_secret_key` or read out of `storage.s3_secret_file`.
        secret_key: String,
        /// S3 parts (8 MiB each) one upload keeps in flight: memory per upload against
        /// throughput.
        parts_in_flight: usize,
        /// Days an anchored object's version is kept under COMPLIANCE retention: no one, its
        /// bucket's owner included, can delete it sooner.
        retention_days: u32,
        /// How often the policies of this org's buckets are set anew from the phases'
        /// participants (a change made through another org's gateway is followed within this).
        access_sync_ms: u64,
        /// The file listing the buckets this gateway made, with their phases (must survive a
        /// restart, like the journal).
        bucket_registry: PathBuf,
    },
}

/// `[storage]` as written: every backend's keys side by side, any of them missing.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    #[serde(default)]
    backend: Backend,
    #[serde(default)]
    path: Option<PathBuf>,
    #[serde(default)]
    s3_endpoint: Option<String>,
    #[serde(default)]
    s3_bucket: Option<String>,
    #[serde(default)]
    s3_region: Option<String>,
    #[serde(default)]
    s3_access_key: Option<String>,
    #[serde(default)]
    s3_secret_key: Option<String>,
    /// A file holding the secret key instead (readable by its owner only); read at start.
    #[serde(default)]
    s3_secret_file: Option<PathBuf>,
    #[serde(default = "default_parts_in_flight")]
    s3_parts_in_flight: usize,
    #[serde(default = "default_retention_days")]
    s3_retention_days: u32,
    #[serde(default = "default_access_sync_ms")]
    s3_access_sync_ms: u64,
    #[serde(default = "default_bucket_registry")]
    s3_bucket_registry: PathBuf,
    #[serde(default)]
    verify_uploads: VerifyUploads,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum VerifyUploads {
    #[default]
    Size,
    Full,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
enum Backend {
    #[default]
    Fs,
    S3,
}

fn default_upload_limit() -> u64 {
    4 << 30
}
fn default_parts_in_flight() -> usize {
    4
}
fn default_retention_days() -> u32 {
    365
}
fn default_access_sync_ms() -> u64 {
    30_000
}
fn default_bucket_registry() -> PathBuf {
    PathBuf::from("svcflow-buckets.tsv")
}
fn default_journal_dir() -> PathBuf {
    PathBuf::from("svcflow-journal")
}
fn default_sweep_after_ms() -> u64 {
    120_000
}
fn default_give_up_ordering_ms() -> u64 {
    600_000
}
fn default_health_ttl_ms() -> u64 {
    2_000
}
fn default_channel() -> String {
    "svcflow".into()
}
fn default_chaincode() -> String {
    "svcflow".into()
}
fn default_timeout_ms() -> u64 {
    30_000
}

/// The prefix of the gateway's environment variables.
pub const ENV_PREFIX: &str = "SVCFLOW_GW_";

impl Config {
    /// Reads the file, applies the environment (`vars`, normally `std::env::vars()`), validates.
    pub fn load(path: &std::path::Path, vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read { path: path.display().to_string(), reason: e.to_string() })?;
        Self::from_toml(&text, &path.display().to_string(), vars)
    }

    /// [`Config::load`] on TOML text; `origin` names it in a parse error.
    pub fn from_toml(text: &str, origin: &str, vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let mut raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse { path: origin.to_owned(), reason: e.to_string() })?;
        raw.apply_env(vars)?;
        raw.storage.read_secrets()?;
        raw.validate()
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.fabric.timeout_ms)
    }
}

impl RawConfig {
    /// The gateway's own variables, `SVCFLOW_GW_` + the key's name: `LISTEN`, `UPLOAD_LIMIT_BYTES`,
    /// `JOURNAL_DIR`, `SWEEP_AFTER_MS`, `WORKERS`, `CLIENT_CA`, `ALLOWED_ORIGINS` and `CLIENT_CRL`
    /// (each a comma-separated list), `HEALTH_TTL_MS`, `MSP_ID`, `WALLET`, `CHANNEL`, `CHAINCODE`,
    /// `TIMEOUT_MS`, `STORAGE_BACKEND`, `STORAGE_PATH`, `S3_ENDPOINT`, `S3_BUCKET`, `S3_REGION`,
    /// `S3_ACCESS_KEY`, `S3_SECRET_KEY`, `S3_SECRET_FILE`, `S3_PARTS_IN_FLIGHT`, `S3_RETENTION_DAYS`,
    /// `S3_ACCESS_SYNC_MS`, `S3_BUCKET_REGISTRY`, `VERIFY_UPLOADS`; `CONFIG` (the
    /// file) and `LOG` (the log filter) are read by `main`. An unknown name under this prefix is
    /// refused so a typo never goes unnoticed; every other variable (the scripts' `SVCFLOW_*`
    /// included) is none of the gateway's business.
    fn apply_env(&mut self, vars: impl IntoIterator<Item = (String, String)>) -> Result<(), ConfigError> {
        for (k, v) in vars {
            let Some(name) = k.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let num = |v: &str| v.parse::<u64>().map_err(|e| invalid(&k, e.to_string()));
            match name {
                "LISTEN" => self.server.listen = v,
                "UPLOAD_LIMIT_BYTES" => self.server.upload_limit_bytes = num(&v)?,
                "JOURNAL_DIR" => self.server.journal_dir = v.into(),
                "SWEEP_AFTER_MS" => self.server.sweep_after_ms = num(&v)?,
                "GIVE_UP_ORDERING_MS" => self.server.give_up_ordering_ms = num(&v)?,
                "WORKERS" => self.server.workers = Some(num(&v)? as usize),
                "CLIENT_CA" => self.server.client_ca = list(&v).map(PathBuf::from).collect(),
                "ALLOWED_ORIGINS" => self.server.allowed_origins = list(&v).map(str::to_owned).collect(),
                "CLIENT_CRL" => self.server.client_crl = list(&v).map(PathBuf::from).collect(),
                "HEALTH_TTL_MS" => self.server.health_ttl_ms = num(&v)?,
                "MSP_ID" => self.fabric.msp_id = v,
                "WALLET" => self.fabric.wallet = v.into(),
                "CHANNEL" => self.fabric.channel = v,
                "CHAINCODE" => self.fabric.chaincode = v,
                "TIMEOUT_MS" => self.fabric.timeout_ms = num(&v)?,
                "STORAGE_BACKEND" => {
                    self.storage.backend = match v.as_str() {
                        "fs" => Backend::Fs,
                        "s3" => Backend::S3,
                        _ => return Err(invalid(&k, "must be fs or s3")),
                    }
                }
                "STORAGE_PATH" => self.storage.path = Some(v.into()),
                "S3_ENDPOINT" => self.storage.s3_endpoint = Some(v),
                "S3_BUCKET" => self.storage.s3_bucket = Some(v),
                "S3_REGION" => self.storage.s3_region = Some(v),
                "S3_ACCESS_KEY" => self.storage.s3_access_key = Some(v),
                "S3_SECRET_KEY" => self.storage.s3_secret_key = Some(v),
                "S3_SECRET_FILE" => self.storage.s3_secret_file = Some(v.into()),
                "S3_PARTS_IN_FLIGHT" => self.storage.s3_parts_in_flight = num(&v)? as usize,
                "S3_RETENTION_DAYS" => self.storage.s3_retention_days = u32::try_from(num(&v)?).map_err(|e| invalid(&k, e.to_string()))?,
                "S3_ACCESS_SYNC_MS" => self.storage.s3_access_sync_ms = num(&v)?,
                "S3_BUCKET_REGISTRY" => self.storage.s3_bucket_registry = v.into(),
                "VERIFY_UPLOADS" => {
                    self.storage.verify_uploads = match v.as_str() {
                        "size" => VerifyUploads::Size,
                        "full" => VerifyUploads::Full,
                        _ => return Err(invalid(&k, "must be size or full")),
                    }
                }
                "CONFIG" | "LOG" => {}
                _ => return Err(invalid(&k, "unknown setting (see gateway/src/config.rs for the names)")),
            }
        }
        Ok(())
    }

    fn validate(self) -> Result<Config, ConfigError> {
        self.server.listen.parse::<SocketAddr>().map_err(|e| invalid("server.listen", format!("{:?} is not ip:port: {e}", self.server.listen)))?;
        if self.server.client_ca.is_empty() {
            return Err(invalid("server.client_ca", "at least one CA is needed to authenticate callers"));
        }
        if self.server.workers == Some(0) {
            return Err(invalid("server.workers", "must be above 0"));
        }
        for (i, o) in self.server.allowed_origins.iter().enumerate() {
            check_origin(o).map_err(|why| invalid(&format!("server.allowed_origins[{i}]"), format!("{o:?} {why}")))?;
        }
        if self.server.health_ttl_ms == 0 {
            return Err(invalid("server.health_ttl_ms", "must be above 0"));
        }
        if self.server.upload_limit_bytes == 0 {
            return Err(invalid("server.upload_limit_bytes", "must be above 0"));
        }
        if self.fabric.msp_id.is_empty() || !self.fabric.msp_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
            return Err(invalid("fabric.msp_id", format!("{:?} is not an MSP id", self.fabric.msp_id)));
        }
        if self.fabric.peers.is_empty() {
            return Err(invalid("fabric.peers", "at least one peer is needed"));
        }
        for (i, p) in self.fabric.peers.iter().enumerate() {
            if p.address.parse::<SocketAddr>().is_err() && !p.address.contains(':') {
                return Err(invalid(&format!("fabric.peers[{i}].address"), format!("{:?} is not host:port", p.address)));
            }
        }
        if self.fabric.channel.is_empty() {
            return Err(invalid("fabric.channel", "must not be empty"));
        }
        if self.fabric.chaincode.is_empty() {
            return Err(invalid("fabric.chaincode", "must not be empty"));
        }
        if self.fabric.timeout_ms == 0 {
            return Err(invalid("fabric.timeout_ms", "must be above 0"));
        }
        let storage = self.storage.validate()?;
        Ok(Config { server: self.server, fabric: self.fabric, storage })
    }
}

/// A comma-separated list of a variable, without empty items.
fn list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// An origin as browsers send it in `Origin`: `http(s)://host[:port]`, lower case, nothing after.
fn check_origin(o: &str) -> Result<(), &'static str> {
    let rest = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://")).ok_or("must start with https:// or http://")?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err("must be scheme://host[:port], with no path, user or trailing slash");
    }
    if rest.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("must be lower case, as browsers send it");
    }
    let host_end = rest.rfind(']').map_or(0, |i| i + 1);
    if let Some((_, port)) = rest[host_end..].rsplit_once(':') {
        if port.parse::<u16>().is_err() {
            return Err("has a bad port");
        }
    }
    Ok(())
}

impl RawStorage {
    /// `storage.s3_secret_file` → `storage.s3_secret_key`. A secret file others may read is
    /// refused: it would leak the store's credentials to every local user.
    fn read_secrets(&mut self) -> Result<(), ConfigError> {
        let Some(path) = self.s3_secret_file.clone() else {
            return Ok(());
        };
        const KEY: &str = "storage.s3_secret_file";
        if self.s3_secret_key.is_some() {
            return Err(invalid(KEY, "give s3_secret_key or s3_secret_file, not both"));
        }
        let meta = std::fs::metadata(&path).map_err(|e| invalid(KEY, format!("{}: {e}", path.display())))?;
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(invalid(KEY, format!("{} is readable by others; chmod 600 it", path.display())));
            }
        }
        let text = std::fs::read_to_string(&path).map_err(|e| invalid(KEY, format!("{}: {e}", path.display())))?;
        let secret = text.trim();
        if secret.is_empty() {
            return Err(invalid(KEY, format!("{} is empty", path.display())));
        }
        self.s3_secret_key = Some(secret.to_owned());
        Ok(())
    }

    /// The backend's own keys, each required with it; a key of the other backend is ignored
    /// (the template leaves the unused ones out, but a hand-written file may keep them).
    fn validate(self) -> Result<Storage, ConfigError> {
        if !(1..=64).contains(&self.s3_parts_in_flight) {
            return Err(invalid("storage.s3_parts_in_flight", "must be 1 to 64"));
        }
        if !(1..=36_500).contains(&self.s3_retention_days) {
            return Err(invalid("storage.s3_retention_days", "must be 1 to 36500"));
        }
        if self.s3_access_sync_ms < 100 {
            return Err(invalid("storage.s3_access_sync_ms", "must be at least 100"));
        }
        let backend = match self.backend {
            Backend::Fs => StoreConfig::Fs { path: self.path.ok_or_else(|| invalid("storage.path", "the fs backend needs a directory"))? },
            Backend::S3 => {
                let need = |key: &str, v: Option<String>| match v {
                    Some(v) if !v.is_empty() => Ok(v),
                    _ => {
                        let or_file = if key == "storage.s3_secret_key" { " (or storage.s3_secret_file)" } else { "" };
                        Err(invalid(key, format!("required by the s3 backend{or_file}")))
                    }
                };
                StoreConfig::S3 {
                    endpoint: need("storage.s3_endpoint", self.s3_endpoint)?,
                    bucket: need("storage.s3_bucket", self.s3_bucket)?,
                    access_key: need("storage.s3_access_key", self.s3_access_key)?,
                    secret_key: need("storage.s3_secret_key", self.s3_secret_key)?,
                    region: self.s3_region.filter(|r| !r.is_empty()).unwrap_or_else(|| "default".into()),
                    parts_in_flight: self.s3_parts_in_flight,
                    retention_days: self.s3_retention_days,
                    access_sync_ms: self.s3_access_sync_ms,
                    bucket_registry: self.s3_bucket_registry,
                }
            }
        };
        Ok(Storage { backend, verify_uploads: self.verify_uploads })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[server]
listen = "127.0.0.1:7443"
tls_cert = "server.crt"
tls_key = "server.key"
client_ca = ["ca.crt"]

[fabric]
msp_id = "Org1MSP"
wallet = "users"
peers = [{ address = "127.0.0.1:7051", tls_ca = "peer0.crt" }, { address = "127.0.0.1:7061", tls_ca = "peer1.crt" }]

[storage]
backend = "fs"
path = "objects"
"#;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn loads_with_defaults_and_env_overrides() {
        // Whatever else a shell or the scripts export is not the gateway's, and never stops it.
        let others = [
            ("SVCFLOW_GW_LOG", "warn"),
            ("SVCFLOW_FABRIC_SRC", "/src.tar.gz"),
            ("SVCFLOW_ANYTHING_NEW", "x"),
            ("SVCFLOW_LISTEN", "nowhere"),
            ("SVCFLOW_S3_ENDPOINT", "http://127.0.0.1:7480"),
        ];
        assert_eq!(Config::from_toml(GOOD, "t", env(&others)).map(|c| c.server.listen), Ok("127.0.0.1:7443".to_owned()));
        let c = Config::from_toml(GOOD, "t", env(&[("SVCFLOW_GW_LISTEN", "127.0.0.1:9443"), ("PATH", "/bin")])).unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:9443");
        assert_eq!(c.fabric.channel, "svcflow");
        assert_eq!(c.fabric.peers.len(), 2);
        assert_eq!(c.timeout(), Duration::from_secs(30));
        assert_eq!((c.server.journal_dir.to_str(), c.server.sweep_after_ms, c.server.workers), (Some("svcflow-journal"), 120_000, None));
        let c = Config::from_toml(
            GOOD,
            "t",
            env(&[("SVCFLOW_GW_JOURNAL_DIR", "/j"), ("SVCFLOW_GW_SWEEP_AFTER_MS", "1000"), ("SVCFLOW_GW_WORKERS", "3")]),
        )
        .unwrap();
        assert_eq!((c.server.journal_dir.to_str(), c.server.sweep_after_ms, c.server.workers), (Some("/j"), 1000, Some(3)));
    }

    #[test]
    fn origins_crls_and_the_health_ttl_come_from_keys_or_variables() {
        let c = Config::from_toml(GOOD, "t", env(&[])).unwrap();
        assert_eq!((c.server.allowed_origins.len(), c.server.client_crl.len(), c.server.health_ttl_ms), (0, 0, 2_000));
        let vars = env(&[
            ("SVCFLOW_GW_ALLOWED_ORIGINS", "https://ops.example:8443, http://127.0.0.1:3000"),
            ("SVCFLOW_GW_CLIENT_CRL", "/a.crl,/b.crl"),
            ("SVCFLOW_GW_CLIENT_CA", "/ca1.pem,/ca2.pem"),
            ("SVCFLOW_GW_HEALTH_TTL_MS", "500"),
        ]);
        let c = Config::from_toml(GOOD, "t", vars).unwrap();
        assert_eq!(c.server.allowed_origins, ["https://ops.example:8443", "http://127.0.0.1:3000"]);
        assert_eq!(c.server.client_crl, [PathBuf::from("/a.crl"), PathBuf::from("/b.crl")]);
        assert_eq!(c.server.health_ttl_ms, 500);
        assert_eq!(c.server.client_ca, [PathBuf::from("/ca1.pem"), PathBuf::from("/ca2.pem")]);
        let c = Config::from_toml(&GOOD.replace("[fabric]", "allowed_origins = [\"https://[::1]:9\"]\n[fabric]"), "t", env(&[])).unwrap();
        assert_eq!(c.server.allowed_origins, ["https://[::1]:9"]);
    }

    #[test]
    fn the_store_is_typed_from_the_same_keys_and_variables() {
        let c = Config::from_toml(GOOD, "t", env(&[])).unwrap();
        assert_eq!(c.storage.backend, StoreConfig::Fs { path: "objects".into() });
        let c = Config::from_toml(GOOD, "t", env(&[("SVCFLOW_GW_STORAGE_PATH", "/o")])).unwrap();
        assert_eq!(c.storage.backend, StoreConfig::Fs { path: "/o".into() });
        let s3 = env(&[
            ("SVCFLOW_GW_STORAGE_BACKEND", "s3"),
            ("SVCFLOW_GW_S3_ENDPOINT", "http://rgw:7480"),
            ("SVCFLOW_GW_S3_BUCKET", "b"),
            ("SVCFLOW_GW_S3_REGION", "r"),
            ("SVCFLOW_GW_S3_ACCESS_KEY", "a"),
            ("SVCFLOW_GW_S3_SECRET_KEY", "s"),
            ("SVCFLOW_GW_S3_PARTS_IN_FLIGHT", "2"),
            ("SVCFLOW_GW_S3_RETENTION_DAYS", "7"),
            ("SVCFLOW_GW_VERIFY_UPLOADS", "full"),
        ]);
        let c = Config::from_toml(GOOD, "t", s3).unwrap();
        let want = StoreConfig::S3 {
            endpoint: "http://rgw:7480".into(),
            bucket: "b".into(),
            region: "r".into(),
            access_key: "a".into(),
            secret_key: "s".into(),
            parts_in_flight: 2,
            retention_days: 7,
            access_sync_ms: 30_000,
            bucket_registry: PathBuf::from("svcflow-buckets.tsv"),
        };
        assert_eq!((c.storage.backend, c.storage.verify_uploads), (want, VerifyUploads::Full));
    }

    #[test]
    fn the_s3_secret_comes_from_a_private_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "s3cr3t\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let s3 = GOOD.replace(
            "backend = \"fs\"\npath = \"objects\"",
            "backend = \"s3\"\ns3_endpoint = \"http://127.0.0.1:7480\"\ns3_bucket = \"b\"\ns3_access_key = \"a\"",
        );
        let with_file = env(&[("SVCFLOW_GW_S3_SECRET_FILE", file.to_str().unwrap())]);
        let c = Config::from_toml(&s3, "t", with_file.clone()).unwrap();
        assert!(matches!(&c.storage.backend, StoreConfig::S3 { secret_key, region, .. } if secret_key == "s3cr3t" && region == "default"), "{c:?}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Config::from_toml(&s3, "t", with_file.clone()).unwrap_err();
        assert!(e.to_string().contains("storage.s3_secret_file") && e.to_string().contains("chmod 600"), "{e}");
        let mut both = with_file;
        both.push(("SVCFLOW_GW_S3_SECRET_KEY".into(), "x".into()));
        assert!(Config::from_toml(&s3, "t", both).unwrap_err().to_string().contains("not both"));
        let e = Config::from_toml(&s3, "t", env(&[("SVCFLOW_GW_S3_SECRET_FILE", "/nonexistent")])).unwrap_err();
        assert!(e.to_string().contains("storage.s3_secret_file"), "{e}");
    }

    #[test]
    fn errors_name_the_bad_key() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            (GOOD, &[("SVCFLOW_GW_LISTEN", "nowhere")], "server.listen"),
            (GOOD, &[("SVCFLOW_GW_TIMEOUT_MS", "soon")], "SVCFLOW_GW_TIMEOUT_MS"),
            (GOOD, &[("SVCFLOW_GW_TIMOUT_MS", "5")], "SVCFLOW_GW_TIMOUT_MS"),
            (GOOD, &[("SVCFLOW_GW_MSP_ID", "Org 1")], "fabric.msp_id"),
            (GOOD, &[("SVCFLOW_GW_STORAGE_BACKEND", "s3")], "storage.s3_endpoint"),
            (GOOD, &[("SVCFLOW_GW_STORAGE_BACKEND", "tape")], "SVCFLOW_GW_STORAGE_BACKEND"),
            (GOOD, &[("SVCFLOW_GW_WORKERS", "0")], "server.workers"),
            (GOOD, &[("SVCFLOW_GW_S3_PARTS_IN_FLIGHT", "0")], "storage.s3_parts_in_flight"),
            (GOOD, &[("SVCFLOW_GW_S3_RETENTION_DAYS", "0")], "storage.s3_retention_days"),
            (GOOD, &[("SVCFLOW_GW_S3_RETENTION_DAYS", "99999999999")], "SVCFLOW_GW_S3_RETENTION_DAYS"),
            (GOOD, &[("SVCFLOW_GW_S3_ACCESS_SYNC_MS", "5")], "storage.s3_access_sync_ms"),
            (GOOD, &[("SVCFLOW_GW_VERIFY_UPLOADS", "twice")], "SVCFLOW_GW_VERIFY_UPLOADS"),
            (GOOD, &[("SVCFLOW_GW_SWEEP_AFTER_MS", "soon")], "SVCFLOW_GW_SWEEP_AFTER_MS"),
            (GOOD, &[("SVCFLOW_GW_ALLOWED_ORIGINS", "https://ok.test,evil.test")], "server.allowed_origins[1]"),
            (GOOD, &[("SVCFLOW_GW_ALLOWED_ORIGINS", "https://a.test/")], "server.allowed_origins[0]"),
            (GOOD, &[("SVCFLOW_GW_ALLOWED_ORIGINS", "https://A.test")], "server.allowed_origins[0]"),
            (GOOD, &[("SVCFLOW_GW_ALLOWED_ORIGINS", "https://a.test:x")], "server.allowed_origins[0]"),
            (GOOD, &[("SVCFLOW_GW_HEALTH_TTL_MS", "0")], "server.health_ttl_ms"),
        ];
        for (text, vars, key) in cases {
            let e = Config::from_toml(text, "t", env(vars)).unwrap_err();
            assert!(e.to_string().contains(key), "{key}: {e}");
        }
        let e = Config::from_toml(&GOOD.replace("peers = [", "peerz = ["), "t", env(&[])).unwrap_err();
        assert!(e.to_string().contains("peerz"), "{e}");
        let e = Config::from_toml(&GOOD.replace("path = \"objects\"", "s3_bucket = \"b\""), "t", env(&[])).unwrap_err();
        assert_eq!(e, invalid("storage.path", "the fs backend needs a directory"));
        let e =
            Config::from_toml(GOOD, "t", env(&[("SVCFLOW_GW_STORAGE_BACKEND", "s3"), ("SVCFLOW_GW_S3_ENDPOINT", "http://rgw:7480")])).unwrap_err();
        assert!(matches!(&e, ConfigError::Invalid { key, .. } if key == "storage.s3_bucket"), "{e}");
        assert!(e.to_string().contains("storage.s3_bucket"), "{e}");
        let e = Config::from_toml(&GOOD.replace(r#"client_ca = ["ca.crt"]"#, "client_ca = []"), "t", env(&[])).unwrap_err();
        assert!(e.to_string().contains("server.client_ca"), "{e}");
    }
}
