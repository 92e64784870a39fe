//! From YAML text to a typed [`Runbook`], with positioned diagnostics for syntax errors
//! (RB001), duplicate keys (RB006), unknown fields (RB002) and wrong types or missing
//! fields (RB003). Every schema error is reported: after one, the offending key is
//! removed and deserialization is retried.

use serde_json::Value;
use serde_path_to_error::Segment;

use crate::lint::Sink;
use crate::schema::Runbook;
use crate::spans::{Path, Seg, Target, parse_tree};

/// Most schema errors reported for one document.
const MAX_SCHEMA_ERRORS: usize = 50;

/// The typed runbook, when the schema matched.
pub(crate) struct Parsed {
    pub runbook: Option<Runbook>,
}

pub(crate) fn parse(yaml: &str, sink: &mut Sink) -> Parsed {
    let tree = match parse_tree(yaml) {
        Ok(Some(tree)) => tree,
        Ok(None) => {
            sink.error_at(
                "RB001",
                "the document is empty",
                crate::spans::Pos {
                    line: 1,
                    column: 1,
                    len: 1,
                },
            )
            .hint("start with `apiVersion: lifeboat.dev/v1` and `kind: Runbook`");
            return Parsed { runbook: None };
        }
        Err(e) => {
            sink.error_at("RB001", &format!("YAML syntax error: {}", e.message), e.pos)
                .hint("check indentation, quotes and brackets near this position");
            return Parsed { runbook: None };
        }
    };
    sink.set_tree(tree.clone());
    let mut dups = Vec::new();
    let mut value = tree.to_json(&Path::root(), &mut dups);
    for (path, pos) in dups {
        sink.error_at("RB006", &format!("duplicate key `{path}`"), pos)
            .hint("remove one of the two entries; the last one wins otherwise");
    }
    check_header(&value, sink);
    let runbook = deserialize(&mut value, sink);
    Parsed { runbook }
}

fn deserialize(value: &mut Value, sink: &mut Sink) -> Option<Runbook> {
    let mut clean = true;
    for _ in 0..MAX_SCHEMA_ERRORS {
        let err = match serde_path_to_error::deserialize::<_, Runbook>(&*value) {
            Ok(rb) => return clean.then_some(rb),
            Err(err) => err,
        };
        clean = false;
        let path = convert_path(err.path());
        let message = err.inner().to_string();
        if let Some(field) = unknown_field(&message) {
            let (full, path) = if path.0.last() == Some(&Seg::Key(field.clone())) {
                let mut parent = path.clone();
                parent.0.pop();
                (path, parent)
            } else {
                (path.key(&field), path)
            };
            let hint = suggest(&field, &message).map_or_else(
                || "remove it".to_string(),
                |s| format!("did you mean `{s}`?"),
            );
            sink.error(
                "RB002",
                &format!("unknown field `{field}` in `{}`", display_parent(&path)),
                &full,
                Target::Key,
            )
            .hint(&hint);
            if !remove(value, &full) {
                return None;
            }
        } else {
            let missing = message.starts_with("missing field");
            sink.error(
                "RB003",
                &format!("invalid `{}`: {}", display_parent(&path), message),
                &path,
                if missing { Target::Key } else { Target::Value },
            )
            .hint("see runbooks/README.md or runbook.schema.json for the expected shape");
            if missing || path.0.is_empty() || !remove(value, &path) {
                return None;
            }
        }
    }
    None
}

/// RB004 / RB005: wrong `apiVersion` or `kind` (missing ones are RB003).
fn check_header(value: &Value, sink: &mut Sink) {
    use crate::schema::{API_VERSION, KIND};
    let root = Path::root();
    if let Some(v) = value
        .get("apiVersion")
        .filter(|v| v.as_str() != Some(API_VERSION))
    {
        sink.error(
            "RB004",
            &format!("unsupported apiVersion {v}"),
            &root.key("apiVersion"),
            Target::Value,
        )
        .hint(&format!("use `apiVersion: {API_VERSION}`"));
    }
    if let Some(v) = value.get("kind").filter(|v| v.as_str() != Some(KIND)) {
        sink.error(
            "RB005",
            &format!("wrong kind {v}"),
            &root.key("kind"),
            Target::Value,
        )
        .hint(&format!("use `kind: {KIND}`"));
    }
}

fn display_parent(path: &Path) -> String {
    if path.0.is_empty() {
        "the document".to_string()
    } else {
        path.to_string()
    }
}

fn convert_path(p: &serde_path_to_error::Path) -> Path {
    let mut out = Path::root();
    for seg in p.iter() {
        match seg {
            Segment::Seq { index } => out.0.push(Seg::Index(*index)),
            Segment::Map { key } => out.0.push(Seg::Key(key.clone())),
            Segment::Enum { variant } => out.0.push(Seg::Key(variant.clone())),
            Segment::Unknown => {}
        }
    }
    out
}

/// The field name in serde's "unknown field `x`, expected ..." message.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

/// The expected field closest to `field` (edit distance <= 3).
fn suggest(field: &str, message: &str) -> Option<String> {
    let expected = message.split("expected").nth(1)?;
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|cand| (edit_distance(field, cand), cand))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, c)| c.to_string())
}

pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Removes the entry at `path`; false when there is nothing to remove.
fn remove(value: &mut Value, path: &Path) -> bool {
    let Some((last, parents)) = path.0.split_last() else {
        return false;
    };
    let mut cur = value;
    for seg in parents {
        cur = match (cur, seg) {
            (Value::Object(m), Seg::Key(k)) => match m.get_mut(k) {
                Some(v) => v,
                None => return false,
            },
            (Value::Array(a), Seg::Index(i)) => match a.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match (cur, last) {
        (Value::Object(m), Seg::Key(k)) => m.remove(k).is_some(),
        (Value::Array(a), Seg::Index(i)) if *i < a.len() => {
            a.remove(*i);
            true
        }
        _ => false,
    }
}
