//! [`Target`], the one object a write is about (type, namespace, name), and [`Cx`], the
//! client of the step's cluster with the cluster's name for messages.

use ::kube::api::{Api, DynamicObject};
use ::kube::discovery::ApiResource;
use ::kube::{Client, Error as KubeError};

use super::errors::{describe_error, hint};

/// The client, and the cluster name for messages (empty when unknown).
pub(super) struct Cx<'a> {
    pub(super) client: &'a Client,
    cluster: &'a str,
}

impl<'a> Cx<'a> {
    pub(super) fn new(client: &'a Client, cluster: &'a str) -> Self {
        Cx { client, cluster }
    }

    pub(super) fn in_cluster(&self) -> String {
        if self.cluster.is_empty() {
            String::new()
        } else {
            format!(" in cluster `{}`", self.cluster)
        }
    }

    pub(super) fn failed(&self, doing: &str, target: &Target, e: &KubeError) -> String {
        format!(
            "{doing} {}{} failed: {}{}",
            target.describe(),
            self.in_cluster(),
            describe_error(e),
            hint(e)
        )
    }
}

/// One object: its type, namespace (None when cluster-scoped) and name.
pub(super) struct Target {
    ar: ApiResource,
    namespace: Option<String>,
    pub(super) name: String,
}

impl Target {
    pub(super) fn new(ar: ApiResource, namespace: Option<&str>, name: &str) -> Self {
        Target {
            ar,
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }

    pub(super) fn api(&self, client: &Client) -> Api<DynamicObject> {
        match &self.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &self.ar),
            None => Api::all_with(client.clone(), &self.ar),
        }
    }

    /// `Deployment shop/api`, `Namespace shop`.
    pub(super) fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.ar.kind, self.name),
            None => format!("{} {}", self.ar.kind, self.name),
        }
    }

    /// `Deployment/shop/api`, `Namespace/shop`.
    pub(super) fn key(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{ns}/{}", self.ar.kind, self.name),
            None => format!("{}/{}", self.ar.kind, self.name),
        }
    }
}
