//! A minimal OpenAPI v3 (`/openapi/v3` and one document per group-version). It carries
//! what kubectl checks: a PATCH operation per kind with the `x-kubernetes-group-version-kind`
//! extension and a `fieldValidation` query parameter, so kubectl validates server-side and
//! client-side `kubectl apply` works. No schemas are served: kubectl then builds strategic
//! merge patches from its compiled-in types (and JSON merge patches for custom resources).
//! `/openapi/v2` is not served (404).

use crate::catalog::{Catalog, ResourceDef};
use crate::discovery::fnv;
use serde_json::{Map, Value, json};

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: the index of group-version documents.
pub fn index(c: &Catalog) -> Value {
    let mut paths = Map::new();
    for (g, vs) in c.groups() {
        for v in vs {
            let p = gv_path(&g, &v);
            let hash = fnv(&document(c, &g, &v)
                .map(|d| d.to_string())
                .unwrap_or_default());
            paths.insert(
                p.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hash:016X}")}),
            );
        }
    }
    json!({"paths": paths})
}

fn param(name: &str, ty: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": ty, "uniqueItems": true}})
}

fn paths_for(d: &ResourceDef, out: &mut Map<String, Value>) {
    let base = format!("/{}", gv_path(&d.group, &d.version));
    let coll = if d.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", d.plural)
    } else {
        format!("{base}/{}", d.plural)
    };
    let gvk = json!({"group": d.group, "version": d.version, "kind": d.kind});
    let ok = json!({"200": {"description": "OK"}});
    let write_params = vec![
        param("dryRun", "string"),
        param("fieldManager", "string"),
        param("fieldValidation", "string"),
    ];
    let mut patch_params = write_params.clone();
    patch_params.push(param("force", "boolean"));
    out.insert(coll.clone(), json!({
        "get": {"x-kubernetes-action": "list", "x-kubernetes-group-version-kind": gvk, "responses": ok},
        "post": {"x-kubernetes-action": "post", "x-kubernetes-group-version-kind": gvk, "parameters": write_params, "responses": ok}
    }));
    out.insert(format!("{coll}/{{name}}"), json!({
        "get": {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk, "responses": ok},
        "put": {"x-kubernetes-action": "put", "x-kubernetes-group-version-kind": gvk, "parameters": write_params, "responses": ok},
        "patch": {"x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk, "parameters": patch_params, "responses": ok},
        "delete": {"x-kubernetes-action": "delete", "x-kubernetes-group-version-kind": gvk, "responses": ok}
    }));
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/{g}/{v}`, if served.
pub fn document(c: &Catalog, group: &str, version: &str) -> Option<Value> {
    let mut paths = Map::new();
    for d in c.all().filter(|d| d.group == group && d.version == version) {
        paths_for(d, &mut paths);
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (kubesim)", "version": crate::api::KUBE_VERSION},
        "paths": paths,
        "components": {"schemas": {}}
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_ops_advertise_field_validation() {
        let c = Catalog::default();
        let doc = document(&c, "apps", "v1").unwrap();
        let p = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(p["x-kubernetes-group-version-kind"]["kind"], "Deployment");
        assert!(
            p["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["name"] == "fieldValidation")
        );
        assert!(
            index(&c)["paths"]["api/v1"]["serverRelativeURL"]
                .as_str()
                .unwrap()
                .starts_with("/openapi/v3/api/v1?hash=")
        );
    }
}
