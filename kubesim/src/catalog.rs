//! The resource catalogue: every served resource (built-in table plus CRD-registered
//! ones) with its group, version, kind, plural, scope, short names and subresources.

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where the `scale` subresource reads and writes its fields (JSON paths without the dot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    /// e.g. `spec.replicas`.
    pub spec_replicas: String,
    /// e.g. `status.replicas`.
    pub status_replicas: String,
    /// e.g. `status.selector`; built-ins derive it from `spec.selector`.
    pub label_selector: Option<String>,
}

/// One served resource in one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceDef {
    /// API group; empty for the legacy core group.
    pub group: String,
    /// Version, e.g. `v1`.
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Plural resource name, e.g. `deployments`.
    pub plural: String,
    /// Singular name, e.g. `deployment`.
    pub singular: String,
    /// Namespaced (true) or cluster-scoped (false).
    pub namespaced: bool,
    /// kubectl short names.
    pub short_names: Vec<String>,
    /// Categories such as `all`.
    pub categories: Vec<String>,
    /// Whether the `status` subresource exists (main-resource writes then keep status).
    pub status: bool,
    /// The `scale` subresource, if any.
    pub scale: Option<ScalePaths>,
    /// Defined by a CRD (custom resource) rather than built in.
    pub custom: bool,
}

