//! The master key and AES-256-GCM sealing of secrets stored in the database.
//!
//! Secrets (Okta private keys) are sealed with AES-256-GCM under a 32-byte master key that
//! never enters the database: it comes from `STEWARD_MASTER_KEY` (base64),
//! `STEWARD_MASTER_KEY_FILE`, or the file `{data_dir}/master.key`, created with mode 0600 on
//! first run. Each sealing draws a fresh random 96-bit nonce. The associated data binds a
//! ciphertext to its row (see [`crate::connections`]), so a ciphertext copied to another row
//! fails to open.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Env var holding the master key, base64 of 32 bytes.
pub const MASTER_KEY_ENV: &str = "STEWARD_MASTER_KEY";
/// Env var naming a file holding the master key.
pub const MASTER_KEY_FILE_ENV: &str = "STEWARD_MASTER_KEY_FILE";
/// File name of the master key inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// The key that seals secrets in the database. 32 bytes, zeroized on drop; `Debug` prints
/// no key material. Losing it makes stored private keys unreadable (connections must then be
/// re-created); back it up apart from the database.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<hidden>)")
    }
}

/// Why a master key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MasterKeyError {
    /// The key text is not base64 of exactly 32 bytes.
    #[error("invalid master key from {source_name}: expected base64 of 32 bytes")]
    Invalid {
        /// Where it came from (env var name or file path).
        source_name: String,
    },
    /// The key file could not be read or created.
    #[error("master key file {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The system random generator failed.
    #[error("cannot generate a master key: system random generator failed")]
    Random,
}

impl MasterKey {
    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey(bytes)
    }

    /// A fresh random key.
    pub fn generate() -> Result<MasterKey, MasterKeyError> {
        let mut key = MasterKey([0; 32]);
        aws_lc_rs::rand::fill(&mut key.0).map_err(|_| MasterKeyError::Random)?;
        Ok(key)
    }

    /// Parses base64 (standard alphabet, padding optional, surrounding whitespace ignored).
    /// `source_name` names the origin in errors.
    pub fn from_base64(text: &str, source_name: &str) -> Result<MasterKey, MasterKeyError> {
        let invalid = || MasterKeyError::Invalid {
            source_name: source_name.to_owned(),
        };
        let trimmed = text.trim().trim_end_matches('=');
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(trimmed)
                .map_err(|_| invalid())?,
        );
        let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| invalid())?;
        Ok(MasterKey(array))
    }

    /// The raw key, for deriving subkeys (the audit chain's HMAC key).
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Base64 of the key, to write it to a file or show it once for backup.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0))
    }

    /// The key from `STEWARD_MASTER_KEY`, else from the file `STEWARD_MASTER_KEY_FILE`, else
    /// from `{data_dir}/master.key`, created on first run (see [`MasterKey::load_or_create`]).
    pub fn from_env(data_dir: &Path) -> Result<MasterKey, MasterKeyError> {
        if let Some(text) = std::env::var(MASTER_KEY_ENV)
            .ok()
            .map(Zeroizing::new)
            .filter(|v| !v.trim().is_empty())
        {
            return MasterKey::from_base64(&text, MASTER_KEY_ENV);
        }
        if let Some(path) = std::env::var_os(MASTER_KEY_FILE_ENV).filter(|v| !v.is_empty()) {
            return MasterKey::load(Path::new(&path));
        }
        MasterKey::load_or_create(&data_dir.join(MASTER_KEY_FILE))
    }

    /// Reads a key file (base64 text).
    pub fn load(path: &Path) -> Result<MasterKey, MasterKeyError> {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| io(path, &e))?);
        MasterKey::from_base64(&text, &path.display().to_string())
    }

    /// Reads the key file at `path`, or creates it with a fresh key (mode 0600 on Unix, parent
    /// directories created) when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, MasterKeyError> {
        match MasterKey::create_file(path) {
            Ok(key) => {
                tracing::info!(path = %path.display(), "created a new master key file; back it up");
                Ok(key)
            }
            Err(CreateError::Exists) => MasterKey::load(path),
            Err(CreateError::Other(e)) => Err(e),
        }
    }

    fn create_file(path: &Path) -> Result<MasterKey, CreateError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| CreateError::Other(io(dir, &e)))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = match options.open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(CreateError::Exists);
            }
            Err(e) => return Err(CreateError::Other(io(path, &e))),
        };
        let key = MasterKey::generate().map_err(CreateError::Other)?;
        let mut text = key.to_base64();
        text.push('\n');
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| CreateError::Other(io(path, &e)))?;
        Ok(key)
    }

    /// Seals `plaintext` bound to `aad`: `(ciphertext || tag, nonce)`.
    pub(crate) fn seal(
        &self,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), SealError> {
        let key = RandomizedNonceKey::new(&AES_256_GCM, &self.0).map_err(|_| SealError)?;
        let mut in_out = Vec::with_capacity(plaintext.len() + AES_256_GCM.tag_len());
        in_out.extend_from_slice(plaintext);
        let nonce = key
            .seal_in_place_append_tag(Aad::from(aad), &mut in_out)
            .map_err(|_| SealError)?;
        Ok((in_out, nonce.as_ref().to_vec()))
    }

    /// Opens what [`MasterKey::seal`] sealed; fails on a wrong key, nonce, AAD or tampering.
    pub(crate) fn open(
        &self,
        aad: &[u8],
        nonce: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if nonce.len() != NONCE_LEN {
            return Err(SealError);
        }
        let key = RandomizedNonceKey::new(&AES_256_GCM, &self.0).map_err(|_| SealError)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError)?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let len = key
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| SealError)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

