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
//! ahead. One helper does this for every step (`fencing::fenced_write`).
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
//!
//! # Layout
//!
//! One file per step family: [`apply`](apply()) (`k8s.apply`), [`patch`](patch())
//! (`k8s.patch`), [`delete`](delete()) (`k8s.delete`), `replicas` (`k8s.scale`), `wait`
//! (`k8s.waitReady`), `fence` (`cluster.fence`, `cluster.unfence`). They share `fencing`
//! (the read-check-write cycle), `inputs` (reading a `with` block), `target` (the client
//! and the object a write is about), `resolve` (kinds to API resources), `workloads`
//! (built-in workload types, paged lists) and `errors` (how API errors read).

mod apply;
mod delete;
mod errors;
mod fence;
mod fencing;
mod inputs;
mod patch;
mod replicas;
mod resolve;
mod target;
mod wait;
mod workloads;

pub use apply::apply;
pub use delete::delete;
pub use fence::{restore_replicas_after_fence, scale_all_to_zero};
pub use patch::patch;
pub use replicas::scale;
pub use wait::wait_ready;

use ::kube::api::DynamicObject;

/// The annotation holding the fencing token of the attempt that last wrote an object
/// (one definition, in `steps`).
pub use super::FENCING_ANNOTATION as FENCING_TOKEN_ANNOTATION;
/// The annotation holding a workload's replica count before `cluster.fence` scaled it to 0.
pub const REPLICAS_BEFORE_FENCE_ANNOTATION: &str = "lifeboat.dev/replicas-before-fence";
/// The server-side apply field manager of every write.
pub const FIELD_MANAGER: &str = "lifeboat";
/// How many times a write is tried when the object changes between read and write.
pub const WRITE_ATTEMPTS: u32 = 5;
/// Results list at most this many object names.
const LISTED_NAMES: usize = 50;

// ---------------------------------------------------------------------------------------
// Small helpers.

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

#[cfg(test)]
mod tests;
