//! Sealing: AES-256-GCM with a fresh random 96-bit nonce per write, stored as
//! `nonce || ciphertext+tag`, and associated data that names the record, so that a sealed value
//! copied onto another record fails to open instead of being read as that record.
//!
//! Also the keycheck file, which lets the store tell a wrong key from a right one before
//! anything on disk is touched (see [`super::Store::open`]).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use rand::RngCore as _;

/// GCM's standard nonce size. Random nonces of this size stay safe far beyond the number of
/// writes a TeslaSync store will ever see (the limit is around 2^32 per key).
pub(super) const NONCE_LEN: usize = 12;

/// First bytes of the keycheck file of a store with a configured key, as written before v2.
pub(super) const KEYCHECK_MAGIC: &[u8] = b"teslasync-keycheck-v1\n";
/// First bytes of the keycheck file written now: after the sealed part comes a SHA-256 of
/// everything before it, so a damaged file is told apart from a different key (GCM alone cannot:
/// a flipped byte and a wrong key both fail the tag).
pub(super) const KEYCHECK_MAGIC_V2: &[u8] = b"teslasync-keycheck-v2\n";
const CHECKSUM_LEN: usize = 32;
/// First bytes of the keycheck file of a store made with a throwaway key (`teslasync demo`),
/// so that reopening it can say so instead of blaming the key.
pub(super) const KEYCHECK_MAGIC_EPHEMERAL: &[u8] = b"teslasync-keycheck-v1 ephemeral\n";
/// What the keycheck file seals. Known plaintext is fine for GCM; the point is only that
/// opening it succeeds with the right key and fails with any other.
const KEYCHECK_PLAINTEXT: &[u8] = b"TeslaSync keycheck: this key opens this store.";
const KEYCHECK_AAD: &[u8] = b"teslasync/keycheck/v1";

/// The 32 key bytes from the base64 text of `storage.encryption_key`. Accepts standard and
/// URL-safe base64, padded or not, and ignores surrounding whitespace (a key read from a file
/// usually ends in a newline). The error never contains the key.
pub fn decode_key(b64: &str) -> Result<[u8; 32], String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let text = b64.trim();
    let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| {
            "is not valid base64; create a key with `openssl rand -base64 32`".to_owned()
        })?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        format!(
            "decodes to {} bytes but must be exactly 32; create a key with `openssl rand -base64 32`",
            bytes.len()
        )
    })
}

/// A fresh random 256-bit key (for [`super::StoreKey::Ephemeral`]).
pub(super) fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

/// Seals and opens values under one key.
#[derive(Clone)]
pub(super) struct Sealer {
    cipher: Aes256Gcm,
}

impl Sealer {
    pub(super) fn new(key: &[u8; 32]) -> Sealer {
        Sealer {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// `nonce || ciphertext+tag`. Fails only for messages over 64 GiB.
    pub(super) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, aes_gcm::Error> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self.cipher.encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The plaintext, or `None` if the value was sealed under another key or another name, or
    /// changed since. GCM cannot tell these apart, and callers must not guess.
    pub(super) fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        self.cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: body, aad })
            .ok()
    }

    /// The contents of a new keycheck file.
    pub(super) fn keycheck(&self, ephemeral: bool) -> Result<Vec<u8>, aes_gcm::Error> {
        let magic = if ephemeral {
            KEYCHECK_MAGIC_EPHEMERAL
        } else {
            KEYCHECK_MAGIC_V2
        };
        let mut out = magic.to_vec();
        out.extend(self.seal(KEYCHECK_AAD, KEYCHECK_PLAINTEXT)?);
        if !ephemeral {
            let sum = checksum(&out);
            out.extend_from_slice(&sum);
        }
        Ok(out)
    }
}

/// What a keycheck file says about a key.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Keycheck {
    /// The key opens the store.
    Matches,
    /// A well-formed keycheck that this key does not open.
    WrongKey,
    /// An older (v1) keycheck that this key does not open: without a checksum, a different key
    /// and a damaged file look the same.
    WrongKeyOrDamaged,
    /// Written for a throwaway key; nothing can open it again.
    Ephemeral,
    /// Not a keycheck file (truncated, overwritten).
    Damaged,
}

