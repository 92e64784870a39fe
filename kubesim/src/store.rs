//! The in-memory object store: objects by group-resource and (namespace, name), one
//! cluster-wide resourceVersion counter, a bounded event history and a broadcast channel
//! for watches. Every write goes through [`Store::write`], which runs under one lock so
//! that resourceVersions, history and broadcasts are in one total order.

use crate::catalog::{Catalog, ResourceDef};
use crate::error::ApiError;
use crate::object::{self, random_suffix};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::system::{self, Target};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::sync::{broadcast, mpsc};

/// Watch event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object deleted.
    Deleted,
}

impl EventType {
    /// The wire name (`ADDED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as recorded in history and sent to watchers.
#[derive(Debug, Clone)]
pub struct Event {
    /// resourceVersion of the change.
    pub rv: u64,
    /// What happened.
    pub kind: EventType,
    /// `plural.group` of the object.
    pub group_resource: String,
    /// The object after (or, for deletes, at) the change.
    pub object: Arc<Value>,
}

/// A note to the workload simulator that a workload object was written.
#[derive(Debug, Clone)]
pub struct WorkloadNote {
    /// Resource of the object.
    pub def: Arc<ResourceDef>,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

type Key = (String, String);
type Table = BTreeMap<Key, Arc<Value>>;

struct State {
    catalog: Catalog,
    objects: HashMap<String, Table>,
    rv: u64,
    history: VecDeque<Arc<Event>>,
    /// Oldest resourceVersion a watch may resume from.
    floor: u64,
}

/// List options already parsed from the query string.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Label selector.
    pub labels: LabelSelector,
    /// Field selector.
    pub fields: FieldSelector,
    /// Page size (0: everything).
    pub limit: usize,
    /// Opaque continue token from a previous page.
    pub continue_token: Option<String>,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// Matching objects, in key order.
    pub items: Vec<Arc<Value>>,
    /// resourceVersion of the list.
    pub rv: u64,
    /// Token for the next page, if there is more.
    pub continue_token: Option<String>,
}

/// What a write closure decided.
pub enum Decision {
    /// Store this object.
    Put(Value),
    /// Leave the object as it is and return it.
    Keep,
}

/// Size of the event history kept for resuming watches.
pub const DEFAULT_HISTORY: usize = 10_000;

/// Namespaces that exist at start-up.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// What a watch starts from: snapshot, history after the requested resourceVersion,
/// the live receiver, and the resourceVersion the live stream continues after.
pub type WatchStart = (
    Vec<Arc<Value>>,
    Vec<Arc<Event>>,
    broadcast::Receiver<Arc<Event>>,
    u64,
);

/// The store. Cheap to share behind an `Arc`.
pub struct Store {
    state: RwLock<State>,
    events: broadcast::Sender<Arc<Event>>,
    history_cap: usize,
    dirty: AtomicBool,
    workload_tx: Option<mpsc::UnboundedSender<WorkloadNote>>,
}

fn not_found(def: &ResourceDef, name: &str) -> ApiError {
    ApiError::NotFound {
        resource: def.group_resource(),
        name: name.to_string(),
    }
}

fn encode_token(rv: u64, key: &Key) -> String {
    hex::encode(json!([rv, key.0, key.1]).to_string())
}

fn decode_token(t: &str) -> Result<(u64, Key), ApiError> {
    let bad = || ApiError::BadRequest(format!("continue key is not valid: \"{t}\""));
    let raw = hex::decode(t).map_err(|_| bad())?;
    let (rv, ns, name): (u64, String, String) = serde_json::from_slice(&raw).map_err(|_| bad())?;
    Ok((rv, (ns, name)))
}

impl Store {
    /// A store with the system namespaces; `workload_tx` receives workload writes.
    pub fn new(
        history_cap: usize,
        workload_tx: Option<mpsc::UnboundedSender<WorkloadNote>>,
    ) -> Arc<Self> {
        let (events, _) = broadcast::channel(4096);
        let store = Arc::new(Store {
            state: RwLock::new(State {
                catalog: Catalog::default(),
                objects: HashMap::new(),
                rv: 1,
                history: VecDeque::new(),
                floor: 1,
            }),
            events,
            history_cap: history_cap.max(1),
            dirty: AtomicBool::new(false),
            workload_tx,
        });
        let ns_def = store
            .resolve("", "v1", "namespaces")
            .expect("namespaces are built in");
        for ns in SYSTEM_NAMESPACES {
            let _ = store.create(
                &ns_def,
                "",
                json!({"metadata": {"name": ns}}),
                "kubesim",
                false,
            );
        }
        store
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_lock(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The resource served at group/version/plural.
    pub fn resolve(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceDef>> {
        self.read().catalog.find(group, version, plural)
    }

    /// A copy of the catalogue (for discovery).
    pub fn catalog(&self) -> Catalog {
        self.read().catalog.clone()
    }

    /// The current resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.read().rv
    }

    /// Number of stored objects.
    pub fn object_count(&self) -> usize {
        self.read().objects.values().map(BTreeMap::len).sum()
    }

    /// Whether something changed since the last [`Store::take_dirty`].
    pub fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::AcqRel)
    }

