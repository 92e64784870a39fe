//! `k8s.apply`: server-side apply of a list of manifests, every one checked and its type
//! resolved, and every existing object's fencing token checked, before the first write.

use ::kube::Client;
use serde_json::{Value, json};
use tracing::{info, instrument};

use super::fencing::{Write, fenced_write, read_fenced, stamp};
use super::inputs::{Inputs, cluster_of};
use super::resolve::Types;
use super::target::{Cx, Target};
use super::{capped, resource_version};
use crate::executor::FencingToken;

/// `k8s.apply`: server-side apply of `manifests` (field manager `lifeboat`, taking over
/// fields other managers own). `namespace` is the default for namespaced objects
/// without `metadata.namespace`. Result: `{"applied": N, "objects": ["Kind/ns/name", ...]}`
/// (at most 50 names).
///
/// # Errors
/// A manifest without apiVersion, kind or name, a kind the cluster does not serve, a
/// namespaced object with no namespace, a fencing refusal (found before the first write
/// unless an object changes meanwhile: then nothing is written), or a failed write.
#[instrument(skip_all, fields(step = "k8s.apply", cluster = cluster_of(with), token = %token))]
pub async fn apply(client: &Client, with: &Value, token: FencingToken) -> Result<Value, String> {
    let input = Inputs::new("k8s.apply", with);
    let cx = Cx::new(client, input.cluster()?);
    let default_ns = input.opt_str("namespace")?;
    let manifests = with
        .get("manifests")
        .and_then(Value::as_array)
        .ok_or("k8s.apply: input `manifests` must be a list of objects")?;
    let mut types = Types::new(&cx, "k8s.apply");
    let mut planned = Vec::with_capacity(manifests.len());
    for (i, m) in manifests.iter().enumerate() {
        planned.push(plan_manifest(&mut types, i, m, default_ns).await?);
    }
    // Every existing object is read and checked before the first write: a refusal
    // leaves everything as it was.
    let mut lives = Vec::with_capacity(planned.len());
    for (target, _) in &planned {
        lives.push(read_fenced(&cx, target, token).await?);
    }
    for ((target, body), live) in planned.iter().zip(lives) {
        fenced_write(&cx, target, token, live, |live| {
            let mut body = body.clone();
            stamp(&mut body, token, live.and_then(resource_version));
            Ok((Some(Write::Apply(body)), ()))
        })
        .await?;
    }
    let names: Vec<String> = planned.iter().map(|(t, _)| t.key()).collect();
    info!(applied = names.len(), "applied");
    Ok(json!({"applied": names.len(), "objects": capped(names)}))
}

/// Checks manifest `i` and builds its apply body: the type resolved, the namespace set
/// (or removed, for a cluster-scoped type), server-owned metadata dropped.
async fn plan_manifest(
    types: &mut Types<'_>,
    i: usize,
    m: &Value,
    default_ns: Option<&str>,
) -> Result<(Target, Value), String> {
    let at = format!("k8s.apply: manifests[{i}]");
    let field = |v: Option<&Value>, what: &str| match v.and_then(Value::as_str) {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(format!(
            "{at} has no `{what}` (every manifest needs apiVersion, kind and metadata.name)"
        )),
    };
    if !m.is_object() {
        return Err(format!("{at} is not an object"));
    }
    let kind = field(m.get("kind"), "kind")?;
    let api_version = field(m.get("apiVersion"), "apiVersion")?;
    let name = field(m.pointer("/metadata/name"), "metadata.name")
        .map_err(|e| format!("{e}; server-side apply cannot use generateName"))?;
    let (ar, namespaced) = types.resolve(Some(&api_version), &kind).await?;
    let mut body = m.clone();
    let meta = body["metadata"]
        .as_object_mut()
        .ok_or_else(|| format!("{at}: metadata is not an object"))?;
    for k in [
        "resourceVersion",
        "uid",
        "managedFields",
        "creationTimestamp",
        "generation",
    ] {
        meta.remove(k);
    }
    let namespace = if namespaced {
        let ns = meta
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .or(default_ns)
            .ok_or_else(|| {
                format!(
                    "{at} ({kind} {name}) is namespaced but has no metadata.namespace, and the step has no `namespace` input"
                )
            })?
            .to_string();
        meta.insert("namespace".into(), Value::String(ns.clone()));
        Some(ns)
    } else {
        meta.remove("namespace");
        None
    };
    Ok((Target::new(ar, namespace.as_deref(), &name), body))
}
