//! The `http.request` and `notify` built-in steps, and the resolution of `secret:NAME/KEY`
//! references right before an effect.
//!
//! Outbound calls go only to URLs under a prefix of the node's `executor.http_allowlist`
//! (and, in a drill, also under the runbook's `drill.httpAllowlist`). Redirects are not
//! followed, every call has the node's `executor.http_timeout`, and response bodies are
//! read up to `executor.http_max_response_bytes`. Header values and webhook URLs are never
//! logged or put in errors: they may hold secrets.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde_json::{Value, json};

use crate::config::{ExecutorConfig, NotifyChannel};

/// A result body longer than this is journaled as truncated text.
const RESULT_BODY_BYTES: usize = 4096;
/// An error quotes this many characters of an unexpected response body.
const ERROR_BODY_CHARS: usize = 200;

/// Performs `http.request` and `notify` for one node, with its allowlist, limits and
/// notification channels. Built once per node; cheap to share behind an `Arc`.
pub struct HttpSteps {
    client: reqwest::Client,
    allowlist: Vec<Url>,
    timeout: Duration,
    max_response_bytes: usize,
    channels: BTreeMap<String, Channel>,
}

/// A notification channel, its URL parsed. No `Debug`: webhook URLs often hold tokens.
enum Channel {
    Webhook(Url),
    Log,
}

