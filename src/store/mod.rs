//! `store`: TeslaSync's state on disk — a sled database whose every value is sealed with
//! AES-256-GCM.
//!
//! Owns the layout of `storage.path`:
//!
//! ```text
//! <storage.path>/keycheck   known plaintext sealed with the key; written once, when the store is created
//! <storage.path>/db/        the sled database
//! ```
//!
//! Other modules may keep their own files in `storage.path` (the command-signing key), but not
//! under these two names.
//!
//! What the old TeslaSync got wrong and this module does not do (reference §1.12): there is no
//! plaintext mode and no fallback. A value that does not decrypt is reported as
//! [`StoreError::Unreadable`] and left as it is; it is never returned raw, overwritten or
//! deleted behind the caller's back. A wrong key is found at start-up by the keycheck file,
//! before sled opens (sled writes as soon as it opens), so a mistyped `ENCRYPTION_KEY` changes
//! nothing on disk.
//!
//! Every value is sealed, not just secrets: the JSON trees hold the last known state of each
//! car, including its location. Secrets and JSON records live in separate trees and use
//! different associated data, so one cannot be passed off as the other.
//!
//! Must not know about Tesla, MQTT or Home Assistant: callers choose tree and record names.

mod seal;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::secret::Secret;
use seal::{Keycheck, Sealer};

pub use seal::decode_key;

/// File name of the keycheck inside `storage.path`.
pub const KEYCHECK_FILE: &str = "keycheck";
/// Directory of the sled database inside `storage.path`.
pub const DB_DIR: &str = "db";

/// sled tree holding sealed secrets.
const SECRETS_TREE: &str = "secrets";
/// Prefix of the sled trees holding callers' JSON trees, so that no caller-chosen tree name
/// can collide with [`SECRETS_TREE`].
const JSON_TREE_PREFIX: &str = "json/";
/// sled keeps up to this much in memory; the store is small and runs on a Raspberry Pi.
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// Which key seals the store.
pub enum StoreKey {
    /// `storage.encryption_key`: base64 of 32 bytes.
    Configured(Secret),
    /// A random key that lives only as long as the process, for `teslasync demo` run without
    /// a key. Nothing written can be read again after exit, and opening a directory that
    /// already holds a store fails ([`StoreError::EphemeralStore`] or
    /// [`StoreError::KeyRequired`]). The caller should then open a fresh directory of its own
    /// choosing (a temporary directory, say) rather than delete anything.
    Ephemeral,
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreKey::Configured(_) => f.write_str("Configured(<redacted>)"),
            StoreKey::Ephemeral => f.write_str("Ephemeral"),
        }
    }
}

