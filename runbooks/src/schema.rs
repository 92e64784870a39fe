//! The runbook format as Rust types (serde + schemars). Field names are camelCase in
//! YAML; unknown fields are rejected. `runbook.schema.json` is generated from these types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::duration::Duration;

/// The only accepted `apiVersion`.
pub const API_VERSION: &str = "lifeboat.dev/v1";
/// The only accepted `kind`.
pub const KIND: &str = "Runbook";

/// A runbook document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Runbook {
    /// Must be `lifeboat.dev/v1`.
    pub api_version: String,
    /// Must be `Runbook`.
    pub kind: String,
    /// Name and labels.
    pub metadata: Metadata,
    /// What the runbook does.
    pub spec: Spec,
}

/// Runbook metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// The runbook name (used in `PUT /v1/runbooks/{name}`).
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Free labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The runbook body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    /// What may start a run.
    #[serde(default)]
    pub triggers: Vec<Trigger>,
    /// Typed parameters, by name.
    #[serde(default)]
    pub params: BTreeMap<String, ParamSpec>,
    /// At most one run per rendered key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
    /// RTO/RPO targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objectives: Option<Objectives>,
    /// The main steps.
    pub steps: Vec<Step>,
    /// Steps that run after the main steps, even on failure or cancel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finally: Vec<Step>,
    /// How a drill differs from a real run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<DrillSpec>,
}

/// What may start a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Trigger {
    /// Automatic: a cluster was declared lost by quorum.
    ClusterLost(ClusterLostTrigger),
    /// Started by a person (`lifeboat run start`).
    Manual,
    /// Started as a drill (`lifeboat drill start`).
    Drill,
}

/// The `clusterLost` trigger: a cluster name or a label selector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterLostTrigger {
    /// One cluster by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Clusters by label.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub selector: BTreeMap<String, String>,
    /// The param that receives the lost cluster's name (default `cluster`).
    #[serde(default = "default_bind_param")]
    pub param: String,
}

fn default_bind_param() -> String {
    "cluster".to_string()
}

/// A parameter's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ParamType {
    /// Text.
    String,
    /// A 64-bit integer.
    Int,
    /// `true` / `false`.
    Bool,
    /// A duration string (`5m`).
    Duration,
    /// A YAML list (items typed by `items`).
    List,
    /// A secret reference `secret:NAME/KEY`; the value itself never enters the runbook.
    Secret,
}

/// A typed parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParamSpec {
    /// The type.
    #[serde(rename = "type")]
    pub ty: ParamType,
    /// Used when the run does not supply the param.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Allowed values.
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<Value>>,
    /// Item type of a `list` param.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<ParamType>,
    /// `false` makes a param without default optional (rendered as undefined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ParamType {
    /// Does `value` have this type? (`secret` values are references `secret:NAME/KEY`.)
    ///
    /// # Errors
    /// What is wrong with the value.
    pub fn check(self, value: &Value, items: Option<ParamType>) -> Result<(), String> {
        let ok = match self {
            ParamType::String => value.is_string(),
            ParamType::Int => value.is_i64() || value.is_u64(),
            ParamType::Bool => value.is_boolean(),
            ParamType::Duration => value.as_str().is_some_and(|s| Duration::parse(s).is_ok()),
            ParamType::Secret => value.as_str().is_some_and(is_secret_ref),
            ParamType::List => {
                let Some(list) = value.as_array() else {
                    return Err(format!("expected a list, found {value}"));
                };
                if let Some(item) = items {
                    for v in list {
                        item.check(v, None)?;
                    }
                }
                true
            }
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{value} is not a valid {}", self.name()))
        }
    }

    /// The YAML name of the type.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Int => "int",
            ParamType::Bool => "bool",
            ParamType::Duration => "duration (e.g. `5m`)",
            ParamType::List => "list",
            ParamType::Secret => "secret reference (`secret:NAME/KEY`)",
        }
    }
}

/// Is `text` a secret reference `secret:NAME/KEY`?
#[must_use]
pub fn is_secret_ref(text: &str) -> bool {
    text.strip_prefix("secret:")
        .and_then(|r| r.split_once('/'))
        .is_some_and(|(name, key)| !name.is_empty() && !key.is_empty())
}

