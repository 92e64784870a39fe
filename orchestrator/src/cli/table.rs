//! Human output of the CLI: tables whose columns are sized to their content and cut
//! with `…` so no line exceeds [`MAX_WIDTH`] columns, ANSI colours for verdicts and
//! states (only when stdout is a terminal and `NO_COLOR` is unset), and the small
//! formatters (times, sizes) every command shares.

use std::ffi::OsStr;
use std::io::IsTerminal;

use crate::executor::report::iso8601;

/// The widest line a table prints.
pub const MAX_WIDTH: usize = 100;

/// Spaces between two columns.
const GAP: usize = 2;

/// Columns are first cut down to this width (or their content, if narrower); only
/// when that is not enough are they cut further.
const SOFT_MIN: usize = 8;

/// A colour or an emphasis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Green: healthy, succeeded.
    Green,
    /// Yellow: suspect, held.
    Yellow,
    /// Red: lost, failed.
    Red,
    /// Magenta: fenced.
    Magenta,
    /// Cyan: running, queued.
    Cyan,
    /// Dim: cancelled, skipped.
    Dim,
    /// Bold: headers.
    Bold,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Red => "31",
            Style::Magenta => "35",
            Style::Cyan => "36",
            Style::Dim => "2",
            Style::Bold => "1",
        }
    }
}

/// Whether to colour, decided once per command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Paint {
    on: bool,
}

impl Paint {
    /// No colours.
    pub const OFF: Paint = Paint { on: false };
    /// Colours.
    #[cfg(test)]
    pub const ON: Paint = Paint { on: true };

    /// Colours for stdout: on when it is a terminal and `NO_COLOR` is unset or empty.
    #[must_use]
    pub fn stdout() -> Paint {
        Paint::decide(
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        )
    }

    /// The rule behind [`Paint::stdout`] (see <https://no-color.org>).
    #[must_use]
    pub fn decide(is_terminal: bool, no_color: Option<&OsStr>) -> Paint {
        Paint {
            on: is_terminal && no_color.is_none_or(OsStr::is_empty),
        }
    }

    /// `text` in `style` (as is when colours are off or there is no style).
    #[must_use]
    pub fn paint(self, style: Option<Style>, text: &str) -> String {
        match style {
            Some(s) if self.on && !text.is_empty() => format!("\x1b[{}m{text}\x1b[0m", s.code()),
            _ => text.to_string(),
        }
    }

    /// A run, job or step state in its colour.
    #[must_use]
    pub fn state(self, state: &str) -> String {
        self.paint(state_style(state), state)
    }
}

/// The colour of a cluster verdict.
#[must_use]
pub fn verdict_style(verdict: &str) -> Option<Style> {
    match verdict {
        "Healthy" => Some(Style::Green),
        "Suspect" => Some(Style::Yellow),
        "Lost" => Some(Style::Red),
        "Fenced" => Some(Style::Magenta),
        _ => None,
    }
}

/// The colour of a run state, a capture or restore state, or a step outcome.
#[must_use]
pub fn state_style(state: &str) -> Option<Style> {
    match state {
        "succeeded" | "approved" | "simulated" => Some(Style::Green),
        "running" | "queued" => Some(Style::Cyan),
        "held" | "interrupted" | "pending" => Some(Style::Yellow),
        "failed" | "timed out" | "rejected" => Some(Style::Red),
        "cancelled" | "skipped" | "suppressed" => Some(Style::Dim),
        _ => None,
    }
}

/// One table cell: its text (control characters become spaces) and its colour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    text: String,
    style: Option<Style>,
}

impl Cell {
    /// A cell in `style` (none: plain).
    #[must_use]
    pub fn styled(text: impl Into<String>, style: Option<Style>) -> Cell {
        let text: String = text.into();
        Cell {
            text: text.replace(|c: char| c.is_control(), " "),
            style,
        }
    }

    /// A verdict in its colour.
    #[must_use]
    pub fn verdict(text: &str) -> Cell {
        Cell::styled(text, verdict_style(text))
    }

    /// A state in its colour.
    #[must_use]
    pub fn state(text: &str) -> Cell {
        Cell::styled(text, state_style(text))
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::styled(text, None)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::styled(text, None)
    }
}

/// A table: headers, rows, columns sized to content within [`MAX_WIDTH`].
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    keep: Vec<bool>,
    rows: Vec<Vec<Cell>>,
    indent: usize,
}

