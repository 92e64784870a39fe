//! Client-side encryption (XChaCha20-Poly1305, random 24-byte nonces) and object hashing.
//!
//! The key is 32 bytes, given as 64 hex characters or base64, from a file (which must not
//! be readable by group or others) or an environment variable. Its id (first 16 hex
//! characters of `sha256("lifeboat-key-id" || key)`) is recorded in each manifest so that
//! a restore with the wrong key fails with a clear message.
//!
//! The key also keys object ids ([`crate::id`]): format 3 uses
//! `HMAC-SHA256(key, "lifeboat-id-key hmac-sha256-128")` as its HMAC key, formats 1 and 2
//! used `sha256("lifeboat-id-key" || key)`; so identical plaintexts cannot be confirmed
//! from the store without the key. Neither derived key is written anywhere.

use crate::error::StoreError;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 24;
const AAD: &[u8] = b"lifeboat-snapshot-v1";

/// A 32-byte data key and its public id.
#[derive(Clone)]
pub struct EncryptionKey {
    key: [u8; 32],
    /// Key of `sha256-keyed-v1` ids (formats 1 and 2).
    keyed_id_key: [u8; 32],
    /// Key of `hmac-sha256-128` ids (format 3).
    hmac_id_key: [u8; 32],
    id: String,
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptionKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl EncryptionKey {
    /// A key from raw bytes.
    pub fn from_bytes(key: [u8; 32]) -> Self {
        let id = hex::encode(
            &Sha256::new()
                .chain_update(b"lifeboat-key-id")
                .chain_update(key)
                .finalize()[..8],
        );
        let keyed_id_key: [u8; 32] = Sha256::new()
            .chain_update(b"lifeboat-id-key")
            .chain_update(key)
            .finalize()
            .into();
        EncryptionKey {
            key,
            keyed_id_key,
            hmac_id_key: crate::id::hmac_sha256(&key, b"lifeboat-id-key hmac-sha256-128"),
            id,
        }
    }

    /// The key of `sha256-keyed-v1` ids.
    pub(crate) fn keyed_id_key(&self) -> [u8; 32] {
        self.keyed_id_key
    }

    /// The key of `hmac-sha256-128` ids (distinct from the data key and the key above).
    pub(crate) fn hmac_id_key(&self) -> [u8; 32] {
        self.hmac_id_key
    }

    /// Parse 64 hex characters or base64 of 32 bytes (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit()) {
            hex::decode(t).map_err(|e| StoreError::Crypto(e.to_string()))?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(|_| {
                    StoreError::Crypto("the key is neither 64 hex characters nor base64".into())
                })?
        };
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            StoreError::Crypto(format!("the key must be 32 bytes, got {}", b.len()))
        })?;
        Ok(Self::from_bytes(key))
    }

    /// Read the key from a file; refuses a file readable by group or others.
    pub fn from_file(path: &std::path::Path) -> Result<Self, StoreError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(path)
                .map_err(|e| StoreError::Crypto(format!("key file {}: {e}", path.display())))?;
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(StoreError::Crypto(format!(
                    "key file {} is readable by group or others; run chmod 600 on it",
                    path.display()
                )));
            }
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| StoreError::Crypto(format!("key file {}: {e}", path.display())))?;
        Self::parse(&text)
    }

    /// Read the key from an environment variable.
    pub fn from_env(var: &str) -> Result<Self, StoreError> {
        let text = std::env::var(var)
            .map_err(|_| StoreError::Crypto(format!("environment variable {var} is not set")))?;
        Self::parse(&text)
    }

    /// The key's public id (recorded in manifests).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Encrypt: `nonce || ciphertext+tag`.
    pub fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let nonce = XNonce::from_slice(&nonce_bytes);
        let ct = cipher
            .encrypt(
                nonce,
                Payload {
                    msg: plain,
                    aad: AAD,
                },
            )
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypt what [`EncryptionKey::seal`] produced.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err("ciphertext too short".into());
        }
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: AAD })
            .map_err(|_| "authentication failed (wrong key or corrupted data)".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_tamper_detection() {
        let k = EncryptionKey::from_bytes([7; 32]);
        let sealed = k.seal(b"top secret");
        assert!(!sealed.windows(10).any(|w| w == b"top secret"));
        assert_eq!(k.open(&sealed).unwrap(), b"top secret");
        let mut bad = sealed.clone();
        bad[30] ^= 1;
        assert!(k.open(&bad).is_err());
        assert!(EncryptionKey::from_bytes([8; 32]).open(&sealed).is_err());
    }

    #[test]
    fn parse_hex_and_base64() {
        let hex_key = "11".repeat(32);
        let a = EncryptionKey::parse(&format!("{hex_key}\n")).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode([0x11u8; 32]);
        let b = EncryptionKey::parse(&b64).unwrap();
        assert_eq!(a.id(), b.id());
        assert_eq!(a.id().len(), 16);
        assert!(EncryptionKey::parse("abcd").is_err());
    }

    #[test]
    fn derived_id_keys_are_distinct() {
        let k = EncryptionKey::from_bytes([1; 32]);
        let keys = [k.key, k.keyed_id_key, k.hmac_id_key];
        assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);
        assert_ne!(
            EncryptionKey::from_bytes([2; 32]).hmac_id_key,
            k.hmac_id_key
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_file_permissions_are_checked() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key");
        std::fs::write(&p, "22".repeat(32)).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = EncryptionKey::from_file(&p).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(EncryptionKey::from_file(&p).is_ok());
    }
}
