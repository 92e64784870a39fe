//! Templating with minijinja: finding what a template refers to (for the linter) and
//! rendering step inputs, conditions and `forEach` lists (for the planner).
//!
//! A string that is exactly one `{{ expr }}` renders to the expression's native value
//! (a list stays a list, an int an int); any other string renders to a string.
//! Undefined values are errors (strict mode).

use std::collections::BTreeSet;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

/// Globals minijinja provides that are not runbook variables.
pub const BUILTIN_GLOBALS: &[&str] = &[
    "range",
    "dict",
    "namespace",
    "debug",
    "lipsum",
    "cycler",
    "joiner",
    "loop",
];

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

/// Does this string contain template syntax?
#[must_use]
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

/// If `text` is exactly one `{{ expr }}`, the inner expression.
#[must_use]
pub fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%"))
        .then_some(inner.trim())
}

/// An expression field (`when`, `forEach`): braces are optional.
#[must_use]
pub fn as_expression(text: &str) -> &str {
    single_expression(text).unwrap_or(text.trim())
}

/// The dotted variable paths a template reads (e.g. `params.cluster`,
/// `steps.snap.outputs.id`), without minijinja's own globals.
///
/// # Errors
/// The template's syntax error.
pub fn template_refs(text: &str) -> Result<BTreeSet<String>, String> {
    let env = env();
    let tmpl = env.template_from_str(text).map_err(|e| describe(&e))?;
    Ok(filter_globals(tmpl.undeclared_variables(true)))
}

/// Like [`template_refs`] for an expression.
///
/// # Errors
/// The expression's syntax error.
pub fn expression_refs(expr: &str) -> Result<BTreeSet<String>, String> {
    let env = env();
    let compiled = env.compile_expression(expr).map_err(|e| describe(&e))?;
    Ok(filter_globals(compiled.undeclared_variables(true)))
}

fn filter_globals(vars: std::collections::HashSet<String>) -> BTreeSet<String> {
    vars.into_iter()
        .filter(|v| !BUILTIN_GLOBALS.contains(&v.split('.').next().unwrap_or(v)))
        .collect()
}

fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    }
}

/// Evaluates an expression against `ctx` to a JSON value.
///
/// # Errors
/// Syntax errors, undefined values, failing filters.
pub fn eval(expr: &str, ctx: &Value) -> Result<Value, String> {
    let env = env();
    let compiled = env.compile_expression(expr).map_err(|e| describe(&e))?;
    let out = compiled
        .eval(minijinja::Value::from_serialize(ctx))
        .map_err(|e| describe(&e))?;
    if out.is_undefined() {
        return Err(format!("undefined value: `{expr}`"));
    }
    serde_json::to_value(&out).map_err(|e| e.to_string())
}

/// Evaluates a condition: truthiness of the expression.
///
/// # Errors
/// As [`eval`].
pub fn eval_bool(expr: &str, ctx: &Value) -> Result<bool, String> {
    let env = env();
    let compiled = env.compile_expression(expr).map_err(|e| describe(&e))?;
    compiled
        .eval(minijinja::Value::from_serialize(ctx))
        .map(|v| v.is_true())
        .map_err(|e| describe(&e))
}

/// Renders one string (see the module docs for native values).
///
/// # Errors
/// As [`eval`].
pub fn render_str(text: &str, ctx: &Value) -> Result<Value, String> {
    if !is_template(text) {
        return Ok(Value::String(text.to_string()));
    }
    if let Some(expr) = single_expression(text) {
        return eval(expr, ctx);
    }
    let env = env();
    env.render_str(text, minijinja::Value::from_serialize(ctx))
        .map(Value::String)
        .map_err(|e| describe(&e))
}

/// Renders every string inside `value`.
///
/// # Errors
/// The first rendering error, prefixed by where it happened.
pub fn render_value(value: &Value, ctx: &Value) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => render_str(s, ctx)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_value(v, ctx))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                out.insert(
                    k.clone(),
                    render_value(v, ctx).map_err(|e| format!("{k}: {e}"))?,
                );
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_nested_references() {
        let refs =
            template_refs("{{ params.a }}-{{ steps.snap.outputs.id | upper }} {{ range(3) }}")
                .unwrap();
        let refs: Vec<_> = refs.into_iter().collect();
        assert_eq!(refs, vec!["params.a", "steps.snap.outputs.id"]);
        assert!(template_refs("{{ params.a ").is_err());
        let e: Vec<_> = expression_refs("params.x and not run.drill")
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(e, vec!["params.x", "run.drill"]);
    }

    #[test]
    fn renders_native_values() {
        let ctx = json!({"params": {"n": 3, "ns": ["a", "b"], "c": "eu"}});
        assert_eq!(render_str("{{ params.n }}", &ctx).unwrap(), json!(3));
        assert_eq!(
            render_str("{{ params.ns }}", &ctx).unwrap(),
            json!(["a", "b"])
        );
        assert_eq!(render_str("x-{{ params.c }}", &ctx).unwrap(), json!("x-eu"));
        assert!(render_str("{{ params.missing }}", &ctx).is_err());
        assert!(eval_bool("params.n > 2", &ctx).unwrap());
        assert_eq!(as_expression("{{ params.n }}"), "params.n");
    }
}
