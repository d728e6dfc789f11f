//! `keys`: the P-256 key TeslaSync signs vehicle commands with.
//!
//! The private key lives as a PEM file (SEC1, the format `openssl ecparam` and Tesla's `tesla-keygen`
//! write) with mode 0600 in the data directory, so users can bring the key they already registered with
//! Tesla, and back it up with the rest of the data. The public half is what Tesla fetches from
//! `/.well-known/appspecific/com.tesla.3p.public-key.pem` and what a car enrols when the owner pairs it.
//! Never logs, prints or serializes the private key.

use std::io::Write;
use std::path::{Path, PathBuf};

use p256::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use p256::{PublicKey, SecretKey};
use sha2::{Digest, Sha256};

/// File name of the key inside `storage.path`.
pub const FILE_NAME: &str = "command-key.pem";

/// Where the key lives for a data directory.
pub fn default_path(storage_path: &Path) -> PathBuf {
    storage_path.join(FILE_NAME)
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path} already exists; refusing to overwrite the command key (the one your cars are paired with). Pass --force to replace it, then pair every car again")]
    Exists { path: String },
    #[error("cannot read the command key {path}: {error}")]
    Read { path: String, error: String },
    #[error("{path} is not a P-256 private key in PEM form (SEC1 `EC PRIVATE KEY` or PKCS#8 `PRIVATE KEY`)")]
    Invalid { path: String },
    #[error("cannot write the command key {path}: {error} (check storage.path)")]
    Write { path: String, error: String },
}

/// The command-signing key pair.
#[derive(Clone)]
pub struct CommandKey {
    secret: SecretKey,
}

impl std::fmt::Debug for CommandKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CommandKey {{ public: {} }}", self.fingerprint())
    }
}

impl CommandKey {
    /// A fresh random key (not saved).
    pub fn random() -> CommandKey {
        CommandKey {
            secret: SecretKey::random(&mut rand::rngs::OsRng),
        }
    }

    /// Reads a PEM key file.
    pub fn load(path: &Path) -> Result<CommandKey, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::Read {
            path: path.display().to_string(),
            error: e.to_string(),
        })?;
        let secret = SecretKey::from_sec1_pem(&text)
            .or_else(|_| SecretKey::from_pkcs8_pem(&text))
            .map_err(|_| KeyError::Invalid {
                path: path.display().to_string(),
            })?;
        Ok(CommandKey { secret })
    }

    /// Creates a new key at `path` (mode 0600); refuses to replace an existing one unless `force`.
    pub fn generate(path: &Path, force: bool) -> Result<CommandKey, KeyError> {
        if path.exists() && !force {
            return Err(KeyError::Exists {
                path: path.display().to_string(),
            });
        }
        let key = CommandKey::random();
        key.save(path)?;
        Ok(key)
    }

    /// The key at `path`, created on first use. Returns whether it was just created.
    pub fn load_or_create(path: &Path) -> Result<(CommandKey, bool), KeyError> {
        if path.exists() {
            return Ok((CommandKey::load(path)?, false));
        }
        Ok((CommandKey::generate(path, false)?, true))
    }

    /// Writes the PEM to a temporary file with mode 0600 and renames it into place, so a crash
    /// never leaves a half-written key.
    fn save(&self, path: &Path) -> Result<(), KeyError> {
        let err = |e: std::io::Error| KeyError::Write {
            path: path.display().to_string(),
            error: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let pem = self
            .secret
            .to_sec1_pem(LineEnding::LF)
            .expect("a valid key encodes");
        let tmp = path.with_extension("pem.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(err)?;
        file.write_all(pem.as_bytes()).map_err(err)?;
        file.sync_all().map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)?;
        Ok(())
    }

    /// The key in the form the command protocol signs with.
    pub fn protocol_key(&self) -> crate::tesla::command::KeyPair {
        crate::tesla::command::KeyPair::from_bytes(&self.secret.to_bytes())
            .expect("a valid P-256 scalar is a valid protocol key")
    }

    pub fn public_key(&self) -> PublicKey {
        self.secret.public_key()
    }

    /// The public key as PEM (`PUBLIC KEY`, SPKI), as Tesla expects it at the `.well-known` URL.
    pub fn public_key_pem(&self) -> String {
        self.public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("a valid key encodes")
    }

    /// The uncompressed point (`04…`, 65 bytes); what the command protocol and Tesla's partner API use.
    pub fn public_key_bytes(&self) -> Vec<u8> {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        self.public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// Hex of [`CommandKey::public_key_bytes`], as `partner_accounts` reports `public_key`.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.public_key_bytes())
    }

    /// SHA-256 of the public key's DER, hex: a short way to tell keys apart in the UI and logs.
    pub fn fingerprint(&self) -> String {
        let der = self
            .public_key()
            .to_public_key_der()
            .expect("a valid key encodes");
        hex::encode(Sha256::digest(der.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_refuses_to_overwrite_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = default_path(dir.path());
        let (key, created) = CommandKey::load_or_create(&path).unwrap();
        assert!(created);
        let (again, created) = CommandKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(again.public_key_hex(), key.public_key_hex());
        let err = CommandKey::generate(&path, false).unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        let replaced = CommandKey::generate(&path, true).unwrap();
        assert_ne!(replaced.public_key_hex(), key.public_key_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn public_forms_and_redacted_debug() {
        let key = CommandKey::random();
        assert!(key
            .public_key_pem()
            .starts_with("-----BEGIN PUBLIC KEY-----"));
        assert_eq!(key.public_key_bytes().len(), 65);
        assert!(key.public_key_hex().starts_with("04"));
        let debug = format!("{key:?}");
        assert!(debug.contains(&key.fingerprint()));
        assert!(!debug.contains("PRIVATE"));
    }

    #[test]
    fn garbage_is_refused_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        std::fs::write(&path, "not a key").unwrap();
        let err = CommandKey::load(&path).unwrap_err();
        assert!(err.to_string().contains("k.pem"), "{err}");
    }
}
