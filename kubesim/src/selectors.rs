//! Label selectors (equality- and set-based, as in `kubectl get -l`) and field selectors
//! (`metadata.name`, `metadata.namespace`, and a few per-kind fields).

use crate::error::ApiError;
use crate::object::{check_label_key, check_label_value};
use serde_json::Value;

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `key` (exists).
    Exists(String),
    /// `!key`.
    NotExists(String),
    /// `key=v`, `key==v`, `key in (v1,v2)`.
    In(String, Vec<String>),
    /// `key!=v`, `key notin (v1,v2)` (also true when the key is absent).
    NotIn(String, Vec<String>),
    /// `key>n` / `key<n` (integer comparison; false if absent or not a number).
    Gt(String, i64),
    /// `key<n`.
    Lt(String, i64),
}

/// A parsed label selector: all requirements must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(pub Vec<Requirement>);

fn bad(msg: String) -> ApiError {
    ApiError::BadRequest(format!("unable to parse requirement: {msg}"))
}

fn key(k: &str) -> Result<String, ApiError> {
    let k = k.trim();
    match check_label_key(k) {
        Some(e) => Err(bad(format!("key: Invalid value: \"{k}\": {e}"))),
        None => Ok(k.to_string()),
    }
}

fn value(v: &str) -> Result<String, ApiError> {
    let v = v.trim();
    match check_label_value(v) {
        Some(e) => Err(bad(format!("values[0]: Invalid value: \"{v}\": {e}"))),
        None => Ok(v.to_string()),
    }
}

/// Split at top-level commas (commas inside parentheses belong to `in (...)`).
fn split_top(s: &str) -> Result<Vec<&str>, ApiError> {
    let (mut depth, mut start, mut out) = (0i32, 0usize, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if !(0..=1).contains(&depth) {
            return Err(bad(format!("unbalanced parentheses in \"{s}\"")));
        }
    }
    if depth != 0 {
        return Err(bad(format!("unbalanced parentheses in \"{s}\"")));
    }
    out.push(&s[start..]);
    Ok(out)
}

fn set_values(rest: &str) -> Result<Vec<String>, ApiError> {
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            bad(format!(
                "expected a parenthesised value list, got \"{rest}\""
            ))
        })?;
    inner.split(',').map(value).collect()
}

fn parse_requirement(r: &str) -> Result<Requirement, ApiError> {
    let r = r.trim();
    if let Some(k) = r.strip_prefix('!') {
        return Ok(Requirement::NotExists(key(k)?));
    }
    for (op, ctor) in [("!=", 0), ("==", 1), ("=", 1), (">", 2), ("<", 3)] {
        if let Some((k, v)) = r.split_once(op) {
            if op == "=" && k.ends_with('!') {
                continue;
            }
            let k = key(k)?;
            return Ok(match ctor {
                0 => Requirement::NotIn(k, vec![value(v)?]),
                1 => Requirement::In(k, vec![value(v)?]),
                _ => {
                    let n: i64 = v.trim().parse().map_err(|_| {
                        bad(format!(
                            "for 'gt', 'lt' operators, the value must be an integer, got \"{v}\""
                        ))
                    })?;
                    if ctor == 2 {
                        Requirement::Gt(k, n)
                    } else {
                        Requirement::Lt(k, n)
                    }
                }
            });
        }
    }
    let mut words = r.splitn(2, char::is_whitespace);
    let k = words.next().unwrap_or_default();
    let rest = words.next().unwrap_or_default().trim_start();
    if rest.is_empty() {
        return Ok(Requirement::Exists(key(k)?));
    }
    if let Some(vs) = rest.strip_prefix("notin") {
        return Ok(Requirement::NotIn(key(k)?, set_values(vs)?));
    }
    if let Some(vs) = rest.strip_prefix("in") {
        return Ok(Requirement::In(key(k)?, set_values(vs)?));
    }
    Err(bad(format!(
        "found '{rest}', expected: in, notin, =, ==, !=, gt, lt"
    )))
}

