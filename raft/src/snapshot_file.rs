//! The versioned snapshot file format and its atomic on-disk write.
//!
//! Layout (all integers little-endian):
//! `MAGIC (8 bytes) | version: u32 | meta_len: u32 | meta: JSON SnapshotMeta | state: JSON S`.
//! The meta carries the last applied log id and last membership. The same bytes are what
//! openraft streams to followers in InstallSnapshot chunks, so a received snapshot is
//! verified by decoding it before it replaces anything.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use openraft::{BasicNode, SnapshotMeta};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::NodeId;

const MAGIC: &[u8; 8] = b"LBRAFTSN";
/// Current snapshot file format version.
pub(crate) const SNAPSHOT_FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 16;

/// Snapshot metadata as used by this crate.
pub(crate) type Meta = SnapshotMeta<NodeId, BasicNode>;

/// Why a snapshot file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SnapshotFileError {
    #[error("snapshot file I/O at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not a lifeboat raft snapshot (bad magic or truncated header)")]
    BadHeader,
    #[error(
        "snapshot format version {found} is not supported (this build reads {SNAPSHOT_FORMAT_VERSION})"
    )]
    Version { found: u32 },
    #[error("snapshot is truncated: meta length {meta_len} exceeds file size")]
    Truncated { meta_len: usize },
    #[error("snapshot content does not decode: {0}")]
    Codec(#[from] serde_json::Error),
}

/// Encode a snapshot of `state` at `meta`.
pub(crate) fn encode<S: Serialize>(meta: &Meta, state: &S) -> Result<Vec<u8>, SnapshotFileError> {
    let meta_json = serde_json::to_vec(meta)?;
    let mut out = Vec::with_capacity(HEADER_LEN + meta_json.len() + 1024);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&SNAPSHOT_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(meta_json.len() as u32).to_le_bytes());
    out.extend_from_slice(&meta_json);
    serde_json::to_writer(&mut out, state)?;
    Ok(out)
}

/// Decode a snapshot written by [`encode`].
pub(crate) fn decode<S: DeserializeOwned>(bytes: &[u8]) -> Result<(Meta, S), SnapshotFileError> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return Err(SnapshotFileError::BadHeader);
    }
    let word =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let version = word(8);
    if version != SNAPSHOT_FORMAT_VERSION {
        return Err(SnapshotFileError::Version { found: version });
    }
    let meta_len = word(12) as usize;
    let body = &bytes[HEADER_LEN..];
    if meta_len > body.len() {
        return Err(SnapshotFileError::Truncated { meta_len });
    }
    let meta = serde_json::from_slice(&body[..meta_len])?;
    let state = serde_json::from_slice(&body[meta_len..])?;
    Ok((meta, state))
}

/// File name of the snapshot with `snapshot_id` (sanitised to `[A-Za-z0-9._-]`).
pub(crate) fn file_name(snapshot_id: &str) -> String {
    let safe: String = snapshot_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("snapshot-{safe}.bin")
}

/// Write `bytes` to `dir/name` atomically: temp file, fsync, rename, fsync the directory.
pub(crate) fn write_atomic(
    dir: &Path,
    name: &str,
    bytes: &[u8],
) -> Result<PathBuf, SnapshotFileError> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SnapshotFileError::Io { path, source }
    };
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    fs::rename(&tmp, &path).map_err(io(&path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(path)
}

/// Read a whole snapshot file.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, SnapshotFileError> {
    fs::read(path).map_err(|source| SnapshotFileError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Remove snapshot files (and leftover temp files) in `dir` other than `keep`.
pub(crate) fn remove_others(dir: &Path, keep: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with("snapshot-") || name == keep {
            continue;
        }
        if let Err(e) = fs::remove_file(entry.path()) {
            tracing::warn!(file = %name, error = %e, "could not remove old snapshot file");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn meta() -> Meta {
        Meta {
            last_log_id: Some(openraft::testing::log_id(3, 1, 42)),
            last_membership: Default::default(),
            snapshot_id: "3-42-7".into(),
        }
    }

    #[test]
    fn roundtrip_and_version_check() {
        let state: BTreeMap<String, u64> = [("a".to_string(), 1)].into();
        let bytes = encode(&meta(), &state).unwrap();
        let (m, s): (Meta, BTreeMap<String, u64>) = decode(&bytes).unwrap();
        assert_eq!(m, meta());
        assert_eq!(s, state);

        let mut newer = bytes.clone();
        newer[8] = 2;
        assert!(matches!(
            decode::<BTreeMap<String, u64>>(&newer),
            Err(SnapshotFileError::Version { found: 2 })
        ));
        assert!(matches!(
            decode::<BTreeMap<String, u64>>(b"garbage"),
            Err(SnapshotFileError::BadHeader)
        ));
    }

    #[test]
    fn atomic_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let name = file_name("1-2/../x");
        assert_eq!(name, "snapshot-1-2_.._x.bin");
        let p = write_atomic(dir.path(), &name, b"hello").unwrap();
        assert_eq!(read(&p).unwrap(), b"hello");
        write_atomic(dir.path(), "snapshot-old.bin", b"old").unwrap();
        remove_others(dir.path(), &name);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec![name]);
    }
}