impl HttpSteps {
    /// Build the client and parse the allowlist and channels of a validated config.
    ///
    /// # Errors
    /// A setting that does not parse (validation reports these first), or a TLS setup
    /// failure of the HTTP client.
    pub fn new(cfg: &ExecutorConfig) -> Result<Self, String> {
        let timeout = humantime::parse_duration(&cfg.http_timeout.value)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                format!(
                    "executor.http_timeout `{}` is not a positive duration; write it like 30s",
                    cfg.http_timeout.value
                )
            })?;
        let allowlist = cfg
            .http_allowlist
            .iter()
            .map(|p| parse_http_url(&p.value).map_err(|e| format!("executor.http_allowlist: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut channels = BTreeMap::new();
        for (name, channel) in &cfg.notify.channels {
            let channel = match channel {
                NotifyChannel::Webhook(url) => Channel::Webhook(
                    Url::parse(&url.value)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https"))
                        .ok_or_else(|| {
                            format!("executor.notify.channels.{name}.webhook is not an http(s) URL")
                        })?,
                ),
                NotifyChannel::Log(_) => Channel::Log,
            };
            channels.insert(name.clone(), channel);
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client for steps: {e}"))?;
        Ok(Self {
            client,
            allowlist,
            timeout,
            max_response_bytes: cfg.http_max_response_bytes,
            channels,
        })
    }

    /// `http.request`. `idempotency_key` is sent as header `Idempotency-Key`;
    /// `drill_allowlist` is the runbook's `drill.httpAllowlist` (URL prefixes) when the run
    /// is a drill (then a URL must match it AND the node allowlist).
    ///
    /// Ok is `{"status": 200, "body": ...}`, the body as JSON when it is JSON, else as text;
    /// cut to 4 KiB.
    ///
    /// # Errors
    /// A malformed `with`, a URL outside the allowlists, a transport error or timeout, a
    /// response larger than the cap, or a status outside `expectStatus` (default 2xx).
    #[tracing::instrument(skip_all, fields(method, url))]
    pub async fn request(
        &self,
        with: &Value,
        idempotency_key: &str,
        drill_allowlist: Option<&[String]>,
    ) -> Result<Value, String> {
        let method = parse_method(with.get("method"))?;
        let url_text = with.get("url").and_then(Value::as_str).ok_or(
            "http.request: `with.url` is missing or not a string; set it to the URL to call",
        )?;
        let url = parse_http_url(url_text).map_err(|e| format!("http.request: {e}"))?;
        let span = tracing::Span::current();
        span.record("method", method.as_str());
        span.record("url", url.as_str());
        self.check_allowed(&url, drill_allowlist)?;
        let mut headers = parse_headers(with.get("headers"))?;
        if !idempotency_key.is_empty() {
            let value = HeaderValue::from_str(idempotency_key).map_err(|_| {
                "http.request: the idempotency key is not a valid header value".to_string()
            })?;
            headers.insert("idempotency-key", value);
        }
        let expect = parse_expect(with.get("expectStatus"))?;
        let what = format!("http.request {method} {url}");
        let mut req = self.client.request(method, url).headers(headers);
        if let Some(body) = with.get("body").filter(|b| !b.is_null()) {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|e| self.call_error(&what, e))?;
        let status = resp.status();
        let body = self.read_body(&what, resp).await?;
        tracing::info!(
            status = status.as_u16(),
            bytes = body.len(),
            "http.request answered"
        );
        let expected = match &expect {
            Some(list) => list.contains(&status.as_u16()),
            None => status.is_success(),
        };
        if !expected {
            let wanted = match &expect {
                Some(list) => format!("one of {list:?} (expectStatus)"),
                None => "a 2xx status (set expectStatus to accept others)".into(),
            };
            let redirect = if status.is_redirection() {
                " (redirects are not followed: call the final URL)"
            } else {
                ""
            };
            return Err(format!(
                "{what}: got status {status}{redirect}, expected {wanted}; body: {}",
                snippet(&body)
            ));
        }
        Ok(json!({"status": status.as_u16(), "body": result_body(&body)}))
    }

    /// `notify`: send `with.message` (and `with.title`) to the channel `with.channel`.
    /// A webhook channel is POSTed `{"channel","title","message","run","step"}`; a `log`
    /// channel writes the message to this node's log. Ok is `{"channel", "via"}`.
    ///
    /// # Errors
    /// A malformed `with`, an unknown channel (the error lists the configured ones), or a
    /// webhook that fails, times out or answers other than 2xx.
    #[tracing::instrument(skip_all, fields(run_id, step = step_id, channel))]
    pub async fn notify(&self, with: &Value, run_id: &str, step_id: &str) -> Result<Value, String> {
        let field = |k: &str| with.get(k).and_then(Value::as_str);
        let name = field("channel").ok_or("notify: `with.channel` is missing or not a string")?;
        let message =
            field("message").ok_or("notify: `with.message` is missing or not a string")?;
        let title = field("title");
        tracing::Span::current().record("channel", name);
        let channel = self
            .channels
            .get(name)
            .ok_or_else(|| self.unknown_channel(name))?;
        match channel {
            Channel::Log => {
                tracing::info!(
                    run_id,
                    step = step_id,
                    channel = name,
                    title,
                    message,
                    "notification"
                );
                Ok(json!({"channel": name, "via": "log"}))
            }
            Channel::Webhook(url) => {
                let what = format!("notify: channel `{name}` (webhook)");
                let payload = json!({"channel": name, "title": title, "message": message,
                                     "run": run_id, "step": step_id});
                let resp = self
                    .client
                    .post(url.clone())
                    .json(&payload)
                    .send()
                    .await
                    .map_err(|e| self.call_error(&what, e.without_url()))?;
                let status = resp.status();
                let body = self.read_body(&what, resp).await?;
                if !status.is_success() {
                    return Err(format!(
                        "{what}: the webhook answered {status}; body: {}; check the URL under \
                         executor.notify.channels.{name}.webhook in the node config",
                        snippet(&body)
                    ));
                }
                tracing::info!(status = status.as_u16(), "notification delivered");
                Ok(json!({"channel": name, "via": "webhook", "status": status.as_u16()}))
            }
        }
    }

    fn unknown_channel(&self, name: &str) -> String {
        let known = if self.channels.is_empty() {
            "none are configured".to_string()
        } else {
            let names: Vec<&str> = self.channels.keys().map(String::as_str).collect();
            format!("configured: {}", names.join(", "))
        };
        format!(
            "notify: no channel `{name}` ({known}); add `{name}: {{webhook: URL}}` or \
             `{name}: {{log: {{}}}}` under executor.notify.channels in the node config, or \
             use a configured channel"
        )
    }

    /// Refuse a URL outside the node allowlist or, in a drill, the drill allowlist.
    fn check_allowed(&self, url: &Url, drill_allowlist: Option<&[String]>) -> Result<(), String> {
        let origin = url.origin().ascii_serialization();
        if self.allowlist.is_empty() {
            return Err(format!(
                "http.request to {url} refused: executor.http_allowlist is empty in the node \
                 config, so every call is refused; add a prefix of this URL there (e.g. \
                 `{origin}/`)"
            ));
        }
        if !self.allowlist.iter().any(|p| url_has_prefix(url, p)) {
            let list: Vec<&str> = self.allowlist.iter().map(Url::as_str).collect();
            return Err(format!(
                "http.request to {url} refused: it is under no prefix of executor.http_allowlist \
                 ({}); add a prefix of it (e.g. `{origin}/`) to executor.http_allowlist in the \
                 node config",
                list.join(", ")
            ));
        }
        if let Some(drill) = drill_allowlist {
            let allowed = drill
                .iter()
                .filter_map(|p| parse_http_url(p).ok())
                .any(|p| url_has_prefix(url, &p));
            if !allowed {
                return Err(format!(
                    "http.request to {url} refused in a drill: it is under no prefix of the \
                     runbook's drill.httpAllowlist ({}); add a prefix of it there, or skip or \
                     simulate this step in drills (spec.drill.skip / spec.drill.simulate)",
                    drill.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Read a response body, at most `max_response_bytes` of it.
    async fn read_body(&self, what: &str, mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
        let max = self.max_response_bytes;
        let too_big = || {
            format!(
                "{what}: the response is larger than executor.http_max_response_bytes \
                 ({max} bytes); raise it in the node config or make the endpoint answer less"
            )
        };
        if resp.content_length().is_some_and(|n| n > max as u64) {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.call_error(what, e))? {
            if body.len() + chunk.len() > max {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The message of a failed call: a timeout names the setting, else the cause chain.
    fn call_error(&self, what: &str, e: reqwest::Error) -> String {
        if e.is_timeout() {
            return format!(
                "{what}: no complete answer within {} (executor.http_timeout); check the \
                 endpoint, or raise executor.http_timeout in the node config",
                humantime::format_duration(self.timeout)
            );
        }
        let mut msg = format!("{what}: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(&format!(": {s}"));
            source = s.source();
        }
        msg
    }
}

/// Parse an absolute `http(s)` URL with a host.
fn parse_http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("`{text}` is not an absolute URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{text}` is not an http(s) URL with a host"));
    }
    Ok(url)
}

/// Is `url` under `prefix`? Scheme, host and port equal; the path equal to the prefix's,
/// or below it (`/api` covers `/api` and `/api/x`, not `/apiary`; `/api/` covers `/api/x`).
fn url_has_prefix(url: &Url, prefix: &Url) -> bool {
    let (path, base) = (url.path(), prefix.path());
    url.scheme() == prefix.scheme()
        && url.host() == prefix.host()
        && url.port_or_known_default() == prefix.port_or_known_default()
        && (path == base
            || (base.ends_with('/') && path.starts_with(base))
            || path
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with('/')))
}

fn parse_method(v: Option<&Value>) -> Result<Method, String> {
    match v {
        None | Some(Value::Null) => Ok(Method::GET),
        Some(Value::String(m)) => match m.as_str() {
            "GET" => Ok(Method::GET),
            "POST" => Ok(Method::POST),
            "PUT" => Ok(Method::PUT),
            "PATCH" => Ok(Method::PATCH),
            "DELETE" => Ok(Method::DELETE),
            _ => Err(format!(
                "http.request: method `{m}` is not one of GET, POST, PUT, PATCH, DELETE"
            )),
        },
        Some(other) => Err(format!("http.request: method {other} is not a string")),
    }
}

/// `with.headers`: string values only. Errors name the header, never its value.
fn parse_headers(v: Option<&Value>) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    let map = match v {
        None | Some(Value::Null) => return Ok(headers),
        Some(Value::Object(map)) => map,
        Some(_) => return Err("http.request: `with.headers` must be a map of strings".into()),
    };
    for (name, value) in map {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("http.request: `{name}` is not a valid header name"))?;
        let text = value
            .as_str()
            .ok_or_else(|| format!("http.request: header `{name}` must be a string"))?;
        let mut value = HeaderValue::from_str(text).map_err(|_| {
            format!("http.request: the value of header `{name}` has characters a header cannot carry (newlines, control characters)")
        })?;
        value.set_sensitive(true);
        headers.insert(header, value);
    }
    Ok(headers)
}

/// `with.expectStatus`: None means any 2xx.
fn parse_expect(v: Option<&Value>) -> Result<Option<Vec<u16>>, String> {
    let list = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) if !list.is_empty() => list,
        Some(_) => {
            return Err("http.request: `expectStatus` must be a non-empty list of HTTP statuses (e.g. [200, 204]); remove it to accept any 2xx".into());
        }
    };
    list.iter()
        .map(|s| {
            s.as_u64()
                .filter(|n| (100..=599).contains(n))
                .map(|n| n as u16)
                .ok_or_else(|| {
                    format!(
                        "http.request: expectStatus entry {s} is not an HTTP status (100..=599)"
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The body as journaled: JSON when it parses as JSON and is small, else text cut to 4 KiB.
fn result_body(body: &[u8]) -> Value {
    if body.len() <= RESULT_BODY_BYTES
        && let Ok(v) = serde_json::from_slice::<Value>(body)
    {
        return v;
    }
    let text = String::from_utf8_lossy(body);
    if text.len() <= RESULT_BODY_BYTES {
        return Value::String(text.into_owned());
    }
    let mut end = RESULT_BODY_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Value::String(format!(
        "{}... [truncated, {} bytes in all]",
        &text[..end],
        body.len()
    ))
}

/// The start of a body, for an error message.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(ERROR_BODY_CHARS).collect();
    if out.len() < text.len() {
        out.push_str("...");
    }
    if out.is_empty() {
        "(empty)".into()
    } else {
        out
    }
}

/// Replace every `secret:NAME/KEY` reference in string values of `value` (recursively) with
/// the secret's value. Used by the executor right before an effect (journals keep the
/// reference). A reference may be a whole string or part of one (`Bearer secret:api/token`).
///
/// The environment variable `LIFEBOAT_SECRET_<NAME>_<KEY>` (upper-cased, `-` and `.` as
/// `_`) wins over the file `<secrets_dir>/<NAME>/<KEY>` (trailing newline trimmed; it must
/// not be readable by every user).
///
/// # Errors
/// A malformed reference, or a missing or unreadable secret; the error names both places
/// looked in, never a value.
pub fn resolve_secrets(value: &Value, secrets_dir: Option<&Path>) -> Result<Value, String> {
    let env = |var: &str| std::env::var(var).ok();
    resolve_with(value, &|name, key| {
        lookup_secret(name, key, secrets_dir, &env)
    })
}

type Lookup<'a> = dyn Fn(&str, &str) -> Result<String, String> + 'a;

fn resolve_with(value: &Value, lookup: &Lookup<'_>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(substitute(s, lookup)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolve_with(v, lookup))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve_with(v, lookup)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

const SECRET_PREFIX: &str = "secret:";

fn is_ref_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

/// Replace the references in one string. `secret:` starts a reference at the start of the
/// string or after a character that cannot be part of a word (`topsecret:a/b` is text).
fn substitute(text: &str, lookup: &Lookup<'_>) -> Result<String, String> {
    let mut out = String::new();
    let mut copied = 0;
    for (at, _) in text.match_indices(SECRET_PREFIX) {
        let boundary = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        if at < copied || !boundary {
            continue;
        }
        let body = &text[at + SECRET_PREFIX.len()..];
        let reference = &body[..body.find(|c| !is_ref_char(c)).unwrap_or(body.len())];
        if !reference.contains('/') {
            continue;
        }
        let (name, key) = reference
            .split_once('/')
            .filter(|(n, k)| is_secret_part(n) && is_secret_part(k))
            .ok_or_else(|| {
                format!(
                    "`secret:{reference}` is not a secret reference: write secret:NAME/KEY, \
                     NAME and KEY of letters, digits, `_`, `-` and `.` (not starting with `.`)"
                )
            })?;
        out.push_str(&text[copied..at]);
        out.push_str(&lookup(name, key)?);
        copied = at + SECRET_PREFIX.len() + reference.len();
    }
    out.push_str(&text[copied..]);
    Ok(out)
}

fn is_secret_part(s: &str) -> bool {
    !s.is_empty() && !s.starts_with('.') && !s.contains('/')
}

/// The environment variable a secret may be given in.
fn secret_env_var(name: &str, key: &str) -> String {
    let norm = |s: &str| s.to_ascii_uppercase().replace(['-', '.'], "_");
    format!("LIFEBOAT_SECRET_{}_{}", norm(name), norm(key))
}

fn lookup_secret(
    name: &str,
    key: &str,
    dir: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let var = secret_env_var(name, key);
    if let Some(v) = env(&var) {
        return Ok(v);
    }
    let reference = format!("secret:{name}/{key}");
    let Some(dir) = dir else {
        return Err(format!(
            "secret `{reference}` not found: no environment variable {var}, and \
             executor.secrets_dir is not set; set {var} or put it in \
             <executor.secrets_dir>/{name}/{key}"
        ));
    };
    let path = dir.join(name).join(key);
    let meta = std::fs::metadata(&path).map_err(|e| {
        format!(
            "secret `{reference}` not found: no environment variable {var}, and cannot read \
             {} ({e}); set {var} or create that file (mode 0600)",
            path.display()
        )
    })?;
    if std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o007 != 0 {
        return Err(format!(
            "secret `{reference}`: {} is readable or writable by every user; chmod 600 it",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("secret `{reference}`: cannot read {}: {e}", path.display()))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap as AxumHeaders, Method as AxumMethod, StatusCode, Uri};
    use axum::response::{IntoResponse, Response};
    use std::os::unix::fs::PermissionsExt;
    use std::sync::{Arc, Mutex};

    /// One request as the test server saw it.
    #[derive(Debug, Clone)]
    struct Seen {
        method: String,
        path: String,
        headers: AxumHeaders,
        body: Vec<u8>,
    }

    type Log = Arc<Mutex<Vec<Seen>>>;

    /// Records every request; `/status/N` answers N, `/big` 8 KiB, `/moved` a redirect,
    /// anything else `{"ok":true}`.
    async fn record(
        State(log): State<Log>,
        method: AxumMethod,
        uri: Uri,
        headers: AxumHeaders,
        body: Bytes,
    ) -> Response {
        let path = uri.path().to_string();
        log.lock().unwrap().push(Seen {
            method: method.to_string(),
            path: path.clone(),
            headers,
            body: body.to_vec(),
        });
        if let Some(code) = path.strip_prefix("/status/") {
            let code = StatusCode::from_u16(code.parse().unwrap()).unwrap();
            return (code, "x".repeat(300)).into_response();
        }
        match path.as_str() {
            "/big" => "y".repeat(8192).into_response(),
            "/moved" => (StatusCode::FOUND, [("location", "/elsewhere")]).into_response(),
            _ => axum::Json(json!({"ok": true})).into_response(),
        }
    }

    /// A recording server on 127.0.0.1:0; returns its base URL (`http://127.0.0.1:P`).
    async fn server() -> (String, Log) {
        let log = Log::default();
        let app = axum::Router::new().fallback(record).with_state(log.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (base, log)
    }

    fn steps(yaml: &str) -> HttpSteps {
        let cfg: ExecutorConfig = serde_saphyr::from_str(yaml).unwrap();
        HttpSteps::new(&cfg).unwrap()
    }

    fn allowing(prefix: &str) -> HttpSteps {
        steps(&format!("http_allowlist: [\"{prefix}\"]\n"))
    }

    #[tokio::test]
    async fn allowed_post_arrives_with_json_body_and_idempotency_key() {
        let (base, log) = server().await;
        let s = allowing(&format!("{base}/hooks/"));
        let with = json!({"method": "POST", "url": format!("{base}/hooks/switch"),
                          "headers": {"Authorization": "Bearer t0ken"},
                          "body": {"target": "eu-west", "weight": 100}});
        let out = s.request(&with, "run-1/switch/3", None).await.unwrap();
        assert_eq!(out, json!({"status": 200, "body": {"ok": true}}));
        let seen = log.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        let r = &seen[0];
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/hooks/switch")
        );
        assert_eq!(r.headers["idempotency-key"], "run-1/switch/3");
        assert_eq!(r.headers["authorization"], "Bearer t0ken");
        assert_eq!(r.headers["content-type"], "application/json");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body, json!({"target": "eu-west", "weight": 100}));
    }

    #[tokio::test]
    async fn an_empty_allowlist_refuses_and_names_the_key() {
        let (base, log) = server().await;
        let s = steps("{}");
        let err = s
            .request(&json!({"url": format!("{base}/x")}), "k", None)
            .await
            .unwrap_err();
        assert!(err.contains("executor.http_allowlist"), "{err}");
        assert!(
            err.contains(&format!("`{base}/`")),
            "suggests the prefix: {err}"
        );
        assert!(log.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn urls_outside_the_allowlist_never_reach_the_server() {
        let (base, log) = server().await;
        let s = allowing(&format!("{base}/api"));
        let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
        let other_port = format!("http://127.0.0.1:{}/api", port.wrapping_add(1).max(1));
        for url in [
            format!("{base}/apiary"),
            format!("{base}/other"),
            format!("{base}/api/../admin"),
            format!("{base}/api").replace("127.0.0.1", "localhost"),
            format!("{base}/api").replace("http:", "https:"),
            other_port,
        ] {
            let err = s
                .request(&json!({"url": url}), "k", None)
                .await
                .unwrap_err();
            assert!(
                err.contains("refused") && err.contains("executor.http_allowlist"),
                "{err}"
            );
        }
        assert!(log.lock().unwrap().is_empty(), "nothing may be sent");
        for path in ["/api", "/api/v1/x?y=1"] {
            let url = format!("{base}{path}");
            s.request(&json!({"url": url}), "k", None).await.unwrap();
        }
        assert_eq!(log.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_drill_allowlist_narrows_the_node_allowlist() {
        let (base, log) = server().await;
        let s = allowing(&format!("{base}/"));
        let drill = [format!("{base}/staging/")];
        let prod = json!({"method": "POST", "url": format!("{base}/prod/switch")});
        let err = s.request(&prod, "k", Some(&drill)).await.unwrap_err();
        assert!(err.contains("drill.httpAllowlist"), "{err}");
        assert!(log.lock().unwrap().is_empty());
        let staging = json!({"url": format!("{base}/staging/switch")});
        s.request(&staging, "k", Some(&drill)).await.unwrap();
        // The drill list cannot widen the node's.
        let narrow = allowing(&format!("{base}/prod/"));
        let err = narrow
            .request(&staging, "k", Some(&drill))
            .await
            .unwrap_err();
        assert!(err.contains("executor.http_allowlist"), "{err}");
        assert_eq!(log.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_unexpected_status_errs_with_status_and_body_start() {
        let (base, _log) = server().await;
        let s = allowing(&format!("{base}/"));
        let err = s
            .request(&json!({"url": format!("{base}/status/503")}), "k", None)
            .await
            .unwrap_err();
        assert!(err.contains("503") && err.contains("2xx"), "{err}");
        assert!(err.contains(&format!("{}...", "x".repeat(200))), "{err}");
        assert!(!err.contains(&"x".repeat(201)), "at most 200 chars: {err}");
        let with = json!({"url": format!("{base}/status/200"), "expectStatus": [201, 204]});
        let err = s.request(&with, "k", None).await.unwrap_err();
        assert!(err.contains("200") && err.contains("[201, 204]"), "{err}");
        let with = json!({"url": format!("{base}/status/404"), "expectStatus": [404]});
        let out = s.request(&with, "k", None).await.unwrap();
        assert_eq!(out["status"], 404);
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let (base, log) = server().await;
        let s = allowing(&format!("{base}/"));
        let err = s
            .request(&json!({"url": format!("{base}/moved")}), "k", None)
            .await
            .unwrap_err();
        assert!(
            err.contains("302") && err.contains("redirects are not followed"),
            "{err}"
        );
        assert_eq!(
            log.lock().unwrap().len(),
            1,
            "the Location was not requested"
        );
    }

    #[tokio::test]
    async fn an_oversized_response_errs_naming_the_cap() {
        let (base, _log) = server().await;
        let s = steps(&format!(
            "http_allowlist: [\"{base}/\"]\nhttp_max_response_bytes: 4096\n"
        ));
        let err = s
            .request(&json!({"url": format!("{base}/big")}), "k", None)
            .await
            .unwrap_err();
        assert!(
            err.contains("executor.http_max_response_bytes") && err.contains("4096"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_unanswered_request_times_out_naming_the_key() {
        // Accepts connections (kernel backlog) but never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", silent.local_addr().unwrap());
        let s = steps(&format!(
            "http_allowlist: [\"{base}/\"]\nhttp_timeout: 200ms\n"
        ));
        let err = s
            .request(&json!({"url": format!("{base}/slow")}), "k", None)
            .await
            .unwrap_err();
        assert!(
            err.contains("executor.http_timeout") && err.contains("200ms"),
            "{err}"
        );
        drop(silent);
    }

    #[tokio::test]
    async fn a_bad_with_block_is_a_clear_error() {
        let s = allowing("http://127.0.0.1:1/");
        for (with, expect) in [
            (json!({}), "with.url"),
            (json!({"url": "/relative"}), "not an absolute URL"),
            (
                json!({"url": "http://127.0.0.1:1/", "method": "BREW"}),
                "GET, POST",
            ),
            (
                json!({"url": "http://127.0.0.1:1/", "expectStatus": []}),
                "non-empty",
            ),
            (
                json!({"url": "http://127.0.0.1:1/", "headers": {"X": 1}}),
                "header `X`",
            ),
        ] {
            let err = s.request(&with, "k", None).await.unwrap_err();
            assert!(err.contains(expect), "{with}: {err}");
        }
        let with = json!({"url": "http://127.0.0.1:1/", "headers": {"X": "a\nb"}});
        let err = s.request(&with, "k", None).await.unwrap_err();
        assert!(err.contains("header `X`") && !err.contains("a\nb"), "{err}");
    }

    #[tokio::test]
    async fn notify_webhook_delivers_the_message() {
        let (base, log) = server().await;
        let s = steps(&format!(
            "notify:\n  channels:\n    oncall:\n      webhook: {base}/notify\n    audit:\n      log: {{}}\n"
        ));
        let with = json!({"channel": "oncall", "title": "Failover", "message": "eu-west is lost"});
        let out = s.notify(&with, "run-7", "page").await.unwrap();
        assert_eq!(out["via"], "webhook");
        let seen = log.lock().unwrap().clone();
        assert_eq!((seen.len(), seen[0].method.as_str()), (1, "POST"));
        let body: Value = serde_json::from_slice(&seen[0].body).unwrap();
        assert_eq!(
            body,
            json!({"channel": "oncall", "title": "Failover", "message": "eu-west is lost",
                   "run": "run-7", "step": "page"})
        );
        let out = s
            .notify(&json!({"channel": "audit", "message": "m"}), "run-7", "log")
            .await
            .unwrap();
        assert_eq!(out["via"], "log");
        assert_eq!(log.lock().unwrap().len(), 1, "a log channel sends nothing");
    }

    #[tokio::test]
    async fn a_failing_webhook_errs_without_its_url() {
        let (base, _log) = server().await;
        let s = steps(&format!(
            "notify:\n  channels:\n    oncall:\n      webhook: {base}/status/500?token=hush\n"
        ));
        let with = json!({"channel": "oncall", "message": "m"});
        let err = s.notify(&with, "r", "s").await.unwrap_err();
        assert!(
            err.contains("500") && err.contains("channels.oncall.webhook"),
            "{err}"
        );
        assert!(!err.contains("hush"), "{err}");
    }

    #[tokio::test]
    async fn an_unknown_channel_errs_listing_the_channels() {
        let s =
            steps("notify:\n  channels:\n    oncall:\n      log: {}\n    slack:\n      log: {}\n");
        let err = s
            .notify(&json!({"channel": "pager", "message": "m"}), "r", "s")
            .await
            .unwrap_err();
        assert!(
            err.contains("`pager`") && err.contains("oncall, slack"),
            "{err}"
        );
        assert!(err.contains("executor.notify.channels"), "{err}");
        let none = steps("{}");
        let err = none
            .notify(&json!({"channel": "pager", "message": "m"}), "r", "s")
            .await
            .unwrap_err();
        assert!(err.contains("none are configured"), "{err}");
    }

    fn write_secret(dir: &Path, name: &str, key: &str, value: &str, mode: u32) {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        let path = dir.join(name).join(key);
        std::fs::write(&path, value).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn secrets_resolve_from_the_dir_recursively_and_in_place() {
        let dir = tempfile::tempdir().unwrap();
        write_secret(dir.path(), "api", "token", "t0ken\n", 0o600);
        let with = json!({"url": "http://x/", "headers": {"Authorization": "Bearer secret:api/token"},
                          "body": {"list": ["secret:api/token", 3, "topsecret:api/token"]}});
        let out = resolve_secrets(&with, Some(dir.path())).unwrap();
        assert_eq!(out["headers"]["Authorization"], "Bearer t0ken");
        assert_eq!(
            out["body"]["list"],
            json!(["t0ken", 3, "topsecret:api/token"])
        );
        assert_eq!(out["url"], "http://x/");
    }

    #[test]
    fn an_environment_variable_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write_secret(dir.path(), "db-prod", "pass.word", "from-file", 0o600);
        assert_eq!(
            secret_env_var("db-prod", "pass.word"),
            "LIFEBOAT_SECRET_DB_PROD_PASS_WORD"
        );
        // The process environment cannot be changed safely in tests: inject it.
        let env =
            |v: &str| (v == "LIFEBOAT_SECRET_DB_PROD_PASS_WORD").then(|| "from-env".to_string());
        let lookup = |n: &str, k: &str| lookup_secret(n, k, Some(dir.path()), &env);
        let out = resolve_with(&json!("secret:db-prod/pass.word"), &lookup).unwrap();
        assert_eq!(out, "from-env");
        let no_env = |_: &str| None;
        let lookup = |n: &str, k: &str| lookup_secret(n, k, Some(dir.path()), &no_env);
        let out = resolve_with(&json!("secret:db-prod/pass.word"), &lookup).unwrap();
        assert_eq!(out, "from-file");
    }

    #[test]
    fn a_missing_or_exposed_secret_errs_naming_where_it_was_looked_for() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve_secrets(&json!({"h": "secret:nope/key"}), Some(dir.path())).unwrap_err();
        let file = dir.path().join("nope").join("key");
        assert!(err.contains("LIFEBOAT_SECRET_NOPE_KEY"), "{err}");
        assert!(err.contains(&file.display().to_string()), "{err}");
        let err = resolve_secrets(&json!("secret:nope/key"), None).unwrap_err();
        assert!(
            err.contains("LIFEBOAT_SECRET_NOPE_KEY") && err.contains("executor.secrets_dir"),
            "{err}"
        );
        write_secret(dir.path(), "open", "key", "leaked", 0o644);
        let err = resolve_secrets(&json!("secret:open/key"), Some(dir.path())).unwrap_err();
        assert!(
            err.contains("chmod 600") && !err.contains("leaked"),
            "{err}"
        );
        let err = resolve_secrets(&json!("secret:../etc/passwd"), Some(dir.path())).unwrap_err();
        assert!(err.contains("not a secret reference"), "{err}");
    }

    #[test]
    fn result_bodies_are_json_or_text_cut_to_4_kib() {
        assert_eq!(result_body(br#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(result_body(b"plain"), json!("plain"));
        let long = result_body("é".repeat(3000).as_bytes());
        let text = long.as_str().unwrap();
        assert!(text.len() < RESULT_BODY_BYTES + 64, "{}", text.len());
        assert!(text.ends_with("[truncated, 6000 bytes in all]"), "{text}");
    }
}