impl ParamSpec {
    /// Checks a value against the type and the enum.
    ///
    /// # Errors
    /// What is wrong with the value.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        self.ty.check(value, self.items)?;
        match &self.allowed {
            Some(allowed) if !allowed.contains(value) => {
                let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
                Err(format!("{value} is not one of {}", list.join(", ")))
            }
            _ => Ok(()),
        }
    }

    /// Must a run supply this param?
    #[must_use]
    pub fn is_required(&self) -> bool {
        self.default.is_none() && self.required != Some(false)
    }
}

/// The concurrency rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Concurrency {
    /// A template, e.g. `failover/{{ params.cluster }}`.
    pub key: String,
    /// What a second run with the same key does.
    #[serde(default)]
    pub on_conflict: OnConflict,
}

/// What to do when a run with the same concurrency key is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum OnConflict {
    /// Refuse the new run.
    #[default]
    Reject,
    /// Start it when the active one ends.
    Queue,
}

/// Recovery objectives, checked in drills and reported for real runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Objectives {
    /// Recovery time objective.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto: Option<Duration>,
    /// Recovery point objective.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo: Option<Duration>,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    /// Unique identifier (`[a-z][a-zA-Z0-9_]*`), used in `needs` and `steps.ID.outputs`.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A built-in step (`k8s.scale`) or a plugin pinned by digest (`plugin/NAME@sha256:HEX`).
    pub uses: String,
    /// Inputs; strings are templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub with: BTreeMap<String, Value>,
    /// Steps that must finish first; absent = the previous step in the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs: Option<Vec<String>>,
    /// A condition (expression); false skips the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// Run once per item (`item` in templates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each: Option<ForEach>,
    /// Items run at once (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel: Option<u32>,
    /// Per-attempt deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Retry policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// What a failure of this step does to the run.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// Approval steps: the decision taken when `timeout` passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<OnTimeout>,
    /// Template for the idempotency key (default `RUN_ID/STEP_ID[/ITEM]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Named outputs: templates over `result` (what the step returned).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, String>,
    /// Plugin steps only: the capabilities granted to the plugin, by name (`log`, `http`,
    /// `kube`, `kv`, `clock`), each with its settings (e.g. `http: {allowHosts: [..]}`,
    /// `kube: {clusters: [..], namespaces: [..], verbs: [..]}`, `log: true`). Anything not
    /// granted is denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<BTreeMap<String, Value>>,
}

/// A `when` condition: a literal bool or an expression (`{{ }}` optional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Condition {
    /// A constant.
    Const(bool),
    /// An expression such as `params.scaleDown and not run.drill`.
    Expr(String),
}

/// `forEach`: a literal list or an expression yielding a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ForEach {
    /// Literal items.
    Items(Vec<Value>),
    /// An expression such as `params.namespaces`.
    Expr(String),
}

/// Retry policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Retry {
    /// Attempts in total, including the first (>= 1).
    pub max_attempts: u32,
    /// Delay between attempts (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
}

/// Exponential backoff: attempt n waits `min(initial * factor^(n-1), max)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Backoff {
    /// First delay (> 0).
    pub initial: Duration,
    /// Multiplier (>= 1, default 2).
    #[serde(default = "default_factor")]
    pub factor: f64,
    /// Cap (>= initial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Duration>,
}

fn default_factor() -> f64 {
    2.0
}

impl Backoff {
    /// The delay after the `failures`-th failed attempt (1-based).
    #[must_use]
    pub fn delay_ms(&self, failures: u32) -> u64 {
        let exp = i32::try_from(failures.saturating_sub(1)).unwrap_or(i32::MAX);
        let raw = self.initial.0 as f64 * self.factor.max(1.0).powi(exp);
        let cap = self.max.map_or(f64::MAX, |m| m.0 as f64);
        let ms = raw.min(cap);
        if ms >= u64::MAX as f64 {
            u64::MAX
        } else {
            ms as u64
        }
    }
}

/// What a step failure does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum OnFailure {
    /// Stop starting steps, run `finally`, the run fails.
    #[default]
    Abort,
    /// Record the failure; dependants still run.
    Continue,
}

/// An approval's decision on timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum OnTimeout {
    /// Treat as approved.
    Approve,
    /// Treat as rejected (the step fails).
    Reject,
}

