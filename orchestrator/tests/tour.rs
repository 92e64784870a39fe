//! The README's first tour, end to end, through the CLI only, as a newcomer runs it:
//! `lifeboat dev` comes up; with the environment its welcome prints, a snapshot is
//! taken, a cluster killed with `lifeboat dev kill-cluster` fails over automatically
//! (`lifeboat run watch` shows every step), a drill reports its RTO and RPO met, a node
//! is killed and restarted, and `lifeboat dev stop` leaves no process behind.
//!
//! Prints the tour's wall time, from `lifeboat dev` to the drill report: the README's
//! quickstart time.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_lifeboat");
/// Bound of every wait for the fleet (start, a verdict, a run).
const LONG: Duration = Duration::from_secs(120);

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

/// Alive and not a zombie.
fn alive(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_ok()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

/// Poll `f` every 200 ms until it gives a value; panic after `limit`.
fn poll<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Run a command to its end, killed (and the test failed) after `limit`.
fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lifeboat");
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("lifeboat output"),
        Err(_) => {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            panic!("{cmd:?} did not finish within {limit:?}");
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `lifeboat dev`, stopped (SIGINT, then SIGKILL) if the test ends before it did.
struct Dev(std::process::Child);

impl Drop for Dev {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = kill(Pid::from_raw(self.0.id() as i32), Signal::SIGINT);
            let deadline = Instant::now() + Duration::from_secs(20);
            while matches!(self.0.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The CLI with the environment the welcome message says to export.
struct Cli {
    server: String,
    token: String,
    dev_dir: String,
}

impl Cli {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("LIFEBOAT_SERVER", &self.server)
            .env("LIFEBOAT_TOKEN", &self.token)
            .env("LIFEBOAT_DEV_DIR", &self.dev_dir);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        output_within(&mut self.command(args), LONG)
    }

    /// Run a command that must succeed; its stdout and stderr.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "lifeboat {args:?}: {}\n{}",
            text(&out),
            self.log_tails()
        );
        text(&out)
    }

    /// The last lines of every log in the dev dir (nodes, clusters), for a failure.
    fn log_tails(&self) -> String {
        let mut logs: Vec<_> = std::fs::read_dir(&self.dev_dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        logs.sort();
        let mut out = String::new();
        for log in logs {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(25)..];
            out.push_str(&format!(
                "--- {} (last lines)\n{}\n",
                log.display(),
                tail.join("\n")
            ));
        }
        out
    }

    /// A read command's `-o json` answer (null when it failed).
    fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.extend(["-o", "json"]);
        let out = self.run(&args);
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pid_of(v: &Value) -> i32 {
    v["pid"].as_i64().expect("a pid") as i32
}

/// Every child pid that dev.json lists.
fn child_pids(dev: &Value) -> Vec<i32> {
    ["nodes", "clusters"]
        .iter()
        .flat_map(|k| dev[*k].as_array().unwrap().iter().map(pid_of))
        .collect()
}

#[test]
fn the_readme_tour_from_dev_to_dev_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let fleet_dir = tmp.path().join("fleet");
    let base = free_port_base();
    let started = Instant::now();
    let welcome = tmp.path().join("dev.out");
    let errors = tmp.path().join("dev.err");
    let dev = Command::new(BIN)
        .args(["dev", "--port-base", &base.to_string(), "--dir"])
        .arg(&fleet_dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&welcome).unwrap())
        .stderr(std::fs::File::create(&errors).unwrap())
        .spawn()
        .unwrap();
    let mut dev = Dev(dev);
    let dev_json = fleet_dir.join("dev.json");
    poll("dev.json (the fleet up)", LONG, || {
        if let Ok(Some(status)) = dev.0.try_wait() {
            let err = std::fs::read_to_string(&errors).unwrap_or_default();
            panic!("lifeboat dev exited ({status}): {err}");
        }
        dev_json.exists().then_some(())
    });
    let info = read_json(&dev_json);
    let said = poll("the welcome message", LONG, || {
        let s = std::fs::read_to_string(&welcome).unwrap_or_default();
        s.contains("stops every process").then_some(s)
    });
    for next in [
        "export LIFEBOAT_SERVER=",
        "lifeboat status",
        "lifeboat snapshot list",
        "lifeboat drill start drill-eu-west --wait",
        "lifeboat dev kill-cluster eu-west",
        "lifeboat run watch",
    ] {
        assert!(said.contains(next), "welcome lacks `{next}`:\n{said}");
    }
    let cli = Cli {
        server: info["nodes"][0]["api"].as_str().unwrap().to_string(),
        token: std::fs::read_to_string(fleet_dir.join("admin.token"))
            .unwrap()
            .trim()
            .to_string(),
        dev_dir: fleet_dir.display().to_string(),
    };
    assert!(said.contains(&format!("LIFEBOAT_SERVER={}", cli.server)));

    // Status, then a snapshot of the clusters the failover and the drill restore.
    cli.ok(&["status"]);
    for c in ["eu-west", "us-east"] {
        cli.ok(&["snapshot", "take", c]);
    }
    poll("snapshots of eu-west and us-east", LONG, || {
        let v = cli.json(&["snapshot", "list"]);
        let has = |c: &str| {
            v["snapshots"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["cluster"] == c))
        };
        (has("eu-west") && has("us-east")).then_some(())
    });
    poll("eu-west Healthy", LONG, || {
        (cli.json(&["cluster", "show", "eu-west"])["verdict"] == "Healthy").then_some(())
    });

    // Kill eu-west: the quorum declares it Lost and its failover runbook runs.
    let said = cli.ok(&["dev", "kill-cluster", "eu-west"]);
    assert!(said.contains("run list"), "{said}");
    let run = poll("the automatic failover run", LONG, || {
        let v = cli.json(&["run", "list"]);
        v["runs"].as_array()?.iter().find_map(|r| {
            let automatic = r["runbook"] == "failover-eu-west"
                && r["trigger"]["type"] == "cluster_lost"
                && r["trigger"]["cluster"] == "eu-west";
            automatic.then(|| r["id"].as_str().unwrap().to_string())
        })
    });
    let watched = cli.ok(&["run", "watch", &run]);
    for step in ["fence", "restore", "scale", "ready", "traffic", "notify"] {
        assert!(
            watched
                .lines()
                .any(|l| l.contains(step) && l.contains("succeeded")),
            "`run watch` shows no successful `{step}`:\n{watched}"
        );
    }
    assert!(
        watched.contains(&format!("run {run} is succeeded")),
        "{watched}"
    );

    // A drill, with its report.
    let report = cli.ok(&["drill", "start", "drill-us-east", "--wait"]);
    let row = |name: &str| {
        report
            .lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("no {name} row in the report:\n{report}"))
            .to_string()
    };
    assert!(row("RTO").ends_with("met |"), "{report}");
    assert!(row("RPO").ends_with("met |"), "{report}");
    assert!(row("Objectives met").contains("yes"), "{report}");
    eprintln!(
        "quickstart tour: `lifeboat dev` to the drill report in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Chaos on the orchestrator itself: kill node 1, the others answer; restart it.
    let old_pid = pid_of(&info["nodes"][0]);
    let node2 = info["nodes"][1]["api"].as_str().unwrap();
    let said = cli.ok(&["dev", "kill-node", "1"]);
    assert!(said.contains("restart-node 1"), "{said}");
    poll("node 1 gone", LONG, || (!alive(old_pid)).then_some(()));
    poll("a leader among nodes 2 and 3", LONG, || {
        let v = cli.json(&["status", "--server", node2]);
        let leader = v["leader"]["id"].as_u64()?;
        (leader != 1).then_some(())
    });
    let unknown = cli.run(&["dev", "kill-node", "7"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown).contains("no node 7"), "{}", text(&unknown));
    let said = cli.ok(&["dev", "restart-node", "1"]);
    assert!(said.contains("ready"), "{said}");
    let info = read_json(&dev_json);
    let new_pid = pid_of(&info["nodes"][0]);
    assert!(new_pid != old_pid && alive(new_pid), "dev.json: {info}");
    poll("node 1 answers status", LONG, || {
        let v = cli.json(&["status"]);
        (v["node_id"] == 1 && v["leader"]["id"].is_u64()).then_some(())
    });

    // Stop: the parent stops every child and exits; nothing survives.
    let mut pids = child_pids(&info);
    pids.push(old_pid);
    assert!(child_pids(&info).iter().all(|p| alive(*p)));
    let said = cli.ok(&["dev", "stop", "--dir", &cli.dev_dir]);
    assert!(said.contains("stopped"), "{said}");
    let status = poll("lifeboat dev to exit", LONG, || dev.0.try_wait().unwrap());
    assert!(status.success(), "lifeboat dev exited with {status}");
    let survivors: Vec<i32> = pids.into_iter().filter(|p| alive(*p)).collect();
    assert!(survivors.is_empty(), "survived `dev stop`: {survivors:?}");
    let again = cli.run(&["dev", "stop", "--dir", &cli.dev_dir]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again).contains("no fleet is running"),
        "{}",
        text(&again)
    );
}
