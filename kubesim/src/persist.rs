//! Optional persistence: the whole store as one versioned JSON file in `--data-dir`,
//! loaded at start and rewritten atomically when dirty (every second and at shutdown).

use crate::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Current on-disk format version.
pub const FORMAT_VERSION: u32 = 1;
const FILE: &str = "kubesim-state.json";

#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: String,
    version: u32,
    #[serde(rename = "resourceVersion")]
    resource_version: u64,
    objects: Vec<Value>,
}

/// Persistence failures.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// Read/write failure.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Not a kubesim state file, or a newer version.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
}

/// Load `dir/kubesim-state.json` into the store, if it exists. Returns object count.
pub fn load(dir: &Path, store: &Store) -> Result<usize, PersistError> {
    let path = dir.join(FILE);
    let raw = match std::fs::read(&path) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => return Err(PersistError::Io { path, source }),
    };
    let snap: Snapshot = serde_json::from_slice(&raw).map_err(|e| PersistError::Format {
        path: path.clone(),
        message: format!("not a kubesim state file ({e}); move it away or pick another --data-dir"),
    })?;
    if snap.format != "kubesim-state" || snap.version > FORMAT_VERSION {
        return Err(PersistError::Format {
            path,
            message: format!(
                "format {} version {} is not supported (this kubesim writes version {FORMAT_VERSION})",
                snap.format, snap.version
            ),
        });
    }
    let n = snap.objects.len();
    for e in store.load(snap.resource_version, snap.objects) {
        tracing::warn!(error = %e, "persisted object skipped");
    }
    Ok(n)
}

/// Write the store to `dir/kubesim-state.json` atomically.
pub fn save(dir: &Path, store: &Store) -> Result<(), PersistError> {
    let (rv, objects) = store.dump();
    let snap = Snapshot {
        format: "kubesim-state".into(),
        version: FORMAT_VERSION,
        resource_version: rv,
        objects: objects.iter().map(|o| (**o).clone()).collect(),
    };
    let path = dir.join(FILE);
    let text = serde_json::to_string(&snap).map_err(|e| PersistError::Format {
        path: path.clone(),
        message: e.to_string(),
    })?;
    crate::kubeconfig::write_atomic(&path, &text)
        .map_err(|source| PersistError::Io { path, source })
}

/// Flush every second while dirty. Runs until the runtime stops.
pub fn spawn_flusher(dir: PathBuf, store: Arc<Store>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            if store.take_dirty() {
                let (d, s) = (dir.clone(), store.clone());
                match tokio::task::spawn_blocking(move || save(&d, &s)).await {
                    Ok(Err(e)) => tracing::error!(error = %e, "persisting state failed"),
                    Err(e) => tracing::error!(error = %e, "persist task failed"),
                    Ok(Ok(())) => {}
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_keeps_objects_crds_and_rv() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::new(100, None);
        let crd = a
            .resolve("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            .unwrap();
        a.create(&crd, "", json!({"metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"}, "versions": [{"name": "v1", "served": true, "storage": true}]}}), "t", false).unwrap();
        let w = a.resolve("example.com", "v1", "widgets").unwrap();
        let obj = a
            .create(
                &w,
                "default",
                json!({"metadata": {"name": "w1"}}),
                "t",
                false,
            )
            .unwrap();
        save(dir.path(), &a).unwrap();
        let b = Store::new(100, None);
        assert!(load(dir.path(), &b).unwrap() > 0);
        let w = b.resolve("example.com", "v1", "widgets").unwrap();
        assert_eq!(b.get(&w, "default", "w1").unwrap(), obj);
        assert_eq!(b.current_rv(), a.current_rv());
        std::fs::write(dir.path().join(FILE), "{}").unwrap();
        assert!(matches!(
            load(dir.path(), &b),
            Err(PersistError::Format { .. })
        ));
    }
}
