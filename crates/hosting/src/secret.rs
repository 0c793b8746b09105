//! The master key: seals private keys and ACME account credentials before they are stored
//! (AES-256-GCM, with what the secret belongs to as associated data, so a sealed key cannot be
//! moved to another host's row).

use base64::{Engine, engine::general_purpose::STANDARD};
use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};
use std::path::Path;

/// Prefix of a sealed value, for the format version.
const PREFIX: &str = "v1.";

/// Why a master key could not be loaded or a sealed value opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key is not 64 hexadecimal characters.
    #[error("the master key must be 64 hexadecimal characters (32 bytes)")]
    BadKey,
    /// The key file could not be read or written.
    #[error("master key file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The value was not sealed with this key for this purpose, or was altered.
    #[error("cannot open a sealed value: wrong master key, or the value was altered")]
    Open,
    /// The system's random source failed.
    #[error("no randomness available")]
    Random,
}

/// The key that seals secrets at rest.
pub struct MasterKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// A key from 64 hexadecimal characters (e.g. `MOAT_MASTER_KEY`).
    pub fn from_hex(text: &str) -> Result<Self, SecretError> {
        let bytes = hex::decode(text.trim()).map_err(|_| SecretError::BadKey)?;
        Self::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, SecretError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SecretError::BadKey)?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    /// The key in `path`, created (random, mode 0600) when the file does not exist. For one
    /// instance; several instances must share one key through `MOAT_MASTER_KEY`.
    pub fn load_or_create(path: &Path) -> Result<Self, SecretError> {
        let file_error = |source| SecretError::File {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                SystemRandom::new()
                    .fill(&mut bytes)
                    .map_err(|_| SecretError::Random)?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(file_error)?;
                }
                write_private(path, &hex::encode(bytes)).map_err(file_error)?;
                tracing::info!(path = %path.display(), "created a master key for secrets at rest");
                Self::from_bytes(&bytes)
            }
            Err(e) => Err(file_error(e)),
        }
    }

    /// Seals `plaintext`, bound to `purpose` (e.g. the host name).
    pub fn seal(&self, plaintext: &[u8], purpose: &str) -> Result<String, SecretError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SecretError::Random)?;
        let mut data = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut data,
            )
            .map_err(|_| SecretError::Open)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// Opens what [`Self::seal`] sealed for the same `purpose`.
    pub fn open(&self, sealed: &str, purpose: &str) -> Result<Vec<u8>, SecretError> {
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .ok_or(SecretError::Open)?;
        if raw.len() < NONCE_LEN {
            return Err(SecretError::Open);
        }
        let (nonce, data) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecretError::Open)?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut data)
            .map_err(|_| SecretError::Open)?;
        Ok(plain.to_vec())
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens() {
        let key = MasterKey::from_hex(&"11".repeat(32)).expect("key");
        let sealed = key.seal(b"secret key", "mta-sts.a.example").expect("seal");
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("secret"));
        assert_eq!(
            key.open(&sealed, "mta-sts.a.example").expect("open"),
            b"secret key"
        );
        // Another purpose, another key, or an altered value: refused.
        assert!(key.open(&sealed, "mta-sts.b.example").is_err());
        let other = MasterKey::from_hex(&"22".repeat(32)).expect("key");
        assert!(other.open(&sealed, "mta-sts.a.example").is_err());
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            key.open(&String::from_utf8(altered).expect("utf8"), "mta-sts.a.example")
                .is_err()
        );
        assert!(key.open("garbage", "x").is_err());
        assert!(MasterKey::from_hex("abcd").is_err());
    }

    #[test]
    fn creates_a_key_file_once() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("master.key");
        let a = MasterKey::load_or_create(&path).expect("create");
        let sealed = a.seal(b"x", "p").expect("seal");
        let b = MasterKey::load_or_create(&path).expect("load");
        assert_eq!(b.open(&sealed, "p").expect("open"), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
