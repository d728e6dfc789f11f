//! `tesla::command::jws`: `Tesla.SS256` JSON Web Signatures — Schnorr signatures over P-256 with
//! the client key, which Fleet API requires for `fleet_telemetry_config_jws` (spec §10).
//!
//! Owns the Schnorr signature (RFC 8235 style, RFC 6979 nonces, no low-s normalisation), the
//! compact token format and canonical claim serialization. It knows nothing about telemetry
//! fields or HTTP: the caller builds the config object and posts the token.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::elliptic_curve::PrimeField;
use p256::{FieldBytes, ProjectivePoint, PublicKey, Scalar, U256};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::crypto::KeyPair;

/// The `alg` header value.
pub const ALGORITHM: &str = "Tesla.SS256";
/// The audience for a fleet-wide telemetry config signed by `tesla-http-proxy`.
pub const TELEMETRY_AUDIENCE: &str = "com.tesla.fleet.TelemetryClient";
/// Signature length: the nonce point's x and y, then the scalar `r`.
pub const SIGNATURE_LEN: usize = 96;

/// `{"alg":"Tesla.SS256","typ":"JWT"}`, base64url; fixed so tokens are byte-identical to Go's.
const HEADER_B64: &str = "eyJhbGciOiJUZXNsYS5TUzI1NiIsInR5cCI6IkpXVCJ9";

/// The P-256 group order, big-endian (the modulus RFC 6979 samples below).
const ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("JWS claims must be a JSON object, not {0}")]
    ClaimsNotObject(&'static str),
    #[error("not a compact JWS (expected three base64url parts separated by dots)")]
    Malformed,
    #[error("JWS algorithm is {0:?}; only Tesla.SS256 is supported")]
    WrongAlgorithm(String),
    #[error("the signature does not verify with this public key (a different key signed it, or the token was altered)")]
    BadSignature,
    #[error("the public key is not a 65-byte uncompressed P-256 point")]
    BadPublicKey,
}

/// Signs `message` (the JWS signing input, not its hash) with Schnorr over P-256.
pub fn schnorr_sign(key: &KeyPair, message: &[u8]) -> [u8; SIGNATURE_LEN] {
    let a = *key.secret().to_nonzero_scalar();
    let v = nonce(&key.secret().to_bytes(), &Sha256::digest(message).into());
    let v_point = (ProjectivePoint::GENERATOR * v)
        .to_affine()
        .to_encoded_point(false);
    let c = challenge(v_point.as_bytes(), key.public_key(), message);
    let r = v - a * c;
    let mut sig = [0u8; SIGNATURE_LEN];
    sig[..64].copy_from_slice(&v_point.as_bytes()[1..]);
    sig[64..].copy_from_slice(&r.to_bytes());
    sig
}

/// Checks `c·A + r·G == V` with `c` recomputed from `V`, `A` and `message`.
pub fn schnorr_verify(public_key: &[u8], message: &[u8], sig: &[u8]) -> Result<(), JwsError> {
    if public_key.len() != 65 {
        return Err(JwsError::BadPublicKey);
    }
    let a = PublicKey::from_sec1_bytes(public_key).map_err(|_| JwsError::BadPublicKey)?;
    if sig.len() != SIGNATURE_LEN {
        return Err(JwsError::BadSignature);
    }
    let mut v_bytes = [0u8; 65];
    v_bytes[0] = 0x04;
    v_bytes[1..].copy_from_slice(&sig[..64]);
    let v = PublicKey::from_sec1_bytes(&v_bytes).map_err(|_| JwsError::BadSignature)?;
    let r_bytes: [u8; 32] = sig[64..].try_into().map_err(|_| JwsError::BadSignature)?;
    let r =
        Option::<Scalar>::from(Scalar::from_repr(r_bytes.into())).ok_or(JwsError::BadSignature)?;
    let c = challenge(&v_bytes, public_key, message);
    let lhs = a.to_projective() * c + ProjectivePoint::GENERATOR * r;
    if lhs.to_affine() == *v.as_affine() {
        Ok(())
    } else {
        Err(JwsError::BadSignature)
    }
}

/// RFC 6979 nonce for private scalar bytes `x` and message digest `digest` (reduced mod n first).
fn nonce(x: &FieldBytes, digest: &[u8; 32]) -> Scalar {
    let h1 = <Scalar as Reduce<U256>>::reduce_bytes(&(*digest).into()).to_bytes();
    let k = rfc6979::generate_k::<Sha256, _>(x, &ORDER.into(), &h1, &[]);
    Option::from(Scalar::from_repr(k)).expect("generate_k returns a value in [1, n)")
}

/// `c = SHA256(LV(G) ‖ LV(V) ‖ LV(A) ‖ LV(m))` with `LV(x) = BE32(len) ‖ x`, as a scalar.
fn challenge(v_point: &[u8], public_key: &[u8], message: &[u8]) -> Scalar {
    let g = ProjectivePoint::GENERATOR
        .to_affine()
        .to_encoded_point(false);
    let mut h = Sha256::new();
    for part in [g.as_bytes(), v_point, public_key, message] {
        h.update((part.len() as u32).to_be_bytes());
        h.update(part);
    }
    <Scalar as Reduce<U256>>::reduce_bytes(&h.finalize())
}