/// Everything that can go wrong with the store. Each message says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("storage.encryption_key {reason} (set [storage] encryption_key or ENCRYPTION_KEY)")]
    BadKey { reason: String },

    #[error(
        "the data in {} was sealed with a different ENCRYPTION_KEY; nothing was changed. Set \
         storage.encryption_key (or ENCRYPTION_KEY) to the original key, or move {} away to \
         start over (you will have to sign in again)",
        .path.display(), .path.display()
    )]
    WrongKey { path: PathBuf },

    #[error(
        "{}/keycheck does not open with this ENCRYPTION_KEY: either the key differs from the one \
         the data was sealed with, or the keycheck file is damaged (its older format cannot tell \
         which); nothing was changed. Set storage.encryption_key (or ENCRYPTION_KEY) to the \
         original key, or restore the keycheck from a backup, or move {} away to start over",
        .path.display(), .path.display()
    )]
    WrongKeyOrDamagedKeycheck { path: PathBuf },

    #[error(
        "{} holds a store sealed with an ENCRYPTION_KEY, but no key was given; nothing was \
         changed. Set storage.encryption_key (or ENCRYPTION_KEY) to that key, or use another \
         storage.path",
        .path.display()
    )]
    KeyRequired { path: PathBuf },

    #[error(
        "{} holds a demo store sealed with a throwaway key, which cannot be opened again; \
         nothing was changed. Use another storage.path, or delete {} if you no longer need it",
        .path.display(), .path.display()
    )]
    EphemeralStore { path: PathBuf },

    #[error(
        "{} holds a database but no keycheck file, so TeslaSync cannot tell whether \
         ENCRYPTION_KEY is the key it was sealed with; nothing was changed. Restore {}/keycheck \
         from a backup, or move {} away to start over",
        .path.display(), .path.display(), .path.display()
    )]
    MissingKeycheck { path: PathBuf },

    #[error(
        "{}/keycheck is damaged; nothing was changed. Restore it from a backup, or move {} \
         away to start over",
        .path.display(), .path.display()
    )]
    DamagedKeycheck { path: PathBuf },

    #[error(
        "the store in {} is in use by another process; stop the other teslasync or set a \
         different storage.path",
        .path.display()
    )]
    Locked { path: PathBuf },

    #[error(
        "stored record {name} cannot be decrypted: it was changed on disk or is damaged. It was \
         left as it is; write it again (for tokens: `teslasync auth login`) or move \
         storage.path away to start over"
    )]
    Unreadable { name: String },

    #[error(
        "stored record {name} is not in the expected format ({source}); it may come from \
         another TeslaSync version. Write it again or move storage.path away to start over"
    )]
    Decode {
        name: String,
        source: serde_json::Error,
    },

    #[error("cannot encode record {name} as JSON ({source}); this is a bug in TeslaSync")]
    Encode {
        name: String,
        source: serde_json::Error,
    },

    #[error(
        "storage error in {} (storage.path): {source}; check free disk space and permissions",
        .path.display()
    )]
    Io { path: PathBuf, source: io::Error },

    #[error(
        "the database in {} is corrupt; move {} away to start over (you will have to sign in \
         again)",
        .path.display(), .path.display()
    )]
    Corrupt { path: PathBuf },
}

