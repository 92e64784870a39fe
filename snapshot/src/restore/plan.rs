//! The restore plan (pure): which objects, in which tier, under which target namespace,
//! and how each object is rewritten for the target (namespace mapping).

use super::order::{TIER_NAMES, tier};
use crate::manifest::Entry;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One object to restore.
#[derive(Debug, Clone, Serialize)]
pub struct PlanItem {
    /// Manifest entry (source namespace and name).
    #[serde(skip)]
    pub entry: Entry,
    /// `Kind.group/version`.
    pub gvk: String,
    /// Target namespace (after mapping).
    pub namespace: Option<String>,
    /// Target name (Namespaces are renamed by the mapping).
    pub name: String,
}

/// One tier of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanTier {
    /// Tier number.
    pub tier: u8,
    /// Tier name.
    pub name: &'static str,
    /// Objects.
    pub items: Vec<PlanItem>,
}

/// Map a namespace through `map` (unmapped namespaces keep their name).
pub fn map_ns(map: &BTreeMap<String, String>, ns: &str) -> String {
    map.get(ns).cloned().unwrap_or_else(|| ns.to_string())
}

/// Whether `e` is restored when the restore is narrowed to `namespaces` (source names):
/// objects in those namespaces and the Namespace objects of those names. Other
/// cluster-scoped objects are not. `None`: everything is.
pub fn selected(e: &Entry, namespaces: Option<&BTreeSet<String>>) -> bool {
    let Some(wanted) = namespaces else {
        return true;
    };
    match &e.namespace {
        Some(ns) => wanted.contains(ns),
        None => e.group.is_empty() && e.kind == "Namespace" && wanted.contains(&e.name),
    }
}

/// Add `annotations` to `metadata.annotations` of `obj` (overriding same-named ones).
pub fn annotate(obj: &mut Value, annotations: &BTreeMap<String, String>) {
    if annotations.is_empty() || !obj.is_object() {
        return;
    }
    if !obj["metadata"].is_object() {
        obj["metadata"] = Value::Object(Default::default());
    }
    let slot = &mut obj["metadata"]["annotations"];
    if !slot.is_object() {
        *slot = Value::Object(Default::default());
    }
    for (k, v) in annotations {
        slot[k.as_str()] = Value::String(v.clone());
    }
}

/// Build the plan: tiers in order, objects sorted by namespace and name within a tier.
pub fn plan(entries: &[Entry], namespace_map: &BTreeMap<String, String>) -> Vec<PlanTier> {
    let mut tiers: BTreeMap<u8, Vec<PlanItem>> = BTreeMap::new();
    for e in entries {
        let is_ns = e.group.is_empty() && e.kind == "Namespace";
        let name = if is_ns {
            map_ns(namespace_map, &e.name)
        } else {
            e.name.clone()
        };
        tiers
            .entry(tier(&e.group, &e.kind))
            .or_default()
            .push(PlanItem {
                entry: e.clone(),
                gvk: e.gvk(),
                namespace: e.namespace.as_deref().map(|n| map_ns(namespace_map, n)),
                name,
            });
    }
    tiers
        .into_iter()
        .map(|(t, mut items)| {
            items.sort_by(|a, b| {
                (&a.gvk, &a.namespace, &a.name).cmp(&(&b.gvk, &b.namespace, &b.name))
            });
            PlanTier {
                tier: t,
                name: TIER_NAMES[t as usize],
                items,
            }
        })
        .collect()
}

