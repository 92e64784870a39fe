//! A small client of the Lifeboat HTTP API, used by the CLI.

use std::time::Duration;

use serde_json::Value;

/// Where the API is and how to authenticate.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
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
        Self {
            base: base.trim_end_matches('/').to_string(),
            token,
            http,
        }
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

    async fn send(&self, mut req: reqwest::RequestBuilder) -> Result<Value, ClientError> {
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let url = self.base.clone();
        let resp = req
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: url.clone(),
                source,
            })?;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.map_err(|e| ClientError::Garbled {
            url: url.clone(),
            why: e.to_string(),
        })?;
        if status >= 400 {
            let err = &body["error"];
            return Err(ClientError::Api {
                status,
                code: err["code"].as_str().unwrap_or("unknown").to_string(),
                message: err["message"]
                    .as_str()
                    .unwrap_or("(no message)")
                    .to_string(),
            });
        }
        Ok(body)
    }
}
