//! Input rules: unknown `uses` (RB060), plugins not pinned by digest (RB061), `with`
//! blocks failing the step's input schema (RB062), plugins the server does not know
//! (RB063, warning: their `with` is not checked), capabilities a plugin asks for that the
//! step does not grant (RB064), `permissions` that cannot apply (RB065: on a built-in
//! step, or an unknown capability), a `k8s.scale` with both or neither of `replicas` and
//! `fromSnapshot`, `fromSnapshot: latest` without `sourceCluster`, or `source*` inputs
//! without `fromSnapshot` (RB066).

use super::{Ctx, Sink};
use crate::catalogue::{BUILTINS, Uses, resolve_uses, validate};
use crate::spans::{Path, Seg, Target};

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    check_permissions(ctx, sink);
    check_scale_source(ctx, sink);
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

fn check_permissions(ctx: &Ctx<'_>, sink: &mut Sink) {
    use crate::catalogue::CAPABILITIES;
    for (_, _, step, path) in ctx.steps() {
        let granted = step.permissions.as_ref();
        let plugin = match resolve_uses(&step.uses) {
            Uses::Plugin { name, digest } => Some(ctx.plugins.schema(name, digest)),
            _ => None,
        };
        if let Some(perms) = granted {
            let at = path.key("permissions");
            if plugin.is_none() {
                sink.error(
                    "RB065",
                    &format!(
                        "`permissions` only apply to plugin steps, not `{}`",
                        step.uses
                    ),
                    &at,
                    Target::Key,
                )
                .hint("remove it: built-in steps run with the orchestrator's own access");
                continue;
            }
            for cap in perms.keys().filter(|k| !CAPABILITIES.contains(&k.as_str())) {
                sink.error(
                    "RB065",
                    &format!("unknown capability `{cap}`"),
                    &at.key(cap),
                    Target::Key,
                )
                .hint(&format!("grant one of: {}", CAPABILITIES.join(", ")));
            }
        }
        if let Some(Some(schema)) = plugin {
            for cap in &schema.capabilities {
                if !granted.is_some_and(|g| g.contains_key(cap)) {
                    let msg =
                        format!("the plugin asks for `{cap}`, which this step does not grant");
                    sink.error("RB064", &msg, &path.key("uses"), Target::Value)
                        .hint(&format!(
                            "add `permissions: {{{cap}: ...}}` to the step (see plugins/README.md)"
                        ));
                }
            }
        }
    }
}

/// RB066: `k8s.scale` takes exactly one of `replicas` and `fromSnapshot` (the schema
/// subset has no `oneOf`); `latest` needs `sourceCluster`; `sourceCluster` and
/// `sourceNamespace` only mean something with `fromSnapshot`.
fn check_scale_source(ctx: &Ctx<'_>, sink: &mut Sink) {
    const HINT: &str = "give `replicas: N` to set a number, or `fromSnapshot: latest` (with \
                        `sourceCluster`) or a snapshot id to copy the count from a snapshot";
    for (_, _, step, path) in ctx.steps().filter(|(_, _, s, _)| s.uses == "k8s.scale") {
        let with = path.key("with");
        let from = step.with.get("fromSnapshot");
        match (step.with.contains_key("replicas"), from.is_some()) {
            (true, true) => {
                let msg = "`k8s.scale` takes `replicas` or `fromSnapshot`, not both";
                sink.error("RB066", msg, &with.key("fromSnapshot"), Target::Key)
                    .hint(HINT);
            }
            (false, false) => {
                let (at, target) = if step.with.is_empty() {
                    (path.key("uses"), Target::Value)
                } else {
                    (with.clone(), Target::Key)
                };
                let msg = "`k8s.scale` needs `replicas` or `fromSnapshot`";
                sink.error("RB066", msg, &at, target).hint(HINT);
            }
            _ => {}
        }
        if from.and_then(serde_json::Value::as_str) == Some("latest")
            && !step.with.contains_key("sourceCluster")
        {
            let msg = "`fromSnapshot: latest` needs `sourceCluster` (whose latest snapshot?)";
            sink.error("RB066", msg, &with.key("fromSnapshot"), Target::Value)
                .hint("add `sourceCluster: NAME`, the cluster the snapshots were taken of");
        }
        if from.is_none() {
            for key in ["sourceCluster", "sourceNamespace"]
                .into_iter()
                .filter(|k| step.with.contains_key(*k))
            {
                let msg = format!("`{key}` only applies with `fromSnapshot`");
                sink.error("RB066", &msg, &with.key(key), Target::Key)
                    .hint("remove it, or add `fromSnapshot` to copy the count from a snapshot");
            }
        }
    }
}
