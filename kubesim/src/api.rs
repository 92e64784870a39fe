//! The Kubernetes REST surface: path parsing and dispatch for `/version`, health,
//! discovery, OpenAPI, and every resource verb (list, watch, create, get, update, patch,
//! apply, delete, deletecollection, `status` and `scale` subresources).

use crate::catalog::ResourceDef;
use crate::error::ApiError;
use crate::patch::PatchKind;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Decision, ListQuery, Store};
use crate::system::Target;
use crate::watch::{WatchQuery, for_version};
use crate::{discovery, fields, openapi, patch};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The Kubernetes version kubesim claims to be.
pub const KUBE_VERSION: &str = "v1.32.0+kubesim";

/// Largest accepted request body (the real server's limit is 3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// State shared by API handlers.
pub struct AppState {
    /// The object store.
    pub store: Arc<Store>,
    /// `host:port` clients should use.
    pub server_address: String,
    /// Bearer token required on API paths, if any.
    pub token: Option<String>,
}

fn json_response(code: StatusCode, v: &Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Bearer-token check (when `--token-file` is set). Health and version stay open, as
/// with the real server's `system:public-info-viewer`.
pub async fn auth(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(want) = &st.token {
        let p = req.uri().path();
        let open = ["/healthz", "/livez", "/readyz", "/version"]
            .iter()
            .any(|o| p == *o || p.starts_with(&format!("{o}/")));
        let got = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "));
        if !open && got.map(str::trim) != Some(want.as_str()) {
            return ApiError::Unauthorized.into_response();
        }
    }
    next.run(req).await
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse a query string into a map (last value wins).
pub fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Everything a resource request needs, parsed.
struct ResourceRequest {
    def: Arc<ResourceDef>,
    ns: Option<String>,
    name: Option<String>,
    sub: Option<String>,
    query: HashMap<String, String>,
    headers: HeaderMap,
    method: Method,
    body: Bytes,
}

impl ResourceRequest {
    fn q(&self, k: &str) -> Option<&str> {
        self.query
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
    fn flag(&self, k: &str) -> bool {
        matches!(self.q(k), Some("true" | "1"))
    }
    fn dry_run(&self) -> bool {
        self.q("dryRun") == Some("All")
    }
    fn ns(&self) -> &str {
        self.ns.as_deref().unwrap_or("")
    }
    fn manager(&self) -> String {
        if let Some(m) = self.q("fieldManager") {
            return m.to_string();
        }
        let ua = self
            .headers
            .get(header::USER_AGENT)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("unknown");
        ua.split('/').next().unwrap_or("unknown").to_string()
    }
    fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("application/json")
    }
    /// The body as a JSON value (YAML accepted when the Content-Type says so).
    fn body_value(&self) -> Result<Value, ApiError> {
        if self.body.is_empty() {
            return Err(ApiError::BadRequest(
                "the request body is empty; an object is required".into(),
            ));
        }
        let ct = self.content_type();
        if !(ct.contains("json") || ct.contains("yaml") || ct.starts_with("*/*")) {
            return Err(ApiError::UnsupportedMediaType(format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got \"{ct}\")"
            )));
        }
        let text = std::str::from_utf8(&self.body)
            .map_err(|_| ApiError::BadRequest("the request body is not UTF-8".into()))?;
        match serde_json::from_str::<Value>(text) {
            Ok(v) => Ok(v),
            Err(je) if self.content_type().contains("yaml") => {
                serde_saphyr::from_str::<Value>(text).map_err(|ye| {
                    ApiError::BadRequest(format!("error decoding YAML: {ye} (as JSON: {je})"))
                })
            }
            Err(e) => Err(ApiError::BadRequest(format!(
                "couldn't get version/kind; json parse error: {e} (line {}, column {})",
                e.line(),
                e.column()
            ))),
        }
    }
}

/// The one handler for every path: dispatches on the parsed path.
pub async fn handle(State(st): State<Arc<AppState>>, req: Request) -> Response {
    match dispatch(&st, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn dispatch(st: &AppState, req: Request) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().trim_end_matches('/').to_string();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let query = parse_query(parts.uri.query());
    let cat = || st.store.catalog();
    let ok = |v: Value| Ok(json_response(StatusCode::OK, &v));
    let read_only = parts.method == Method::GET || parts.method == Method::HEAD;
    match segs.as_slice() {
        [] => {
            return ok(
                json!({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v3", "/readyz", "/version"]}),
            );
        }
        ["version"] => return ok(version()),
        ["healthz" | "livez" | "readyz", ..] => return Ok((StatusCode::OK, "ok").into_response()),
        ["api"] if read_only => return ok(discovery::api_versions(&st.server_address)),
        ["apis"] if read_only => return ok(discovery::group_list(&cat())),
        ["apis", g] if read_only => {
            return discovery::group(&cat(), g)
                .map(ok)
                .unwrap_or(Err(ApiError::UnknownResource));
        }
        ["api", v] if read_only => {
            return discovery::resource_list(&cat(), "", v)
                .map(ok)
                .unwrap_or(Err(ApiError::UnknownResource));
        }
        ["apis", g, v] if read_only => {
            return discovery::resource_list(&cat(), g, v)
                .map(ok)
                .unwrap_or(Err(ApiError::UnknownResource));
        }
        ["openapi", "v3"] => return ok(openapi::index(&cat())),
        ["openapi", "v3", "api", v] => {
            return openapi::document(&cat(), "", v)
                .map(ok)
                .unwrap_or(Err(ApiError::UnknownResource));
        }
        ["openapi", "v3", "apis", g, v] => {
            return openapi::document(&cat(), g, v)
                .map(ok)
                .unwrap_or(Err(ApiError::UnknownResource));
        }
        _ => {}
    }
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] if !rest.is_empty() => ("", *v, rest),
        ["apis", g, v, rest @ ..] if !rest.is_empty() => (*g, *v, rest),
        _ => return Err(ApiError::UnknownResource),
    };
    let (ns, plural, name, sub) = match rest {
        ["namespaces", n, s @ ("status" | "finalize")] => (None, "namespaces", Some(*n), Some(*s)),
        ["namespaces", ns, plural, more @ ..] if more.len() <= 2 => (
            Some(*ns),
            *plural,
            more.first().copied(),
            more.get(1).copied(),
        ),
        [plural, more @ ..] if more.len() <= 2 => {
            (None, *plural, more.first().copied(), more.get(1).copied())
        }
        _ => return Err(ApiError::UnknownResource),
    };
    let def = st
        .store
        .resolve(group, version, plural)
        .ok_or(ApiError::UnknownResource)?;
    if ns.is_some() && !def.namespaced {
        return Err(ApiError::UnknownResource);
    }
    if def.namespaced && ns.is_none() && name.is_some() {
        return Err(ApiError::UnknownResource);
    }
    let body = if matches!(
        parts.method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| {
            ApiError::BadRequest(format!(
                "request body unreadable or larger than {MAX_BODY} bytes: {e}"
            ))
        })?
    } else {
        Bytes::new()
    };
    let r = ResourceRequest {
        def,
        ns: ns.map(String::from),
        name: name.map(String::from),
        sub: sub.map(String::from),
        query,
        headers: parts.headers,
        method: parts.method,
        body,
    };
    resource(st, r)
}

fn version() -> Value {
    json!({"major": "1", "minor": "32", "gitVersion": KUBE_VERSION, "gitCommit": "0000000000000000000000000000000000000000",
           "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.0",
           "compiler": "gc", "platform": "linux/amd64"})
}

fn resource(st: &AppState, r: ResourceRequest) -> Result<Response, ApiError> {
    let store = &st.store;
    let sub = r.sub.as_deref();
    match (&r.method, r.name.is_some(), sub) {
        (_, true, Some("status")) if !r.def.status => Err(ApiError::UnknownResource),
        (_, true, Some("scale")) if r.def.scale.is_none() => Err(ApiError::UnknownResource),
        (_, true, Some(s)) if !matches!(s, "status" | "scale" | "finalize") => {
            Err(ApiError::UnknownResource)
        }
        (&Method::GET, false, _) if r.flag("watch") => watch(store, &r),
        (&Method::GET, false, _) => list(store, &r),
        (&Method::POST, false, _) => create(store, &r),
        (&Method::DELETE, false, _) => delete_collection(store, &r),
        (&Method::GET, true, Some("scale")) => {
            let o = store.get(&r.def, r.ns(), r.name.as_deref().unwrap_or_default())?;
            Ok(json_response(StatusCode::OK, &to_scale(&r.def, &o)))
        }
        (&Method::GET, true, _) => {
            let o = store.get(&r.def, r.ns(), r.name.as_deref().unwrap_or_default())?;
            Ok(json_response(StatusCode::OK, &for_version(&o, &r.def)))
        }
        (&Method::PUT, true, _) => update(store, &r),
        (&Method::PATCH, true, _) => patch_object(store, &r),
        (&Method::DELETE, true, None) => delete(store, &r),
        _ => Err(ApiError::MethodNotAllowed(format!(
            "the server does not allow this method on the requested resource ({} {})",
            r.method,
            r.def.group_resource()
        ))),
    }
}

fn selectors(r: &ResourceRequest) -> Result<(LabelSelector, FieldSelector), ApiError> {
    Ok((
        LabelSelector::parse(r.q("labelSelector").unwrap_or_default())?,
        FieldSelector::parse(r.q("fieldSelector").unwrap_or_default(), &r.def.kind)?,
    ))
}

fn parse_num<T: std::str::FromStr>(r: &ResourceRequest, k: &str) -> Result<Option<T>, ApiError> {
    r.q(k)
        .map(|v| {
            v.parse::<T>()
                .map_err(|_| ApiError::BadRequest(format!("invalid value for {k}: \"{v}\"")))
        })
        .transpose()
}

fn list(store: &Store, r: &ResourceRequest) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(r)?;
    let limit = parse_num::<i64>(r, "limit")?.unwrap_or(0).max(0) as usize;
    let q = ListQuery {
        labels,
        fields,
        limit,
        continue_token: r.q("continue").map(String::from),
    };
    let page = store.list(&r.def, r.ns.as_deref(), &q)?;
    let mut meta = json!({"resourceVersion": page.rv.to_string()});
    if let Some(c) = &page.continue_token {
        meta["continue"] = json!(c);
    }
    let mut out = Vec::with_capacity(64 + page.items.len() * 512);
    out.extend_from_slice(
        format!(
            "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{meta},\"items\":[",
            r.def.kind,
            r.def.api_version()
        )
        .as_bytes(),
    );
    for (i, item) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, &for_version(item, &r.def))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    out.extend_from_slice(b"]}");
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(out),
    )
        .into_response())
}

