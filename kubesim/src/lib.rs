//! kubesim: a simulated Kubernetes API server (issue 3).
