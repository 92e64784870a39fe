//! Drill rules: a drill that reaches a production-only effect without a drill override
//! (RB050); drill lists naming unknown steps (RB051).
//!
//! A step is overridden when it is in `drill.skip` or `drill.simulate`, or its `when`
//! mentions `run.drill`. Otherwise: `cluster.fence`/`cluster.unfence` (and plugins
//! registered as production-only) are refused; `k8s.*` writes and `snapshot.restore`
//! need a namespace input using `run.namespaceSuffix`; `http.request` needs a URL
//! starting with an entry of `drill.httpAllowlist`. `drill.cleanup` steps only run in
//! drills and are not checked.

use super::{Ctx, Sink};
use crate::catalogue::DrillEffect;
use crate::schema::{Condition, ForEach, Step, StepList};
use crate::spans::{Path, Target};

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    let drill_path = Path::root().key("spec").key("drill");
    let drill = ctx.rb.spec.drill.as_ref();
    if let Some(d) = drill {
        for (field, ids) in [("skip", &d.skip), ("simulate", &d.simulate)] {
            for (i, id) in ids.iter().enumerate() {
                if !ctx.steps().any(|(_, _, s, _)| s.id == *id) {
                    sink.error(
                        "RB051",
                        &format!("drill.{field} names unknown step `{id}`"),
                        &drill_path.key(field).index(i),
                        Target::Value,
                    )
                    .hint("list ids of steps in `steps` or `finally`");
                }
            }
        }
    }
    if !ctx.rb.drillable() {
        return;
    }
    let overridden = |s: &Step| {
        drill.is_some_and(|d| d.skip.contains(&s.id) || d.simulate.contains(&s.id))
            || mentions_drill(s)
    };
    for (list, _, step, path) in ctx.steps() {
        if list.kind == StepList::Cleanup || overridden(step) {
            continue;
        }
        let effect = ctx.effect(step);
        let problem = match effect.drill {
            DrillEffect::None => None,
            DrillEffect::ProductionOnly => Some(format!("`{}` is production-only", step.uses)),
            DrillEffect::Namespaced if effect.mutating => {
                let isolated = effect.builtin.is_some_and(|b| {
                    b.namespace_inputs
                        .iter()
                        .any(|i| step.with.get(*i).is_some_and(uses_suffix))
                });
                (!isolated).then(|| {
                    format!(
                        "`{}` writes to production namespaces (no `run.namespaceSuffix`)",
                        step.uses
                    )
                })
            }
            DrillEffect::Namespaced => None,
            DrillEffect::Http => {
                let url = step.with.get("url").and_then(|u| u.as_str()).unwrap_or("");
                let literal = url.split("{{").next().unwrap_or("");
                let allowed = drill.is_some_and(|d| {
                    d.http_allowlist
                        .iter()
                        .any(|a| !a.is_empty() && literal.starts_with(a.as_str()))
                });
                (!allowed)
                    .then(|| format!("`http.request` to `{url}` is not in `drill.httpAllowlist`"))
            }
        };
        if let Some(problem) = problem {
            sink.error("RB050", &format!("a drill reaches step `{}`: {problem}", step.id), &path.key("uses"), Target::Value)
                .hint(&format!("add `{}` to `spec.drill.skip` or `spec.drill.simulate`, or guard it with `when: \"not run.drill\"`", step.id));
        }
    }
}

fn mentions_drill(step: &Step) -> bool {
    let when = matches!(&step.when, Some(Condition::Expr(e)) if e.contains("run.drill"));
    let for_each = matches!(&step.for_each, Some(ForEach::Expr(e)) if e.contains("run.drill"));
    when || for_each
}

fn uses_suffix(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains("run.namespaceSuffix"),
        serde_json::Value::Object(m) => !m.is_empty() && m.values().all(uses_suffix),
        _ => false,
    }
}
