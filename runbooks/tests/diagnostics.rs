//! One test per diagnostic code: a bad snippet, asserting code + line + column.

use lifeboat_runbooks::{LintReport, NoPlugins, PluginSchema, parse_and_lint, render_human};
use serde_json::json;

/// Lines 1-5 of every snippet.
const HEAD: &str = "apiVersion: lifeboat.dev/v1\nkind: Runbook\nmetadata: {name: t}\nspec:\n  triggers: [manual]\n";

fn lint(src: &str) -> LintReport {
    parse_and_lint("t.yaml", src, &NoPlugins)
}

#[track_caller]
fn expect_in(report: &LintReport, src: &str, code: &str, line: usize, column: usize) {
    let found = report
        .diagnostics
        .iter()
        .any(|d| d.code == code && d.line == line && d.column == column && d.file == "t.yaml");
    assert!(
        found,
        "expected {code} at {line}:{column}, got:\n{}",
        render_human(report, src)
    );
    let d = report.diagnostics.iter().find(|d| d.code == code).unwrap();
    assert!(d.hint.is_some(), "{code} has no hint");
}

#[track_caller]
fn expect(body: &str, code: &str, line: usize, column: usize) {
    let src = format!("{HEAD}{body}");
    expect_in(&lint(&src), &src, code, line, column);
}

#[track_caller]
fn expect_src(src: &str, code: &str, line: usize, column: usize) {
    expect_in(&lint(src), src, code, line, column);
}

#[test]
fn clean_snippet_has_no_diagnostics() {
    let src =
        format!("{HEAD}  steps:\n    - id: a\n      uses: sleep\n      with: {{duration: 1s}}\n");
    let r = lint(&src);
    assert!(r.diagnostics.is_empty(), "{}", render_human(&r, &src));
}

#[test]
fn rb001_yaml_syntax() {
    expect_src(
        "apiVersion: lifeboat.dev/v1\nkind: [Runbook\nmetadata: {name: t}\n",
        "RB001",
        3,
        9,
    );
}

#[test]
fn rb002_unknown_field_with_suggestion() {
    let body =
        "  steps:\n    - id: a\n      uses: sleep\n      with: {duration: 1s}\n      neds: [b]\n";
    expect(body, "RB002", 10, 7);
    let r = lint(&format!("{HEAD}{body}"));
    let d = r.diagnostics.iter().find(|d| d.code == "RB002").unwrap();
    assert_eq!(d.hint.as_deref(), Some("did you mean `needs`?"));
}

#[test]
fn rb002_reports_every_unknown_field() {
    let body = "  stepz: []\n  steps:\n    - id: a\n      uses: sleep\n      with: {duration: 1s}\n      colour: red\n";
    let src = format!("{HEAD}{body}");
    let r = lint(&src);
    expect_in(&r, &src, "RB002", 6, 3);
    expect_in(&r, &src, "RB002", 11, 7);
}

#[test]
fn rb003_wrong_type() {
    expect(
        "  steps:\n    - id: a\n      uses: sleep\n      timeout: forever\n",
        "RB003",
        9,
        16,
    );
}

#[test]
fn rb004_wrong_api_version() {
    expect_src(
        "apiVersion: v1\nkind: Runbook\nmetadata: {name: t}\nspec: {steps: []}\n",
        "RB004",
        1,
        13,
    );
}

#[test]
fn rb005_wrong_kind() {
    expect_src(
        "apiVersion: lifeboat.dev/v1\nkind: Deployment\nmetadata: {name: t}\nspec: {steps: []}\n",
        "RB005",
        2,
        7,
    );
}

#[test]
fn rb006_duplicate_key() {
    expect("  steps: []\n  steps: []\n", "RB006", 7, 3);
}

#[test]
fn rb007_invalid_name() {
    expect_src(
        "apiVersion: lifeboat.dev/v1\nkind: Runbook\nmetadata: {name: Bad_Name}\nspec: {steps: []}\n",
        "RB007",
        3,
        18,
    );
}

#[test]
fn rb010_duplicate_step_id() {
    let body = "  steps:\n    - {id: a, uses: sleep, with: {duration: 1s}}\n    - {id: a, uses: sleep, with: {duration: 1s}}\n";
    expect(body, "RB010", 8, 12);
}

#[test]
fn rb011_reserved_and_invalid_ids() {
    expect(
        "  steps:\n    - {id: params, uses: sleep, with: {duration: 1s}}\n",
        "RB011",
        7,
        12,
    );
    expect(
        "  steps:\n    - {id: my-step, uses: sleep, with: {duration: 1s}}\n",
        "RB011",
        7,
        12,
    );
}

