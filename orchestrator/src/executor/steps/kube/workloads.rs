//! The built-in workload types (Deployments, StatefulSets, ReplicaSets, Jobs) that
//! `k8s.scale`, `k8s.waitReady` and the fence steps use without discovery, their
//! `spec.replicas`, and listing every item page by page.

use ::kube::Error as KubeError;
use ::kube::api::{Api, DynamicObject, ListParams};
use ::kube::core::GroupVersionKind;
use ::kube::discovery::ApiResource;

/// The API resource of a built-in workload kind (no discovery needed).
pub(super) fn workload_resource(kind: &str) -> ApiResource {
    let (group, plural) = match kind {
        "Job" => ("batch", "jobs"),
        "StatefulSet" => ("apps", "statefulsets"),
        "ReplicaSet" => ("apps", "replicasets"),
        _ => ("apps", "deployments"),
    };
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
}

/// Every item of a list, page by page.
pub(super) async fn list_all(
    api: &Api<DynamicObject>,
    lp: &ListParams,
) -> Result<Vec<DynamicObject>, KubeError> {
    let mut lp = lp.clone().limit(500);
    let mut out = Vec::new();
    loop {
        let page = api.list(&lp).await?;
        out.extend(page.items);
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => return Ok(out),
        }
    }
}

pub(super) fn spec_replicas(o: &DynamicObject) -> i64 {
    o.data["spec"]["replicas"].as_i64().unwrap_or(1)
}
