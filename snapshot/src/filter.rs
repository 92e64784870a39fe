//! What a capture includes: namespace globs, resource types, label selector,
//! cluster-scoped on/off, and the default skip lists (types and objects that must never be
//! restored). The [`Filters`] value is recorded in every manifest.
//!
//! Default skipped **types** ([`DEFAULT_EXCLUDED_TYPES`]): `events` (core and
//! `events.k8s.io`), `endpoints`, `endpointslices.discovery.k8s.io`,
//! `leases.coordination.k8s.io`, `nodes`, `componentstatuses`,
//! `controllerrevisions.apps`, `persistentvolumes` (bound to storage of the source
//! cluster), `volumeattachments.storage.k8s.io`, `csinodes.storage.k8s.io`,
//! `certificatesigningrequests.certificates.k8s.io`, `tokenreviews`, `subjectaccessreviews`
//! and the other `*reviews` (never listable anyway).
//!
//! Default skipped **objects** ([`skip_reason`]): objects of kind `Pod`, `ReplicaSet`,
//! `Job`, `ControllerRevision`, `EndpointSlice` that have a controller owner reference (their
//! controller re-creates them); the `kube-root-ca.crt` ConfigMap of every namespace
//! (published by the control plane); Secrets of type
//! `kubernetes.io/service-account-token` (minted by the control plane).
//!
//! Every default can be changed: set `excluded_types` (replace the list) or
//! `skip_owned_kinds` / `skip_system_objects`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Default resource types never captured (see the module docs for why).
pub const DEFAULT_EXCLUDED_TYPES: &[&str] = &[
    "events",
    "events.events.k8s.io",
    "endpoints",
    "endpointslices.discovery.k8s.io",
    "leases.coordination.k8s.io",
    "nodes",
    "componentstatuses",
    "controllerrevisions.apps",
    "persistentvolumes",
    "volumeattachments.storage.k8s.io",
    "csinodes.storage.k8s.io",
    "certificatesigningrequests.certificates.k8s.io",
    "tokenreviews.authentication.k8s.io",
    "subjectaccessreviews.authorization.k8s.io",
    "selfsubjectaccessreviews.authorization.k8s.io",
    "localsubjectaccessreviews.authorization.k8s.io",
    "selfsubjectrulesreviews.authorization.k8s.io",
    "bindings",
];

/// Kinds skipped when they have a controller owner (their controller re-creates them).
pub const DEFAULT_SKIP_OWNED_KINDS: &[&str] = &[
    "Pod",
    "ReplicaSet",
    "Job",
    "ControllerRevision",
    "EndpointSlice",
];

/// Capture filters (recorded in the manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Filters {
    /// Namespace globs to include (`*` and `?`); empty means all.
    pub include_namespaces: Vec<String>,
    /// Namespace globs to exclude (applied after includes).
    pub exclude_namespaces: Vec<String>,
    /// Resource types to include (`plural`, `plural.group`, `Kind` or `Kind.group`,
    /// case-insensitive); empty means all.
    pub include_types: Vec<String>,
    /// Resource types to exclude, same syntax; defaults to [`DEFAULT_EXCLUDED_TYPES`].
    pub excluded_types: Vec<String>,
    /// Label selector passed to the API server (`app=web,tier!=db`).
    pub label_selector: Option<String>,
    /// Capture cluster-scoped resources (Namespaces matching the namespace filter are
    /// always captured).
    pub include_cluster_scoped: bool,
    /// Kinds skipped when owned by a controller; defaults to [`DEFAULT_SKIP_OWNED_KINDS`].
    pub skip_owned_kinds: Vec<String>,
    /// Skip control-plane objects (`kube-root-ca.crt`, service-account token Secrets).
    pub skip_system_objects: bool,
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            include_namespaces: vec![],
            exclude_namespaces: vec![],
            include_types: vec![],
            excluded_types: DEFAULT_EXCLUDED_TYPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            label_selector: None,
            include_cluster_scoped: true,
            skip_owned_kinds: DEFAULT_SKIP_OWNED_KINDS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            skip_system_objects: true,
        }
    }
}

/// Glob match with `*` (any run) and `?` (one character).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn type_matches(pattern: &str, plural: &str, kind: &str, group: &str) -> bool {
    let p = pattern.to_ascii_lowercase();
    let (plural, kind) = (plural.to_ascii_lowercase(), kind.to_ascii_lowercase());
    if group.is_empty() {
        p == plural || p == kind
    } else {
        p == format!("{plural}.{group}")
            || p == format!("{kind}.{group}")
            || p == plural
            || p == kind
    }
}

impl Filters {
    /// Check the filters; the error names the bad field.
    pub fn validate(&self) -> Result<(), String> {
        for (field, list) in [
            ("include_namespaces", &self.include_namespaces),
            ("exclude_namespaces", &self.exclude_namespaces),
            ("include_types", &self.include_types),
            ("excluded_types", &self.excluded_types),
        ] {
            if let Some(i) = list.iter().position(|s| s.trim().is_empty()) {
                return Err(format!("{field}[{i}] is empty"));
            }
        }
        if let Some(sel) = &self.label_selector
            && sel.trim().is_empty()
        {
            return Err("label_selector is empty (omit it to select everything)".into());
        }
        Ok(())
    }

    /// Whether objects in namespace `ns` are captured.
    pub fn namespace_included(&self, ns: &str) -> bool {
        (self.include_namespaces.is_empty()
            || self.include_namespaces.iter().any(|g| glob_match(g, ns)))
            && !self.exclude_namespaces.iter().any(|g| glob_match(g, ns))
    }

