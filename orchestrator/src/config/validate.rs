//! Checks on a parsed config that need no I/O: addresses, ids, names, timing, quorum.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;

use serde_saphyr::Spanned;

use super::error::{ConfigError, ConfigErrors};
use super::schema::Config;

/// Collects errors for one file.
struct Problems<'a> {
    file: &'a Path,
    errors: Vec<ConfigError>,
}

impl Problems<'_> {
    fn add<T>(&mut self, at: Option<&Spanned<T>>, key: String, problem: String, fix: &str) {
        let mut e = ConfigError::new(self.file, key, problem, fix);
        if let Some(s) = at {
            e = e.at(s.referenced.line(), s.referenced.column());
        }
        self.errors.push(e);
    }
}

impl Config {
    /// Validate everything that needs no I/O. `file` names the config in errors.
    pub fn validate(&self, file: &Path) -> Result<(), ConfigErrors> {
        let mut p = Problems {
            file,
            errors: Vec::new(),
        };
        self.check_node(&mut p);
        self.check_peers(&mut p);
        self.check_auth(&mut p);
        self.check_clusters(&mut p);
        self.check_store(&mut p);
        self.check_raft(&mut p);
        if p.errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(p.errors))
        }
    }

    fn check_node(&self, p: &mut Problems<'_>) {
        if self.node.id.value == 0 {
            let msg = "node id 0 is reserved".into();
            p.add(Some(&self.node.id), "node.id".into(), msg, "use an id >= 1");
        }
        if self.node.data_dir.value.as_os_str().is_empty() {
            let msg = "data_dir is empty".into();
            let fix = "set node.data_dir to a directory this node owns";
            p.add(Some(&self.node.data_dir), "node.data_dir".into(), msg, fix);
        }
        for (key, addr) in [
            ("listen.api", &self.listen.api),
            ("listen.raft", &self.listen.raft),
        ] {
            if addr.value.parse::<SocketAddr>().is_err() {
                let msg = format!("`{}` is not an IP:PORT socket address", addr.value);
                p.add(Some(addr), key.into(), msg, "write it as 127.0.0.1:7101");
            }
        }
        if self.listen.api.value == self.listen.raft.value {
            let msg = "the API and Raft listen on the same address".into();
            p.add(
                Some(&self.listen.raft),
                "listen.raft".into(),
                msg,
                "give Raft its own port",
            );
        }
    }

    fn check_peers(&self, p: &mut Problems<'_>) {
        if self.peers.is_empty() {
            let fix = "list every voter, this node included, under peers:";
            p.add::<()>(None, "peers".into(), "no peers configured".into(), fix);
        }
        let mut seen = BTreeSet::new();
        for (i, peer) in self.peers.iter().enumerate() {
            if peer.id.value == 0 {
                let msg = "node id 0 is reserved".into();
                p.add(
                    Some(&peer.id),
                    format!("peers[{i}].id"),
                    msg,
                    "use an id >= 1",
                );
            }
            if !seen.insert(peer.id.value) {
                let msg = format!("duplicate node id {}", peer.id.value);
                p.add(
                    Some(&peer.id),
                    format!("peers[{i}].id"),
                    msg,
                    "give every peer its own id",
                );
            }
            let vias = [("api_via", &peer.api_via), ("raft_via", &peer.raft_via)];
            let vias = vias
                .into_iter()
                .filter_map(|(f, v)| v.as_ref().map(|v| (f, v)));
            for (field, url) in [("api", &peer.api), ("raft", &peer.raft)]
                .into_iter()
                .chain(vias)
            {
                if let Err(why) = check_base_url(&url.value) {
                    let key = format!("peers[{i}].{field}");
                    p.add(Some(url), key, why, "write it as http://HOST:PORT");
                }
            }
        }
        if !self.peers.is_empty() && !seen.contains(&self.node.id.value) {
            let msg = format!(
                "this node (id {}) is not among the peers",
                self.node.id.value
            );
            let fix = "add this node to peers: with its own api and raft URLs";
            p.add(Some(&self.node.id), "node.id".into(), msg, fix);
        }
        if self.peers.len() == 2 {
            let msg = "2 voters cannot survive the loss of either: the quorum is 2".into();
            let fix = "run 1, 3 or 5 voters";
            p.add::<()>(None, "peers".into(), msg, fix);
        }
    }

    fn check_auth(&self, p: &mut Problems<'_>) {
        let a = &self.auth;
        match (&a.cluster_secret_file, &a.cluster_secret_env) {
            (None, None) => {
                let msg = "no node-to-node secret configured".into();
                let fix = "set auth.cluster_secret_file (mode 0600) or auth.cluster_secret_env";
                p.add::<()>(None, "auth".into(), msg, fix);
            }
            (Some(f), Some(_)) => {
                let msg = "both cluster_secret_file and cluster_secret_env are set".into();
                p.add(
                    Some(f),
                    "auth.cluster_secret_file".into(),
                    msg,
                    "keep one of them",
                );
            }
            _ => {}
        }
        if a.tokens.is_empty() {
            let msg = "no API tokens: nobody could use the API".into();
            let fix = "add at least one token under auth.tokens with role admin";
            p.add::<()>(None, "auth.tokens".into(), msg, fix);
        }
        let mut names = BTreeSet::new();
        for (i, t) in a.tokens.iter().enumerate() {
            if !names.insert(t.name.value.clone()) {
                let msg = format!("duplicate token name `{}`", t.name.value);
                p.add(
                    Some(&t.name),
                    format!("auth.tokens[{i}].name"),
                    msg,
                    "rename one of them",
                );
            }
            match (&t.token_file, &t.sha256) {
                (None, None) | (Some(_), Some(_)) => {
                    let msg = "a token needs exactly one of token_file or sha256".into();
                    let fix = "token_file: path/to/file (mode 0600), or sha256: <64 hex digits>";
                    p.add(Some(&t.name), format!("auth.tokens[{i}]"), msg, fix);
                }
                (None, Some(h)) if !is_sha256_hex(&h.value) => {
                    let msg = "sha256 must be 64 hex digits".into();
                    let fix = "compute it with: printf %s \"$TOKEN\" | sha256sum";
                    p.add(Some(h), format!("auth.tokens[{i}].sha256"), msg, fix);
                }
                _ => {}
            }
        }
    }

    fn check_clusters(&self, p: &mut Problems<'_>) {
        let mut names = BTreeSet::new();
        for (i, c) in self.clusters.iter().enumerate() {
            if !is_dns_label(&c.name.value) {
                let msg = format!("`{}` is not a valid cluster name", c.name.value);
                let fix = "use lowercase letters, digits and '-', at most 63 characters";
                p.add(Some(&c.name), format!("clusters[{i}].name"), msg, fix);
            }
            if !names.insert(c.name.value.clone()) {
                let msg = format!("duplicate cluster `{}`", c.name.value);
                let fix = "each cluster once";
                p.add(Some(&c.name), format!("clusters[{i}].name"), msg, fix);
            }
            if c.kubeconfig.value.as_os_str().is_empty() {
                let msg = "kubeconfig path is empty".into();
                let fix = "point it at the cluster's kubeconfig file";
                p.add(
                    Some(&c.kubeconfig),
                    format!("clusters[{i}].kubeconfig"),
                    msg,
                    fix,
                );
            }
        }
    }

    fn check_store(&self, p: &mut Problems<'_>) {
        let url = &self.store.url;
        let scheme = url.value.split_once("://").map(|(s, _)| s);
        let known = ["file", "memory", "s3", "gs", "az"];
        if !scheme.is_some_and(|s| known.contains(&s)) {
            let msg = format!("`{}` is not a supported object store URL", url.value);
            let fix =
                "use file:///path, memory://, s3://bucket/prefix, gs://bucket or az://container";
            p.add(Some(url), "store.url".into(), msg, fix);
        }
    }

    fn check_raft(&self, p: &mut Problems<'_>) {
        let r = &self.raft;
        let fix = "keep heartbeat_ms < election_timeout_min_ms < election_timeout_max_ms";
        if r.heartbeat_ms == 0 || r.heartbeat_ms >= r.election_timeout_min_ms {
            let msg = format!(
                "heartbeat_ms ({}) must be > 0 and below election_timeout_min_ms ({})",
                r.heartbeat_ms, r.election_timeout_min_ms
            );
            p.add::<()>(None, "raft.heartbeat_ms".into(), msg, fix);
        }
        if r.election_timeout_min_ms >= r.election_timeout_max_ms {
            let msg = "election_timeout_min_ms must be below election_timeout_max_ms".into();
            p.add::<()>(None, "raft.election_timeout_max_ms".into(), msg, fix);
        }
        if r.write_timeout_ms < r.election_timeout_max_ms {
            let msg = "write_timeout_ms is shorter than an election".into();
            let fix = "set write_timeout_ms above election_timeout_max_ms";
            p.add::<()>(None, "raft.write_timeout_ms".into(), msg, fix);
        }
        if r.snapshot_logs_since_last == 0 {
            let msg = "snapshot_logs_since_last must be > 0".into();
            p.add::<()>(
                None,
                "raft.snapshot_logs_since_last".into(),
                msg,
                "e.g. 5000",
            );
        }
    }
}

/// An `http(s)://host:port` base URL without path, query or credentials.
fn check_base_url(s: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(s).map_err(|e| format!("`{s}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{s}` must use http or https"));
    }
    if url.host_str().is_none() || url.port_or_known_default().is_none() {
        return Err(format!("`{s}` has no host or port"));
    }
    if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
        return Err(format!(
            "`{s}` must be a bare base URL (no path, query or user)"
        ));
    }
    Ok(())
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A Kubernetes-style DNS label.
pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}
