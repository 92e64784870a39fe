//! Bad input gets Kubernetes-shaped `Status` errors with the right codes, never a panic,
//! and the server keeps serving afterwards. Also: stale updates, subresources, seeding
//! and persistence across a restart.

mod common;
use common::Sim;

fn assert_status(r: &common::Http, code: u16, reason: &str) {
    assert_eq!(r.status, code, "{}", r.body);
    let v = r.json();
    assert_eq!(v["kind"], "Status", "{v}");
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["code"], code);
    assert_eq!(v["reason"], reason, "{v}");
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const JSON: &str = "application/json";

#[test]
fn bad_requests_are_statuses_and_server_survives() {
    let sim = Sim::start(&[]);
    let cases: Vec<(&str, String, &str, &str, u16, &str)> = vec![
        ("POST", CMS.into(), JSON, "{not json", 400, "BadRequest"),
        ("POST", CMS.into(), JSON, "", 400, "BadRequest"),
        ("POST", CMS.into(), JSON, "[1,2]", 400, "BadRequest"),
        (
            "PATCH",
            format!("{CMS}/x?fieldManager=t"),
            "application/apply-patch+yaml",
            "a: [unclosed",
            400,
            "BadRequest",
        ),
        (
            "POST",
            CMS.into(),
            JSON,
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}"#,
            422,
            "Invalid",
        ),
        (
            "POST",
            CMS.into(),
            JSON,
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}"#,
            422,
            "Invalid",
        ),
        (
            "POST",
            CMS.into(),
            JSON,
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"l","labels":{"a b":"c"}}}"#,
            422,
            "Invalid",
        ),
        (
            "POST",
            CMS.into(),
            JSON,
            r#"{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"v"}}"#,
            400,
            "BadRequest",
        ),
        (
            "POST",
            CMS.into(),
            JSON,
            r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"k"}}"#,
            400,
            "BadRequest",
        ),
        (
            "GET",
            "/api/v1/namespaces/default/widgets".into(),
            JSON,
            "",
            404,
            "NotFound",
        ),
        (
            "GET",
            "/apis/apps/v7/deployments".into(),
            JSON,
            "",
            404,
            "NotFound",
        ),
        (
            "GET",
            "/apis/nope.example.com/v1".into(),
            JSON,
            "",
            404,
            "NotFound",
        ),
        (
            "GET",
            "/api/v1/namespaces/default/configmaps/x/y/z".into(),
            JSON,
            "",
            404,
            "NotFound",
        ),
        (
            "GET",
            format!("{CMS}?labelSelector=app%20in%20(a"),
            JSON,
            "",
            400,
            "BadRequest",
        ),
        (
            "GET",
            format!("{CMS}?labelSelector=a%20b"),
            JSON,
            "",
            400,
            "BadRequest",
        ),
        (
            "GET",
            format!("{CMS}?fieldSelector=spec.foo%3Dx"),
            JSON,
            "",
            400,
            "BadRequest",
        ),
        (
            "GET",
            format!("{CMS}?limit=ten"),
            JSON,
            "",
            400,
            "BadRequest",
        ),
        (
            "GET",
            format!("{CMS}?limit=2&continue=garbage"),
            JSON,
            "",
            400,
            "BadRequest",
        ),
        ("GET", format!("{CMS}/missing"), JSON, "", 404, "NotFound"),
        (
            "PATCH",
            format!("{CMS}/missing"),
            "application/merge-patch+json",
            "{}",
            404,
            "NotFound",
        ),
        (
            "PATCH",
            format!("{CMS}/x"),
            "text/plain",
            "{}",
            415,
            "UnsupportedMediaType",
        ),
        (
            "POST",
            CMS.into(),
            "application/vnd.kubernetes.protobuf",
            "k8s\0",
            415,
            "UnsupportedMediaType",
        ),
        (
            "PATCH",
            format!("{CMS}/x"),
            "application/apply-patch+yaml",
            "{}",
            400,
            "BadRequest",
        ),
        (
            "PUT",
            "/api/v1/namespaces/default/configmaps".into(),
            JSON,
            "{}",
            405,
            "MethodNotAllowed",
        ),
        (
            "GET",
            "/apis/apps/v1/namespaces/default/deployments/x/scale".into(),
            JSON,
            "",
            404,
            "NotFound",
        ),
        (
            "GET",
            "/api/v1/namespaces/default/configmaps/x/scale".into(),
            JSON,
            "",
            404,
            "NotFound",
        ),
        (
            "POST",
            "/api/v1/namespaces/nowhere/configmaps".into(),
            JSON,
            r#"{"metadata":{"name":"a"}}"#,
            404,
            "NotFound",
        ),
        (
            "DELETE",
            "/api/v1/namespaces/default".into(),
            JSON,
            "",
            403,
            "Forbidden",
        ),
    ];
    for (method, path, ct, body, code, reason) in cases {
        let r = sim.request(method, &path, ct, body);
        assert_eq!(r.status, code, "{method} {path} {body:?}: {}", r.body);
        assert_status(&r, code, reason);
    }
    assert_eq!(
        sim.get("/api/v1/namespaces/default").unwrap().status,
        200,
        "server stopped serving"
    );
}

