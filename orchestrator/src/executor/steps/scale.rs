//! `k8s.scale` "as in the snapshot": turns `fromSnapshot` (a snapshot id, or `latest` of
//! `sourceCluster`) into the `spec.replicas` the workload had in that snapshot, so that
//! [`super::kube::scale`] only ever sees a number.
//!
//! The workload is looked up in the snapshot at `sourceNamespace` (default: `namespace`),
//! since a drill scales a copy in a suffixed namespace while the snapshot holds the
//! original. The inputs are checked here, at run time, because the linter's schema subset
//! has no `oneOf` (it reports the same mistakes as RB066): exactly one of `replicas` and
//! `fromSnapshot`; `latest` needs `sourceCluster`; `source*` inputs need `fromSnapshot`.

use std::sync::Arc;

use lifeboat_snapshot::{SnapshotStore, StoreError};
use serde_json::{Value, json};
use tracing::{info, instrument};

use crate::catalog::SnapshotRecord;
use crate::node::Node;

/// The workload kinds `k8s.scale` accepts; all are in the `apps` group.
const SCALABLE: [&str; 3] = ["Deployment", "StatefulSet", "ReplicaSet"];

/// Which snapshot `fromSnapshot` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted<'a> {
    /// The most recent (by completion time) snapshot of this cluster.
    Latest { cluster: &'a str },
    /// One snapshot by id, optionally checked to be of `cluster`.
    Id {
        id: &'a str,
        cluster: Option<&'a str>,
    },
}

/// The workload to read from a snapshot, parsed from a `with` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Source<'a> {
    wanted: Wanted<'a>,
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
}

/// `with` with `replicas` set from the snapshot when it has `fromSnapshot`; unchanged
/// when it has `replicas`. The snapshot is looked up in the node's catalog and read from
/// its store. The other inputs are left as they are for [`super::kube::scale`], which
/// ignores the `fromSnapshot` ones.
///
/// # Errors
/// Both or neither of `replicas` and `fromSnapshot`, `latest` without `sourceCluster`,
/// `sourceCluster`/`sourceNamespace` without `fromSnapshot`, no such snapshot, a workload
/// the snapshot does not hold, or a store failure (unreadable, corrupt, wrong key).
#[instrument(skip_all, fields(step = "k8s.scale"))]
pub async fn scale_from_with(node: &Arc<Node>, with: &Value) -> Result<Value, String> {
    let find = |wanted: Wanted<'_>| {
        node.raft
            .read_local(|c| pick(c.snapshots.snapshots.values(), wanted))
    };
    fill(&node.snapshots.store, find, with).await
}

/// [`scale_from_with`] over a given list of completed snapshots and a store, without a
/// node (tools, and tests against a real cluster).
///
/// # Errors
/// As [`scale_from_with`].
pub async fn scale_from_snapshots(
    store: &SnapshotStore,
    snapshots: &[SnapshotRecord],
    with: &Value,
) -> Result<Value, String> {
    fill(store, |wanted| pick(snapshots.iter(), wanted), with).await
}

async fn fill(
    store: &SnapshotStore,
    find: impl FnOnce(Wanted<'_>) -> Result<SnapshotRecord, String>,
    with: &Value,
) -> Result<Value, String> {
    let Some(src) = parse(with)? else {
        return Ok(with.clone());
    };
    let snapshot = find(src.wanted)?;
    let what = format!("{} {}/{}", src.kind, src.namespace, src.name);
    let object = store
        .read_object(
            &snapshot.id,
            ("apps", src.kind),
            Some(src.namespace),
            src.name,
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => format!(
                "k8s.scale: snapshot `{}` is in the catalog but no longer in the store \
                 (deleted by retention?); take a new one or name another",
                snapshot.id
            ),
            e => format!(
                "k8s.scale: reading {what} from snapshot `{}`: {e}",
                snapshot.id
            ),
        })?
        .ok_or_else(|| {
            format!(
                "k8s.scale: snapshot `{}` (cluster `{}`) holds no {what}; check `name`, \
                 `kind` and `sourceNamespace` (the namespace in the snapshot, default \
                 `namespace`), or give `replicas`",
                snapshot.id, snapshot.cluster
            )
        })?;
    let replicas = replicas_of(&object)
        .map_err(|e| format!("k8s.scale: {what} in snapshot `{}`: {e}", snapshot.id))?;
    info!(snapshot_id = %snapshot.id, workload = %what, replicas, "replicas from snapshot");
    let mut out = with.clone();
    out["replicas"] = json!(replicas);
    Ok(out)
}