    /// Whether a resource type is captured.
    pub fn type_included(&self, plural: &str, kind: &str, group: &str, namespaced: bool) -> bool {
        let is_namespace = group.is_empty() && plural == "namespaces";
        if !namespaced && !is_namespace && !self.include_cluster_scoped {
            return false;
        }
        let included = self.include_types.is_empty()
            || self
                .include_types
                .iter()
                .any(|p| type_matches(p, plural, kind, group));
        included
            && !self
                .excluded_types
                .iter()
                .any(|p| type_matches(p, plural, kind, group))
    }
}

/// Why a listed object is not captured, if it is not (`None`: capture it).
pub fn skip_reason(filters: &Filters, kind: &str, obj: &Value) -> Option<&'static str> {
    let meta = &obj["metadata"];
    if kind == "Namespace" {
        let name = meta["name"].as_str().unwrap_or_default();
        if !filters.namespace_included(name) {
            return Some("namespace filtered out");
        }
    } else if let Some(ns) = meta["namespace"].as_str()
        && !filters.namespace_included(ns)
    {
        return Some("namespace filtered out");
    }
    if filters.skip_owned_kinds.iter().any(|k| k == kind)
        && meta["ownerReferences"]
            .as_array()
            .is_some_and(|refs| refs.iter().any(|r| r["controller"] == Value::Bool(true)))
    {
        return Some("owned by a controller that re-creates it");
    }
    if filters.skip_system_objects {
        if kind == "ConfigMap" && meta["name"] == "kube-root-ca.crt" {
            return Some("published by the control plane");
        }
        if kind == "Secret" && obj["type"] == "kubernetes.io/service-account-token" {
            return Some("service-account token minted by the control plane");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs() {
        assert!(glob_match("*", ""));
        assert!(glob_match("team-*", "team-a"));
        assert!(glob_match("t?am-*-prod", "team-x-prod"));
        assert!(!glob_match("team-*", "teams"));
        assert!(glob_match("*-prod", "a-b-prod"));
        assert!(!glob_match("kube-system", "kube-system2"));
    }

    #[test]
    fn namespaces_include_then_exclude() {
        let f = Filters {
            include_namespaces: vec!["app-*".into()],
            exclude_namespaces: vec!["app-tmp*".into()],
            ..Filters::default()
        };
        assert!(f.namespace_included("app-web"));
        assert!(!f.namespace_included("app-tmp1"));
        assert!(!f.namespace_included("default"));
    }

    #[test]
    fn types_by_plural_kind_and_group() {
        let f = Filters {
            include_types: vec!["Deployment.apps".into(), "configmaps".into()],
            ..Filters::default()
        };
        assert!(f.type_included("deployments", "Deployment", "apps", true));
        assert!(f.type_included("configmaps", "ConfigMap", "", true));
        assert!(!f.type_included("secrets", "Secret", "", true));
        let d = Filters::default();
        assert!(!d.type_included("events", "Event", "", true));
        assert!(!d.type_included("leases", "Lease", "coordination.k8s.io", true));
        assert!(d.type_included("secrets", "Secret", "", true));
        let no_cluster = Filters {
            include_cluster_scoped: false,
            ..Filters::default()
        };
        assert!(!no_cluster.type_included(
            "clusterroles",
            "ClusterRole",
            "rbac.authorization.k8s.io",
            false
        ));
        assert!(no_cluster.type_included("namespaces", "Namespace", "", false));
    }

    #[test]
    fn owned_pods_and_system_objects_are_skipped() {
        let f = Filters::default();
        let owned = json!({"metadata": {"name": "p", "namespace": "a", "ownerReferences": [{"kind": "ReplicaSet", "controller": true}]}});
        assert!(skip_reason(&f, "Pod", &owned).is_some());
        assert!(skip_reason(&f, "ConfigMap", &owned).is_none());
        let bare = json!({"metadata": {"name": "p", "namespace": "a"}});
        assert!(skip_reason(&f, "Pod", &bare).is_none());
        let ca = json!({"metadata": {"name": "kube-root-ca.crt", "namespace": "a"}});
        assert!(skip_reason(&f, "ConfigMap", &ca).is_some());
        let tok = json!({"metadata": {"name": "t", "namespace": "a"}, "type": "kubernetes.io/service-account-token"});
        assert!(skip_reason(&f, "Secret", &tok).is_some());
        let keep_all = Filters {
            skip_owned_kinds: vec![],
            skip_system_objects: false,
            ..Filters::default()
        };
        assert!(skip_reason(&keep_all, "Pod", &owned).is_none());
        assert!(skip_reason(&keep_all, "ConfigMap", &ca).is_none());
    }

    #[test]
    fn namespace_objects_follow_the_namespace_filter() {
        let f = Filters {
            exclude_namespaces: vec!["kube-*".into()],
            ..Filters::default()
        };
        assert!(
            skip_reason(
                &f,
                "Namespace",
                &json!({"metadata": {"name": "kube-system"}})
            )
            .is_some()
        );
        assert!(skip_reason(&f, "Namespace", &json!({"metadata": {"name": "web"}})).is_none());
    }

    #[test]
    fn validate_names_the_field() {
        let f = Filters {
            exclude_namespaces: vec!["ok".into(), " ".into()],
            ..Filters::default()
        };
        assert_eq!(f.validate().unwrap_err(), "exclude_namespaces[1] is empty");
    }
}
