//! Secrets at rest: channel settings (IMAP and SMTP passwords, signing secrets) and webhook
//! secrets are sealed with ChaCha20-Poly1305 under a key kept outside the database, so a copied
//! database or backup reveals none of them.
//!
//! The key comes from `security.secret_key` (the environment, for several nodes) or from the
//! key file `secret.key` in the data folder, made on first start and readable by the owner only.
//! Either holds one or more keys (base64, one per line or comma-separated): the first seals,
//! every one opens, which is how a key is rotated without a moment where anything is unreadable
//! (`opora secrets rotate`).

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::{Digest, Sha256};

/// Why a secret could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SealError(pub String);

impl SealError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Sealed values start with this, then the key's id, then base64 of nonce, ciphertext and tag.
const PREFIX: &str = "sealed:v1:";
pub const KEY_FILE: &str = "secret.key";
/// Keys rotated out, one per line: they only open.
pub const RETIRED_FILE: &str = "secret.key.retired";

struct Key {
    id: String,
    raw: [u8; 32],
}

impl Key {
    fn parse(text: &str) -> Result<Self, String> {
        let bytes = STANDARD.decode(text.trim()).map_err(|e| format!("a secret key is not base64: {e}"))?;
        let raw: [u8; 32] = bytes.try_into().map_err(|_| "a secret key must be 32 bytes (44 base64 characters)".to_owned())?;
        // The id says which key sealed a value without revealing anything of the key.
        let id = Sha256::digest(raw).iter().take(4).map(|b| format!("{b:02x}")).collect();
        Ok(Self { id, raw })
    }

    fn aead(&self) -> Result<LessSafeKey, SealError> {
        UnboundKey::new(&CHACHA20_POLY1305, &self.raw).map(LessSafeKey::new).map_err(|_| SealError::new("the secret key is unusable"))
    }
}

/// Seals and opens secrets with the configured keys.
pub struct Sealer {
    keys: Vec<Key>,
    /// Keys rotated out (`secret.key.retired`): they still open what a restored backup holds.
    retired: Vec<Key>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("keys", &self.keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>()).finish()
    }
}

/// A new random key, in base64.
pub fn new_key() -> Result<String, String> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| format!("no randomness: {e}"))?;
    Ok(STANDARD.encode(raw))
}

impl Sealer {
    /// No key: values stored plain are read, nothing can be sealed (tools that only read).
    pub fn none() -> Self {
        Self { keys: Vec::new(), retired: Vec::new() }
    }

