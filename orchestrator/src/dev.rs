//! Generating a local fleet's files: secrets, tokens and node configs.
//!
//! Used by `lifeboat dev` and by the chaos-test harness, so both run nodes from configs
//! written the same way a user would write them.

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rand::Rng;

/// How one node reaches one peer.
#[derive(Debug, Clone)]
pub struct PeerSpec {
    /// The peer's id.
    pub id: u64,
    /// Its API base URL.
    pub api: String,
    /// Its Raft base URL.
    pub raft: String,
    /// Reach its API through this URL instead (e.g. a fault-injecting proxy).
    pub api_via: Option<String>,
    /// Reach its Raft endpoint through this URL instead.
    pub raft_via: Option<String>,
}

/// Everything that goes into one node's config file.
#[derive(Debug, Clone)]
pub struct NodeConfigSpec {
    /// Node id.
    pub id: u64,
    /// Data directory.
    pub data_dir: PathBuf,
    /// API listen address.
    pub listen_api: SocketAddr,
    /// Raft listen address.
    pub listen_raft: SocketAddr,
    /// Every voter, as this node reaches it.
    pub peers: Vec<PeerSpec>,
    /// File with the node-to-node secret.
    pub secret_file: PathBuf,
    /// Token files: (name, role, path).
    pub tokens: Vec<(String, String, PathBuf)>,
    /// Object store URL.
    pub store_url: String,
    /// Clusters: (name, kubeconfig path).
    pub clusters: Vec<(String, PathBuf)>,
    /// Extra YAML appended verbatim (e.g. a `raft:` tuning section).
    pub extra_yaml: String,
}

/// A random URL-safe secret of 32 bytes (hex).
pub fn random_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

/// Write `contents` to `path` with mode 0600 (created or truncated).
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}

/// Read the secret at `path`, creating it (0600, random) when missing.
pub fn ensure_secret(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => {
            let s = random_secret();
            write_private(path, &s)?;
            Ok(s)
        }
    }
}

/// Render a node's config file as commented YAML.
pub fn render_node_config(spec: &NodeConfigSpec) -> String {
    let mut y = format!(
        "# Lifeboat node {id} (generated). Reference: docs/config.md\n\
         node:\n  id: {id}\n  data_dir: {data}\n\
         listen:\n  api: {api}\n  raft: {raft}\n\
         peers:\n",
        id = spec.id,
        data = spec.data_dir.display(),
        api = spec.listen_api,
        raft = spec.listen_raft,
    );
    for p in &spec.peers {
        y.push_str(&format!(
            "  - id: {}\n    api: {}\n    raft: {}\n",
            p.id, p.api, p.raft
        ));
        if let Some(v) = &p.api_via {
            y.push_str(&format!("    api_via: {v}\n"));
        }
        if let Some(v) = &p.raft_via {
            y.push_str(&format!("    raft_via: {v}\n"));
        }
    }
    y.push_str(&format!(
        "auth:\n  cluster_secret_file: {}\n  tokens:\n",
        spec.secret_file.display()
    ));
    for (name, role, file) in &spec.tokens {
        y.push_str(&format!(
            "    - name: {name}\n      role: {role}\n      token_file: {}\n",
            file.display()
        ));
    }
    if spec.clusters.is_empty() {
        y.push_str("clusters: []\n");
    } else {
        y.push_str("clusters:\n");
        for (name, kc) in &spec.clusters {
            y.push_str(&format!(
                "  - name: {name}\n    kubeconfig: {}\n",
                kc.display()
            ));
        }
    }
    y.push_str(&format!("store:\n  url: {}\n", spec.store_url));
    y.push_str(&spec.extra_yaml);
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_config_loads_and_validates() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("cluster.secret");
        let token = dir.path().join("admin.token");
        ensure_secret(&secret).unwrap();
        ensure_secret(&token).unwrap();
        let peers: Vec<PeerSpec> = (1..=3)
            .map(|i| PeerSpec {
                id: i,
                api: format!("http://127.0.0.1:{}", 7100 + i),
                raft: format!("http://127.0.0.1:{}", 7110 + i),
                api_via: None,
                raft_via: (i == 3).then(|| "http://127.0.0.1:9999".to_string()),
            })
            .collect();
        let spec = NodeConfigSpec {
            id: 2,
            data_dir: dir.path().join("node-2"),
            listen_api: "127.0.0.1:7102".parse().unwrap(),
            listen_raft: "127.0.0.1:7112".parse().unwrap(),
            peers,
            secret_file: secret,
            tokens: vec![("admin".into(), "admin".into(), token)],
            store_url: format!("file://{}", dir.path().join("store").display()),
            clusters: vec![("eu-west".into(), dir.path().join("eu-west.kubeconfig"))],
            extra_yaml: "raft:\n  heartbeat_ms: 100\n".into(),
        };
        let path = dir.path().join("node-2.yaml");
        std::fs::write(&path, render_node_config(&spec)).unwrap();
        let cfg = crate::config::load(&path).unwrap();
        assert_eq!(cfg.node_id, 2);
        assert_eq!(cfg.peers.len(), 3);
        assert_eq!(cfg.raft.heartbeat_ms, 100);
        assert_eq!(cfg.tokens.len(), 1);
        assert_eq!(cfg.clusters[0].name.value, "eu-west");
        assert_eq!(cfg.peers[&3].raft_route, "http://127.0.0.1:9999");
        assert_eq!(cfg.peers[&3].raft, "http://127.0.0.1:7113");
        assert_eq!(cfg.peers[&2].raft_route, cfg.peers[&2].raft);
    }

    #[test]
    fn ensure_secret_keeps_an_existing_secret_and_writes_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let first = ensure_secret(&p).unwrap();
        assert_eq!(ensure_secret(&p).unwrap(), first);
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
