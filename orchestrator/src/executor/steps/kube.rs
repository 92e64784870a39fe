//! The Kubernetes built-in steps: `k8s.apply`, `k8s.patch`, `k8s.scale`, `k8s.delete`,
//! `k8s.waitReady`, and the workload scale-down and scale-up behind `cluster.fence` and
//! `cluster.unfence`.
//!
//! Each function takes a step's rendered `with` block (schemas in
//! `lifeboat_runbooks::catalogue`) and a plain [`kube::Client`] for the step's cluster,
//! performs the effect, and returns the step's `result` (small: counts and names) or a
//! message saying what was wrong, on which object in which cluster, and what to do. The
//! executor retries errors by the runbook's retry policy and re-runs a step after a
//! leader change, so every effect is idempotent: server-side apply, merge patches that
//! set absolute values, deletes for which "already gone" is success, a fence scale-down
//! that keeps the first recorded replica count. Inputs are checked, and every type
//! resolved, before the first write.
//!
//! # Fencing
//!
//! Every object written carries the annotation `lifeboat.dev/fencing-token: "TERM.INDEX"`,
//! the token of the step attempt that last wrote it. Before writing an object that exists,
//! a step reads it and refuses if it carries a greater token: a newer leader has acted on
//! it, and this attempt is stale. An equal token is this same attempt run again, and goes
//! ahead. One helper does this for every step ([`fenced_write`]).
//!
//! The check is read-then-write, so it has a race window: a newer leader may write the
//! object between our read and our write. The window is closed for objects that existed
//! when read: the write carries the resourceVersion that was read as a precondition (in
//! the apply body, the merge or strategic patch, a JSON patch op, the delete
//! preconditions), so a write in between makes ours fail with 409, and the step reads
//! and checks again (up to [`WRITE_ATTEMPTS`] times). It stays open for an object that
//! was absent when read and is created by a newer leader before our server-side apply
//! (the apply then updates it). Writers that do not stamp tokens (people with kubectl)
//! are only caught by the resourceVersion precondition, not refused.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ::kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, Preconditions,
};
use ::kube::core::GroupVersionKind;
use ::kube::discovery::{ApiResource, Discovery, Scope, pinned_kind};
use ::kube::{Client, Error as KubeError};
use serde_json::{Map, Value, json};
use tracing::{debug, info, instrument};

use crate::executor::FencingToken;

/// The annotation holding the fencing token of the attempt that last wrote an object.
pub const FENCING_TOKEN_ANNOTATION: &str = "lifeboat.dev/fencing-token";
/// The annotation holding a workload's replica count before `cluster.fence` scaled it to 0.
pub const REPLICAS_BEFORE_FENCE_ANNOTATION: &str = "lifeboat.dev/replicas-before-fence";
/// The server-side apply field manager of every write.
pub const FIELD_MANAGER: &str = "lifeboat";
/// How many times a write is tried when the object changes between read and write.
pub const WRITE_ATTEMPTS: u32 = 5;

/// Namespaces whose workloads `cluster.fence` never scales.
const SYSTEM_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];
/// Results list at most this many object names.
const LISTED_NAMES: usize = 50;
/// `k8s.waitReady` polls this often.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// The workload kinds `k8s.scale` accepts.
const SCALABLE: [&str; 3] = ["Deployment", "StatefulSet", "ReplicaSet"];

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

/// `k8s.patch`: patch one existing object (`patchType` merge, the default, strategic or
/// json). Without `apiVersion`, the kind is looked up, preferring the core and `apps`
/// groups. Result: `{"patched": "Kind/ns/name"}`. Merge and strategic patches are
/// idempotent; a JSON patch is as idempotent as its operations.
///
/// # Errors
/// Bad inputs, an unknown kind, an absent object (create it with `k8s.apply`), a
/// fencing refusal, or a patch the server rejects.
#[instrument(skip_all, fields(step = "k8s.patch", cluster = cluster_of(with), token = %token))]
pub async fn patch(client: &Client, with: &Value, token: FencingToken) -> Result<Value, String> {
    let input = Inputs::new("k8s.patch", with);
    let cx = Cx::new(client, input.cluster()?);
    let target = input.target(&mut Types::new(&cx, "k8s.patch")).await?;
    let patch_type = input.opt_str("patchType")?.unwrap_or("merge");
    let body = with
        .get("patch")
        .ok_or("k8s.patch: input `patch` is missing")?;
    match (patch_type, body) {
        ("merge" | "strategic", Value::Object(_)) | ("json", Value::Array(_)) => {}
        ("merge" | "strategic" | "json", _) => {
            return Err(format!(
                "k8s.patch: a {patch_type} patch must be {}; got {body}",
                if patch_type == "json" {
                    "a list of operations"
                } else {
                    "an object"
                }
            ));
        }
        (other, _) => {
            return Err(format!(
                "k8s.patch: patchType `{other}` is not one of merge, strategic, json"
            ));
        }
    }
    let live = read_fenced(&cx, &target, token).await?.ok_or_else(|| {
        format!(
            "k8s.patch: {} not found{}: k8s.patch changes existing objects; create it with k8s.apply",
            target.describe(),
            cx.in_cluster()
        )
    })?;
    fenced_write(&cx, &target, token, Some(live), |live| {
        let write = match patch_type {
            "json" => Write::Json(fenced_json_patch(body, token, live)),
            kind => {
                let mut fenced = body.clone();
                stamp(&mut fenced, token, live.and_then(resource_version));
                if kind == "strategic" {
                    Write::Strategic(fenced)
                } else {
                    Write::Merge(fenced)
                }
            }
        };
        Ok((Some(write), ()))
    })
    .await?;
    Ok(json!({"patched": target.key()}))
}

