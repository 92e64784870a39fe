//! Stored runbooks and linter diagnostics: the bodies of `/v1/runbooks`.

use serde::Serialize;
use utoipa::ToSchema;

/// A stored runbook.
#[derive(Serialize, ToSchema)]
pub struct StoredRunbook {
    /// Its name.
    pub name: String,
    /// `sha256:<hex>` of its YAML.
    pub digest: String,
    /// Leader time of the last change.
    pub updated_at_ms: u64,
    /// Who changed it.
    pub updated_by: String,
}

/// `GET /v1/runbooks`.
#[derive(Serialize, ToSchema)]
pub struct RunbookList {
    /// Every stored runbook.
    pub runbooks: Vec<StoredRunbook>,
}

/// `GET /v1/runbooks/{name}`: metadata and the YAML.
#[derive(Serialize, ToSchema)]
pub struct RunbookDetail {
    /// Metadata.
    #[schema(inline)]
    #[serde(flatten)]
    pub runbook: StoredRunbook,
    /// The YAML as stored.
    pub yaml: String,
}

/// A linter finding (also in `details.diagnostics` of a 422 `invalid`).
#[derive(Serialize, ToSchema)]
pub struct Diagnostic {
    /// `error` or `warning`.
    pub severity: String,
    /// Stable code, e.g. `RB012`.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// The source name.
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// Width of the offending text (absent when 1).
    pub len: Option<u64>,
    /// A short fix hint.
    pub hint: Option<String>,
}

/// `PUT /v1/runbooks/{name}`.
#[derive(Serialize, ToSchema)]
pub struct RunbookStored {
    /// Its name.
    pub name: String,
    /// `sha256:<hex>` of the stored YAML.
    pub digest: String,
    /// The linter's warnings.
    pub warnings: Vec<Diagnostic>,
}

/// `DELETE /v1/runbooks/{name}`.
#[derive(Serialize, ToSchema)]
pub struct RunbookDeleted {
    /// Its name.
    pub name: String,
    /// Always `true`.
    pub deleted: bool,
}
