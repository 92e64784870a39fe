//! Packs: many objects per store object, in zstd-compressed (optionally encrypted) blocks.
//!
//! Layout (version 1): `"LBPK" 0x01 0x00 0x00 0x00`, then blocks, each `u32` LE length +
//! stored bytes. Stored bytes are one zstd frame of the concatenated canonical-JSON objects
//! of the block, sealed with [`EncryptionKey::seal`] when encryption is on. A pack's id is
//! the SHA-256 of its bytes (hex). An object is located by [`Location`].

use crate::crypto::EncryptionKey;
use crate::id::ObjectId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Pack format version written and read by this build.
pub const PACK_VERSION: u8 = 1;
const MAGIC: &[u8; 4] = b"LBPK";
/// Length of the pack header.
pub const HEADER_LEN: usize = 8;

/// Where an object's bytes live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub struct Location {
    /// Pack id (hex SHA-256 of the pack).
    pub pack: String,
    /// Offset of the block's stored bytes in the pack.
    pub block_offset: u64,
    /// Length of the block's stored bytes.
    pub block_len: u32,
    /// Offset of the object in the decompressed block.
    pub offset: u32,
    /// Length of the object.
    pub len: u32,
}

/// A finished pack, ready to upload.
#[derive(Debug)]
pub struct SealedPack {
    /// Pack id.
    pub id: String,
    /// The pack bytes.
    pub bytes: Vec<u8>,
    /// Objects in it (id, location).
    pub objects: Vec<(ObjectId, Location)>,
}

/// Builds one pack in memory (bounded by the configured pack size).
pub struct PackWriter {
    level: i32,
    block_target: usize,
    key: Option<EncryptionKey>,
    bytes: Vec<u8>,
    block: Vec<u8>,
    in_block: Vec<(ObjectId, u32, u32)>,
    sealed: Vec<(ObjectId, u64, u32, u32, u32)>,
}

impl PackWriter {
    /// A new, empty pack.
    pub fn new(level: i32, block_target: usize, key: Option<EncryptionKey>) -> Self {
        let mut bytes = Vec::with_capacity(block_target);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&[PACK_VERSION, 0, 0, 0]);
        PackWriter {
            level,
            block_target,
            key,
            bytes,
            block: Vec::with_capacity(block_target),
            in_block: vec![],
            sealed: vec![],
        }
    }

    /// Append an object.
    pub fn push(&mut self, hash: ObjectId, obj: &[u8]) {
        self.in_block
            .push((hash, self.block.len() as u32, obj.len() as u32));
        self.block.extend_from_slice(obj);
        if self.block.len() >= self.block_target {
            self.seal_block();
        }
    }

    /// Stored size so far (sealed blocks) plus the uncompressed open block.
    pub fn approx_len(&self) -> usize {
        self.bytes.len() + self.block.len() / 4
    }

    /// Whether no object was pushed.
    pub fn is_empty(&self) -> bool {
        self.in_block.is_empty() && self.sealed.is_empty()
    }

    fn seal_block(&mut self) {
        if self.in_block.is_empty() {
            return;
        }
        let compressed = zstd::bulk::compress(&self.block, self.level)
            .expect("zstd compression of an in-memory buffer cannot fail");
        let stored = match &self.key {
            Some(k) => k.seal(&compressed),
            None => compressed,
        };
        self.bytes
            .extend_from_slice(&(stored.len() as u32).to_le_bytes());
        let block_offset = self.bytes.len() as u64;
        self.bytes.extend_from_slice(&stored);
        for (h, off, len) in self.in_block.drain(..) {
            self.sealed
                .push((h, block_offset, stored.len() as u32, off, len));
        }
        self.block.clear();
    }

    /// Seal the last block and name the pack.
    pub fn finish(mut self) -> SealedPack {
        self.seal_block();
        let id = hex::encode(Sha256::digest(&self.bytes));
        let objects = self
            .sealed
            .into_iter()
            .map(|(h, block_offset, block_len, offset, len)| {
                (
                    h,
                    Location {
                        pack: id.clone(),
                        block_offset,
                        block_len,
                        offset,
                        len,
                    },
                )
            })
            .collect();
        SealedPack {
            id,
            bytes: self.bytes,
            objects,
        }
    }
}

