//! Fidelity with the `kube` crate (5.0): `Discovery::run`, `Api<DynamicObject>` list with
//! paging, server-side apply with conflicts and force, and watch.

mod common;
use common::Sim;
use futures::{StreamExt, TryStreamExt};
use kube::api::{
    Api, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, WatchEvent, WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::{Discovery, Scope};
use kube::{Client, Config};
use serde_json::json;

async fn client(sim: &Sim) -> Client {
    // The workspace enables both rustls providers (ring via kube, aws-lc-rs via
    // object_store), so one must be chosen explicitly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = Kubeconfig::read_from(&sim.kubeconfig).expect("read kubeconfig");
    let cfg = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kube config");
    Client::try_from(cfg).expect("kube client")
}

fn cm(name: &str, value: &str) -> DynamicObject {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"suite": "kube"}}, "data": {"v": value}})).unwrap()
}

#[tokio::test]
async fn discovery_paging_apply_and_watch() {
    let sim = Sim::start(&[]);
    let client = client(&sim).await;

    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("Discovery::run");
    let groups: Vec<String> = discovery.groups().map(|g| g.name().to_string()).collect();
    for g in [
        "",
        "apps",
        "batch",
        "rbac.authorization.k8s.io",
        "apiextensions.k8s.io",
    ] {
        assert!(
            groups.iter().any(|x| x == g),
            "group {g:?} missing from {groups:?}"
        );
    }
    let (deploy, caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment"))
        .expect("Deployment discovered");
    assert_eq!(deploy.plural, "deployments");
    assert_eq!(caps.scope, Scope::Namespaced);
    assert!(
        caps.subresources
            .iter()
            .any(|(r, _)| r.plural == "deployments/scale" || r.plural == "scale"),
        "{:?}",
        caps.subresources
    );
    let (ns_ar, ns_caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("", "v1", "Namespace"))
        .unwrap();
    assert_eq!(
        (ns_ar.plural.as_str(), ns_caps.scope),
        ("namespaces", Scope::Cluster)
    );

    let (cm_ar, _) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("", "v1", "ConfigMap"))
        .unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &cm_ar);

    // Watch from the current resourceVersion, then create through server-side apply.
    let start = api
        .list(&ListParams::default().limit(1))
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut events = api
        .watch(&WatchParams::default().timeout(10), &start)
        .await
        .expect("watch")
        .boxed();

    let ssa = PatchParams::apply("kube-suite");
    for i in 0..23 {
        let name = format!("kube-{i:02}");
        api.patch(&name, &ssa, &Patch::Apply(cm(&name, "a")))
            .await
            .expect("server-side apply create");
    }
    match events.try_next().await.expect("watch event") {
        Some(WatchEvent::Added(o)) => assert_eq!(o.metadata.name.as_deref(), Some("kube-00")),
        other => panic!("expected ADDED kube-00, got {other:?}"),
    }

    let mut names = Vec::new();
    let mut lp = ListParams::default().labels("suite=kube").limit(5);
    for _ in 0..20 {
        let page = api.list(&lp).await.expect("list page");
        assert!(page.items.len() <= 5);
        names.extend(page.items.iter().filter_map(|o| o.metadata.name.clone()));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = lp.continue_token(&c),
            None => break,
        }
    }
    assert_eq!(names.len(), 23);
    assert_eq!(names[0], "kube-00");
    assert_eq!(names[22], "kube-22");

    // Another manager changing an owned field conflicts (409) unless forced; fields are kept.
    let other = PatchParams::apply("other-manager");
    let err = api
        .patch("kube-00", &other, &Patch::Apply(cm("kube-00", "b")))
        .await
        .expect_err("conflict");
    match err {
        kube::Error::Api(s) => assert_eq!((s.code, s.reason.as_str()), (409, "Conflict")),
        e => panic!("expected a 409 Status, got {e}"),
    }
    let extra: DynamicObject = serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-00"}, "data": {"w": "extra"}})).unwrap();
    let merged = api
        .patch("kube-00", &other, &Patch::Apply(extra))
        .await
        .expect("disjoint apply");
    assert_eq!(merged.data["data"], json!({"v": "a", "w": "extra"}));
    let forced = api
        .patch(
            "kube-00",
            &other.clone().force(),
            &Patch::Apply(cm("kube-00", "b")),
        )
        .await
        .expect("forced apply");
    assert_eq!(forced.data["data"]["v"], "b");
}
