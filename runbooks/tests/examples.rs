//! The shipped examples lint clean, and the committed JSON Schema is up to date.

use lifeboat_runbooks::{NoPlugins, json_schema, parse_and_lint, render_human};

fn lint_example(name: &str) {
    let path = format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(&path).unwrap();
    let report = parse_and_lint(&path, &src, &NoPlugins);
    assert!(
        report.diagnostics.is_empty(),
        "{}",
        render_human(&report, &src)
    );
    assert!(report.runbook.is_some());
}

#[test]
fn failover_example_is_clean() {
    lint_example("failover.yaml");
}

#[test]
fn drill_example_is_clean() {
    lint_example("drill.yaml");
}

#[test]
fn failback_example_is_clean() {
    lint_example("failback.yaml");
}

/// Regenerate with `UPDATE_SCHEMA=1 cargo test -p lifeboat-runbooks --test examples`.
#[test]
fn json_schema_is_up_to_date() {
    let path = format!("{}/runbook.schema.json", env!("CARGO_MANIFEST_DIR"));
    let fresh = json_schema();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "runbooks/runbook.schema.json is out of date: run UPDATE_SCHEMA=1 cargo test -p lifeboat-runbooks --test examples"
    );
}
