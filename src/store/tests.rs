use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::*;

/// `openssl rand -base64 32`-style keys.
const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "HxseHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";

fn key(k: &str) -> StoreKey {
    StoreKey::Configured(Secret::from(k))
}

/// Every file under `dir` (relative path → SHA-256 of its contents), directories included as
/// entries, so that any created, removed or changed file shows up.
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if p.is_dir() {
                out.insert(format!("{rel}/"), String::new());
                walk(root, &p, out);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.insert(rel, hex::encode(Sha256::digest(&bytes)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A store with one secret and one JSON record, closed again.
fn populated(dir: &Path) {
    let store = Store::open(dir, key(KEY_A)).unwrap();
    assert!(store.created());
    store
        .put_secret("refresh_token", b"NA_secret-refresh")
        .unwrap();
    store.put_json("state", "VIN1", &42u32).unwrap();
    store.flush().unwrap();
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct VehicleState {
    battery: u8,
    locked: bool,
}

#[test]
fn secrets_round_trip_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), key(KEY_A)).unwrap();
        assert_eq!(store.get_secret("refresh_token").unwrap(), None);
        store.put_secret("refresh_token", b"first").unwrap();
        store.put_secret("refresh_token", b"rotated").unwrap();
        store.put_secret("empty", b"").unwrap();
        assert_eq!(
            store.get_secret("refresh_token").unwrap().as_deref(),
            Some(&b"rotated"[..])
        );
        assert_eq!(
            store.get_secret("empty").unwrap().as_deref(),
            Some(&b""[..])
        );
    }
    let store = Store::open(dir.path(), key(KEY_A)).unwrap();
    assert!(!store.created());
    assert_eq!(
        store.get_secret("refresh_token").unwrap().as_deref(),
        Some(&b"rotated"[..])
    );
    store.remove_secret("refresh_token").unwrap();
    assert_eq!(store.get_secret("refresh_token").unwrap(), None);
}

#[test]
fn json_round_trip_scan_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), key(KEY_A)).unwrap();
    store
        .put_json(
            "vehicles",
            "VIN2",
            &VehicleState {
                battery: 50,
                locked: false,
            },
        )
        .unwrap();
    store
        .put_json(
            "vehicles",
            "VIN1",
            &VehicleState {
                battery: 80,
                locked: true,
            },
        )
        .unwrap();
    store.put_json("other", "VIN1", &"unrelated").unwrap();
    assert_eq!(
        store.get_json::<VehicleState>("vehicles", "VIN1").unwrap(),
        Some(VehicleState {
            battery: 80,
            locked: true
        })
    );
    assert_eq!(
        store.get_json::<VehicleState>("vehicles", "VIN3").unwrap(),
        None
    );
    let all: Vec<(String, VehicleState)> = store.scan_json("vehicles").unwrap();
    let keys: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["VIN1", "VIN2"],
        "key order, and no records of other trees"
    );
    store.remove("vehicles", "VIN1").unwrap();
    assert_eq!(
        store.get_json::<VehicleState>("vehicles", "VIN1").unwrap(),
        None
    );
    assert_eq!(
        store.scan_json::<VehicleState>("vehicles").unwrap().len(),
        1
    );
    // A JSON tree named like the secrets tree does not reach the secrets.
    store.put_secret("token", b"s").unwrap();
    assert_eq!(store.scan_json::<String>("secrets").unwrap(), vec![]);
}

#[test]
fn each_write_uses_a_fresh_nonce_and_nothing_is_stored_in_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), key(KEY_A)).unwrap();
    let raw = |tree: &str, k: &str| store.db.open_tree(tree).unwrap().get(k).unwrap().unwrap();

    store.put_secret("token", b"same plaintext").unwrap();
    let first = raw(SECRETS_TREE, "token");
    store.put_secret("token", b"same plaintext").unwrap();
    let second = raw(SECRETS_TREE, "token");
    assert_ne!(first, second, "same plaintext sealed twice must differ");
    assert_ne!(
        first[..seal::NONCE_LEN],
        second[..seal::NONCE_LEN],
        "nonce must be fresh"
    );
    assert_eq!(first.len(), seal::NONCE_LEN + b"same plaintext".len() + 16);
    assert!(!first.windows(5).any(|w| w == b"plain"));

    store.put_json("state", "VIN1", &"Home Sweet Home").unwrap();
    let json = raw("json/state", "VIN1");
    assert!(
        !json.windows(5).any(|w| w == b"Sweet"),
        "JSON records are sealed too"
    );
}