/// How a drill differs from a real run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DrillSpec {
    /// Appended to restored namespaces; `run.namespaceSuffix` in templates (default `-drill`).
    // Read through `Runbook::namespace_suffix` (not a doc comment: `runbook.schema.json`
    // takes its descriptions from these).
    #[serde(default = "default_suffix")]
    pub namespace_suffix: String,
    /// Step ids not run in a drill (recorded as skipped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip: Vec<String>,
    /// Step ids simulated in a drill (inputs rendered, no effect).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub simulate: Vec<String>,
    /// URL prefixes `http.request` may call during a drill.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_allowlist: Vec<String>,
    /// Steps run at the end of a drill, after `finally`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleanup: Vec<Step>,
}

/// The namespace suffix of a drill when the runbook does not set `drill.namespaceSuffix`.
pub const DEFAULT_DRILL_SUFFIX: &str = "-drill";

fn default_suffix() -> String {
    DEFAULT_DRILL_SUFFIX.to_string()
}

/// Which list a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StepList {
    /// `spec.steps`.
    Steps,
    /// `spec.finally`.
    Finally,
    /// `spec.drill.cleanup`.
    Cleanup,
}

impl StepList {
    /// The YAML path of this list, e.g. `spec.finally`.
    #[must_use]
    pub fn path(self) -> crate::spans::Path {
        let spec = crate::spans::Path::root().key("spec");
        match self {
            StepList::Steps => spec.key("steps"),
            StepList::Finally => spec.key("finally"),
            StepList::Cleanup => spec.key("drill").key("cleanup"),
        }
    }
}

impl Runbook {
    /// Every step with its list and index, in document order.
    pub fn all_steps(&self) -> impl Iterator<Item = (StepList, usize, &Step)> {
        let cleanup = self.spec.drill.iter().flat_map(|d| d.cleanup.iter());
        self.spec
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (StepList::Steps, i, s))
            .chain(
                self.spec
                    .finally
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (StepList::Finally, i, s)),
            )
            .chain(cleanup.enumerate().map(|(i, s)| (StepList::Cleanup, i, s)))
    }

    /// Does a trigger start this runbook without a person (`clusterLost`)?
    #[must_use]
    pub fn automatic_trigger(&self) -> Option<&ClusterLostTrigger> {
        self.spec.triggers.iter().find_map(|t| match t {
            Trigger::ClusterLost(c) => Some(c),
            _ => None,
        })
    }

    /// Can this runbook be run as a drill?
    #[must_use]
    pub fn drillable(&self) -> bool {
        self.spec.drill.is_some() || self.spec.triggers.contains(&Trigger::Drill)
    }

    /// `run.namespaceSuffix` of a run of this runbook: in a drill, `drill.namespaceSuffix`
    /// when the runbook has a `drill` section, else [`DEFAULT_DRILL_SUFFIX`]; empty in a
    /// real run (it restores into the production namespaces).
    #[must_use]
    pub fn namespace_suffix(&self, drill: bool) -> String {
        match (&self.spec.drill, drill) {
            (_, false) => String::new(),
            (Some(d), true) => d.namespace_suffix.clone(),
            (None, true) => DEFAULT_DRILL_SUFFIX.to_string(),
        }
    }
}

/// The JSON Schema of the runbook format, pretty-printed (the content of `runbook.schema.json`).
#[must_use]
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Runbook);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{DEFAULT_DRILL_SUFFIX, Runbook};

    fn runbook(drill: Option<serde_json::Value>) -> Runbook {
        let mut spec = json!({"steps": []});
        if let Some(d) = drill {
            spec["drill"] = d;
        }
        let doc = json!({
            "apiVersion": super::API_VERSION, "kind": super::KIND,
            "metadata": {"name": "rb"}, "spec": spec,
        });
        serde_json::from_value(doc).expect("a valid runbook")
    }

    #[test]
    fn namespace_suffix_is_empty_in_a_real_run_and_set_in_a_drill() {
        let custom = runbook(Some(json!({"namespaceSuffix": "-dr"})));
        assert_eq!(custom.namespace_suffix(true), "-dr");
        assert_eq!(custom.namespace_suffix(false), "");
        // A `drill` section without a suffix, and no `drill` section: the default.
        let section = runbook(Some(json!({})));
        assert_eq!(section.namespace_suffix(true), DEFAULT_DRILL_SUFFIX);
        assert_eq!(section.namespace_suffix(false), "");
        let none = runbook(None);
        assert_eq!(none.namespace_suffix(true), "-drill");
        assert_eq!(none.namespace_suffix(false), "");
    }
}
