//! Why the gateway could not start: one error for everything checked before it listens, each
//! naming the config key and the file or value at fault, printed once by `main`.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::storage::StorageError;
use crate::uploads::journal::JournalError;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The command line: an unknown argument, or `--help`.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A file of the HTTPS listener (`server.tls_cert`, `server.tls_key`, `server.client_ca`).
    #[error("{key} {}: {reason}", path.display())]
    TlsFile { key: &'static str, path: PathBuf, reason: String },
    /// OpenSSL could not set up the acceptor itself, whatever the files.
    #[error("TLS set-up: {0}")]
    Tls(openssl::error::ErrorStack),
    /// `fabric.wallet`: the directory, or the user file in it, that is missing or unreadable.
    #[error("fabric.wallet {}: {reason}", path.display())]
    Wallet { path: PathBuf, reason: String },
    /// `fabric.peers[peer]`: `field` is the key (`tls_ca`, `address`) and `value` the file or
    /// address it holds.
    #[error("fabric.peers[{peer}].{field} {value}: {reason}")]
    Peer { peer: usize, field: &'static str, value: String, reason: String },
    /// The object store: `key` is the setting (`storage.path`, `storage.s3_endpoint`) and
    /// `value` the directory or endpoint it holds.
    #[error("{key} {value}: {source}")]
    Store { key: &'static str, value: String, source: StorageError },
    #[error("server.journal_dir: {0}")]
    Journal(#[from] JournalError),
    #[error("server.listen {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
    /// The HTTP server failed after it started listening.
    #[error("serving: {0}")]
    Serve(std::io::Error),
}

impl StartError {
    pub(crate) fn tls_file(key: &'static str, path: &std::path::Path, reason: impl ToString) -> Self {
        Self::TlsFile { key, path: path.to_owned(), reason: reason.to_string() }
    }

    pub(crate) fn wallet(path: &std::path::Path, reason: impl ToString) -> Self {
        Self::Wallet { path: path.to_owned(), reason: reason.to_string() }
    }
}
