//! Reading a step's `with` block: typed inputs, errors that name the step and the input,
//! and the object that `apiVersion`, `kind`, `name` and `namespace` name.

use serde_json::Value;

use super::resolve::Types;
use super::target::Target;

/// The cluster a step names, for the tracing span.
pub(super) fn cluster_of(with: &Value) -> &str {
    with.get("cluster").and_then(Value::as_str).unwrap_or("")
}

/// Reads a step's `with` block, naming the step in errors.
pub(super) struct Inputs<'a> {
    step: &'static str,
    with: &'a Value,
}

impl<'a> Inputs<'a> {
    pub(super) fn new(step: &'static str, with: &'a Value) -> Self {
        Inputs { step, with }
    }

    pub(super) fn cluster(&self) -> Result<&'a str, String> {
        self.str("cluster")
    }

    /// A string input that may be absent but not empty or of another type.
    pub(super) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, String> {
        match self.with.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
            Some(other) => Err(format!(
                "{}: input `{key}` must be a non-empty string; got {other}",
                self.step
            )),
        }
    }

    pub(super) fn str(&self, key: &str) -> Result<&'a str, String> {
        self.opt_str(key)?
            .ok_or_else(|| format!("{}: input `{key}` is missing", self.step))
    }

    /// The object named by `apiVersion`, `kind`, `name` and `namespace`.
    pub(super) async fn target(&self, types: &mut Types<'_>) -> Result<Target, String> {
        let kind = self.str("kind")?;
        let name = self.str("name")?;
        let (ar, namespaced) = types.resolve(self.opt_str("apiVersion")?, kind).await?;
        let namespace = match (namespaced, self.opt_str("namespace")?) {
            (true, None) => {
                return Err(format!(
                    "{}: {kind} is namespaced: give `namespace` for {kind} {name}",
                    self.step
                ));
            }
            (true, ns) => ns,
            (false, _) => None,
        };
        Ok(Target::new(ar, namespace, name))
    }
}
