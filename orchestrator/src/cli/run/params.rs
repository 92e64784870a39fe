//! `--param K=V`: the value as JSON when it parses, `[a,b]` as a list, else a string;
//! the params as a map.

use std::collections::BTreeMap;

use serde_json::Value;

/// `K=V` with V parsed as described on `--param`.
pub(super) fn parse_param(s: &str) -> Result<(String, Value), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE (e.g. --param cluster=eu-west)"))?;
    let k = k.trim();
    if k.is_empty() {
        return Err(format!("`{s}` has no param name before `=`"));
    }
    Ok((k.to_string(), parse_value(v)))
}

/// JSON when it parses; `[a,b]` as a list of values parsed the same way; else a string.
pub(super) fn parse_value(v: &str) -> Value {
    if let Ok(json) = serde_json::from_str::<Value>(v) {
        return json;
    }
    let t = v.trim();
    if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return Value::Array(
            split_top_level(inner)
                .into_iter()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(parse_value)
                .collect(),
        );
    }
    Value::String(v.to_string())
}

/// Split on commas outside brackets, braces and double quotes.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let mut parts = Vec::new();
    for (i, ch) in s.char_indices() {
        match ch {
            '"' => quoted = !quoted,
            '[' | '{' if !quoted => depth += 1,
            ']' | '}' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// The params as a map; a name given twice is an error.
pub(super) fn params_map(params: Vec<(String, Value)>) -> Result<BTreeMap<String, Value>, String> {
    let mut map = BTreeMap::new();
    for (k, v) in params {
        if map.insert(k.clone(), v).is_some() {
            return Err(format!("param `{k}` is given twice"));
        }
    }
    Ok(map)
}
