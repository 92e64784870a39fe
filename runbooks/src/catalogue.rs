//! The built-in step catalogue: names, input schemas (a JSON Schema subset, checked by
//! the linter), whether a step mutates anything, and what a drill must do about it.
//! Plugins supply their own schema through [`PluginSchemas`].

use serde_json::{Value, json};

/// Whether a step changes the world (and so needs a `timeout` and a concurrency key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    /// Read-only or waiting.
    Never,
    /// Always changes something.
    Always,
    /// `http.request`: mutating unless `method` is `GET` (the default).
    UnlessGet,
}

/// What a step reaches that a drill must not touch in production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrillEffect {
    /// Harmless in a drill.
    None,
    /// Always production-only (fencing): must be skipped or simulated in drills.
    ProductionOnly,
    /// Writes into namespaces: isolated when a namespace input uses `run.namespaceSuffix`.
    Namespaced,
    /// An outbound call (traffic switch, webhook): allowed only to `drill.httpAllowlist`.
    Http,
}

/// A built-in step.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// The `uses:` name.
    pub name: &'static str,
    /// What it does, for docs.
    pub summary: &'static str,
    /// Mutating?
    pub mutation: Mutation,
    /// Drill classification.
    pub drill: DrillEffect,
    /// Inputs whose templates are logged or sent to people (secrets are refused there).
    pub public_inputs: &'static [&'static str],
    /// Inputs naming the cluster the step acts on.
    pub cluster_inputs: &'static [&'static str],
    /// Inputs naming namespaces (checked for the drill suffix).
    pub namespace_inputs: &'static [&'static str],
    schema: fn() -> Value,
}

impl Builtin {
    /// The input schema (JSON Schema subset: type, properties, required,
    /// additionalProperties, enum, items, minimum, format `duration`).
    #[must_use]
    pub fn input_schema(&self) -> Value {
        (self.schema)()
    }

    /// Is this step mutating, given its `with` block?
    #[must_use]
    pub fn is_mutating(&self, with: &std::collections::BTreeMap<String, Value>) -> bool {
        match self.mutation {
            Mutation::Never => false,
            Mutation::Always => true,
            Mutation::UnlessGet => !matches!(
                with.get("method").and_then(Value::as_str),
                None | Some("GET") | Some("get")
            ),
        }
    }
}

fn obj(props: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
}

fn s() -> Value {
    json!({"type": "string"})
}

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

fn string_map() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string"}})
}

