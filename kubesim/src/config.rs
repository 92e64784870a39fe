//! Typed, validated server configuration (built from the command line by `main`).

use crate::faults::FaultConfig;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything `server::start` needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// API listen address (127.0.0.1 only; port 0 picks a free port).
    pub listen: SocketAddr,
    /// Admin listen address; None: API port + 1, or a free port when the API port is 0.
    pub admin_listen: Option<SocketAddr>,
    /// Where to write a kubeconfig for this server.
    pub kubeconfig: Option<PathBuf>,
    /// Where to write `{"server","admin","admin_token_file","pid"}` once listening.
    pub info_file: Option<PathBuf>,
    /// YAML/JSON manifests (files or directories) to create at start.
    pub seed: Vec<PathBuf>,
    /// Directory to persist the store in (loaded at start, flushed every second).
    pub data_dir: Option<PathBuf>,
    /// Admin bearer token (never logged).
    pub admin_token: String,
    /// Where the admin token came from (to tell clients), if from a file.
    pub admin_token_file: Option<PathBuf>,
    /// Bearer token required on API requests, if any (never logged).
    pub api_token: Option<String>,
    /// Delay before workloads report ready.
    pub ready_delay_ms: u64,
    /// Bulk-generate this many ConfigMaps in namespace `bench` at start.
    pub generate: usize,
    /// Initial faults.
    pub faults: FaultConfig,
    /// Watch history length (events).
    pub history: usize,
    /// Cluster/context name in the kubeconfig.
    pub cluster_name: String,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Non-loopback address.
    #[error(
        "{flag} {addr}: only 127.0.0.1 addresses are allowed (kubesim is a test server with no TLS)"
    )]
    NotLoopback {
        /// Which flag.
        flag: &'static str,
        /// The address given.
        addr: SocketAddr,
    },
    /// Bad fault settings.
    #[error("--fault: {0}")]
    Fault(#[from] crate::faults::FaultError),
    /// Empty token.
    #[error("{0}: the token file is empty")]
    EmptyToken(String),
}

impl Config {
    /// A config with defaults for everything but the listen address.
    pub fn new(listen: SocketAddr) -> Self {
        Config {
            listen,
            admin_listen: None,
            kubeconfig: None,
            info_file: None,
            seed: Vec::new(),
            data_dir: None,
            admin_token: crate::object::new_uid(),
            admin_token_file: None,
            api_token: None,
            ready_delay_ms: 1000,
            generate: 0,
            faults: FaultConfig::default(),
            history: crate::store::DEFAULT_HISTORY,
            cluster_name: "kubesim".into(),
        }
    }

    /// Check the settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (flag, addr) in [
            ("--listen", Some(self.listen)),
            ("--admin-listen", self.admin_listen),
        ] {
            if let Some(addr) = addr
                && (!addr.ip().is_loopback() || addr.is_ipv6())
            {
                return Err(ConfigError::NotLoopback { flag, addr });
            }
        }
        if self.admin_token.trim().is_empty() {
            return Err(ConfigError::EmptyToken("--admin-token-file".into()));
        }
        if self
            .api_token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(ConfigError::EmptyToken("--token-file".into()));
        }
        self.faults.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback() {
        assert!(
            Config::new("127.0.0.1:0".parse().unwrap())
                .validate()
                .is_ok()
        );
        let e = Config::new("0.0.0.0:80".parse().unwrap())
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("only 127.0.0.1"));
    }
}
