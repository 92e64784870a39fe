//! `lint_command`: exit codes, human and JSON output.

use std::path::PathBuf;

use lifeboat_runbooks::{lint_command, runbook_digest};

fn tmp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lifeboat-runbooks-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn run(files: &[PathBuf], json: bool, deny: bool) -> (i32, String) {
    let mut out = Vec::new();
    let code = lint_command(files, json, deny, &mut out);
    (code, String::from_utf8(out).unwrap())
}

const WARN_ONLY: &str = "apiVersion: lifeboat.dev/v1\nkind: Runbook\nmetadata: {name: t}\nspec:\n  steps:\n    - {id: a, uses: sleep, with: {duration: 1s}, onTimeout: approve}\n";

#[test]
fn exit_codes() {
    let example = PathBuf::from(format!(
        "{}/examples/failover.yaml",
        env!("CARGO_MANIFEST_DIR")
    ));
    assert_eq!(run(std::slice::from_ref(&example), false, true).0, 0);
    let bad = tmp(
        "bad.yaml",
        "apiVersion: v2\nkind: Runbook\nmetadata: {name: t}\nspec: {steps: []}\n",
    );
    let (code, text) = run(&[example.clone(), bad], false, false);
    assert_eq!(code, 1);
    assert!(text.contains("error[RB004]"), "{text}");
    assert!(text.contains("bad.yaml:1:13"), "{text}");
    let warn = tmp("warn.yaml", WARN_ONLY);
    assert_eq!(run(std::slice::from_ref(&warn), false, false).0, 0);
    assert_eq!(run(&[warn], false, true).0, 1);
    assert_eq!(
        run(&[PathBuf::from("/nonexistent/x.yaml")], false, false).0,
        2
    );
}

#[test]
fn json_output() {
    let warn = tmp("warn2.yaml", WARN_ONLY);
    let (code, text) = run(&[warn], true, false);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["warnings"], 1);
    assert_eq!(v["errors"], 0);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "RB046");
    assert_eq!(d["severity"], "warning");
    assert_eq!(d["line"], 6);
    assert!(d["hint"].is_string());
}

#[test]
fn digest_is_sha256_of_bytes() {
    assert_eq!(
        runbook_digest(""),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}
