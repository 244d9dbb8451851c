//! Attachment content, stored on disk by SHA-256 so that the same file sent twice is kept once.
//! Metadata (name, type, size) lives in the database; content is written before the metadata
//! commits, so a committed attachment always has its bytes.

use std::io::Write;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct Blobs {
    root: PathBuf,
}

impl Blobs {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn path(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64 && sha256.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
        valid.then(|| self.root.join(&sha256[..2]).join(&sha256[2..4]).join(sha256))
    }

    pub fn hash(content: &[u8]) -> String {
        let digest = Sha256::digest(content);
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Stores `content` (atomically: a temporary file renamed into place) and returns its hash.
    pub fn put_blocking(&self, content: &[u8]) -> std::io::Result<String> {
        let sha256 = Self::hash(content);
        let path = self.path(&sha256).ok_or_else(|| std::io::Error::other("bad hash"))?;
        if path.exists() {
            return Ok(sha256);
        }
        let dir = path.parent().ok_or_else(|| std::io::Error::other("bad blob path"))?;
        std::fs::create_dir_all(dir)?;
        let temp = dir.join(format!(".{sha256}.{}.tmp", std::process::id()));
        {
            // Customers' files: readable by the service's user only.
            let mut file = crate::secrets::private_file(&temp)?;
            file.write_all(content)?;
            file.sync_all()?;
        }
        std::fs::rename(&temp, &path)?;
        Ok(sha256)
    }

    pub async fn put(&self, content: Vec<u8>) -> std::io::Result<String> {
        let blobs = self.clone();
        tokio::task::spawn_blocking(move || blobs.put_blocking(&content)).await.map_err(std::io::Error::other)?
    }

    pub async fn get(&self, sha256: &str) -> std::io::Result<Vec<u8>> {
        let path = self.path(sha256).ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such blob"))?;
        tokio::fs::read(path).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn same_content_is_stored_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blobs = Blobs::new(dir.path().to_owned());
        let a = blobs.put(b"hello".to_vec()).await.expect("put");
        let b = blobs.put(b"hello".to_vec()).await.expect("put");
        assert_eq!(a, b);
        assert_eq!(blobs.get(&a).await.expect("get"), b"hello");
        assert!(blobs.get("../../etc/passwd").await.is_err());
    }
}