    /// Keys from text: one or more base64 keys, one per line or comma-separated.
    pub fn from_keys(text: &str) -> Result<Self, String> {
        let keys = text.split([',', '\n']).filter(|k| !k.trim().is_empty()).map(Key::parse).collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err("no secret key given".into());
        }
        Ok(Self { keys, retired: Vec::new() })
    }

    /// The configured keys, else the data folder's key file, made (owner-only) when missing.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> Result<Self, String> {
        let mut sealer = match configured.filter(|k| !k.trim().is_empty()) {
            Some(keys) => Self::from_keys(keys)?,
            None => Self::from_key_file(&data_dir.join(KEY_FILE))?,
        };
        let retired = data_dir.join(RETIRED_FILE);
        if let Ok(text) = std::fs::read_to_string(&retired) {
            sealer.retired = Self::from_keys(&text).map_err(|e| format!("{}: {e}", retired.display()))?.keys;
        }
        Ok(sealer)
    }

    fn from_key_file(path: &Path) -> Result<Self, String> {
        if let Ok(text) = std::fs::read_to_string(path) {
            return Self::from_keys(&text).map_err(|e| format!("{}: {e}", path.display()));
        }
        // Made once, exclusively: two processes starting together (the server and a piped
        // `opora mail ingest`) end up with the one key whichever made it.
        let key = new_key()?;
        match create_private(path, &format!("{key}\n")) {
            Ok(()) => tracing::info!(file = %path.display(), "made a new secret key; back it up apart from the database"),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot write {}: {e}", path.display())),
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_keys(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The id of the key that seals.
    pub fn sealing_key_id(&self) -> Option<&str> {
        self.keys.first().map(|k| k.id.as_str())
    }

    pub fn seal(&self, plain: &str) -> Result<String, SealError> {
        let key = self.keys.first().ok_or_else(|| SealError::new("no secret key is configured to seal secrets with"))?;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| SealError::new(format!("no randomness: {e}")))?;
        let mut sealed = plain.as_bytes().to_vec();
        key.aead()?
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(key.id.as_bytes()), &mut sealed)
            .map_err(|_| SealError::new("sealing failed"))?;
        let mut packed = nonce.to_vec();
        packed.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}:{}", key.id, STANDARD.encode(packed)))
    }

    /// The plain text of a stored value. A value stored before secrets were sealed is returned as
    /// it is (and sealed the next time it is written).
    pub fn open(&self, stored: &str) -> Result<String, SealError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else { return Ok(stored.to_owned()) };
        let (id, packed) = rest.split_once(':').ok_or_else(|| SealError::new("a sealed secret is damaged"))?;
        let key = self.keys.iter().chain(&self.retired).find(|k| k.id == id).ok_or_else(|| {
            SealError::new(format!(
                "a secret was sealed with key {id}, which is not configured: restore its key file or security.secret_key"
            ))
        })?;
        let packed = STANDARD.decode(packed).map_err(|_| SealError::new("a sealed secret is damaged"))?;
        if packed.len() < NONCE_LEN {
            return Err(SealError::new("a sealed secret is damaged"));
        }
        let (nonce, sealed) = packed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::new("a sealed secret is damaged"))?;
        let mut buffer = sealed.to_vec();
        let plain = key
            .aead()?
            .open_in_place(nonce, Aad::from(key.id.as_bytes()), &mut buffer)
            .map_err(|_| SealError::new("a sealed secret does not open with its key"))?;
        String::from_utf8(plain.to_vec()).map_err(|_| SealError::new("a sealed secret is damaged"))
    }

    /// Whether a stored value is sealed with the key that seals now.
    pub fn is_current(&self, stored: &str) -> bool {
        stored.strip_prefix(PREFIX).is_some_and(|rest| rest.split(':').next() == self.sealing_key_id())
    }
}

/// Creates (or truncates) a file only its owner may read and write.
pub fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Makes an existing file readable by its owner only (a database made before this release).
pub fn make_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if path.exists() && std::fs::metadata(path)?.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Writes a file only its owner may read, replacing it in one step that survives a power cut
/// (the folder is synced after the rename).
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let mut file = private_file(&partial)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&partial, path)?;
    sync_folder(path)
}

/// Creates a file only its owner may read; fails with `AlreadyExists` if there is one.
fn create_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    sync_folder(path)
}

fn sync_folder(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => std::fs::File::open(folder)?.sync_all(),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key() {
        let (first, second) = (new_key().expect("key"), new_key().expect("key"));
        let sealer = Sealer::from_keys(&first).expect("sealer");
        let sealed = sealer.seal("imap-password").expect("sealed");
        assert!(sealed.starts_with(PREFIX) && !sealed.contains("imap-password"), "{sealed}");
        assert_ne!(sealed, sealer.seal("imap-password").expect("sealed"), "a fresh nonce each time");
        assert_eq!(sealer.open(&sealed).expect("opens"), "imap-password");
        assert_eq!(sealer.open("plain from before").expect("passes"), "plain from before");
        assert!(Sealer::from_keys(&second).expect("sealer").open(&sealed).is_err(), "another key does not open it");
        // Rotation: the new key seals, the old one still opens.
        let rotated = Sealer::from_keys(&format!("{second}\n{first}")).expect("sealer");
        assert_eq!(rotated.open(&sealed).expect("opens"), "imap-password");
        assert!(!rotated.is_current(&sealed) && rotated.is_current(&rotated.seal("x").expect("sealed")));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(sealer.open(&tampered).is_err(), "tampering is noticed");
        assert!(Sealer::from_keys("c2hvcnQ=").is_err(), "a short key is refused");
    }
}
