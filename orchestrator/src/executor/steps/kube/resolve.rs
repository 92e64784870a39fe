//! Type resolution: [`Types`] turns a step's `apiVersion` + `kind` into the API resource
//! the cluster serves (and whether it is namespaced), by discovery, cached per step.

use std::collections::HashMap;

use ::kube::Error as KubeError;
use ::kube::core::GroupVersionKind;
use ::kube::discovery::{ApiResource, Discovery, Scope, pinned_kind};

use super::errors::{describe_error, hint, transient};
use super::target::Cx;

/// Resolves `apiVersion` + `kind` to a served type (and whether it is namespaced),
/// caching within one step.
pub(super) struct Types<'a> {
    cx: &'a Cx<'a>,
    step: &'static str,
    cache: HashMap<(Option<String>, String), (ApiResource, bool)>,
}

impl<'a> Types<'a> {
    pub(super) fn new(cx: &'a Cx<'a>, step: &'static str) -> Self {
        Types {
            cx,
            step,
            cache: HashMap::new(),
        }
    }

    pub(super) async fn resolve(
        &mut self,
        api_version: Option<&str>,
        kind: &str,
    ) -> Result<(ApiResource, bool), String> {
        let key = (api_version.map(str::to_string), kind.to_string());
        if let Some(hit) = self.cache.get(&key) {
            return Ok(hit.clone());
        }
        let found = match api_version {
            Some(av) => self.pinned(av, kind).await?,
            None => self.by_kind(kind).await?,
        };
        self.cache.insert(key, found.clone());
        Ok(found)
    }

    async fn pinned(&self, api_version: &str, kind: &str) -> Result<(ApiResource, bool), String> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        match pinned_kind(self.cx.client, &GroupVersionKind::gvk(group, version, kind)).await {
            Ok((ar, caps)) => Ok((ar, caps.scope == Scope::Namespaced)),
            Err(e) if transient(&e) => Err(self.unreachable(&e)),
            Err(e) => Err(format!(
                "{}: unknown kind `{kind}` for apiVersion `{api_version}`: not served{} ({}); check the spelling of apiVersion and kind, or install the CRD that defines it",
                self.step,
                self.cx.in_cluster(),
                describe_error(&e)
            )),
        }
    }

    /// Looks `kind` up in the core and `apps` groups first, then in every group.
    async fn by_kind(&self, kind: &str) -> Result<(ApiResource, bool), String> {
        let run = |d: Discovery| async move { d.run().await.map_err(|e| self.unreachable(&e)) };
        let preferred = run(Discovery::new(self.cx.client.clone()).filter(&["", "apps"])).await?;
        for group in ["", "apps"] {
            if let Some((ar, caps)) = preferred.get(group).and_then(|g| g.recommended_kind(kind)) {
                return Ok((ar, caps.scope == Scope::Namespaced));
            }
        }
        let all = run(Discovery::new(self.cx.client.clone())).await?;
        let served: Vec<_> = all
            .groups()
            .flat_map(|g| g.recommended_resources())
            .filter(|(ar, _)| !ar.plural.contains('/'))
            .collect();
        let mut found: Vec<_> = served.iter().filter(|(ar, _)| ar.kind == kind).collect();
        match found.len() {
            1 => {
                let (ar, caps) = found.remove(0);
                Ok((ar.clone(), caps.scope == Scope::Namespaced))
            }
            0 => {
                let near = served
                    .iter()
                    .find(|(ar, _)| ar.kind.eq_ignore_ascii_case(kind))
                    .map(|(ar, _)| format!(" (did you mean `{}`?)", ar.kind))
                    .unwrap_or_default();
                Err(format!(
                    "{}: unknown kind `{kind}`: no API group{} serves it{near}; check the spelling, or install the CRD that defines it",
                    self.step,
                    self.cx.in_cluster()
                ))
            }
            _ => {
                let versions: Vec<&str> = found
                    .iter()
                    .map(|(ar, _)| ar.api_version.as_str())
                    .collect();
                Err(format!(
                    "{}: kind `{kind}` is served by several API groups ({}): set `apiVersion`",
                    self.step,
                    versions.join(", ")
                ))
            }
        }
    }

    fn unreachable(&self, e: &KubeError) -> String {
        format!(
            "{}: API discovery{} failed: {}{}",
            self.step,
            self.cx.in_cluster(),
            describe_error(e),
            hint(e)
        )
    }
}
