//! Bad configuration through the real binary: every problem is a clear error naming the
//! file, the key (and line where known) and the fix, and the node does not start.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_lifeboat");

/// A temp dir with a valid single-node config; tests break one thing at a time.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for f in ["cluster.secret", "admin.token"] {
            let p = dir.path().join(f);
            std::fs::write(&p, "s3cret-value-0123456789").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        Self { dir }
    }

    fn valid_yaml(&self) -> String {
        "node:\n  id: 1\n  data_dir: data\n\
         listen:\n  api: 127.0.0.1:0\n  raft: 127.0.0.1:1\n\
         peers:\n  - id: 1\n    api: http://127.0.0.1:7101\n    raft: http://127.0.0.1:7111\n\
         auth:\n  cluster_secret_file: cluster.secret\n  tokens:\n    - name: admin\n      role: admin\n      token_file: admin.token\n\
         store:\n  url: file:///tmp/lifeboat-store\n"
            .to_string()
    }

    fn write(&self, yaml: &str) -> PathBuf {
        let p = self.dir.path().join("node.yaml");
        std::fs::write(&p, yaml).unwrap();
        p
    }

    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }
}

fn run(args: &[&str], config: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

fn check_config(config: &Path) -> (i32, String) {
    let out = run(&["check-config"], config);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_valid_config_passes() {
    let s = Setup::new();
    let cfg = s.write(&s.valid_yaml());
    let out = run(&["check-config"], &cfg);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));
}

#[test]
fn unknown_key_names_file_line_and_fix() {
    let s = Setup::new();
    let yaml = s
        .valid_yaml()
        .replace("  data_dir: data\n", "  data_dir: data\n  dta_dir: typo\n");
    let cfg = s.write(&yaml);
    let (code, err) = check_config(&cfg);
    assert_eq!(code, 1);
    assert!(err.contains(&cfg.display().to_string()), "{err}");
    assert!(
        err.contains("unknown field") && err.contains("dta_dir"),
        "{err}"
    );
    assert!(err.contains(":4:"), "line 4 expected: {err}");
    assert!(err.contains("fix:"), "{err}");
}

#[test]
fn missing_section_is_named() {
    let s = Setup::new();
    let yaml = s
        .valid_yaml()
        .replace("store:\n  url: file:///tmp/lifeboat-store\n", "");
    let (code, err) = check_config(&s.write(&yaml));
    assert_eq!(code, 1);
    assert!(
        err.contains("missing field") && err.contains("store"),
        "{err}"
    );
}

#[test]
fn bad_addresses_are_named_with_key_and_fix() {
    let s = Setup::new();
    let yaml = s
        .valid_yaml()
        .replace("api: 127.0.0.1:0", "api: localhost")
        .replace("raft: http://127.0.0.1:7111", "raft: 127.0.0.1:7111");
    let (code, err) = check_config(&s.write(&yaml));
    assert_eq!(code, 1);
    assert!(
        err.contains("`listen.api`") && err.contains("IP:PORT"),
        "{err}"
    );
    assert!(
        err.contains("`peers[0].raft`") && err.contains("http://HOST:PORT"),
        "{err}"
    );
    assert!(
        err.contains("2 problems"),
        "both problems reported together: {err}"
    );
}

#[test]
fn duplicate_node_ids_are_refused() {
    let s = Setup::new();
    let yaml = s.valid_yaml().replace(
        "    raft: http://127.0.0.1:7111\n",
        "    raft: http://127.0.0.1:7111\n  - id: 1\n    api: http://127.0.0.1:7102\n    raft: http://127.0.0.1:7112\n  - id: 3\n    api: http://127.0.0.1:7103\n    raft: http://127.0.0.1:7113\n",
    );
    let (code, err) = check_config(&s.write(&yaml));
    assert_eq!(code, 1);
    assert!(
        err.contains("`peers[1].id`") && err.contains("duplicate node id 1"),
        "{err}"
    );
}

