//! Local filesystem backend: one file per object under a root directory.
//!
//! Writes go to a temporary file in `<root>/.incoming`, are fsynced, then renamed into place
//! and the directory fsynced, so an object is either absent or complete, even across a crash.

use std::path::{Path, PathBuf};

use tokio::fs;
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio_util::io::ReaderStream;

use super::{validate_key, ByteStream, ObjectStore, Result, StorageError};
use futures_util::StreamExt;

pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        fs::create_dir_all(root.join(".incoming")).await?;
        Ok(Self { root })
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join(key))
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

impl ObjectStore for FsStore {
    async fn put(&self, key: &str, body: &mut (dyn AsyncRead + Unpin + Send)) -> Result<u64> {
        let dest = self.path(key)?;
        let tmp = self.root.join(".incoming").join(format!("{}.{}", std::process::id(), hex::encode(rand16()?)));
        let result = async {
            let mut file = fs::File::create(&tmp).await?;
            let n = tokio::io::copy(body, &mut file).await?;
            file.flush().await?;
            file.sync_all().await?;
            drop(file);
            let parent = dest.parent().unwrap_or(&self.root).to_path_buf();
            fs::create_dir_all(&parent).await?;
            fs::rename(&tmp, &dest).await?;
            fsync_dir(&parent).await?;
            Ok(n)
        }
        .await;
        if result.is_err() {
            let _ = fs::remove_file(&tmp).await;
        }
        result
    }

    async fn get(&self, key: &str) -> Result<ByteStream> {
        let file = fs::File::open(self.path(key)?).await.map_err(|e| not_found(key, e))?;
        Ok(Box::pin(ReaderStream::with_capacity(file, 256 * 1024).map(|r| r.map_err(StorageError::Io))))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        fs::remove_file(self.path(key)?).await.map_err(|e| not_found(key, e))
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        Ok(fs::try_exists(self.path(key)?).await?)
    }
}

fn rand16() -> Result<[u8; 16]> {
    let mut b = [0u8; 16];
    openssl::rand::rand_bytes(&mut b)?;
    Ok(b)
}
