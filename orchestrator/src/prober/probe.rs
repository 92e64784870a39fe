//! One probe of one cluster, through the `kube` crate exactly as against any cluster:
//! `GET /readyz`, then optionally a canary read (list one namespace).
//!
//! A probe ends in one of three observations: `Healthy`; `Unhealthy` (refused, timed
//! out, not ready, server errors); or `Unknown`, when the fault is ours, not the
//! cluster's: the kubeconfig cannot be read, its context is missing, or the cluster
//! rejects our credentials (401/403). `Unknown` neither accuses nor acquits.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::catalog::Observation;

/// The outcome of one probe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    /// What was seen.
    pub observation: Observation,
    /// `ok`, or what failed.
    pub reason: String,
    /// How long the probe took.
    pub latency: Duration,
}

/// Probes one cluster; keeps its client between probes, rebuilding it after a
/// configuration failure (so a fixed kubeconfig is picked up).
pub struct ClusterProbe {
    kubeconfig: PathBuf,
    context: Option<String>,
    timeout: Duration,
    canary: bool,
    client: Option<kube::Client>,
}

impl ClusterProbe {
    /// A prober for the cluster behind `kubeconfig` (and `context`).
    pub fn new(
        kubeconfig: PathBuf,
        context: Option<String>,
        timeout: Duration,
        canary: bool,
    ) -> Self {
        Self {
            kubeconfig,
            context,
            timeout,
            canary,
            client: None,
        }
    }

    async fn client(&mut self) -> Result<kube::Client, String> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        let client = crate::kubeclient::client_for(
            &self.kubeconfig,
            self.context.as_deref(),
            Some(self.timeout),
        )
        .await?;
        self.client = Some(client.clone());
        Ok(client)
    }

    /// Probe once, bounded by the timeout whatever the cluster does (a hung API
    /// server included).
    pub async fn probe(&mut self) -> ProbeResult {
        let start = Instant::now();
        let result = |observation, reason: String| ProbeResult {
            observation,
            reason,
            latency: start.elapsed(),
        };
        let client = match self.client().await {
            Ok(c) => c,
            Err(e) => return result(Observation::Unknown, e),
        };
        let canary = self.canary;
        let checks = async move {
            get(&client, "/readyz").await?;
            if canary {
                get(&client, "/api/v1/namespaces?limit=1").await?;
            }
            Ok::<(), kube::Error>(())
        };
        match tokio::time::timeout(self.timeout, checks).await {
            Ok(Ok(())) => result(Observation::Healthy, "ok".into()),
            Err(_) => result(
                Observation::Unhealthy,
                format!("no answer within {:?}", self.timeout),
            ),
            Ok(Err(kube::Error::Api(s))) if s.code == 401 || s.code == 403 => result(
                Observation::Unknown,
                format!(
                    "credentials rejected ({}): check the kubeconfig's user",
                    s.code
                ),
            ),
            Ok(Err(kube::Error::Api(s))) => result(
                Observation::Unhealthy,
                format!("HTTP {}: {}", s.code, s.message.trim()),
            ),
            Ok(Err(e)) => result(Observation::Unhealthy, e.to_string()),
        }
    }
}

async fn get(client: &kube::Client, path: &str) -> Result<(), kube::Error> {
    let req = http::Request::get(path)
        .body(Vec::new())
        .map_err(kube::Error::HttpError)?;
    client.request_text(req).await.map(|_| ())
}