/// `None` when `with` sets `replicas` itself; the workload to look up otherwise.
fn parse(with: &Value) -> Result<Option<Source<'_>>, String> {
    let opt = |key: &str| -> Result<Option<&str>, String> {
        match with.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
            Some(other) => Err(format!(
                "k8s.scale: input `{key}` must be a non-empty string; got {other}"
            )),
        }
    };
    let has = |key: &str| with.get(key).is_some_and(|v| !v.is_null());
    let from = match (has("replicas"), opt("fromSnapshot")?) {
        (true, Some(_)) => {
            return Err(
                "k8s.scale: give `replicas` or `fromSnapshot`, not both (RB066)".to_string(),
            );
        }
        (false, None) => {
            return Err(
                "k8s.scale: give `replicas` (a number) or `fromSnapshot` (a snapshot \
                        id, or `latest` with `sourceCluster`) (RB066)"
                    .to_string(),
            );
        }
        (true, None) => {
            if let Some(key) = ["sourceCluster", "sourceNamespace"]
                .into_iter()
                .find(|k| has(k))
            {
                return Err(format!(
                    "k8s.scale: `{key}` only applies with `fromSnapshot` (RB066)"
                ));
            }
            return Ok(None);
        }
        (false, Some(from)) => from,
    };
    let cluster = opt("sourceCluster")?;
    let wanted = match (from, cluster) {
        ("latest", Some(cluster)) => Wanted::Latest { cluster },
        ("latest", None) => {
            return Err(
                "k8s.scale: `fromSnapshot: latest` needs `sourceCluster`, the \
                        cluster whose latest snapshot to read (RB066)"
                    .to_string(),
            );
        }
        (id, cluster) => Wanted::Id { id, cluster },
    };
    let kind = opt("kind")?.unwrap_or("Deployment");
    if !SCALABLE.contains(&kind) {
        return Err(format!(
            "k8s.scale: kind `{kind}` cannot be scaled; use one of {}",
            SCALABLE.join(", ")
        ));
    }
    let required =
        |key: &str| opt(key)?.ok_or_else(|| format!("k8s.scale: input `{key}` is missing"));
    let namespace = match opt("sourceNamespace")? {
        Some(ns) => ns,
        None => required("namespace")?,
    };
    Ok(Some(Source {
        wanted,
        kind,
        namespace,
        name: required("name")?,
    }))
}

/// The snapshot `wanted` names among the catalog's completed snapshots.
fn pick<'r>(
    snapshots: impl Iterator<Item = &'r SnapshotRecord>,
    wanted: Wanted<'_>,
) -> Result<SnapshotRecord, String> {
    let mut snapshots = snapshots;
    match wanted {
        Wanted::Latest { cluster } => snapshots
            .filter(|s| s.cluster == cluster)
            .max_by(|a, b| (a.completed_at_ms, &a.id).cmp(&(b.completed_at_ms, &b.id)))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "k8s.scale: no snapshot of cluster `{cluster}` exists yet: take one \
                     (`lifeboat snapshot take {cluster}`) or add a schedule"
                )
            }),
        Wanted::Id { id, cluster } => {
            let s = snapshots.find(|s| s.id == id).ok_or_else(|| {
                format!("k8s.scale: no snapshot `{id}` (see `lifeboat snapshot list`)")
            })?;
            match cluster {
                Some(c) if c != s.cluster => Err(format!(
                    "k8s.scale: snapshot `{id}` is of cluster `{}`, not `sourceCluster` `{c}`",
                    s.cluster
                )),
                _ => Ok(s.clone()),
            }
        }
    }
}

