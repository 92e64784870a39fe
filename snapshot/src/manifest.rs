//! Manifests: one per snapshot, written last. A snapshot exists iff its manifest exists.
//!
//! Layout (versions 1 to 3): `"LBMF"`, `u32` LE format version, `u32` LE header length, the
//! header (JSON, [`ManifestHeader`], always plaintext so listing and retention need no
//! key), then the body: a zstd frame of JSON lines, one [`ChunkRef`] per *entry chunk*,
//! sealed with the data key when encryption is on. `body_sha256` covers the stored body.
//!
//! Entry chunks are content-addressed objects stored in packs like captured objects:
//! the entries with their pack locations ([`ChunkLine`]), encoded by [`crate::chunk`]
//! (versions 2 and 3 have compact columnar chunks, with 32-byte and 16-byte ids; version
//! 1 had JSON lines). Chunk boundaries depend only on the resource type and the object
//! names ([`is_boundary`]), so an unchanged cluster yields identical chunks that are not
//! uploaded again: a second snapshot of an unchanged cluster costs one small manifest.

use crate::crypto::EncryptionKey;
use crate::filter::Filters;
use crate::id::IdKey;
use crate::pack::Location;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;

/// Manifest format version written by this build: 3 (`hmac-sha256-128` ids of 16 bytes,
/// entry chunks in the v3 encoding of [`crate::chunk`]). Versions 1 (JSON-lines chunks)
/// and 2 (columnar chunks, 32-byte ids) are still read.
pub const MANIFEST_VERSION: u32 = 3;
/// Oldest manifest format version this build reads.
pub const OLDEST_READABLE_VERSION: u32 = 1;
const MAGIC: &[u8; 4] = b"LBMF";
/// Bytes before the header JSON.
pub const PREFIX_LEN: usize = 12;

/// Encryption facts recorded in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionInfo {
    /// AEAD algorithm (`xchacha20poly1305`).
    pub algorithm: String,
    /// Id of the data key (see [`EncryptionKey::id`]).
    pub key_id: String,
}

/// The plaintext part of a manifest: everything listing and retention need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestHeader {
    /// Format version (also in the binary prefix).
    pub format_version: u32,
    /// Snapshot id (`<cluster>-<YYYYMMDDTHHMMSSZ>-<6 hex>`).
    pub id: String,
    /// Source cluster name.
    pub cluster: String,
    /// When the capture started.
    pub started_at: DateTime<Utc>,
    /// When the capture finished listing (the snapshot's point in time for RPO).
    pub completed_at: DateTime<Utc>,
    /// `gitVersion` of the source cluster.
    pub kubernetes_version: String,
    /// Filters used.
    pub filters: Filters,
    /// Objects captured.
    pub object_count: u64,
    /// Distinct object contents.
    pub distinct_objects: u64,
    /// Bytes uploaded by this capture (packs; the manifest itself excluded).
    pub bytes_uploaded: u64,
    /// Every pack this snapshot references.
    pub packs: Vec<String>,
    /// Packs written by this capture.
    pub new_packs: Vec<String>,
    /// Objects per type (`plural.group`).
    pub types: BTreeMap<String, u64>,
    /// Object id algorithm (`hmac-sha256-128`; `sha256` or `sha256-keyed-v1` before
    /// format 3), see [`crate::id`].
    pub hash_algorithm: String,
    /// Key of `hmac-sha256-128` ids when encryption is off (the same for every snapshot
    /// of a cluster's lineage); absent with encryption (the key is derived from the data
    /// key) and before format 3. Secret from the cluster's tenants: never log it or
    /// copy it out of the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_key: Option<IdKey>,
    /// Encryption, if on.
    pub encryption: Option<EncryptionInfo>,
    /// Free-form labels given by the caller (e.g. schedule id, firing key).
    pub labels: BTreeMap<String, String>,
    /// SHA-256 of the stored body (hex).
    pub body_sha256: String,
    /// Stored body length.
    pub body_len: u64,
}

/// One captured object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// API group (`""` for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name.
    pub resource: String,
    /// Namespace, for namespaced objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Object id (hex: 32 characters in format 3, 64 before).
    pub hash: String,
}

impl Entry {
    /// `Kind namespace/name` (or `Kind name`) for messages.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.gvk(), self.name),
            None => format!("{} {}", self.gvk(), self.name),
        }
    }

    /// `Kind.group/version`.
    pub fn gvk(&self) -> String {
        if self.group.is_empty() {
            format!("{}/{}", self.kind, self.version)
        } else {
            format!("{}.{}/{}", self.kind, self.group, self.version)
        }
    }
}

/// One line of the body: a chunk of entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    /// Chunk id (hex).
    pub hash: String,
    /// Where the chunk lives.
    pub loc: Location,
    /// Entries in the chunk.
    pub entries: u32,
}

