//! An incremental parser of server-sent events (`text/event-stream`).

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SseEvent {
    /// `event:` (default `message`).
    pub(super) event: String,
    /// `data:` lines joined by newlines.
    pub(super) data: String,
    /// `id:`, if any.
    pub(super) id: Option<String>,
}

/// An incremental `text/event-stream` parser: feed it chunks as they arrive.
#[derive(Debug, Default)]
pub(super) struct SseParser {
    buf: Vec<u8>,
    event: String,
    data: Vec<String>,
    id: Option<String>,
}

impl SseParser {
    /// The events completed by this chunk.
    pub(super) fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n' || *b == b'\r') {
            let len = match (self.buf[pos], self.buf.get(pos + 1)) {
                (b'\r', Some(b'\n')) => 2,
                // A CR at the end of the chunk may be the first half of CRLF.
                (b'\r', None) => break,
                _ => 1,
            };
            let line = String::from_utf8_lossy(&self.buf[..pos]).into_owned();
            self.buf.drain(..pos + len);
            if let Some(e) = self.line(&line) {
                out.push(e);
            }
        }
        out
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.event);
            if self.data.is_empty() {
                return None;
            }
            return Some(SseEvent {
                event: if event.is_empty() {
                    "message".into()
                } else {
                    event
                },
                data: std::mem::take(&mut self.data).join("\n"),
                id: self.id.clone(),
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => self.data.push(value.to_string()),
            "id" => self.id = Some(value.to_string()),
            _ => {}
        }
        None
    }
}
