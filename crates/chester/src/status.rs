//! The `status` request: what an operator's view (`espell dashboard`) polls every second.
//! Answered at the next safe point without a pause: uptime, the processes and where each
//! one waits, the collector's counters, the state digest, and the log of every update
//! request (apply, dry run, revert; committed or not) with its pause split.
//!
//! The answer is line-oriented text, first line `status`:
//!
//! ```text
//! status
//! uptime-ms: 81234
//! gc: 12 34.500 4.250 90210          (collections, total ms, longest ms, live objects)
//! digest: code #... (classes changed since loaded: ...)   (the code digest, as `--state`)
//! process: 3<TAB>40<TAB>waiting on I/O (read)<TAB>HttpInput>>#readMoreBefore: (...) < ...
//! event: 5120<TAB>apply<TAB>committed<TAB>up.som<TAB>1.2<TAB>0.3<TAB>0.1<TAB>changes: 1; methods (1): ...
//! ```
//!
//! [`Status::parse`] reads it back.

use crate::protocol::{Kind, Request};
use espell_vm::scheduler::RunState;
use espell_vm::Interp;
use std::time::Duration;

/// The most events kept (older ones are dropped first).
const MAX_EVENTS: usize = 500;
/// Frames shown for where a process is.
const WHERE_FRAMES: usize = 3;

/// One update request and how it ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Event {
    /// When it was answered, in milliseconds since Chester was installed.
    pub at_ms: u64,
    /// `apply`, `dry-run` or `revert`.
    pub kind: String,
    /// The answer's first word(s): `committed`, `rolled back`, `would commit`,
    /// `would roll back`, `not applied`, `error`.
    pub outcome: String,
    /// The script's file name (or `revert`).
    pub file: String,
    /// How long the update waited for quiescence (ms).
    pub quiescence_ms: f64,
    /// How long the script (or the revert) ran (ms).
    pub script_ms: f64,
    /// How long the commit or the rollback took (ms).
    pub commit_ms: f64,
    /// What changed, in one line.
    pub summary: String,
}

/// The update requests answered so far.
#[derive(Debug, Default)]
pub struct EventLog {
    events: Vec<Event>,
}

impl EventLog {
    /// Records the answer `text` given to `request` at `at` (since Chester was installed).
    /// History and state requests are not updates and are not recorded.
    pub fn note(&mut self, request: &Request, text: &str, at: Duration) {
        let kind = match request.kind {
            Kind::Apply => "apply",
            Kind::DryRun => "dry-run",
            Kind::Revert => "revert",
            Kind::InPlace => "in-place",
            _ => return,
        };
        self.note_as(kind, &request.file, text, at);
    }

    /// Records the answer `text` to a revert of the update `file` (a revert request, or the
    /// commit of a fleet revert).
    pub fn note_revert(&mut self, file: &str, text: &str, at: Duration) {
        self.note_as("revert", file, text, at);
    }

    /// Records the answer `text` to an update request of kind `kind` ("apply", "fleet
    /// apply", ...) for the script `file`.
    pub fn note_as(&mut self, kind: &str, file: &str, text: &str, at: Duration) {
        let first = text.lines().next().unwrap_or("");
        let outcome = first.split(':').next().unwrap_or("").trim().to_string();
        let mut event = Event {
            at_ms: at.as_millis() as u64,
            kind: kind.into(),
            outcome,
            file: file.to_string(),
            ..Event::default()
        };
        let mut summary = Vec::new();
        for line in text.lines().skip(1) {
            if let Some(pause) = line.strip_prefix("pause: ") {
                let numbers: Vec<f64> = pause
                    .split(',')
                    .filter_map(|part| part.trim().trim_end_matches(" ms").rsplit(' ').next()?.parse().ok())
                    .collect();
                event.quiescence_ms = numbers.first().copied().unwrap_or(0.0);
                event.script_ms = numbers.get(1).copied().unwrap_or(0.0);
                event.commit_ms = numbers.get(2).copied().unwrap_or(0.0);
            } else if line.starts_with("reason: ")
                || line.starts_with("changes: ")
                || (line.contains("): ") && !line.ends_with("): "))
            {
                summary.push(line.trim());
            }
        }
        if summary.is_empty() {
            summary.push(first.trim());
        }
        event.summary = summary.join("; ");
        if self.events.len() == MAX_EVENTS {
            self.events.remove(0);
        }
        self.events.push(event);
    }
}

