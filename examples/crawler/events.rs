//! The crawl's event log (crawl-spec.md): one JSON-lines file per process in the events
//! directory, appended and flushed line by line so a `kill -9` loses nothing written before it.
//! Rust members, Kazoo crawlers and the orchestrator write it; the orchestrator reads all of
//! it for the checks and the timeline.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// Unix time in milliseconds (all processes run on one machine, so their clocks agree).
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Appends one process's events to `<dir>/<member>.jsonl`.
pub struct EventLog {
    member: String,
    file: Mutex<File>,
}

impl EventLog {
    pub fn open(dir: &Path, member: &str) -> std::io::Result<EventLog> {
        std::fs::create_dir_all(dir)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{member}.jsonl")))?;
        Ok(EventLog { member: member.to_string(), file: Mutex::new(file) })
    }

    /// Writes `{"t":..,"member":..,"kind":kind, ..fields}` as one line.
    pub fn log(&self, kind: &str, fields: Value) {
        let mut record = Map::new();
        record.insert("t".into(), json!(now_ms()));
        record.insert("member".into(), json!(self.member));
        record.insert("kind".into(), json!(kind));
        if let Value::Object(extra) = fields {
            record.extend(extra);
        }
        let line = format!("{}\n", Value::Object(record));
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // One write(2) per line (O_APPEND): lines of a dying process are whole or absent.
        if let Err(e) = file.write_all(line.as_bytes()) {
            log::warn!("event log of {}: {e}", self.member);
        }
    }
}

/// One event as read back (fields a kind does not have are `None`).
#[derive(Debug, Clone, Default)]
pub struct Event {
    pub t: u64,
    pub member: String,
    pub kind: String,
    pub url: Option<String>,
    pub domain: Option<String>,
    pub start: Option<u64>,
    pub end: Option<u64>,
    pub fault: Option<String>,
    pub target: Option<String>,
    /// Who refused a stale commit: "server" or "client".
    pub by: Option<String>,
}

impl Event {
    fn parse(line: &str) -> Option<Event> {
        let v: Value = serde_json::from_str(line).ok()?;
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let number = |k: &str| v.get(k).and_then(Value::as_u64);
        Some(Event {
            t: number("t")?,
            member: text("member")?,
            kind: text("kind")?,
            url: text("url"),
            domain: text("domain"),
            start: number("start"),
            end: number("end"),
            fault: text("fault"),
            target: text("target"),
            by: text("by"),
        })
    }
}

/// Every event in `dir`, sorted by time, and the number of lines that did not parse.
pub fn read_all(dir: &Path) -> std::io::Result<(Vec<Event>, usize)> {
    let mut events = Vec::new();
    let mut bad = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            for line in BufReader::new(File::open(&path)?).lines() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                match Event::parse(&line) {
                    Some(e) => events.push(e),
                    None => bad += 1,
                }
            }
        }
    }
    events.sort_by_key(|e| e.t);
    Ok((events, bad))
}
