//! A small client of the Lifeboat HTTP API, used by the CLI.

use std::time::Duration;

use serde_json::Value;

/// Where the API is and how to authenticate.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: String,
    token: Option<String>,
    /// Calls: 30 s in all.
    http: reqwest::Client,
    /// Streams (server-sent events): 10 s to connect, then as long as the stream lasts.
    streams: reqwest::Client,
}

/// What went wrong talking to the API.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached.
    #[error(
        "cannot reach the Lifeboat API at {url}: {source}\n  fix: check --server / LIFEBOAT_SERVER and that the node runs"
    )]
    Unreachable {
        /// The URL tried.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// The server answered with an error.
    #[error("{status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The error code.
        code: String,
        /// The message.
        message: String,
    },
    /// The answer was not JSON.
    #[error("the server at {url} answered something that is not Lifeboat JSON: {why}")]
    Garbled {
        /// The URL.
        url: String,
        /// Why.
        why: String,
    },
}

impl ApiClient {
    /// A client of `base` (e.g. `http://127.0.0.1:7101`), with an optional bearer token.
    pub fn new(base: &str, token: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        let streams = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            base: base.trim_end_matches('/').to_string(),
            token,
            http,
            streams,
        }
    }

    /// `GET path` as text (drill reports in Markdown or HTML).
    pub async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let resp = self
            .start(self.http.get(format!("{}{path}", self.base)))
            .await?;
        resp.text().await.map_err(|e| self.garbled(&e))
    }

    /// `GET path` as a stream of server-sent events, read by the caller.
    pub async fn get_stream(&self, path: &str) -> Result<reqwest::Response, ClientError> {
        let req = self
            .streams
            .get(format!("{}{path}", self.base))
            .header("accept", "text/event-stream");
        self.start(req).await
    }

    /// `GET path` as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// `POST path` without a body.
    pub async fn post(&self, path: &str) -> Result<Value, ClientError> {
        self.send(self.http.post(format!("{}{path}", self.base)))
            .await
    }

    /// `PUT path` with a raw body (YAML, a wasm component...) of the given content type.
    pub async fn put_body(
        &self,
        path: &str,
        ctype: &str,
        body: impl Into<reqwest::Body>,
    ) -> Result<Value, ClientError> {
        let req = self
            .http
            .put(format!("{}{path}", self.base))
            .header("content-type", ctype)
            .body(body);
        self.send(req).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Result<Value, ClientError> {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, ClientError> {
        let resp = self.start(req).await?;
        resp.json().await.map_err(|e| self.garbled(&e))
    }

    /// Send with the token; an error status is read from the API's error shape.
    async fn start(
        &self,
        mut req: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: self.base.clone(),
                source,
            })?;
        let status = resp.status().as_u16();
        if status >= 400 {
            let body = resp.text().await.unwrap_or_default();
            return Err(api_error(status, &body));
        }
        Ok(resp)
    }

    fn garbled(&self, e: &reqwest::Error) -> ClientError {
        ClientError::Garbled {
            url: self.base.clone(),
            why: e.to_string(),
        }
    }
}

/// An error answer (`{"error":{"code","message"}}`, or anything else: its first 200
/// characters are the message) as a client error.
pub fn api_error(status: u16, body: &str) -> ClientError {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    let err = &v["error"];
    ClientError::Api {
        status,
        code: err["code"].as_str().unwrap_or("unknown").to_string(),
        message: err["message"]
            .as_str()
            .map_or_else(|| first_chars(body.trim(), 200), str::to_string),
    }
}

/// At most `n` characters of `s`, `…` marking a cut.
fn first_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers_are_read_from_the_api_error_shape_or_quoted() {
        let e = api_error(
            404,
            r#"{"error":{"code":"not_found","message":"no run x"}}"#,
        );
        assert_eq!(e.to_string(), "404 not_found: no run x");
        let e = api_error(502, "  Bad Gateway\n");
        assert_eq!(e.to_string(), "502 unknown: Bad Gateway");
        let long = "é".repeat(300);
        let ClientError::Api { message, .. } = api_error(500, &long) else {
            panic!("an Api error");
        };
        assert_eq!(message.chars().count(), 201);
        assert!(message.ends_with('…'));
    }
}