/// Every built-in step.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "snapshot.take",
        summary: "Capture a cluster's resources into the snapshot store; result: snapshotId, takenAtMs.",
        mutation: Mutation::Never,
        drill: DrillEffect::None,
        public_inputs: &[],
        cluster_inputs: &[],
        namespace_inputs: &[],
        schema: || {
            obj(
                json!({"cluster": s(), "namespaces": strings(), "labelSelector": s()}),
                &["cluster"],
            )
        },
    },
    Builtin {
        name: "snapshot.restore",
        summary: "Restore a snapshot (`latest` or an id) into a target cluster; result: restored, snapshotTakenAtMs.",
        mutation: Mutation::Always,
        drill: DrillEffect::Namespaced,
        public_inputs: &[],
        cluster_inputs: &["targetCluster"],
        namespace_inputs: &["namespaceSuffix", "namespaceMap"],
        schema: || {
            obj(
                json!({
                    "snapshot": s(), "sourceCluster": s(), "targetCluster": s(),
                    "namespaces": strings(), "namespaceMap": string_map(), "namespaceSuffix": s(),
                    "policy": {"enum": ["skip", "overwrite", "fail"]}, "dryRun": {"type": "boolean"}
                }),
                &["snapshot", "targetCluster"],
            )
        },
    },
    Builtin {
        name: "k8s.apply",
        summary: "Server-side apply manifests.",
        mutation: Mutation::Always,
        drill: DrillEffect::Namespaced,
        public_inputs: &[],
        cluster_inputs: &["cluster"],
        namespace_inputs: &["namespace"],
        schema: || {
            obj(
                json!({"cluster": s(), "namespace": s(),
                       "manifests": {"type": "array", "items": {"type": "object"}}}),
                &["cluster", "manifests"],
            )
        },
    },
    Builtin {
        name: "k8s.patch",
        summary: "Patch one object.",
        mutation: Mutation::Always,
        drill: DrillEffect::Namespaced,
        public_inputs: &[],
        cluster_inputs: &["cluster"],
        namespace_inputs: &["namespace"],
        schema: || {
            obj(
                json!({"cluster": s(), "namespace": s(), "apiVersion": s(), "kind": s(), "name": s(),
                       "patch": {"type": "object"},
                       "patchType": {"enum": ["merge", "strategic", "json"]}}),
                &["cluster", "kind", "name", "patch"],
            )
        },
    },
    Builtin {
        name: "k8s.scale",
        summary: "Set the replicas of a workload to `replicas`, or as in a snapshot (`fromSnapshot`).",
        mutation: Mutation::Always,
        drill: DrillEffect::Namespaced,
        public_inputs: &[],
        cluster_inputs: &["cluster"],
        namespace_inputs: &["namespace"],
        schema: || {
            obj(
                json!({"cluster": s(), "namespace": s(),
                       "kind": {"enum": ["Deployment", "StatefulSet", "ReplicaSet"]},
                       "name": s(), "replicas": {"type": "integer", "minimum": 0},
                       "fromSnapshot": s(), "sourceCluster": s(), "sourceNamespace": s()}),
                &["cluster", "namespace", "name"],
            )
        },
    },
    Builtin {
        name: "k8s.delete",
        summary: "Delete one object; already absent is success. Result: deleted (false if it was absent).",
        mutation: Mutation::Always,
        drill: DrillEffect::Namespaced,
        public_inputs: &[],
        cluster_inputs: &["cluster"],
        namespace_inputs: &["namespace"],
        schema: || {
            obj(
                json!({"cluster": s(), "namespace": s(), "apiVersion": s(), "kind": s(), "name": s()}),
                &["cluster", "kind", "name"],
            )
        },
    },
    Builtin {
        name: "k8s.waitReady",
        summary: "Wait until workloads are ready (read-only).",
        mutation: Mutation::Never,
        drill: DrillEffect::None,
        public_inputs: &[],
        cluster_inputs: &[],
        namespace_inputs: &[],
        schema: || {
            obj(
                json!({"cluster": s(), "namespace": s(), "kind": s(), "name": s(), "selector": s()}),
                &["cluster", "namespace"],
            )
        },
    },
    Builtin {
        name: "cluster.fence",
        summary: "Fence a cluster: refuse its effects until unfenced (production-only).",
        mutation: Mutation::Always,
        drill: DrillEffect::ProductionOnly,
        public_inputs: &["reason"],
        cluster_inputs: &["cluster"],
        namespace_inputs: &[],
        schema: || obj(json!({"cluster": s(), "reason": s()}), &["cluster"]),
    },
    Builtin {
        name: "cluster.unfence",
        summary: "Release a fenced cluster (production-only).",
        mutation: Mutation::Always,
        drill: DrillEffect::ProductionOnly,
        public_inputs: &["reason"],
        cluster_inputs: &["cluster"],
        namespace_inputs: &[],
        schema: || obj(json!({"cluster": s(), "reason": s()}), &["cluster"]),
    },
    Builtin {
        name: "http.request",
        summary: "Call a URL (traffic switch, webhook); result: status, body.",
        mutation: Mutation::UnlessGet,
        drill: DrillEffect::Http,
        public_inputs: &["url"],
        cluster_inputs: &[],
        namespace_inputs: &[],
        schema: || {
            obj(
                json!({"method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                       "url": s(), "headers": string_map(), "body": {},
                       "expectStatus": {"type": "array", "items": {"type": "integer"}}}),
                &["url"],
            )
        },
    },
    Builtin {
        name: "approval",
        summary: "Wait for a person's decision; needs `timeout` and `onTimeout`.",
        mutation: Mutation::Never,
        drill: DrillEffect::None,
        public_inputs: &["message"],
        cluster_inputs: &[],
        namespace_inputs: &[],
        schema: || {
            obj(
                json!({"approvers": {"type": "object", "additionalProperties": false,
                                      "properties": {"roles": strings(), "tokens": strings()}},
                       "message": s(), "minApprovals": {"type": "integer", "minimum": 1}}),
                &["approvers"],
            )
        },
    },
    Builtin {
        name: "sleep",
        summary: "Wait for a duration.",
        mutation: Mutation::Never,
        drill: DrillEffect::None,
        public_inputs: &[],
        cluster_inputs: &[],
        namespace_inputs: &[],
        schema: || {
            obj(
                json!({"duration": {"type": "string", "format": "duration"}}),
                &["duration"],
            )
        },
    },
    Builtin {
        name: "notify",
        summary: "Send a message to a channel (Slack, e-mail, webhook) configured on the server.",
        mutation: Mutation::Never,
        drill: DrillEffect::None,
        public_inputs: &["channel", "message", "title"],
        cluster_inputs: &[],
        namespace_inputs: &[],
        schema: || {
            obj(
                json!({"channel": s(), "title": s(), "message": s()}),
                &["channel", "message"],
            )
        },
    },
    Builtin {
        name: "log",
        summary: "Write a line to the run log.",
        mutation: Mutation::Never,
        drill: DrillEffect::None,
        public_inputs: &["message"],
        cluster_inputs: &[],
        namespace_inputs: &[],
        schema: || {
            obj(
                json!({"message": s(), "level": {"enum": ["info", "warn", "error"]}}),
                &["message"],
            )
        },
    },
];

