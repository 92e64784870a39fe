//! Progress of a capture or restore while the CLI waits for it (`--wait`): the job's
//! record is polled and its progress (objects done / discovered, per resource type)
//! drawn on stderr, as one `\r`-redrawn bar on a terminal or as a plain line every few
//! seconds otherwise.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::table::{bytes, fit};
use crate::client::{ApiClient, ClientError};
use crate::executor::report::human_ms;

/// Width of the bar itself, in cells.
const BAR: usize = 20;
/// The whole progress line stays below this (a full-width line wraps on some terminals).
const LINE: usize = 99;
/// Plain lines: none before this (a quick job prints only its summary)...
const PLAIN_FIRST: Duration = Duration::from_secs(1);
/// ...then at most one per this interval while something changes...
const PLAIN_EVERY: Duration = Duration::from_secs(2);
/// ...and one per this interval when nothing does (so a log shows the job is alive).
const PLAIN_ALIVE: Duration = Duration::from_secs(15);
/// Polling interval.
const POLL: Duration = Duration::from_millis(300);
/// Consecutive failed polls tolerated (a leader change takes a few seconds).
const MAX_POLL_FAILURES: u32 = 30;

/// Draws the progress of one job on stderr.
#[derive(Debug)]
pub struct Reporter {
    tty: bool,
    drawn: bool,
    last_plain: Option<(String, Duration)>,
}

impl Reporter {
    /// A reporter for a terminal (`tty`: a redrawn bar) or a log (plain lines).
    #[must_use]
    pub fn new(tty: bool) -> Reporter {
        Reporter {
            tty,
            drawn: false,
            last_plain: None,
        }
    }

    /// What to write on stderr after a poll (`progress` is the record's `progress`,
    /// null before the job reports any), if anything.
    pub fn update(&mut self, label: &str, progress: &Value, elapsed: Duration) -> Option<String> {
        if self.tty {
            self.drawn = true;
            return Some(format!("\r\x1b[2K{}", bar_line(label, progress, elapsed)));
        }
        let key = summary(progress);
        let due = match &self.last_plain {
            None => elapsed >= PLAIN_FIRST,
            Some((last, at)) => {
                let since = elapsed.saturating_sub(*at);
                (*last != key && since >= PLAIN_EVERY) || since >= PLAIN_ALIVE
            }
        };
        if !due {
            return None;
        }
        self.last_plain = Some((key, elapsed));
        Some(format!("{}\n", plain_line(label, progress, elapsed)))
    }

    /// What to write when the job ended: the bar is cleared (the summary follows).
    pub fn finish(&mut self) -> Option<String> {
        std::mem::take(&mut self.drawn).then(|| "\r\x1b[2K".to_string())
    }
}

/// `[██████░░░░]  30%  312/1040  configmaps 12/40  1.2 MiB  4.1s`, fitted in one line.
#[must_use]
pub fn bar_line(label: &str, p: &Value, elapsed: Duration) -> String {
    let (done, discovered) = counts(p);
    let filled = share(done, discovered, BAR as u64).map_or(0, |f| f as usize);
    let bar = format!("{}{}", "█".repeat(filled), "░".repeat(BAR - filled));
    let mut parts = vec![label.to_string(), phase(p), format!("[{bar}]")];
    if let Some(pct) = share(done, discovered, 100) {
        parts.push(format!("{pct:>3}%"));
        parts.push(format!("{done}/{discovered}"));
    }
    parts.extend(details(p));
    parts.push(human_ms(millis(elapsed)));
    fit(&parts.join("  "), LINE)
}

/// `capture eu-west: capturing 312/1040 objects (30%), configmaps 12/40, 1.2 MiB, 4.1s`.
#[must_use]
pub fn plain_line(label: &str, p: &Value, elapsed: Duration) -> String {
    format!("{label}: {}, {}", summary(p), human_ms(millis(elapsed)))
}

/// The progress without the time: what a plain line says.
fn summary(p: &Value) -> String {
    let (done, discovered) = counts(p);
    let mut parts = vec![match share(done, discovered, 100) {
        None => phase(p),
        Some(pct) => format!("{} {done}/{discovered} objects ({pct}%)", phase(p)),
    }];
    parts.extend(details(p));
    parts.join(", ")
}

/// `done / discovered` in `of` parts (at most `of`); none before anything is discovered.
fn share(done: u64, discovered: u64, of: u64) -> Option<u64> {
    (done.min(discovered) * of).checked_div(discovered)
}

fn counts(p: &Value) -> (u64, u64) {
    (
        p["done"].as_u64().unwrap_or(0),
        p["discovered"].as_u64().unwrap_or(0),
    )
}

fn phase(p: &Value) -> String {
    match p["phase"].as_str() {
        None => "starting".into(),
        Some(ph) => ph.replace('_', " "),
    }
}