#[test]
fn tampered_or_moved_records_are_unreadable_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), key(KEY_A)).unwrap();
    store.put_secret("access_token", b"access").unwrap();
    store.put_secret("refresh_token", b"refresh").unwrap();
    let secrets = store.db.open_tree(SECRETS_TREE).unwrap();

    // Flip one ciphertext bit.
    let mut bytes = secrets.get("access_token").unwrap().unwrap().to_vec();
    bytes[seal::NONCE_LEN] ^= 1;
    secrets.insert("access_token", bytes.clone()).unwrap();
    match store.get_secret("access_token") {
        Err(StoreError::Unreadable { name }) => assert_eq!(name, "access_token"),
        other => panic!("expected Unreadable, got {other:?}"),
    }
    assert_eq!(
        secrets.get("access_token").unwrap().unwrap(),
        bytes,
        "not overwritten"
    );

    // Copy a valid sealed value onto another record: the associated data catches it.
    let refresh = secrets.get("refresh_token").unwrap().unwrap();
    secrets.insert("access_token", refresh).unwrap();
    assert!(matches!(
        store.get_secret("access_token"),
        Err(StoreError::Unreadable { .. })
    ));

    // Same for JSON, including a scan, which must not skip the bad record.
    store.put_json("state", "VIN1", &1u8).unwrap();
    store.put_json("state", "VIN2", &2u8).unwrap();
    let state = store.db.open_tree("json/state").unwrap();
    let vin1 = state.get("VIN1").unwrap().unwrap();
    state.insert("VIN2", vin1).unwrap();
    let err = store.get_json::<u8>("state", "VIN2").unwrap_err();
    assert!(
        matches!(&err, StoreError::Unreadable { name } if name == "state/VIN2"),
        "{err:?}"
    );
    assert!(matches!(
        store.scan_json::<u8>("state"),
        Err(StoreError::Unreadable { .. })
    ));
    let msg = err.to_string();
    assert!(
        msg.contains("state/VIN2") && msg.contains("left as it is"),
        "{msg}"
    );
}

#[test]
fn json_of_the_wrong_shape_is_a_decode_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), key(KEY_A)).unwrap();
    store.put_json("state", "VIN1", &"text").unwrap();
    let err = store.get_json::<VehicleState>("state", "VIN1").unwrap_err();
    assert!(
        matches!(&err, StoreError::Decode { name, .. } if name == "state/VIN1"),
        "{err:?}"
    );
}

#[test]
fn wrong_key_is_refused_without_touching_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    let before = snapshot(dir.path());
    assert!(
        before.contains_key(KEYCHECK_FILE) && before.contains_key("db/"),
        "{before:?}"
    );

    let err = Store::open(dir.path(), key(KEY_B)).unwrap_err();
    assert!(
        matches!(&err, StoreError::WrongKey { path } if path == dir.path()),
        "{err:?}"
    );
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a failed start must change nothing on disk"
    );
    let msg = err.to_string();
    for part in [
        "different ENCRYPTION_KEY",
        "nothing was changed",
        "original key",
        "move",
    ] {
        assert!(msg.contains(part), "{part:?} missing from: {msg}");
    }

    // The right key still opens it, with the data intact.
    let store = Store::open(dir.path(), key(KEY_A)).unwrap();
    assert_eq!(
        store.get_secret("refresh_token").unwrap().as_deref(),
        Some(&b"NA_secret-refresh"[..])
    );
    assert_eq!(store.get_json::<u32>("state", "VIN1").unwrap(), Some(42));
}

#[test]
fn no_key_for_an_existing_store_is_refused_without_touching_it() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    let before = snapshot(dir.path());
    let err = Store::open(dir.path(), StoreKey::Ephemeral).unwrap_err();
    assert!(matches!(err, StoreError::KeyRequired { .. }), "{err:?}");
    assert!(err.to_string().contains("no key was given"), "{err}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_database_without_keycheck_is_not_adopted() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    std::fs::remove_file(dir.path().join(KEYCHECK_FILE)).unwrap();
    let before = snapshot(dir.path());
    let err = Store::open(dir.path(), key(KEY_A)).unwrap_err();
    assert!(matches!(err, StoreError::MissingKeycheck { .. }), "{err:?}");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "no new keycheck may be written"
    );
}

#[test]
fn a_damaged_keycheck_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    let keycheck = dir.path().join(KEYCHECK_FILE);
    let bytes = std::fs::read(&keycheck).unwrap();
    std::fs::write(&keycheck, &bytes[..bytes.len() / 2]).unwrap();
    let before = snapshot(dir.path());
    let err = Store::open(dir.path(), key(KEY_A)).unwrap_err();
    assert!(matches!(err, StoreError::DamagedKeycheck { .. }), "{err:?}");
    assert_eq!(snapshot(dir.path()), before);
}