#[test]
fn conflicts_subresources_and_generation() {
    let sim = Sim::start(&["--ready-delay-ms", "0"]);
    let deps = "/apis/apps/v1/namespaces/default/deployments";
    let body = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"d"}},"template":{"metadata":{"labels":{"app":"d"}}}}}"#;
    let created = sim.request("POST", deps, JSON, body);
    assert_eq!(created.status, 201, "{}", created.body);
    let d = created.json();
    assert_eq!(d["metadata"]["generation"], 1);
    let dup = sim.request("POST", deps, JSON, body);
    assert_status(&dup, 409, "AlreadyExists");

    // The workload simulator writes status right away (delay 0): read the latest first.
    let d = common::eventually(10, "deployment ready", || {
        let v = sim.get(&format!("{deps}/d")).unwrap().json();
        (v["status"]["readyReplicas"] == 1).then_some(v)
    });
    let mut stale = d.clone();
    stale["spec"]["replicas"] = serde_json::json!(2);
    let ok = sim.request("PUT", &format!("{deps}/d"), JSON, &stale.to_string());
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["metadata"]["generation"], 2);
    let again = sim.request("PUT", &format!("{deps}/d"), JSON, &stale.to_string());
    assert_status(&again, 409, "Conflict");

    let scale = sim.request(
        "PATCH",
        &format!("{deps}/d/scale"),
        "application/merge-patch+json",
        r#"{"spec":{"replicas":4}}"#,
    );
    assert_eq!(scale.status, 200, "{}", scale.body);
    assert_eq!(scale.json()["kind"], "Scale");
    assert_eq!(scale.json()["spec"]["replicas"], 4);
    assert_eq!(scale.json()["status"]["selector"], "app=d");
    let jp = sim.request(
        "PATCH",
        &format!("{deps}/d"),
        "application/json-patch+json",
        r#"[{"op":"add","path":"/metadata/labels","value":{"x":"y"}}]"#,
    );
    assert_eq!(jp.status, 200, "{}", jp.body);
    assert_eq!(
        jp.json()["metadata"]["generation"],
        3,
        "label changes do not bump generation"
    );
    let st = sim.request(
        "PUT",
        &format!("{deps}/d/status"),
        JSON,
        r#"{"metadata":{"name":"d"},"spec":{"replicas":99},"status":{"replicas":7}}"#,
    );
    assert_eq!(st.status, 200, "{}", st.body);
    assert_eq!(
        (
            st.json()["status"]["replicas"].as_i64(),
            st.json()["spec"]["replicas"].as_i64()
        ),
        (Some(7), Some(4))
    );
}

#[test]
fn seed_and_persist_across_restart() {
    let data = tempfile::tempdir().unwrap();
    let seed = data.path().join("seed.yaml");
    std::fs::write(&seed, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: seeded\n  namespace: app\ndata:\n  k: v\n").unwrap();
    let dir = data.path().join("state");
    let (d, s) = (dir.to_str().unwrap(), seed.to_str().unwrap());
    let uid;
    {
        let sim = Sim::start(&["--data-dir", d, "--seed", s]);
        let r = sim.get("/api/v1/namespaces/app/configmaps/seeded").unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        uid = r.json()["metadata"]["uid"].clone();
        let c = sim.request("POST", CMS, JSON, r#"{"metadata":{"name":"later"}}"#);
        assert_eq!(c.status, 201);
        common::eventually(10, "state file", || {
            dir.join("kubesim-state.json").exists().then_some(())
        });
        std::thread::sleep(std::time::Duration::from_millis(1200)); // one flush period
    }
    let sim = Sim::start(&["--data-dir", d]);
    let r = sim.get("/api/v1/namespaces/app/configmaps/seeded").unwrap();
    assert_eq!(r.json()["metadata"]["uid"], uid);
    assert_eq!(sim.get(&format!("{CMS}/later")).unwrap().status, 200);
}
