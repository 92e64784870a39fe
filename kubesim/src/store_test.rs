//! Unit tests of the store (moved out of store.rs for length).

use super::*;

fn store() -> Arc<Store> {
    Store::new(100, None)
}

fn cm_def(s: &Store) -> Arc<ResourceDef> {
    s.resolve("", "v1", "configmaps").unwrap()
}

fn cm(name: &str, app: &str) -> Value {
    json!({"metadata": {"name": name, "labels": {"app": app}}, "data": {"k": "v"}})
}

#[test]
fn create_get_and_monotonic_rv() {
    let s = store();
    let d = cm_def(&s);
    let a = s.create(&d, "default", cm("a", "x"), "t", false).unwrap();
    let b = s.create(&d, "default", cm("b", "x"), "t", false).unwrap();
    assert!(object::resource_version(&b) > object::resource_version(&a));
    assert_eq!(s.get(&d, "default", "a").unwrap(), a);
    let e = s
        .create(&d, "default", cm("a", "x"), "t", false)
        .unwrap_err();
    assert_eq!(e.code_reason(), (409, "AlreadyExists"));
    let e = s.create(&d, "nope", cm("c", "x"), "t", false).unwrap_err();
    assert_eq!(e.code_reason().0, 404);
}

#[test]
fn generate_name_and_dry_run() {
    let s = store();
    let d = cm_def(&s);
    let o = s
        .create(
            &d,
            "default",
            json!({"metadata": {"generateName": "job-"}}),
            "t",
            false,
        )
        .unwrap();
    assert!(object::name(&o).starts_with("job-") && object::name(&o).len() == 9);
    s.create(&d, "default", cm("dry", "x"), "t", true).unwrap();
    assert!(s.get(&d, "default", "dry").is_err());
}

#[test]
fn paging_and_selectors() {
    let s = store();
    let d = cm_def(&s);
    for i in 0..7 {
        s.create(
            &d,
            "default",
            cm(&format!("c{i}"), if i % 2 == 0 { "even" } else { "odd" }),
            "t",
            false,
        )
        .unwrap();
    }
    let mut q = ListQuery {
        limit: 3,
        ..Default::default()
    };
    let mut names = Vec::new();
    for _ in 0..10 {
        let page = s.list(&d, Some("default"), &q).unwrap();
        names.extend(page.items.iter().map(|o| object::name(o).to_string()));
        match page.continue_token {
            Some(t) => q.continue_token = Some(t),
            None => break,
        }
    }
    assert_eq!(names, ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
    let q = ListQuery {
        labels: LabelSelector::parse("app=even").unwrap(),
        ..Default::default()
    };
    assert_eq!(s.list(&d, None, &q).unwrap().items.len(), 4);
    let q = ListQuery {
        continue_token: Some("zz".into()),
        ..Default::default()
    };
    assert_eq!(s.list(&d, None, &q).unwrap_err().code_reason().0, 400);
}

#[test]
fn namespace_delete_removes_contents() {
    let s = store();
    let d = cm_def(&s);
    let ns = s.resolve("", "v1", "namespaces").unwrap();
    s.create(&ns, "", json!({"metadata": {"name": "team"}}), "t", false)
        .unwrap();
    s.create(&d, "team", cm("a", "x"), "t", false).unwrap();
    s.create(&d, "default", cm("a", "x"), "t", false).unwrap();
    let gone = s.delete(&ns, "", "team", None, None, false).unwrap();
    assert_eq!(gone["status"]["phase"], "Terminating");
    assert!(s.get(&d, "team", "a").is_err());
    assert!(s.get(&d, "default", "a").is_ok());
    assert_eq!(
        s.delete(&ns, "", "default", None, None, false)
            .unwrap_err()
            .code_reason()
            .0,
        403
    );
}

#[test]
fn crd_lifecycle() {
    let s = store();
    let crd_def = s
        .resolve("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .unwrap();
    let crd = json!({"metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com", "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget"}, "versions": [{"name": "v1", "served": true, "storage": true}]}});
    let c = s.create(&crd_def, "", crd, "t", false).unwrap();
    assert_eq!(c["status"]["conditions"][1]["type"], "Established");
    let w = s.resolve("example.com", "v1", "widgets").unwrap();
    s.create(
        &w,
        "default",
        json!({"metadata": {"name": "w1"}, "spec": {"size": 1}}),
        "t",
        false,
    )
    .unwrap();
    s.delete(&crd_def, "", "widgets.example.com", None, None, false)
        .unwrap();
    assert!(s.resolve("example.com", "v1", "widgets").is_none());
    assert!(s.get(&w, "default", "w1").is_err());
}

#[test]
fn watch_resume_and_gone() {
    let s = Store::new(3, None);
    let d = cm_def(&s);
    let start = s.current_rv();
    for i in 0..5 {
        s.create(&d, "default", cm(&format!("c{i}"), "x"), "t", false)
            .unwrap();
    }
    assert_eq!(
        s.watch_start(&d, Some(start)).unwrap_err().code_reason().0,
        410
    );
    let (_, hist, _, _) = s.watch_start(&d, Some(s.current_rv() - 1)).unwrap();
    assert_eq!(hist.len(), 1);
}

#[test]
fn finalizers_delay_deletion() {
    let s = store();
    let d = cm_def(&s);
    let mut o = cm("f", "x");
    o["metadata"]["finalizers"] = json!(["example.com/hold"]);
    s.create(&d, "default", o, "t", false).unwrap();
    let marked = s.delete(&d, "default", "f", None, None, false).unwrap();
    assert!(marked.pointer("/metadata/deletionTimestamp").is_some());
    let cur = s.get(&d, "default", "f").unwrap();
    s.write(&d, "default", "f", Target::Main, false, false, |_| {
        let mut n = (*cur).clone();
        n["metadata"]["finalizers"] = json!([]);
        Ok(Decision::Put(n))
    })
    .unwrap();
    assert!(s.get(&d, "default", "f").is_err());
}