impl LabelSelector {
    /// Parse `app=web,tier in (a,b),!legacy`. Empty selects everything.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        if s.trim().is_empty() {
            return Ok(Self::default());
        }
        split_top(s)?
            .into_iter()
            .map(parse_requirement)
            .collect::<Result<_, _>>()
            .map(LabelSelector)
    }

    /// Build from a `metav1.LabelSelector` object (`matchLabels` / `matchExpressions`).
    pub fn from_object(sel: &Value) -> Self {
        let mut reqs = Vec::new();
        if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in m {
                reqs.push(Requirement::In(
                    k.clone(),
                    vec![v.as_str().unwrap_or_default().to_string()],
                ));
            }
        }
        for e in sel
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let k = e
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let vals: Vec<String> = e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            match e.get("operator").and_then(Value::as_str) {
                Some("In") => reqs.push(Requirement::In(k, vals)),
                Some("NotIn") => reqs.push(Requirement::NotIn(k, vals)),
                Some("Exists") => reqs.push(Requirement::Exists(k)),
                Some("DoesNotExist") => reqs.push(Requirement::NotExists(k)),
                _ => {}
            }
        }
        LabelSelector(reqs)
    }

    /// Whether the object's labels satisfy every requirement.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
            Requirement::In(k, vs) => get(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|v| !vs.iter().any(|x| x == v)),
            Requirement::Gt(k, n) => get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v > *n),
            Requirement::Lt(k, n) => get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v < *n),
        })
    }

    /// Whether this selects everything.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Render in the string form (used for `scale.status.selector`).
    pub fn render(&self) -> String {
        self.0
            .iter()
            .map(|r| match r {
                Requirement::Exists(k) => k.clone(),
                Requirement::NotExists(k) => format!("!{k}"),
                Requirement::In(k, v) if v.len() == 1 => format!("{k}={}", v[0]),
                Requirement::In(k, v) => format!("{k} in ({})", v.join(",")),
                Requirement::NotIn(k, v) => format!("{k} notin ({})", v.join(",")),
                Requirement::Gt(k, n) => format!("{k}>{n}"),
                Requirement::Lt(k, n) => format!("{k}<{n}"),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A parsed field selector: `(field, equal?, value)` terms, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(pub Vec<(String, bool, String)>);

/// Fields a kind may be selected on, beyond `metadata.name` and `metadata.namespace`.
fn extra_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
        ],
        "Secret" => &["type"],
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.name",
            "involvedObject.namespace",
            "involvedObject.uid",
            "reason",
            "type",
            "source",
        ],
        "Namespace" => &["status.phase"],
        "Job" => &["status.successful"],
        "Node" => &["spec.unschedulable"],
        _ => &[],
    }
}

impl FieldSelector {
    /// Parse `metadata.name=x,metadata.namespace!=y` for objects of `kind`.
    pub fn parse(s: &str, kind: &str) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        for t in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (f, eq, v) = if let Some((f, v)) = t.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = t.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = t.split_once('=') {
                (f, true, v)
            } else {
                return Err(ApiError::BadRequest(format!(
                    "invalid field selector: '{t}' is not a valid field selector: no operator"
                )));
            };
            let f = f.trim();
            if f != "metadata.name" && f != "metadata.namespace" && !extra_fields(kind).contains(&f)
            {
                return Err(ApiError::BadRequest(format!(
                    "field label not supported: {f}"
                )));
            }
            terms.push((f.to_string(), eq, v.trim().to_string()));
        }
        Ok(FieldSelector(terms))
    }

    /// Whether the object satisfies every term.
    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(f, eq, v)| {
            let actual = match crate::object::get_path(obj, f) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (actual == *v) == *eq
        })
    }

    /// Whether this selects everything.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "a", "namespace": "ns1", "labels": labels}})
    }

    #[test]
    fn equality_and_sets() {
        let o = obj(json!({"app": "web", "tier": "fe", "v": "3"}));
        for (sel, want) in [
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app=db", false),
            ("tier in (fe,be)", true),
            ("tier notin (fe)", false),
            ("missing notin (x)", true),
            ("app,!missing", true),
            ("!app", false),
            ("app=web,tier in (be)", false),
            ("v>2,v<4", true),
            ("", true),
        ] {
            assert_eq!(
                LabelSelector::parse(sel).unwrap().matches(&o),
                want,
                "{sel}"
            );
        }
    }

    #[test]
    fn invalid_selectors_are_bad_requests() {
        for sel in ["app in (a", "app=b c", "a b", "x in a,b", "=x", "v>q"] {
            let e = LabelSelector::parse(sel).unwrap_err();
            assert_eq!(e.code_reason().0, 400, "{sel}");
        }
    }

    #[test]
    fn object_selector_round_trips() {
        let s = LabelSelector::from_object(&json!({"matchLabels": {"app": "web"}}));
        assert_eq!(s.render(), "app=web");
        assert!(s.matches(&obj(json!({"app": "web"}))));
    }

    #[test]
    fn field_selectors() {
        let o = obj(json!({}));
        assert!(
            FieldSelector::parse("metadata.name=a", "ConfigMap")
                .unwrap()
                .matches(&o)
        );
        assert!(
            !FieldSelector::parse("metadata.namespace!=ns1", "ConfigMap")
                .unwrap()
                .matches(&o)
        );
        assert_eq!(
            FieldSelector::parse("spec.foo=x", "ConfigMap")
                .unwrap_err()
                .code_reason()
                .0,
            400
        );
        assert!(FieldSelector::parse("status.phase=Running", "Pod").is_ok());
    }
}
