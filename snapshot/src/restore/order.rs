//! Restore order: tiers applied one after the other; objects within a tier in parallel.
//!
//! | tier | kinds |
//! |---|---|
//! | 0 | CustomResourceDefinition (then wait until Established) |
//! | 1 | Namespace |
//! | 2 | StorageClass, PriorityClass, IngressClass |
//! | 3 | ServiceAccount |
//! | 4 | ClusterRole, Role |
//! | 5 | ClusterRoleBinding, RoleBinding |
//! | 6 | ConfigMap |
//! | 7 | Secret |
//! | 8 | PersistentVolume, PersistentVolumeClaim |
//! | 9 | Service |
//! | 10 | Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod, Job, CronJob |
//! | 11 | everything else (Ingress, NetworkPolicy, PDB, HPA, custom resources, ...) |

/// Tier of the CRD tier (waited for before the next).
pub const CRD_TIER: u8 = 0;

/// Tier names, indexed by tier.
pub const TIER_NAMES: &[&str] = &[
    "crds",
    "namespaces",
    "storage-and-priority-classes",
    "service-accounts",
    "rbac-roles",
    "rbac-bindings",
    "config-maps",
    "secrets",
    "volumes",
    "services",
    "workloads",
    "rest",
];

/// The tier of a kind.
pub fn tier(group: &str, kind: &str) -> u8 {
    match (group, kind) {
        ("apiextensions.k8s.io", "CustomResourceDefinition") => 0,
        ("", "Namespace") => 1,
        ("storage.k8s.io", "StorageClass")
        | ("scheduling.k8s.io", "PriorityClass")
        | ("networking.k8s.io", "IngressClass") => 2,
        ("", "ServiceAccount") => 3,
        ("rbac.authorization.k8s.io", "ClusterRole" | "Role") => 4,
        ("rbac.authorization.k8s.io", "ClusterRoleBinding" | "RoleBinding") => 5,
        ("", "ConfigMap") => 6,
        ("", "Secret") => 7,
        ("", "PersistentVolume" | "PersistentVolumeClaim") => 8,
        ("", "Service") => 9,
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("", "Pod")
        | ("batch", "Job" | "CronJob") => 10,
        _ => 11,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_follows_dependencies() {
        let seq = [
            ("apiextensions.k8s.io", "CustomResourceDefinition"),
            ("", "Namespace"),
            ("storage.k8s.io", "StorageClass"),
            ("", "ServiceAccount"),
            ("rbac.authorization.k8s.io", "Role"),
            ("rbac.authorization.k8s.io", "RoleBinding"),
            ("", "ConfigMap"),
            ("", "Secret"),
            ("", "PersistentVolumeClaim"),
            ("", "Service"),
            ("apps", "Deployment"),
            ("example.com", "Widget"),
        ];
        let tiers: Vec<u8> = seq.iter().map(|(g, k)| tier(g, k)).collect();
        assert!(tiers.windows(2).all(|w| w[0] < w[1]), "{tiers:?}");
        assert_eq!(TIER_NAMES.len(), 12);
        assert_eq!(tier("", "Deployment"), 11, "group matters");
    }
}
