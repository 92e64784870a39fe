//! Fixtures shared by the tests of the kube steps, and a compile-time check that every
//! step's future can run on a spawned task.

use ::kube::Client;
use ::kube::api::DynamicObject;
use ::kube::core::GroupVersionKind;
use ::kube::discovery::ApiResource;
use serde_json::{Value, json};

use super::fencing::Write;
use super::target::Target;
use super::{
    apply, delete, patch, restore_replicas_after_fence, scale, scale_all_to_zero, wait_ready,
};
use crate::executor::FencingToken;

pub(super) fn token(term: u64, index: u64) -> FencingToken {
    FencingToken { term, index }
}

pub(super) fn object(annotations: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "shop", "annotations": annotations}
    }))
    .unwrap()
}

pub(super) fn cm_target() -> Target {
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

pub(super) fn workload(replicas: i64, annotations: Value) -> DynamicObject {
    serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "9",
                     "annotations": annotations},
        "spec": {"replicas": replicas}}))
    .unwrap()
}

pub(super) fn merge_body(w: Option<Write>) -> Value {
    match w {
        Some(Write::Merge(b)) => b,
        _ => panic!("expected a merge patch"),
    }
}
