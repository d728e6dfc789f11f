//! `tesla::command::metadata`: the authenticated-metadata TLV encoding.
//!
//! Every tag and encryption in the protocol covers `TLVs ‖ 0xFF ‖ message`, where each TLV is
//! `tag(1) ‖ len(1) ‖ value`, tags strictly ascending. This module owns that byte layout and the
//! four constructions that use it (command, session info, encrypted reply); it computes no MACs
//! and knows no keys.

use super::messages::{Domain, SignatureType, Tag};

/// Why metadata could not be serialized. Only reachable with malformed input (an over-long VIN
/// or request uuid), so the message names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("metadata item {tag:?} is {len} bytes; at most 255 fit in the TLV encoding")]
    TooLong { tag: Tag, len: usize },
    #[error("metadata item {tag:?} was added out of order; tags must be strictly ascending")]
    OutOfOrder { tag: Tag },
}

/// A TLV writer that enforces the ordering and length rules Tesla's verifier relies on.
#[derive(Debug, Default)]
pub struct Metadata {
    buf: Vec<u8>,
    last: Option<u8>,
}

impl Metadata {
    pub fn new() -> Self {
        Metadata {
            buf: Vec::with_capacity(96),
            last: None,
        }
    }

    pub fn add(&mut self, tag: Tag, value: &[u8]) -> Result<&mut Self, MetadataError> {
        let t = tag as i32 as u8;
        if tag == Tag::End || self.last.is_some_and(|last| t <= last) {
            return Err(MetadataError::OutOfOrder { tag });
        }
        let len = u8::try_from(value.len()).map_err(|_| MetadataError::TooLong {
            tag,
            len: value.len(),
        })?;
        self.buf.push(t);
        self.buf.push(len);
        self.buf.extend_from_slice(value);
        self.last = Some(t);
        Ok(self)
    }

    /// Integers are big-endian 4-byte values in the TLV (unlike protobuf's little-endian fixed32).
    pub fn add_u32(&mut self, tag: Tag, value: u32) -> Result<&mut Self, MetadataError> {
        self.add(tag, &value.to_be_bytes())
    }

    /// Enum-valued items (signature type, domain) are a single byte.
    pub fn add_u8(&mut self, tag: Tag, value: u8) -> Result<&mut Self, MetadataError> {
        self.add(tag, &[value])
    }

    /// Appends `TAG_END` and returns the bytes to prepend to the authenticated message.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(Tag::End as i32 as u8);
        self.buf
    }
}

/// The fields a signed command binds.
#[derive(Debug, Clone, Copy)]
pub struct CommandMetadata<'a> {
    pub signature_type: SignatureType,
    pub domain: Domain,
    pub vin: &'a str,
    pub epoch: &'a [u8],
    pub expires_at: u32,
    pub counter: u32,
    /// Included only when non-zero, as the vehicle does.
    pub flags: u32,
}

impl CommandMetadata<'_> {
    pub fn encode(&self) -> Result<Vec<u8>, MetadataError> {
        let mut m = Metadata::new();
        m.add_u8(Tag::SignatureType, self.signature_type as i32 as u8)?
            .add_u8(Tag::Domain, self.domain as i32 as u8)?
            .add(Tag::Personalization, self.vin.as_bytes())?
            .add(Tag::Epoch, self.epoch)?
            .add_u32(Tag::ExpiresAt, self.expires_at)?
            .add_u32(Tag::Counter, self.counter)?;
        if self.flags != 0 {
            m.add_u32(Tag::Flags, self.flags)?;
        }
        Ok(m.finish())
    }
}

/// Metadata for the session-info tag : binds the reply to the VIN and to the uuid of
/// the request it answers, so an old reply cannot be replayed to roll the session back.
pub fn session_info(vin: &str, challenge: &[u8]) -> Result<Vec<u8>, MetadataError> {
    let mut m = Metadata::new();
    m.add_u8(Tag::SignatureType, SignatureType::Hmac as i32 as u8)?
        .add(Tag::Personalization, vin.as_bytes())?
        .add(Tag::Challenge, challenge)?;
    Ok(m.finish())
}

/// The fields an encrypted reply binds.
#[derive(Debug, Clone, Copy)]
pub struct ResponseMetadata<'a> {
    /// The replying domain (`from_destination.domain` of the reply).
    pub domain: Domain,
    pub vin: &'a str,
    /// `AES_GCM_Response_data.counter` of the reply.
    pub counter: u32,
    /// The reply's `flags` field; always included, even when zero.
    pub flags: u32,
    /// See [`request_hash`].
    pub request_hash: &'a [u8],
    /// The reply's `signed_message_fault`.
    pub fault: u32,
}

