//! The OpenAPI 3.1 document of the HTTP API, generated from the code with `utoipa`.
//!
//! Each handler carries a `#[utoipa::path]` attribute (method, path, parameters, body,
//! every status it can answer); [`ApiDoc`] collects them with the body types of
//! [`schemas`], and [`unsigned`] documents unsigned integers as such. The document is served at `GET /v1/openapi.json` (no token needed),
//! printed by `lifeboat openapi`, and checked in as `docs/openapi.json`; the tests
//! below fail when the checked-in file or the router drift from it.

pub mod schemas;
mod unsigned;

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{clusters, handlers, plugins, probes, runbooks, runs, schedules, snapshots};
use unsigned::UnsignedIntegers;

/// The route serving the document.
pub const PATH: &str = "/v1/openapi.json";

/// The document's root: every path and the schemas they use.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lifeboat API",
        description = "Disaster recovery and failover for fleets of Kubernetes clusters. \
            JSON under `/v1` with a bearer token (roles viewer < operator < admin); every \
            error is `{\"error\": {\"code\", \"message\", \"details\"}}`. Writes sent to a \
            follower are forwarded to the leader (`x-lifeboat-served-by` names the node that \
            answered). Request bodies are JSON objects. Integers are unsigned 64-bit; in a \
            JSON body one may be written with a zero fraction (`5.0`) up to 2^53.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        probes::healthz,
        probes::readyz,
        probes::metrics,
        serve,
        handlers::status,
        handlers::audit,
        clusters::list,
        clusters::show,
        clusters::fence,
        clusters::unfence,
        clusters::events,
        snapshots::list,
        snapshots::take,
        snapshots::show,
        snapshots::delete,
        snapshots::restore,
        snapshots::show_restore,
        schedules::list,
        schedules::put,
        schedules::delete,
        runbooks::list,
        runbooks::show,
        runbooks::put,
        runbooks::delete,
        runs::start,
        runs::list,
        runs::show,
        runs::events,
        runs::approve,
        runs::reject,
        runs::cancel,
        runs::start_drill,
        runs::list_drills,
        runs::show_drill,
        runs::report,
        plugins::list,
        plugins::put,
        handlers::kv_list,
        handlers::kv_get,
        handlers::kv_put,
        handlers::kv_delete,
    ),
    components(responses(
        schemas::BadRequest,
        schemas::Unauthenticated,
        schemas::Forbidden,
        schemas::NotFound,
        schemas::Conflict,
        schemas::PayloadTooLarge,
        schemas::Unprocessable,
        schemas::Unavailable,
    )),
    modifiers(&BearerAuth, &UnsignedIntegers),
    security(("bearer" = [])),
    tags(
        (name = "probes", description = "Health, readiness, metrics and this document; no token."),
        (name = "status", description = "The group as one node sees it, and the audit log."),
        (name = "clusters", description = "Verdicts, votes, fencing, the verdict event stream."),
        (name = "snapshots", description = "Snapshots, captures, restores and schedules."),
        (name = "runbooks", description = "Stored runbooks (linted on the way in)."),
        (name = "runs", description = "Runs and drills: start, watch, approve, cancel, report."),
        (name = "plugins", description = "WebAssembly plugins."),
        (name = "kv", description = "A key/value namespace for tests and benchmarks."),
    )
)]
pub struct ApiDoc;

/// Adds the bearer security scheme every `/v1` route uses.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "A token from the node's config (`tokens:`); the CLI takes --token or \
                 LIFEBOAT_TOKEN.",
            ))
            .build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document, pretty-printed JSON with a final newline (as in `docs/openapi.json`).
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut json = ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises");
        json.push('\n');
        json
    })
}

/// This document (OpenAPI 3.1, JSON).
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "probes",
    operation_id = "openapi",
    security(()),
    responses((status = 200, description = "The OpenAPI document", body = Object))
)]
pub async fn serve() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
        .into_response()
}

#[cfg(test)]
#[path = "openapi_test.rs"]
mod tests;