/// `k8s.scale`: set `spec.replicas` of a Deployment (default), StatefulSet or ReplicaSet.
/// Result: `{"previous": n, "replicas": m}`, `previous` being the count read before the
/// write (on a re-run of the same attempt, the count the first run set).
///
/// # Errors
/// Bad inputs, an absent workload, a fencing refusal, or a failed write.
#[instrument(skip_all, fields(step = "k8s.scale", cluster = cluster_of(with), token = %token))]
pub async fn scale(client: &Client, with: &Value, token: FencingToken) -> Result<Value, String> {
    let input = Inputs::new("k8s.scale", with);
    let cx = Cx::new(client, input.cluster()?);
    let namespace = input.str("namespace")?;
    let name = input.str("name")?;
    let kind = input.opt_str("kind")?.unwrap_or("Deployment");
    if !SCALABLE.contains(&kind) {
        return Err(format!(
            "k8s.scale: kind `{kind}` cannot be scaled; use one of {}",
            SCALABLE.join(", ")
        ));
    }
    let replicas = with
        .get("replicas")
        .and_then(Value::as_u64)
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| {
            format!(
                "k8s.scale: input `replicas` must be a whole number from 0 to {}; got {}",
                i32::MAX,
                with.get("replicas").unwrap_or(&Value::Null)
            )
        })?;
    let target = Target::new(workload_resource(kind), Some(namespace), name);
    let live = read_fenced(&cx, &target, token).await?.ok_or_else(|| {
        format!(
            "k8s.scale: {} not found{}",
            target.describe(),
            cx.in_cluster()
        )
    })?;
    let previous = fenced_write(&cx, &target, token, Some(live), |live| {
        let live = live.ok_or_else(|| {
            format!(
                "k8s.scale: {} was deleted while being scaled",
                target.describe()
            )
        })?;
        let mut body = json!({"spec": {"replicas": replicas}});
        stamp(&mut body, token, resource_version(live));
        Ok((Some(Write::Merge(body)), spec_replicas(live)))
    })
    .await?;
    info!(%namespace, %name, previous, replicas, "scaled");
    Ok(json!({"previous": previous, "replicas": replicas}))
}

/// `k8s.delete`: delete one object (background propagation; the call does not wait for
/// finalizers). Result: `{"deleted": true}`, or `{"deleted": false}` if it was already
/// absent.
///
/// # Errors
/// Bad inputs, an unknown kind, a fencing refusal, or a failed delete.
#[instrument(skip_all, fields(step = "k8s.delete", cluster = cluster_of(with), token = %token))]
pub async fn delete(client: &Client, with: &Value, token: FencingToken) -> Result<Value, String> {
    let input = Inputs::new("k8s.delete", with);
    let cx = Cx::new(client, input.cluster()?);
    let target = input.target(&mut Types::new(&cx, "k8s.delete")).await?;
    let live = read_fenced(&cx, &target, token).await?;
    if live.is_none() {
        return Ok(json!({"deleted": false}));
    }
    let deleted = fenced_write(&cx, &target, token, live, |live| {
        Ok(match live {
            None => (None, false),
            Some(l) => (
                Some(Write::Delete(Preconditions {
                    resource_version: l.metadata.resource_version.clone(),
                    uid: l.metadata.uid.clone(),
                })),
                true,
            ),
        })
    })
    .await?;
    info!(object = %target.key(), deleted, "delete");
    Ok(json!({"deleted": deleted}))
}

