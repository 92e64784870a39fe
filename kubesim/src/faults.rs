//! Fault injection, switchable at run time: refuse connections (`down`), accept and
//! never answer (`hang`), added latency, a random error rate (500/503/429), and a
//! failing `/readyz` while the API keeps working.

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::watch;

/// How the listener behaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Serve normally.
    #[default]
    Healthy,
    /// Close the listening socket and every open connection: connections are refused.
    Down,
    /// Accept connections and read requests, but never answer (until the mode changes).
    Hang,
}

/// The fault settings. Every field defaults to healthy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Listener behaviour.
    pub mode: Mode,
    /// Added to every request (milliseconds).
    pub latency_ms: u64,
    /// Fraction (0.0 to 1.0) of API requests answered with `error_code`.
    pub error_rate: f64,
    /// 500, 503 or 429.
    pub error_code: u16,
    /// `/readyz` answers 500 while the API keeps working.
    pub readyz_fail: bool,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            mode: Mode::Healthy,
            latency_ms: 0,
            error_rate: 0.0,
            error_code: 503,
            readyz_fail: false,
        }
    }
}

/// A fault setting that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FaultError {
    /// error_rate outside 0..=1.
    #[error("error_rate must be between 0.0 and 1.0, got {0}")]
    Rate(f64),
    /// error_code not one of 500, 503, 429.
    #[error("error_code must be 500, 503 or 429, got {0}")]
    Code(u16),
    /// latency over an hour.
    #[error("latency_ms must be at most 3600000, got {0}")]
    Latency(u64),
    /// Unparseable `--fault` flag.
    #[error(
        "unknown fault \"{0}\": expected healthy, down, hang, readyz-fail, latency=MS or errors=RATE[:CODE]"
    )]
    Spec(String),
}

impl FaultConfig {
    /// Check ranges.
    pub fn validate(&self) -> Result<(), FaultError> {
        if !(0.0..=1.0).contains(&self.error_rate) || self.error_rate.is_nan() {
            return Err(FaultError::Rate(self.error_rate));
        }
        if ![500, 503, 429].contains(&self.error_code) {
            return Err(FaultError::Code(self.error_code));
        }
        if self.latency_ms > 3_600_000 {
            return Err(FaultError::Latency(self.latency_ms));
        }
        Ok(())
    }

    /// Apply one `--fault` flag: `healthy`, `down`, `hang`, `readyz-fail`,
    /// `latency=MS`, `errors=RATE[:CODE]`.
    pub fn apply_spec(&mut self, spec: &str) -> Result<(), FaultError> {
        let bad = || FaultError::Spec(spec.to_string());
        match spec.split_once('=') {
            None => match spec {
                "healthy" => *self = FaultConfig::default(),
                "down" => self.mode = Mode::Down,
                "hang" => self.mode = Mode::Hang,
                "readyz-fail" => self.readyz_fail = true,
                _ => return Err(bad()),
            },
            Some(("latency", ms)) => self.latency_ms = ms.parse().map_err(|_| bad())?,
            Some(("errors", v)) => {
                let (rate, code) = v.split_once(':').unwrap_or((v, "503"));
                self.error_rate = rate.parse().map_err(|_| bad())?;
                self.error_code = code.parse().map_err(|_| bad())?;
            }
            Some(_) => return Err(bad()),
        }
        self.validate()
    }
}

/// The shared, observable fault state.
#[derive(Debug, Clone)]
pub struct Faults {
    tx: watch::Sender<FaultConfig>,
}

impl Faults {
    /// Start with `initial`.
    pub fn new(initial: FaultConfig) -> Self {
        Faults {
            tx: watch::Sender::new(initial),
        }
    }

    /// Current settings.
    pub fn get(&self) -> FaultConfig {
        self.tx.borrow().clone()
    }

    /// Replace the settings (validated).
    pub fn set(&self, cfg: FaultConfig) -> Result<(), FaultError> {
        cfg.validate()?;
        tracing::info!(?cfg, "faults changed");
        self.tx.send_replace(cfg);
        Ok(())
    }

    /// Observe changes.
    pub fn subscribe(&self) -> watch::Receiver<FaultConfig> {
        self.tx.subscribe()
    }
}

fn is_health_path(p: &str) -> bool {
    ["/healthz", "/livez", "/readyz"]
        .iter()
        .any(|h| p == *h || p.starts_with(&format!("{h}/")))
}

/// Middleware on the API listener: hang, latency, readyz failure, injected errors.
pub async fn layer(State(faults): State<Faults>, req: Request, next: Next) -> Response {
    let mut rx = faults.subscribe();
    if rx.borrow().mode == Mode::Hang {
        // Never answer while hanging; carry on once healed (bounded by the client's patience).
        let _ = rx.wait_for(|c| c.mode != Mode::Hang).await;
    }
    let cfg = faults.get();
    if cfg.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(cfg.latency_ms)).await;
    }
    let path = req.uri().path();
    if cfg.readyz_fail && (path == "/readyz" || path.starts_with("/readyz/")) {
        return (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "[-]kubesim-fault failed: readyz fault injected\nreadyz check failed\n",
        )
            .into_response();
    }
    if cfg.error_rate > 0.0 && !is_health_path(path) && rand::random::<f64>() < cfg.error_rate {
        return ApiError::Injected(cfg.error_code).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_validate() {
        let mut c = FaultConfig::default();
        c.apply_spec("latency=250").unwrap();
        c.apply_spec("errors=0.5:429").unwrap();
        c.apply_spec("readyz-fail").unwrap();
        assert_eq!(
            (c.latency_ms, c.error_rate, c.error_code, c.readyz_fail),
            (250, 0.5, 429, true)
        );
        c.apply_spec("healthy").unwrap();
        assert_eq!(c, FaultConfig::default());
        assert_eq!(c.apply_spec("errors=2"), Err(FaultError::Rate(2.0)));
        let mut c = FaultConfig::default();
        assert_eq!(c.apply_spec("errors=0.1:404"), Err(FaultError::Code(404)));
        assert!(matches!(c.apply_spec("explode"), Err(FaultError::Spec(_))));
    }

    #[test]
    fn json_is_partial_and_strict() {
        let c: FaultConfig = serde_json::from_str(r#"{"mode":"hang"}"#).unwrap();
        assert_eq!(c.mode, Mode::Hang);
        assert_eq!(c.error_code, 503);
        assert!(serde_json::from_str::<FaultConfig>(r#"{"mood":"x"}"#).is_err());
    }
}