fn clean(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

/// Where process `id` is: its state and its innermost frames.
fn where_is(app: &Interp, id: usize, p: &espell_vm::scheduler::ProcessState) -> (String, String) {
    let state = if id == app.scheduler.active {
        "running".to_string()
    } else if p.parked_for_update {
        "parked at an update point".to_string()
    } else if let Some((_, write)) = p.io_wait {
        format!("waiting on I/O ({})", if write { "write" } else { "read" })
    } else {
        match p.state {
            RunState::Runnable => "runnable".into(),
            RunState::Suspended => "suspended".into(),
            RunState::Waiting if p.deadline.is_some() => "waiting on a semaphore (timed)".into(),
            RunState::Waiting => "waiting on a semaphore".into(),
            RunState::Sleeping => "sleeping".into(),
            RunState::Terminated => "terminated".into(),
        }
    };
    let frames = app.frames_of(id);
    let place = frames
        .iter()
        .rev()
        .take(WHERE_FRAMES)
        .map(|f| app.describe_frame(f, id))
        .collect::<Vec<_>>()
        .join(" < ");
    (state, place)
}

/// The `status` answer for the application `app`.
pub fn answer(app: &Interp, log: &EventLog) -> String {
    let heap = &app.space.heap;
    let mut text = String::from("status\n");
    text.push_str(&format!("uptime-ms: {}\n", app.started.elapsed().as_millis()));
    text.push_str(&format!(
        "gc: {} {:.3} {:.3} {}\n",
        heap.collections,
        heap.gc_total.as_secs_f64() * 1000.0,
        heap.gc_longest.as_secs_f64() * 1000.0,
        heap.live_count()
    ));
    text.push_str(&format!("digest: {}\n", crate::runtime::code_state(app)));
    for (id, p) in app.scheduler.live_processes() {
        if p.state == RunState::Terminated {
            continue;
        }
        let (state, place) = where_is(app, id, p);
        text.push_str(&format!("process: {id}\t{}\t{state}\t{}\n", p.priority, clean(&place)));
    }
    for e in &log.events {
        text.push_str(&format!(
            "event: {}\t{}\t{}\t{}\t{:.3}\t{:.3}\t{:.3}\t{}\n",
            e.at_ms,
            e.kind,
            clean(&e.outcome),
            clean(&e.file),
            e.quiescence_ms,
            e.script_ms,
            e.commit_ms,
            clean(&e.summary)
        ));
    }
    text
}

/// One process as the status answer lists it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Process {
    /// The process id.
    pub id: u64,
    /// Its priority.
    pub priority: i64,
    /// What it is doing (`running`, `waiting on I/O (read)`, ...).
    pub state: String,
    /// Its innermost frames, innermost first, separated by ` < `.
    pub place: String,
}

/// A parsed `status` answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    /// Milliseconds since the program started.
    pub uptime_ms: u64,
    /// Collections so far.
    pub gc_collections: u64,
    /// Time spent collecting (ms).
    pub gc_total_ms: f64,
    /// The longest collection (ms).
    pub gc_longest_ms: f64,
    /// Live objects after the last collection.
    pub objects: u64,
    /// The state digest's summary line.
    pub digest: String,
    /// The live processes.
    pub processes: Vec<Process>,
    /// Every update request answered (oldest first, at most 500).
    pub events: Vec<Event>,
}