/// Bit rot inside the sealed part (same length, one byte changed) is damage, and the message does
/// not send the user hunting for another key.
#[test]
fn a_keycheck_with_a_changed_byte_is_called_damaged_not_a_different_key() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    let keycheck = dir.path().join(KEYCHECK_FILE);
    let mut bytes = std::fs::read(&keycheck).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&keycheck, &bytes).unwrap();
    let before = snapshot(dir.path());
    let err = Store::open(dir.path(), key(KEY_A)).unwrap_err();
    assert!(matches!(err, StoreError::DamagedKeycheck { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("damaged") && !msg.contains("different ENCRYPTION_KEY"),
        "{msg}"
    );
    assert_eq!(snapshot(dir.path()), before, "nothing changed");
}

#[test]
fn a_malformed_key_is_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("data");
    let err = Store::open(&target, key("c2hvcnQ=")).unwrap_err();
    assert!(matches!(err, StoreError::BadKey { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("openssl rand -base64 32") && msg.contains("ENCRYPTION_KEY"),
        "{msg}"
    );
    assert!(!target.exists());
}

#[test]
fn a_new_store_gets_a_directory_keycheck_and_database() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("nested").join("data");
    let store = Store::open(&target, key(KEY_A)).unwrap();
    assert!(store.created());
    assert_eq!(store.path(), target);
    let keycheck = std::fs::read(target.join(KEYCHECK_FILE)).unwrap();
    assert!(keycheck.starts_with(seal::KEYCHECK_MAGIC_V2));
    assert!(target.join(DB_DIR).is_dir());
    assert!(!target.join("keycheck.tmp").exists());
}

#[test]
fn ephemeral_store_works_but_cannot_be_reopened() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), StoreKey::Ephemeral).unwrap();
        store.put_secret("refresh_token", b"demo").unwrap();
        assert_eq!(
            store.get_secret("refresh_token").unwrap().as_deref(),
            Some(&b"demo"[..])
        );
        store.put_json("state", "VIN1", &true).unwrap();
        assert_eq!(store.get_json::<bool>("state", "VIN1").unwrap(), Some(true));
    }
    let before = snapshot(dir.path());
    for k in [StoreKey::Ephemeral, key(KEY_A)] {
        let err = Store::open(dir.path(), k).unwrap_err();
        assert!(matches!(err, StoreError::EphemeralStore { .. }), "{err:?}");
        assert!(err.to_string().contains("throwaway key"), "{err}");
    }
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_second_open_of_the_same_directory_reports_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Store::open(dir.path(), key(KEY_A)).unwrap();
    let err = Store::open(dir.path(), key(KEY_A)).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("another process"), "{err}");
}

#[test]
fn io_errors_name_the_storage_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = Store::open(&file, key(KEY_A)).unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&file.display().to_string()) && msg.contains("storage.path"),
        "{msg}"
    );
}

#[test]
fn clones_share_the_database_and_debug_hides_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), key(KEY_A)).unwrap();
    let clone = store.clone();
    clone.put_secret("t", b"v").unwrap();
    assert_eq!(store.get_secret("t").unwrap().as_deref(), Some(&b"v"[..]));
    let shown = format!("{store:?} {:?}", key(KEY_A));
    assert!(
        !shown.contains(KEY_A) && shown.contains("redacted"),
        "{shown}"
    );
}

#[tokio::test]
async fn flush_async_flushes_from_async_code() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), key(KEY_A)).unwrap();
    store.put_json("state", "VIN1", &7u8).unwrap();
    store.flush_async().await.unwrap();
    drop(store);
    let store = Store::open(dir.path(), key(KEY_A)).unwrap();
    assert_eq!(store.get_json::<u8>("state", "VIN1").unwrap(), Some(7));
}

#[test]
fn store_can_be_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Store>();
    // Errors cross task boundaries and go into anyhow in main.rs.
    assert_send_sync::<StoreError>();
}

/// Close and reopen, again and again, as restarts do: the lock is released every time and nothing
/// written before is lost. (The race `open_db` waits out shows up in a full daemon restart; the
/// restart test in `tests/tokens.rs` covers it.)
#[test]
fn reopening_right_after_closing_waits_for_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..20 {
        let store =
            Store::open(dir.path(), key(KEY_A)).unwrap_or_else(|e| panic!("round {round}: {e}"));
        store.put_json("t", "k", &round).unwrap();
        drop(store);
    }
    let store = Store::open(dir.path(), key(KEY_A)).unwrap();
    assert_eq!(store.get_json::<i32>("t", "k").unwrap(), Some(19));
}
