//! System-managed fields and validation on every write: names, namespace, uid,
//! creationTimestamp, generation, status-subresource rules, label validation, and the
//! status a CRD gets once established.

use crate::catalog::ResourceDef;
use crate::error::{ApiError, Cause};
use crate::object::{
    check_dns_subdomain, check_label_key, check_label_value, meta_mut, new_uid, now_rfc3339,
};
use serde_json::{Value, json};

/// Which part of an object a write targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The whole object (status is kept from the old object if a status subresource exists).
    Main,
    /// The `status` subresource: only `.status` changes.
    Status,
}

/// Reject bodies whose apiVersion/kind do not match the endpoint, or that are not objects.
pub fn check_type(def: &ResourceDef, obj: &Value) -> Result<(), ApiError> {
    if !obj.is_object() {
        return Err(ApiError::BadRequest(
            "the body of the request must be a JSON object".into(),
        ));
    }
    if let Some(av) = obj.get("apiVersion").and_then(Value::as_str) {
        // Any served version of the same group is accepted, as the real server converts.
        let group = av.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        if group != def.group {
            return Err(ApiError::BadRequest(format!(
                "the API version in the data ({av}) does not match the expected API version ({})",
                def.api_version()
            )));
        }
    }
    if let Some(k) = obj.get("kind").and_then(Value::as_str)
        && k != def.kind
    {
        return Err(ApiError::BadRequest(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            def.kind
        )));
    }
    Ok(())
}

/// Validate metadata that every object must get right (name, labels, annotations).
pub fn validate(def: &ResourceDef, obj: &Value) -> Result<(), ApiError> {
    let name = crate::object::name(obj);
    let mut causes = Vec::new();
    if name.is_empty() {
        causes.push(Cause {
            reason: "FieldValueRequired",
            field: "metadata.name".into(),
            message: "Required value: name or generateName is required".into(),
        });
    } else if let Some(e) = check_dns_subdomain(name) {
        causes.push(Cause {
            reason: "FieldValueInvalid",
            field: "metadata.name".into(),
            message: format!("Invalid value: \"{name}\": {e}"),
        });
    }
    for (k, v) in obj
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let field = "metadata.labels".to_string();
        if let Some(e) = check_label_key(k) {
            causes.push(Cause {
                reason: "FieldValueInvalid",
                field: field.clone(),
                message: format!("Invalid value: \"{k}\": {e}"),
            });
        }
        match v.as_str() {
            Some(s) => {
                if let Some(e) = check_label_value(s) {
                    causes.push(Cause {
                        reason: "FieldValueInvalid",
                        field,
                        message: format!("Invalid value: \"{s}\": {e}"),
                    });
                }
            }
            None => causes.push(Cause {
                reason: "FieldValueInvalid",
                field,
                message: format!("Invalid value: {v}: label values must be strings"),
            }),
        }
    }
    if let Some(a) = obj
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        && let Some((k, _)) = a.iter().find(|(_, v)| !v.is_string())
    {
        causes.push(Cause {
            reason: "FieldValueInvalid",
            field: format!("metadata.annotations.{k}"),
            message: "Invalid value: annotation values must be strings".into(),
        });
    }
    if obj.get("metadata").is_some_and(|m| !m.is_object()) {
        causes.push(Cause {
            reason: "FieldValueInvalid",
            field: "metadata".into(),
            message: "Invalid value: must be an object".into(),
        });
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid {
            kind: def.kind.clone(),
            name: name.to_string(),
            causes,
        })
    }
}

fn without_meta_status(v: &Value) -> Value {
    let mut c = v.clone();
    if let Some(m) = c.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
        m.remove("apiVersion");
        m.remove("kind");
    }
    c
}

/// Fill in system-managed fields of `new` (to be stored at resourceVersion `rv`) given
/// the `old` object, if any. `ns` is the request namespace ("" for cluster scope).
pub fn finalize(
    def: &ResourceDef,
    ns: &str,
    old: Option<&Value>,
    new: &mut Value,
    target: Target,
    rv: u64,
) -> Result<(), ApiError> {
    if let (Some(o), Target::Status) = (old, target) {
        let status = new.get("status").cloned();
        let mf = new.pointer("/metadata/managedFields").cloned();
        *new = o.clone();
        match status {
            Some(s) => new["status"] = s,
            None => {
                new.as_object_mut().map(|m| m.remove("status"));
            }
        }
        if let Some(mf) = mf {
            meta_mut(new).insert("managedFields".into(), mf);
        }
    }
    new["apiVersion"] = json!(def.api_version());
    new["kind"] = json!(def.kind);
    let meta = meta_mut(new);
    if def.namespaced {
        meta.insert("namespace".into(), json!(ns));
    } else {
        meta.remove("namespace");
    }
    validate(def, new)?;
    match old {
        None => {
            let meta = meta_mut(new);
            meta.insert("uid".into(), json!(new_uid()));
            meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
            meta.remove("deletionTimestamp");
            if def.has_generation() {
                meta.insert("generation".into(), json!(1));
            } else {
                meta.remove("generation");
            }
            if def.status && def.kind != "CustomResourceDefinition" {
                new.as_object_mut().map(|m| m.remove("status"));
            }
            initial_status(def, new);
        }
        Some(o) => {
            if let Some(want) = crate::object::resource_version(new) {
                if Some(want) != crate::object::resource_version(o) {
                    return Err(ApiError::Conflict {
                        resource: def.group_resource(),
                        name: crate::object::name(o).to_string(),
                        detail: "the object has been modified; please apply your changes to the latest version and try again".into(),
                    });
                }
            } else if new
                .pointer("/metadata/resourceVersion")
                .is_some_and(|v| !v.is_null())
            {
                return Err(ApiError::BadRequest(
                    "metadata.resourceVersion: Invalid value: must be a decimal number".into(),
                ));
            }
            if def.status && target == Target::Main {
                match o.get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        new.as_object_mut().map(|m| m.remove("status"));
                    }
                }
            }
            let old_gen = o.pointer("/metadata/generation").and_then(Value::as_i64);
            let changed = without_meta_status(o) != without_meta_status(new);
            let meta = meta_mut(new);
            for k in ["uid", "creationTimestamp", "deletionTimestamp"] {
                match o.pointer(&format!("/metadata/{k}")) {
                    Some(v) => meta.insert(k.into(), v.clone()),
                    None => meta.remove(k),
                };
            }
            if def.has_generation() {
                let g = old_gen.unwrap_or(1) + i64::from(changed);
                meta.insert("generation".into(), json!(g));
            }
        }
    }
    meta_mut(new).insert("resourceVersion".into(), json!(rv.to_string()));
    if def.kind == "CustomResourceDefinition" && def.group == "apiextensions.k8s.io" {
        crd_status(new);
    }
    Ok(())
}