    /// Subscribe to live events.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }

    /// Get one object.
    pub fn get(&self, def: &ResourceDef, ns: &str, name: &str) -> Result<Arc<Value>, ApiError> {
        let st = self.read();
        st.objects
            .get(&def.group_resource())
            .and_then(|t| t.get(&(ns.to_string(), name.to_string())))
            .cloned()
            .ok_or_else(|| not_found(def, name))
    }

    /// List one page of objects (all namespaces when `ns` is None).
    pub fn list(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        q: &ListQuery,
    ) -> Result<ListPage, ApiError> {
        let after = q.continue_token.as_deref().map(decode_token).transpose()?;
        let st = self.read();
        let rv = after.as_ref().map(|(rv, _)| *rv).unwrap_or(st.rv);
        let empty = Table::new();
        let table = st.objects.get(&def.group_resource()).unwrap_or(&empty);
        let lower = match (&after, ns) {
            (Some((_, k)), _) => Bound::Excluded(k.clone()),
            (None, Some(ns)) => Bound::Included((ns.to_string(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        let mut items = Vec::new();
        let mut last = None;
        let mut more = false;
        for (k, v) in table.range((lower, Bound::Unbounded)) {
            if ns.is_some_and(|ns| k.0 != ns) {
                break;
            }
            if !q.labels.matches(v) || !q.fields.matches(v) {
                continue;
            }
            if q.limit > 0 && items.len() == q.limit {
                more = true;
                break;
            }
            items.push(v.clone());
            last = Some(k);
        }
        let continue_token = match (more, last) {
            (true, Some(k)) => Some(encode_token(rv, k)),
            _ => None,
        };
        Ok(ListPage {
            items,
            rv,
            continue_token,
        })
    }

    /// Atomically snapshot matching objects and subscribe to later events (for watch).
    /// Returns the snapshot (if `with_snapshot`), the history events after `since`
    /// (if given), the receiver, and the resourceVersion the stream starts after.
    pub fn watch_start(
        &self,
        def: &ResourceDef,
        since: Option<u64>,
    ) -> Result<WatchStart, ApiError> {
        let st = self.read();
        let rx = self.events.subscribe();
        let gr = def.group_resource();
        match since {
            None => {
                let snap = st
                    .objects
                    .get(&gr)
                    .map(|t| t.values().cloned().collect())
                    .unwrap_or_default();
                Ok((snap, Vec::new(), rx, st.rv))
            }
            Some(rv) if rv < st.floor => Err(ApiError::Gone {
                requested: rv,
                oldest: st.floor,
            }),
            Some(rv) => {
                let hist = st
                    .history
                    .iter()
                    .filter(|e| e.rv > rv && e.group_resource == gr)
                    .cloned()
                    .collect();
                Ok((Vec::new(), hist, rx, st.rv))
            }
        }
    }

    fn record(&self, st: &mut State, kind: EventType, gr: String, object: Arc<Value>) {
        let ev = Arc::new(Event {
            rv: st.rv,
            kind,
            group_resource: gr,
            object,
        });
        st.history.push_back(ev.clone());
        while st.history.len() > self.history_cap {
            if let Some(old) = st.history.pop_front() {
                st.floor = old.rv;
            }
        }
        let _ = self.events.send(ev);
        self.dirty.store(true, Ordering::Release);
    }

    fn ensure_namespace(st: &State, def: &ResourceDef, ns: &str) -> Result<(), ApiError> {
        if !def.namespaced {
            return Ok(());
        }
        let exists = st
            .objects
            .get("namespaces")
            .is_some_and(|t| t.contains_key(&(String::new(), ns.to_string())));
        if exists {
            Ok(())
        } else {
            Err(ApiError::NotFound {
                resource: "namespaces".into(),
                name: ns.to_string(),
            })
        }
    }

    /// Create an object (handles `generateName`). `dry_run` validates without storing.
    pub fn create(
        &self,
        def: &Arc<ResourceDef>,
        ns: &str,
        mut obj: Value,
        manager: &str,
        dry_run: bool,
    ) -> Result<Arc<Value>, ApiError> {
        system::check_type(def, &obj)?;
        let mut st = self.write_lock();
        Self::ensure_namespace(&st, def, ns)?;
        let gr = def.group_resource();
        let table = st.objects.get(&gr);
        let mut name = object::name(&obj).to_string();
        if name.is_empty()
            && let Some(prefix) = obj
                .pointer("/metadata/generateName")
                .and_then(Value::as_str)
        {
            for _ in 0..8 {
                let cand = format!("{prefix}{}", random_suffix(5));
                if !table.is_some_and(|t| t.contains_key(&(ns.to_string(), cand.clone()))) {
                    name = cand;
                    break;
                }
            }
            object::meta_mut(&mut obj).insert("name".into(), json!(name));
        }
        if table.is_some_and(|t| t.contains_key(&(ns.to_string(), name.clone()))) {
            return Err(ApiError::AlreadyExists { resource: gr, name });
        }
        if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
            m.remove("uid");
            m.remove("managedFields");
        }
        crate::fields::record_update(None, &mut obj, manager, &def.api_version(), None);
        let rv = st.rv + 1;
        system::finalize(def, ns, None, &mut obj, Target::Main, rv)?;
        self.after_write(&mut st, def, None, &obj)?;
        if dry_run {
            return Ok(Arc::new(obj));
        }
        st.rv = rv;
        let obj = Arc::new(obj);
        st.objects
            .entry(gr.clone())
            .or_default()
            .insert((ns.to_string(), name.clone()), obj.clone());
        self.record(&mut st, EventType::Added, gr, obj.clone());
        drop(st);
        self.note_workload(def, ns, &name, None, &obj);
        Ok(obj)
    }

    /// Side effects of writing certain kinds (CRD registration), before committing.
    fn after_write(
        &self,
        st: &mut State,
        def: &ResourceDef,
        _old: Option<&Value>,
        new: &Value,
    ) -> Result<(), ApiError> {
        if def.group == "apiextensions.k8s.io" && def.plural == "customresourcedefinitions" {
            let mut probe = st.catalog.clone();
            probe.register_crd(new).map_err(|m| {
                let (field, msg) = m.split_once(": ").unwrap_or(("spec", &m));
                ApiError::invalid(
                    "CustomResourceDefinition",
                    object::name(new),
                    "FieldValueInvalid",
                    field,
                    msg,
                )
            })?;
            st.catalog = probe;
        }
        Ok(())
    }

    fn note_workload(
        &self,
        def: &Arc<ResourceDef>,
        ns: &str,
        name: &str,
        old: Option<&Value>,
        new: &Value,
    ) {
        let Some(tx) = &self.workload_tx else { return };
        if !crate::workload::is_workload(def) {
            return;
        }
        let generation = |o: &Value| o.pointer("/metadata/generation").cloned();
        if old.is_none_or(|o| generation(o) != generation(new)) {
            let _ = tx.send(WorkloadNote {
                def: def.clone(),
                namespace: ns.to_string(),
                name: name.to_string(),
            });
        }
    }

    /// Read-modify-write one object under the lock. `f` sees the current object (None if
    /// absent; then `create_missing` decides between 404 and a create) and decides.
    #[allow(clippy::too_many_arguments)] // each flag is one documented knob of the write
    pub fn write(
        &self,
        def: &Arc<ResourceDef>,
        ns: &str,
        name: &str,
        target: Target,
        create_missing: bool,
        dry_run: bool,
        f: impl FnOnce(Option<&Value>) -> Result<Decision, ApiError>,
    ) -> Result<(Arc<Value>, bool), ApiError> {
        let mut st = self.write_lock();
        let gr = def.group_resource();
        let key = (ns.to_string(), name.to_string());
        let old = st.objects.get(&gr).and_then(|t| t.get(&key)).cloned();
        if old.is_none() && !create_missing {
            return Err(not_found(def, name));
        }
        if old.is_none() {
            Self::ensure_namespace(&st, def, ns)?;
        }
        let mut new = match f(old.as_deref())? {
            Decision::Keep => return old.map(|o| (o, false)).ok_or_else(|| not_found(def, name)),
            Decision::Put(v) => v,
        };
        system::check_type(def, &new)?;
        let new_name = object::name(&new);
        if !new_name.is_empty() && new_name != name {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({new_name}) does not match the name on the URL ({name})"
            )));
        }
        object::meta_mut(&mut new).insert("name".into(), json!(name));
        let rv = st.rv + 1;
        system::finalize(def, ns, old.as_deref(), &mut new, target, rv)?;
        if old
            .as_deref()
            .is_some_and(|o| strip_rv(o) == strip_rv(&new))
        {
            return Ok((old.expect("checked is_some"), false));
        }
        self.after_write(&mut st, def, old.as_deref(), &new)?;
        if dry_run {
            return Ok((Arc::new(new), old.is_none()));
        }
        st.rv = rv;
        let finalizers_done = new.pointer("/metadata/deletionTimestamp").is_some()
            && new
                .pointer("/metadata/finalizers")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty);
        let new = Arc::new(new);
        if finalizers_done {
            st.objects.get_mut(&gr).map(|t| t.remove(&key));
            self.record(&mut st, EventType::Deleted, gr, new.clone());
            return Ok((new, false));
        }
        st.objects
            .entry(gr.clone())
            .or_default()
            .insert(key, new.clone());
        let kind = if old.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(&mut st, kind, gr, new.clone());
        drop(st);
        self.note_workload(def, ns, name, old.as_deref(), &new);
        Ok((new, old.is_none()))
    }

