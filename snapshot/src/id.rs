//! Object ids: how the id of an object (or of an entry chunk) is computed from its
//! canonical bytes ([`Hasher`]), the id itself ([`ObjectId`], 16 or 32 bytes), and the
//! secret of keyed ids when encryption is off ([`IdKey`]).
//!
//! | algorithm (`hash_algorithm`) | id | manifest formats |
//! |---|---|---|
//! | `sha256` | `sha256(bytes)`, 32 bytes | 1, 2 |
//! | `sha256-keyed-v1` | `sha256("lifeboat-keyed-id-v1" \|\| k1 \|\| bytes)`, 32 bytes, `k1` derived from the data key | 1, 2 (encrypted) |
//! | `hmac-sha256-128` | first 16 bytes of `HMAC-SHA256(k, bytes)` | 3 |
//!
//! For `hmac-sha256-128`, `k` is derived from the data key when encryption is on (and
//! written nowhere); otherwise it is a random [`IdKey`] per cluster lineage, kept in the
//! manifest header. 128-bit ids are safe only because they are keyed: without `k`, a
//! tenant who crafts objects cannot search for a collision with another object.

use crate::crypto::EncryptionKey;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `sha256(bytes)` (formats 1 and 2, unencrypted).
pub const SHA256: &str = "sha256";
/// Keyed SHA-256 (formats 1 and 2, encrypted).
pub const SHA256_KEYED_V1: &str = "sha256-keyed-v1";
/// HMAC-SHA256 truncated to 128 bits (format 3, encrypted or not).
pub const HMAC_SHA256_128: &str = "hmac-sha256-128";

/// An object or chunk id: 16 or 32 bytes. Ids of different lengths are never equal.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectId {
    len: u8,
    bytes: [u8; 32],
}

impl ObjectId {
    /// An id from its bytes; `None` unless there are 16 or 32 of them.
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        if b.len() != 16 && b.len() != 32 {
            return None;
        }
        let mut bytes = [0; 32];
        bytes[..b.len()].copy_from_slice(b);
        Some(ObjectId {
            len: b.len() as u8,
            bytes,
        })
    }

    /// An id from 32 or 64 hex characters.
    pub fn from_hex(h: &str) -> Option<Self> {
        Self::from_slice(&hex::decode(h).ok()?)
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Lowercase hex, as stored in manifests and entry chunks.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }
}

impl From<[u8; 32]> for ObjectId {
    fn from(bytes: [u8; 32]) -> Self {
        ObjectId { len: 32, bytes }
    }
}

impl From<[u8; 16]> for ObjectId {
    fn from(b: [u8; 16]) -> Self {
        Self::from_slice(&b).expect("16 bytes")
    }
}

impl std::fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObjectId({})", self.to_hex())
    }
}

/// The `hmac-sha256-128` key of an unencrypted lineage, as the manifest header stores it
/// (`id_key`, 64 hex). Kept as text so that a malformed value is reported when it is
/// used, naming the manifest; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdKey(String);

impl IdKey {
    /// A fresh random key (the first format-3 capture of a cluster).
    pub fn random() -> Self {
        IdKey(hex::encode(rand::random::<[u8; 32]>()))
    }

    /// The key's 32 bytes, or why the stored text is not a key.
    pub fn bytes(&self) -> Result<[u8; 32], String> {
        hex::decode(&self.0)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                format!(
                    "id_key must be 64 hex characters, found {} characters",
                    self.0.len()
                )
            })
    }
}

impl std::fmt::Debug for IdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdKey(<redacted>)")
    }
}

/// How ids are computed (see the module docs). `Debug` shows the algorithm, not keys.
#[derive(Clone)]
pub enum Hasher {
    /// `sha256`.
    Sha256,
    /// `sha256-keyed-v1` with its derived key.
    Sha256Keyed([u8; 32]),
    /// `hmac-sha256-128` with its key.
    Hmac128([u8; 32]),
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hasher({})", self.algorithm())
    }
}

impl Hasher {
    /// The hasher of new captures with encryption on: `hmac-sha256-128` keyed with a key
    /// derived from the data key.
    pub fn encrypted(key: &EncryptionKey) -> Self {
        Hasher::Hmac128(key.hmac_id_key())
    }

    /// The hasher of a stored snapshot, from its header's `hash_algorithm` and `id_key`
    /// and the configured data key (the caller has checked that it is the snapshot's).
    /// The error says what is missing or malformed.
    pub fn for_manifest(
        algorithm: &str,
        id_key: Option<&IdKey>,
        key: Option<&EncryptionKey>,
    ) -> Result<Self, String> {
        match (algorithm, key) {
            (SHA256, _) => Ok(Hasher::Sha256),
            (SHA256_KEYED_V1, Some(k)) => Ok(Hasher::Sha256Keyed(k.keyed_id_key())),
            (SHA256_KEYED_V1, None) => Err(format!("{SHA256_KEYED_V1} ids need the data key")),
            (HMAC_SHA256_128, Some(_)) if id_key.is_some() => Err(format!(
                "an encrypted snapshot must not carry id_key ({HMAC_SHA256_128} is keyed with the data key)"
            )),
            (HMAC_SHA256_128, Some(k)) => Ok(Hasher::encrypted(k)),
            (HMAC_SHA256_128, None) => match id_key {
                Some(k) => Ok(Hasher::Hmac128(k.bytes()?)),
                None => Err(format!(
                    "{HMAC_SHA256_128} ids without encryption need the header's id_key, which is missing"
                )),
            },
            (other, _) => Err(format!(
                "unknown object id algorithm {other:?} ({SHA256}, {SHA256_KEYED_V1} or {HMAC_SHA256_128})"
            )),
        }
    }

