//! Field ownership (`metadata.managedFields`) and server-side apply.
//!
//! Ownership is tracked per leaf path (maps are walked; lists and scalars are leaves, so
//! lists are owned atomically). An apply merges the applied fields into the live object,
//! removes only fields the same manager applied before and no one else owns, and
//! reports a conflict (409) when it would change a value another manager owns, unless
//! `force` is set, in which case ownership moves to the applier.

use crate::error::ApiError;
use crate::object::now_rfc3339;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// A path of map keys from the object root.
pub type Path = Vec<String>;
/// A set of owned leaf paths.
pub type FieldSet = BTreeSet<Path>;

const SKIPPED_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "generateName",
];

/// The leaf paths of an object that field ownership covers.
pub fn leaf_paths(obj: &Value, with_status: bool) -> FieldSet {
    let mut out = FieldSet::new();
    if let Some(m) = obj.as_object() {
        for (k, v) in m {
            match k.as_str() {
                "apiVersion" | "kind" => {}
                "status" if !with_status => {}
                "metadata" => {
                    for (mk, mv) in v.as_object().into_iter().flatten() {
                        if !SKIPPED_META.contains(&mk.as_str()) {
                            walk(mv, vec!["metadata".into(), mk.clone()], &mut out);
                        }
                    }
                }
                _ => walk(v, vec![k.clone()], &mut out),
            }
        }
    }
    out
}

fn walk(v: &Value, path: Path, out: &mut FieldSet) {
    match v.as_object() {
        Some(m) if !m.is_empty() => {
            for (k, c) in m {
                let mut p = path.clone();
                p.push(k.clone());
                walk(c, p, out);
            }
        }
        _ => {
            out.insert(path);
        }
    }
}

/// The value at a path.
pub fn value_at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, k| v.get(k))
}

fn remove_at(obj: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for k in parents {
        match cur.get_mut(k) {
            Some(c) => cur = c,
            None => return,
        }
    }
    if let Some(m) = cur.as_object_mut() {
        m.remove(last);
    }
}

/// Render a field set in the `FieldsV1` format (`{"f:spec":{"f:replicas":{}}}`).
pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for p in set {
        let mut cur = &mut root;
        for k in p {
            cur = cur
                .entry(format!("f:{k}"))
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .expect("only maps are inserted");
        }
    }
    Value::Object(root)
}

/// Parse `FieldsV1`. Keyed list entries (`k:`/`v:`/`i:`) make their list an atomic leaf.
pub fn from_fields_v1(v: &Value) -> FieldSet {
    fn rec(v: &Value, path: Path, out: &mut FieldSet) {
        let m = v.as_object().filter(|m| !m.is_empty());
        let Some(m) = m else {
            if !path.is_empty() {
                out.insert(path);
            }
            return;
        };
        if m.keys().any(|k| !k.starts_with("f:")) && !path.is_empty() {
            out.insert(path.clone());
        }
        for (k, c) in m {
            if let Some(name) = k.strip_prefix("f:") {
                let mut p = path.clone();
                p.push(name.to_string());
                rec(c, p, out);
            }
        }
    }
    let mut out = FieldSet::new();
    rec(v, Vec::new(), &mut out);
    out
}

/// One `managedFields` entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// apiVersion the manager used.
    pub api_version: String,
    /// Last change time.
    pub time: String,
    /// Owned fields.
    pub fields: FieldSet,
    /// `status`, `scale`, or none.
    pub subresource: Option<String>,
}

/// Read `metadata.managedFields`.
pub fn read_entries(obj: &Value) -> Vec<Entry> {
    let s = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).map(String::from);
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| Entry {
            manager: s(e, "manager").unwrap_or_default(),
            operation: s(e, "operation").unwrap_or_else(|| "Update".into()),
            api_version: s(e, "apiVersion").unwrap_or_default(),
            time: s(e, "time").unwrap_or_default(),
            fields: e.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
            subresource: s(e, "subresource"),
        })
        .collect()
}

/// Write `metadata.managedFields`, dropping empty entries.
pub fn write_entries(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut m = serde_json::json!({
                "manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(&e.fields),
            });
            if let Some(s) = &e.subresource {
                m["subresource"] = Value::String(s.clone());
            }
            m
        })
        .collect();
    let meta = crate::object::meta_mut(obj);
    if list.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(list));
    }
}

fn related(a: &[String], b: &[String]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

fn entry_mut<'a>(
    entries: &'a mut Vec<Entry>,
    manager: &str,
    op: &str,
    api_version: &str,
    sub: Option<&str>,
) -> &'a mut Entry {
    let pos = entries
        .iter()
        .position(|e| e.manager == manager && e.operation == op && e.subresource.as_deref() == sub);
    let idx = match pos {
        Some(i) => i,
        None => {
            entries.push(Entry {
                manager: manager.into(),
                operation: op.into(),
                api_version: api_version.into(),
                time: String::new(),
                fields: FieldSet::new(),
                subresource: sub.map(String::from),
            });
            entries.len() - 1
        }
    };
    let e = &mut entries[idx];
    e.time = now_rfc3339();
    e.api_version = api_version.into();
    e
}