fn watch(store: &Store, r: &ResourceRequest) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(r)?;
    let since = match r.q("resourceVersion") {
        None | Some("0") => None,
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid resource version: \"{v}\"")))?,
        ),
    };
    let timeout = parse_num::<u64>(r, "timeoutSeconds")?
        .unwrap_or(1800)
        .clamp(1, 3600);
    let q = WatchQuery {
        namespace: r.ns.clone(),
        labels,
        fields,
        since,
        timeout: Duration::from_secs(timeout),
        initial_events_end: r.flag("sendInitialEvents") && r.flag("allowWatchBookmarks"),
    };
    Ok(crate::watch::respond(store, r.def.clone(), q))
}

fn created(code: StatusCode, v: &Value, def: &ResourceDef) -> Response {
    let mut o = v.clone();
    o["apiVersion"] = json!(def.api_version());
    json_response(code, &o)
}

fn create(store: &Store, r: &ResourceRequest) -> Result<Response, ApiError> {
    if r.def.namespaced && r.ns.is_none() {
        return Err(ApiError::MethodNotAllowed(format!(
            "{} is namespaced: POST to /namespaces/{{namespace}}/{}",
            r.def.plural, r.def.plural
        )));
    }
    let obj = r.body_value()?;
    if let Some(bns) = obj.pointer("/metadata/namespace").and_then(Value::as_str)
        && r.def.namespaced
        && !bns.is_empty()
        && bns != r.ns()
    {
        return Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        ));
    }
    let o = store.create(&r.def, r.ns(), obj, &r.manager(), r.dry_run())?;
    Ok(created(StatusCode::CREATED, &o, &r.def))
}

