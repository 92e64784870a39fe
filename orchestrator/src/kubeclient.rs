//! Building a `kube::Client` for a configured cluster from its kubeconfig (and context),
//! exactly as for any real cluster. Used by the prober and by snapshots.

use std::path::Path;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// A client for the cluster behind `kubeconfig` / `context`. `timeout` bounds connect,
/// read and write when given. Errors name the file and say what is wrong with it.
pub async fn client_for(
    kubeconfig: &Path,
    context: Option<&str>,
    timeout: Option<Duration>,
) -> Result<kube::Client, String> {
    let where_ = kubeconfig.display();
    let kc = Kubeconfig::read_from(kubeconfig).map_err(|e| format!("kubeconfig {where_}: {e}"))?;
    let opts = KubeConfigOptions {
        context: context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kc, &opts)
        .await
        .map_err(|e| format!("kubeconfig {where_} (context {context:?}): {e}"))?;
    if let Some(t) = timeout {
        config.connect_timeout = Some(t);
        config.read_timeout = Some(t);
        config.write_timeout = Some(t);
    }
    kube::Client::try_from(config).map_err(|e| format!("kube client from {where_}: {e}"))
}