/// `spec.replicas` of a stored workload; absent means 1, as Kubernetes defaults it.
fn replicas_of(object: &Value) -> Result<u64, String> {
    match object.get("spec").and_then(|s| s.get("replicas")) {
        None | Some(Value::Null) => Ok(1),
        Some(v) => v
            .as_u64()
            .filter(|n| i32::try_from(*n).is_ok())
            .ok_or_else(|| format!("`spec.replicas` is {v}, not a whole number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, cluster: &str, completed_at_ms: u64) -> SnapshotRecord {
        SnapshotRecord {
            id: id.into(),
            cluster: cluster.into(),
            manifest_key: format!("manifests/{id}.manifest"),
            object_count: 1,
            new_objects: 1,
            bytes_uploaded: 1,
            kubernetes_version: "v1.30.0".into(),
            started_at_ms: completed_at_ms - 1,
            completed_at_ms,
            capture_id: id.into(),
            trigger: "manual".into(),
        }
    }

    fn base() -> Value {
        json!({"cluster": "west", "namespace": "shop-drill-1", "name": "web"})
    }

    fn with(extra: Value) -> Value {
        let mut w = base();
        for (k, v) in extra.as_object().unwrap() {
            w[k] = v.clone();
        }
        w
    }

    #[test]
    fn replicas_alone_needs_no_snapshot() {
        assert_eq!(parse(&with(json!({"replicas": 3}))), Ok(None));
    }

    #[test]
    fn exactly_one_of_replicas_and_from_snapshot() {
        let both = parse(&with(json!({"replicas": 3, "fromSnapshot": "s1"}))).unwrap_err();
        assert!(both.contains("not both"), "{both}");
        let neither = parse(&base()).unwrap_err();
        assert!(
            neither.contains("`replicas`") && neither.contains("`fromSnapshot`"),
            "{neither}"
        );
        // A null `replicas` (a template that rendered to nothing) counts as absent.
        let null = with(json!({"replicas": null, "fromSnapshot": "s1"}));
        assert!(parse(&null).unwrap().is_some());
    }

    #[test]
    fn latest_needs_source_cluster_and_source_inputs_need_from_snapshot() {
        let e = parse(&with(json!({"fromSnapshot": "latest"}))).unwrap_err();
        assert!(e.contains("needs `sourceCluster`"), "{e}");
        let e = parse(&with(json!({"replicas": 1, "sourceNamespace": "shop"}))).unwrap_err();
        assert_eq!(
            e,
            "k8s.scale: `sourceNamespace` only applies with `fromSnapshot` (RB066)"
        );
        let e = parse(&with(json!({"fromSnapshot": 7}))).unwrap_err();
        assert!(
            e.contains("`fromSnapshot` must be a non-empty string"),
            "{e}"
        );
    }

    #[test]
    fn source_namespace_defaults_to_namespace_and_kind_to_deployment() {
        let latest = with(json!({"fromSnapshot": "latest", "sourceCluster": "east",
                                 "sourceNamespace": "shop"}));
        assert_eq!(
            parse(&latest).unwrap(),
            Some(Source {
                wanted: Wanted::Latest { cluster: "east" },
                kind: "Deployment",
                namespace: "shop",
                name: "web",
            })
        );
        let by_id = with(json!({"fromSnapshot": "s1", "kind": "StatefulSet"}));
        assert_eq!(
            parse(&by_id).unwrap(),
            Some(Source {
                wanted: Wanted::Id {
                    id: "s1",
                    cluster: None
                },
                kind: "StatefulSet",
                namespace: "shop-drill-1",
                name: "web",
            })
        );
        let e = parse(&with(json!({"fromSnapshot": "s1", "kind": "Pod"}))).unwrap_err();
        assert!(e.contains("cannot be scaled"), "{e}");
        let mut no_name = with(json!({"fromSnapshot": "s1"}));
        no_name.as_object_mut().unwrap().remove("name");
        assert_eq!(
            parse(&no_name).unwrap_err(),
            "k8s.scale: input `name` is missing"
        );
    }

    #[test]
    fn picks_the_latest_snapshot_of_the_source_cluster() {
        let all = [
            record("east-1", "east", 100),
            record("east-2", "east", 300),
            record("west-1", "west", 500),
        ];
        let latest = pick(all.iter(), Wanted::Latest { cluster: "east" }).unwrap();
        assert_eq!(latest.id, "east-2");
        let e = pick(all.iter(), Wanted::Latest { cluster: "north" }).unwrap_err();
        assert!(e.contains("no snapshot of cluster `north`"), "{e}");
        let id = Wanted::Id {
            id: "east-1",
            cluster: None,
        };
        assert_eq!(pick(all.iter(), id).unwrap().id, "east-1");
        let mismatch = Wanted::Id {
            id: "east-1",
            cluster: Some("west"),
        };
        assert!(
            pick(all.iter(), mismatch)
                .unwrap_err()
                .contains("is of cluster `east`")
        );
        let missing = Wanted::Id {
            id: "nope",
            cluster: None,
        };
        assert!(
            pick(all.iter(), missing)
                .unwrap_err()
                .contains("no snapshot `nope`")
        );
    }

    #[test]
    fn replicas_come_from_spec_and_default_to_one() {
        assert_eq!(replicas_of(&json!({"spec": {"replicas": 4}})), Ok(4));
        assert_eq!(replicas_of(&json!({"spec": {}})), Ok(1));
        assert!(replicas_of(&json!({"spec": {"replicas": -1}})).is_err());
        assert!(replicas_of(&json!({"spec": {"replicas": "2"}})).is_err());
    }
}
