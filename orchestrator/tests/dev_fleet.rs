//! `lifeboat dev` as a newcomer runs it: the fleet comes up, `lifeboat status` answers
//! (text and JSON), the simulated cluster is registered through Raft, and Ctrl-C leaves
//! no process behind.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_lifeboat");

/// A port base whose 200 ports are free right now, below Linux's ephemeral range
/// (32768-60999) so that no connection made meanwhile takes one of them.
fn free_port_base() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    for attempt in 0..50u64 {
        let base = 20_000 + (RandomState::new().hash_one(attempt) % 59) as u16 * 200;
        let all_free =
            (base..base + 200).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no free block of 200 ports in 20000-32000");
}

fn alive(pid: i32) -> bool {
    // Signal 0 checks existence; a zombie would still count, so the parent reaps.
    kill(Pid::from_raw(pid), None).is_ok()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn dev_fleet_starts_answers_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let fleet_dir = dir.path().join("fleet");
    let base = free_port_base();
    let mut dev = Command::new(BIN)
        .args([
            "dev",
            "--clusters",
            "1",
            "--port-base",
            &base.to_string(),
            "--dir",
        ])
        .arg(&fleet_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let dev_json = fleet_dir.join("dev.json");
    wait_for("dev.json", Duration::from_secs(90), || {
        dev_json.exists() || dev.try_wait().unwrap().is_some()
    });
    assert!(
        dev.try_wait().unwrap().is_none(),
        "lifeboat dev exited early"
    );
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dev_json).unwrap()).unwrap();
    assert_eq!(info["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(info["clusters"][0]["name"], "eu-west");
    let token = std::fs::read_to_string(fleet_dir.join("admin.token")).unwrap();
    assert_eq!(info["admin_token"], token.trim());

    let status = |server: &str, json: bool| {
        let mut c = Command::new(BIN);
        c.args(["status", "--server", server, "--token", token.trim()]);
        if json {
            c.args(["-o", "json"]);
        }
        c.output().unwrap()
    };
    let api = info["nodes"][1]["api"].as_str().unwrap();
    // The cluster is registered by the leader shortly after election.
    wait_for("eu-west registered", Duration::from_secs(30), || {
        let out = status(api, true);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v["clusters"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["name"] == "eu-west"))
    });
    let text = status(api, false);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("leader") && text.contains("eu-west") && text.contains("voter"),
        "{text}"
    );
    // Every simulated cluster is captured on a schedule.
    let sched = Command::new(BIN)
        .args([
            "snapshot",
            "schedules",
            "-o",
            "json",
            "--server",
            api,
            "--token",
            token.trim(),
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&sched.stdout).unwrap_or_default();
    assert_eq!(v["schedules"][0]["id"], "eu-west#0", "{v}");
    // The example runbooks are loaded: a drill can be started right away (after a
    // snapshot of the seeded application exists).
    let cli = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .args(["--server", api, "--token", token.trim()])
            .output()
            .unwrap()
    };
    assert!(cli(&["snapshot", "take", "eu-west"]).status.success());
    wait_for("a snapshot of eu-west", Duration::from_secs(60), || {
        let out = cli(&["snapshot", "list", "-o", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v["snapshots"].as_array().is_some_and(|s| !s.is_empty())
    });
    let drill = cli(&["drill", "start", "drill-eu-west", "--wait"]);
    let out = String::from_utf8_lossy(&drill.stdout);
    assert!(
        drill.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&drill.stderr)
    );
    assert!(out.contains("RTO") && out.contains("met"), "{out}");
    // Chaos from the command line: the killed cluster is seen failing by the quorum.
    let dev_cmd = |args: &[&str]| {
        Command::new(BIN)
            .arg("dev")
            .arg("--dir")
            .arg(&fleet_dir)
            .args(args)
            .output()
            .unwrap()
    };
    let killed = dev_cmd(&["kill-cluster", "eu-west"]);
    assert!(
        killed.status.success(),
        "{}",
        String::from_utf8_lossy(&killed.stderr)
    );
    wait_for(
        "eu-west suspected after kill-cluster",
        Duration::from_secs(30),
        || {
            let out = Command::new(BIN)
                .args([
                    "cluster",
                    "show",
                    "eu-west",
                    "-o",
                    "json",
                    "--server",
                    api,
                    "--token",
                    token.trim(),
                ])
                .output()
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            v["verdict"] == "Suspect" || v["verdict"] == "Lost"
        },
    );
    assert!(dev_cmd(&["revive-cluster", "eu-west"]).status.success());
    let unknown = dev_cmd(&["kill-cluster", "atlantis"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no cluster `atlantis`"));
    // A wrong token is a clear error and exit code 1.
    let bad = Command::new(BIN)
        .args(["status", "--server", api, "--token", "nope"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("401"));

    let pids: Vec<i32> = info["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .chain(info["clusters"].as_array().unwrap())
        .map(|p| p["pid"].as_i64().unwrap() as i32)
        .collect();
    assert!(pids.iter().all(|p| alive(*p)));
    kill(Pid::from_raw(dev.id() as i32), Signal::SIGINT).unwrap();
    let status = dev.wait().unwrap();
    assert!(status.success(), "dev exited with {status}");
    for pid in pids {
        assert!(!alive(pid), "child {pid} survived Ctrl-C");
    }
    assert!(
        Path::new(&fleet_dir.join("node-1")).exists(),
        "state kept for a resume"
    );
}
