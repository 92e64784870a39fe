//! Human output of `lifeboat plugin list`.

use serde_json::Value;

use super::table::{Paint, Table, bytes, text};

/// Registered plugins: name, version, capabilities, size, short digest (`-o json` has
/// the whole one).
pub fn render_list(v: &Value, paint: Paint) -> String {
    let mut t = Table::new(&["NAME", "VERSION", "CAPABILITIES", "SIZE", "DIGEST"])
        .right(&[3])
        .keep(&[0, 4]);
    for p in v["plugins"].as_array().into_iter().flatten() {
        let caps: Vec<&str> = p["capabilities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        t.row(vec![
            text(&p["name"]).into(),
            text(&p["version"]).into(),
            if caps.is_empty() {
                "-".into()
            } else {
                caps.join(",").into()
            },
            p["size"].as_u64().map_or_else(|| "-".into(), bytes).into(),
            text(&p["digest"])
                .chars()
                .take(19)
                .collect::<String>()
                .into(),
        ]);
    }
    if t.is_empty() {
        return "no plugins registered: add one with `lifeboat plugin push FILE.wasm`\n".into();
    }
    t.render(paint)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cli::table::{MAX_WIDTH, width};

    #[test]
    fn list_fits_with_a_full_digest() {
        let v = json!({"plugins": [{"name": "dns-switch", "version": "1.2.0",
            "capabilities": ["http", "kv", "log"], "size": 40_960,
            "digest": format!("sha256:{}", "ab".repeat(32))}]});
        let out = render_list(&v, Paint::OFF);
        for line in out.lines() {
            assert!(width(line) <= MAX_WIDTH, "{line}");
        }
        assert!(
            out.contains("dns-switch  1.2.0    http,kv,log   40.0 KiB  sha256:abababababab\n"),
            "{out}"
        );
        assert_eq!(
            render_list(&json!({"plugins": []}), Paint::OFF)
                .lines()
                .count(),
            1
        );
    }
}