#[test]
fn rb012_needs_unknown_step() {
    let body =
        "  steps:\n    - id: a\n      uses: sleep\n      with: {duration: 1s}\n      needs: [b]\n";
    expect(body, "RB012", 10, 15);
}

#[test]
fn rb013_cycle() {
    let body = "  steps:\n    - {id: a, uses: sleep, with: {duration: 1s}, needs: [b]}\n    - {id: b, uses: sleep, with: {duration: 1s}}\n";
    expect(body, "RB013", 7, 50);
}

#[test]
fn rb014_unreachable_steps() {
    // c depends on a cycle: never starts.
    let body = "  steps:\n    - {id: a, uses: sleep, with: {duration: 1s}, needs: [b]}\n    - {id: b, uses: sleep, with: {duration: 1s}}\n    - {id: c, uses: sleep, with: {duration: 1s}}\n";
    expect(body, "RB014", 9, 12);
    // when is always false.
    expect(
        "  steps:\n    - id: a\n      uses: sleep\n      with: {duration: 1s}\n      when: false\n",
        "RB014",
        10,
        13,
    );
}

#[test]
fn rb020_template_syntax() {
    expect(
        "  steps:\n    - id: a\n      uses: log\n      with: {message: \"{{ run.id \"}\n",
        "RB020",
        9,
        23,
    );
}

#[test]
fn rb021_undefined_param() {
    expect(
        "  steps:\n    - id: a\n      uses: log\n      with:\n        message: \"{{ params.nope }}\"\n",
        "RB021",
        10,
        18,
    );
}

#[test]
fn rb022_unknown_output() {
    let body = "  steps:\n    - {id: a, uses: sleep, with: {duration: 1s}, outputs: {x: \"{{ result.x }}\"}}\n    - id: b\n      uses: log\n      with:\n        message: \"{{ steps.a.outputs.y }}\"\n";
    expect(body, "RB022", 11, 18);
}

#[test]
fn rb023_output_of_non_ancestor() {
    let body = "  steps:\n    - {id: a, uses: log, with: {message: \"{{ steps.b.outputs.x }}\"}}\n    - {id: b, uses: sleep, with: {duration: 1s}, outputs: {x: \"{{ result.x }}\"}}\n";
    expect(body, "RB023", 7, 42);
}

#[test]
fn rb024_unknown_variable() {
    expect(
        "  steps:\n    - id: a\n      uses: log\n      with:\n        message: \"{{ item }}\"\n",
        "RB024",
        10,
        18,
    );
    expect(
        "  steps:\n    - id: a\n      uses: log\n      with:\n        message: \"{{ foo.bar }}\"\n",
        "RB024",
        10,
        18,
    );
}

#[test]
fn rb025_secret_in_notification() {
    let body = "  params:\n    token: {type: secret, default: \"secret:api/token\"}\n  steps:\n    - id: a\n      uses: notify\n      with:\n        channel: ops\n        message: \"token is {{ params.token }}\"\n";
    expect(body, "RB025", 13, 18);
}

#[test]
fn rb030_default_breaks_type_or_enum() {
    let body = "  params:\n    n: {type: int, default: three}\n  steps: []\n";
    expect(body, "RB030", 7, 29);
    let body = "  params:\n    c: {type: string, default: x, enum: [a, b]}\n  steps: []\n";
    expect(body, "RB030", 7, 32);
}

#[test]
fn rb031_required_param_on_automatic_trigger() {
    let src = "apiVersion: lifeboat.dev/v1\nkind: Runbook\nmetadata: {name: t}\nspec:\n  triggers: [{clusterLost: {cluster: a}}]\n  params:\n    cluster: {type: string}\n    target: {type: string}\n  steps: []\n";
    expect_src(src, "RB031", 8, 5);
    assert_eq!(
        lint(src)
            .diagnostics
            .iter()
            .filter(|d| d.code == "RB031")
            .count(),
        1
    );
}

#[test]
fn rb032_trigger_param_not_declared() {
    let src = "apiVersion: lifeboat.dev/v1\nkind: Runbook\nmetadata: {name: t}\nspec:\n  triggers:\n    - clusterLost: {cluster: a}\n  steps: []\n";
    expect_src(src, "RB032", 6, 7);
}

#[test]
fn rb040_mutating_step_without_timeout() {
    let body = "  concurrency: {key: \"x/{{ params.c }}\"}\n  params: {c: {type: string, default: a}}\n  steps:\n    - id: a\n      uses: k8s.scale\n      with: {cluster: \"{{ params.c }}\", namespace: n, name: x, replicas: 1}\n";
    expect(body, "RB040", 10, 13);
}