/// `k8s.waitReady`: poll (every 500 ms) the Deployments, StatefulSets and Jobs of
/// `namespace`, narrowed by `kind`, `name` and label `selector`, until all are ready:
/// `readyReplicas >= spec.replicas` and `observedGeneration >= generation` for
/// Deployments and StatefulSets, `succeeded >= completions` for Jobs. Result:
/// `{"ready": ["Kind/name", ...], "checked": N, "waitedMs": ms}`; nothing matching is
/// success with `checked: 0` unless `name` was given.
///
/// It waits forever: the executor bounds it by dropping the future at the step's
/// timeout. That is safe at any await point (it only reads). Transient API errors are
/// logged and retried.
///
/// # Errors
/// Bad inputs, `name` given and no such workload, or a non-transient API error (a bad
/// selector, missing permissions).
#[instrument(skip_all, fields(step = "k8s.waitReady", cluster = cluster_of(with)))]
pub async fn wait_ready(client: &Client, with: &Value) -> Result<Value, String> {
    let input = Inputs::new("k8s.waitReady", with);
    let cx = Cx::new(client, input.cluster()?);
    let namespace = input.str("namespace")?;
    let name = input.opt_str("name")?;
    let selector = input.opt_str("selector")?;
    let kinds: Vec<&str> = match input.opt_str("kind")? {
        None => WAITABLE.to_vec(),
        Some(k) => vec![
            *WAITABLE
                .iter()
                .find(|w| w.eq_ignore_ascii_case(k))
                .ok_or_else(|| {
                    format!(
                        "k8s.waitReady: kind `{k}` cannot be waited for; use one of {}",
                        WAITABLE.join(", ")
                    )
                })?,
        ],
    };
    let mut lp = ListParams::default();
    if let Some(s) = selector {
        lp = lp.labels(s);
    }
    if let Some(n) = name {
        lp = lp.fields(&format!("metadata.name={n}"));
    }
    let started = Instant::now();
    loop {
        match poll_workloads(client, namespace, &kinds, &lp).await {
            Ok(found) => {
                if found.is_empty()
                    && let Some(n) = name
                {
                    let what = match kinds.as_slice() {
                        [one] => one.to_ascii_lowercase(),
                        _ => "workload (Deployment, StatefulSet or Job)".into(),
                    };
                    return Err(format!(
                        "k8s.waitReady: {what} {namespace}/{n} not found{}",
                        cx.in_cluster()
                    ));
                }
                let waiting: Vec<&Workload> =
                    found.iter().filter(|w| w.why_not.is_some()).collect();
                if waiting.is_empty() {
                    let names: Vec<String> = found.iter().map(|w| w.key.clone()).collect();
                    return Ok(json!({
                        "checked": names.len(),
                        "ready": capped(names),
                        "waitedMs": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    }));
                }
                let report: Vec<String> = waiting
                    .iter()
                    .map(|w| format!("{}: {}", w.key, w.why_not.as_deref().unwrap_or("")))
                    .collect();
                debug!(%namespace, waiting = ?report, "not ready yet");
            }
            Err(e) if transient(&e) => {
                debug!(%namespace, error = %describe_error(&e), "transient error; polling again");
            }
            Err(e) => {
                return Err(format!(
                    "k8s.waitReady: listing workloads in namespace {namespace}{} failed: {}{}",
                    cx.in_cluster(),
                    describe_error(&e),
                    hint(&e)
                ));
            }
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// For `cluster.fence` when the fenced cluster still answers: scale every Deployment and
/// StatefulSet outside `kube-system`, `kube-public` and `kube-node-lease` to 0, recording
/// the count it had in the annotation `lifeboat.dev/replicas-before-fence` (kept as is
/// when already there, so a re-run does not record 0). Result: `{"scaledToZero": N}`,
/// the workloads now held at zero by a fence.
///
/// # Errors
/// A listing failure, or some workloads that could not be scaled (fencing refusals
/// included; the others were scaled, and a re-run finishes the job).
#[instrument(skip_all, fields(step = "cluster.fence", token = %token))]
pub async fn scale_all_to_zero(client: &Client, token: FencingToken) -> Result<Value, String> {
    let cx = Cx::new(client, "");
    let mut held = 0u64;
    let mut failures = Vec::new();
    for (target, live) in list_workloads(&cx).await? {
        let r = fenced_write(&cx, &target, token, Some(live), |live| {
            Ok(live.map_or((None, false), |l| fence_decision(l, token)))
        })
        .await;
        match r {
            Ok(true) => held += 1,
            Ok(false) => {}
            Err(e) => failures.push(e),
        }
    }
    info!(held, failed = failures.len(), "scaled workloads to zero");
    finish(
        json!({"scaledToZero": held}),
        held,
        "scaled to zero",
        &failures,
    )
}

/// For `cluster.unfence`: undo [`scale_all_to_zero`], setting each annotated workload's
/// replicas back to the recorded count and removing the annotation. Result:
/// `{"restored": N}` (0 on a re-run: nothing is annotated any more).
///
/// # Errors
/// A listing failure, or some workloads that could not be restored (an annotation that
/// is not a count, a fencing refusal, a failed write; the others were restored).
#[instrument(skip_all, fields(step = "cluster.unfence", token = %token))]
pub async fn restore_replicas_after_fence(
    client: &Client,
    token: FencingToken,
) -> Result<Value, String> {
    let cx = Cx::new(client, "");
    let mut restored = 0u64;
    let mut failures = Vec::new();
    for (target, live) in list_workloads(&cx).await? {
        if annotation(&live, REPLICAS_BEFORE_FENCE_ANNOTATION).is_none() {
            continue;
        }
        let r = fenced_write(&cx, &target, token, Some(live), |live| match live {
            Some(l) => unfence_decision(&target, l, token),
            None => Ok((None, false)),
        })
        .await;
        match r {
            Ok(true) => restored += 1,
            Ok(false) => {}
            Err(e) => failures.push(e),
        }
    }
    info!(
        restored,
        failed = failures.len(),
        "restored replicas after fence"
    );
    finish(
        json!({"restored": restored}),
        restored,
        "restored",
        &failures,
    )
}

/// What `cluster.fence` does to one workload: scale it to 0, recording the count it had
/// unless one is recorded already. The flag: it is (now) held at zero by a fence.
fn fence_decision(live: &DynamicObject, token: FencingToken) -> (Option<Write>, bool) {
    let recorded = annotation(live, REPLICAS_BEFORE_FENCE_ANNOTATION);
    let replicas = spec_replicas(live);
    match (recorded, replicas) {
        (None, 0) => (None, false),
        (Some(_), 0) => (None, true),
        _ => {
            let before = recorded.map_or_else(|| replicas.to_string(), str::to_string);
            let mut body = json!({"spec": {"replicas": 0},
                "metadata": {"annotations": {REPLICAS_BEFORE_FENCE_ANNOTATION: before}}});
            stamp(&mut body, token, resource_version(live));
            (Some(Write::Merge(body)), true)
        }
    }
}

/// What `cluster.unfence` does to one workload: restore the recorded count and remove
/// the annotation. The flag: it was restored.
fn unfence_decision(
    target: &Target,
    live: &DynamicObject,
    token: FencingToken,
) -> Result<(Option<Write>, bool), String> {
    let Some(recorded) = annotation(live, REPLICAS_BEFORE_FENCE_ANNOTATION) else {
        return Ok((None, false));
    };
    let count: u32 = recorded.parse().map_err(|_| {
        format!(
            "{} has annotation {REPLICAS_BEFORE_FENCE_ANNOTATION}: \"{recorded}\", which is not a replica count: set its replicas by hand and remove the annotation",
            target.describe()
        )
    })?;
    let mut body = json!({"spec": {"replicas": count},
        "metadata": {"annotations": {REPLICAS_BEFORE_FENCE_ANNOTATION: null}}});
    stamp(&mut body, token, resource_version(live));
    Ok((Some(Write::Merge(body)), true))
}

// ---------------------------------------------------------------------------------------
// Fencing: read, check the token, write with the read resourceVersion as a precondition.

/// Reads the object behind `target` (None: absent) and refuses if it carries a fencing
/// token newer than `ours`.
async fn read_fenced(
    cx: &Cx<'_>,
    target: &Target,
    ours: FencingToken,
) -> Result<Option<DynamicObject>, String> {
    let live = target
        .api(cx.client)
        .get_opt(&target.name)
        .await
        .map_err(|e| cx.failed("reading", target, &e))?;
    if let Some(l) = &live {
        check_fence(target, l, ours)?;
    }
    Ok(live)
}

/// Refuses when `live` carries a fencing token greater than `ours` (or one that does not
/// parse: then no one can tell which leader wrote it).
fn check_fence(target: &Target, live: &DynamicObject, ours: FencingToken) -> Result<(), String> {
    let Some(theirs) = annotation(live, FENCING_TOKEN_ANNOTATION) else {
        return Ok(());
    };
    match theirs.parse::<FencingToken>() {
        Ok(t) if t > ours => Err(format!(
            "refused: {} carries fencing token {t}, newer than this attempt's {ours}: a newer leader has acted on it",
            target.describe()
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "refused: {} carries a malformed fencing token ({e}), so Lifeboat cannot tell whether a newer leader wrote it: check the object, then remove its annotation {FENCING_TOKEN_ANNOTATION}",
            target.describe()
        )),
    }
}

/// A write, decided from the object as read (pure), performed by [`perform`].
#[derive(Debug)]
enum Write {
    /// Server-side apply of this body (field manager `lifeboat`, forced).
    Apply(Value),
    /// JSON merge patch.
    Merge(Value),
    /// Strategic merge patch.
    Strategic(Value),
    /// JSON patch (a list of operations).
    Json(Value),
    /// Delete, if the object still has this resourceVersion and uid.
    Delete(Preconditions),
}

/// Checks the fencing token of the object as last read (`live`; None: absent), then
/// writes what `decide` makes of it, returning what `decide` says to return. `decide` must carry `live`'s
/// resourceVersion in the write as a precondition ([`stamp`]); when the write fails with
/// 409 (the object changed since it was read), or a delete with 404, the object is read
/// and checked again and `decide` asked again, up to [`WRITE_ATTEMPTS`] writes in all.
async fn fenced_write<T>(
    cx: &Cx<'_>,
    target: &Target,
    ours: FencingToken,
    mut live: Option<DynamicObject>,
    mut decide: impl FnMut(Option<&DynamicObject>) -> Result<(Option<Write>, T), String>,
) -> Result<T, String> {
    let mut attempt = 1;
    loop {
        if let Some(l) = &live {
            check_fence(target, l, ours)?;
        }
        let (write, out) = decide(live.as_ref())?;
        let Some(write) = write else {
            return Ok(out);
        };
        let deleting = matches!(write, Write::Delete(_));
        match perform(cx.client, target, write).await {
            Ok(()) => return Ok(out),
            Err(e)
                if attempt < WRITE_ATTEMPTS
                    && (status(&e) == Some(409) || (deleting && status(&e) == Some(404))) =>
            {
                debug!(object = %target.key(), attempt, "changed since read; reading again");
                attempt += 1;
                live = read_fenced(cx, target, ours).await?;
            }
            Err(e) => return Err(cx.failed("writing", target, &e)),
        }
    }
}

/// Sends one write.
async fn perform(client: &Client, target: &Target, write: Write) -> Result<(), KubeError> {
    let api = target.api(client);
    let name = &target.name;
    let merge = PatchParams::default();
    match write {
        Write::Apply(body) => {
            let params = PatchParams::apply(FIELD_MANAGER).force();
            api.patch(name, &params, &Patch::Apply(&body))
                .await
                .map(drop)
        }
        Write::Merge(body) => api
            .patch(name, &merge, &Patch::Merge(&body))
            .await
            .map(drop),
        Write::Strategic(body) => api
            .patch(name, &merge, &Patch::Strategic(&body))
            .await
            .map(drop),
        Write::Json(ops) => {
            // kube's typed JSON patch needs a crate feature we do not enable.
            let body = serde_json::to_vec(&ops).map_err(KubeError::SerdeError)?;
            let req = http::Request::patch(format!("{}/{name}", api.resource_url()))
                .header(http::header::CONTENT_TYPE, "application/json-patch+json")
                .body(body)
                .map_err(|e| {
                    KubeError::BuildRequest(::kube::core::request::Error::BuildRequest(e))
                })?;
            client.request::<Value>(req).await.map(drop)
        }
        Write::Delete(pre) => api
            .delete(name, &DeleteParams::background().preconditions(pre))
            .await
            .map(drop),
    }
}

/// Sets the fencing token annotation of `body` (an object or a merge patch), and its
/// `metadata.resourceVersion` precondition when given.
fn stamp(body: &mut Value, token: FencingToken, resource_version: Option<&str>) {
    let Some(obj) = body.as_object_mut() else {
        return;
    };
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    let annotations = &mut meta["annotations"];
    if !annotations.is_object() {
        *annotations = Value::Object(Map::new());
    }
    annotations[FENCING_TOKEN_ANNOTATION] = Value::String(token.to_string());
    match resource_version {
        Some(rv) => meta["resourceVersion"] = Value::String(rv.to_string()),
        None => {
            meta.as_object_mut().map(|m| m.remove("resourceVersion"));
        }
    }
}

/// A JSON patch preceded by operations that set the resourceVersion precondition and the
/// fencing token.
fn fenced_json_patch(ops: &Value, token: FencingToken, live: Option<&DynamicObject>) -> Value {
    let mut all = Vec::new();
    if let Some(rv) = live.and_then(resource_version) {
        all.push(json!({"op": "replace", "path": "/metadata/resourceVersion", "value": rv}));
    }
    if live.is_some_and(|l| l.metadata.annotations.is_some()) {
        let path = format!(
            "/metadata/annotations/{}",
            FENCING_TOKEN_ANNOTATION
                .replace('~', "~0")
                .replace('/', "~1")
        );
        all.push(json!({"op": "add", "path": path, "value": token.to_string()}));
    } else {
        all.push(json!({"op": "add", "path": "/metadata/annotations",
                        "value": {FENCING_TOKEN_ANNOTATION: token.to_string()}}));
    }
    all.extend(ops.as_array().into_iter().flatten().cloned());
    Value::Array(all)
}

// ---------------------------------------------------------------------------------------
// Inputs, objects and type resolution.

/// The cluster a step names, for the tracing span.
fn cluster_of(with: &Value) -> &str {
    with.get("cluster").and_then(Value::as_str).unwrap_or("")
}

/// Reads a step's `with` block, naming the step in errors.
struct Inputs<'a> {
    step: &'static str,
    with: &'a Value,
}

impl<'a> Inputs<'a> {
    fn new(step: &'static str, with: &'a Value) -> Self {
        Inputs { step, with }
    }

    fn cluster(&self) -> Result<&'a str, String> {
        self.str("cluster")
    }

    /// A string input that may be absent but not empty or of another type.
    fn opt_str(&self, key: &str) -> Result<Option<&'a str>, String> {
        match self.with.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
            Some(other) => Err(format!(
                "{}: input `{key}` must be a non-empty string; got {other}",
                self.step
            )),
        }
    }

    fn str(&self, key: &str) -> Result<&'a str, String> {
        self.opt_str(key)?
            .ok_or_else(|| format!("{}: input `{key}` is missing", self.step))
    }

    /// The object named by `apiVersion`, `kind`, `name` and `namespace`.
    async fn target(&self, types: &mut Types<'_>) -> Result<Target, String> {
        let kind = self.str("kind")?;
        let name = self.str("name")?;
        let (ar, namespaced) = types.resolve(self.opt_str("apiVersion")?, kind).await?;
        let namespace = match (namespaced, self.opt_str("namespace")?) {
            (true, None) => {
                return Err(format!(
                    "{}: {kind} is namespaced: give `namespace` for {kind} {name}",
                    self.step
                ));
            }
            (true, ns) => ns,
            (false, _) => None,
        };
        Ok(Target::new(ar, namespace, name))
    }
}