/// The sealed key-value store. Cheap to clone: clones share one database (sled's `Db` is an
/// `Arc`).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    sealer: Arc<Sealer>,
    path: Arc<Path>,
    created: bool,
    /// Test hook: every write fails as on a full disk while set ([`Store::fail_writes`]).
    failing: Arc<std::sync::atomic::AtomicBool>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store in `path`, creating it (directory, keycheck, database) if `path` holds
    /// none.
    ///
    /// The key is checked against `<path>/keycheck` before sled opens, and every refusal
    /// (wrong key, no key, missing or damaged keycheck) happens before anything is written.
    /// A database without a keycheck is refused rather than adopted: the keycheck is the only
    /// way to know the key is right, and a store whose key is unknown would turn every read
    /// into an [`StoreError::Unreadable`].
    pub fn open(path: &Path, key: StoreKey) -> Result<Store, StoreError> {
        let (key, ephemeral) = match &key {
            StoreKey::Configured(secret) => (
                decode_key(secret.expose()).map_err(|reason| StoreError::BadKey { reason })?,
                false,
            ),
            StoreKey::Ephemeral => (seal::random_key(), true),
        };
        let sealer = Sealer::new(&key);
        let io_err = |source| StoreError::Io {
            path: path.to_owned(),
            source,
        };
        let keycheck_path = path.join(KEYCHECK_FILE);
        let db_path = path.join(DB_DIR);

        let existing = match std::fs::read(&keycheck_path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(e)),
        };
        let created = match existing {
            Some(bytes) => {
                let path = path.to_owned();
                match seal::verify_keycheck(&sealer, &bytes) {
                    Keycheck::Matches if !ephemeral => {}
                    Keycheck::Ephemeral => return Err(StoreError::EphemeralStore { path }),
                    Keycheck::Damaged => return Err(StoreError::DamagedKeycheck { path }),
                    _ if ephemeral => return Err(StoreError::KeyRequired { path }),
                    Keycheck::WrongKeyOrDamaged => {
                        return Err(StoreError::WrongKeyOrDamagedKeycheck { path })
                    }
                    _ => return Err(StoreError::WrongKey { path }),
                }
                false
            }
            None => {
                if has_entries(&db_path).map_err(io_err)? {
                    return Err(StoreError::MissingKeycheck {
                        path: path.to_owned(),
                    });
                }
                std::fs::create_dir_all(path).map_err(io_err)?;
                let contents = sealer
                    .keycheck(ephemeral)
                    .map_err(|_| io_err(seal_failed()))?;
                write_durably(path, &keycheck_path, &contents).map_err(io_err)?;
                true
            }
        };

        let db = open_db(&db_path, path)?;
        Ok(Store {
            db,
            sealer: Arc::new(sealer),
            path: Arc::from(path),
            created,
            failing: Arc::default(),
        })
    }

    /// The directory given to [`Store::open`] (`storage.path`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True if [`Store::open`] created this store (first start, or a fresh demo).
    pub fn created(&self) -> bool {
        self.created
    }

    /// Seals and stores a secret under `name`, replacing any previous value, and returns only
    /// once it is on disk: the daemon saves a rotated refresh token before it uses the new
    /// access token, and a crash in between must not lose it. Blocks on the flush (a few
    /// milliseconds; secrets change rarely).
    pub fn put_secret(&self, name: &str, plaintext: &[u8]) -> Result<(), StoreError> {
        if self.failing.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(StoreError::Io {
                path: self.path.to_path_buf(),
                source: io::Error::new(
                    io::ErrorKind::StorageFull,
                    "no space left on device (injected)",
                ),
            });
        }
        let sealed = self.seal(&secret_aad(name), plaintext)?;
        self.tree(SECRETS_TREE)?
            .insert(name.as_bytes(), sealed)
            .map_err(|e| self.sled(e))?;
        self.flush()
    }

    /// The secret stored under `name`, `None` if there is none, or
    /// [`StoreError::Unreadable`] if it does not decrypt (it stays as it is).
    pub fn get_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(sealed) = self
            .tree(SECRETS_TREE)?
            .get(name.as_bytes())
            .map_err(|e| self.sled(e))?
        else {
            return Ok(None);
        };
        self.sealer
            .open(&secret_aad(name), &sealed)
            .map(Some)
            .ok_or_else(|| StoreError::Unreadable {
                name: name.to_owned(),
            })
    }

    /// Removes a secret (sign-out); durable before it returns, like [`Store::put_secret`].
    pub fn remove_secret(&self, name: &str) -> Result<(), StoreError> {
        self.tree(SECRETS_TREE)?
            .remove(name.as_bytes())
            .map_err(|e| self.sled(e))?;
        self.flush()
    }

    /// Stores `value` as sealed JSON under `key` in `tree`. Not flushed: sled writes it out
    /// within half a second, and state records are rewritten often.
    pub fn put_json<T: Serialize>(
        &self,
        tree: &str,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_vec(value).map_err(|source| StoreError::Encode {
            name: record_name(tree, key),
            source,
        })?;
        let sealed = self.seal(&json_aad(tree, key), &json)?;
        self.json_tree(tree)?
            .insert(key.as_bytes(), sealed)
            .map_err(|e| self.sled(e))?;
        Ok(())
    }

    /// The value under `key` in `tree`, `None` if there is none.
    pub fn get_json<T: DeserializeOwned>(
        &self,
        tree: &str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        match self
            .json_tree(tree)?
            .get(key.as_bytes())
            .map_err(|e| self.sled(e))?
        {
            Some(sealed) => self.open_json(tree, key, &sealed).map(Some),
            None => Ok(None),
        }
    }

    /// Every record of `tree`, in key order. Fails on the first record that does not decrypt
    /// or decode, rather than silently skipping it.
    pub fn scan_json<T: DeserializeOwned>(
        &self,
        tree: &str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.json_tree(tree)?.iter() {
            let (key, sealed) = entry.map_err(|e| self.sled(e))?;
            let Ok(key) = String::from_utf8(key.to_vec()) else {
                return Err(StoreError::Unreadable {
                    name: record_name(tree, &String::from_utf8_lossy(&key)),
                });
            };
            let value = self.open_json(tree, &key, &sealed)?;
            out.push((key, value));
        }
        Ok(out)
    }

    /// Removes `key` from `tree` (a vehicle that left the account). Not flushed.
    pub fn remove(&self, tree: &str, key: &str) -> Result<(), StoreError> {
        self.json_tree(tree)?
            .remove(key.as_bytes())
            .map_err(|e| self.sled(e))?;
        Ok(())
    }

    /// Writes everything to disk. Blocks; in async code use [`Store::flush_async`].
    /// Fault injection for tests: while `fail` is set, secret writes fail as on a full disk.
    #[doc(hidden)]
    pub fn fail_writes(&self, fail: bool) {
        self.failing
            .store(fail, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(drop).map_err(|e| self.sled(e))
    }

    /// [`Store::flush`] on tokio's blocking pool, for shutdown and other async callers.
    /// Must be called inside a tokio runtime.
    pub async fn flush_async(&self) -> Result<(), StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .map_err(|e| StoreError::Io {
                path: self.path.to_path_buf(),
                source: io::Error::other(format!("flush task failed: {e}")),
            })?
    }

    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.sealer
            .seal(aad, plaintext)
            .map_err(|_| StoreError::Io {
                path: self.path.to_path_buf(),
                source: seal_failed(),
            })
    }

    fn open_json<T: DeserializeOwned>(
        &self,
        tree: &str,
        key: &str,
        sealed: &[u8],
    ) -> Result<T, StoreError> {
        let json = self
            .sealer
            .open(&json_aad(tree, key), sealed)
            .ok_or_else(|| StoreError::Unreadable {
                name: record_name(tree, key),
            })?;
        serde_json::from_slice(&json).map_err(|source| StoreError::Decode {
            name: record_name(tree, key),
            source,
        })
    }

    fn tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        self.db.open_tree(name).map_err(|e| self.sled(e))
    }

    fn json_tree(&self, tree: &str) -> Result<sled::Tree, StoreError> {
        self.tree(&format!("{JSON_TREE_PREFIX}{tree}"))
    }

    fn sled(&self, e: sled::Error) -> StoreError {
        sled_error(&self.path, e)
    }
}

