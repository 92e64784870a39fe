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
        if let Err(errors) = self.health_settings(file) {
            p.errors.extend(errors.0);
        }
        self.check_snapshots(&mut p);
        self.check_executor(&mut p);
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

    fn check_snapshots(&self, p: &mut Problems<'_>) {
        let known: BTreeSet<&str> = self
            .clusters
            .iter()
            .map(|c| c.name.value.as_str())
            .collect();
        for (i, s) in self.snapshots.schedules.iter().enumerate() {
            if !known.contains(s.cluster.value.as_str()) {
                let msg = format!("schedule for unknown cluster `{}`", s.cluster.value);
                let fix = "name a cluster listed under clusters:";
                p.add(
                    Some(&s.cluster),
                    format!("snapshots.schedules[{i}].cluster"),
                    msg,
                    fix,
                );
            }
            if let Err(e) = crate::snapshots::schedule_spec(i, s).and_then(|spec| {
                lifeboat_snapshot::schedule::Schedule::parse(&spec).map_err(|e| e.to_string())
            }) {
                let fix =
                    "six fields with seconds first, e.g. \"0 */15 * * * *\"; missed: skip|run-once";
                p.add(Some(&s.cron), format!("snapshots.schedules[{i}]"), e, fix);
            }
        }
        if self.snapshots.encryption_key_file.is_some()
            && self.snapshots.encryption_key_env.is_some()
        {
            let msg = "both encryption_key_file and encryption_key_env are set".into();
            p.add::<()>(None, "snapshots".into(), msg, "keep one of them");
        }
        if let Some(l) = self.snapshots.compression_level
            && !(1..=22).contains(&l)
        {
            let msg = format!("compression_level {l} is not in 1..=22");
            p.add::<()>(
                None,
                "snapshots.compression_level".into(),
                msg,
                "use 3 (fast) to 19 (small)",
            );
        }
        if let Some(g) = &self.snapshots.gc_grace
            && humantime::parse_duration(g).is_err()
        {
            let msg = format!("`{g}` is not a duration");
            p.add::<()>(
                None,
                "snapshots.gc_grace".into(),
                msg,
                "write it like 1h or 30m",
            );
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

impl Config {
    fn check_executor(&self, p: &mut Problems<'_>) {
        let e = &self.executor;
        for (i, prefix) in e.http_allowlist.iter().enumerate() {
            if let Err(why) = check_http_url(&prefix.value, true) {
                let why = format!("`{}` {why}", prefix.value);
                let key = format!("executor.http_allowlist[{i}]");
                let fix = "write a URL prefix such as https://hooks.example.com/ or http://127.0.0.1:8080/api/";
                p.add(Some(prefix), key, why, fix);
            }
        }
        for (key, t) in [
            ("executor.http_timeout", &e.http_timeout),
            ("executor.default_step_timeout", &e.default_step_timeout),
        ] {
            if !humantime::parse_duration(&t.value).is_ok_and(|d| !d.is_zero()) {
                let msg = format!("`{}` is not a positive duration", t.value);
                let fix = "write it like 30s, 500ms, 2m or 1h";
                p.add(Some(t), key.into(), msg, fix);
            }
        }
        for (key, value, example) in [
            (
                "http_max_response_bytes",
                e.http_max_response_bytes,
                "1048576 (1 MiB)",
            ),
            ("max_parallel_steps", e.max_parallel_steps, "64"),
        ] {
            if value == 0 {
                let msg = format!("{key} must be > 0");
                let fix = format!("e.g. {example}, or remove it for the default");
                p.add::<()>(None, format!("executor.{key}"), msg, &fix);
            }
        }
        for (name, channel) in &e.notify.channels {
            if name.trim().is_empty() {
                let msg = "a notify channel has an empty name".into();
                let fix = "name it, e.g. oncall:";
                p.add::<()>(None, "executor.notify.channels".into(), msg, fix);
            }
            if let super::schema::NotifyChannel::Webhook(url) = channel
                && let Err(why) = check_http_url(&url.value, false)
            {
                let why = format!("the webhook URL {why}");
                let key = format!("executor.notify.channels.{name}.webhook");
                p.add(Some(url), key, why, "write it as https://HOST/PATH");
            }
        }
        if e.secrets_dir
            .as_ref()
            .is_some_and(|d| d.as_os_str().is_empty())
        {
            let msg = "secrets_dir is empty".into();
            let fix = "point it at a directory of NAME/KEY files, or remove it";
            p.add::<()>(None, "executor.secrets_dir".into(), msg, fix);
        }
    }
}

/// Health settings in milliseconds, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSettings {
    /// Probe interval.
    pub interval_ms: u64,
    /// Probe timeout.
    pub timeout_ms: u64,
    /// Failure window.
    pub window_ms: u64,
    /// Recovery period.
    pub recovery_ms: u64,
    /// Vote lease.
    pub vote_ttl_ms: u64,
    /// Failover cooldown.
    pub cooldown_ms: u64,
    /// Blast-radius share.
    pub blast_radius: f64,
    /// Votes needed.
    pub quorum: usize,
    /// Canary read on.
    pub canary: bool,
}

impl Config {
    /// Parse and check the `health:` section against the configured voters.
    pub fn health_settings(&self, file: &Path) -> Result<HealthSettings, ConfigErrors> {
        let h = &self.health;
        let mut errors = Vec::new();
        let mut dur = |key: &str, s: &str| match humantime::parse_duration(s) {
            Ok(d) if !d.is_zero() => d.as_millis() as u64,
            _ => {
                let msg = format!("`{s}` is not a positive duration");
                errors.push(ConfigError::new(
                    file,
                    format!("health.{key}"),
                    msg,
                    "write it like 2s, 500ms or 30m",
                ));
                0
            }
        };
        let interval_ms = dur("interval", &h.interval);
        let timeout_ms = dur("timeout", &h.timeout);
        let window_ms = dur("window", &h.window);
        let recovery_ms = dur("recovery", &h.recovery);
        let cooldown_ms = dur("cooldown", &h.cooldown);
        let vote_ttl_ms = match &h.vote_ttl {
            Some(s) => dur("vote_ttl", s),
            None => interval_ms * 3,
        };
        let voters = self.peers.len();
        let quorum = h.quorum.unwrap_or(voters / 2 + 1);
        let mut bad = |key: &str, msg: String, fix: String| {
            errors.push(ConfigError::new(file, format!("health.{key}"), msg, fix));
        };
        if interval_ms > 0 && timeout_ms >= interval_ms {
            let msg = format!(
                "timeout ({}) must be shorter than interval ({})",
                h.timeout, h.interval
            );
            bad(
                "timeout",
                msg,
                "lower health.timeout or raise health.interval".into(),
            );
        }
        if interval_ms > 0 && window_ms < interval_ms * 2 {
            let msg = format!(
                "window ({}) is shorter than two probe intervals ({})",
                h.window, h.interval
            );
            let fix = "set health.window to at least 2 x health.interval (default 6s for 2s)";
            bad("window", msg, fix.into());
        }
        if vote_ttl_ms > 0 && vote_ttl_ms <= interval_ms {
            let msg = "vote_ttl must outlast a probe interval, or every vote expires".into();
            bad(
                "vote_ttl",
                msg,
                "use at least 2 x health.interval (default 3 x)".into(),
            );
        }
        if !(h.blast_radius > 0.0 && h.blast_radius <= 1.0) {
            let msg = format!("blast_radius {} is not in (0, 1]", h.blast_radius);
            bad(
                "blast_radius",
                msg,
                "use a share such as 0.5 (half the clusters)".into(),
            );
        }
        if voters > 0 && (quorum > voters || quorum <= voters / 2) {
            let msg = format!("a quorum of {quorum} is impossible or unsafe with {voters} voters");
            let fix = format!(
                "use between {} and {voters}, or leave it unset (majority)",
                voters / 2 + 1
            );
            bad("quorum", msg, fix);
        }
        if errors.is_empty() {
            Ok(HealthSettings {
                interval_ms,
                timeout_ms,
                window_ms,
                recovery_ms,
                vote_ttl_ms,
                cooldown_ms,
                blast_radius: h.blast_radius,
                quorum,
                canary: h.canary,
            })
        } else {
            Err(ConfigErrors(errors))
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

/// Why `s` is not an absolute `http(s)://HOST[:PORT]/PATH` URL (for a `prefix`, also
/// without credentials, query or fragment). The reason does not quote `s`: a webhook URL
/// may carry a token.
fn check_http_url(s: &str, prefix: bool) -> Result<(), String> {
    let url = reqwest::Url::parse(s).map_err(|e| format!("is not an absolute URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must use http or https".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    if prefix && (!url.username().is_empty() || url.password().is_some()) {
        return Err("must not carry credentials".into());
    }
    if prefix && (url.query().is_some() || url.fragment().is_some()) {
        return Err("must not have a query or fragment".into());
    }
    Ok(())
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A Kubernetes-style DNS label.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}
