//! Seeding: load YAML/JSON manifests (files or directories, multi-document, `kind: List`)
//! into the store at start, and bulk-generate synthetic objects for benchmarks.

use crate::store::Store;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A seed that could not be loaded; says which file and document.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// Unreadable file or directory.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Unparseable YAML.
    #[error("{path}: invalid YAML: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A seed path that yields no object: an empty (or truncated) file, or a directory
    /// without manifests. Starting empty would hide the mistake until a test or a user
    /// misses the objects.
    #[error(
        "{path}: holds no objects to seed (empty file, or a directory without .yaml/.yml/.json \
         manifests); fix it, or start without --seed"
    )]
    Empty {
        /// The path as given.
        path: PathBuf,
    },
    /// A document the server rejected.
    #[error("{path}: document {index} ({kind} \"{name}\"): {message}")]
    Rejected {
        /// The file.
        path: PathBuf,
        /// 0-based document index in the file.
        index: usize,
        /// Its kind.
        kind: String,
        /// Its name.
        name: String,
        /// Why.
        message: String,
    },
}

fn files(path: &Path) -> Result<Vec<PathBuf>, SeedError> {
    let io = |source| SeedError::Io {
        path: path.to_path_buf(),
        source,
    };
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Parse every document of every file: `(file, index, object)`, `List`s flattened.
pub fn load(paths: &[PathBuf]) -> Result<Vec<(PathBuf, usize, Value)>, SeedError> {
    let mut out = Vec::new();
    for p in paths {
        let before = out.len();
        for f in files(p)? {
            let text = std::fs::read_to_string(&f).map_err(|source| SeedError::Io {
                path: f.clone(),
                source,
            })?;
            let docs: Vec<Value> =
                serde_saphyr::from_multiple(&text).map_err(|e| SeedError::Parse {
                    path: f.clone(),
                    message: e.to_string(),
                })?;
            for (i, d) in docs.into_iter().enumerate().filter(|(_, d)| !d.is_null()) {
                match d.get("items").and_then(Value::as_array) {
                    Some(items)
                        if d.get("kind")
                            .and_then(Value::as_str)
                            .is_some_and(|k| k.ends_with("List")) =>
                    {
                        out.extend(items.iter().map(|it| (f.clone(), i, it.clone())));
                    }
                    _ => out.push((f.clone(), i, d)),
                }
            }
        }
        if out.len() == before {
            return Err(SeedError::Empty { path: p.clone() });
        }
    }
    Ok(out)
}

fn rank(v: &Value) -> u8 {
    match v.get("kind").and_then(Value::as_str) {
        Some("Namespace") => 0,
        Some("CustomResourceDefinition") => 1,
        _ => 2,
    }
}

/// Create the documents in the store: namespaces, then CRDs, then the rest. Missing
/// namespaces are created. Returns how many objects were created.
pub fn apply(
    store: &Arc<Store>,
    mut docs: Vec<(PathBuf, usize, Value)>,
) -> Result<usize, SeedError> {
    docs.sort_by_key(|(_, _, v)| rank(v));
    let ns_def = store
        .resolve("", "v1", "namespaces")
        .expect("namespaces are built in");
    for (path, index, doc) in &docs {
        let reject = |message: String| SeedError::Rejected {
            path: path.clone(),
            index: *index,
            kind: doc
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            name: crate::object::name(doc).to_string(),
            message,
        };
        let av = doc
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
        let def = store.catalog().find_kind(av, kind).ok_or_else(|| {
            reject(format!(
                "no resource serves apiVersion \"{av}\" kind \"{kind}\""
            ))
        })?;
        let ns = if def.namespaced {
            let ns = crate::object::namespace(doc);
            let ns = if ns.is_empty() { "default" } else { ns };
            if store.get(&ns_def, "", ns).is_err() {
                store
                    .create(
                        &ns_def,
                        "",
                        json!({"metadata": {"name": ns}}),
                        "kubesim-seed",
                        false,
                    )
                    .map_err(|e| reject(e.to_string()))?;
            }
            ns.to_string()
        } else {
            String::new()
        };
        store
            .create(&def, &ns, doc.clone(), "kubesim-seed", false)
            .map_err(|e| reject(e.to_string()))?;
    }
    Ok(docs.len())
}

/// Create `n` ConfigMaps `cm-0000000`... in namespace `bench`, labelled `app=bench` and
/// `shard=<i % 16>`, each with ~256 bytes of data.
pub fn generate(store: &Arc<Store>, n: usize) -> Result<(), crate::ApiError> {
    let ns_def = store
        .resolve("", "v1", "namespaces")
        .expect("namespaces are built in");
    if store.get(&ns_def, "", "bench").is_err() {
        store.create(
            &ns_def,
            "",
            json!({"metadata": {"name": "bench"}}),
            "kubesim-generate",
            false,
        )?;
    }
    let cm = store
        .resolve("", "v1", "configmaps")
        .expect("configmaps are built in");
    let payload = "x".repeat(200);
    for i in 0..n {
        let obj = json!({"metadata": {"name": format!("cm-{i:07}"), "labels": {"app": "bench", "shard": (i % 16).to_string()}},
                         "data": {"index": i.to_string(), "payload": payload}});
        store.create(&cm, "bench", obj, "kubesim-generate", false)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_multi_doc_and_lists_and_creates_namespaces() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\n  namespace: team\ndata:\n  k: v\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: team\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: web\n  spec:\n    replicas: 2\n").unwrap();
        std::fs::write(dir.path().join("ignored.txt"), "nope").unwrap();
        let store = Store::new(100, None);
        let docs = load(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(apply(&store, docs).unwrap(), 3);
        let cm = store.resolve("", "v1", "configmaps").unwrap();
        assert_eq!(store.get(&cm, "team", "c1").unwrap()["data"]["k"], "v");
    }

    #[test]
    fn errors_name_the_file_and_document() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.yaml");
        std::fs::write(&f, "apiVersion: v1\nkind: Nope\nmetadata:\n  name: x\n").unwrap();
        let store = Store::new(100, None);
        let e = apply(&store, load(std::slice::from_ref(&f)).unwrap()).unwrap_err();
        assert!(
            e.to_string().contains("bad.yaml: document 0 (Nope \"x\")"),
            "{e}"
        );
        std::fs::write(&f, "a: [1,\n").unwrap();
        assert!(matches!(
            load(std::slice::from_ref(&f)),
            Err(SeedError::Parse { .. })
        ));
    }

    #[test]
    fn an_empty_seed_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("empty.yaml");
        for text in ["", "---\n", "# only a comment\n"] {
            std::fs::write(&f, text).unwrap();
            let e = load(std::slice::from_ref(&f)).unwrap_err();
            assert!(matches!(e, SeedError::Empty { .. }), "{text:?}: {e}");
            assert!(
                e.to_string().contains("empty.yaml: holds no objects"),
                "{e}"
            );
        }
        std::fs::remove_file(&f).unwrap();
        let e = load(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(matches!(e, SeedError::Empty { .. }), "{e}");
    }

    #[test]
    fn generates() {
        let store = Store::new(100, None);
        generate(&store, 20).unwrap();
        let cm = store.resolve("", "v1", "configmaps").unwrap();
        assert_eq!(
            store
                .list(&cm, Some("bench"), &Default::default())
                .unwrap()
                .items
                .len(),
            20
        );
    }
}