/// The client, and the cluster name for messages (empty when unknown).
struct Cx<'a> {
    client: &'a Client,
    cluster: &'a str,
}

impl<'a> Cx<'a> {
    fn new(client: &'a Client, cluster: &'a str) -> Self {
        Cx { client, cluster }
    }

    fn in_cluster(&self) -> String {
        if self.cluster.is_empty() {
            String::new()
        } else {
            format!(" in cluster `{}`", self.cluster)
        }
    }

    fn failed(&self, doing: &str, target: &Target, e: &KubeError) -> String {
        format!(
            "{doing} {}{} failed: {}{}",
            target.describe(),
            self.in_cluster(),
            describe_error(e),
            hint(e)
        )
    }
}

/// One object: its type, namespace (None when cluster-scoped) and name.
struct Target {
    ar: ApiResource,
    namespace: Option<String>,
    name: String,
}

impl Target {
    fn new(ar: ApiResource, namespace: Option<&str>, name: &str) -> Self {
        Target {
            ar,
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }

    fn api(&self, client: &Client) -> Api<DynamicObject> {
        match &self.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &self.ar),
            None => Api::all_with(client.clone(), &self.ar),
        }
    }

    /// `Deployment shop/api`, `Namespace shop`.
    fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.ar.kind, self.name),
            None => format!("{} {}", self.ar.kind, self.name),
        }
    }

    /// `Deployment/shop/api`, `Namespace/shop`.
    fn key(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{ns}/{}", self.ar.kind, self.name),
            None => format!("{}/{}", self.ar.kind, self.name),
        }
    }
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

