//! Safety rules: a mutating step without `timeout` (RB040), `retry` without
//! `idempotencyKey` (RB041), bad retry/backoff numbers (RB042), approval without
//! `timeout` (RB043) or `onTimeout` (RB044), a mutating runbook without a concurrency
//! key naming the target cluster (RB045), `onTimeout` on a non-approval step (RB046).

use std::collections::BTreeSet;

use super::{Ctx, Sink};
use crate::catalogue::{Uses, resolve_uses};
use crate::schema::Step;
use crate::spans::{Path, Target};
use crate::template::{is_template, template_refs};

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    for (_, _, step, path) in ctx.steps() {
        let effect = ctx.effect(step);
        let is_approval = step.uses == "approval";
        if effect.mutating && step.timeout.is_none() {
            sink.error(
                "RB040",
                &format!(
                    "mutating step `{}` ({}) has no `timeout`",
                    step.id, step.uses
                ),
                &path.key("uses"),
                Target::Value,
            )
            .hint("add e.g. `timeout: 10m`; a stuck effect would otherwise hold the run forever");
        }
        check_retry(step, &path, effect.mutating, sink);
        if is_approval {
            if step.timeout.is_none() {
                sink.error(
                    "RB043",
                    &format!("approval step `{}` has no `timeout`", step.id),
                    &path.key("uses"),
                    Target::Value,
                )
                .hint("add e.g. `timeout: 30m` and an explicit `onTimeout: approve|reject`");
            }
            if step.on_timeout.is_none() {
                sink.error(
                    "RB044",
                    &format!("approval step `{}` has no `onTimeout`", step.id),
                    &path.key("uses"),
                    Target::Value,
                )
                .hint("say what happens when nobody answers: `onTimeout: reject` (or `approve`)");
            }
        } else if step.on_timeout.is_some() {
            sink.warning("RB046", &format!("`onTimeout` has no effect on `{}` steps", step.uses), &path.key("onTimeout"), Target::Key)
                .hint("only approval steps use `onTimeout`; a timed-out step fails (see `retry`, `onFailure`)");
        }
    }
    check_concurrency(ctx, sink);
}

fn check_retry(step: &Step, path: &Path, mutating: bool, sink: &mut Sink) {
    let Some(retry) = &step.retry else { return };
    let rp = path.key("retry");
    if retry.max_attempts == 0 {
        sink.error(
            "RB042",
            "`retry.maxAttempts` must be at least 1",
            &rp.key("maxAttempts"),
            Target::Value,
        )
        .hint("maxAttempts counts the first attempt too; use 1 for no retry");
    }
    if retry.max_attempts > 1 && step.idempotency_key.is_none() {
        let msg = format!("step `{}` retries without an `idempotencyKey`", step.id);
        let hint =
            "add e.g. `idempotencyKey: \"{{ run.id }}/STEP\"` so a retried effect is applied once";
        if mutating {
            sink.error("RB041", &msg, &rp, Target::Key).hint(hint);
        } else {
            sink.warning("RB041", &msg, &rp, Target::Key).hint(hint);
        }
    }
    let Some(b) = &retry.backoff else { return };
    let bp = rp.key("backoff");
    if b.initial.0 == 0 {
        sink.error(
            "RB042",
            "`backoff.initial` must be greater than 0",
            &bp.key("initial"),
            Target::Value,
        )
        .hint("e.g. `initial: 1s`");
    }
    if !(b.factor.is_finite() && b.factor >= 1.0) {
        sink.error(
            "RB042",
            &format!("`backoff.factor` {} must be >= 1", b.factor),
            &bp.key("factor"),
            Target::Value,
        )
        .hint("use 1 for constant delays, 2 to double each time");
    }
    if let Some(max) = b.max.filter(|m| *m < b.initial) {
        sink.error(
            "RB042",
            &format!(
                "`backoff.max` ({max}) is below `backoff.initial` ({})",
                b.initial
            ),
            &bp.key("max"),
            Target::Value,
        )
        .hint("max caps the delay; make it at least `initial`");
    }
    if retry.max_attempts == 1 {
        sink.warning(
            "RB042",
            "`backoff` has no effect with `maxAttempts: 1`",
            &bp,
            Target::Key,
        )
        .hint("raise maxAttempts or remove backoff");
    }
}

/// Params and literal names designating the clusters mutating steps act on.
fn target_clusters(ctx: &Ctx<'_>) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut params = BTreeSet::new();
    let mut literals = BTreeSet::new();
    if let Some(t) = ctx.rb.automatic_trigger() {
        params.insert(t.param.clone());
    }
    for (_, _, step, _) in ctx.steps() {
        let Uses::Builtin(b) = resolve_uses(&step.uses) else {
            continue;
        };
        if !b.is_mutating(&step.with) {
            continue;
        }
        for input in b.cluster_inputs {
            match step.with.get(*input).and_then(|v| v.as_str()) {
                Some(s) if is_template(s) => {
                    for r in template_refs(s).unwrap_or_default() {
                        if let Some(p) = r.strip_prefix("params.") {
                            params.insert(p.split('.').next().unwrap_or(p).to_string());
                        }
                    }
                }
                Some(s) => {
                    literals.insert(s.to_string());
                }
                None => {}
            }
        }
    }
    (params, literals)
}

fn check_concurrency(ctx: &Ctx<'_>, sink: &mut Sink) {
    let mutating = ctx.steps().find(|(_, _, s, _)| ctx.effect(s).mutating);
    let Some((_, _, first, _)) = mutating else {
        return;
    };
    let (params, literals) = target_clusters(ctx);
    let names: Vec<String> = params
        .iter()
        .map(|p| format!("{{{{ params.{p} }}}}"))
        .chain(literals.iter().cloned())
        .collect();
    let example = names
        .first()
        .cloned()
        .unwrap_or_else(|| "{{ params.cluster }}".into());
    let spec = Path::root().key("spec");
    let Some(c) = &ctx.rb.spec.concurrency else {
        sink.error(
            "RB045",
            &format!(
                "the runbook mutates (step `{}`) but has no concurrency key",
                first.id
            ),
            &spec,
            Target::Key,
        )
        .hint(&format!(
            "add `concurrency: {{key: \"failover/{example}\", onConflict: reject}}`"
        ));
        return;
    };
    if params.is_empty() && literals.is_empty() {
        return;
    }
    let refs = template_refs(&c.key).unwrap_or_default();
    let names_param = refs.iter().any(|r| {
        r.strip_prefix("params.")
            .is_some_and(|p| params.contains(p.split('.').next().unwrap_or(p)))
    });
    let names_literal = literals.iter().any(|l| c.key.contains(l.as_str()));
    if !names_param && !names_literal {
        sink.error(
            "RB045",
            "the concurrency key does not name the target cluster",
            &spec.key("concurrency").key("key"),
            Target::Value,
        )
        .hint(&format!(
            "include the cluster the runbook acts on, e.g. `failover/{example}`; candidates: {}",
            names.join(", ")
        ));
    }
}