impl ResponseMetadata<'_> {
    pub fn encode(&self) -> Result<Vec<u8>, MetadataError> {
        let mut m = Metadata::new();
        m.add_u8(
            Tag::SignatureType,
            SignatureType::AesGcmResponse as i32 as u8,
        )?
        .add_u8(Tag::Domain, self.domain as i32 as u8)?
        .add(Tag::Personalization, self.vin.as_bytes())?
        .add_u32(Tag::Counter, self.counter)?
        .add_u32(Tag::Flags, self.flags)?
        .add(Tag::RequestHash, self.request_hash)?
        .add_u32(Tag::Fault, self.fault)?;
        Ok(m.finish())
    }
}

/// Identifies the request an encrypted reply answers: the signature type byte followed by the
/// request's tag. VCSEC truncates it to 17 bytes (its firmware has less room), infotainment keeps
/// all 33 for HMAC requests.
pub fn request_hash(domain: Domain, signature_type: SignatureType, tag: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(1 + tag.len());
    h.push(signature_type as i32 as u8);
    h.extend_from_slice(tag);
    if domain == Domain::VehicleSecurity {
        h.truncate(17);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256, Sha512};

    #[test]
    fn protocol_md_examples() {
        let mut m = Metadata::new();
        m.add(Tag::Personalization, b"abc").unwrap();
        m.add_u32(Tag::Counter, 100).unwrap();
        assert_eq!(hex::encode(m.finish()), "0203616263050400000064ff");
    }

    #[test]
    fn order_and_length_are_enforced() {
        let mut m = Metadata::new();
        m.add_u32(Tag::Counter, 1).unwrap();
        assert_eq!(
            m.add(Tag::Personalization, b"x").unwrap_err(),
            MetadataError::OutOfOrder {
                tag: Tag::Personalization
            }
        );
        assert_eq!(
            m.add_u32(Tag::Counter, 2).unwrap_err(),
            MetadataError::OutOfOrder { tag: Tag::Counter }
        );
        let err = Metadata::new().add(Tag::Challenge, &[0; 256]).unwrap_err();
        assert_eq!(
            err,
            MetadataError::TooLong {
                tag: Tag::Challenge,
                len: 256
            }
        );
        assert!(err.to_string().contains("at most 255"));
    }

    /// Go `metadata_test.go`.
    #[test]
    fn go_metadata_digest_vector() {
        let mut m = Metadata::new();
        m.add_u8(Tag::SignatureType, 5)
            .unwrap()
            .add_u8(Tag::Domain, 2)
            .unwrap()
            .add(Tag::Personalization, b"testVIN")
            .unwrap()
            .add(
                Tag::Epoch,
                &hex::decode("aada928a4f215f55f9e6e45e66b6521e").unwrap(),
            )
            .unwrap()
            .add_u32(Tag::ExpiresAt, 0xe74)
            .unwrap()
            .add_u32(Tag::Counter, 0x53a)
            .unwrap();
        let bytes = m.finish();
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            "abab04d804499813382efd74a06791ce2de777439603246dfbaa8392ca05868e"
        );
        assert_eq!(
            hex::encode(Sha512::digest(&bytes)),
            "df4a60e03fd4f71a83e6b56ccf27ccf390269ba3fccfafd9cb3a0925fc36843866b4326655f1c9d539c7ffc6f331ba693e1c62d237cb6cb5d9e60439f98f2283"
        );
    }

    #[test]
    fn session_info_metadata_matches_spec_8_3() {
        let m = session_info(
            "5YJ30123456789ABC",
            &hex::decode("1588d5a30eabc6f8fc9a951b11f6fd11").unwrap(),
        )
        .unwrap();
        assert_eq!(
            hex::encode(m),
            "000106021135594a333031323334353637383941424306101588d5a30eabc6f8fc9a951b11f6fd11ff"
        );
    }

    #[test]
    fn request_hash_is_truncated_for_vcsec_only() {
        let tag = [0xab; 32];
        assert_eq!(
            request_hash(Domain::Infotainment, SignatureType::HmacPersonalized, &tag).len(),
            33
        );
        let v = request_hash(
            Domain::VehicleSecurity,
            SignatureType::HmacPersonalized,
            &tag,
        );
        assert_eq!(v.len(), 17);
        assert_eq!(v[0], 0x08);
    }
}
