//! The template context of a run: `params` (supplied + defaults), `run`, and
//! `steps.ID.{status,outputs}` of finished steps; plus param resolution.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::StepStatus;
use super::state::{End, State};
use crate::schema::{ForEach, Runbook, Step};
use crate::template::render_str;

/// Supplied params checked against the runbook, with defaults filled in.
///
/// # Errors
/// One message per unknown, ill-typed or missing param.
pub fn resolve_params(
    runbook: &Runbook,
    supplied: &BTreeMap<String, Value>,
) -> Result<Map<String, Value>, Vec<String>> {
    let mut out = Map::new();
    let mut errors = Vec::new();
    for name in supplied
        .keys()
        .filter(|k| !runbook.spec.params.contains_key(*k))
    {
        errors.push(format!("unknown param `{name}`"));
    }
    for (name, spec) in &runbook.spec.params {
        match supplied.get(name).or(spec.default.as_ref()) {
            Some(v) => match spec.check(v) {
                Ok(()) => {
                    out.insert(name.clone(), v.clone());
                }
                Err(e) => errors.push(format!("param `{name}`: {e}")),
            },
            None if spec.is_required() => errors.push(format!("missing required param `{name}`")),
            None => {}
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

pub(crate) struct Ctx {
    base: Map<String, Value>,
    steps: Map<String, Value>,
    drill_skip: Vec<String>,
    drill_simulate: Vec<String>,
}

impl Ctx {
    pub(crate) fn new(rb: &Runbook, run: &super::RunContext, params: Map<String, Value>) -> Self {
        let suffix = rb.namespace_suffix(run.drill);
        let mut base = Map::new();
        base.insert("params".into(), Value::Object(params));
        base.insert(
            "run".into(),
            json!({"id": run.run_id, "runbook": rb.metadata.name, "drill": run.drill, "namespaceSuffix": suffix}),
        );
        let drill = rb.spec.drill.as_ref();
        Ctx {
            base,
            steps: Map::new(),
            drill_skip: drill.map(|d| d.skip.clone()).unwrap_or_default(),
            drill_simulate: drill.map(|d| d.simulate.clone()).unwrap_or_default(),
        }
    }

    pub(crate) fn drill_skips(&self, id: &str) -> bool {
        self.drill_skip.iter().any(|s| s == id)
    }

    pub(crate) fn drill_simulates(&self, id: &str) -> bool {
        self.drill_simulate.iter().any(|s| s == id)
    }

    /// The full template context (with `item` and `attempt` when given).
    pub(crate) fn value(&self, item: Option<&Value>, attempt: Option<u32>) -> Value {
        let mut m = self.base.clone();
        m.insert("steps".into(), Value::Object(self.steps.clone()));
        if let Some(item) = item {
            m.insert("item".into(), item.clone());
        }
        if let Some(a) = attempt {
            m.insert("attempt".into(), a.into());
        }
        Value::Object(m)
    }

    /// Publishes a terminal step's status and outputs as `steps.ID`.
    pub(crate) fn set_status(&mut self, step: &Step, status: &StepStatus, state: &State) {
        let name = match status {
            StepStatus::Active => return,
            StepStatus::NotRun => "notRun",
            StepStatus::Skipped => "skipped",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed(_) => "failed",
        };
        let outputs = self.outputs(step, state);
        self.steps
            .insert(step.id.clone(), json!({"status": name, "outputs": outputs}));
    }

    fn outputs(&self, step: &Step, state: &State) -> Value {
        let result_of = |item: Option<usize>| {
            state.attempts.get(&(step.id.clone(), item)).and_then(|a| {
                a.iter().rev().find_map(|a| match &a.end {
                    Some(End::Ok(v)) => Some(v.clone()),
                    _ => None,
                })
            })
        };
        let render = |result: Option<Value>, item: Option<Value>| {
            let mut out = Map::new();
            let Some(result) = result else { return out };
            let mut vars = self.base.clone();
            vars.insert("result".into(), result);
            if let Some(item) = item {
                vars.insert("item".into(), item);
            }
            let vars = Value::Object(vars);
            for (k, t) in &step.outputs {
                if let Ok(v) = render_str(t, &vars) {
                    out.insert(k.clone(), v);
                }
            }
            out
        };
        let Some(for_each) = &step.for_each else {
            return Value::Object(render(result_of(None), None));
        };
        let items: Vec<Value> = match for_each {
            ForEach::Items(items) => items.clone(),
            ForEach::Expr(_) => {
                let n = state
                    .attempts
                    .keys()
                    .filter(|(s, i)| s == &step.id && i.is_some())
                    .count();
                vec![Value::Null; n]
            }
        };
        let per_item: Vec<Map<String, Value>> = (0..items.len())
            .map(|i| render(result_of(Some(i)), Some(items[i].clone())))
            .collect();
        let mut out = Map::new();
        for k in step.outputs.keys() {
            out.insert(
                k.clone(),
                per_item
                    .iter()
                    .map(|m| m.get(k).cloned().unwrap_or(Value::Null))
                    .collect(),
            );
        }
        Value::Object(out)
    }
}