    /// Name recorded in manifests (`hash_algorithm`).
    pub fn algorithm(&self) -> &'static str {
        match self {
            Hasher::Sha256 => SHA256,
            Hasher::Sha256Keyed(_) => SHA256_KEYED_V1,
            Hasher::Hmac128(_) => HMAC_SHA256_128,
        }
    }

    /// The id of `bytes`.
    pub fn hash(&self, bytes: &[u8]) -> ObjectId {
        match self {
            Hasher::Sha256 => <[u8; 32]>::from(Sha256::digest(bytes)).into(),
            Hasher::Sha256Keyed(k) => <[u8; 32]>::from(
                Sha256::new()
                    .chain_update(b"lifeboat-keyed-id-v1")
                    .chain_update(k)
                    .chain_update(bytes)
                    .finalize(),
            )
            .into(),
            Hasher::Hmac128(k) => {
                ObjectId::from_slice(&hmac_sha256(k, bytes)[..16]).expect("16 bytes")
            }
        }
    }
}

/// `HMAC-SHA256(key, msg)`.
pub(crate) fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_ids_are_16_bytes_keyed_and_match_rfc_4231() {
        // RFC 4231 test case 2: key "Jefe", truncated to 128 bits.
        let full = hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?"));
        assert!(full.starts_with("5bdcc146bf60754e6a042426089575c7"));
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(b"Jefe");
        // Zero-padding a short HMAC key does not change the MAC (RFC 2104).
        let id = Hasher::Hmac128(k).hash(b"what do ya want for nothing?");
        assert_eq!(id.to_hex(), "5bdcc146bf60754e6a042426089575c7");
        assert_eq!(id.as_bytes().len(), 16);
        assert_ne!(
            Hasher::Hmac128([1; 32]).hash(b"x"),
            Hasher::Hmac128([2; 32]).hash(b"x")
        );
    }

    #[test]
    fn ids_of_every_algorithm_differ_and_round_trip_through_hex() {
        let k = EncryptionKey::from_bytes([1; 32]);
        let ids = [
            Hasher::Sha256.hash(b"x"),
            Hasher::for_manifest(SHA256_KEYED_V1, None, Some(&k))
                .unwrap()
                .hash(b"x"),
            Hasher::encrypted(&k).hash(b"x"),
        ];
        assert_ne!(ids[0], ids[1]);
        assert_ne!(ids[1].as_bytes()[..16], ids[2].as_bytes()[..]);
        for id in ids {
            assert_eq!(ObjectId::from_hex(&id.to_hex()), Some(id));
        }
        // The same bytes, truncated, are another id: lengths never compare equal.
        let short = ObjectId::from_slice(&ids[0].as_bytes()[..16]).unwrap();
        assert_ne!(short, ids[0]);
        assert_eq!(ObjectId::from_hex("abcd"), None);
    }

    #[test]
    fn manifest_hashers_need_their_key() {
        let k = EncryptionKey::from_bytes([1; 32]);
        let lineage = IdKey::random();
        let h = Hasher::for_manifest(HMAC_SHA256_128, Some(&lineage), None).unwrap();
        assert_eq!(
            h.hash(b"x"),
            Hasher::Hmac128(lineage.bytes().unwrap()).hash(b"x")
        );
        for (algorithm, id_key, key, expect) in [
            (HMAC_SHA256_128, None, None, "id_key, which is missing"),
            (
                HMAC_SHA256_128,
                Some(IdKey("abc".into())),
                None,
                "64 hex characters, found 3",
            ),
            (
                HMAC_SHA256_128,
                Some(lineage.clone()),
                Some(&k),
                "must not carry id_key",
            ),
            (SHA256_KEYED_V1, None, None, "need the data key"),
            ("md5", None, None, "unknown object id algorithm \"md5\""),
        ] {
            let err = Hasher::for_manifest(algorithm, id_key.as_ref(), key).unwrap_err();
            assert!(err.contains(expect), "{algorithm}: {err}");
        }
    }

    #[test]
    fn keys_never_show_in_debug_output() {
        let key = IdKey::random();
        let hex = key.0.clone();
        let h = Hasher::Hmac128(key.bytes().unwrap());
        let shown = format!("{key:?} {h:?}");
        assert!(!shown.contains(&hex[..16]), "{shown}");
        assert_eq!(shown, "IdKey(<redacted>) Hasher(hmac-sha256-128)");
    }
}