/// Record an `Update` (create, PUT, merge/JSON/strategic patch) by `manager` in `new`'s
/// managedFields, starting from `old`'s ownership.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    sub: Option<&str>,
) {
    let with_status = sub == Some("status");
    let mut entries = old.map(read_entries).unwrap_or_default();
    let new_paths = leaf_paths(new, with_status);
    let old_paths = old.map(|o| leaf_paths(o, with_status)).unwrap_or_default();
    let changed: Vec<&Path> = new_paths
        .iter()
        .filter(|p| old.is_none_or(|o| value_at(o, p) != value_at(new, p)))
        .collect();
    let removed: Vec<&Path> = old_paths.difference(&new_paths).collect();
    if changed.is_empty() && removed.is_empty() {
        write_entries(new, &entries);
        return;
    }
    for e in entries.iter_mut() {
        e.fields.retain(|f| {
            !removed.iter().any(|r| related(f, r)) && !changed.iter().any(|c| related(f, c))
        });
    }
    let mine = entry_mut(&mut entries, manager, "Update", api_version, sub);
    mine.fields.extend(changed.into_iter().cloned());
    write_entries(new, &entries);
}

/// Deep-merge `patch` into `base`: maps merge recursively, everything else replaces,
/// `null` removes.
pub fn deep_merge(base: &mut Value, patch: &Value) {
    match (base.as_object_mut(), patch.as_object()) {
        (Some(b), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(k);
                } else if let Some(bv) = b.get_mut(k) {
                    deep_merge(bv, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        _ => *base = patch.clone(),
    }
}

/// Server-side apply of `applied` by `manager` onto `current` (None: the object is new).
/// `with_status` is true when applying to the `status` subresource.
pub fn apply(
    current: Option<&Value>,
    applied: &Value,
    manager: &str,
    api_version: &str,
    force: bool,
    with_status: bool,
) -> Result<Value, ApiError> {
    let mut applied = applied.clone();
    if let Some(m) = applied.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    let paths = leaf_paths(&applied, with_status);
    let Some(current) = current else {
        let mut obj = applied;
        let mut entries = Vec::new();
        entry_mut(
            &mut entries,
            manager,
            "Apply",
            api_version,
            with_status.then_some("status"),
        )
        .fields = paths;
        write_entries(&mut obj, &entries);
        return Ok(obj);
    };
    let mut entries = read_entries(current);
    let sub = with_status.then_some("status");
    let mut conflicts = Vec::new();
    for e in entries
        .iter()
        .filter(|e| !(e.manager == manager && e.operation == "Apply"))
    {
        for p in &paths {
            let clash = e.fields.iter().any(|f| related(f, p));
            if clash && value_at(current, p) != value_at(&applied, p) {
                conflicts.push((e.manager.clone(), format!(".{}", p.join("."))));
            }
        }
    }
    if !conflicts.is_empty() && !force {
        conflicts.sort();
        conflicts.dedup();
        return Err(ApiError::ApplyConflict { conflicts });
    }
    let mut obj = current.clone();
    // Fields this manager applied before, no longer applied, and owned by no one else.
    let before: FieldSet = entries
        .iter()
        .filter(|e| {
            e.manager == manager && e.operation == "Apply" && e.subresource.as_deref() == sub
        })
        .flat_map(|e| e.fields.iter().cloned())
        .collect();
    for p in before.difference(&paths) {
        let owned_elsewhere = entries
            .iter()
            .filter(|e| !(e.manager == manager && e.operation == "Apply"))
            .any(|e| e.fields.iter().any(|f| related(f, p)));
        if !owned_elsewhere {
            remove_at(&mut obj, p);
        }
    }
    if !with_status && let Some(m) = applied.as_object_mut() {
        m.remove("status");
    }
    deep_merge(&mut obj, &applied);
    if force {
        for e in entries
            .iter_mut()
            .filter(|e| !(e.manager == manager && e.operation == "Apply"))
        {
            e.fields.retain(|f| {
                !paths
                    .iter()
                    .any(|p| related(f, p) && value_at(current, p) != value_at(&applied, p))
            });
        }
    }
    entry_mut(&mut entries, manager, "Apply", api_version, sub).fields = paths;
    write_entries(&mut obj, &entries);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_v1_round_trip() {
        let o = json!({"apiVersion": "v1", "metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"k": "v"}});
        let set = leaf_paths(&o, false);
        assert_eq!(from_fields_v1(&to_fields_v1(&set)), set);
        assert_eq!(to_fields_v1(&set)["f:data"]["f:k"], json!({}));
    }

    #[test]
    fn apply_keeps_other_managers_fields_and_prunes_own() {
        let a1 = json!({"metadata": {"name": "x"}, "data": {"a": "1", "b": "2"}});
        let o = apply(None, &a1, "m1", "v1", false, false).unwrap();
        let mut o2 = o.clone();
        o2["data"]["c"] = json!("3");
        record_update(Some(&o), &mut o2, "editor", "v1", None);
        // m1 drops b: b goes, editor's c stays.
        let a2 = json!({"metadata": {"name": "x"}, "data": {"a": "1"}});
        let o3 = apply(Some(&o2), &a2, "m1", "v1", false, false).unwrap();
        assert_eq!(o3["data"], json!({"a": "1", "c": "3"}));
    }

    #[test]
    fn apply_conflicts_unless_forced() {
        let o = apply(
            None,
            &json!({"spec": {"replicas": 1}}),
            "m1",
            "v1",
            false,
            false,
        )
        .unwrap();
        let a = json!({"spec": {"replicas": 2}});
        let e = apply(Some(&o), &a, "m2", "v1", false, false).unwrap_err();
        assert_eq!(e.code_reason(), (409, "Conflict"));
        assert!(e.to_string().contains(".spec.replicas"));
        let o2 = apply(Some(&o), &a, "m2", "v1", true, false).unwrap();
        assert_eq!(o2["spec"]["replicas"], 2);
        let owners: Vec<String> = read_entries(&o2).into_iter().map(|e| e.manager).collect();
        assert_eq!(owners, vec!["m2".to_string()]);
        // Same value from another manager is shared ownership, not a conflict.
        assert!(apply(Some(&o2), &a, "m3", "v1", false, false).is_ok());
    }
}