/// One line of an entry chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkLine {
    /// The entry.
    pub e: Entry,
    /// Where its object lives.
    pub l: Location,
}

/// Chunk boundary after this entry? Type changes always cut (checked by the caller);
/// otherwise a cut after names whose FNV-1a hash is 0 mod 128 (content-defined: an
/// insertion or deletion only changes its own chunk), with at least 16 and at most
/// 4096 entries per chunk.
pub fn is_boundary(namespace: Option<&str>, name: &str, len: usize) -> bool {
    if len >= 4096 {
        return true;
    }
    if len < 16 {
        return false;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in namespace
        .unwrap_or("")
        .bytes()
        .chain([b'/'])
        .chain(name.bytes())
    {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h.is_multiple_of(128)
}

/// Serialise an entry chunk (the newest chunk encoding, see [`crate::chunk`]).
pub fn encode_chunk(lines: &[ChunkLine]) -> Vec<u8> {
    crate::chunk::encode(lines)
}

/// Parse an entry chunk of any supported encoding.
pub fn decode_chunk(bytes: &[u8]) -> Result<Vec<ChunkLine>, String> {
    crate::chunk::decode(bytes)
}

/// A whole manifest, read back.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The header.
    pub header: ManifestHeader,
    /// Entry chunks, in capture order.
    pub chunks: Vec<ChunkRef>,
    /// Entries, in capture order.
    pub entries: Vec<Entry>,
    /// Locations by object id.
    pub objects: HashMap<String, Location>,
}

/// Streams body records into a compressed buffer (memory: compressed size only).
pub struct BodyWriter {
    enc: zstd::stream::Encoder<'static, Vec<u8>>,
}

impl BodyWriter {
    /// A new body.
    pub fn new() -> Self {
        BodyWriter {
            enc: zstd::stream::Encoder::new(Vec::new(), 3).expect("zstd encoder"),
        }
    }

    /// Append one chunk reference.
    pub fn push(&mut self, r: &ChunkRef) {
        let mut line = serde_json::to_vec(r).expect("records serialise");
        line.push(b'\n');
        self.enc
            .write_all(&line)
            .expect("writing to a Vec cannot fail");
    }

    /// Finish the compressed body, sealing it if `key` is set.
    pub fn finish(self, key: Option<&EncryptionKey>) -> Vec<u8> {
        let compressed = self.enc.finish().expect("zstd finish into a Vec");
        match key {
            Some(k) => k.seal(&compressed),
            None => compressed,
        }
    }
}

impl Default for BodyWriter {
    fn default() -> Self {
        Self::new()
    }
}

/// Serialise a manifest: prefix, header, stored body. Sets the body hash and length.
pub fn encode(header: &mut ManifestHeader, body: &[u8]) -> Vec<u8> {
    header.body_sha256 = hex::encode(Sha256::digest(body));
    header.body_len = body.len() as u64;
    let h = serde_json::to_vec(header).expect("header serialises");
    let mut out = Vec::with_capacity(PREFIX_LEN + h.len() + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&MANIFEST_VERSION.to_le_bytes());
    out.extend_from_slice(&(h.len() as u32).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(body);
    out
}

/// Parse the binary prefix: (format version, header length).
pub fn parse_prefix(prefix: &[u8]) -> Result<(u32, usize), String> {
    if prefix.len() < PREFIX_LEN || &prefix[..4] != MAGIC {
        return Err("not a lifeboat manifest (bad magic)".into());
    }
    let version = u32::from_le_bytes(prefix[4..8].try_into().expect("4 bytes"));
    let len = u32::from_le_bytes(prefix[8..12].try_into().expect("4 bytes")) as usize;
    Ok((version, len))
}

/// Parse a header's JSON.
pub fn parse_header(json: &[u8]) -> Result<ManifestHeader, String> {
    serde_json::from_slice(json).map_err(|e| format!("header JSON: {e}"))
}

/// Verify and decode a stored body into its chunk references.
pub fn decode_body(
    header: &ManifestHeader,
    body: &[u8],
    key: Option<&EncryptionKey>,
) -> Result<Vec<ChunkRef>, String> {
    if body.len() as u64 != header.body_len {
        return Err(format!(
            "body is {} bytes, header says {}",
            body.len(),
            header.body_len
        ));
    }
    if hex::encode(Sha256::digest(body)) != header.body_sha256 {
        return Err("body SHA-256 mismatch".into());
    }
    let compressed = match (&header.encryption, key) {
        (Some(_), Some(k)) => std::borrow::Cow::Owned(k.open(body)?),
        (Some(e), None) => {
            return Err(format!(
                "snapshot is encrypted with key {}; no key configured",
                e.key_id
            ));
        }
        (None, _) => std::borrow::Cow::Borrowed(body),
    };
    let plain = zstd::stream::decode_all(&compressed[..]).map_err(|e| format!("zstd: {e}"))?;
    json_lines(&plain, "body line")
}

/// Parse JSON lines (empty lines skipped); errors name `what` and the 1-based line.
pub(crate) fn json_lines<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> Result<Vec<T>, String> {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_slice(l).map_err(|e| format!("{what} {}: {e}", i + 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn header() -> ManifestHeader {
        ManifestHeader {
            format_version: MANIFEST_VERSION,
            id: "c-1".into(),
            cluster: "c".into(),
            started_at: Utc::now(),
            completed_at: Utc::now(),
            kubernetes_version: "v1.32.0".into(),
            filters: Filters::default(),
            object_count: 1,
            distinct_objects: 1,
            bytes_uploaded: 0,
            packs: vec!["p".into()],
            new_packs: vec![],
            types: BTreeMap::new(),
            hash_algorithm: "hmac-sha256-128".into(),
            id_key: Some(IdKey::random()),
            encryption: None,
            labels: BTreeMap::new(),
            body_sha256: String::new(),
            body_len: 0,
        }
    }

    fn chunk_ref() -> ChunkRef {
        ChunkRef {
            hash: "ab".into(),
            loc: Location {
                pack: "p".into(),
                block_offset: 12,
                block_len: 5,
                offset: 0,
                len: 2,
            },
            entries: 1,
        }
    }

    fn body(key: Option<&EncryptionKey>) -> Vec<u8> {
        let mut w = BodyWriter::new();
        w.push(&chunk_ref());
        w.finish(key)
    }

    #[test]
    fn chunks_roundtrip_and_boundaries_are_deterministic() {
        let line = ChunkLine {
            e: Entry {
                group: "".into(),
                version: "v1".into(),
                kind: "ConfigMap".into(),
                resource: "configmaps".into(),
                namespace: Some("a".into()),
                name: "x".into(),
                hash: "ab".repeat(16),
            },
            l: chunk_ref().loc,
        };
        let bytes = encode_chunk(&[line.clone(), line.clone()]);
        assert_eq!(decode_chunk(&bytes).unwrap(), vec![line.clone(), line]);
        assert!(
            decode_chunk(b"{oops\n")
                .unwrap_err()
                .contains("chunk line 1")
        );
        let cuts = (0..10_000)
            .filter(|i| is_boundary(Some("ns"), &format!("obj-{i}"), 100))
            .count();
        assert!((40..200).contains(&cuts), "about 1 in 128: {cuts}");
        assert!(!is_boundary(Some("ns"), "x", 3));
        assert!(is_boundary(Some("ns"), "x", 4096));
        assert_eq!(is_boundary(None, "same", 50), is_boundary(None, "same", 50));
    }

    #[test]
    fn roundtrip_plain_and_encrypted() {
        let mut h = header();
        let bytes = encode(&mut h, &body(None));
        let (v, len) = parse_prefix(&bytes).unwrap();
        assert_eq!(v, MANIFEST_VERSION);
        let parsed = parse_header(&bytes[PREFIX_LEN..PREFIX_LEN + len]).unwrap();
        assert_eq!(parsed, h);
        let chunks = decode_body(&parsed, &bytes[PREFIX_LEN + len..], None).unwrap();
        assert_eq!(chunks, [chunk_ref()]);

        let key = EncryptionKey::from_bytes([9; 32]);
        let mut h = header();
        h.encryption = Some(EncryptionInfo {
            algorithm: "xchacha20poly1305".into(),
            key_id: key.id().into(),
        });
        let b = body(Some(&key));
        encode(&mut h, &b);
        assert!(decode_body(&h, &b, Some(&key)).is_ok());
        assert!(decode_body(&h, &b, None).unwrap_err().contains("no key"));
    }

    #[test]
    fn id_key_round_trips_is_optional_and_hidden_from_debug() {
        let mut h = header();
        let key = serde_json::to_value(&h.id_key).unwrap();
        let key = key.as_str().unwrap().to_string();
        assert_eq!(key.len(), 64);
        let bytes = encode(&mut h, &body(None));
        let json = &bytes[PREFIX_LEN..bytes.len() - h.body_len as usize];
        assert_eq!(parse_header(json).unwrap().id_key, h.id_key);
        assert!(!format!("{h:?}").contains(&key), "Debug shows no key");
        // Formats 1 and 2 (and encrypted format 3) have no id_key, and write none.
        h.id_key = None;
        let json = serde_json::to_string(&h).unwrap();
        assert!(!json.contains("id_key"), "{json}");
        assert_eq!(parse_header(json.as_bytes()).unwrap().id_key, None);
    }

    #[test]
    fn corrupt_body_is_detected() {
        let mut h = header();
        let mut b = body(None);
        encode(&mut h, &b);
        b[3] ^= 0xff;
        assert!(decode_body(&h, &b, None).unwrap_err().contains("SHA-256"));
    }
}
