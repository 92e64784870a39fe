//! How Kubernetes API errors read in step messages (what failed, and what to do about
//! it), and which of them are worth trying again.

use ::kube::Error as KubeError;

pub(super) fn status(e: &KubeError) -> Option<u16> {
    match e {
        KubeError::Api(s) => Some(s.code),
        _ => None,
    }
}

/// Worth polling again: throttling, server errors, connection trouble.
pub(super) fn transient(e: &KubeError) -> bool {
    match e {
        KubeError::Api(s) => matches!(s.code, 429 | 500 | 502 | 503 | 504),
        KubeError::HyperError(_) | KubeError::Service(_) => true,
        _ => false,
    }
}

pub(super) fn describe_error(e: &KubeError) -> String {
    match e {
        KubeError::Api(s) => format!("{} {}: {}", s.code, s.reason, s.message),
        other => other.to_string(),
    }
}

/// What to do about an error, when there is something to say.
pub(super) fn hint(e: &KubeError) -> &'static str {
    match status(e) {
        Some(401 | 403) => {
            " (check the credentials and RBAC of the kubeconfig Lifeboat uses for this cluster)"
        }
        Some(409) => {
            " (the object kept changing while Lifeboat wrote it; the step will be retried)"
        }
        Some(400 | 422) => " (the cluster rejected the object or patch: fix it in the runbook)",
        _ if transient(e) => {
            " (the cluster is unreachable or overloaded; the step will be retried)"
        }
        _ => "",
    }
}
