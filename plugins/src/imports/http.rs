//! `http`: outgoing requests to allow-listed hosts only, no redirects, with the grant's
//! timeout (bounded by the step deadline) and response-size cap.

use std::time::Instant;

use crate::bindings::http::{Header, Host, Request, Response};
use crate::bindings::types::{HostError, HostErrorKind};
use crate::describe::Capability;
use crate::imports::host_error;
use crate::state::{StoreState, until};

/// Cap on the request body a plugin may send.
const MAX_REQUEST_BODY: usize = 1 << 20;

/// The shared client: no redirects (they could leave the allow-list), no proxy from the
/// environment, no cookies.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("reqwest client with static configuration")
}

impl Host for StoreState {
    async fn send(&mut self, req: Request) -> wasmtime::Result<Result<Response, HostError>> {
        self.require(Capability::Http)?;
        let grant = self.grants.http.clone().expect("checked by require");
        let url: reqwest::Url = match req.url.parse() {
            Ok(u) => u,
            Err(e) => {
                return Ok(Err(host_error(
                    HostErrorKind::Invalid,
                    format!("bad url {:?}: {e}", req.url),
                )));
            }
        };
        if !grant.allows_parsed(&url) {
            let host = url.host_str().unwrap_or("").to_owned();
            let port = url.port_or_known_default().unwrap_or(0);
            return Err(self.deny(
                Capability::Http,
                format!(
                    "{host}:{port} is not in the step's http.allowHosts {:?}",
                    grant.allow_hosts
                ),
            ));
        }
        let method = match req.method.to_ascii_uppercase().as_str() {
            m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD") => {
                reqwest::Method::from_bytes(m.as_bytes())?
            }
            other => {
                return Ok(Err(host_error(
                    HostErrorKind::Invalid,
                    format!("method {other:?} not supported"),
                )));
            }
        };
        if req.body.len() > MAX_REQUEST_BODY {
            return Ok(Err(host_error(
                HostErrorKind::TooLarge,
                "request body over 1 MiB",
            )));
        }
        let mut builder = self
            .http
            .request(method, url.clone())
            .timeout(grant.timeout);
        for h in &req.headers {
            builder = builder.header(&h.name, &h.value);
        }
        if !req.body.is_empty() {
            builder = builder.body(req.body);
        }
        let started = Instant::now();
        let cap = grant.max_response_bytes;
        let call = async move {
            let mut resp = builder.send().await.map_err(|e| send_error(&e))?;
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| Header {
                    name: k.as_str().to_owned(),
                    value: String::from_utf8_lossy(v.as_bytes()).into_owned(),
                })
                .collect();
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| send_error(&e))? {
                if body.len() + chunk.len() > cap {
                    return Err(host_error(
                        HostErrorKind::TooLarge,
                        format!("response from {url} is over the step's cap of {cap} bytes"),
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Response {
                status,
                headers,
                body,
            })
        };
        match until(self.deadline, call).await {
            Some(r) => {
                tracing::debug!(plugin = %self.call.plugin, step = %self.call.step_id, elapsed_ms = started.elapsed().as_millis() as u64, ok = r.is_ok(), "plugin http call");
                Ok(r)
            }
            None => Err(self.deadline_trap()),
        }
    }
}

fn send_error(e: &reqwest::Error) -> HostError {
    if e.is_timeout() {
        host_error(
            HostErrorKind::Timeout,
            format!("http request timed out: {e}"),
        )
    } else if e.is_builder() {
        host_error(HostErrorKind::Invalid, format!("bad http request: {e}"))
    } else {
        host_error(
            HostErrorKind::Unavailable,
            format!("http request failed: {e}"),
        )
    }
}
