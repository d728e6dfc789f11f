//! `tesla::command::crypto`: the primitives of the vehicle command protocol — P-256 keys, ECDH
//! session keys, the HMAC sub-keys, HMAC tags and AES-GCM for encrypted replies.
//!
//! Owns key material and nothing else: no message layout (that is `metadata` and `messages`), no
//! session bookkeeping (`session`). Secret values never appear in `Debug` output.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use hmac::{Hmac, Mac};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::DecodePrivateKey;
use p256::{PublicKey, SecretKey};
use sha1::{Digest, Sha1};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of an uncompressed SEC1 P-256 point (`04 ‖ X ‖ Y`), the only form the protocol uses.
pub const PUBLIC_KEY_LEN: usize = 65;

/// Why a key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the private key is not a P-256 key in PEM (\"EC PRIVATE KEY\" or PKCS#8 \"PRIVATE KEY\") \
         or 32 raw bytes; generate one with `openssl ecparam -name prime256v1 -genkey -noout`"
    )]
    BadPrivateKey,
    #[error(
        "public key is not a 65-byte uncompressed P-256 point ({len} bytes); public keys are \
         exchanged as 04 || X || Y"
    )]
    BadPublicKey { len: usize },
}

/// The client's long-term P-256 key pair (the "virtual key" enrolled on the car).
///
/// Cloning is cheap enough (32 + 65 bytes); the secret scalar is zeroized on drop by `p256`.
#[derive(Clone)]
pub struct KeyPair {
    secret: SecretKey,
    public: [u8; PUBLIC_KEY_LEN],
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &hex::encode(self.public))
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    pub fn from_secret(secret: SecretKey) -> Self {
        let public = encode_public(&secret.public_key());
        KeyPair { secret, public }
    }

    /// A fresh random key (tests, the simulator, first-run key generation).
    pub fn generate() -> Self {
        Self::from_secret(SecretKey::random(&mut rand::thread_rng()))
    }

    /// A big-endian 32-byte scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        SecretKey::from_slice(bytes)
            .map(Self::from_secret)
            .map_err(|_| KeyError::BadPrivateKey)
    }

    /// SEC1 (`-----BEGIN EC PRIVATE KEY-----`, what `openssl ecparam -genkey` and Tesla's
    /// `tesla-keygen` write) or PKCS#8 (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        SecretKey::from_sec1_pem(pem)
            .or_else(|_| SecretKey::from_pkcs8_pem(pem))
            .map(Self::from_secret)
            .map_err(|_| KeyError::BadPrivateKey)
    }

    /// The 65-byte uncompressed public key, as sent in `signer_identity` and enrolled on the car.
    pub fn public_key(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.public
    }

    pub(crate) fn secret(&self) -> &SecretKey {
        &self.secret
    }

    /// ECDH with a peer's public key, reduced to the protocol's AES-128 key.
    pub fn shared_key(&self, peer_public: &[u8]) -> Result<[u8; 16], KeyError> {
        shared_key(&self.secret, peer_public)
    }
}

/// `04 ‖ X ‖ Y`.
pub fn encode_public(key: &PublicKey) -> [u8; PUBLIC_KEY_LEN] {
    let point = key.to_encoded_point(false);
    let mut out = [0u8; PUBLIC_KEY_LEN];
    out.copy_from_slice(point.as_bytes());
    out
}

/// Parses and validates a peer's public key. Rejects anything but a 65-byte uncompressed point
/// on the curve, because the key is also pinned and compared byte for byte.
pub fn parse_public(bytes: &[u8]) -> Result<PublicKey, KeyError> {
    if bytes.len() != PUBLIC_KEY_LEN || bytes[0] != 0x04 {
        return Err(KeyError::BadPublicKey { len: bytes.len() });
    }
    PublicKey::from_sec1_bytes(bytes).map_err(|_| KeyError::BadPublicKey { len: bytes.len() })
}

/// `K = SHA1(Sx)[0..16]` where `Sx` is the ECDH x-coordinate as exactly 32 big-endian bytes.
/// `raw_secret_bytes` keeps leading zeros, which some implementations got wrong.
pub fn shared_key(secret: &SecretKey, peer_public: &[u8]) -> Result<[u8; 16], KeyError> {
    let peer = parse_public(peer_public)?;
    let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
    let digest = Sha1::digest(shared.raw_secret_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&digest[..16]);
    Ok(k)
}