/// Resolves `apiVersion` + `kind` to a served type (and whether it is namespaced),
/// caching within one step.
struct Types<'a> {
    cx: &'a Cx<'a>,
    step: &'static str,
    cache: HashMap<(Option<String>, String), (ApiResource, bool)>,
}

impl<'a> Types<'a> {
    fn new(cx: &'a Cx<'a>, step: &'static str) -> Self {
        Types {
            cx,
            step,
            cache: HashMap::new(),
        }
    }

    async fn resolve(
        &mut self,
        api_version: Option<&str>,
        kind: &str,
    ) -> Result<(ApiResource, bool), String> {
        let key = (api_version.map(str::to_string), kind.to_string());
        if let Some(hit) = self.cache.get(&key) {
            return Ok(hit.clone());
        }
        let found = match api_version {
            Some(av) => self.pinned(av, kind).await?,
            None => self.by_kind(kind).await?,
        };
        self.cache.insert(key, found.clone());
        Ok(found)
    }

    async fn pinned(&self, api_version: &str, kind: &str) -> Result<(ApiResource, bool), String> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        match pinned_kind(self.cx.client, &GroupVersionKind::gvk(group, version, kind)).await {
            Ok((ar, caps)) => Ok((ar, caps.scope == Scope::Namespaced)),
            Err(e) if transient(&e) => Err(self.unreachable(&e)),
            Err(e) => Err(format!(
                "{}: unknown kind `{kind}` for apiVersion `{api_version}`: not served{} ({}); check the spelling of apiVersion and kind, or install the CRD that defines it",
                self.step,
                self.cx.in_cluster(),
                describe_error(&e)
            )),
        }
    }

    /// Looks `kind` up in the core and `apps` groups first, then in every group.
    async fn by_kind(&self, kind: &str) -> Result<(ApiResource, bool), String> {
        let run = |d: Discovery| async move { d.run().await.map_err(|e| self.unreachable(&e)) };
        let preferred = run(Discovery::new(self.cx.client.clone()).filter(&["", "apps"])).await?;
        for group in ["", "apps"] {
            if let Some((ar, caps)) = preferred.get(group).and_then(|g| g.recommended_kind(kind)) {
                return Ok((ar, caps.scope == Scope::Namespaced));
            }
        }
        let all = run(Discovery::new(self.cx.client.clone())).await?;
        let served: Vec<_> = all
            .groups()
            .flat_map(|g| g.recommended_resources())
            .filter(|(ar, _)| !ar.plural.contains('/'))
            .collect();
        let mut found: Vec<_> = served.iter().filter(|(ar, _)| ar.kind == kind).collect();
        match found.len() {
            1 => {
                let (ar, caps) = found.remove(0);
                Ok((ar.clone(), caps.scope == Scope::Namespaced))
            }
            0 => {
                let near = served
                    .iter()
                    .find(|(ar, _)| ar.kind.eq_ignore_ascii_case(kind))
                    .map(|(ar, _)| format!(" (did you mean `{}`?)", ar.kind))
                    .unwrap_or_default();
                Err(format!(
                    "{}: unknown kind `{kind}`: no API group{} serves it{near}; check the spelling, or install the CRD that defines it",
                    self.step,
                    self.cx.in_cluster()
                ))
            }
            _ => {
                let versions: Vec<&str> = found
                    .iter()
                    .map(|(ar, _)| ar.api_version.as_str())
                    .collect();
                Err(format!(
                    "{}: kind `{kind}` is served by several API groups ({}): set `apiVersion`",
                    self.step,
                    versions.join(", ")
                ))
            }
        }
    }

    fn unreachable(&self, e: &KubeError) -> String {
        format!(
            "{}: API discovery{} failed: {}{}",
            self.step,
            self.cx.in_cluster(),
            describe_error(e),
            hint(e)
        )
    }
}