fn initial_status(def: &ResourceDef, obj: &mut Value) {
    match (def.group.as_str(), def.kind.as_str()) {
        ("", "Namespace") => obj["status"] = json!({"phase": "Active"}),
        ("", "Pod") => {
            obj["status"] =
                json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]})
        }
        ("", "PersistentVolumeClaim") => obj["status"] = json!({"phase": "Bound"}),
        ("", "PersistentVolume") => obj["status"] = json!({"phase": "Available"}),
        _ => {}
    }
}

/// Mark a CRD `NamesAccepted` and `Established`, as the apiextensions controller does.
fn crd_status(crd: &mut Value) {
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let mut accepted = names.clone();
    let kind = names
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if accepted.get("singular").is_none() {
        accepted["singular"] = json!(kind.to_ascii_lowercase());
    }
    if accepted.get("listKind").is_none() {
        accepted["listKind"] = json!(format!("{kind}List"));
    }
    let stored: Vec<Value> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .filter_map(|v| v.get("name").cloned())
        .collect();
    let t = crd
        .pointer("/metadata/creationTimestamp")
        .cloned()
        .unwrap_or(json!(now_rfc3339()));
    crd["status"] = json!({
        "acceptedNames": accepted,
        "storedVersions": stored,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": t},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": t}
        ]
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn deploy() -> std::sync::Arc<ResourceDef> {
        Catalog::default()
            .find("apps", "v1", "deployments")
            .unwrap()
    }

    #[test]
    fn create_sets_system_fields() {
        let mut o =
            json!({"metadata": {"name": "web"}, "spec": {"replicas": 1}, "status": {"x": 1}});
        finalize(&deploy(), "default", None, &mut o, Target::Main, 7).unwrap();
        assert_eq!(o["metadata"]["resourceVersion"], "7");
        assert_eq!(o["metadata"]["generation"], 1);
        assert_eq!(o["metadata"]["namespace"], "default");
        assert_eq!(o["kind"], "Deployment");
        assert!(o.get("status").is_none());
    }

    #[test]
    fn generation_bumps_only_on_spec_change_and_stale_rv_conflicts() {
        let d = deploy();
        let mut old = json!({"metadata": {"name": "web"}, "spec": {"replicas": 1}});
        finalize(&d, "default", None, &mut old, Target::Main, 1).unwrap();
        let mut same = old.clone();
        same["metadata"]["labels"] = json!({"a": "b"});
        finalize(&d, "default", Some(&old), &mut same, Target::Main, 2).unwrap();
        assert_eq!(same["metadata"]["generation"], 1);
        let mut scaled = same.clone();
        scaled["spec"]["replicas"] = json!(3);
        let mut stale = scaled.clone();
        finalize(&d, "default", Some(&same), &mut scaled, Target::Main, 3).unwrap();
        assert_eq!(scaled["metadata"]["generation"], 2);
        stale["metadata"]["resourceVersion"] = json!("1");
        let e = finalize(&d, "default", Some(&same), &mut stale, Target::Main, 4).unwrap_err();
        assert_eq!(e.code_reason(), (409, "Conflict"));
    }

    #[test]
    fn missing_name_and_bad_labels_are_invalid() {
        let mut o = json!({"metadata": {"labels": {"a b": "c"}}});
        let e = finalize(&deploy(), "default", None, &mut o, Target::Main, 1).unwrap_err();
        assert_eq!(e.code_reason().0, 422);
        assert_eq!(e.status()["details"]["causes"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn wrong_kind_is_bad_request() {
        let e = check_type(
            &deploy(),
            &json!({"apiVersion": "v1", "kind": "Deployment"}),
        )
        .unwrap_err();
        assert_eq!(e.code_reason().0, 400);
    }
}