/// Check a pack header (first [`HEADER_LEN`] bytes).
pub fn check_header(header: &[u8]) -> Result<(), String> {
    if header.len() < HEADER_LEN || &header[..4] != MAGIC {
        return Err("not a lifeboat pack (bad magic)".into());
    }
    if header[4] != PACK_VERSION {
        return Err(format!("pack format version {} not supported", header[4]));
    }
    Ok(())
}

/// Turn a block's stored bytes back into the concatenated objects.
pub fn decode_block(
    stored: &[u8],
    key: Option<&EncryptionKey>,
    max_len: usize,
) -> Result<Vec<u8>, String> {
    let compressed = match key {
        Some(k) => std::borrow::Cow::Owned(k.open(stored)?),
        None => std::borrow::Cow::Borrowed(stored),
    };
    zstd::bulk::decompress(&compressed, max_len).map_err(|e| format!("zstd: {e}"))
}

/// Walk the blocks of a whole pack: `(block_offset, stored bytes)`.
pub fn blocks(pack: &[u8]) -> Result<Vec<(u64, &[u8])>, String> {
    check_header(pack)?;
    let mut out = vec![];
    let mut pos = HEADER_LEN;
    while pos < pack.len() {
        let Some(len_bytes) = pack.get(pos..pos + 4) else {
            return Err(format!("truncated block header at byte {pos}"));
        };
        let len = u32::from_le_bytes(len_bytes.try_into().expect("4 bytes")) as usize;
        let start = pos + 4;
        let Some(stored) = pack.get(start..start + len) else {
            return Err(format!("truncated block at byte {start}"));
        };
        out.push((start as u64, stored));
        pos = start + len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(key: Option<EncryptionKey>) {
        let mut w = PackWriter::new(3, 64, key.clone());
        let objs: Vec<Vec<u8>> = (0..20)
            .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(i)).into_bytes())
            .collect();
        for (i, o) in objs.iter().enumerate() {
            w.push([i as u8; 32].into(), o);
        }
        let p = w.finish();
        assert_eq!(p.id, hex::encode(Sha256::digest(&p.bytes)));
        assert_eq!(p.objects.len(), 20);
        let bl = blocks(&p.bytes).unwrap();
        assert!(bl.len() > 1, "several blocks");
        for (i, (h, loc)) in p.objects.iter().enumerate() {
            assert_eq!(h, &ObjectId::from([i as u8; 32]));
            let start = loc.block_offset as usize;
            let stored = &p.bytes[start..start + loc.block_len as usize];
            let block = decode_block(stored, key.as_ref(), 1 << 20).unwrap();
            let obj = &block[loc.offset as usize..(loc.offset + loc.len) as usize];
            assert_eq!(obj, &objs[i][..]);
        }
    }

    #[test]
    fn plain_roundtrip() {
        roundtrip(None);
    }

    #[test]
    fn encrypted_roundtrip_hides_plaintext() {
        roundtrip(Some(EncryptionKey::from_bytes([3; 32])));
        let mut w = PackWriter::new(3, 1 << 20, Some(EncryptionKey::from_bytes([3; 32])));
        w.push(
            [0; 32].into(),
            b"{\"data\":{\"password\":\"hunter2hunter2\"}}",
        );
        let p = w.finish();
        assert!(!p.bytes.windows(7).any(|x| x == b"hunter2"));
    }

    #[test]
    fn bad_header_and_truncation() {
        assert!(check_header(b"XXXX\x01\0\0\0").is_err());
        assert!(
            check_header(b"LBPK\x02\0\0\0")
                .unwrap_err()
                .contains("version 2")
        );
        let mut w = PackWriter::new(3, 1 << 20, None);
        w.push([0; 32].into(), b"{}");
        let p = w.finish();
        assert!(
            blocks(&p.bytes[..p.bytes.len() - 1])
                .unwrap_err()
                .contains("truncated")
        );
    }
}