// ---------------------------------------------------------------------------------------
// Workloads.

/// The workload kinds `k8s.waitReady` checks.
const WAITABLE: [&str; 3] = ["Deployment", "StatefulSet", "Job"];

/// The API resource of a built-in workload kind (no discovery needed).
fn workload_resource(kind: &str) -> ApiResource {
    let (group, plural) = match kind {
        "Job" => ("batch", "jobs"),
        "StatefulSet" => ("apps", "statefulsets"),
        "ReplicaSet" => ("apps", "replicasets"),
        _ => ("apps", "deployments"),
    };
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
}

/// One workload `k8s.waitReady` looked at, and why it is not ready (None: it is).
struct Workload {
    key: String,
    why_not: Option<String>,
}

async fn poll_workloads(
    client: &Client,
    namespace: &str,
    kinds: &[&str],
    lp: &ListParams,
) -> Result<Vec<Workload>, KubeError> {
    let mut out = Vec::new();
    for kind in kinds {
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), namespace, &workload_resource(kind));
        for o in list_all(&api, lp).await? {
            out.push(Workload {
                key: format!("{kind}/{}", o.metadata.name.as_deref().unwrap_or("")),
                why_not: not_ready(kind, &o),
            });
        }
    }
    Ok(out)
}

/// Why a workload is not ready yet, or None if it is.
fn not_ready(kind: &str, o: &DynamicObject) -> Option<String> {
    let st = &o.data["status"];
    let count = |v: &Value| v.as_i64().unwrap_or(0);
    if kind == "Job" {
        let want = o.data["spec"]["completions"].as_i64().unwrap_or(1);
        let done = count(&st["succeeded"]);
        return (done < want).then(|| format!("{done}/{want} completions succeeded"));
    }
    let want = spec_replicas(o);
    let ready = count(&st["readyReplicas"]);
    let generation = o.metadata.generation.unwrap_or(0);
    let observed = count(&st["observedGeneration"]);
    if observed < generation {
        Some(format!(
            "generation {generation} not observed yet (at {observed})"
        ))
    } else if ready < want {
        Some(format!("{ready}/{want} replicas ready"))
    } else {
        None
    }
}

