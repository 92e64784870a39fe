//! [`Grants`]: the capabilities one runbook step gives its plugin (`permissions:` in
//! the YAML), and the pure checks that decide whether a host call is inside them.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::describe::Capability;

/// What a step grants. Everything absent or `false` is denied; a denied call aborts the
/// plugin and fails the step with [`crate::FailureKind::Denied`].
///
/// Deserializes from the runbook's `permissions:` block, e.g.
/// `{log: true, http: {allowHosts: ["dns.internal:8080"], timeout: 5s}, kube: {clusters: [eu-west], namespaces: [shop], verbs: [get, patch]}, kv: true, clock: true}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Grants {
    /// `log` import.
    pub log: bool,
    /// `http` import, with its allow-list and caps.
    pub http: Option<HttpGrant>,
    /// `kube` import, scoped.
    pub kube: Option<KubeGrant>,
    /// `kv` import (the plugin's own state).
    pub kv: bool,
    /// `clock` import (and real WASI clocks).
    pub clock: bool,
}

impl Grants {
    /// Everything denied (what `describe` runs with).
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether `capability` is granted at all.
    #[must_use]
    pub fn allows(&self, capability: Capability) -> bool {
        match capability {
            Capability::Log => self.log,
            Capability::Http => self.http.is_some(),
            Capability::Kube => self.kube.is_some(),
            Capability::Kv => self.kv,
            Capability::Clock => self.clock,
        }
    }

    /// The capabilities a plugin asks for that these grants lack (for the linter).
    #[must_use]
    pub fn missing(&self, asked: &[Capability]) -> Vec<Capability> {
        asked.iter().copied().filter(|c| !self.allows(*c)).collect()
    }
}

/// Outgoing HTTP: allow-listed hosts, timeout and response cap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpGrant {
    /// `host` (default port of the scheme only), `host:port`, or `*.suffix` (any
    /// subdomain, default ports). Hosts compare case-insensitively.
    pub allow_hosts: Vec<String>,
    /// Per-request timeout (also bounded by the step deadline).
    #[serde(
        default = "HttpGrant::default_timeout",
        deserialize_with = "de_duration"
    )]
    pub timeout: Duration,
    /// Response body cap; a bigger body fails the call with `too-large`.
    #[serde(default = "HttpGrant::default_max_response_bytes")]
    pub max_response_bytes: usize,
}

impl HttpGrant {
    fn default_timeout() -> Duration {
        Duration::from_secs(10)
    }
    fn default_max_response_bytes() -> usize {
        1 << 20
    }

    /// A grant for `hosts` with the default timeout (10 s) and cap (1 MiB).
    #[must_use]
    pub fn to_hosts<S: Into<String>>(hosts: impl IntoIterator<Item = S>) -> Self {
        Self {
            allow_hosts: hosts.into_iter().map(Into::into).collect(),
            timeout: Self::default_timeout(),
            max_response_bytes: Self::default_max_response_bytes(),
        }
    }

    /// Whether `url` (absolute http/https) is inside the allow-list.
    #[must_use]
    pub fn allows_url(&self, url: &str) -> bool {
        url.parse().is_ok_and(|u| self.allows_parsed(&u))
    }

    pub(crate) fn allows_parsed(&self, url: &reqwest::Url) -> bool {
        let default_port = match url.scheme() {
            "http" => 80,
            "https" => 443,
            _ => return false,
        };
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        self.allow_hosts.iter().any(|entry| {
            let entry = entry.to_ascii_lowercase();
            let (ehost, eport) = match entry.rsplit_once(':') {
                Some((h, p)) if !h.contains(']') || h.ends_with(']') => match p.parse::<u16>() {
                    Ok(p) => (h.to_owned(), p),
                    Err(_) => (entry.clone(), default_port),
                },
                _ => (entry.clone(), default_port),
            };
            if eport != port {
                return false;
            }
            match ehost.strip_prefix("*.") {
                Some(suffix) => {
                    host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}"))
                }
                None => host == ehost,
            }
        })
    }
}

/// A Kubernetes verb a step may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KubeVerb {
    /// Read one object.
    Get,
    /// List objects.
    List,
    /// Server-side apply.
    Apply,
    /// JSON merge patch.
    Patch,
}

