//! Template rules: syntax (RB020), undefined params (RB021), unknown steps or outputs
//! (RB022), outputs of steps that are not ancestors (RB023), unknown variables (RB024),
//! secrets rendered where they are logged or sent to people (RB025).
//!
//! Variables: `params.NAME`, `run.{id,runbook,drill,namespaceSuffix}`,
//! `steps.ID.outputs.NAME`, `steps.ID.status`, `item` (forEach steps), `attempt`
//! (steps), `result` (in `outputs` only).

use super::{Ctx, Sink};
use crate::catalogue::{Uses, resolve_uses};
use crate::schema::{Condition, ForEach, ParamType, Step, StepList};
use crate::spans::{Path, Target};
use crate::template::{as_expression, expression_refs, is_template, template_refs};

/// Fields of `run` in templates.
pub const RUN_FIELDS: &[&str] = &["id", "runbook", "drill", "namespaceSuffix"];

/// Where a template sits and what it may read.
struct Site {
    path: Path,
    text: String,
    expression: bool,
    /// `(list, index)` of the step, or `None` at runbook level (concurrency key).
    step: Option<(StepList, usize)>,
    allow_item: bool,
    allow_result: bool,
    /// Rendered into logs, notifications, outputs or keys.
    public: bool,
}

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    for site in sites(ctx) {
        let refs = if site.expression {
            expression_refs(as_expression(&site.text))
        } else {
            template_refs(&site.text)
        };
        match refs {
            Err(e) => {
                sink.error(
                    "RB020",
                    &format!("template error: {e}"),
                    &site.path,
                    Target::Value,
                )
                .hint("templates use minijinja syntax: `{{ params.name }}`");
            }
            Ok(refs) => {
                for r in refs {
                    check_ref(ctx, &site, &r, sink);
                }
            }
        }
    }
}

fn sites(ctx: &Ctx<'_>) -> Vec<Site> {
    let mut out = Vec::new();
    if let Some(c) = &ctx.rb.spec.concurrency {
        out.push(Site {
            path: Path::root().key("spec").key("concurrency").key("key"),
            text: c.key.clone(),
            expression: false,
            step: None,
            allow_item: false,
            allow_result: false,
            public: true,
        });
    }
    for (list, i, step, path) in ctx.steps() {
        step_sites(ctx, (list.kind, i), step, &path, &mut out);
    }
    out
}

fn step_sites(ctx: &Ctx<'_>, at: (StepList, usize), step: &Step, path: &Path, out: &mut Vec<Site>) {
    let has_item = step.for_each.is_some();
    let public_inputs: &[&str] = match resolve_uses(&step.uses) {
        Uses::Builtin(b) => b.public_inputs,
        _ => &[],
    };
    let _ = ctx;
    let mut site = |path: Path,
                    text: &str,
                    expression: bool,
                    allow_item: bool,
                    allow_result: bool,
                    public: bool| {
        out.push(Site {
            path,
            text: text.to_string(),
            expression,
            step: Some(at),
            allow_item,
            allow_result,
            public,
        });
    };
    for (k, v) in &step.with {
        let mut strings = Vec::new();
        collect_strings(v, &path.key("with").key(k), &mut strings);
        for (p, s) in strings {
            site(
                p,
                &s,
                false,
                has_item,
                false,
                public_inputs.contains(&k.as_str()),
            );
        }
    }
    if let Some(Condition::Expr(e)) = &step.when {
        site(path.key("when"), e, true, false, false, false);
    }
    if let Some(ForEach::Expr(e)) = &step.for_each {
        site(path.key("forEach"), e, true, false, false, false);
    }
    if let Some(k) = &step.idempotency_key {
        site(path.key("idempotencyKey"), k, false, has_item, false, true);
    }
    for (name, t) in &step.outputs {
        site(
            path.key("outputs").key(name),
            t,
            false,
            has_item,
            true,
            true,
        );
    }
}

fn collect_strings(v: &serde_json::Value, path: &Path, out: &mut Vec<(Path, String)>) {
    match v {
        serde_json::Value::String(s) if is_template(s) => out.push((path.clone(), s.clone())),
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                collect_strings(x, &path.index(i), out);
            }
        }
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                collect_strings(x, &path.key(k), out);
            }
        }
        _ => {}
    }
}