/// Sealing or opening failed (for opening: wrong master key, or the row was altered).
#[derive(Debug)]
pub(crate) struct SealError;

enum CreateError {
    Exists,
    Other(MasterKeyError),
}

fn io(path: &Path, e: &std::io::Error) -> MasterKeyError {
    MasterKeyError::Io {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let key = MasterKey::from_bytes([0xAB; 32]);
        let debug = format!("{key:?}");
        assert!(
            !debug.contains("171") && !debug.to_lowercase().contains("ab"),
            "{debug}"
        );
        assert!(!debug.contains(key.to_base64().as_str()));
    }

    #[test]
    fn seal_open_round_trip_and_aad_binding() {
        let key = MasterKey::generate().unwrap();
        let (ct, nonce) = key.seal(b"row-1", b"secret pem").unwrap();
        assert_eq!(nonce.len(), 12);
        assert!(!ct.windows(6).any(|w| w == b"secret"));
        assert_eq!(&key.open(b"row-1", &nonce, &ct).unwrap()[..], b"secret pem");
        assert!(key.open(b"row-2", &nonce, &ct).is_err());
        let other = MasterKey::generate().unwrap();
        assert!(other.open(b"row-1", &nonce, &ct).is_err());
        let (_, nonce2) = key.seal(b"row-1", b"secret pem").unwrap();
        assert_ne!(nonce, nonce2, "fresh nonce per sealing");
    }

    #[test]
    fn base64_round_trip_and_length_check() {
        let key = MasterKey::generate().unwrap();
        let again =
            MasterKey::from_base64(&format!(" {}\n", key.to_base64().as_str()), "t").unwrap();
        assert_eq!(key.0, again.0);
        assert!(matches!(
            MasterKey::from_base64("c2hvcnQ=", "t"),
            Err(MasterKeyError::Invalid { .. })
        ));
    }

    #[test]
    fn key_file_is_created_once_with_mode_0600() {
        let dir = std::env::temp_dir().join(format!("steward-mk-{}", std::process::id()));
        let path = dir.join("sub").join(MASTER_KEY_FILE);
        let _ = std::fs::remove_dir_all(&dir);
        let first = MasterKey::load_or_create(&path).unwrap();
        let second = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(first.0, second.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