/// The built-in step called `name`.
#[must_use]
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// What a registered plugin declares about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginSchema {
    /// Input schema (same JSON Schema subset as the built-ins).
    pub input_schema: Value,
    /// Does it change anything?
    pub mutating: bool,
    /// Must a drill skip or simulate it?
    pub production_only: bool,
    /// The capabilities it asks for (`log`, `http`, `kube`, `kv`, `clock`).
    pub capabilities: Vec<String>,
}

/// The capabilities a plugin step can be granted.
pub const CAPABILITIES: [&str; 5] = ["log", "http", "kube", "kv", "clock"];

/// Looks up registered plugins' schemas (the orchestrator implements it over its catalog).
pub trait PluginSchemas {
    /// The schema of plugin `name` at `digest` (`sha256:HEX`), if registered.
    fn schema(&self, name: &str, digest: &str) -> Option<PluginSchema>;
}

/// No plugin is known (offline lint): plugin `with` blocks are not checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPlugins;

impl PluginSchemas for NoPlugins {
    fn schema(&self, _: &str, _: &str) -> Option<PluginSchema> {
        None
    }
}

impl<F: Fn(&str, &str) -> Option<PluginSchema>> PluginSchemas for F {
    fn schema(&self, name: &str, digest: &str) -> Option<PluginSchema> {
        self(name, digest)
    }
}

/// What `uses:` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uses<'a> {
    /// A built-in step.
    Builtin(&'static Builtin),
    /// `plugin/NAME@sha256:HEX` (pinned).
    Plugin {
        /// Plugin name.
        name: &'a str,
        /// `sha256:HEX`.
        digest: &'a str,
    },
    /// `plugin/NAME` with no or a malformed digest.
    UnpinnedPlugin(&'a str),
    /// Not a known step.
    Unknown,
}

impl PartialEq for Builtin {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for Builtin {}

/// Classifies a `uses:` value.
#[must_use]
pub fn resolve_uses(uses: &str) -> Uses<'_> {
    if let Some(rest) = uses.strip_prefix("plugin/") {
        return match rest.split_once('@') {
            Some((name, digest)) if is_sha256(digest) && !name.is_empty() => {
                Uses::Plugin { name, digest }
            }
            Some((name, _)) => Uses::UnpinnedPlugin(name),
            None => Uses::UnpinnedPlugin(rest.split(':').next().unwrap_or(rest)),
        };
    }
    builtin(uses).map_or(Uses::Unknown, Uses::Builtin)
}

fn is_sha256(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// One schema violation: the JSON path below `with` and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// Keys/indices below `with`.
    pub path: Vec<crate::spans::Seg>,
    /// What is wrong.
    pub message: String,
    /// Points at the key (unknown property) rather than the value.
    pub at_key: bool,
}

/// Checks `value` against `schema`. Strings holding templates (`{{`) match any type.
#[must_use]
pub fn validate(schema: &Value, value: &Value) -> Vec<SchemaViolation> {
    let mut out = Vec::new();
    check(schema, value, &mut Vec::new(), &mut out);
    out
}

fn is_template(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.contains("{{") || s.contains("{%"))
}

