//! A YAML tree that remembers where every key and value starts, built from the
//! `granit-parser` event stream (the parser under `serde-saphyr`), plus paths such as
//! `spec.steps[3].needs[0]` to find those positions again.

use std::collections::HashMap;
use std::fmt;

use granit_parser::{Event, Parser, ScalarStyle, Span};

/// A 1-based line and column, with the width of the token on that line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Characters to underline (at least 1).
    pub len: usize,
}

impl Pos {
    fn from_span(span: &Span) -> Self {
        let start = span.start;
        let len = if span.end.line() == start.line() {
            span.end.col().saturating_sub(start.col()).max(1)
        } else {
            1
        };
        Pos {
            line: start.line(),
            column: start.col() + 1,
            len,
        }
    }
}

/// One YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// The node's content.
    pub kind: NodeKind,
}

/// The content of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar; `plain` is false for quoted and block scalars (always strings).
    Scalar {
        /// The scalar text after escape processing.
        text: String,
        /// Unquoted: subject to null/bool/number resolution.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order (keys are nodes too).
    Map(Vec<(Node, Node)>),
}

/// A YAML syntax error at a position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    /// What the parser said.
    pub message: String,
    /// Where.
    pub pos: Pos,
}

/// Parses the first YAML document of `src` into a positioned tree (`None` for an empty file).
///
/// # Errors
/// The first syntax error, with its position.
pub fn parse_tree(src: &str) -> Result<Option<Node>, SyntaxError> {
    let mut builder = Builder::default();
    for ev in Parser::new_from_str(src) {
        let (event, span) = ev.map_err(|e| SyntaxError {
            message: e.kind().to_string(),
            pos: Pos {
                line: e.marker().line(),
                column: e.marker().col() + 1,
                len: 1,
            },
        })?;
        if builder.event(event, &span) {
            break;
        }
    }
    Ok(builder.root)
}

#[derive(Default)]
struct Builder {
    stack: Vec<(Node, usize)>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
}

impl Builder {
    /// Feeds one event; returns true when the first document is complete.
    fn event(&mut self, event: Event<'_>, span: &Span) -> bool {
        let pos = Pos::from_span(span);
        match event {
            Event::Scalar(text, style, anchor, _) => {
                let plain = matches!(style, ScalarStyle::Plain);
                let node = Node {
                    pos,
                    kind: NodeKind::Scalar {
                        text: text.into_owned(),
                        plain,
                    },
                };
                self.push(node, anchor);
            }
            Event::SequenceStart(_, anchor, _) => self.stack.push((
                Node {
                    pos,
                    kind: NodeKind::Seq(Vec::new()),
                },
                anchor,
            )),
            Event::MappingStart(_, anchor, _) => self.stack.push((
                Node {
                    pos,
                    kind: NodeKind::Map(Vec::new()),
                },
                anchor,
            )),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, anchor)) = self.stack.pop() {
                    self.push(node, anchor);
                }
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().unwrap_or(Node {
                    pos,
                    kind: NodeKind::Scalar {
                        text: String::new(),
                        plain: true,
                    },
                });
                self.push(node, 0);
            }
            Event::DocumentEnd => return self.root.is_some() || self.stack.is_empty(),
            _ => {}
        }
        false
    }

    fn push(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some((parent, _)) => match &mut parent.kind {
                NodeKind::Seq(items) => items.push(node),
                NodeKind::Map(entries) => match entries.last_mut() {
                    // A pending key is stored with a placeholder value marked by `len == 0`.
                    Some((_, v)) if v.pos.len == 0 => *v = node,
                    _ => {
                        let placeholder = Node {
                            pos: Pos::default(),
                            kind: NodeKind::Seq(Vec::new()),
                        };
                        entries.push((node, placeholder));
                    }
                },
                NodeKind::Scalar { .. } => {}
            },
        }
    }
}

/// One step of a [`Path`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path into the document, e.g. `spec.steps[3].needs[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Path(pub Vec<Seg>);

impl Path {
    /// The empty path (the document root).
    #[must_use]
    pub fn root() -> Self {
        Path(Vec::new())
    }