fn check_ref(ctx: &Ctx<'_>, site: &Site, r: &str, sink: &mut Sink) {
    let segs: Vec<&str> = r.split('.').collect();
    let unknown_var = |sink: &mut Sink, msg: String, hint: &str| {
        sink.error("RB024", &msg, &site.path, Target::Value)
            .hint(hint);
    };
    match segs[0] {
        "params" => {
            let Some(name) = segs.get(1) else { return };
            match ctx.rb.spec.params.get(*name) {
                None => {
                    let hint = format!("declare it under `spec.params.{name}`, or fix the name");
                    sink.error(
                        "RB021",
                        &format!("undefined param `{name}`"),
                        &site.path,
                        Target::Value,
                    )
                    .hint(&hint);
                }
                Some(p) if p.ty == ParamType::Secret && site.public => {
                    sink.error(
                        "RB025",
                        &format!("secret param `{name}` is rendered where it is logged or sent (notifications, URLs, outputs, keys)"),
                        &site.path,
                        Target::Value,
                    )
                    .hint("pass secrets only in inputs that accept them (e.g. http.request `headers`), never in messages");
                }
                Some(_) => {}
            }
        }
        "run" => {
            if let Some(f) = segs.get(1).filter(|f| !RUN_FIELDS.contains(f)) {
                unknown_var(
                    sink,
                    format!("unknown run field `run.{f}`"),
                    &format!("run has: {}", RUN_FIELDS.join(", ")),
                );
            }
        }
        "steps" => check_step_ref(ctx, site, &segs, sink),
        "item" if site.allow_item => {}
        "item" => unknown_var(
            sink,
            "`item` is only defined in the inputs, idempotencyKey and outputs of a forEach step"
                .into(),
            "add `forEach` to the step, or remove `item`",
        ),
        "attempt" if site.step.is_some() => {}
        "result" if site.allow_result => {}
        "result" => unknown_var(
            sink,
            "`result` is only defined in `outputs`".into(),
            "map results to named `outputs`, then use `steps.ID.outputs.NAME`",
        ),
        other => unknown_var(
            sink,
            format!("unknown template variable `{other}`"),
            "templates can use params, run, steps, item (forEach), attempt and result (outputs)",
        ),
    }
}

fn check_step_ref(ctx: &Ctx<'_>, site: &Site, segs: &[&str], sink: &mut Sink) {
    let Some(id) = segs.get(1) else {
        sink.error(
            "RB024",
            "use `steps.ID.outputs.NAME`, not `steps` alone",
            &site.path,
            Target::Value,
        );
        return;
    };
    let Some((target_list, target_i, target)) = ctx
        .steps()
        .find(|(_, _, s, _)| s.id == *id)
        .map(|(l, i, s, _)| (l.kind, i, s))
    else {
        sink.error(
            "RB022",
            &format!("unknown step `{id}` in template"),
            &site.path,
            Target::Value,
        )
        .hint("refer to the id of an earlier step");
        return;
    };
    let Some((list, i)) = site.step else {
        sink.error(
            "RB024",
            "the concurrency key can only use params and run",
            &site.path,
            Target::Value,
        )
        .hint("the key is rendered before any step runs");
        return;
    };
    let visible = if list == target_list {
        let graph = &ctx.lists.iter().find(|l| l.kind == list).map(|l| &l.graph);
        graph.is_some_and(|g| g.ancestors(i).contains(&target_i))
    } else {
        // finally runs after all steps; cleanup after steps and finally.
        matches!(
            (list, target_list),
            (StepList::Finally, StepList::Steps)
                | (StepList::Cleanup, StepList::Steps | StepList::Finally)
        )
    };
    if !visible {
        sink.error(
            "RB023",
            &format!("`steps.{id}` is not an ancestor of this step, so it may not have run yet"),
            &site.path,
            Target::Value,
        )
        .hint(&format!(
            "add `{id}` to this step's `needs` (directly or through another step)"
        ));
        return;
    }
    match segs.get(2) {
        None | Some(&"status") => {}
        Some(&"outputs") => {
            if let Some(out) = segs.get(3).filter(|o| !target.outputs.contains_key(**o)) {
                let declared: Vec<&str> = target.outputs.keys().map(String::as_str).collect();
                sink.error("RB022", &format!("step `{id}` has no output `{out}`"), &site.path, Target::Value)
                    .hint(&if declared.is_empty() {
                        format!("declare it: `outputs: {{{out}: \"{{{{ result.FIELD }}}}\"}}` on step `{id}`")
                    } else {
                        format!("declared outputs: {}", declared.join(", "))
                    });
            }
        }
        Some(other) => {
            sink.error(
                "RB022",
                &format!("unknown step field `steps.{id}.{other}`"),
                &site.path,
                Target::Value,
            )
            .hint("steps expose `outputs` and `status`");
        }
    }
}
