//! Helpers on objects as `serde_json::Value`: metadata access, dotted paths, timestamps,
//! uids, and name/label validation.

use serde_json::{Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// `metadata.name`, or "".
pub fn name(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `metadata.namespace`, or "".
pub fn namespace(obj: &Value) -> &str {
    obj.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `metadata.resourceVersion` parsed, if present and numeric.
pub fn resource_version(obj: &Value) -> Option<u64> {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

/// `metadata` as a mutable map, created if missing (the object must be a JSON object).
pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = Value::Object(Map::new());
    }
    obj["metadata"]
        .as_object_mut()
        .expect("metadata was just made an object")
}

/// The value at a dotted path such as `spec.replicas`.
pub fn get_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .try_fold(obj, |v, k| v.get(k))
}

/// Set the value at a dotted path, creating intermediate objects.
pub fn set_path(obj: &mut Value, path: &str, value: Value) {
    let mut cur = obj;
    let parts: Vec<&str> = path.split('.').filter(|s| !s.is_empty()).collect();
    for (i, k) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let map = cur.as_object_mut().expect("made an object above");
        if i + 1 == parts.len() {
            map.insert((*k).to_string(), value);
            return;
        }
        cur = map
            .entry((*k).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Now as RFC 3339 UTC with second precision, as Kubernetes writes timestamps.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Format seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A random RFC 4122 version-4 UUID.
pub fn new_uid() -> String {
    let b: [u8; 16] = rand::random();
    let h = hex::encode(b);
    format!(
        "{}-{}-4{}-{:x}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        (b[8] & 0x3) | 0x8,
        &h[17..20],
        &h[20..32]
    )
}

/// `len` random lowercase alphanumerics, for `generateName` suffixes.
pub fn random_suffix(len: usize) -> String {
    const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..len)
        .map(|_| CHARS[rand::random_range(0..CHARS.len())] as char)
        .collect()
}

/// Check a DNS-1123 subdomain (object names). Returns the problem, if any.
pub fn check_dns_subdomain(s: &str) -> Option<String> {
    let ok_chars = s
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.');
    let ends_ok = s.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric());
    if s.len() > 253 || !ok_chars || !ends_ok {
        return Some(format!(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'), got \"{s}\""
        ));
    }
    None
}

/// Check a label value (also the name part of a label key). Empty is allowed.
pub fn check_label_value(s: &str) -> Option<String> {
    let ok = s.len() <= 63
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
        && (s.is_empty()
            || (s.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && s.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric())));
    (!ok).then(|| {
        format!("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, got \"{s}\"")
    })
}

/// Check a label key `[prefix/]name`.
pub fn check_label_key(s: &str) -> Option<String> {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if name.is_empty() {
        return Some(format!("name part must be non-empty, got \"{s}\""));
    }
    if let Some(p) = prefix.and_then(check_dns_subdomain) {
        return Some(format!("prefix part {p}"));
    }
    check_label_value(name).map(|e| format!("name part {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_epoch_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn uid_shape() {
        let u = new_uid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn paths() {
        let mut v = json!({});
        set_path(&mut v, "spec.replicas", json!(3));
        assert_eq!(get_path(&v, "spec.replicas"), Some(&json!(3)));
        assert_eq!(get_path(&v, "spec.nope"), None);
    }

    #[test]
    fn names_and_labels() {
        assert!(check_dns_subdomain("web-1.x").is_none());
        assert!(check_dns_subdomain("Web").is_some());
        assert!(check_dns_subdomain("").is_some());
        assert!(check_label_key("app.kubernetes.io/name").is_none());
        assert!(check_label_key("a b").is_some());
        assert!(check_label_value("").is_none());
        assert!(check_label_value("-x").is_some());
    }
}
