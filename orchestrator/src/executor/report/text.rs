//! Text for people shared by the report's forms and the CLI: ISO 8601 times, durations,
//! HTML escaping, and a measure's summary and explanation.

use super::Measure;

/// `ms` since the epoch as ISO 8601 UTC with milliseconds.
#[must_use]
pub fn iso8601(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || format!("{ms} ms"),
            |d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )
}

/// A duration for people: `850ms`, `12.3s`, `4m 05s`, `2h 03m`, `1d 02h`.
#[must_use]
pub fn human_ms(ms: u64) -> String {
    let s = ms / 1000;
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{}.{}s", s, (ms % 1000) / 100),
        60_000..3_600_000 => format!("{}m {:02}s", s / 60, s % 60),
        3_600_000..86_400_000 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Escape text for HTML (element content and quoted attributes).
#[must_use]
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn opt_ms(ms: Option<u64>) -> String {
    ms.map_or_else(|| "-".into(), human_ms)
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "unknown",
    }
}

impl Measure {
    /// `45.1s (objective 10m 00s): met`.
    #[must_use]
    pub fn summary(&self) -> String {
        let measured = self
            .measured_ms
            .map_or_else(|| "not measured".into(), human_ms);
        match self.objective_ms {
            Some(o) => format!(
                "{measured} (objective {}): {}",
                human_ms(o),
                verdict(self.met)
            ),
            None => format!("{measured} (no objective)"),
        }
    }

    /// `Measured as: <basis>.` or `Not measured: <why>.`
    #[must_use]
    pub fn explain(&self) -> String {
        match self.measured_ms {
            Some(_) => format!("Measured as: {}.", self.basis),
            None => format!("Not measured: {}.", self.basis),
        }
    }
}