/// Every Deployment and StatefulSet outside the system namespaces.
async fn list_workloads(cx: &Cx<'_>) -> Result<Vec<(Target, DynamicObject)>, String> {
    let mut out = Vec::new();
    for kind in ["Deployment", "StatefulSet"] {
        let ar = workload_resource(kind);
        let api: Api<DynamicObject> = Api::all_with(cx.client.clone(), &ar);
        let items = list_all(&api, &ListParams::default()).await.map_err(|e| {
            format!(
                "listing {kind}s{} failed: {}{}",
                cx.in_cluster(),
                describe_error(&e),
                hint(&e)
            )
        })?;
        for o in items {
            let ns = o.metadata.namespace.clone().unwrap_or_default();
            if SYSTEM_NAMESPACES.contains(&ns.as_str()) {
                continue;
            }
            let name = o.metadata.name.clone().unwrap_or_default();
            out.push((Target::new(ar.clone(), Some(&ns), &name), o));
        }
    }
    Ok(out)
}

/// Every item of a list, page by page.
async fn list_all(
    api: &Api<DynamicObject>,
    lp: &ListParams,
) -> Result<Vec<DynamicObject>, KubeError> {
    let mut lp = lp.clone().limit(500);
    let mut out = Vec::new();
    loop {
        let page = api.list(&lp).await?;
        out.extend(page.items);
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => return Ok(out),
        }
    }
}

/// The result of a bulk step: `ok` when nothing failed, else an error listing (some of)
/// the failures.
fn finish(ok: Value, done: u64, did: &str, failures: &[String]) -> Result<Value, String> {
    if failures.is_empty() {
        return Ok(ok);
    }
    let shown: Vec<&str> = failures.iter().take(5).map(String::as_str).collect();
    let more = failures.len().saturating_sub(shown.len());
    Err(format!(
        "{done} workloads {did}, {} failed: {}{}; run the step again once fixed (it is idempotent)",
        failures.len(),
        shown.join("; "),
        if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        }
    ))
}

// ---------------------------------------------------------------------------------------
// Small helpers.

fn spec_replicas(o: &DynamicObject) -> i64 {
    o.data["spec"]["replicas"].as_i64().unwrap_or(1)
}

fn annotation<'o>(o: &'o DynamicObject, key: &str) -> Option<&'o str> {
    o.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

fn resource_version(o: &DynamicObject) -> Option<&str> {
    o.metadata.resource_version.as_deref()
}

fn capped(mut names: Vec<String>) -> Vec<String> {
    names.truncate(LISTED_NAMES);
    names
}

fn status(e: &KubeError) -> Option<u16> {
    match e {
        KubeError::Api(s) => Some(s.code),
        _ => None,
    }
}

/// Worth polling again: throttling, server errors, connection trouble.
fn transient(e: &KubeError) -> bool {
    match e {
        KubeError::Api(s) => matches!(s.code, 429 | 500 | 502 | 503 | 504),
        KubeError::HyperError(_) | KubeError::Service(_) => true,
        _ => false,
    }
}

fn describe_error(e: &KubeError) -> String {
    match e {
        KubeError::Api(s) => format!("{} {}: {}", s.code, s.reason, s.message),
        other => other.to_string(),
    }
}

