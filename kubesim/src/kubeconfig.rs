//! Writes a kubeconfig that points kubectl and client libraries at this server.

use std::io::Write;
use std::path::Path;

/// The kubeconfig YAML for `server` (e.g. `http://127.0.0.1:7201`) with a bearer `token`.
pub fn render(name: &str, server: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {server}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n    namespace: default\ncurrent-context: {name}\npreferences: {{}}\nusers:\n- name: {name}\n  user:\n    token: {token}\n"
    )
}

/// Write `contents` to `path` atomically (temporary file, then rename), mode 0600.
pub fn write_atomic(path: &Path, contents: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("kubesim"),
        std::process::id()
    ));
    {
        let mut f = std::fs::File::create(&tmp)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_writes() {
        let y = render("c1", "http://127.0.0.1:1234", "tok");
        let v: serde_json::Value = serde_saphyr::from_str(&y).unwrap();
        assert_eq!(
            v["clusters"][0]["cluster"]["server"],
            "http://127.0.0.1:1234"
        );
        assert_eq!(v["users"][0]["user"]["token"], "tok");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kc");
        write_atomic(&p, &y).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), y);
    }
}