#[test]
fn world_readable_token_file_is_refused_with_chmod_fix() {
    let s = Setup::new();
    std::fs::set_permissions(
        s.path("admin.token"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let (code, err) = check_config(&s.write(&s.valid_yaml()));
    assert_eq!(code, 1);
    assert!(
        err.contains("auth.tokens[0].token_file") && err.contains("chmod 600"),
        "{err}"
    );
}

#[test]
fn impossible_raft_timing_is_refused() {
    let s = Setup::new();
    let yaml = s.valid_yaml() + "raft:\n  heartbeat_ms: 900\n  election_timeout_min_ms: 800\n";
    let (code, err) = check_config(&s.write(&yaml));
    assert_eq!(code, 1);
    assert!(
        err.contains("raft.heartbeat_ms") && err.contains("fix:"),
        "{err}"
    );
}

#[test]
fn plaintext_token_in_config_is_not_a_key() {
    let s = Setup::new();
    let yaml = s
        .valid_yaml()
        .replace("token_file: admin.token", "token: hunter2");
    let (code, err) = check_config(&s.write(&yaml));
    assert_eq!(code, 1);
    assert!(
        err.contains("unknown field") && err.contains("token"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2"),
        "the secret must not be echoed: {err}"
    );
}

#[test]
fn serve_with_a_bad_config_does_not_start_or_touch_the_data_dir() {
    let s = Setup::new();
    let yaml = s.valid_yaml().replace("role: admin", "role: root");
    let out = run(&["serve"], &s.write(&yaml));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown variant") && err.contains("viewer"),
        "{err}"
    );
    assert!(
        !s.path("data").exists(),
        "a refused node must not create its data dir"
    );
}

#[test]
fn port_in_use_is_a_clear_error() {
    let s = Setup::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let yaml = s
        .valid_yaml()
        .replace("api: 127.0.0.1:0", &format!("api: 127.0.0.1:{port}"));
    let out = run(&["serve"], &s.write(&yaml));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(
        err.contains("in use") && err.contains("listen.api"),
        "{err}"
    );
}

#[test]
fn runbook_lint_exit_codes_through_the_binary() {
    let s = Setup::new();
    let examples = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../runbooks/examples/failover.yaml"
    );
    let ok = Command::new(BIN)
        .args(["runbook", "lint", examples])
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let bad = s.path("bad.yaml");
    std::fs::write(&bad, "apiVersion: lifeboat.dev/v1\nkind: Runbook\nmetadata: {name: x}\nspec:\n  steps:\n    - id: a\n      uses: sleep\n      with: {duration: 1s}\n      needs: [nope]\n").unwrap();
    let out = Command::new(BIN)
        .args(["runbook", "lint", "-o", "json"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(text.contains("RB012"), "{v}");
    let missing = Command::new(BIN)
        .args(["runbook", "lint", "/nonexistent.yaml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn health_settings_that_cannot_work_are_refused_with_fixes() {
    let s = Setup::new();
    let yaml = s.valid_yaml()
        + "health:\n  interval: 2s\n  window: 1s\n  timeout: 3s\n  cooldown: soon\n  quorum: 2\n";
    let (code, err) = check_config(&s.write(&yaml));
    assert_eq!(code, 1);
    for key in [
        "health.window",
        "health.timeout",
        "health.cooldown",
        "health.quorum",
    ] {
        assert!(
            err.contains(&format!("`{key}`")),
            "{key} not reported: {err}"
        );
    }
    assert!(err.contains("shorter than two probe intervals"), "{err}");
    assert!(err.contains("impossible or unsafe with 1 voters"), "{err}");
}

#[test]
fn snapshot_settings_that_cannot_work_are_refused() {
    let s = Setup::new();
    let yaml = s.valid_yaml()
        + "snapshots:\n  compression_level: 30\n  gc_grace: forever\n  schedules:\n    - cluster: nowhere\n      cron: \"every minute\"\n";
    let (code, err) = check_config(&s.write(&yaml));
    assert_eq!(code, 1);
    for key in [
        "snapshots.compression_level",
        "snapshots.gc_grace",
        "snapshots.schedules[0].cluster",
        "snapshots.schedules[0]",
    ] {
        assert!(
            err.contains(&format!("`{key}`")),
            "{key} not reported: {err}"
        );
    }
}

#[test]
fn executor_settings_that_cannot_work_are_refused() {
    let s = Setup::new();
    let yaml = s.valid_yaml()
        + "executor:\n  http_allowlist:\n    - https://hooks.example.com/\n    - hooks.example.com/\n    - ftp://files.example.com/\n  http_timeout: soon\n  max_parallel_steps: 0\n  notify:\n    channels:\n      oncall:\n        webhook: slack\n      audit:\n        log: {}\n";
    let (code, err) = check_config(&s.write(&yaml));
    assert_eq!(code, 1);
    for key in [
        "executor.http_allowlist[1]",
        "executor.http_allowlist[2]",
        "executor.http_timeout",
        "executor.max_parallel_steps",
        "executor.notify.channels.oncall.webhook",
    ] {
        assert!(
            err.contains(&format!("`{key}`")),
            "{key} not reported: {err}"
        );
    }
    assert!(
        !err.contains("`executor.http_allowlist[0]`"),
        "a good prefix: {err}"
    );
    assert!(
        err.contains(":23:7:") && err.contains("http or https"),
        "line of the ftp prefix: {err}"
    );
    assert!(err.contains("5 problems"), "{err}");
}
