//! Structure rules: metadata name (RB007), step ids (RB010 duplicate, RB011 reserved or
//! invalid), `needs` to unknown steps (RB012), cycles (RB013), steps that can never run
//! (RB014).

use std::collections::HashMap;

use super::{Ctx, Sink};
use crate::schema::{Condition, StepList};
use crate::spans::{Path, Target};

/// Ids that would shadow template variables or keywords.
pub(crate) const RESERVED_IDS: &[&str] = &[
    "params", "run", "steps", "item", "result", "attempt", "loop", "finally", "cleanup", "true",
    "false", "none", "and", "or", "not", "in", "is", "if", "else",
];

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    check_name(ctx, sink);
    check_ids(ctx, sink);
    for list in &ctx.lists {
        check_needs(ctx, list, sink);
        let cycles = list.graph.cycles();
        for cycle in &cycles {
            let names: Vec<&str> = cycle.iter().map(|&i| list.steps[i].id.as_str()).collect();
            let first = Ctx::step_path(list.kind, cycle[0]).key("needs");
            sink.error(
                "RB013",
                &format!("steps form a cycle: {} -> {}", names.join(" -> "), names[0]),
                &first,
                Target::Key,
            )
            .hint("remove one of these `needs` so the steps form a DAG");
        }
        let ordered = list.graph.topo_order();
        for (i, step) in list.steps.iter().enumerate() {
            let path = Ctx::step_path(list.kind, i);
            let on_cycle = cycles.iter().any(|c| c.contains(&i));
            if !ordered.contains(&i) && !on_cycle {
                sink.error(
                    "RB014",
                    &format!("step `{}` can never start: it depends on a cycle", step.id),
                    &path.key("id"),
                    Target::Value,
                )
                .hint("break the cycle among the steps it needs");
            }
            if matches!(&step.when, Some(Condition::Const(false)))
                || matches!(&step.when, Some(Condition::Expr(e)) if crate::template::as_expression(e) == "false")
            {
                sink.warning(
                    "RB014",
                    &format!(
                        "step `{}` is unreachable: its `when` is always false",
                        step.id
                    ),
                    &path.key("when"),
                    Target::Value,
                )
                .hint("delete the step, or give `when` a real condition");
            }
        }
    }
}

fn check_name(ctx: &Ctx<'_>, sink: &mut Sink) {
    let name = &ctx.rb.metadata.name;
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !ok {
        sink.error(
            "RB007",
            &format!("invalid runbook name `{name}`"),
            &Path::root().key("metadata").key("name"),
            Target::Value,
        )
        .hint("use lowercase letters, digits and `-` (at most 63 characters), e.g. `failover-eu-west`");
    }
}

fn check_ids(ctx: &Ctx<'_>, sink: &mut Sink) {
    let mut seen: HashMap<&str, Path> = HashMap::new();
    for (_, _, step, path) in ctx.steps() {
        let id_path = path.key("id");
        let id = step.id.as_str();
        if let Some(first) = seen.get(id) {
            sink.error(
                "RB010",
                &format!("duplicate step id `{id}` (first at {first})"),
                &id_path,
                Target::Value,
            )
            .hint("step ids must be unique across steps, finally and drill.cleanup");
        } else {
            seen.insert(id, path.clone());
        }
        let valid = id.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if RESERVED_IDS.contains(&id) {
            sink.error(
                "RB011",
                &format!("step id `{id}` is reserved"),
                &id_path,
                Target::Value,
            )
            .hint("reserved ids name template variables or keywords; pick another id");
        } else if !valid {
            sink.error("RB011", &format!("invalid step id `{id}`"), &id_path, Target::Value)
                .hint("ids match [a-z][a-zA-Z0-9_]* so that `steps.ID.outputs` works in templates (no `-`)");
        }
    }
}

fn check_needs(ctx: &Ctx<'_>, list: &super::List<'_>, sink: &mut Sink) {
    for (i, j, name) in &list.graph.unknown {
        let path = Ctx::step_path(list.kind, *i).key("needs").index(*j);
        let elsewhere = ctx
            .steps()
            .find(|(l, _, s, _)| l.kind != list.kind && s.id == *name);
        let hint = match elsewhere {
            Some((l, ..)) if list.kind != StepList::Steps && l.kind == StepList::Steps => {
                "finally and cleanup steps start after every main step has finished; only steps of the same list can be needed".to_string()
            }
            Some(_) => "steps may only need steps of their own list".to_string(),
            None => {
                let close = list
                    .steps
                    .iter()
                    .map(|s| (crate::parse::edit_distance(name, &s.id), s.id.as_str()))
                    .filter(|(d, _)| *d <= 2)
                    .min();
                close.map_or_else(
                    || "`needs` lists ids of steps in the same list".to_string(),
                    |(_, id)| format!("did you mean `{id}`?"),
                )
            }
        };
        sink.error(
            "RB012",
            &format!("step `{}` needs unknown step `{name}`", list.steps[*i].id),
            &path,
            Target::Value,
        )
        .hint(&hint);
    }
}
