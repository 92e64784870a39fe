//! Documentation types: the shapes of the API's JSON bodies as the OpenAPI document
//! describes them.
//!
//! Handlers build most answers with `json!` from catalog records; these types mirror
//! those answers field by field (names, JSON types, nullability) and are never
//! serialised by a handler. A field is required here only when every answer carries
//! it; `Option` fields may be absent or `null`. The schemathesis fuzz test
//! (`chaos-tests/tests/openapi_fuzz.rs`) checks real answers against them, so a handler
//! that changes its answer must change its type here too.
//!
//! One file per API area; every type is re-exported here, so `schemas::Foo` names it
//! whichever file holds it. The file a type lives in does not show in the document:
//! schemas are named by the type alone.

#![allow(dead_code)] // Never built: these types exist for their schemas.

mod clusters;
mod errors;
mod kv;
mod plugins;
mod probes;
mod reports;
mod restores;
mod runbooks;
mod runs;
mod schedules;
mod snapshots;
mod status;

pub use clusters::*;
pub use errors::*;
pub use kv::*;
pub use plugins::*;
pub use probes::*;
pub use reports::*;
pub use restores::*;
pub use runbooks::*;
pub use runs::*;
pub use schedules::*;
pub use snapshots::*;
pub use status::*;