impl Status {
    /// Parses a `status` answer, or says why it is not one.
    pub fn parse(text: &str) -> Result<Status, String> {
        let mut lines = text.lines();
        if lines.next() != Some("status") {
            return Err(format!(
                "not a status answer: {}",
                text.lines().next().unwrap_or("(empty)")
            ));
        }
        let mut s = Status::default();
        for line in lines {
            let Some((key, value)) = line.split_once(": ") else {
                continue;
            };
            match key {
                "uptime-ms" => s.uptime_ms = value.trim().parse().unwrap_or(0),
                "gc" => {
                    let v: Vec<&str> = value.split_whitespace().collect();
                    s.gc_collections = v.first().and_then(|x| x.parse().ok()).unwrap_or(0);
                    s.gc_total_ms = v.get(1).and_then(|x| x.parse().ok()).unwrap_or(0.0);
                    s.gc_longest_ms = v.get(2).and_then(|x| x.parse().ok()).unwrap_or(0.0);
                    s.objects = v.get(3).and_then(|x| x.parse().ok()).unwrap_or(0);
                }
                "digest" => s.digest = value.to_string(),
                "process" => {
                    let v: Vec<&str> = value.splitn(4, '\t').collect();
                    s.processes.push(Process {
                        id: v.first().and_then(|x| x.parse().ok()).unwrap_or(0),
                        priority: v.get(1).and_then(|x| x.parse().ok()).unwrap_or(0),
                        state: v.get(2).unwrap_or(&"").to_string(),
                        place: v.get(3).unwrap_or(&"").to_string(),
                    });
                }
                "event" => {
                    let v: Vec<&str> = value.splitn(8, '\t').collect();
                    let num = |i: usize| v.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
                    s.events.push(Event {
                        at_ms: v.first().and_then(|x| x.parse().ok()).unwrap_or(0),
                        kind: v.get(1).unwrap_or(&"").to_string(),
                        outcome: v.get(2).unwrap_or(&"").to_string(),
                        file: v.get(3).unwrap_or(&"").to_string(),
                        quiescence_ms: num(4),
                        script_ms: num(5),
                        commit_ms: num(6),
                        summary: v.get(7).unwrap_or(&"").to_string(),
                    });
                }
                _ => {}
            }
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: Kind, file: &str) -> Request {
        Request {
            kind,
            file: file.into(),
            script: String::new(),
        }
    }

    #[test]
    fn an_update_answer_becomes_an_event_with_its_pause_split() {
        let mut log = EventLog::default();
        let text = "committed: update Up\nchanges: 2\nclasses (0): \nmethods (1): String>>#shout\n\
                    special objects (0): \nglobals (0): \ninstance writes: 0\n\
                    pause: quiescence wait 1.250 ms, script 0.400 ms, commit 0.050 ms\n";
        log.note(&request(Kind::Apply, "up.som"), text, Duration::from_millis(1500));
        log.note(&request(Kind::History, ""), "history: 0\n", Duration::from_millis(1600));
        let revert = "committed: reverted update Up (2 recorded change(s) undone)\n\
                      pause: quiescence wait 3.000 ms, revert 0.200 ms\n";
        log.note(&request(Kind::Revert, "revert"), revert, Duration::from_millis(2000));
        assert_eq!(log.events.len(), 2, "history is not an update");
        let e = &log.events[0];
        assert_eq!(
            (e.at_ms, e.kind.as_str(), e.outcome.as_str()),
            (1500, "apply", "committed")
        );
        assert_eq!((e.quiescence_ms, e.script_ms, e.commit_ms), (1.25, 0.4, 0.05));
        assert_eq!(e.summary, "changes: 2; methods (1): String>>#shout");
        let r = &log.events[1];
        assert_eq!((r.kind.as_str(), r.quiescence_ms, r.script_ms), ("revert", 3.0, 0.2));
        assert!(r.summary.starts_with("committed: reverted update Up"), "{r:?}");
    }

    #[test]
    fn the_status_text_parses_back() {
        let text = "status\nuptime-ms: 4200\ngc: 3 1.500 0.750 9000\ndigest: classes 1 #00, methods 2 #01\n\
                    process: 2\t40\twaiting on I/O (read)\tSocket>>#read: (net:Socket.som:3) < X>>#y (a:1)\n\
                    event: 10\tapply\trolled back\tup.som\t1.000\t2.000\t3.000\treason: boom\n";
        let s = Status::parse(text).unwrap();
        assert_eq!((s.uptime_ms, s.gc_collections, s.objects), (4200, 3, 9000));
        assert_eq!((s.gc_total_ms, s.gc_longest_ms), (1.5, 0.75));
        assert_eq!(s.digest, "classes 1 #00, methods 2 #01");
        assert_eq!(s.processes[0].state, "waiting on I/O (read)");
        assert_eq!(s.events[0].outcome, "rolled back");
        assert_eq!(s.events[0].commit_ms, 3.0);
        assert!(Status::parse("error: nope").is_err());
    }

    #[test]
    fn the_status_request_round_trips_and_needs_no_script() {
        let r = Request::decode(b"ESPELL/1 status status\n").unwrap();
        assert_eq!(r.kind, Kind::Status);
        assert_eq!(Request::decode(&r.encode()), Ok(r));
    }
}