fn check(
    schema: &Value,
    value: &Value,
    path: &mut Vec<crate::spans::Seg>,
    out: &mut Vec<SchemaViolation>,
) {
    use crate::spans::Seg;
    if is_template(value) {
        return;
    }
    let mut fail = |message: String, path: &[Seg]| {
        out.push(SchemaViolation {
            path: path.to_vec(),
            message,
            at_key: false,
        });
    };
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        fail(format!("{value} is not one of {}", list.join(", ")), path);
        return;
    }
    let Some(ty) = schema.get("type").and_then(Value::as_str) else {
        return;
    };
    let ok = match ty {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    };
    if !ok {
        fail(format!("expected {ty}, found {}", type_name(value)), path);
        return;
    }
    if schema.get("format").and_then(Value::as_str) == Some("duration")
        && let Some(Err(e)) = value.as_str().map(crate::duration::Duration::parse)
    {
        fail(e, path);
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_i64),
        value.as_i64(),
    ) && n < min
    {
        fail(format!("{n} is below the minimum {min}"), path);
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            path.push(Seg::Index(i));
            check(items, item, path, out);
            path.pop();
        }
    }
    if let Some(map) = value.as_object() {
        check_object(schema, map, path, out);
    }
}

fn check_object(
    schema: &Value,
    map: &serde_json::Map<String, Value>,
    path: &mut Vec<crate::spans::Seg>,
    out: &mut Vec<SchemaViolation>,
) {
    use crate::spans::Seg;
    let props = schema.get("properties").and_then(Value::as_object);
    for req in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = req.as_str()
            && !map.contains_key(name)
        {
            out.push(SchemaViolation {
                path: path.clone(),
                message: format!("missing required input `{name}`"),
                at_key: true,
            });
        }
    }
    for (k, v) in map {
        path.push(Seg::Key(k.clone()));
        match (
            props.and_then(|p| p.get(k)),
            schema.get("additionalProperties"),
        ) {
            (Some(sub), _) => check(sub, v, path, out),
            (None, Some(Value::Bool(false))) => {
                let known: Vec<&str> = props
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                out.push(SchemaViolation {
                    path: path.clone(),
                    message: format!("unknown input `{k}` (known: {})", known.join(", ")),
                    at_key: true,
                });
            }
            (None, Some(sub @ Value::Object(_))) => check(sub, v, path, out),
            _ => {}
        }
        path.pop();
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_uses() {
        assert!(matches!(resolve_uses("k8s.scale"), Uses::Builtin(b) if b.name == "k8s.scale"));
        let pinned = format!("plugin/dns@sha256:{}", "a".repeat(64));
        assert!(matches!(
            resolve_uses(&pinned),
            Uses::Plugin { name: "dns", .. }
        ));
        assert_eq!(
            resolve_uses("plugin/dns:latest"),
            Uses::UnpinnedPlugin("dns")
        );
        assert_eq!(
            resolve_uses("plugin/dns@sha256:zz"),
            Uses::UnpinnedPlugin("dns")
        );
        assert_eq!(resolve_uses("k8s.frobnicate"), Uses::Unknown);
    }

    #[test]
    fn validates_inputs() {
        let schema = builtin("k8s.scale").unwrap().input_schema();
        let bad =
            json!({"cluster": "a", "namespace": "n", "name": "x", "replicas": "three", "extra": 1});
        let v = validate(&schema, &bad);
        assert_eq!(v.len(), 2, "{v:?}");
        let ok =
            json!({"cluster": "a", "namespace": "n", "name": "x", "replicas": "{{ params.n }}"});
        assert!(validate(&schema, &ok).is_empty());
        let missing = validate(&schema, &json!({"cluster": "a"}));
        assert_eq!(missing.len(), 2, "{missing:?}");
        let from_snapshot = json!({"cluster": "a", "namespace": "n-drill", "name": "x",
                                   "fromSnapshot": "latest", "sourceCluster": "east",
                                   "sourceNamespace": "n"});
        assert!(validate(&schema, &from_snapshot).is_empty());
    }

    #[test]
    fn k8s_delete_is_a_mutating_namespaced_step() {
        let b = builtin("k8s.delete").unwrap();
        assert!(b.is_mutating(&Default::default()));
        assert_eq!(b.drill, DrillEffect::Namespaced);
        assert_eq!(b.cluster_inputs, ["cluster"]);
        assert_eq!(b.namespace_inputs, ["namespace"]);
        let schema = b.input_schema();
        let ok = json!({"cluster": "a", "namespace": "shop", "apiVersion": "v1", "kind": "ConfigMap", "name": "x"});
        assert!(validate(&schema, &ok).is_empty());
        let missing = validate(&schema, &json!({"cluster": "a", "namespace": "shop"}));
        let messages: Vec<&str> = missing.iter().map(|v| v.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "missing required input `kind`",
                "missing required input `name`"
            ]
        );
    }
}
