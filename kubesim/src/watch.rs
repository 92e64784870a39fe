//! Watch streams: newline-delimited JSON events (`ADDED`, `MODIFIED`, `DELETED`,
//! `BOOKMARK`, `ERROR`), starting from a snapshot or resuming from a resourceVersion,
//! and closing after `timeoutSeconds`.

use crate::catalog::ResourceDef;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Event, Store};
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// Parsed watch parameters.
#[derive(Debug, Clone)]
pub struct WatchQuery {
    /// Only objects in this namespace.
    pub namespace: Option<String>,
    /// Label selector.
    pub labels: LabelSelector,
    /// Field selector.
    pub fields: FieldSelector,
    /// Resume after this resourceVersion (None: start with the current state).
    pub since: Option<u64>,
    /// Close the stream after this long.
    pub timeout: Duration,
    /// Send a BOOKMARK marking the end of the initial events.
    pub initial_events_end: bool,
}

/// Render an object for the requested version (objects of all versions share storage).
pub fn for_version<'a>(obj: &'a Arc<Value>, def: &ResourceDef) -> std::borrow::Cow<'a, Value> {
    let av = def.api_version();
    if obj.get("apiVersion").and_then(Value::as_str) == Some(av.as_str()) {
        std::borrow::Cow::Borrowed(obj.as_ref())
    } else {
        let mut o = (**obj).clone();
        o["apiVersion"] = json!(av);
        std::borrow::Cow::Owned(o)
    }
}

fn line(kind: &str, obj: &Value) -> Bytes {
    let mut v = serde_json::to_vec(&json!({"type": kind, "object": obj})).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

struct Stream {
    def: Arc<ResourceDef>,
    q: WatchQuery,
    pending: VecDeque<Bytes>,
    rx: Option<broadcast::Receiver<Arc<Event>>>,
    after: u64,
    deadline: Instant,
}

impl Stream {
    fn wanted(&self, obj: &Value) -> bool {
        self.q
            .namespace
            .as_deref()
            .is_none_or(|ns| crate::object::namespace(obj) == ns)
            && self.q.labels.matches(obj)
            && self.q.fields.matches(obj)
    }

    fn push_event(&mut self, e: &Event) {
        if e.rv <= self.after
            || e.group_resource != self.def.group_resource()
            || !self.wanted(&e.object)
        {
            return;
        }
        let obj = for_version(&e.object, &self.def).into_owned();
        self.pending.push_back(line(e.kind.as_str(), &obj));
    }

    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(b) = self.pending.pop_front() {
                return Some(b);
            }
            let rx = self.rx.as_mut()?;
            let ev = tokio::time::timeout_at(self.deadline, rx.recv()).await;
            match ev {
                Err(_) | Ok(Err(broadcast::error::RecvError::Closed)) => return None,
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                    self.rx = None;
                    let gone = crate::ApiError::Gone {
                        requested: self.after,
                        oldest: self.after + 1,
                    };
                    return Some(line("ERROR", &gone.status()));
                }
                Ok(Ok(e)) => {
                    self.push_event(&e);
                    self.after = self.after.max(e.rv);
                }
            }
        }
    }
}

/// Start a watch and return the streaming response. A resourceVersion older than the
/// history yields a single `ERROR` event with a 410 Status, as the real server does.
pub fn respond(store: &Store, def: Arc<ResourceDef>, q: WatchQuery) -> Response {
    let deadline = Instant::now() + q.timeout;
    let mut s = Stream {
        def: def.clone(),
        q: q.clone(),
        pending: VecDeque::new(),
        rx: None,
        after: 0,
        deadline,
    };
    match store.watch_start(&def, q.since) {
        Err(e) => s.pending.push_back(line("ERROR", &e.status())),
        Ok((snapshot, history, rx, rv)) => {
            let lines: Vec<Bytes> = snapshot
                .iter()
                .filter(|o| s.wanted(o))
                .map(|obj| line("ADDED", &for_version(obj, &def)))
                .collect();
            s.pending.extend(lines);
            if q.initial_events_end {
                let mark = json!({"kind": def.kind, "apiVersion": def.api_version(), "metadata": {
                    "resourceVersion": rv.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}});
                s.pending.push_back(line("BOOKMARK", &mark));
            }
            for e in &history {
                s.push_event(e);
            }
            s.after = rv;
            s.rx = Some(rx);
        }
    }
    let stream = futures::stream::unfold(s, |mut s| async move {
        s.next().await.map(|b| (Ok::<_, Infallible>(b), s))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(Body::from_stream(stream))
        .unwrap_or_default()
}