/// A compact `Tesla.SS256` token over `claims`, serialized canonically (see [`canonical_json`]).
pub fn sign(key: &KeyPair, claims: &Value) -> Result<String, JwsError> {
    if !claims.is_object() {
        return Err(JwsError::ClaimsNotObject(crate::util::json_kind(claims)));
    }
    let mut token = String::with_capacity(512);
    token.push_str(HEADER_B64);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(canonical_json(claims)));
    let sig = schnorr_sign(key, token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(sig));
    Ok(token)
}

/// Signs a Fleet Telemetry config for `POST /api/1/vehicles/fleet_telemetry_config_jws`: adds
/// `iss` (the client public key, standard base64) and `aud`, overwriting any given ones, as the
/// Go proxy does.
pub fn sign_fleet_telemetry_config(key: &KeyPair, config: &Value) -> Result<String, JwsError> {
    let Value::Object(map) = config else {
        return Err(JwsError::ClaimsNotObject(crate::util::json_kind(config)));
    };
    let mut claims: Map<String, Value> = map.clone();
    claims.insert(
        "iss".into(),
        Value::String(STANDARD.encode(key.public_key())),
    );
    claims.insert("aud".into(), Value::String(TELEMETRY_AUDIENCE.into()));
    sign(key, &Value::Object(claims))
}

/// Verifies a token against `public_key` and returns its claims.
pub fn verify(token: &str, public_key: &[u8]) -> Result<Value, JwsError> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let signing_input = &token[..header.len() + 1 + claims.len()];
    let header: Value = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(JwsError::Malformed)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if alg != ALGORITHM {
        return Err(JwsError::WrongAlgorithm(alg.to_string()));
    }
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| JwsError::Malformed)?;
    schnorr_verify(public_key, signing_input.as_bytes(), &sig)?;
    URL_SAFE_NO_PAD
        .decode(claims)
        .ok()
        .and_then(|c| serde_json::from_slice(&c).ok())
        .ok_or(JwsError::Malformed)
}