/// Kubernetes scope: clusters x namespaces x verbs. `"*"` in `clusters` or `namespaces`
/// means any; cluster-scoped objects (empty namespace) need `namespaces: ["*"]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubeGrant {
    /// Cluster names, or `"*"`.
    pub clusters: Vec<String>,
    /// Namespaces, or `"*"`.
    pub namespaces: Vec<String>,
    /// Allowed verbs (default: get and list).
    #[serde(default = "KubeGrant::default_verbs")]
    pub verbs: Vec<KubeVerb>,
}

impl KubeGrant {
    fn default_verbs() -> Vec<KubeVerb> {
        vec![KubeVerb::Get, KubeVerb::List]
    }

    /// `None` when `verb` on `cluster`/`namespace` is inside the grant, else why not.
    #[must_use]
    pub fn refusal(&self, verb: KubeVerb, cluster: &str, namespace: &str) -> Option<String> {
        let any = |list: &[String], v: &str| list.iter().any(|x| x == "*" || x == v);
        if !self.verbs.contains(&verb) {
            return Some(format!(
                "verb {verb:?} not granted (granted: {:?})",
                self.verbs
            ));
        }
        if !any(&self.clusters, cluster) {
            return Some(format!(
                "cluster {cluster:?} not granted (granted: {:?})",
                self.clusters
            ));
        }
        let ns_ok = if namespace.is_empty() {
            self.namespaces.iter().any(|n| n == "*")
        } else {
            any(&self.namespaces, namespace)
        };
        if !ns_ok {
            let what = if namespace.is_empty() {
                "cluster-scoped objects".to_owned()
            } else {
                format!("namespace {namespace:?}")
            };
            return Some(format!(
                "{what} not granted (granted namespaces: {:?})",
                self.namespaces
            ));
        }
        None
    }
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_allow_list_matches_host_and_port() {
        let g = HttpGrant::to_hosts(["127.0.0.1:8080", "api.example.com", "*.dns.internal"]);
        assert!(g.allows_url("http://127.0.0.1:8080/x"));
        assert!(!g.allows_url("http://127.0.0.1:8081/x"));
        assert!(!g.allows_url("http://localhost:8080/x"));
        assert!(g.allows_url("https://API.example.com/v1"));
        assert!(!g.allows_url("https://api.example.com:8443/v1"));
        assert!(!g.allows_url("https://evil.com/?api.example.com"));
        assert!(g.allows_url("https://a.dns.internal/"));
        assert!(!g.allows_url("https://dns.internal/"));
        assert!(!g.allows_url("ftp://api.example.com/"));
        assert!(!g.allows_url("http://127.0.0.1:8080@evil.com/"));
    }

    #[test]
    fn kube_scope_refuses_outside_namespace_cluster_verb() {
        let g = KubeGrant {
            clusters: vec!["eu".into()],
            namespaces: vec!["shop".into()],
            verbs: vec![KubeVerb::Get, KubeVerb::Patch],
        };
        assert!(g.refusal(KubeVerb::Get, "eu", "shop").is_none());
        assert!(
            g.refusal(KubeVerb::Get, "eu", "kube-system")
                .unwrap()
                .contains("kube-system")
        );
        assert!(
            g.refusal(KubeVerb::Get, "us", "shop")
                .unwrap()
                .contains("cluster")
        );
        assert!(
            g.refusal(KubeVerb::Apply, "eu", "shop")
                .unwrap()
                .contains("Apply")
        );
        assert!(g.refusal(KubeVerb::Get, "eu", "").is_some());
    }

    #[test]
    fn grants_deserialize_from_runbook_permissions() {
        let g: Grants = serde_json::from_value(serde_json::json!({
            "log": true,
            "http": {"allowHosts": ["a:1"], "timeout": "2s"},
            "kube": {"clusters": ["eu"], "namespaces": ["shop"]},
        }))
        .unwrap();
        assert!(g.log && !g.kv && !g.clock);
        assert_eq!(g.http.unwrap().timeout, Duration::from_secs(2));
        assert_eq!(g.kube.unwrap().verbs, vec![KubeVerb::Get, KubeVerb::List]);
    }
}