    /// Delete one object. Objects with finalizers only get a deletionTimestamp.
    /// `precondition_rv`/`precondition_uid` come from DeleteOptions.
    pub fn delete(
        &self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        precondition_rv: Option<u64>,
        precondition_uid: Option<&str>,
        dry_run: bool,
    ) -> Result<Arc<Value>, ApiError> {
        if def.group.is_empty()
            && def.plural == "namespaces"
            && (name == "default" || name == "kube-system" || name == "kube-public")
        {
            return Err(ApiError::Forbidden(format!(
                "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
            )));
        }
        let mut st = self.write_lock();
        let gr = def.group_resource();
        let key = (ns.to_string(), name.to_string());
        let old = st
            .objects
            .get(&gr)
            .and_then(|t| t.get(&key))
            .cloned()
            .ok_or_else(|| not_found(def, name))?;
        let conflict = |detail: String| ApiError::Conflict {
            resource: gr.clone(),
            name: name.to_string(),
            detail,
        };
        if let Some(want) = precondition_rv
            && object::resource_version(&old) != Some(want)
        {
            return Err(conflict(format!(
                "the ResourceVersion in the precondition ({want}) does not match the ResourceVersion in record ({}). The object might have been modified",
                object::resource_version(&old).unwrap_or(0)
            )));
        }
        if let Some(uid) = precondition_uid
            && old.pointer("/metadata/uid").and_then(Value::as_str) != Some(uid)
        {
            return Err(conflict(format!(
                "the UID in the precondition ({uid}) does not match the UID in record. The object might have been deleted and then recreated"
            )));
        }
        if dry_run {
            return Ok(old);
        }
        let has_finalizers = old
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        st.rv += 1;
        let mut gone = (*old).clone();
        object::meta_mut(&mut gone).insert("resourceVersion".into(), json!(st.rv.to_string()));
        if gone.pointer("/metadata/deletionTimestamp").is_none() {
            object::meta_mut(&mut gone)
                .insert("deletionTimestamp".into(), json!(object::now_rfc3339()));
        }
        if has_finalizers && !(def.group.is_empty() && def.plural == "namespaces") {
            let gone = Arc::new(gone);
            st.objects
                .entry(gr.clone())
                .or_default()
                .insert(key, gone.clone());
            self.record(&mut st, EventType::Modified, gr, gone.clone());
            return Ok(gone);
        }
        if def.group.is_empty() && def.plural == "namespaces" {
            gone["status"] = json!({"phase": "Terminating"});
            self.purge(&mut st, |gr, d, k| {
                d.is_some_and(|d| d.namespaced) && k.0 == name && gr != "namespaces"
            });
        }
        if def.group == "apiextensions.k8s.io" && def.plural == "customresourcedefinitions" {
            st.catalog.unregister_crd(name);
            let target = name.to_string();
            self.purge(&mut st, |gr, _, _| gr == target);
        }
        let gone = Arc::new(gone);
        st.objects.get_mut(&gr).map(|t| t.remove(&key));
        self.record(&mut st, EventType::Deleted, gr, gone.clone());
        Ok(gone)
    }

