//! The upload journal: the promise that no stored object outlives a failed anchor.
//!
//! Before an upload's first byte reaches the store, an entry naming its object is written (and
//! fsynced) here; it is removed once the anchor is committed, or once the object is deleted after
//! the anchor definitely failed. Whatever stays behind — a gateway killed mid-upload, an anchor
//! whose outcome was unknown — is settled by [`super::sweep`]: the chaincode is asked whether
//! the anchor exists; if it does not, the object is deleted. An object without its anchor is never
//! visible in between, since every read goes through the anchor.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// The journal could not record an upload: nothing is stored without its entry.
#[derive(Debug, thiserror::Error)]
#[error("upload journal {path}: {source}")]
pub struct JournalError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pending {
    pub object_key: String,
    pub project: String,
    pub phase: String,
    pub file: String,
    /// The wallet user who uploaded (the sweep asks the chaincode as them).
    pub user: String,
    /// The transaction that points the anchor at this object, once endorsed and before it is
    /// ordered: the sweep settles an unknown outcome by asking the ledger about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<String>,
}

pub struct Journal {
    dir: PathBuf,
    /// Uploads running in this process: never swept.
    live: Mutex<HashSet<String>>,
}

/// Object keys hold `/`; entry names hold none.
fn entry_name(object_key: &str) -> String {
    format!("{}.json", object_key.replace('/', "~"))
}

impl Journal {
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        std::fs::create_dir_all(dir).map_err(|source| JournalError { path: dir.display().to_string(), source })?;
        Ok(Self { dir: dir.to_owned(), live: Mutex::new(HashSet::new()) })
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the intent durably before the object is written.
    pub fn begin(&self, p: &Pending) -> Result<(), JournalError> {
        self.live().insert(p.object_key.clone());
        self.write(p).inspect_err(|_| {
            self.live().remove(&p.object_key);
        })
    }

    /// Records the entry anew (with its transaction's id), durably.
    pub fn note(&self, p: &Pending) -> Result<(), JournalError> {
        self.write(p)
    }

    fn write(&self, p: &Pending) -> Result<(), JournalError> {
        let path = self.dir.join(entry_name(&p.object_key));
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&path)?;
            f.write_all(&serde_json::to_vec(p).map_err(std::io::Error::other)?)?;
            f.sync_all()?;
            std::fs::File::open(&self.dir)?.sync_all()
        };
        write().map_err(|e| JournalError { path: path.display().to_string(), source: e })
    }

    /// The upload is settled (anchored, or its object removed).
    pub fn finish(&self, object_key: &str) {
        let path = self.dir.join(entry_name(object_key));
        if let Err(e) = std::fs::remove_file(&path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "could not remove a journal entry; the sweep will retry");
            }
        }
        self.live().remove(object_key);
    }

    /// The upload stays unsettled (outcome unknown): leave it to the sweep, which counts its
    /// idle time from now (not from `begin`, which for a large upload was long ago).
    pub fn leave(&self, object_key: &str) {
        let path = self.dir.join(entry_name(object_key));
        if let Err(e) = std::fs::File::options().append(true).open(&path).and_then(|f| f.set_modified(SystemTime::now())) {
            tracing::warn!(path = %path.display(), error = %e, "could not touch a journal entry");
        }
        self.live().remove(object_key);
    }

    /// Entries idle for at least `min_age` that no upload of this process is working on, with
    /// how long each has been idle.
    pub fn stale(&self, min_age: Duration) -> Vec<(Pending, Duration)> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let now = SystemTime::now();
        let live = self.live().clone();
        let mut out = Vec::new();
        for e in rd.filter_map(Result::ok) {
            let Some(idle) = e.metadata().and_then(|m| m.modified()).ok().map(|t| now.duration_since(t).unwrap_or_default()) else {
                continue;
            };
            if idle < min_age {
                continue;
            }
            match std::fs::read(e.path()).ok().and_then(|b| serde_json::from_slice::<Pending>(&b).ok()) {
                Some(p) if !live.contains(&p.object_key) => out.push((p, idle)),
                Some(_) => {}
                None => {
                    tracing::warn!(path = %e.path().display(), "unreadable journal entry left alone")
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_live_until_finished_and_only_stale_ones_are_offered() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let mut p =
            Pending { object_key: "p/ph/f.1".into(), project: "p".into(), phase: "ph".into(), file: "f".into(), user: "u".into(), tx_id: None };
        j.begin(&p).unwrap();
        assert!(j.stale(Duration::ZERO).is_empty(), "a live upload is not swept");
        p.tx_id = Some("tx1".into());
        j.note(&p).unwrap();
        // An entry begun long ago (a large upload) is idle only from when it was left.
        let path = dir.path().join(entry_name(&p.object_key));
        std::fs::File::options().append(true).open(&path).unwrap().set_modified(SystemTime::now() - Duration::from_secs(7200)).unwrap();
        j.leave(&p.object_key);
        let pending: Vec<Pending> = j.stale(Duration::ZERO).into_iter().map(|(p, _)| p).collect();
        assert_eq!(pending, vec![p.clone()]);
        assert!(j.stale(Duration::from_secs(3600)).is_empty(), "idle since it was left, not since it began");
        // A new process (a restarted gateway) sees the entry too.
        let j2 = Journal::open(dir.path()).unwrap();
        assert_eq!(j2.stale(Duration::ZERO).len(), 1);
        j2.finish(&p.object_key);
        assert!(j.stale(Duration::ZERO).is_empty());
    }
}