    /// This path with a key appended.
    #[must_use]
    pub fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }

    /// This path with an index appended.
    #[must_use]
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Which part of a mapping entry a position should point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The key (e.g. an unknown field).
    Key,
    /// The value.
    Value,
}

impl Node {
    /// The string of a scalar node.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The position of `path` (its key or value), or of its nearest existing ancestor.
    #[must_use]
    pub fn locate(&self, path: &Path, target: Target) -> Pos {
        let mut node = self;
        let mut pos = self.pos;
        for (i, seg) in path.0.iter().enumerate() {
            let last = i + 1 == path.0.len();
            let next = match (&node.kind, seg) {
                (NodeKind::Map(entries), Seg::Key(k)) => entries
                    .iter()
                    .rev()
                    .find(|(key, _)| key.as_str() == Some(k.as_str()))
                    .map(|(key, value)| {
                        if last && target == Target::Key {
                            pos = key.pos;
                        } else {
                            pos = value.pos;
                        }
                        value
                    }),
                (NodeKind::Seq(items), Seg::Index(n)) => items.get(*n).inspect(|v| pos = v.pos),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        pos
    }

    /// Converts to JSON, resolving plain scalars by the YAML 1.2 core schema; reports
    /// duplicate mapping keys as `(path, position of the second key)`.
    #[must_use]
    pub fn to_json(&self, path: &Path, dups: &mut Vec<(Path, Pos)>) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Scalar { text, plain } => {
                if *plain {
                    resolve_plain(text)
                } else {
                    Value::String(text.clone())
                }
            }
            NodeKind::Seq(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, n)| n.to_json(&path.index(i), dups))
                    .collect(),
            ),
            NodeKind::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    let key = match &k.kind {
                        NodeKind::Scalar { text, .. } => text.clone(),
                        _ => format!("{:?}", k.to_json(path, dups)),
                    };
                    let child = path.key(&key);
                    if map.contains_key(&key) {
                        dups.push((child.clone(), k.pos));
                    }
                    map.insert(key, v.to_json(&child, dups));
                }
                Value::Object(map)
            }
        }
    }
}

fn resolve_plain(text: &str) -> serde_json::Value {
    use serde_json::Value;
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = text.parse::<i64>()
    {
        return Value::from(n);
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(n) = i64::from_str_radix(hex, 16)
    {
        return Value::from(n);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(n) = i64::from_str_radix(oct, 8)
    {
        return Value::from(n);
    }
    let looks_float = text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    if looks_float
        && let Ok(f) = text.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "a: 1\nspec:\n  steps:\n    - id: x\n      needs: [y, z]\n";

    #[test]
    fn locates_keys_and_values() {
        let root = parse_tree(DOC).unwrap().unwrap();
        let p = Path::root()
            .key("spec")
            .key("steps")
            .index(0)
            .key("needs")
            .index(1);
        assert_eq!(p.to_string(), "spec.steps[0].needs[1]");
        let pos = root.locate(&p, Target::Value);
        assert_eq!((pos.line, pos.column, pos.len), (5, 18, 1));
        let key = root.locate(
            &Path::root().key("spec").key("steps").index(0).key("needs"),
            Target::Key,
        );
        assert_eq!((key.line, key.column, key.len), (5, 7, 5));
    }

    #[test]
    fn resolves_scalars_and_duplicates() {
        let root = parse_tree("a: 1\nb: 'x'\nc: true\nd: ~\na: 2.5\ne: 10m\n")
            .unwrap()
            .unwrap();
        let mut dups = Vec::new();
        let v = root.to_json(&Path::root(), &mut dups);
        assert_eq!(
            v,
            serde_json::json!({"a": 2.5, "b": "x", "c": true, "d": null, "e": "10m"})
        );
        assert_eq!(dups.len(), 1);
        assert_eq!(dups[0].1.line, 5);
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_tree("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1);
        assert!(!err.message.is_empty());
    }

    #[test]
    fn aliases_are_copied() {
        let root = parse_tree("a: &x {k: 1}\nb: *x\n").unwrap().unwrap();
        let v = root.to_json(&Path::root(), &mut Vec::new());
        assert_eq!(v["b"]["k"], 1);
    }
}