    /// Remove every object for which `pred(group_resource, def, key)` holds, with events.
    fn purge(&self, st: &mut State, pred: impl Fn(&str, Option<&ResourceDef>, &Key) -> bool) {
        let grs: Vec<String> = st.objects.keys().cloned().collect();
        for gr in grs {
            let def = st.catalog.all().find(|d| d.group_resource() == gr).cloned();
            let keys: Vec<Key> = st.objects[&gr]
                .keys()
                .filter(|k| pred(&gr, def.as_deref(), k))
                .cloned()
                .collect();
            for k in keys {
                if let Some(obj) = st.objects.get_mut(&gr).and_then(|t| t.remove(&k)) {
                    st.rv += 1;
                    self.record(st, EventType::Deleted, gr.clone(), obj);
                }
            }
        }
    }

    /// Every object (for persistence), with the current resourceVersion.
    pub fn dump(&self) -> (u64, Vec<Arc<Value>>) {
        let st = self.read();
        // CRDs and namespaces first so that a reload can register and place the rest.
        let mut out: Vec<Arc<Value>> = Vec::new();
        for first in [
            "namespaces",
            "customresourcedefinitions.apiextensions.k8s.io",
        ] {
            out.extend(
                st.objects
                    .get(first)
                    .into_iter()
                    .flat_map(|t| t.values().cloned()),
            );
        }
        for (gr, t) in &st.objects {
            if gr != "namespaces" && gr != "customresourcedefinitions.apiextensions.k8s.io" {
                out.extend(t.values().cloned());
            }
        }
        (st.rv, out)
    }

    /// Load objects verbatim (persisted state), registering CRDs. Unknown kinds are
    /// returned as errors but do not stop the load.
    pub fn load(&self, rv: u64, objects: Vec<Value>) -> Vec<String> {
        let mut st = self.write_lock();
        let mut errors = Vec::new();
        for obj in objects {
            let av = obj
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let kind = obj
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let Some(def) = st.catalog.find_kind(&av, &kind) else {
                errors.push(format!(
                    "{av} {kind} {}: no such resource",
                    object::name(&obj)
                ));
                continue;
            };
            if def.plural == "customresourcedefinitions"
                && let Err(e) = st.catalog.register_crd(&obj)
            {
                errors.push(e);
            }
            let key = (
                object::namespace(&obj).to_string(),
                object::name(&obj).to_string(),
            );
            st.objects
                .entry(def.group_resource())
                .or_default()
                .insert(key, Arc::new(obj));
        }
        st.rv = st.rv.max(rv);
        st.floor = st.rv;
        errors
    }
}

fn strip_rv(v: &Value) -> Value {
    let mut c = v.clone();
    if let Some(m) = c.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
        m.remove("managedFields");
    }
    c
}

#[cfg(test)]
#[path = "store_test.rs"]
mod tests;
