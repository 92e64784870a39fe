//! Unit tests of `run` and `drill`: params, the SSE parser, the watcher, tables.

use serde_json::{Value, json};

use super::list::render_list;
use super::params::{params_map, parse_param, parse_value};
use super::show::{journal_rows, render_show};
use super::sse::{SseEvent, SseParser};
use super::watcher::Watcher;
use crate::cli::table::Paint;

#[test]
fn param_values_are_json_when_they_parse() {
    assert_eq!(parse_param("n=3").unwrap(), ("n".into(), json!(3)));
    assert_eq!(parse_param("x=1.5").unwrap().1, json!(1.5));
    assert_eq!(parse_param("dry=true").unwrap().1, json!(true));
    assert_eq!(parse_param("c=eu-west").unwrap().1, json!("eu-west"));
    assert_eq!(parse_param("c=").unwrap().1, json!(""));
    assert_eq!(parse_param(r#"l=["a","b"]"#).unwrap().1, json!(["a", "b"]));
    assert_eq!(parse_param(r#"o={"a":1}"#).unwrap().1, json!({"a": 1}));
    // Only the first `=` splits.
    assert_eq!(
        parse_param("url=https://x/?a=b").unwrap(),
        ("url".into(), json!("https://x/?a=b"))
    );
}

#[test]
fn bracket_lists_without_quotes_are_lists() {
    assert_eq!(parse_value("[a,b]"), json!(["a", "b"]));
    assert_eq!(parse_value("[shop, 2, true]"), json!(["shop", 2, true]));
    assert_eq!(parse_value("[a,[b,c]]"), json!(["a", ["b", "c"]]));
    assert_eq!(parse_value("[]"), json!([]));
    assert_eq!(parse_value("[a,]"), json!(["a"]));
    // Not a list: a string.
    assert_eq!(parse_value("[a"), json!("[a"));
}

#[test]
fn bad_params_are_refused_with_the_fix() {
    let e = parse_param("cluster").unwrap_err();
    assert!(e.contains("NAME=VALUE"), "{e}");
    assert!(parse_param("=x").is_err());
    let e = params_map(vec![("a".into(), json!(1)), ("a".into(), json!(2))]).unwrap_err();
    assert!(e.contains("`a` is given twice"), "{e}");
}

#[test]
fn sse_events_split_across_chunks() {
    let mut p = SseParser::default();
    assert!(p.push(b"event: jour").is_empty());
    assert!(p.push(b"nal\nid: 7\ndata: {\"a\":").is_empty());
    let got = p.push(b"1}\n\nevent: state\ndata: {}\n\n");
    assert_eq!(
        got,
        vec![
            SseEvent {
                event: "journal".into(),
                data: "{\"a\":1}".into(),
                id: Some("7".into())
            },
            SseEvent {
                event: "state".into(),
                data: "{}".into(),
                id: Some("7".into())
            },
        ]
    );
}

#[test]
fn sse_comments_crlf_multiline_data_and_defaults() {
    let mut p = SseParser::default();
    // A keep-alive comment and a blank line dispatch nothing.
    assert!(p.push(b":\n\n").is_empty());
    // CRLF split between chunks: no spurious blank line.
    assert!(p.push(b"data:one\r").is_empty());
    assert!(p.push(b"\ndata: two\r\n").is_empty());
    let got = p.push(b"\r\n");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event, "message");
    assert_eq!(got[0].data, "one\ntwo");
}

#[test]
fn sse_keeps_utf8_split_across_chunks() {
    let mut p = SseParser::default();
    let bytes = "data: café\n\n".as_bytes();
    let (a, b) = bytes.split_at(9); // inside the two bytes of `é`
    assert!(p.push(a).is_empty());
    assert_eq!(p.push(b)[0].data, "café");
}

fn ev(event: &str, data: Value) -> SseEvent {
    SseEvent {
        event: event.into(),
        data: data.to_string(),
        id: None,
    }
}

#[test]
fn watcher_prints_each_thing_once_and_knows_the_end() {
    let mut w = Watcher::default();
    let started = ev(
        "journal",
        json!({"type": "stepStarted", "stepId": "restore", "item": null, "attempt": 1,
               "idempotencyKey": "k", "atMs": 1_000, "index": 5}),
    );
    let done = ev(
        "journal",
        json!({"type": "stepSucceeded", "stepId": "restore", "item": null, "attempt": 1,
               "result": {}, "atMs": 3_500, "index": 6}),
    );
    let line = w.handle(&started);
    assert_eq!(
        line,
        vec!["00:00:01 restore: attempt 1 started".to_string()]
    );
    assert_eq!(
        w.handle(&done),
        vec!["00:00:03 restore: succeeded (2.5s)".to_string()]
    );
    // After a reconnect the stream starts again from the beginning.
    assert!(w.handle(&started).is_empty());
    let log = ev(
        "log",
        json!({"at_ms": 2_000, "step_id": "restore", "level": "info", "message": "hi"}),
    );
    assert_eq!(w.handle(&log).len(), 1);
    assert!(w.handle(&log).is_empty());
    assert_eq!(w.final_state, None);
    let state = ev(
        "state",
        json!({"id": "run-1", "state": "failed", "reason": "restore: boom",
               "finished_at_ms": 4_000}),
    );
    assert_eq!(
        w.handle(&state),
        vec!["00:00:04 run run-1 is failed: restore: boom".to_string()]
    );
    assert_eq!(w.final_state.as_deref(), Some("failed"));
}

#[test]
fn journal_rows_show_attempts_and_takeovers() {
    let journal = vec![
        json!({"type": "stepStarted", "stepId": "restore", "item": null, "attempt": 1,
               "idempotencyKey": "k", "atMs": 1_000, "index": 3}),
        json!({"type": "resumed", "atMs": 2_000, "index": 4}),
        json!({"type": "stepStarted", "stepId": "restore", "item": null, "attempt": 2,
               "idempotencyKey": "k", "atMs": 2_500, "index": 5}),
        json!({"type": "stepFailed", "stepId": "restore", "item": null, "attempt": 2,
               "kind": "timeout", "error": "deadline passed", "atMs": 9_500, "index": 6}),
        json!({"type": "stepSkipped", "stepId": "fence", "reason": "drill: skipped",
               "atMs": 9_600, "index": 7}),
    ];
    let rows = journal_rows(&journal);
    let outcomes: Vec<&str> = rows.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["interrupted", "timed out", "skipped"]);
    assert_eq!(rows[1].attempt, "2");
    assert_eq!(rows[1].error, "deadline passed");
    let v = json!({"id": "run-1", "runbook": "rb", "state": "failed", "journal": journal,
                   "created_at_ms": 0, "finished_at_ms": 10_000, "open": []});
    let text = render_show(&v, 10_000, Paint::OFF);
    assert!(
        text.contains("restore        2  timed out        7.0s  deadline passed"),
        "{text}"
    );
}

#[test]
fn list_fits_in_100_columns() {
    let runs = vec![json!({
        "id": "run-123456", "runbook": "a-very-long-runbook-name-that-goes-on-and-on",
        "state": "cancelled", "trigger": {"type": "cluster_lost", "cluster": "eu-west-1-big"},
        "created_at_ms": 1_700_000_000_000u64, "finished_at_ms": 1_700_000_100_000u64,
    })];
    let text = render_list(&runs, 0, Paint::OFF);
    for line in text.lines() {
        assert!(line.chars().count() <= 100, "{line}");
    }
    assert!(text.contains("lost:eu-west-1-big"), "{text}");
    assert!(text.contains("2023-11-14 22:13:20"), "{text}");
}