/// Rewrite a stored object for the target: namespace mapping of `metadata.namespace`,
/// Namespace names, and ServiceAccount subjects of (Cluster)RoleBindings.
pub fn rewrite(obj: &mut Value, kind: &str, namespace_map: &BTreeMap<String, String>) {
    if namespace_map.is_empty() {
        return;
    }
    let meta = &mut obj["metadata"];
    if kind == "Namespace" {
        if let Some(n) = meta["name"].as_str() {
            meta["name"] = Value::String(map_ns(namespace_map, n));
        }
    } else if let Some(ns) = meta["namespace"].as_str() {
        meta["namespace"] = Value::String(map_ns(namespace_map, ns));
    }
    if matches!(kind, "RoleBinding" | "ClusterRoleBinding")
        && let Some(subjects) = obj["subjects"].as_array_mut()
    {
        for s in subjects {
            if s["kind"] == "ServiceAccount"
                && let Some(ns) = s["namespace"].as_str()
            {
                s["namespace"] = Value::String(map_ns(namespace_map, ns));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(group: &str, kind: &str, ns: Option<&str>, name: &str) -> Entry {
        Entry {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            resource: format!("{}s", kind.to_lowercase()),
            namespace: ns.map(str::to_string),
            name: name.into(),
            hash: "h".into(),
        }
    }

    #[test]
    fn tiers_in_order_with_namespace_mapping() {
        let map = BTreeMap::from([("prod".to_string(), "drill".to_string())]);
        let p = plan(
            &[
                entry("apps", "Deployment", Some("prod"), "web"),
                entry("", "ConfigMap", Some("prod"), "cfg"),
                entry("", "Namespace", None, "prod"),
                entry("", "ConfigMap", Some("other"), "a"),
            ],
            &map,
        );
        let names: Vec<&str> = p.iter().map(|t| t.name).collect();
        assert_eq!(names, ["namespaces", "config-maps", "workloads"]);
        assert_eq!(p[0].items[0].name, "drill");
        assert_eq!(p[1].items[0].namespace.as_deref(), Some("drill"));
        assert_eq!(p[1].items[1].namespace.as_deref(), Some("other"));
    }

    #[test]
    fn namespace_selection_keeps_its_namespaces_and_their_namespace_objects() {
        let only_shop = BTreeSet::from(["shop".to_string()]);
        let keep = |e: &Entry| selected(e, Some(&only_shop));
        assert!(keep(&entry("", "ConfigMap", Some("shop"), "cfg")));
        assert!(keep(&entry("", "Namespace", None, "shop")));
        assert!(!keep(&entry("", "ConfigMap", Some("blog"), "cfg")));
        assert!(!keep(&entry("", "Namespace", None, "blog")));
        assert!(!keep(&entry(
            "rbac.authorization.k8s.io",
            "ClusterRole",
            None,
            "shop"
        )));
        assert!(selected(&entry("", "Namespace", None, "blog"), None));
    }

    #[test]
    fn annotate_adds_to_existing_and_missing_annotations() {
        let marks = BTreeMap::from([("lifeboat.dev/run".to_string(), "r1".to_string())]);
        let mut with = json!({"metadata": {"name": "a", "annotations": {"keep": "me"}}});
        annotate(&mut with, &marks);
        assert_eq!(
            with["metadata"]["annotations"],
            json!({"keep": "me", "lifeboat.dev/run": "r1"})
        );
        let mut without = json!({"metadata": {"name": "b"}});
        annotate(&mut without, &marks);
        assert_eq!(without["metadata"]["annotations"]["lifeboat.dev/run"], "r1");
        let mut untouched = json!({"metadata": {"name": "c"}});
        annotate(&mut untouched, &BTreeMap::new());
        assert!(untouched["metadata"].get("annotations").is_none());
    }

    #[test]
    fn rewrite_maps_metadata_and_binding_subjects() {
        let map = BTreeMap::from([("prod".to_string(), "drill".to_string())]);
        let mut rb = json!({"metadata": {"name": "rb", "namespace": "prod"}, "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "prod"}, {"kind": "User", "name": "u"}]});
        rewrite(&mut rb, "RoleBinding", &map);
        assert_eq!(rb["metadata"]["namespace"], "drill");
        assert_eq!(rb["subjects"][0]["namespace"], "drill");
        assert!(rb["subjects"][1].get("namespace").is_none());
        let mut ns = json!({"metadata": {"name": "prod"}});
        rewrite(&mut ns, "Namespace", &map);
        assert_eq!(ns["metadata"]["name"], "drill");
    }
}
