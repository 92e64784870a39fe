//! Fault injection through the admin API: down (connections refused), hang, latency,
//! error rates (500/503/429), /readyz failing while the API works, healing, admin auth,
//! and the `--fault` flag.

mod common;
use common::{Sim, eventually, http};
use std::time::{Duration, Instant};

fn set(sim: &Sim, body: &str) {
    let r = sim.admin("PUT", "/faults", body);
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn down_refuses_connections_then_heals() {
    let sim = Sim::start(&[]);
    set(&sim, r#"{"mode":"down"}"#);
    // A connection racing the switch may be reset; after that, every connect is refused.
    eventually(5, "connections refused", || {
        sim.get("/version")
            .err()
            .filter(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
    });
    for _ in 0..5 {
        assert_eq!(
            sim.get("/version").err().map(|e| e.kind()),
            Some(std::io::ErrorKind::ConnectionRefused)
        );
    }
    assert_eq!(sim.admin("GET", "/faults", "").json()["mode"], "down");
    let r = sim.admin("POST", "/faults/reset", "");
    assert_eq!(r.status, 200);
    let v = eventually(5, "API back", || {
        sim.get("/version").ok().filter(|r| r.status == 200)
    });
    assert_eq!(v.json()["major"], "1");
}

#[test]
fn hang_accepts_but_never_answers() {
    let sim = Sim::start(&[]);
    set(&sim, r#"{"mode":"hang"}"#);
    let t = Instant::now();
    let err = http(
        &sim.server,
        "GET",
        "/api/v1/namespaces",
        &[],
        "",
        Duration::from_millis(700),
    )
    .err()
    .expect("must time out");
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    assert!(t.elapsed() >= Duration::from_millis(650));
    set(&sim, r#"{"mode":"healthy"}"#);
    assert_eq!(sim.get("/api/v1/namespaces").unwrap().status, 200);
}

#[test]
fn latency_errors_and_readyz() {
    let sim = Sim::start(&[]);
    set(&sim, r#"{"latency_ms":300}"#);
    let t = Instant::now();
    assert_eq!(sim.get("/api").unwrap().status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );

    for code in [500, 503, 429] {
        set(
            &sim,
            &format!(r#"{{"error_rate":1.0,"error_code":{code}}}"#),
        );
        let r = sim.get("/api/v1/namespaces/default").unwrap();
        assert_eq!(r.status, code);
        assert_eq!(r.json()["kind"], "Status");
        assert_eq!(r.json()["code"], code);
        assert_eq!(
            sim.get("/readyz").unwrap().status,
            200,
            "health paths are exempt from the error rate"
        );
    }
    set(&sim, r#"{"error_rate":0.5,"error_code":503}"#);
    let fails = (0..60)
        .filter(|_| sim.get("/api").unwrap().status == 503)
        .count();
    assert!(
        (8..=52).contains(&fails),
        "0.5 error rate gave {fails}/60 failures"
    );

    set(&sim, r#"{"readyz_fail":true}"#);
    assert_eq!(sim.get("/readyz").unwrap().status, 500);
    assert_eq!(sim.get("/livez").unwrap().status, 200);
    assert_eq!(sim.get("/api/v1/namespaces/default").unwrap().status, 200);
    sim.admin("POST", "/faults/reset", "");
    assert_eq!(sim.get("/readyz").unwrap().status, 200);
}

#[test]
fn admin_needs_its_token_and_validates() {
    let sim = Sim::start(&[]);
    let r = http(
        &sim.admin,
        "PUT",
        "/faults",
        &[("Authorization", "Bearer wrong")],
        r#"{"mode":"down"}"#,
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(sim.get("/version").unwrap().status, 200);
    assert_eq!(
        sim.admin("PUT", "/faults", r#"{"error_rate":7}"#).status,
        422
    );
    assert_eq!(
        sim.admin("PUT", "/faults", r#"{"mode":"sideways"}"#).status,
        400
    );
    assert_eq!(
        sim.admin("PUT", "/workload", r#"{"ready_delay_ms":5}"#)
            .json()["ready_delay_ms"],
        5
    );
    let stats = sim.admin("GET", "/stats", "").json();
    assert!(
        stats["objects"].as_u64().unwrap() >= 4 && stats["resource_version"].as_u64().unwrap() > 1,
        "{stats}"
    );
}

#[test]
fn fault_flag_and_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let admin = dir.path().join("admin-token");
    std::fs::write(&admin, "s3cret-admin\n").unwrap();
    let api = dir.path().join("api-token");
    std::fs::write(&api, "s3cret-api\n").unwrap();
    let a = admin.to_str().unwrap();
    let t = api.to_str().unwrap();
    let sim = Sim::start_waiting(
        &[
            "--fault",
            "readyz-fail",
            "--admin-token-file",
            a,
            "--token-file",
            t,
        ],
        "/livez",
    );
    assert_eq!(sim.get("/readyz").unwrap().status, 500);
    assert_eq!(sim.admin_token, "s3cret-admin");
    let r = sim.get("/api/v1/namespaces").unwrap();
    assert_eq!(
        (r.status, r.json()["reason"].as_str()),
        (401, Some("Unauthorized"))
    );
    let ok = http(
        &sim.server,
        "GET",
        "/api/v1/namespaces",
        &[("Authorization", "Bearer s3cret-api")],
        "",
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(ok.status, 200);
    let kc = std::fs::read_to_string(&sim.kubeconfig).unwrap();
    assert!(kc.contains("token: s3cret-api"));
}
