//! [`store`]: writing a report's three forms to the object store.

use super::DrillReport;

/// Write the report to the object store as `reports/drills/<run id>.md`, `.html` and
/// `.json` (the JSON last, so its presence means the set is complete); returns the JSON
/// key.
///
/// # Errors
/// The object store refused a write (the message names the key).
#[tracing::instrument(skip_all, fields(run_id = %report.run_id))]
pub async fn store(node: &crate::node::Node, report: &DrillReport) -> Result<String, String> {
    use object_store::ObjectStoreExt;
    let base = format!("reports/drills/{}", report.run_id);
    let json = serde_json::to_vec_pretty(report)
        .map_err(|e| format!("drill report of {}: {e}", report.run_id))?;
    let forms = [
        ("md", report.to_markdown().into_bytes()),
        ("html", report.to_html().into_bytes()),
        ("json", json),
    ];
    let store = node.snapshots.store.object_store();
    for (ext, body) in forms {
        let key = format!("{base}.{ext}");
        store
            .put(&object_store::path::Path::from(key.as_str()), body.into())
            .await
            .map_err(|e| format!("writing the drill report to `{key}` in the object store: {e}"))?;
    }
    tracing::info!(key = %format!("{base}.json"), "drill report stored");
    Ok(format!("{base}.json"))
}