/// Associated data of a secret: binds the sealed value to its name.
fn secret_aad(name: &str) -> Vec<u8> {
    [b"teslasync/secret/v1\0".as_slice(), name.as_bytes()].concat()
}

/// Associated data of a JSON record. The tree name is length-prefixed so that no two
/// (tree, key) pairs produce the same bytes.
fn json_aad(tree: &str, key: &str) -> Vec<u8> {
    let len = u32::try_from(tree.len()).unwrap_or(u32::MAX).to_be_bytes();
    [
        b"teslasync/json/v1\0".as_slice(),
        &len,
        tree.as_bytes(),
        key.as_bytes(),
    ]
    .concat()
}

/// How errors name a JSON record.
fn record_name(tree: &str, key: &str) -> String {
    format!("{tree}/{key}")
}

fn seal_failed() -> io::Error {
    io::Error::other("encryption failed")
}

/// True if `dir` exists and has anything in it.
fn has_entries(dir: &Path) -> io::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes `file` so that after a crash it either does not exist or is complete: write a
/// temporary file, sync it, rename it into place, sync the directory.
fn write_durably(dir: &Path, file: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let tmp = file.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(contents)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, file)?;
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// How long [`open_db`] waits for another handle to let go of the database.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Opens sled, waiting briefly if the database is still locked. sled releases its file lock from a
/// background thread after the last handle of the previous owner is dropped, so a restart in the
/// same process (or a supervisor's quick restart) can otherwise race it. A lock that persists means
/// another process really holds the store: [`StoreError::Locked`].
fn open_db(db_path: &Path, path: &Path) -> Result<sled::Db, StoreError> {
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(10);
    loop {
        match sled::Config::new()
            .path(db_path)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(|e| sled_error(path, e))
        {
            Err(StoreError::Locked { .. }) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

fn sled_error(path: &Path, e: sled::Error) -> StoreError {
    let path = path.to_owned();
    match e {
        // sled reports a held lock as a plain `Other` error with this text.
        sled::Error::Io(source) if source.to_string().contains("could not acquire lock") => {
            StoreError::Locked { path }
        }
        sled::Error::Io(source) => StoreError::Io { path, source },
        sled::Error::Corruption { .. } => StoreError::Corrupt { path },
        other => StoreError::Io {
            path,
            source: io::Error::other(other.to_string()),
        },
    }
}

#[cfg(test)]
mod tests;
