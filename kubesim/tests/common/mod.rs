//! Shared test harness: start the real `lifeboat-kubesim` binary on a free 127.0.0.1
//! port, wait for `/readyz` (polling with a deadline), and drive it with kubectl,
//! python3, or raw HTTP.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A running kubesim process, killed on drop.
pub struct Sim {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub server: String,
    pub admin: String,
    pub admin_token: String,
    pub kubeconfig: PathBuf,
}

/// Raw HTTP answer.
pub struct Http {
    pub status: u16,
    pub body: String,
}

impl Http {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request with `Connection: close`; `timeout` bounds connect and read.
pub fn http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    timeout: Duration,
) -> std::io::Result<Http> {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect_timeout(&addr.parse().expect("socket address"), timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Ok(Http { status, body })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    for _ in 0..100_000 {
        let Some((size, rest)) = s.split_once("\r\n") else {
            break;
        };
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

impl Sim {
    /// Start with extra command-line arguments; wait until /readyz answers 200.
    pub fn start(extra: &[&str]) -> Sim {
        Self::start_waiting(extra, "/readyz")
    }

    /// Start and wait until `probe` (e.g. /livez) answers 200.
    pub fn start_waiting(extra: &[&str], probe: &str) -> Sim {
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        let info = dir.path().join("info.json");
        let child = Command::new(env!("CARGO_BIN_EXE_lifeboat-kubesim"))
            .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--info-file")
            .arg(&info)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn lifeboat-kubesim");
        let mut sim = Sim {
            child,
            dir,
            server: String::new(),
            admin: String::new(),
            admin_token: String::new(),
            kubeconfig,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = sim.child.try_wait().expect("try_wait") {
                panic!("kubesim exited early: {status}");
            }
            if let Ok(text) = std::fs::read_to_string(&info) {
                let v: serde_json::Value = serde_json::from_str(&text).expect("info JSON");
                sim.server = v["server"].as_str().unwrap().to_string();
                sim.admin = v["admin"].as_str().unwrap().to_string();
                sim.admin_token = match v["admin_token"].as_str() {
                    Some(t) => t.to_string(),
                    None => std::fs::read_to_string(v["admin_token_file"].as_str().unwrap())
                        .unwrap()
                        .trim()
                        .to_string(),
                };
                if sim.get(probe).is_ok_and(|r| r.status == 200) {
                    return sim;
                }
            }
            assert!(
                Instant::now() < deadline,
                "kubesim did not become ready within 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn get(&self, path: &str) -> std::io::Result<Http> {
        http(&self.server, "GET", path, &[], "", Duration::from_secs(10))
    }

    pub fn request(&self, method: &str, path: &str, content_type: &str, body: &str) -> Http {
        http(
            &self.server,
            method,
            path,
            &[("Content-Type", content_type)],
            body,
            Duration::from_secs(10),
        )
        .expect("API request")
    }

    /// Call the admin API with its token.
    pub fn admin(&self, method: &str, path: &str, body: &str) -> Http {
        let auth = format!("Bearer {}", self.admin_token);
        http(
            &self.admin,
            method,
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body,
            Duration::from_secs(10),
        )
        .expect("admin request")
    }

    /// Run kubectl against this server (own discovery cache); returns the output.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        let kubectl = kubectl_path();
        Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("kube-cache"))
            .args(args)
            .env("HOME", self.dir.path())
            .output()
            .expect("run kubectl")
    }

    /// kubectl that must succeed; returns stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Write a file in the test's directory.
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, contents).expect("write file");
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `/usr/bin/kubectl`, or fail loudly: the fidelity suite must not silently skip.
pub fn kubectl_path() -> &'static str {
    let p = "/usr/bin/kubectl";
    assert!(
        Path::new(p).exists(),
        "kubectl is required at {p} for kubesim's fidelity tests (see scripts/deps/kubesim.sh)"
    );
    p
}

/// Poll `f` every 20 ms until it returns Some, for at most `secs` seconds.
pub fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