fn target(r: &ResourceRequest) -> Target {
    if r.sub.as_deref() == Some("status") {
        Target::Status
    } else {
        Target::Main
    }
}

fn update(store: &Store, r: &ResourceRequest) -> Result<Response, ApiError> {
    let body = r.body_value()?;
    let name = r.name.clone().unwrap_or_default();
    let manager = r.manager();
    let av = r.def.api_version();
    let t = target(r);
    let def = r.def.clone();
    let is_scale = r.sub.as_deref() == Some("scale");
    let (o, _) = store.write(&r.def, r.ns(), &name, t, false, r.dry_run(), |cur| {
        let cur = cur.expect("write() 404s when absent and create_missing is false");
        let mut next = if is_scale {
            from_scale(&def, cur, &body)?
        } else {
            body.clone()
        };
        fields::record_update(Some(cur), &mut next, &manager, &av, sub_name(t));
        Ok(Decision::Put(next))
    })?;
    if is_scale {
        return Ok(json_response(StatusCode::OK, &to_scale(&r.def, &o)));
    }
    Ok(created(StatusCode::OK, &o, &r.def))
}

fn sub_name(t: Target) -> Option<&'static str> {
    (t == Target::Status).then_some("status")
}

fn patch_object(store: &Store, r: &ResourceRequest) -> Result<Response, ApiError> {
    let kind = PatchKind::from_content_type(r.content_type())?;
    let body = r.body_value()?;
    let name = r.name.clone().unwrap_or_default();
    let t = target(r);
    let is_scale = r.sub.as_deref() == Some("scale");
    let av = r.def.api_version();
    let def = r.def.clone();
    if kind == PatchKind::Apply && r.q("fieldManager").is_none() {
        return Err(ApiError::BadRequest(
            "PATCH requests for apply must have fieldManager specified as a query parameter".into(),
        ));
    }
    if kind == PatchKind::Apply && !is_scale {
        system_check_apply(&def, &body, &name)?;
    }
    let manager = r.manager();
    let force = r.flag("force");
    let (o, was_created) = store.write(
        &r.def,
        r.ns(),
        &name,
        t,
        kind == PatchKind::Apply && !is_scale,
        r.dry_run(),
        |cur| {
            let next = match (cur, kind) {
                (None, _) => {
                    let mut applied =
                        fields::apply(None, &body, &manager, &av, force, t == Target::Status)?;
                    crate::object::meta_mut(&mut applied).insert("name".into(), json!(name));
                    applied
                }
                (Some(cur), _) if is_scale => {
                    let scale = apply_patch(kind, &to_scale(&def, cur), &body, &manager, force)?;
                    let mut next = from_scale(&def, cur, &scale)?;
                    fields::record_update(Some(cur), &mut next, &manager, &av, Some("scale"));
                    next
                }
                (Some(cur), PatchKind::Apply) => {
                    fields::apply(Some(cur), &body, &manager, &av, force, t == Target::Status)?
                }
                (Some(cur), _) => {
                    let mut next = apply_patch(kind, cur, &body, &manager, force)?;
                    fields::record_update(Some(cur), &mut next, &manager, &av, sub_name(t));
                    next
                }
            };
            Ok(Decision::Put(next))
        },
    )?;
    if is_scale {
        return Ok(json_response(StatusCode::OK, &to_scale(&r.def, &o)));
    }
    Ok(created(
        if was_created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        &o,
        &r.def,
    ))
}