/// The three keys one session uses, all derived from the ECDH key `K`.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    /// `K` itself: AES-128-GCM for encrypted replies (and BLE commands).
    pub aes: [u8; 16],
    /// `HMAC-SHA256(K, "authenticated command")`: keys the command tag.
    pub cmd: [u8; 32],
    /// `HMAC-SHA256(K, "session info")`: keys the session-info tag.
    pub info: [u8; 32],
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(<redacted>)")
    }
}

impl SessionKeys {
    pub fn derive(k: [u8; 16]) -> Self {
        SessionKeys {
            aes: k,
            cmd: hmac_sha256(&k, &[b"authenticated command"]),
            info: hmac_sha256(&k, &[b"session info"]),
        }
    }
}

/// HMAC-SHA256 over the concatenation of `parts` (avoids copying metadata and payload together).
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Constant-time check of an HMAC-SHA256 tag over the concatenation of `parts`.
pub fn hmac_sha256_verify(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        mac.update(p);
    }
    mac.verify_slice(tag).is_ok()
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// AES-128-GCM seal with a detached 16-byte tag; `aad` is the SHA-256 of the metadata.
pub fn aes_gcm_seal(
    key: &[u8; 16],
    nonce: &[u8; 12],
    aad: &[u8],
    plaintext: &[u8],
) -> (Vec<u8>, [u8; 16]) {
    let cipher = Aes128Gcm::new(key.into());
    let mut buf = plaintext.to_vec();
    let tag = cipher
        .encrypt_in_place_detached(&Nonce::from(*nonce), aad, &mut buf)
        .expect("AES-GCM encrypts any message shorter than 64 GiB");
    (buf, tag.into())
}

