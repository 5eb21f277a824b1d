//! Local filesystem backend: one file per object under a root directory.
//!
//! Writes go to a temporary file in `<root>/.incoming`, are fsynced, then renamed into place
//! and the directory fsynced, so an object is either absent or complete, even across a crash.
//! A put that fails or is cancelled (its future dropped) removes its temporary file.

use std::path::{Path, PathBuf};

use tokio::fs;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

use super::{validate_key, ByteStream, ObjectInfo, ObjectStore, Result, StorageError};
use futures_util::StreamExt;

pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        fs::create_dir_all(root.join(".incoming")).await?;
        remove_orphans(&root.join(".incoming")).await;
        Ok(Self { root })
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

/// Temporary files are named `<pid>.<random>`; those of a process that no longer runs (a gateway
/// killed mid-upload) are removed. Several gateways may share one store, so live ones are kept.
async fn remove_orphans(incoming: &Path) {
    let Ok(mut rd) = fs::read_dir(incoming).await else {
        return;
    };
    while let Ok(Some(e)) = rd.next_entry().await {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name.split('.').next().and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            match fs::remove_file(e.path()).await {
                Ok(()) => {
                    tracing::info!(file = %e.path().display(), "removed a partial upload left by a stopped process")
                }
                Err(err) => {
                    tracing::warn!(file = %e.path().display(), error = %err, "could not remove a partial upload")
                }
            }
        }
    }
}

async fn fsync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir).await?.sync_all().await?;
    Ok(())
}

fn not_found(key: &str, e: std::io::Error) -> StorageError {
    if e.kind() == std::io::ErrorKind::NotFound {
        StorageError::NotFound(key.to_owned())
    } else {
        StorageError::Io(e)
    }
}

/// Removes the temporary file unless the put got as far as renaming it.
struct TmpFile(Option<PathBuf>);

impl Drop for TmpFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl ObjectStore for FsStore {
    async fn put(&self, key: &str, body: &mut (dyn AsyncRead + Unpin + Send)) -> Result<u64> {
        let dest = self.path(key)?;
        let tmp = self.root.join(".incoming").join(format!("{}.{}", std::process::id(), hex::encode(rand16()?)));
        let mut guard = TmpFile(Some(tmp.clone()));
        let mut file = fs::File::create(&tmp).await.map_err(StorageError::store_io)?;
        // Read and write apart: a failing body is the caller's, a failing write (a full disk) the store's.
        let mut buf = vec![0u8; 256 * 1024];
        let mut n = 0u64;
        loop {
            let got = body.read(&mut buf).await.map_err(StorageError::from_io)?;
            if got == 0 {
                break;
            }
            file.write_all(&buf[..got]).await.map_err(StorageError::store_io)?;
            n += got as u64;
        }
        file.flush().await.map_err(StorageError::store_io)?;
        file.sync_all().await.map_err(StorageError::store_io)?;
        drop(file);
        let parent = dest.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&parent).await.map_err(StorageError::store_io)?;
        fs::rename(&tmp, &dest).await.map_err(StorageError::store_io)?;
        guard.0 = None;
        fsync_dir(&parent).await.map_err(|e| match e {
            StorageError::Io(e) => StorageError::store_io(e),
            other => other,
        })?;
        Ok(n)
    }

    async fn get(&self, key: &str) -> Result<ByteStream> {
        let file = fs::File::open(self.path(key)?).await.map_err(|e| not_found(key, e))?;
        Ok(Box::pin(ReaderStream::with_capacity(file, 256 * 1024).map(|r| r.map_err(StorageError::Io))))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        fs::remove_file(self.path(key)?).await.map_err(|e| not_found(key, e))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        match fs::metadata(self.path(key)?).await {
            Ok(m) if m.is_file() => Ok(Some(ObjectInfo { size: m.len() })),
            Ok(_) => Ok(None), // a directory: a key prefix, not an object
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

fn rand16() -> Result<[u8; 16]> {
    let mut b = [0u8; 16];
    openssl::rand::rand_bytes(&mut b)?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn partial_uploads_of_stopped_processes_are_removed_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let inc = dir.path().join(".incoming");
        std::fs::create_dir_all(&inc).unwrap();
        let mine = inc.join(format!("{}.abc", std::process::id()));
        let dead = inc.join("4000000000.abc"); // above any pid_max
        std::fs::write(&mine, b"in progress").unwrap();
        std::fs::write(&dead, b"left behind").unwrap();
        FsStore::open(dir.path()).await.unwrap();
        assert!(mine.exists() && !dead.exists());
    }

    #[tokio::test]
    async fn a_cancelled_put_leaves_neither_object_nor_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::open(dir.path()).await.unwrap();
        let (mut client, mut body) = tokio::io::duplex(64);
        client.write_all(b"half of it").await.unwrap(); // and then the client stalls
        let put = tokio::time::timeout(std::time::Duration::from_millis(100), store.put("k", &mut body)).await;
        assert!(put.is_err(), "the put must still be waiting");
        assert!(!store.exists("k").await.unwrap());
        assert_eq!(std::fs::read_dir(dir.path().join(".incoming")).unwrap().count(), 0);
        // A completed put is visible with its size.
        store.put("k", &mut &b"whole"[..]).await.unwrap();
        assert_eq!(store.head("k").await.unwrap(), Some(ObjectInfo { size: 5 }));
        assert_eq!(store.head("nope").await.unwrap(), None);
    }
}