fn system_check_apply(def: &ResourceDef, body: &Value, name: &str) -> Result<(), ApiError> {
    crate::system::check_type(def, body)?;
    if body.get("apiVersion").is_none() || body.get("kind").is_none() {
        return Err(ApiError::BadRequest(
            "apply patches must specify apiVersion and kind".into(),
        ));
    }
    let bn = crate::object::name(body);
    if !bn.is_empty() && bn != name {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({bn}) does not match the name on the URL ({name})"
        )));
    }
    Ok(())
}

fn apply_patch(
    kind: PatchKind,
    cur: &Value,
    body: &Value,
    manager: &str,
    force: bool,
) -> Result<Value, ApiError> {
    match kind {
        PatchKind::Merge => patch::merge(cur, body),
        PatchKind::Json => patch::json(cur, body),
        PatchKind::Strategic => patch::strategic(cur, body),
        PatchKind::Apply => fields::apply(Some(cur), body, manager, "autoscaling/v1", force, false),
    }
}

/// The `autoscaling/v1` Scale view of an object.
fn to_scale(def: &ResourceDef, o: &Value) -> Value {
    let paths = def
        .scale
        .clone()
        .expect("callers check for a scale subresource");
    let get = |p: &str| crate::object::get_path(o, p).cloned();
    let selector = match &paths.label_selector {
        Some(p) => get(p).unwrap_or(json!("")),
        None => json!(
            o.pointer("/spec/selector")
                .map(|s| LabelSelector::from_object(s).render())
                .unwrap_or_default()
        ),
    };
    let m = |k: &str| {
        o.pointer(&format!("/metadata/{k}"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": m("name"), "namespace": m("namespace"), "uid": m("uid"),
                     "resourceVersion": m("resourceVersion"), "creationTimestamp": m("creationTimestamp")},
        "spec": {"replicas": get(&paths.spec_replicas).unwrap_or(json!(0))},
        "status": {"replicas": get(&paths.status_replicas).unwrap_or(json!(0)), "selector": selector}
    })
}

