//! Reading a config file: parse, validate, resolve paths and read secret files.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use super::error::{ConfigError, ConfigErrors};
use super::schema::{ApiTuning, ClusterConfig, Config, RaftTuning};
use crate::auth::{Principal, TokenTable};

/// A secret string whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How this node reaches one voter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// API base URL (no trailing slash).
    pub api: String,
    /// Raft base URL as recorded in the membership (no trailing slash).
    pub raft: String,
    /// Where this node connects to reach the API (`api_via`, else `api`).
    pub api_route: String,
    /// Where this node connects to reach Raft (`raft_via`, else `raft`).
    pub raft_route: String,
}

/// A validated config with paths resolved and secrets read: what a node runs with.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The file it came from.
    pub path: PathBuf,
    /// This node's id.
    pub node_id: u64,
    /// Absolute data directory.
    pub data_dir: PathBuf,
    /// API listen address.
    pub listen_api: SocketAddr,
    /// Raft listen address.
    pub listen_raft: SocketAddr,
    /// Every voter, by id.
    pub peers: BTreeMap<u64, Peer>,
    /// The node-to-node secret.
    pub cluster_secret: Secret,
    /// API tokens, as hashes.
    pub tokens: TokenTable,
    /// Protected clusters, kubeconfig paths absolute.
    pub clusters: Vec<ClusterConfig>,
    /// Object store URL.
    pub store_url: String,
    /// Raft tuning.
    pub raft: RaftTuning,
    /// API tuning.
    pub api: ApiTuning,
    /// Health probing and judging.
    pub health: super::HealthSettings,
    /// Object store options.
    pub store_options: std::collections::BTreeMap<String, String>,
    /// Snapshot schedules and retention.
    pub snapshots: super::SnapshotsConfig,
    /// Encryption key path (resolved), if configured by file.
    pub encryption_key_file: Option<PathBuf>,
    /// Plugin settings (`dir` resolved).
    pub plugins: super::PluginsConfig,
    /// Executor settings (`secrets_dir` resolved).
    pub executor: super::ExecutorConfig,
}

/// Load, validate and resolve the config at `path`.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(
            path,
            "",
            format!("cannot read the config: {e}"),
            "check the path",
        )
    })?;
    load_str(path, &text)
}

/// Like [`load`], for YAML already read from `path` (which still anchors relative paths).
pub fn load_str(path: &Path, text: &str) -> Result<LoadedConfig, ConfigErrors> {
    let cfg = parse(path, text)?;
    cfg.validate(path)?;
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut errors = Vec::new();
    let cluster_secret = read_cluster_secret(&cfg, path, &base, &mut errors);
    let tokens = read_tokens(&cfg, path, &base, &mut errors);
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    let peers = cfg
        .peers
        .iter()
        .map(|p| {
            let clean = |s: &str| s.trim_end_matches('/').to_string();
            let via = |v: &Option<Spanned<String>>, d: &Spanned<String>| {
                clean(&v.as_ref().unwrap_or(d).value)
            };
            let peer = Peer {
                api: clean(&p.api.value),
                raft: clean(&p.raft.value),
                api_route: via(&p.api_via, &p.api),
                raft_route: via(&p.raft_via, &p.raft),
            };
            (p.id.value, peer)
        })
        .collect();
    let mut clusters = cfg.clusters.clone();
    for c in &mut clusters {
        c.kubeconfig.value = base.join(&c.kubeconfig.value);
    }
    Ok(LoadedConfig {
        path: path.to_path_buf(),
        node_id: cfg.node.id.value,
        data_dir: base.join(&cfg.node.data_dir.value),
        // Both parse: validate() checked them.
        listen_api: cfg.listen.api.value.parse().expect("validated"),
        listen_raft: cfg.listen.raft.value.parse().expect("validated"),
        peers,
        cluster_secret: cluster_secret.unwrap_or_else(|| Secret::new("")),
        tokens,
        clusters,
        store_url: cfg.store.url.value.clone(),
        raft: cfg.raft.clone(),
        api: cfg.api.clone(),
        health: cfg.health_settings(path)?,
        store_options: cfg.store.options.clone(),
        encryption_key_file: cfg
            .snapshots
            .encryption_key_file
            .as_ref()
            .map(|f| base.join(&f.value)),
        snapshots: cfg.snapshots.clone(),
        executor: super::ExecutorConfig {
            secrets_dir: cfg.executor.secrets_dir.as_ref().map(|d| base.join(d)),
            ..cfg.executor.clone()
        },
        plugins: super::PluginsConfig {
            dir: cfg.plugins.dir.as_ref().map(|d| base.join(d)),
            max_bytes: cfg.plugins.max_bytes,
        },
    })
}