/// What to do about an error, when there is something to say.
fn hint(e: &KubeError) -> &'static str {
    match status(e) {
        Some(401 | 403) => {
            " (check the credentials and RBAC of the kubeconfig Lifeboat uses for this cluster)"
        }
        Some(409) => {
            " (the object kept changing while Lifeboat wrote it; the step will be retried)"
        }
        Some(400 | 422) => " (the cluster rejected the object or patch: fix it in the runbook)",
        _ if transient(e) => {
            " (the cluster is unreachable or overloaded; the step will be retried)"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(term: u64, index: u64) -> FencingToken {
        FencingToken { term, index }
    }

    fn object(annotations: Value) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "shop", "annotations": annotations}
        }))
        .unwrap()
    }

    fn cm_target() -> Target {
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("", "v1", "ConfigMap"),
            "configmaps",
        );
        Target::new(ar, Some("shop"), "cfg")
    }

    /// Compile-time: the executor runs step futures on spawned tasks.
    #[allow(dead_code)]
    fn step_futures_are_send(c: Client, with: Value, t: FencingToken) {
        fn spawnable<F: std::future::Future + Send + 'static>(_: F) {}
        let (c2, w2) = (c.clone(), with.clone());
        spawnable(async move { apply(&c2, &w2, t).await });
        let (c2, w2) = (c.clone(), with.clone());
        spawnable(async move { patch(&c2, &w2, t).await });
        let (c2, w2) = (c.clone(), with.clone());
        spawnable(async move { scale(&c2, &w2, t).await });
        let (c2, w2) = (c.clone(), with.clone());
        spawnable(async move { delete(&c2, &w2, t).await });
        let (c2, w2) = (c.clone(), with);
        spawnable(async move { wait_ready(&c2, &w2).await });
        let c2 = c.clone();
        spawnable(async move { scale_all_to_zero(&c2, t).await });
        spawnable(async move { restore_replicas_after_fence(&c, t).await });
    }

    #[test]
    fn fence_refuses_only_newer_tokens() {
        let t = cm_target();
        let live = object(json!({FENCING_TOKEN_ANNOTATION: "3.40"}));
        let err = check_fence(&t, &live, token(3, 39)).unwrap_err();
        assert_eq!(
            err,
            "refused: ConfigMap shop/cfg carries fencing token 3.40, newer than this attempt's 3.39: a newer leader has acted on it"
        );
        assert!(
            check_fence(&t, &live, token(2, 99)).is_err(),
            "lower term loses"
        );
        assert!(
            check_fence(&t, &live, token(3, 40)).is_ok(),
            "same attempt re-run"
        );
        assert!(check_fence(&t, &live, token(4, 1)).is_ok(), "newer attempt");
        assert!(check_fence(&t, &object(json!({})), token(1, 1)).is_ok());
        let garbled = check_fence(
            &t,
            &object(json!({FENCING_TOKEN_ANNOTATION: "x"})),
            token(9, 9),
        );
        assert!(garbled.unwrap_err().contains("malformed fencing token"));
    }

    #[test]
    fn stamp_sets_token_and_precondition() {
        let mut patch = json!({"data": {"a": "1"}, "metadata": {"labels": {"x": "y"}}});
        stamp(&mut patch, token(2, 7), Some("41"));
        assert_eq!(
            patch,
            json!({"data": {"a": "1"}, "metadata": {"labels": {"x": "y"},
                   "annotations": {FENCING_TOKEN_ANNOTATION: "2.7"}, "resourceVersion": "41"}})
        );
        let mut fresh = json!({"metadata": {"name": "n", "resourceVersion": "5"}});
        stamp(&mut fresh, token(1, 1), None);
        assert!(fresh["metadata"].get("resourceVersion").is_none());
    }

    fn workload(replicas: i64, annotations: Value) -> DynamicObject {
        serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "9",
                         "annotations": annotations},
            "spec": {"replicas": replicas}}))
        .unwrap()
    }

    fn merge_body(w: Option<Write>) -> Value {
        match w {
            Some(Write::Merge(b)) => b,
            _ => panic!("expected a merge patch"),
        }
    }

    #[test]
    fn fence_records_the_first_count_only() {
        let (w, held) = fence_decision(&workload(3, json!({})), token(1, 2));
        assert!(held);
        assert_eq!(
            merge_body(w),
            json!({"spec": {"replicas": 0}, "metadata": {"resourceVersion": "9", "annotations": {
                REPLICAS_BEFORE_FENCE_ANNOTATION: "3", FENCING_TOKEN_ANNOTATION: "1.2"}}})
        );
        let scaled_up_again = workload(2, json!({REPLICAS_BEFORE_FENCE_ANNOTATION: "3"}));
        let body = merge_body(fence_decision(&scaled_up_again, token(1, 2)).0);
        assert_eq!(
            body["metadata"]["annotations"][REPLICAS_BEFORE_FENCE_ANNOTATION],
            "3"
        );
        let done = workload(0, json!({REPLICAS_BEFORE_FENCE_ANNOTATION: "3"}));
        assert!(matches!(fence_decision(&done, token(1, 2)), (None, true)));
        assert!(matches!(
            fence_decision(&workload(0, json!({})), token(1, 2)),
            (None, false)
        ));
    }

    #[test]
    fn unfence_restores_and_removes_the_annotation() {
        let t = cm_target();
        let fenced = workload(0, json!({REPLICAS_BEFORE_FENCE_ANNOTATION: "4"}));
        let (w, restored) = unfence_decision(&t, &fenced, token(2, 1)).unwrap();
        assert!(restored);
        let body = merge_body(w);
        assert_eq!(body["spec"]["replicas"], 4);
        assert_eq!(
            body["metadata"]["annotations"][REPLICAS_BEFORE_FENCE_ANNOTATION],
            Value::Null
        );
        assert!(matches!(
            unfence_decision(&t, &workload(1, json!({})), token(2, 1)),
            Ok((None, false))
        ));
        let bad = workload(0, json!({REPLICAS_BEFORE_FENCE_ANNOTATION: "lots"}));
        let err = unfence_decision(&t, &bad, token(2, 1)).unwrap_err();
        assert!(
            err.contains("\"lots\", which is not a replica count"),
            "{err}"
        );
    }

    #[test]
    fn json_patch_gets_precondition_and_token_first() {
        let user = json!([{"op": "remove", "path": "/data/b"}]);
        let with_annotations = workload(1, json!({"x": "y"}));
        assert_eq!(
            fenced_json_patch(&user, token(3, 4), Some(&with_annotations)),
            json!([
                {"op": "replace", "path": "/metadata/resourceVersion", "value": "9"},
                {"op": "add", "path": "/metadata/annotations/lifeboat.dev~1fencing-token", "value": "3.4"},
                {"op": "remove", "path": "/data/b"}
            ])
        );
        let bare: DynamicObject =
            serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "resourceVersion": "2"}}))
            .unwrap();
        let ops = fenced_json_patch(&user, token(3, 4), Some(&bare));
        assert_eq!(
            ops[1],
            json!({"op": "add", "path": "/metadata/annotations",
            "value": {FENCING_TOKEN_ANNOTATION: "3.4"}})
        );
    }

    #[test]
    fn readiness_rules() {
        let dep = |spec: Value, status: Value, generation: i64| -> DynamicObject {
            serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "d", "generation": generation}, "spec": spec, "status": status}))
            .unwrap()
        };
        let ready = dep(
            json!({"replicas": 2}),
            json!({"readyReplicas": 2, "observedGeneration": 3}),
            3,
        );
        assert!(not_ready("Deployment", &ready).is_none());
        let stale = dep(
            json!({"replicas": 2}),
            json!({"readyReplicas": 2, "observedGeneration": 2}),
            3,
        );
        assert!(
            not_ready("Deployment", &stale)
                .unwrap()
                .contains("generation 3")
        );
        let short = dep(
            json!({"replicas": 3}),
            json!({"readyReplicas": 1, "observedGeneration": 1}),
            1,
        );
        assert_eq!(
            not_ready("StatefulSet", &short).unwrap(),
            "1/3 replicas ready"
        );
        let job = dep(json!({"completions": 2}), json!({"succeeded": 1}), 1);
        assert_eq!(not_ready("Job", &job).unwrap(), "1/2 completions succeeded");
    }
}