/// AES-128-GCM open; `None` when the nonce or tag has the wrong length or authentication fails.
pub fn aes_gcm_open(
    key: &[u8; 16],
    nonce: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> Option<Vec<u8>> {
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    let tag: [u8; 16] = tag.try_into().ok()?;
    let cipher = Aes128Gcm::new(key.into());
    let mut buf = ciphertext.to_vec();
    cipher
        .decrypt_in_place_detached(&Nonce::from(nonce), aad, &mut buf, &tag.into())
        .ok()?;
    Some(buf)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The published test keys of protocol.md (Tesla's vehicle-command repository). Never
    /// enroll them.
    pub const CLIENT_PRIVATE: &str =
        "2538cdc29a97c19c1e99a637d6cf4f8c970c118b56ede1e6323e6d162c4b30db";
    pub const CLIENT_PUBLIC: &str = "04b2b6bc68c2da0665ce656815594996c62394edd8bea905fe781a754fe6a845a714330902f225e9269d466e05b349981fda9d85cc23c6fb444aa73b629105dc6e";
    pub const VEHICLE_PRIVATE: &str =
        "344ee5b466a7cf1eeb12b6f50331db2e5ec5834ef5f4befcfd8cbe55c2528d70";
    pub const VEHICLE_PUBLIC: &str = "04c7a1f47138486aa4729971494878d33b1a24e39571f748a6e16c5955b3d877d3a6aaa0e955166474af5d32c410f439a2234137ad1bb085fd4e8813c958f11d97";

    pub fn client() -> KeyPair {
        KeyPair::from_bytes(&hex::decode(CLIENT_PRIVATE).unwrap()).unwrap()
    }

    pub fn vehicle() -> KeyPair {
        KeyPair::from_bytes(&hex::decode(VEHICLE_PRIVATE).unwrap()).unwrap()
    }

    #[test]
    fn test_keys_have_the_published_public_keys() {
        assert_eq!(hex::encode(client().public_key()), CLIENT_PUBLIC);
        assert_eq!(hex::encode(vehicle().public_key()), VEHICLE_PUBLIC);
    }

    #[test]
    fn pem_keys_match_the_raw_test_keys() {
        let pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEICU4zcKal8GcHpmmN9bPT4yXDBGLVu3h5jI+bRYsSzDboAoGCCqGSM49\nAwEHoUQDQgAEsra8aMLaBmXOZWgVWUmWxiOU7di+qQX+eBp1T+aoRacUMwkC8iXp\nJp1GbgWzSZgf2p2FzCPG+0RKpztikQXcbg==\n-----END EC PRIVATE KEY-----\n";
        let key = KeyPair::from_pem(pem).unwrap();
        assert_eq!(hex::encode(key.public_key()), CLIENT_PUBLIC);
        assert_eq!(
            KeyPair::from_pem("nope").unwrap_err(),
            KeyError::BadPrivateKey
        );
        let dbg = format!("{key:?}");
        assert!(!dbg.contains(CLIENT_PRIVATE), "{dbg}");
    }

    #[test]
    fn key_agreement_and_sub_keys_match_spec_8_2() {
        let client = client();
        let vehicle_pub = hex::decode(VEHICLE_PUBLIC).unwrap();
        let peer = parse_public(&vehicle_pub).unwrap();
        let shared =
            p256::ecdh::diffie_hellman(client.secret().to_nonzero_scalar(), peer.as_affine());
        assert_eq!(
            hex::encode(shared.raw_secret_bytes()),
            "6b9a2844b300e6a85e4474f70b31b23de2d8f7d3e594784cdfe8318031442f8b"
        );
        let k = client.shared_key(&vehicle_pub).unwrap();
        assert_eq!(hex::encode(k), "1b2fce19967b79db696f909cff89ea9a");
        // Both sides agree.
        let k2 = vehicle()
            .shared_key(&hex::decode(CLIENT_PUBLIC).unwrap())
            .unwrap();
        assert_eq!(k, k2);
        let keys = SessionKeys::derive(k);
        assert_eq!(
            hex::encode(keys.info),
            "fceb679ee7bca756fcd441bf238bf2f338629b41d9eb9c67be1b32c9672ce300"
        );
        assert_eq!(
            hex::encode(keys.cmd),
            "6d3a14d0b6d762e4f076739e2cf6edd291d2e56e3f25bc6a2af5cb26dc753b14"
        );
        assert_eq!(format!("{keys:?}"), "SessionKeys(<redacted>)");
    }

    #[test]
    fn shared_secret_keeps_its_leading_zero_byte() {
        let scalar = KeyPair::from_bytes(
            &hex::decode("5260f8d6113875d86f8ee8fea340df1ffb40c658b5455e8c33d797c53a41afd3")
                .unwrap(),
        )
        .unwrap();
        let peer = hex::decode("0407fb60b65b94e0de4a954c53be10003d9e69918dedfda5f4e9efb9ebd8c5bd672a53991c4068865d5fb44f97f6cecf8398f261dd1d7bc69be676afdc8ffacbcc").unwrap();
        let shared = p256::ecdh::diffie_hellman(
            scalar.secret().to_nonzero_scalar(),
            parse_public(&peer).unwrap().as_affine(),
        );
        assert_eq!(
            hex::encode(shared.raw_secret_bytes()),
            "0072d5b815207a04f0c795fba0ba9e8add3f1f57148c51fface22ca15e6fd845"
        );
        assert_eq!(
            hex::encode(scalar.shared_key(&peer).unwrap()),
            "0db468f9045e01c1798c54e52d7f408f"
        );
    }

    #[test]
    fn invalid_peer_keys_are_rejected() {
        let client = client();
        assert!(client.shared_key(&[4u8; 65]).is_err());
        assert!(client.shared_key(&[]).is_err());
        // A compressed encoding of a valid point is refused too: keys are pinned byte for byte.
        let compressed = vehicle().secret().public_key().to_encoded_point(true);
        assert!(client.shared_key(compressed.as_bytes()).is_err());
    }

    #[test]
    fn aes_gcm_round_trips_and_detects_tampering() {
        let key = [7u8; 16];
        let nonce = [1u8; 12];
        let (ct, tag) = aes_gcm_seal(&key, &nonce, b"aad", b"hello");
        assert_eq!(
            aes_gcm_open(&key, &nonce, b"aad", &ct, &tag).unwrap(),
            b"hello"
        );
        assert!(aes_gcm_open(&key, &nonce, b"aaX", &ct, &tag).is_none());
        assert!(aes_gcm_open(&key, &nonce[..11], b"aad", &ct, &tag).is_none());
    }
}
