//! Secrets at rest: the Letta password is stored encrypted with ChaCha20-Poly1305 (an AEAD
//! from RustCrypto). The key comes from `LETTA_ADMIN_SECRET_KEY` (64 hex characters), from the
//! file `LETTA_ADMIN_SECRET_KEY_FILE` names (never created: a secret every replica shares), or
//! else from `<data dir>/secret.key`, created on first start with owner-only permissions.

use std::{path::Path, sync::Arc};

use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    ChaCha20Poly1305, Key, Nonce,
};

const KEY_FILE: &str = "secret.key";
const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct SecretBox {
    cipher: Arc<ChaCha20Poly1305>,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("LETTA_ADMIN_SECRET_KEY must be 64 hexadecimal characters (32 bytes)")]
    BadKey,
    #[error("cannot read or create the key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("the key file {path} must hold 64 hexadecimal characters (32 bytes)")]
    BadKeyFile { path: String },
    #[error("the stored secret cannot be decrypted with this key (was the key changed?)")]
    Decrypt,
    #[error("no randomness available from the operating system")]
    Random,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

/// Whether two secrets are equal, in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], SecretError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|_| SecretError::Random)?;
    Ok(buf)
}

impl SecretBox {
    pub fn from_key(key: [u8; 32]) -> SecretBox {
        SecretBox {
            cipher: Arc::new(ChaCha20Poly1305::new(Key::from_slice(&key))),
        }
    }

    /// The key from the environment value if given, else from (or into) the key file.
    pub fn load(key_hex: Option<&str>, data_dir: &Path) -> Result<SecretBox, SecretError> {
        if let Some(hex_key) = key_hex {
            return Ok(SecretBox::from_key(parse_key(hex_key)?));
        }
        let path = data_dir.join(KEY_FILE);
        let io_err = |source| SecretError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(SecretBox::from_key(parse_key(text.trim())?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_bytes::<32>()?;
                write_owner_only(&path, hex::encode(key).as_bytes()).map_err(io_err)?;
                tracing::info!(path = %path.display(), "created a new secret key file");
                Ok(SecretBox::from_key(key))
            }
            Err(e) => Err(io_err(e)),
        }
    }

    /// The key in an existing file (`LETTA_ADMIN_SECRET_KEY_FILE`): read, never created.
    pub fn from_file(path: &Path) -> Result<SecretBox, SecretError> {
        let text = std::fs::read_to_string(path).map_err(|source| SecretError::KeyFile {
            path: path.display().to_string(),
            source,
        })?;
        parse_key(text.trim())
            .map(SecretBox::from_key)
            .map_err(|_| SecretError::BadKeyFile {
                path: path.display().to_string(),
            })
    }

    /// The key as configured: `LETTA_ADMIN_SECRET_KEY`, `LETTA_ADMIN_SECRET_KEY_FILE`, or the
    /// data directory's key file.
    pub fn for_config(config: &crate::config::Config) -> Result<SecretBox, SecretError> {
        match &config.secret_key_file {
            Some(path) => SecretBox::from_file(path),
            None => SecretBox::load(
                config
                    .secret_key_hex
                    .as_ref()
                    .map(secrecy::ExposeSecret::expose_secret),
                &config.data_dir,
            ),
        }
    }

    /// Encrypts `plain`, bound to `purpose` (a ciphertext for one purpose does not decrypt as
    /// another). Output: hex of nonce ‖ ciphertext.
    pub fn seal(&self, purpose: &str, plain: &str) -> Result<String, SecretError> {
        let nonce = random_bytes::<NONCE_LEN>()?;
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Decrypt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(hex::encode(out))
    }

    pub fn open(&self, purpose: &str, sealed: &str) -> Result<String, SecretError> {
        let bytes = hex::decode(sealed).map_err(|_| SecretError::Decrypt)?;
        if bytes.len() < NONCE_LEN {
            return Err(SecretError::Decrypt);
        }
        let (nonce, ct) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| SecretError::Decrypt)
    }
}

fn parse_key(hex_key: &str) -> Result<[u8; 32], SecretError> {
    let bytes = hex::decode(hex_key.trim()).map_err(|_| SecretError::BadKey)?;
    bytes.try_into().map_err(|_| SecretError::BadKey)
}

#[cfg(unix)]
fn write_owner_only(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_owner_only(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_and_bind_the_purpose() {
        let b = SecretBox::from_key([7; 32]);
        let sealed = b.seal("letta_password", "hunter2").unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_eq!(b.open("letta_password", &sealed).unwrap(), "hunter2");
        assert!(b.open("other", &sealed).is_err());
        assert!(SecretBox::from_key([8; 32])
            .open("letta_password", &sealed)
            .is_err());
        // Fresh nonce each time.
        assert_ne!(sealed, b.seal("letta_password", "hunter2").unwrap());
    }

    #[test]
    fn key_file_is_created_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = SecretBox::load(None, dir.path()).unwrap();
        let sealed = a.seal("p", "x").unwrap();
        let b = SecretBox::load(None, dir.path()).unwrap();
        assert_eq!(b.open("p", &sealed).unwrap(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_bad_environment_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            SecretBox::load(Some("abc"), dir.path()),
            Err(SecretError::BadKey)
        ));
        assert!(SecretBox::load(Some(&"ab".repeat(32)), dir.path()).is_ok());
    }
}