/// Checks `file` (the keycheck file's bytes) against `sealer`'s key.
pub(super) fn verify_keycheck(sealer: &Sealer, file: &[u8]) -> Keycheck {
    if file.starts_with(KEYCHECK_MAGIC_EPHEMERAL) {
        return Keycheck::Ephemeral;
    }
    let (sealed, failed) = if let Some(rest) = file.strip_prefix(KEYCHECK_MAGIC_V2) {
        let Some(split) = rest.len().checked_sub(CHECKSUM_LEN) else {
            return Keycheck::Damaged;
        };
        let body = &file[..KEYCHECK_MAGIC_V2.len() + split];
        if checksum(body)[..] != rest[split..] {
            return Keycheck::Damaged;
        }
        (&rest[..split], Keycheck::WrongKey)
    } else if let Some(rest) = file.strip_prefix(KEYCHECK_MAGIC) {
        (rest, Keycheck::WrongKeyOrDamaged)
    } else {
        return Keycheck::Damaged;
    };
    // nonce + plaintext + 16-byte tag; anything else was cut short or padded.
    if sealed.len() != NONCE_LEN + KEYCHECK_PLAINTEXT.len() + 16 {
        return Keycheck::Damaged;
    }
    match sealer.open(KEYCHECK_AAD, sealed) {
        Some(p) if p == KEYCHECK_PLAINTEXT => Keycheck::Matches,
        _ => failed,
    }
}

fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_LEN] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn decode_key_accepts_openssl_output_and_rejects_other_lengths() {
        let key = decode_key(KEY).unwrap();
        assert_eq!(key[0..4], [0, 1, 2, 3]);
        assert_eq!(decode_key(&format!("  {KEY}\n")).unwrap(), key);
        assert_eq!(decode_key(KEY.trim_end_matches('=')).unwrap(), key);
        let short = decode_key("AAECAwQFBgcICQoLDA0ODw==").unwrap_err();
        assert!(
            short.contains("16 bytes") && short.contains("openssl rand -base64 32"),
            "{short}"
        );
        let junk = decode_key("not base64 at all!").unwrap_err();
        assert!(junk.contains("not valid base64"), "{junk}");
        assert!(
            !junk.contains("not base64 at all"),
            "the key must not be echoed: {junk}"
        );
    }

    #[test]
    fn seal_round_trips_and_binds_the_associated_data() {
        let s = Sealer::new(&decode_key(KEY).unwrap());
        let sealed = s.seal(b"name-a", b"refresh-token").unwrap();
        assert_eq!(sealed.len(), NONCE_LEN + b"refresh-token".len() + 16);
        assert_eq!(
            s.open(b"name-a", &sealed).as_deref(),
            Some(&b"refresh-token"[..])
        );
        assert_eq!(s.open(b"name-b", &sealed), None, "moved to another record");
        assert_eq!(s.open(b"name-a", &sealed[..5]), None, "truncated");
        let other = Sealer::new(&[7u8; 32]);
        assert_eq!(other.open(b"name-a", &sealed), None, "other key");
    }

    #[test]
    fn keycheck_tells_right_wrong_ephemeral_and_damaged_apart() {
        let right = Sealer::new(&decode_key(KEY).unwrap());
        let file = right.keycheck(false).unwrap();
        assert_eq!(verify_keycheck(&right, &file), Keycheck::Matches);
        assert_eq!(
            verify_keycheck(&Sealer::new(&[9u8; 32]), &file),
            Keycheck::WrongKey
        );
        assert_eq!(
            verify_keycheck(&right, &file[..file.len() - 1]),
            Keycheck::Damaged
        );
        assert_eq!(verify_keycheck(&right, b"hello"), Keycheck::Damaged);
        // Any flipped byte after the magic is damage, not a different key.
        for i in KEYCHECK_MAGIC_V2.len()..file.len() {
            let mut bad = file.clone();
            bad[i] ^= 0x01;
            assert_eq!(verify_keycheck(&right, &bad), Keycheck::Damaged, "byte {i}");
        }
        // A v1 file (no checksum) cannot tell the two apart, and says so.
        let mut v1 = KEYCHECK_MAGIC.to_vec();
        v1.extend(right.seal(KEYCHECK_AAD, KEYCHECK_PLAINTEXT).unwrap());
        assert_eq!(verify_keycheck(&right, &v1), Keycheck::Matches);
        assert_eq!(
            verify_keycheck(&Sealer::new(&[9u8; 32]), &v1),
            Keycheck::WrongKeyOrDamaged
        );
        let eph = right.keycheck(true).unwrap();
        assert_eq!(verify_keycheck(&right, &eph), Keycheck::Ephemeral);
    }
}
