//! `store`: placeholder until the config branch lands (no encryption here!).
use crate::secret::Secret;
use serde::{de::DeserializeOwned, Serialize};
use std::path::Path;

#[derive(Clone)]
pub struct Store { db: sled::Db }
pub enum StoreKey { Configured(Secret), Ephemeral }
#[derive(Debug, thiserror::Error)]
pub enum StoreError { #[error("io: {0}")] Io(String), #[error("wrong key")] WrongKey, #[error("unreadable {name}")] Unreadable { name: String } }
fn io<E: std::fmt::Display>(e: E) -> StoreError { StoreError::Io(e.to_string()) }
impl Store {
    pub fn open(path: &Path, _key: StoreKey) -> Result<Store, StoreError> { Ok(Store { db: sled::open(path).map_err(io)? }) }
    pub fn put_secret(&self, name: &str, plaintext: &[u8]) -> Result<(), StoreError> { self.db.insert(name, plaintext).map_err(io)?; self.db.flush().map_err(io)?; Ok(()) }
    pub fn get_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> { Ok(self.db.get(name).map_err(io)?.map(|v| v.to_vec())) }
    pub fn put_json<T: Serialize>(&self, tree: &str, key: &str, value: &T) -> Result<(), StoreError> { self.db.open_tree(tree).map_err(io)?.insert(key, serde_json::to_vec(value).map_err(io)?).map_err(io)?; Ok(()) }
    pub fn get_json<T: DeserializeOwned>(&self, tree: &str, key: &str) -> Result<Option<T>, StoreError> { match self.db.open_tree(tree).map_err(io)?.get(key).map_err(io)? { Some(v) => Ok(Some(serde_json::from_slice(&v).map_err(io)?)), None => Ok(None) } }
    pub fn scan_json<T: DeserializeOwned>(&self, tree: &str) -> Result<Vec<(String, T)>, StoreError> { let mut out = vec![]; for kv in self.db.open_tree(tree).map_err(io)?.iter() { let (k, v) = kv.map_err(io)?; out.push((String::from_utf8_lossy(&k).into_owned(), serde_json::from_slice(&v).map_err(io)?)); } Ok(out) }
    pub fn remove(&self, tree: &str, key: &str) -> Result<(), StoreError> { self.db.open_tree(tree).map_err(io)?.remove(key).map_err(io)?; Ok(()) }
    pub fn flush(&self) -> Result<(), StoreError> { self.db.flush().map_err(io)?; Ok(()) }
    pub async fn flush_async(&self) -> Result<(), StoreError> { self.db.flush_async().await.map_err(io)?; Ok(()) }
}