/// The resource type being worked on (the first not finished) and the bytes uploaded.
fn details(p: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let current = p["types"].as_object().and_then(|types| {
        types
            .iter()
            .find(|(_, t)| t["done"].as_u64().unwrap_or(0) < t["discovered"].as_u64().unwrap_or(0))
    });
    if let Some((name, t)) = current {
        out.push(format!("{name} {}/{}", t["done"], t["discovered"]));
    }
    if let Some(b) = p["bytes_uploaded"].as_u64().filter(|b| *b > 0) {
        out.push(bytes(b));
    }
    out
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Worth polling again after this error (node restarting, leader changing)?
fn transient(e: &ClientError) -> bool {
    match e {
        ClientError::Unreachable { .. } | ClientError::Garbled { .. } => true,
        ClientError::Api { status, .. } => matches!(status, 502..=504),
    }
}

/// Poll `path` until `state` of the answer is no longer `running`, drawing the
/// answer's `progress` on stderr; the last answer.
pub async fn wait(
    client: &ApiClient,
    path: &str,
    label: &str,
    state: impl Fn(&Value) -> Value,
) -> Result<Value, ClientError> {
    let mut reporter = Reporter::new(std::io::stderr().is_terminal());
    let started = Instant::now();
    let mut failures = 0;
    loop {
        match client.get(path).await {
            Ok(v) if state(&v) != "running" => {
                write_err(reporter.finish());
                return Ok(v);
            }
            Ok(v) => {
                failures = 0;
                write_err(reporter.update(label, &v["progress"], started.elapsed()));
            }
            Err(e) if transient(&e) && failures < MAX_POLL_FAILURES => failures += 1,
            Err(e) => {
                write_err(reporter.finish());
                return Err(e);
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

fn write_err(s: Option<String>) {
    if let Some(s) = s {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(s.as_bytes());
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cli::table::width;

    fn capturing() -> Value {
        json!({
            "phase": "capturing", "done": 520, "discovered": 1040, "bytes_uploaded": 3 * 1024 * 1024,
            "types": {
                "configmaps": {"done": 40, "discovered": 40},
                "secrets": {"done": 12, "discovered": 30},
            }
        })
    }

    #[test]
    fn bar_shows_fraction_type_and_bytes() {
        let line = bar_line(
            "capture eu-west",
            &capturing(),
            Duration::from_millis(4_100),
        );
        assert_eq!(
            line,
            "capture eu-west  capturing  [██████████░░░░░░░░░░]   50%  520/1040  secrets 12/30  \
             3.0 MiB  4.1s"
        );
    }

    #[test]
    fn bar_before_any_progress_and_when_done_counts_overshoot() {
        let line = bar_line("restore into ap-south", &Value::Null, Duration::ZERO);
        assert_eq!(
            line,
            "restore into ap-south  starting  [░░░░░░░░░░░░░░░░░░░░]  0ms"
        );
        let over = json!({"phase": "applying", "done": 12, "discovered": 10});
        let line = bar_line("r", &over, Duration::ZERO);
        assert!(line.contains("[████████████████████]  100%"), "{line}");
    }

    #[test]
    fn bar_never_wraps() {
        let label = format!("capture {}", "x".repeat(150));
        let line = bar_line(&label, &capturing(), Duration::from_secs(3));
        assert!(width(&line) <= 99, "{line}");
        assert!(line.ends_with('…'), "{line}");
    }

    #[test]
    fn plain_lines_are_throttled_and_say_everything() {
        let mut r = Reporter::new(false);
        let p = capturing();
        // A job that ends within a second prints only its summary.
        assert!(r.update("capture eu-west", &p, Duration::ZERO).is_none());
        let first = r
            .update("capture eu-west", &p, Duration::from_millis(1_000))
            .unwrap();
        assert_eq!(
            first,
            "capture eu-west: capturing 520/1040 objects (50%), secrets 12/30, 3.0 MiB, 1.0s\n"
        );
        // Nothing changed: silence until the keep-alive interval.
        assert!(r.update("c", &p, Duration::from_secs(3)).is_none());
        assert!(r.update("c", &p, Duration::from_secs(16)).is_some());
        // A change shows, but not more often than every 2 s.
        let mut q = p.clone();
        q["done"] = json!(600);
        assert!(r.update("c", &q, Duration::from_secs(17)).is_none());
        assert!(r.update("c", &q, Duration::from_secs(18)).is_some());
        // Plain output never draws a bar, so there is nothing to clear.
        assert!(r.finish().is_none());
        assert!(!first.contains('\r'));
    }

    #[test]
    fn terminal_bar_is_redrawn_then_cleared() {
        let mut r = Reporter::new(true);
        let a = r.update("c", &capturing(), Duration::ZERO).unwrap();
        let b = r.update("c", &capturing(), Duration::ZERO).unwrap();
        assert!(a.starts_with("\r\x1b[2K") && !a.ends_with('\n'), "{a:?}");
        assert_eq!(a, b);
        assert_eq!(r.finish().as_deref(), Some("\r\x1b[2K"));
        assert!(r.finish().is_none());
    }
}
