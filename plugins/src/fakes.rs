//! In-memory implementations of [`KubeAccess`], [`PluginKv`] and [`Journal`] for tests
//! (this crate's, and the orchestrator's), plus [`Unavailable`] which refuses everything.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::services::{
    BoxFuture, CallInfo, HostServices, Journal, KubeAccess, LogLine, ObjectRef, PluginKv,
    ServiceError, ServiceErrorKind,
};

/// Refuses every call with `unavailable`; drops logs.
#[derive(Debug, Default)]
pub struct Unavailable;

fn unavailable<T: Send + 'static>() -> BoxFuture<'static, Result<T, ServiceError>> {
    Box::pin(async {
        Err(ServiceError::new(
            ServiceErrorKind::Unavailable,
            "service not available here",
        ))
    })
}

impl KubeAccess for Unavailable {
    fn get<'a>(
        &'a self,
        _: &'a CallInfo,
        _: &'a ObjectRef,
    ) -> BoxFuture<'a, Result<Option<Value>, ServiceError>> {
        unavailable()
    }
    fn list<'a>(
        &'a self,
        _: &'a CallInfo,
        _: &'a ObjectRef,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Value>, ServiceError>> {
        unavailable()
    }
    fn apply<'a>(
        &'a self,
        _: &'a CallInfo,
        _: &'a str,
        _: &'a Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        unavailable()
    }
    fn patch<'a>(
        &'a self,
        _: &'a CallInfo,
        _: &'a ObjectRef,
        _: &'a Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        unavailable()
    }
}

impl PluginKv for Unavailable {
    fn get<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ServiceError>> {
        unavailable()
    }
    fn set<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        unavailable()
    }
    fn delete<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<(), ServiceError>> {
        unavailable()
    }
}

impl Journal for Unavailable {
    fn record(&self, _: &CallInfo, _: &LogLine) {}
}

/// An in-memory Kubernetes: objects keyed by [`ObjectRef`], with a call log.
#[derive(Debug, Default)]
pub struct FakeKube {
    objects: Mutex<BTreeMap<ObjectRef, Value>>,
    calls: Mutex<Vec<String>>,
}

impl FakeKube {
    /// An empty fake.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Insert (or replace) an object, keyed from its own `apiVersion/kind/metadata`.
    pub fn insert(&self, cluster: &str, object: Value) {
        if let Some(key) = key_of(cluster, &object) {
            self.objects.lock().unwrap().insert(key, object);
        }
    }

    /// The stored object, if any.
    #[must_use]
    pub fn object(&self, target: &ObjectRef) -> Option<Value> {
        self.objects.lock().unwrap().get(target).cloned()
    }

    /// Calls that reached the fake, as `verb cluster/namespace/kind/name`.
    #[must_use]
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn note(&self, verb: &str, t: &ObjectRef) {
        self.calls.lock().unwrap().push(format!(
            "{verb} {}/{}/{}/{}",
            t.cluster, t.namespace, t.kind, t.name
        ));
    }
}

fn key_of(cluster: &str, object: &Value) -> Option<ObjectRef> {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    Some(ObjectRef {
        cluster: cluster.to_owned(),
        api_version: s(object.get("apiVersion"))?,
        kind: s(object.get("kind"))?,
        namespace: s(object.pointer("/metadata/namespace")).unwrap_or_default(),
        name: s(object.pointer("/metadata/name"))?,
    })
}

/// RFC 7386 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let t = target.as_object_mut().expect("object");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