impl Table {
    /// A table with these column headers (all left-aligned).
    #[must_use]
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            right: vec![false; headers.len()],
            keep: vec![false; headers.len()],
            rows: Vec::new(),
            indent: 0,
        }
    }

    /// Right-align these columns (numbers, durations); they are cut last, like
    /// [`Table::keep`] columns.
    #[must_use]
    pub fn right(mut self, columns: &[usize]) -> Table {
        for c in columns {
            if let Some(r) = self.right.get_mut(*c) {
                *r = true;
            }
        }
        self
    }

    /// Cut these columns (ids people copy, timestamps) only when cutting every other
    /// one to a few characters is not enough.
    #[must_use]
    pub fn keep(mut self, columns: &[usize]) -> Table {
        for c in columns {
            if let Some(k) = self.keep.get_mut(*c) {
                *k = true;
            }
        }
        self
    }

    /// Start every line with `n` spaces (they count towards the width).
    #[must_use]
    pub fn indent(mut self, n: usize) -> Table {
        self.indent = n;
        self
    }

    /// Add a row (missing cells are empty, extra cells are dropped).
    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    /// No rows yet?
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The width of each column: its widest cell, then the widest columns cut first
    /// until the line fits: other columns down to [`SOFT_MIN`], then kept and
    /// right-aligned ones down to it too, then all of them down to one character.
    fn widths(&self) -> Vec<usize> {
        let n = self.headers.len();
        let mut w: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, c) in row.iter().take(n).enumerate() {
                w[i] = w[i].max(width(&c.text));
            }
        }
        let budget = MAX_WIDTH.saturating_sub(self.indent + GAP * n.saturating_sub(1));
        let kept = |i: usize| self.keep[i] || self.right[i];
        for (floor, spare_kept) in [(SOFT_MIN, true), (SOFT_MIN, false), (1, false)] {
            while w.iter().sum::<usize>() > budget {
                let widest = (0..n)
                    .filter(|i| w[*i] > floor && !(spare_kept && kept(*i)))
                    .max_by_key(|i| (w[*i], std::cmp::Reverse(*i)));
                match widest {
                    Some(i) => w[i] -= 1,
                    None => break,
                }
            }
        }
        w
    }

    /// The table, one line per row after the header line.
    #[must_use]
    pub fn render(&self, paint: Paint) -> String {
        let w = self.widths();
        let header: Vec<Cell> = self
            .headers
            .iter()
            .map(|h| Cell::styled(h.as_str(), Some(Style::Bold)))
            .collect();
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&self.rows) {
            out.push_str(&" ".repeat(self.indent));
            let mut line = String::new();
            for (i, cw) in w.iter().enumerate() {
                let cell = row.get(i).cloned().unwrap_or_default();
                let text = fit(&cell.text, *cw);
                let pad = " ".repeat(cw - width(&text));
                let painted = paint.paint(cell.style, &text);
                if i > 0 {
                    line.push_str(&" ".repeat(GAP));
                }
                if self.right[i] {
                    line.push_str(&pad);
                    line.push_str(&painted);
                } else {
                    line.push_str(&painted);
                    line.push_str(&pad);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Display width of `s` (one column per character: the CLI prints no wide characters
/// of its own).
#[must_use]
pub fn width(s: &str) -> usize {
    s.chars().count()
}

/// `s` in at most `w` columns; a cut is marked with `…`.
#[must_use]
pub fn fit(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_string();
    }
    if w == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(w - 1).collect();
    out.push('…');
    out
}

/// `label  value` lines, labels aligned, each line cut to [`MAX_WIDTH`].
#[must_use]
pub fn fields(rows: &[(&str, Cell)], paint: Paint) -> String {
    let lw = rows.iter().map(|(l, _)| width(l)).max().unwrap_or(0);
    let mut out = String::new();
    for (label, value) in rows {
        let room = MAX_WIDTH.saturating_sub(lw + GAP);
        let text = fit(&value.text, room);
        let line = format!("{label:<lw$}  {}", paint.paint(value.style, &text));
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `2024-05-01 12:34:56` (UTC).
#[must_use]
pub fn short_time(ms: u64) -> String {
    iso8601(ms).get(..19).unwrap_or("?").replace('T', " ")
}

/// A size for people: `512 B`, `3.4 KiB`, `12.0 MiB`, `1.2 GiB`.
#[must_use]
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// `-` for JSON null, the string itself for a string, JSON text otherwise.
#[must_use]
pub fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(n: usize) -> String {
        "x".repeat(n)
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn columns_are_sized_to_content() {
        let mut t = Table::new(&["NAME", "N"]).right(&[1]);
        t.row(vec!["a".into(), "1".into()]);
        t.row(vec!["abcdef".into(), "12345".into()]);
        assert_eq!(
            t.render(Paint::OFF),
            "NAME        N\na           1\nabcdef  12345\n"
        );
    }

    #[test]
    fn long_cells_are_cut_so_every_line_fits() {
        let mut t = Table::new(&["CLUSTER", "VERDICT", "FAILOVER", "VOTES"]).indent(2);
        for n in [10, 60, 150, 400] {
            t.row(vec![
                long(n).into(),
                Cell::verdict("Suspect"),
                long(n / 2).into(),
                long(n).into(),
            ]);
        }
        for paint in [Paint::OFF, Paint::ON] {
            let out = t.render(paint);
            for line in out.lines() {
                let plain = strip_ansi(line);
                assert!(
                    width(&plain) <= MAX_WIDTH,
                    "{} > 100: {plain}",
                    width(&plain)
                );
            }
            assert!(out.contains('…'), "{out}");
            // Short columns keep their content.
            assert!(strip_ansi(&out).contains("Suspect"), "{out}");
        }
    }

    #[test]
    fn kept_columns_are_cut_last() {
        let id = "eu-west-20240501T123456Z-abc123";
        let mut t = Table::new(&["SNAPSHOT", "NOTE"]).keep(&[0]);
        t.row(vec![id.into(), long(200).into()]);
        let out = t.render(Paint::OFF);
        assert!(out.contains(id), "{out}");
        assert!(
            out.lines()
                .all(|l| width(l) == MAX_WIDTH || l.starts_with("SNAP"))
        );
    }

    #[test]
    fn many_columns_still_fit() {
        let headers: Vec<String> = (0..20).map(|i| format!("COLUMN-{i}")).collect();
        let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let mut t = Table::new(&refs);
        t.row((0..20).map(|_| Cell::from(long(30))).collect());
        for line in t.render(Paint::OFF).lines() {
            assert!(width(line) <= MAX_WIDTH, "{line}");
        }
    }

    #[test]
    fn fit_marks_the_cut() {
        assert_eq!(fit("eu-west", 7), "eu-west");
        assert_eq!(fit("eu-west-1", 7), "eu-wes…");
        assert_eq!(fit("héllo wörld", 5), "héll…");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit("abc", 1), "…");
    }

    #[test]
    fn control_characters_do_not_break_rows() {
        let mut t = Table::new(&["ERROR"]);
        t.row(vec!["line one\nline two\ttab".into()]);
        assert_eq!(t.render(Paint::OFF).lines().count(), 2);
    }

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert_eq!(Paint::decide(true, None), Paint::ON);
        assert_eq!(Paint::decide(false, None), Paint::OFF);
        assert_eq!(Paint::decide(true, Some(OsStr::new("1"))), Paint::OFF);
        // An empty NO_COLOR does not count (no-color.org).
        assert_eq!(Paint::decide(true, Some(OsStr::new(""))), Paint::ON);
        assert_eq!(Paint::decide(false, Some(OsStr::new("1"))), Paint::OFF);
        // Without colours a table has no escape codes at all.
        let mut t = Table::new(&["VERDICT"]);
        t.row(vec![Cell::verdict("Lost")]);
        assert_eq!(t.render(Paint::decide(false, None)), "VERDICT\nLost\n");
    }

    #[test]
    fn verdicts_and_states_have_their_colours() {
        assert_eq!(
            Paint::ON.paint(verdict_style("Healthy"), "Healthy"),
            "\x1b[32mHealthy\x1b[0m"
        );
        assert_eq!(
            Paint::ON.paint(verdict_style("Suspect"), "Suspect"),
            "\x1b[33mSuspect\x1b[0m"
        );
        assert_eq!(
            Paint::ON.paint(verdict_style("Lost"), "Lost"),
            "\x1b[31mLost\x1b[0m"
        );
        assert_eq!(
            Paint::ON.paint(verdict_style("Fenced"), "Fenced"),
            "\x1b[35mFenced\x1b[0m"
        );
        assert_eq!(Paint::ON.state("succeeded"), "\x1b[32msucceeded\x1b[0m");
        assert_eq!(Paint::ON.state("running"), "\x1b[36mrunning\x1b[0m");
        assert_eq!(Paint::ON.state("queued"), "\x1b[36mqueued\x1b[0m");
        assert_eq!(Paint::ON.state("held"), "\x1b[33mheld\x1b[0m");
        assert_eq!(Paint::ON.state("failed"), "\x1b[31mfailed\x1b[0m");
        assert_eq!(Paint::ON.state("cancelled"), "\x1b[2mcancelled\x1b[0m");
        assert_eq!(Paint::OFF.paint(verdict_style("Lost"), "Lost"), "Lost");
        assert_eq!(Paint::ON.state("whatever"), "whatever");
    }

    #[test]
    fn plain_tables_have_no_escape_codes_and_colour_keeps_alignment() {
        let mut t = Table::new(&["CLUSTER", "VERDICT", "VOTES"]);
        t.row(vec!["eu-west".into(), Cell::verdict("Lost"), "3".into()]);
        t.row(vec!["us-east".into(), Cell::verdict("Healthy"), "3".into()]);
        let plain = t.render(Paint::OFF);
        assert!(!plain.contains('\x1b'), "{plain}");
        let coloured = t.render(Paint::ON);
        assert!(coloured.contains("\x1b[31mLost\x1b[0m"), "{coloured}");
        assert_eq!(strip_ansi(&coloured), plain);
    }

    #[test]
    fn fields_align_and_fit() {
        let out = fields(
            &[("node", "1".into()), ("leader", long(200).into())],
            Paint::OFF,
        );
        assert!(out.starts_with("node    1\nleader  xxx"), "{out}");
        assert!(out.lines().all(|l| width(l) <= MAX_WIDTH), "{out}");
    }

    #[test]
    fn sizes_and_times_for_people() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 + 512), "3.5 KiB");
        assert_eq!(bytes(12 * 1024 * 1024), "12.0 MiB");
        assert_eq!(short_time(1_700_000_000_000), "2023-11-14 22:13:20");
    }
}
