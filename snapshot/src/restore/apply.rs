//! Writing one object to the target cluster under the existing-object policy, or, in a
//! dry run, comparing it with the live object. Transient API errors (429, 5xx,
//! connection) are retried a few times.

use super::diff::{Change, diff};
use super::{ExistingPolicy, Outcome};
use crate::capture::retryable;
use crate::discover::collection_path;
use crate::normalize::normalize;
use kube::Client;
use kube::api::{DeleteParams, PostParams};
use kube::discovery::ApiResource;
use serde_json::Value;
use std::time::{Duration, Instant};

const ATTEMPTS: u32 = 3;

/// Where an object goes in the target.
pub(crate) struct Dest<'a> {
    pub ar: &'a ApiResource,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
}

impl Dest<'_> {
    fn collection(&self) -> String {
        collection_path(
            &self.ar.group,
            &self.ar.version,
            &self.ar.plural,
            self.namespace,
        )
    }
}

fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

fn reason(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} {}: {}", s.code, s.reason, s.message),
        other => other.to_string(),
    }
}

/// Send a request built by `$mk` (re-built per attempt), retrying transient errors.
macro_rules! send {
    ($client:expr, $mk:expr) => {{
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let req = match $mk {
                Ok(r) => r,
                Err(e) => break Err(kube::Error::BuildRequest(e)),
            };
            match $client.request_text(req).await {
                Err(e) if retryable(&e) && attempt < ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(100 * attempt as u64)).await;
                }
                r => break r,
            }
        }
    }};
}

async fn get(client: &Client, dest: &Dest<'_>) -> Result<Option<Value>, kube::Error> {
    let r = send!(
        client,
        kube::core::Request::new(dest.collection()).get(dest.name, &Default::default())
    );
    match r {
        Ok(text) => Ok(Some(
            serde_json::from_str(&text).map_err(kube::Error::SerdeError)?,
        )),
        Err(e) if status_code(&e) == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn create(client: &Client, dest: &Dest<'_>, body: &[u8]) -> Result<(), kube::Error> {
    send!(
        client,
        kube::core::Request::new(dest.collection()).create(&PostParams::default(), body.to_vec())
    )
    .map(|_| ())
}

async fn replace(
    client: &Client,
    dest: &Dest<'_>,
    obj: &Value,
    live: &Value,
) -> Result<(), kube::Error> {
    let mut obj = obj.clone();
    obj["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"].clone();
    let body = serde_json::to_vec(&obj).map_err(kube::Error::SerdeError)?;
    send!(
        client,
        kube::core::Request::new(dest.collection()).replace(
            dest.name,
            &PostParams::default(),
            body.clone()
        )
    )
    .map(|_| ())
}

async fn delete_and_wait(
    client: &Client,
    dest: &Dest<'_>,
    timeout: Duration,
) -> Result<(), String> {
    let r = send!(
        client,
        kube::core::Request::new(dest.collection()).delete(dest.name, &DeleteParams::background())
    );
    match r {
        Ok(_) => {}
        Err(e) if status_code(&e) == Some(404) => {}
        Err(e) => return Err(reason(&e)),
    }
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match get(client, dest).await {
            Ok(None) => return Ok(()),
            Ok(Some(_)) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => return Err(reason(&e)),
        }
    }
    Err(format!(
        "still present {} s after delete (finalizers?)",
        timeout.as_secs()
    ))
}

/// Compare with the live object: the outcome a real restore would have, and the diff.
pub(crate) async fn dry_run(
    client: &Client,
    dest: &Dest<'_>,
    obj: &Value,
    policy: ExistingPolicy,
) -> (Outcome, Option<String>, Vec<Change>) {
    match get(client, dest).await {
        Ok(None) => (Outcome::WouldCreate, None, vec![]),
        Ok(Some(mut live)) => {
            normalize(&dest.ar.group, &dest.ar.kind, &mut live, false);
            if let Some(o) = live.as_object_mut() {
                o.insert("apiVersion".into(), obj["apiVersion"].clone());
                o.insert("kind".into(), obj["kind"].clone());
            }
            let changes = diff(&live, obj);
            if changes.is_empty() {
                return (Outcome::Unchanged, None, changes);
            }
            let outcome = match policy {
                ExistingPolicy::Skip => Outcome::WouldSkip,
                ExistingPolicy::Update => Outcome::WouldUpdate,
                ExistingPolicy::Recreate => Outcome::WouldRecreate,
            };
            (
                outcome,
                Some("exists in the target and differs".into()),
                changes,
            )
        }
        Err(e) => (Outcome::Failed, Some(reason(&e)), vec![]),
    }
}

/// Write one object under `policy`.
pub(crate) async fn apply(
    client: &Client,
    dest: &Dest<'_>,
    obj: &Value,
    policy: ExistingPolicy,
    delete_timeout: Duration,
) -> (Outcome, Option<String>) {
    let body = match serde_json::to_vec(obj) {
        Ok(b) => b,
        Err(e) => return (Outcome::Failed, Some(e.to_string())),
    };
    match create(client, dest, &body).await {
        Ok(()) => return (Outcome::Created, None),
        Err(e) if status_code(&e) == Some(409) => {}
        Err(e) => return (Outcome::Failed, Some(reason(&e))),
    }
    match policy {
        ExistingPolicy::Skip => (
            Outcome::Skipped,
            Some("already exists in the target (policy skip)".into()),
        ),
        ExistingPolicy::Update => {
            for _ in 0..3 {
                let live = match get(client, dest).await {
                    Ok(Some(l)) => l,
                    Ok(None) => match create(client, dest, &body).await {
                        Ok(()) => return (Outcome::Created, None),
                        Err(e) => return (Outcome::Failed, Some(reason(&e))),
                    },
                    Err(e) => return (Outcome::Failed, Some(reason(&e))),
                };
                match replace(client, dest, obj, &live).await {
                    Ok(()) => return (Outcome::Updated, None),
                    Err(e) if status_code(&e) == Some(409) => continue,
                    Err(e) => return (Outcome::Failed, Some(reason(&e))),
                }
            }
            (
                Outcome::Failed,
                Some("update kept conflicting with concurrent writers".into()),
            )
        }
        ExistingPolicy::Recreate => {
            if let Err(r) = delete_and_wait(client, dest, delete_timeout).await {
                return (Outcome::Failed, Some(r));
            }
            match create(client, dest, &body).await {
                Ok(()) => (Outcome::Recreated, None),
                Err(e) => (Outcome::Failed, Some(reason(&e))),
            }
        }
    }
}

/// Fetch a CRD and tell whether it is Established.
pub(crate) async fn crd_established(client: &Client, name: &str) -> bool {
    let path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    let r = send!(
        client,
        kube::core::Request::new(path).get(name, &Default::default())
    );
    let Ok(text) = r else { return false };
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return false;
    };
    v["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
    })
}