/// JSON the way Go's `encoding/json` writes a map: compact, keys sorted byte-wise, and `<`, `>`,
/// `&`, U+2028, U+2029 escaped. The verifier checks whatever was signed, so this matters only
/// for byte-identical tokens across implementations. (Floats with an exponent may still differ
/// from Go; telemetry configs use integers.)
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(s: &str, out: &mut String) {
    let quoted = serde_json::to_string(s).expect("strings always serialize");
    for ch in quoted.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tesla::command::crypto::tests::client;
    use serde_json::json;

    fn key_3_2_248() -> KeyPair {
        let mut x = [0u8; 32];
        x[0] = 3;
        KeyPair::from_bytes(&x).unwrap()
    }

    /// Go `schnorr_test.go` (spec §10.4).
    #[test]
    fn go_schnorr_vector() {
        let key = key_3_2_248();
        assert_eq!(hex::encode(key.public_key()), "04646ff7f65b3b5bd3429cfb2ae7500ee922758bbae7860be08b7ae792b4a7b506bc112a9d064a18a55a61e331804a8fe8492dfc4fc08e6995c979c1252b36f946");
        let sig = schnorr_sign(&key, b"hello world");
        assert_eq!(hex::encode(sig), "7cfdbeb5baa730540401550bdefa20976453e8539ae4b2f26ce33125801a08f90ed20c3d846497ff82cc9772e3db4703982f47bd0b0b89dfb9a49cd2e524054602b1e05fbf95f5686faea7a5809eb92f5ecc22eae74ceccc5e2a65dd67ff20fc");
        schnorr_verify(key.public_key(), b"hello world", &sig).unwrap();
        assert_eq!(
            schnorr_verify(key.public_key(), b"hello world!", &sig),
            Err(JwsError::BadSignature)
        );
        let mut bad = sig;
        bad[95] ^= 1;
        assert!(schnorr_verify(key.public_key(), b"hello world", &bad).is_err());
    }

    #[test]
    fn rfc6979_nonce_vectors() {
        // RFC 6979 A.2.5, P-256 with SHA-256, message "sample".
        let x: [u8; 32] =
            hex::decode("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721")
                .unwrap()
                .try_into()
                .unwrap();
        let x = FieldBytes::from(x);
        let k = nonce(&x, &Sha256::digest(b"sample").into());
        assert_eq!(
            hex::encode(k.to_bytes()),
            "a6e3c57dd01abe90086538398355dd4c3b17aa873382b0f24d6129493d8aad60"
        );
        // First candidate ≥ n, so the rejection-sampling loop runs.
        let digest: [u8; 32] =
            hex::decode("0080c36864c5f2f460e3767983c65677b65cef901bcedcb223f9b365c68f52f6")
                .unwrap()
                .try_into()
                .unwrap();
        let k = nonce(&key_3_2_248().secret().to_bytes(), &digest);
        assert_eq!(
            hex::encode(k.to_bytes()),
            "264fc6592fbea24fd0954e0b86b886e8743161758ddad2f7e9fed75a0019e005"
        );
    }

    /// Go `jwt_test.go` (spec §10.4).
    #[test]
    fn go_jwt_verification_vector() {
        let public = hex::decode("04775e2ef570d292df424c09f70e7d95678d5ce78124acb3f9375b198a4da9f9e9f0cc6d880e2e606e9b01b0fa62c6150e371aa5d8f7f09cc9e1bd3a1b449893ec").unwrap();
        let token = "eyJhbGciOiJUZXNsYS5TUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJjb20udGVzbGEudmVoaWNsZS5NM1RFUkFTSElNQUJVQ0swMSIsImZvbyI6ImJhciIsImlzcyI6IkJIZGVMdlZ3MHBMZlFrd0o5dzU5bFdlTlhPZUJKS3l6K1RkYkdZcE5xZm5wOE14dGlBNHVZRzZiQWJENllzWVZEamNhcGRqMzhKeko0YjA2RzBTWWsrdz0ifQ.4Xq2tsynDYOhLBWpnqLJfsAzdOqTOwHkVowI47A-yzVXIQHaawObJvAYRoRs61oVwWiEQ7XYXG8WE_Vz_49eVirAV9NGKymj3HBTTjN5DmViWmFzfaIOXRWKJlE--vzU";
        let claims = verify(token, &public).unwrap();
        assert_eq!(claims["aud"], "com.tesla.vehicle.M3TERASHIMABUCK01");
        assert_eq!(claims["foo"], "bar");
        assert_eq!(
            verify(token, client().public_key()),
            Err(JwsError::BadSignature)
        );
        assert_eq!(verify("a.b", &public), Err(JwsError::Malformed));
    }

    /// `tesla_fleet_api.tesla.jws.sign_fleet_telemetry_config` with the protocol.md client key.
    #[test]
    fn telemetry_config_token_vector() {
        let config = json!({
            "hostname": "telemetry.example.com",
            "port": 443,
            "ca": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "fields": {"Soc": {"interval_seconds": 60}},
            "alert_types": ["service"],
            "exp": 1767225600
        });
        let token = sign_fleet_telemetry_config(&client(), &config).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(
            String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap(),
            r#"{"alert_types":["service"],"aud":"com.tesla.fleet.TelemetryClient","ca":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n","exp":1767225600,"fields":{"Soc":{"interval_seconds":60}},"hostname":"telemetry.example.com","iss":"BLK2vGjC2gZlzmVoFVlJlsYjlO3YvqkF/ngadU/mqEWnFDMJAvIl6SadRm4Fs0mYH9qdhcwjxvtESqc7YpEF3G4=","port":443}"#
        );
        assert_eq!(
            hex::encode(URL_SAFE_NO_PAD.decode(parts[2]).unwrap()),
            "41724ab7f05d37b7393210f85cbc0731d6bcdfe02220cd3b1e5c91b814e579975dee2e05cb3f0e7268bc4ea7291501cb3873c70132ca5e288f38a9d6292748cc75b042580757f7574f7e5ac846b46f072253a8036ec2556212e76bb687f054dd"
        );
        assert_eq!(token, "eyJhbGciOiJUZXNsYS5TUzI1NiIsInR5cCI6IkpXVCJ9.eyJhbGVydF90eXBlcyI6WyJzZXJ2aWNlIl0sImF1ZCI6ImNvbS50ZXNsYS5mbGVldC5UZWxlbWV0cnlDbGllbnQiLCJjYSI6Ii0tLS0tQkVHSU4gQ0VSVElGSUNBVEUtLS0tLVxuTUlJQlxuLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLVxuIiwiZXhwIjoxNzY3MjI1NjAwLCJmaWVsZHMiOnsiU29jIjp7ImludGVydmFsX3NlY29uZHMiOjYwfX0sImhvc3RuYW1lIjoidGVsZW1ldHJ5LmV4YW1wbGUuY29tIiwiaXNzIjoiQkxLMnZHakMyZ1psem1Wb0ZWbEpsc1lqbE8zWXZxa0YvbmdhZFUvbXFFV25GRE1KQXZJbDZTYWRSbTRGczBtWUg5cWRoY3dqeHZ0RVNxYzdZcEVGM0c0PSIsInBvcnQiOjQ0M30.QXJKt_BdN7c5MhD4XLwHMda83-AiIM07HlyRuBTleZdd7i4Fyz8Ocmi8TqcpFQHLOHPHATLKXiiPOKnWKSdIzHWwQlgHV_dXT35ayEa0bwciU6gDbsJVYhLna7aH8FTd");
        let claims = verify(&token, client().public_key()).unwrap();
        assert_eq!(claims["port"], 443);
    }

    #[test]
    fn canonical_json_escapes_like_go() {
        assert_eq!(
            canonical_json(&json!({"b": [1, true, null], "a": "<&>\u{2028}"})),
            r#"{"a":"\u003c\u0026\u003e\u2028","b":[1,true,null]}"#
        );
        assert_eq!(
            sign(&client(), &json!([1])),
            Err(JwsError::ClaimsNotObject("an array"))
        );
    }
}