#[test]
fn rb041_retry_without_idempotency_key() {
    let body = "  concurrency: {key: \"x/{{ params.c }}\"}\n  params: {c: {type: string, default: a}}\n  steps:\n    - id: a\n      uses: cluster.fence\n      with: {cluster: \"{{ params.c }}\"}\n      timeout: 1m\n      retry: {maxAttempts: 3}\n";
    expect(body, "RB041", 13, 7);
}

#[test]
fn rb042_bad_backoff() {
    let body = "  steps:\n    - id: a\n      uses: sleep\n      with: {duration: 1s}\n      idempotencyKey: k\n      retry:\n        maxAttempts: 3\n        backoff: {initial: 10s, factor: 0.5, max: 1s}\n";
    let src = format!("{HEAD}{body}");
    let r = lint(&src);
    expect_in(&r, &src, "RB042", 13, 41);
    expect_in(&r, &src, "RB042", 13, 51);
    expect(
        "  steps:\n    - id: a\n      uses: sleep\n      with: {duration: 1s}\n      retry: {maxAttempts: 0}\n",
        "RB042",
        10,
        28,
    );
}

#[test]
fn rb043_rb044_approval_without_timeout_or_on_timeout() {
    let body =
        "  steps:\n    - id: a\n      uses: approval\n      with: {approvers: {roles: [sre]}}\n";
    expect(body, "RB043", 8, 13);
    expect(body, "RB044", 8, 13);
}

#[test]
fn rb045_mutating_runbook_without_concurrency_key() {
    let body = "  params: {c: {type: string, default: a}}\n  steps:\n    - id: a\n      uses: cluster.fence\n      with: {cluster: \"{{ params.c }}\"}\n      timeout: 1m\n";
    expect(body, "RB045", 4, 1);
    let body = "  params: {c: {type: string, default: a}}\n  concurrency: {key: failover}\n  steps:\n    - id: a\n      uses: cluster.fence\n      with: {cluster: \"{{ params.c }}\"}\n      timeout: 1m\n";
    expect(body, "RB045", 7, 22);
}

#[test]
fn rb046_on_timeout_on_non_approval() {
    expect(
        "  steps:\n    - id: a\n      uses: sleep\n      with: {duration: 1s}\n      onTimeout: approve\n",
        "RB046",
        10,
        7,
    );
}

#[test]
fn rb050_drill_reaches_production_only_effect() {
    let src = "apiVersion: lifeboat.dev/v1\nkind: Runbook\nmetadata: {name: t}\nspec:\n  triggers: [drill]\n  params: {c: {type: string, default: a}}\n  concurrency: {key: \"f/{{ params.c }}\"}\n  steps:\n    - id: fence\n      uses: cluster.fence\n      with: {cluster: \"{{ params.c }}\"}\n      timeout: 1m\n    - id: scale\n      uses: k8s.scale\n      with: {cluster: \"{{ params.c }}\", namespace: shop, name: x, replicas: 1}\n      timeout: 1m\n    - id: dns\n      uses: http.request\n      with: {method: POST, url: \"https://dns/x\"}\n      timeout: 1m\n";
    let r = lint(src);
    expect_in(&r, src, "RB050", 10, 13);
    expect_in(&r, src, "RB050", 14, 13);
    expect_in(&r, src, "RB050", 18, 13);
    // Overrides silence it.
    let fixed = src
        .replace(
            "  steps:\n",
            "  drill: {skip: [fence], simulate: [dns]}\n  steps:\n",
        )
        .replace(
            "namespace: shop",
            "namespace: \"shop{{ run.namespaceSuffix }}\"",
        );
    assert!(
        !lint(&fixed).has("RB050"),
        "{}",
        render_human(&lint(&fixed), &fixed)
    );
}

#[test]
fn rb051_drill_names_unknown_step() {
    expect("  drill: {skip: [nope]}\n  steps: []\n", "RB051", 6, 18);
}

#[test]
fn rb060_unknown_step_type() {
    expect(
        "  steps:\n    - id: a\n      uses: k8s.scael\n",
        "RB060",
        8,
        13,
    );
}

#[test]
fn rb061_plugin_not_pinned() {
    expect(
        "  steps:\n    - id: a\n      uses: plugin/dns:latest\n      timeout: 1m\n",
        "RB061",
        8,
        13,
    );
}

#[test]
fn rb062_with_fails_input_schema() {
    let body = "  steps:\n    - id: a\n      uses: sleep\n      with: {duration: soon}\n";
    expect(body, "RB062", 9, 24);
    let body = "  steps:\n    - id: a\n      uses: log\n      with:\n        message: hi\n        colour: red\n";
    expect(body, "RB062", 11, 9);
}

