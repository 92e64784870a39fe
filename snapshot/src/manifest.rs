//! Manifests: one per snapshot, written last. A snapshot exists iff its manifest exists.
//!
//! Layout (version 1): `"LBMF"`, `u32` LE format version, `u32` LE header length, the
//! header (JSON, [`ManifestHeader`], always plaintext so listing and retention need no
//! key), then the body: a zstd frame of JSON lines ([`Record`]: one `e` line per captured
//! object, one `o` line per distinct object giving its pack location), sealed with the
//! data key when encryption is on. `body_sha256` in the header covers the stored body.

use crate::crypto::EncryptionKey;
use crate::filter::Filters;
use crate::pack::Location;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;

/// Manifest format version written and read by this build.
pub const MANIFEST_VERSION: u32 = 1;
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
    /// Object id algorithm (`sha256` or `sha256-keyed-v1`).
    pub hash_algorithm: String,
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
    /// Object id (hex).
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

/// One line of the body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum Record {
    /// A captured object.
    #[serde(rename = "e")]
    Entry(Entry),
    /// Where a distinct object lives.
    #[serde(rename = "o")]
    Object {
        /// Object id (hex).
        hash: String,
        /// Location.
        loc: Location,
    },
}

/// A whole manifest, read back.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The header.
    pub header: ManifestHeader,
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

    /// Append one record.
    pub fn push(&mut self, r: &Record) {
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

/// Verify and decode a stored body.
pub fn decode_body(
    header: &ManifestHeader,
    body: &[u8],
    key: Option<&EncryptionKey>,
) -> Result<(Vec<Entry>, HashMap<String, Location>), String> {
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
    let mut entries = Vec::with_capacity(header.object_count as usize);
    let mut objects = HashMap::with_capacity(header.distinct_objects as usize);
    for (i, line) in plain.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Record>(line)
            .map_err(|e| format!("body line {}: {e}", i + 1))?
        {
            Record::Entry(e) => entries.push(e),
            Record::Object { hash, loc } => {
                objects.insert(hash, loc);
            }
        }
    }
    if let Some(e) = entries.iter().find(|e| !objects.contains_key(&e.hash)) {
        return Err(format!("{} has no pack location", e.display()));
    }
    Ok((entries, objects))
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
            hash_algorithm: "sha256".into(),
            encryption: None,
            labels: BTreeMap::new(),
            body_sha256: String::new(),
            body_len: 0,
        }
    }

    fn body(key: Option<&EncryptionKey>) -> Vec<u8> {
        let mut w = BodyWriter::new();
        w.push(&Record::Entry(Entry {
            group: "".into(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
            resource: "configmaps".into(),
            namespace: Some("a".into()),
            name: "x".into(),
            hash: "ab".into(),
        }));
        w.push(&Record::Object {
            hash: "ab".into(),
            loc: Location {
                pack: "p".into(),
                block_offset: 12,
                block_len: 5,
                offset: 0,
                len: 2,
            },
        });
        w.finish(key)
    }

    #[test]
    fn roundtrip_plain_and_encrypted() {
        let mut h = header();
        let bytes = encode(&mut h, &body(None));
        let (v, len) = parse_prefix(&bytes).unwrap();
        assert_eq!(v, MANIFEST_VERSION);
        let parsed = parse_header(&bytes[PREFIX_LEN..PREFIX_LEN + len]).unwrap();
        assert_eq!(parsed, h);
        let (entries, objects) = decode_body(&parsed, &bytes[PREFIX_LEN + len..], None).unwrap();
        assert_eq!(entries[0].display(), "ConfigMap/v1 a/x");
        assert_eq!(objects["ab"].block_offset, 12);

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
    fn corrupt_body_is_detected() {
        let mut h = header();
        let mut b = body(None);
        encode(&mut h, &b);
        b[3] ^= 0xff;
        assert!(decode_body(&h, &b, None).unwrap_err().contains("SHA-256"));
    }
}
