//! `kube`: get/list/apply/patch through [`crate::KubeAccess`], only inside the step's
//! [`crate::KubeGrant`] (clusters x namespaces x verbs). Anything outside traps as denied.

use serde_json::Value;

use crate::bindings::kube::{Host, ObjectRef as WitRef};
use crate::bindings::types::{HostError, HostErrorKind};
use crate::describe::Capability;
use crate::grants::KubeVerb;
use crate::imports::host_error;
use crate::services::ObjectRef;
use crate::state::{StoreState, until};

fn to_ref(r: WitRef) -> ObjectRef {
    ObjectRef {
        cluster: r.cluster,
        api_version: r.api_version,
        kind: r.kind,
        namespace: r.namespace,
        name: r.name,
    }
}

fn parse(what: &str, text: &str) -> Result<Value, HostError> {
    serde_json::from_str(text)
        .map_err(|e| host_error(HostErrorKind::Invalid, format!("{what} is not JSON: {e}")))
}

impl StoreState {
    /// Trap unless `verb` on `cluster`/`namespace` is granted.
    fn kube_scope(
        &mut self,
        verb: KubeVerb,
        cluster: &str,
        namespace: &str,
    ) -> wasmtime::Result<()> {
        self.require(Capability::Kube)?;
        let grant = self.grants.kube.as_ref().expect("checked by require");
        match grant.refusal(verb, cluster, namespace) {
            None => Ok(()),
            Some(why) => Err(self.deny(Capability::Kube, why)),
        }
    }
}

impl Host for StoreState {
    async fn get(&mut self, target: WitRef) -> wasmtime::Result<Result<Option<String>, HostError>> {
        self.kube_scope(KubeVerb::Get, &target.cluster, &target.namespace)?;
        let (kube, target) = (self.services.kube.clone(), to_ref(target));
        match until(self.deadline, kube.get(&self.call, &target)).await {
            Some(r) => Ok(r.map(|o| o.map(|v| v.to_string())).map_err(Into::into)),
            None => Err(self.deadline_trap()),
        }
    }

    async fn list_objects(
        &mut self,
        target: WitRef,
        label_selector: String,
    ) -> wasmtime::Result<Result<String, HostError>> {
        self.kube_scope(KubeVerb::List, &target.cluster, &target.namespace)?;
        let (kube, target) = (self.services.kube.clone(), to_ref(target));
        match until(
            self.deadline,
            kube.list(&self.call, &target, &label_selector),
        )
        .await
        {
            Some(r) => Ok(r
                .map(|items| Value::Array(items).to_string())
                .map_err(Into::into)),
            None => Err(self.deadline_trap()),
        }
    }

    async fn apply(
        &mut self,
        cluster: String,
        manifest: String,
    ) -> wasmtime::Result<Result<String, HostError>> {
        self.require(Capability::Kube)?;
        let manifest = match parse("manifest", &manifest) {
            Ok(m) => m,
            Err(e) => return Ok(Err(e)),
        };
        // The scope check needs the namespace; a namespaced object must name it.
        let namespace = manifest
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.kube_scope(KubeVerb::Apply, &cluster, &namespace)?;
        let kube = self.services.kube.clone();
        match until(self.deadline, kube.apply(&self.call, &cluster, &manifest)).await {
            Some(r) => Ok(r.map(|v| v.to_string()).map_err(Into::into)),
            None => Err(self.deadline_trap()),
        }
    }

    async fn patch(
        &mut self,
        target: WitRef,
        patch: String,
    ) -> wasmtime::Result<Result<String, HostError>> {
        self.kube_scope(KubeVerb::Patch, &target.cluster, &target.namespace)?;
        let patch = match parse("patch", &patch) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        let (kube, target) = (self.services.kube.clone(), to_ref(target));
        match until(self.deadline, kube.patch(&self.call, &target, &patch)).await {
            Some(r) => Ok(r.map(|v| v.to_string()).map_err(Into::into)),
            None => Err(self.deadline_trap()),
        }
    }
}