/// Parse YAML into [`Config`], turning serde errors into located [`ConfigError`]s.
fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
    serde_saphyr::from_str::<Config>(text).map_err(|e| {
        let (problem, fix) = explain_parse_error(&e.to_string());
        let mut err = ConfigError::new(path, "", problem, fix);
        if let Some(loc) = e.location() {
            err = err.at(loc.line(), loc.column());
        }
        err.into()
    })
}

/// The first line of a serde error, and a fix that fits its kind.
fn explain_parse_error(msg: &str) -> (String, String) {
    let first = strip_position(msg.lines().next().unwrap_or(msg).trim()).to_string();
    let fix = if first.contains("unknown field") {
        "remove the key or correct its spelling (see docs/config.md for every key)"
    } else if first.contains("missing field") {
        "add the missing key (see docs/config.md)"
    } else if first.contains("unknown variant") {
        "use one of the values the message lists"
    } else {
        "fix the YAML at that position (see docs/config.md for the schema)"
    };
    (first, fix.to_string())
}

/// Drop the parser's own "error: line N column M: " prefix: the position is shown once,
/// as `file:line:col`.
fn strip_position(s: &str) -> &str {
    let rest = s.strip_prefix("error: ").unwrap_or(s);
    match rest.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((pos, msg)) if pos.contains("column") => msg,
        _ => rest,
    }
}

fn read_cluster_secret(
    cfg: &Config,
    path: &Path,
    base: &Path,
    errors: &mut Vec<ConfigError>,
) -> Option<Secret> {
    let key = "auth.cluster_secret_file";
    if let Some(file) = &cfg.auth.cluster_secret_file {
        return read_secret_file(path, key, file, base, errors).map(Secret::new);
    }
    let var = cfg.auth.cluster_secret_env.as_ref()?;
    match std::env::var(&var.value) {
        Ok(v) if !v.trim().is_empty() => Some(Secret::new(v.trim())),
        _ => {
            let e = ConfigError::new(
                path,
                "auth.cluster_secret_env",
                format!("environment variable `{}` is unset or empty", var.value),
                "export it before starting the node",
            )
            .at(var.referenced.line(), var.referenced.column());
            errors.push(e);
            None
        }
    }
}

fn read_tokens(
    cfg: &Config,
    path: &Path,
    base: &Path,
    errors: &mut Vec<ConfigError>,
) -> TokenTable {
    let mut table = TokenTable::default();
    for (i, t) in cfg.auth.tokens.iter().enumerate() {
        let who = Principal {
            name: t.name.value.clone(),
            role: t.role,
        };
        if let Some(file) = &t.token_file {
            let key = format!("auth.tokens[{i}].token_file");
            if let Some(token) = read_secret_file(path, &key, file, base, errors) {
                table.add_token(who, &token);
            }
        } else if let Some(h) = &t.sha256 {
            table.add_hash(who, &h.value);
        }
    }
    table
}

/// Read a secret file: it must exist, be non-empty and not be readable by others.
fn read_secret_file(
    path: &Path,
    key: &str,
    file: &Spanned<PathBuf>,
    base: &Path,
    errors: &mut Vec<ConfigError>,
) -> Option<String> {
    let full = base.join(&file.value);
    let at = |problem: String, fix: String| {
        ConfigError::new(path, key, problem, fix)
            .at(file.referenced.line(), file.referenced.column())
    };
    let meta = match std::fs::metadata(&full) {
        Ok(m) => m,
        Err(e) => {
            let fix = "create it (mode 0600) or correct the path".to_string();
            errors.push(at(format!("cannot read {}: {e}", full.display()), fix));
            return None;
        }
    };
    if meta.permissions().mode() & 0o007 != 0 {
        let problem = format!("{} is readable or writable by every user", full.display());
        errors.push(at(problem, format!("chmod 600 {}", full.display())));
        return None;
    }
    match std::fs::read_to_string(&full) {
        Ok(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Ok(_) => {
            let fix = "write the secret into it".to_string();
            errors.push(at(format!("{} is empty", full.display()), fix));
            None
        }
        Err(e) => {
            errors.push(at(
                format!("cannot read {}: {e}", full.display()),
                "check it".into(),
            ));
            None
        }
    }
}
