//! Patches: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and strategic merge
//! patch (approximated: lists of objects merge by a known merge key such as `name`,
//! directives `$patch`, `$retainKeys`, `$setElementOrder`, `$deleteFromPrimitiveList`).

use crate::error::ApiError;
use serde_json::{Map, Value};

/// The patch flavours the API accepts, by Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchKind {
    /// From a Content-Type header value.
    pub fn from_content_type(ct: &str) -> Result<Self, ApiError> {
        match ct.split(';').next().unwrap_or_default().trim() {
            "application/merge-patch+json" => Ok(PatchKind::Merge),
            "application/json-patch+json" => Ok(PatchKind::Json),
            "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchKind::Apply),
            other => Err(ApiError::UnsupportedMediaType(format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got \"{other}\")"
            ))),
        }
    }
}

/// Apply a JSON merge patch.
pub fn merge(target: &Value, patch: &Value) -> Result<Value, ApiError> {
    if !patch.is_object() {
        return Err(ApiError::BadRequest(
            "merge patch body must be a JSON object".into(),
        ));
    }
    let mut out = target.clone();
    json_patch::merge(&mut out, patch);
    Ok(out)
}

/// Apply a JSON patch (a list of operations).
pub fn json(target: &Value, patch: &Value) -> Result<Value, ApiError> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| ApiError::BadRequest(format!("the server rejected our request due to an error in our request: invalid JSON patch: {e}")))?;
    let mut out = target.clone();
    json_patch::patch(&mut out, &ops).map_err(|e| ApiError::Invalid {
        kind: String::new(),
        name: crate::object::name(target).to_string(),
        causes: vec![crate::error::Cause {
            reason: "FieldValueInvalid",
            field: "patch".into(),
            message: e.to_string(),
        }],
    })?;
    Ok(out)
}

/// The merge key of a list field, by field name (the common Kubernetes ones).
fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    let has = |k: &str| {
        !items.is_empty()
            && items
                .iter()
                .all(|i| i.get(k).is_some() || i.get("$patch").is_some())
    };
    let candidates: &[&'static str] = match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => &["name"],
        "ports" => &["containerPort", "port"],
        "volumeMounts" => &["mountPath"],
        "volumeDevices" => &["devicePath"],
        "conditions" => &["type"],
        "hostAliases" => &["ip"],
        "ownerReferences" => &["uid"],
        _ => &[],
    };
    candidates.iter().copied().find(|k| has(k))
}

/// Apply a strategic merge patch.
pub fn strategic(target: &Value, patch: &Value) -> Result<Value, ApiError> {
    if !patch.is_object() {
        return Err(ApiError::BadRequest(
            "strategic merge patch body must be a JSON object".into(),
        ));
    }
    let mut out = target.clone();
    smp_map(&mut out, patch);
    Ok(out)
}

fn smp_map(base: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *base = patch.clone();
        return;
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut clean = patch.clone();
        strip_directives(&mut clean);
        *base = clean;
        return;
    }
    if !base.is_object() {
        *base = Value::Object(Map::new());
    }
    let b = base.as_object_mut().expect("made an object above");
    for (k, v) in p {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(del)) = (b.get_mut(field), v.as_array()) {
                list.retain(|x| !del.contains(x));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            b.remove(k);
            continue;
        }
        match (b.get_mut(k), v) {
            (Some(bv @ Value::Array(_)), Value::Array(items)) => smp_list(bv, k, items),
            (Some(bv), Value::Object(_)) if bv.is_object() => smp_map(bv, v),
            _ => {
                let mut clean = v.clone();
                strip_directives(&mut clean);
                b.insert(k.clone(), clean);
            }
        }
    }
    if let Some(keep) = p.get("$retainKeys").and_then(Value::as_array) {
        b.retain(|k, _| keep.iter().any(|x| x.as_str() == Some(k)));
    }
}

fn smp_list(base: &mut Value, field: &str, items: &[Value]) {
    let Some(key) = merge_key(field, items) else {
        let mut clean = Value::Array(items.to_vec());
        strip_directives(&mut clean);
        *base = clean;
        return;
    };
    let list = base.as_array_mut().expect("caller matched an array");
    for item in items {
        let id = item.get(key);
        let pos = list.iter().position(|x| x.get(key) == id);
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                list.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => smp_map(&mut list[i], item),
            (None, false) => {
                let mut clean = item.clone();
                strip_directives(&mut clean);
                list.push(clean);
            }
        }
    }
}

fn strip_directives(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with('$'));
            m.values_mut().for_each(strip_directives);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_directives),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_sets_and_removes() {
        let t = json!({"a": 1, "b": {"c": 2, "d": 3}});
        let out = merge(&t, &json!({"a": null, "b": {"c": 5}})).unwrap();
        assert_eq!(out, json!({"b": {"c": 5, "d": 3}}));
        assert_eq!(merge(&t, &json!([1])).unwrap_err().code_reason().0, 400);
    }

    #[test]
    fn json_patch_ops_and_failures() {
        let t = json!({"spec": {"replicas": 1}});
        let out = json(
            &t,
            &json!([{"op": "replace", "path": "/spec/replicas", "value": 4}]),
        )
        .unwrap();
        assert_eq!(out["spec"]["replicas"], 4);
        assert_eq!(
            json(&t, &json!({"op": "x"})).unwrap_err().code_reason().0,
            400
        );
        let bad = json!([{"op": "test", "path": "/spec/replicas", "value": 9}]);
        assert_eq!(json(&t, &bad).unwrap_err().code_reason().0, 422);
    }

    #[test]
    fn strategic_merges_containers_by_name() {
        let t = json!({"spec": {"containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 80}]}, {"name": "b", "image": "y"}]}});
        let p = json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
            "containers": [{"name": "a", "image": "x2"}, {"name": "b", "$patch": "delete"}]}});
        let out = strategic(&t, &p).unwrap();
        assert_eq!(
            out,
            json!({"spec": {"containers": [{"name": "a", "image": "x2", "ports": [{"containerPort": 80}]}]}})
        );
    }

    #[test]
    fn content_types() {
        assert_eq!(
            PatchKind::from_content_type("application/apply-patch+yaml; charset=utf-8").unwrap(),
            PatchKind::Apply
        );
        assert_eq!(
            PatchKind::from_content_type("text/plain")
                .unwrap_err()
                .code_reason()
                .0,
            415
        );
    }
}