impl ResourceDef {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural.group` or `plural`: the key objects are stored under (all versions share it).
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Whether writes bump `metadata.generation` when the spec changes.
    pub fn has_generation(&self) -> bool {
        self.status || self.custom
    }
}

/// (group, version, kind, plural, namespaced, short names, categories, status, scale)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static str,
    bool,
    bool,
    bool,
);

/// The built-in table. Columns: group, version, kind, plural, namespaced, short names
/// (comma-separated), in category `all`, status subresource, scale subresource.
const BUILTIN: &[Row] = &[
    (
        "",
        "v1",
        "Namespace",
        "namespaces",
        false,
        "ns",
        false,
        true,
        false,
    ),
    (
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        true,
        "cm",
        false,
        false,
        false,
    ),
    ("", "v1", "Secret", "secrets", true, "", false, false, false),
    (
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        true,
        "sa",
        false,
        false,
        false,
    ),
    (
        "", "v1", "Service", "services", true, "svc", true, true, false,
    ),
    (
        "",
        "v1",
        "Endpoints",
        "endpoints",
        true,
        "ep",
        false,
        false,
        false,
    ),
    ("", "v1", "Pod", "pods", true, "po", true, true, false),
    (
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        "pvc",
        false,
        true,
        false,
    ),
    (
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        false,
        "pv",
        false,
        true,
        false,
    ),
    ("", "v1", "Node", "nodes", false, "no", false, true, false),
    ("", "v1", "Event", "events", true, "ev", false, false, false),
    (
        "apps",
        "v1",
        "Deployment",
        "deployments",
        true,
        "deploy",
        true,
        true,
        true,
    ),
    (
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        true,
        "sts",
        true,
        true,
        true,
    ),
    (
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        true,
        "ds",
        true,
        true,
        false,
    ),
    (
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        true,
        "rs",
        true,
        true,
        true,
    ),
    ("batch", "v1", "Job", "jobs", true, "", true, true, false),
    (
        "batch", "v1", "CronJob", "cronjobs", true, "cj", true, true, false,
    ),
    (
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
        "ing",
        false,
        true,
        false,
    ),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        "netpol",
        false,
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        "",
        false,
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        "",
        false,
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        "",
        false,
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        "",
        false,
        false,
        false,
    ),
    (
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
        "sc",
        false,
        false,
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        "crd,crds",
        false,
        true,
        false,
    ),
    (
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        true,
        "",
        false,
        false,
        false,
    ),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        "pdb",
        false,
        true,
        false,
    ),
    (
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        "hpa",
        true,
        true,
        false,
    ),
];

fn builtin_defs() -> Vec<Arc<ResourceDef>> {
    BUILTIN
        .iter()
        .map(
            |&(group, version, kind, plural, namespaced, short, all, status, scale)| {
                Arc::new(ResourceDef {
                    group: group.into(),
                    version: version.into(),
                    kind: kind.into(),
                    plural: plural.into(),
                    singular: kind.to_ascii_lowercase(),
                    namespaced,
                    short_names: short
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                    categories: if all { vec!["all".into()] } else { vec![] },
                    status,
                    scale: scale.then(|| ScalePaths {
                        spec_replicas: "spec.replicas".into(),
                        status_replicas: "status.replicas".into(),
                        label_selector: None,
                    }),
                    custom: false,
                })
            },
        )
        .collect()
}

/// Built-in resources plus the ones registered by established CRDs.
#[derive(Debug, Clone)]
pub struct Catalog {
    builtin: Vec<Arc<ResourceDef>>,
    /// CRD name -> its served versions.
    crds: BTreeMap<String, Vec<Arc<ResourceDef>>>,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog {
            builtin: builtin_defs(),
            crds: BTreeMap::new(),
        }
    }
}

impl Catalog {
    /// Every served resource: built-ins first (table order), then CRDs by name.
    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceDef>> {
        self.builtin.iter().chain(self.crds.values().flatten())
    }

    /// The resource served at `group/version/plural`, if any.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceDef>> {
        self.all()
            .find(|d| d.group == group && d.version == version && d.plural == plural)
            .cloned()
    }

    /// Any version of `plural.group`: the first served one (the storage version for CRDs).
    pub fn find_any_version(&self, group: &str, plural: &str) -> Option<Arc<ResourceDef>> {
        self.all()
            .find(|d| d.group == group && d.plural == plural)
            .cloned()
    }

    /// The resource whose objects have this apiVersion and kind.
    pub fn find_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceDef>> {
        self.all()
            .find(|d| d.api_version() == api_version && d.kind == kind)
            .cloned()
    }

    /// Groups in discovery order, each with its versions (preferred first).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for d in self.all() {
            match out.iter_mut().find(|(g, _)| *g == d.group) {
                Some((_, vs)) if !vs.contains(&d.version) => vs.push(d.version.clone()),
                Some(_) => {}
                None => out.push((d.group.clone(), vec![d.version.clone()])),
            }
        }
        out
    }

    /// Register (or re-register) the resources of a CRD object. Returns the
    /// (group, plural) it serves, or an error message if the CRD is unusable.
    pub fn register_crd(&mut self, crd: &Value) -> Result<(String, String), String> {
        let name = crd
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let spec = crd.get("spec").ok_or("spec: Required value")?;
        let group = spec
            .get("group")
            .and_then(Value::as_str)
            .ok_or("spec.group: Required value")?;
        let names = spec.get("names").ok_or("spec.names: Required value")?;
        let plural = names
            .get("plural")
            .and_then(Value::as_str)
            .ok_or("spec.names.plural: Required value")?;
        let kind = names
            .get("kind")
            .and_then(Value::as_str)
            .ok_or("spec.names.kind: Required value")?;
        if name != format!("{plural}.{group}") {
            return Err(format!(
                "metadata.name: Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"
            ));
        }
        let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
        let strs = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let versions = spec
            .get("versions")
            .and_then(Value::as_array)
            .ok_or("spec.versions: Required value")?;
        let mut defs = Vec::new();
        // The storage version goes first so that it is the one `find_any_version` returns.
        let mut ordered: Vec<&Value> = versions.iter().collect();
        ordered.sort_by_key(|v| v.get("storage").and_then(Value::as_bool) != Some(true));
        for v in ordered {
            if v.get("served").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let version = v
                .get("name")
                .and_then(Value::as_str)
                .ok_or("spec.versions[].name: Required value")?;
            let sub = v.get("subresources");
            let scale = sub.and_then(|s| s.get("scale")).map(|s| {
                let p = |k: &str, d: &str| {
                    s.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or(d)
                        .trim_start_matches('.')
                        .to_string()
                };
                ScalePaths {
                    spec_replicas: p("specReplicasPath", "spec.replicas"),
                    status_replicas: p("statusReplicasPath", "status.replicas"),
                    label_selector: s
                        .get("labelSelectorPath")
                        .and_then(Value::as_str)
                        .map(|x| x.trim_start_matches('.').to_string()),
                }
            });
            defs.push(Arc::new(ResourceDef {
                group: group.into(),
                version: version.into(),
                kind: kind.into(),
                plural: plural.into(),
                singular: names
                    .get("singular")
                    .and_then(Value::as_str)
                    .map(String::from)
                    .unwrap_or_else(|| kind.to_ascii_lowercase()),
                namespaced,
                short_names: strs(names.get("shortNames")),
                categories: strs(names.get("categories")),
                status: sub.and_then(|s| s.get("status")).is_some(),
                scale,
                custom: true,
            }));
        }
        if defs.is_empty() {
            return Err("spec.versions: Invalid value: must have exactly one version marked as storage version".into());
        }
        if self
            .builtin
            .iter()
            .any(|d| d.group == group && d.plural == plural)
        {
            return Err(format!(
                "spec.group: Invalid value: {group}/{plural} is a built-in resource"
            ));
        }
        self.crds.insert(name.to_string(), defs);
        Ok((group.to_string(), plural.to_string()))
    }

    /// Forget a CRD's resources.
    pub fn unregister_crd(&mut self, name: &str) {
        self.crds.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd() -> Value {
        json!({"metadata": {"name": "widgets.example.com"}, "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wg"]},
            "versions": [{"name": "v1alpha1", "served": true, "storage": false},
                         {"name": "v1", "served": true, "storage": true,
                          "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.size", "statusReplicasPath": ".status.size"}}}]}})
    }

    #[test]
    fn builtins_have_right_scope() {
        let c = Catalog::default();
        assert!(!c.find("", "v1", "namespaces").unwrap().namespaced);
        assert!(c.find("apps", "v1", "deployments").unwrap().namespaced);
        assert!(c.find("apps", "v1", "deployments").unwrap().scale.is_some());
        assert!(c.find("apps", "v2", "deployments").is_none());
    }

    #[test]
    fn crd_registers_all_served_versions_storage_first() {
        let mut c = Catalog::default();
        c.register_crd(&crd()).unwrap();
        assert_eq!(
            c.find_any_version("example.com", "widgets")
                .unwrap()
                .version,
            "v1"
        );
        let d = c.find("example.com", "v1", "widgets").unwrap();
        assert_eq!(d.scale.as_ref().unwrap().spec_replicas, "spec.size");
        assert!(
            c.groups()
                .iter()
                .any(|(g, v)| g == "example.com" && v.len() == 2)
        );
        c.unregister_crd("widgets.example.com");
        assert!(c.find("example.com", "v1", "widgets").is_none());
    }

    #[test]
    fn crd_name_must_match() {
        let mut bad = crd();
        bad["metadata"]["name"] = json!("nope");
        assert!(Catalog::default().register_crd(&bad).is_err());
    }
}