/// Write a Scale's `spec.replicas` back into the object (checking its resourceVersion).
fn from_scale(def: &ResourceDef, cur: &Value, scale: &Value) -> Result<Value, ApiError> {
    let paths = def
        .scale
        .clone()
        .expect("callers check for a scale subresource");
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .ok_or_else(|| {
            ApiError::invalid(
                "Scale",
                crate::object::name(cur),
                "FieldValueRequired",
                "spec.replicas",
                "Required value: must be an integer",
            )
        })?;
    if replicas < 0 {
        return Err(ApiError::invalid(
            "Scale",
            crate::object::name(cur),
            "FieldValueInvalid",
            "spec.replicas",
            "Invalid value: must be greater than or equal to 0",
        ));
    }
    let mut next = cur.clone();
    crate::object::set_path(&mut next, &paths.spec_replicas, json!(replicas));
    let rv = scale
        .pointer("/metadata/resourceVersion")
        .cloned()
        .unwrap_or(Value::Null);
    if rv.is_null() {
        crate::object::meta_mut(&mut next).remove("resourceVersion");
    } else {
        crate::object::meta_mut(&mut next).insert("resourceVersion".into(), rv);
    }
    Ok(next)
}

fn delete_options(r: &ResourceRequest) -> Result<(Option<u64>, Option<String>, bool), ApiError> {
    let mut dry = r.dry_run();
    if r.body.is_empty() {
        return Ok((None, None, dry));
    }
    let opts = r.body_value()?;
    let rv = opts
        .pointer("/preconditions/resourceVersion")
        .and_then(Value::as_str)
        .map(|s| {
            s.parse::<u64>().map_err(|_| {
                ApiError::BadRequest(format!("invalid precondition resourceVersion \"{s}\""))
            })
        });
    let uid = opts
        .pointer("/preconditions/uid")
        .and_then(Value::as_str)
        .map(String::from);
    if opts
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x == "All"))
    {
        dry = true;
    }
    Ok((rv.transpose()?, uid, dry))
}

fn delete(store: &Store, r: &ResourceRequest) -> Result<Response, ApiError> {
    let (rv, uid, dry) = delete_options(r)?;
    let o = store.delete(
        &r.def,
        r.ns(),
        r.name.as_deref().unwrap_or_default(),
        rv,
        uid.as_deref(),
        dry,
    )?;
    Ok(created(StatusCode::OK, &o, &r.def))
}

fn delete_collection(store: &Store, r: &ResourceRequest) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(r)?;
    let (_, _, dry) = delete_options(r)?;
    let page = store.list(
        &r.def,
        r.ns.as_deref(),
        &ListQuery {
            labels,
            fields,
            limit: 0,
            continue_token: None,
        },
    )?;
    let mut gone = Vec::new();
    for o in page.items {
        match store.delete(
            &r.def,
            crate::object::namespace(&o),
            crate::object::name(&o),
            None,
            None,
            dry,
        ) {
            Ok(g) => gone.push(for_version(&g, &r.def).into_owned()),
            Err(ApiError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let list = json!({"kind": format!("{}List", r.def.kind), "apiVersion": r.def.api_version(),
                      "metadata": {"resourceVersion": store.current_rv().to_string()}, "items": gone});
    Ok(json_response(StatusCode::OK, &list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = parse_query(Some("labelSelector=app%3Dweb%2Ctier+in+%28a%29&limit=5&x"));
        assert_eq!(q["labelSelector"], "app=web,tier in (a)");
        assert_eq!(q["limit"], "5");
        assert_eq!(q["x"], "");
        assert_eq!(decode("%zz%4"), "%zz%4");
    }
}
