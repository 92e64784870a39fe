//! The evidence the figures rest on: per restore, the objects in the snapshot versus
//! restored; per readiness check, the cluster, namespace and workloads found ready.

use std::collections::BTreeMap;

use lifeboat_runbooks::schema::{ForEach, Runbook, Step};
use lifeboat_runbooks::template::{as_expression, eval, render_str};
use serde_json::{Value, json};

use super::journal::{Inst, real};
use super::{Evidence, RESTORE, ReadinessEvidence, RestoreEvidence, WAIT_READY};
use crate::catalog::{Catalog, RunRecord};

/// The template context of the run, without step outputs (for rendering the
/// cluster and namespace of readiness checks).
pub(super) fn base_context(run: &RunRecord, rb: Option<&Runbook>) -> Value {
    let Some(rb) = rb else { return Value::Null };
    let params = lifeboat_runbooks::planner::resolve_params(rb, &run.params).unwrap_or_default();
    let suffix = rb.namespace_suffix(run.drill);
    json!({
        "params": params,
        "run": {"id": run.id, "runbook": rb.metadata.name, "drill": run.drill,
                "namespaceSuffix": suffix},
    })
}

/// A step input as the run saw it: rendered when possible, else as written.
fn input(step: &Step, key: &str, ctx: &Value, item: Option<usize>) -> Option<String> {
    let raw = step.with.get(key)?;
    let Value::String(text) = raw else {
        return Some(raw.to_string());
    };
    let mut ctx = ctx.clone();
    if let (Some(i), Some(fe)) = (item, &step.for_each) {
        let items = match fe {
            ForEach::Items(v) => Some(Value::Array(v.clone())),
            ForEach::Expr(e) => eval(as_expression(e), &ctx).ok(),
        };
        if let Some(v) = items.as_ref().and_then(|v| v.get(i)) {
            ctx["item"] = v.clone();
        }
    }
    match render_str(text, &ctx) {
        Ok(Value::String(s)) => Some(s),
        Ok(other) => Some(other.to_string()),
        Err(_) => Some(text.clone()),
    }
}

pub(super) fn evidence(
    c: &Catalog,
    rb: Option<&Runbook>,
    ctx: &Value,
    insts: &[Inst],
    notes: &mut Vec<String>,
) -> Evidence {
    let mut ev = Evidence::default();
    for i in real(insts, RESTORE) {
        let Some((_, r)) = &i.success else { continue };
        let restore_id = r["restoreId"].as_str().map(str::to_string);
        let snapshot_id = r["snapshotId"].as_str().map(str::to_string);
        let record = restore_id
            .as_ref()
            .and_then(|id| c.snapshots.restores.get(id));
        if record.is_none() {
            notes.push(format!(
                "restore {} of step `{}` is no longer in the catalog: counts come from the \
                 step's result",
                restore_id.as_deref().unwrap_or("?"),
                i.report.instance()
            ));
        }
        let counts: BTreeMap<String, u64> = match record {
            Some(rec) => rec.counts.clone(),
            None => serde_json::from_value(r["counts"].clone()).unwrap_or_default(),
        };
        let snapshot_objects = r["snapshotObjects"].as_u64().or_else(|| {
            snapshot_id
                .as_ref()
                .and_then(|id| c.snapshots.snapshots.get(id))
                .map(|s| s.object_count)
        });
        ev.restores.push(RestoreEvidence {
            step_id: i.report.step_id.clone(),
            item: i.report.item,
            restore_id,
            snapshot_id,
            snapshot_taken_at_ms: r["snapshotTakenAtMs"].as_u64(),
            snapshot_objects,
            target_cluster: record.map(|rec| rec.target_cluster.clone()),
            namespace_map: record
                .map(|rec| rec.namespace_map.clone())
                .unwrap_or_default(),
            counts,
            restored: r["restored"].as_u64(),
            rpo_ms: r["rpoMs"]
                .as_u64()
                .or_else(|| record.and_then(|rec| rec.rpo_ms)),
        });
    }
    for i in real(insts, WAIT_READY) {
        let Some((_, r)) = &i.success else { continue };
        let step = rb.and_then(|rb| crate::executor::find_step(rb, &i.report.step_id));
        let with = |k: &str| step.and_then(|s| input(s, k, ctx, i.report.item));
        ev.readiness.push(ReadinessEvidence {
            step_id: i.report.step_id.clone(),
            item: i.report.item,
            cluster: r["cluster"]
                .as_str()
                .map(str::to_string)
                .or_else(|| with("cluster")),
            namespace: r["namespace"]
                .as_str()
                .map(str::to_string)
                .or_else(|| with("namespace")),
            ready: serde_json::from_value(r["ready"].clone()).unwrap_or_default(),
            checked: r["checked"].as_u64(),
            waited_ms: r["waitedMs"].as_u64(),
        });
    }
    hollow_evidence(&ev, notes);
    ev
}

/// Warn when the evidence proves little: nothing restored, or no workload checked.
fn hollow_evidence(ev: &Evidence, notes: &mut Vec<String>) {
    for r in &ev.restores {
        if r.restored == Some(0) {
            notes.push(format!(
                "restore `{}` created or updated no object (snapshot {} holds {} object(s)): \
                 check the namespaces the runbook restores",
                crate::catalog::instance_key(&r.step_id, r.item),
                r.snapshot_id.as_deref().unwrap_or("?"),
                r.snapshot_objects
                    .map_or_else(|| "?".into(), |n| n.to_string())
            ));
        }
    }
    for r in &ev.readiness {
        if r.checked == Some(0) {
            notes.push(format!(
                "readiness check `{}` found no workload in namespace {} of cluster {}: the \
                 RTO covers no workload",
                crate::catalog::instance_key(&r.step_id, r.item),
                r.namespace.as_deref().unwrap_or("?"),
                r.cluster.as_deref().unwrap_or("?")
            ));
        }
    }
}
