//! Discovery of the resource types to capture: every served, listable type at its group's
//! preferred version, filtered by [`Filters`], in restore order.

use crate::filter::Filters;
use crate::restore::order::tier;
use kube::Client;
use kube::discovery::{ApiResource, Discovery, Scope, verbs};

/// One resource type to list.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// Group, version, kind, plural.
    pub ar: ApiResource,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
}

impl ResourceType {
    /// `plural` for core types, else `plural.group`.
    pub fn key(&self) -> String {
        type_key(&self.ar.plural, &self.ar.group)
    }

    /// Collection path across all namespaces (`/api/v1/configmaps`, `/apis/apps/v1/deployments`).
    pub fn list_path(&self) -> String {
        collection_path(&self.ar.group, &self.ar.version, &self.ar.plural, None)
    }
}

/// `plural` for core, `plural.group` otherwise.
pub fn type_key(plural: &str, group: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

/// REST collection path, optionally within a namespace.
pub fn collection_path(
    group: &str,
    version: &str,
    plural: &str,
    namespace: Option<&str>,
) -> String {
    let base = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    match namespace {
        Some(ns) => format!("{base}/namespaces/{ns}/{plural}"),
        None => format!("{base}/{plural}"),
    }
}

/// Discover the types to capture.
pub async fn discover(
    client: &Client,
    filters: &Filters,
) -> Result<Vec<ResourceType>, kube::Error> {
    let discovery = Discovery::new(client.clone()).run().await?;
    let mut out = vec![];
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            if !caps.supports_operation(verbs::LIST) || ar.plural.contains('/') {
                continue;
            }
            let namespaced = caps.scope == Scope::Namespaced;
            if filters.type_included(&ar.plural, &ar.kind, &ar.group, namespaced) {
                out.push(ResourceType { ar, namespaced });
            }
        }
    }
    out.sort_by(|a, b| {
        (tier(&a.ar.group, &a.ar.kind), a.key()).cmp(&(tier(&b.ar.group, &b.ar.kind), b.key()))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            collection_path("", "v1", "configmaps", Some("a")),
            "/api/v1/namespaces/a/configmaps"
        );
        assert_eq!(
            collection_path("apps", "v1", "deployments", None),
            "/apis/apps/v1/deployments"
        );
        assert_eq!(type_key("deployments", "apps"), "deployments.apps");
        assert_eq!(type_key("secrets", ""), "secrets");
    }
}
