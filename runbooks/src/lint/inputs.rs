//! Input rules: unknown `uses` (RB060), plugins not pinned by digest (RB061), `with`
//! blocks failing the step's input schema (RB062), plugins the server does not know
//! (RB063, warning: their `with` is not checked).

use super::{Ctx, Sink};
use crate::catalogue::{BUILTINS, Uses, resolve_uses, validate};
use crate::spans::{Path, Seg, Target};

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    for (_, _, step, path) in ctx.steps() {
        let uses = path.key("uses");
        let schema = match resolve_uses(&step.uses) {
            Uses::Builtin(b) => b.input_schema(),
            Uses::Plugin { name, digest } => match ctx.plugins.schema(name, digest) {
                Some(p) => p.input_schema,
                None => {
                    sink.warning("RB063", &format!("plugin `{name}` at {digest} is not registered; its inputs are not checked"), &uses, Target::Value)
                        .hint("push it with `lifeboat plugin push FILE.wasm` before running this runbook");
                    continue;
                }
            },
            Uses::UnpinnedPlugin(name) => {
                sink.error(
                    "RB061",
                    &format!("plugin `{name}` is not pinned by digest"),
                    &uses,
                    Target::Value,
                )
                .hint(&format!(
                    "use `plugin/{name}@sha256:<64 hex>` (the digest `lifeboat plugin push` prints)"
                ));
                continue;
            }
            Uses::Unknown => {
                let close = BUILTINS
                    .iter()
                    .map(|b| (crate::parse::edit_distance(&step.uses, b.name), b.name))
                    .min()
                    .filter(|(d, _)| *d <= 3);
                let hint = close.map_or_else(
                    || "use a built-in step (see README) or `plugin/NAME@sha256:HEX`".to_string(),
                    |(_, n)| format!("did you mean `{n}`?"),
                );
                sink.error(
                    "RB060",
                    &format!("unknown step type `{}`", step.uses),
                    &uses,
                    Target::Value,
                )
                .hint(&hint);
                continue;
            }
        };
        let with = serde_json::Value::Object(step.with.clone().into_iter().collect());
        for v in validate(&schema, &with) {
            let mut p: Path = path.key("with");
            p.0.extend(v.path.iter().cloned());
            let (p, target) = if v.path.is_empty() && v.at_key {
                if step.with.is_empty() {
                    (path.key("uses"), Target::Value)
                } else {
                    (path.key("with"), Target::Key)
                }
            } else if v.at_key {
                (p, Target::Key)
            } else {
                (p, Target::Value)
            };
            let field = v
                .path
                .iter()
                .map(|s| match s {
                    Seg::Key(k) => k.clone(),
                    Seg::Index(i) => format!("[{i}]"),
                })
                .collect::<Vec<_>>()
                .join(".");
            let prefix = if field.is_empty() {
                String::new()
            } else {
                format!("`{field}`: ")
            };
            sink.error(
                "RB062",
                &format!("`{}` input {prefix}{}", step.uses, v.message),
                &p,
                target,
            )
            .hint("see the step's inputs in runbooks/README.md (built-in catalogue)");
        }
    }
}
