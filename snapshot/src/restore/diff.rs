//! Structural JSON diff (for dry-run restores): the paths that differ between the live
//! object in the target cluster and the object the restore would write.

use serde::Serialize;
use serde_json::Value;

/// One difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// JSON pointer of the field (`/spec/replicas`).
    pub path: String,
    /// Value in the target cluster (absent: `None`).
    pub live: Option<Value>,
    /// Value in the snapshot (absent: `None`).
    pub snapshot: Option<Value>,
}

/// Differences between `live` and `snapshot` (maps recursively, arrays and scalars whole).
pub fn diff(live: &Value, snapshot: &Value) -> Vec<Change> {
    let mut out = vec![];
    walk("", live, snapshot, &mut out);
    out
}

fn escape(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<Change>) {
    match (a, b) {
        (Value::Object(ma), Value::Object(mb)) => {
            let mut keys: Vec<&String> = ma.keys().chain(mb.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = format!("{path}/{}", escape(k));
                match (ma.get(k), mb.get(k)) {
                    (Some(x), Some(y)) => walk(&p, x, y, out),
                    (x, y) => out.push(Change {
                        path: p,
                        live: x.cloned(),
                        snapshot: y.cloned(),
                    }),
                }
            }
        }
        _ if a != b => out.push(Change {
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
            live: Some(a.clone()),
            snapshot: Some(b.clone()),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_changed_added_removed_paths() {
        let live = json!({"spec": {"replicas": 1, "a/b": 1, "old": true}, "data": [1, 2]});
        let snap = json!({"spec": {"replicas": 3, "a/b": 1, "new": "x"}, "data": [1, 2]});
        let d = diff(&live, &snap);
        let paths: Vec<&str> = d.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["/spec/new", "/spec/old", "/spec/replicas"]);
        assert_eq!(d[2].live, Some(json!(1)));
        assert_eq!(d[0].live, None);
        assert!(diff(&live, &live).is_empty());
    }
}
