//! Param rules: defaults and enum values that break their type or enum (RB030),
//! required params without default on an automatic trigger (RB031), a `clusterLost`
//! trigger binding an undeclared param (RB032).

use super::{Ctx, Sink};
use crate::spans::{Path, Target};

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    let params = Path::root().key("spec").key("params");
    for (name, spec) in &ctx.rb.spec.params {
        let path = params.key(name);
        for (i, v) in spec.allowed.iter().flatten().enumerate() {
            if let Err(e) = spec.ty.check(v, spec.items) {
                sink.error(
                    "RB030",
                    &format!("enum value of param `{name}`: {e}"),
                    &path.key("enum").index(i),
                    Target::Value,
                )
                .hint(&format!("every enum value must be a {}", spec.ty.name()));
            }
        }
        if let Some(default) = &spec.default
            && let Err(e) = spec.check(default)
        {
            sink.error(
                "RB030",
                &format!("default of param `{name}`: {e}"),
                &path.key("default"),
                Target::Value,
            )
            .hint("make the default match the param's type and enum");
        }
    }
    let Some(trigger) = ctx.rb.automatic_trigger() else {
        return;
    };
    for (name, spec) in &ctx.rb.spec.params {
        if spec.is_required() && *name != trigger.param {
            sink.error(
                "RB031",
                &format!("param `{name}` is required but has no default, and the runbook starts automatically (clusterLost)"),
                &params.key(name),
                Target::Key,
            )
            .hint("give it a `default`, or mark it `required: false`");
        }
    }
    if !ctx.rb.spec.params.contains_key(&trigger.param) {
        let idx = ctx
            .rb
            .spec
            .triggers
            .iter()
            .position(|t| matches!(t, crate::schema::Trigger::ClusterLost(_)))
            .unwrap_or(0);
        sink.warning(
            "RB032",
            &format!(
                "the clusterLost trigger sets param `{}`, which is not declared",
                trigger.param
            ),
            &Path::root()
                .key("spec")
                .key("triggers")
                .index(idx)
                .key("clusterLost"),
            Target::Key,
        )
        .hint(&format!(
            "declare `params.{}: {{type: string}}`, or set `param:` on the trigger",
            trigger.param
        ));
    }
}