#[test]
fn rb062_plugin_schema_from_lookup() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let src = format!(
        "{HEAD}  steps:\n    - id: a\n      uses: plugin/dns@{digest}\n      with: {{zone: 5}}\n"
    );
    let lookup = |name: &str, d: &str| {
        (name == "dns" && d.starts_with("sha256:")).then(|| PluginSchema {
            input_schema: json!({"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}),
            mutating: false,
            production_only: false,
            capabilities: Vec::new(),
        })
    };
    let r = parse_and_lint("t.yaml", &src, &lookup);
    expect_in(&r, &src, "RB062", 9, 20);
}

fn dns_lookup(name: &str, d: &str) -> Option<PluginSchema> {
    (name == "dns" && d.starts_with("sha256:")).then(|| PluginSchema {
        input_schema: json!({"type": "object"}),
        mutating: false,
        production_only: false,
        capabilities: vec!["http".into(), "log".into()],
    })
}

#[test]
fn rb064_plugin_capability_not_granted() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let src = format!(
        "{HEAD}  steps:\n    - id: a\n      uses: plugin/dns@{digest}\n      permissions: {{log: true}}\n"
    );
    let r = parse_and_lint("t.yaml", &src, &dns_lookup);
    expect_in(&r, &src, "RB064", 8, 13);
    assert!(
        r.diagnostics
            .iter()
            .any(|d| d.code == "RB064" && d.message.contains("`http`"))
    );
    // Granting it clears the error.
    let ok = src.replace(
        "{log: true}",
        "{log: true, http: {allowHosts: [dns.internal]}}",
    );
    let r = parse_and_lint("t.yaml", &ok, &dns_lookup);
    assert!(!r.has("RB064"), "{:?}", r.diagnostics);
}

#[test]
fn rb065_permissions_on_a_builtin_or_unknown_capability() {
    let body = "  steps:\n    - id: a\n      uses: sleep\n      with: {duration: 1s}\n      permissions: {http: {}}\n";
    expect(body, "RB065", 10, 7);
    let digest = format!("sha256:{}", "ab".repeat(32));
    let src = format!(
        "{HEAD}  steps:\n    - id: a\n      uses: plugin/dns@{digest}\n      permissions: {{log: true, http: {{}}, disk: true}}\n"
    );
    let r = parse_and_lint("t.yaml", &src, &dns_lookup);
    assert!(
        r.diagnostics
            .iter()
            .any(|d| d.code == "RB065" && d.message.contains("`disk`")),
        "{:?}",
        r.diagnostics
    );
}

#[test]
fn rb066_scale_needs_exactly_one_of_replicas_and_from_snapshot() {
    let step = "  concurrency: {key: a}\n  steps:\n    - id: a\n      uses: k8s.scale\n      timeout: 1m\n      with:\n        cluster: a\n        namespace: shop\n        name: web\n";
    // Both: points at the `fromSnapshot` key.
    let both = format!("{step}        replicas: 2\n        fromSnapshot: s1\n");
    expect(&both, "RB066", 16, 9);
    // Neither: points at `with`.
    expect(step, "RB066", 11, 7);
    // `latest` without `sourceCluster`: points at the value.
    let latest = format!("{step}        fromSnapshot: latest\n");
    expect(&latest, "RB066", 15, 23);
    // `sourceNamespace` with `replicas`.
    let stray = format!("{step}        replicas: 2\n        sourceNamespace: shop\n");
    expect(&stray, "RB066", 16, 9);
    // The two good forms are clean.
    for good in [
        format!("{step}        replicas: 2\n"),
        format!(
            "{step}        fromSnapshot: latest\n        sourceCluster: east\n        sourceNamespace: shop\n"
        ),
        format!("{step}        fromSnapshot: \"{{{{ params.snap }}}}\"\n"),
    ] {
        let src = format!("{HEAD}  params: {{snap: {{type: string, default: s1}}}}\n{good}");
        let r = lint(&src);
        assert!(!r.has("RB066"), "{}", render_human(&r, &src));
        assert!(!r.has("RB062"), "{}", render_human(&r, &src));
    }
}

#[test]
fn rb063_plugin_not_registered_is_a_warning() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let src = format!(
        "{HEAD}  steps:\n    - id: a\n      uses: plugin/dns@{digest}\n      timeout: 1m\n  concurrency: {{key: dns}}\n"
    );
    let r = lint(&src);
    expect_in(&r, &src, "RB063", 8, 13);
    assert!(r.is_ok(), "a warning only");
}