impl KubeAccess for FakeKube {
    fn get<'a>(
        &'a self,
        _: &'a CallInfo,
        t: &'a ObjectRef,
    ) -> BoxFuture<'a, Result<Option<Value>, ServiceError>> {
        self.note("get", t);
        let found = self.object(t);
        Box::pin(async move { Ok(found) })
    }

    fn list<'a>(
        &'a self,
        _: &'a CallInfo,
        t: &'a ObjectRef,
        _label_selector: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Value>, ServiceError>> {
        self.note("list", t);
        let items = self
            .objects
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| {
                k.cluster == t.cluster
                    && k.api_version == t.api_version
                    && k.kind == t.kind
                    && k.namespace == t.namespace
            })
            .map(|(_, v)| v.clone())
            .collect();
        Box::pin(async move { Ok(items) })
    }

    fn apply<'a>(
        &'a self,
        _: &'a CallInfo,
        cluster: &'a str,
        manifest: &'a Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        let result = match key_of(cluster, manifest) {
            Some(key) => {
                self.note("apply", &key);
                let mut objects = self.objects.lock().unwrap();
                let entry = objects.entry(key).or_insert(Value::Null);
                merge_patch(entry, manifest);
                Ok(entry.clone())
            }
            None => Err(ServiceError::new(
                ServiceErrorKind::Invalid,
                "manifest needs apiVersion, kind and metadata.name",
            )),
        };
        Box::pin(async move { result })
    }

    fn patch<'a>(
        &'a self,
        _: &'a CallInfo,
        t: &'a ObjectRef,
        patch: &'a Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        self.note("patch", t);
        let result = match self.objects.lock().unwrap().get_mut(t) {
            Some(obj) => {
                merge_patch(obj, patch);
                Ok(obj.clone())
            }
            None => Err(ServiceError::new(
                ServiceErrorKind::NotFound,
                format!("{} {}/{} not found", t.kind, t.namespace, t.name),
            )),
        };
        Box::pin(async move { result })
    }
}

/// In-memory [`PluginKv`]: `(plugin, key) -> value`.
#[derive(Debug, Default)]
pub struct MemoryKv {
    map: Mutex<BTreeMap<(String, String), String>>,
}

impl MemoryKv {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key` for `plugin`.
    #[must_use]
    pub fn value(&self, plugin: &str, key: &str) -> Option<String> {
        self.map
            .lock()
            .unwrap()
            .get(&(plugin.to_owned(), key.to_owned()))
            .cloned()
    }
}

impl PluginKv for MemoryKv {
    fn get<'a>(
        &'a self,
        plugin: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ServiceError>> {
        let v = self.value(plugin, key);
        Box::pin(async move { Ok(v) })
    }
    fn set<'a>(
        &'a self,
        plugin: &'a str,
        key: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        self.map
            .lock()
            .unwrap()
            .insert((plugin.to_owned(), key.to_owned()), value.to_owned());
        Box::pin(async { Ok(()) })
    }
    fn delete<'a>(
        &'a self,
        plugin: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        self.map
            .lock()
            .unwrap()
            .remove(&(plugin.to_owned(), key.to_owned()));
        Box::pin(async { Ok(()) })
    }
}

/// In-memory [`Journal`]: keeps every line with its caller.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    lines: Mutex<Vec<(CallInfo, LogLine)>>,
}

impl MemoryJournal {
    /// An empty journal.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Lines recorded for `run_id`/`step_id`.
    #[must_use]
    pub fn lines_for(&self, run_id: &str, step_id: &str) -> Vec<LogLine> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|(c, _)| c.run_id == run_id && c.step_id == step_id)
            .map(|(_, l)| l.clone())
            .collect()
    }
}

impl Journal for MemoryJournal {
    fn record(&self, call: &CallInfo, line: &LogLine) {
        self.lines
            .lock()
            .unwrap()
            .push((call.clone(), line.clone()));
    }
}

/// The fakes, bundled, with handles kept for assertions.
#[derive(Clone, Debug)]
pub struct Fakes {
    /// The fake cluster(s).
    pub kube: Arc<FakeKube>,
    /// The fake plugin state.
    pub kv: Arc<MemoryKv>,
    /// The fake journal.
    pub journal: Arc<MemoryJournal>,
}

impl Fakes {
    /// Fresh, empty fakes.
    #[must_use]
    pub fn new() -> Self {
        Self {
            kube: Arc::new(FakeKube::new()),
            kv: Arc::new(MemoryKv::new()),
            journal: Arc::new(MemoryJournal::new()),
        }
    }

    /// As [`HostServices`] for [`crate::PluginHost::run`].
    #[must_use]
    pub fn services(&self) -> HostServices {
        HostServices {
            kube: self.kube.clone(),
            kv: self.kv.clone(),
            journal: self.journal.clone(),
        }
    }
}

impl Default for Fakes {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc7386() {
        let mut t = serde_json::json!({"a": {"b": 1, "c": 2}, "d": 3});
        merge_patch(
            &mut t,
            &serde_json::json!({"a": {"b": null, "e": 4}, "d": [1]}),
        );
        assert_eq!(t, serde_json::json!({"a": {"c": 2, "e": 4}, "d": [1]}));
    }
}
