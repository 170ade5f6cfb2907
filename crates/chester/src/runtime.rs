//! Chester inside a running VM: takes delivered requests at a safe point, answers syntax
//! errors at once, waits for quiescence, runs the script in the hypervisor as a
//! transaction, and answers with what changed and how long the application was paused.

mod fleet_hold;
mod journaling;

use crate::control::Delivery;
use crate::journal::{Action, Entry, Journal};
use crate::protocol::{Kind, Prepared, Request};
use espell_vm::hypervisor::{Hypervisor, UpdateReport};
use espell_vm::quiescence::UpdateEvent;
use espell_vm::Interp;
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

/// How updates wait for the application.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// The quiescence deadline.
    pub timeout: Duration,
    /// Past the deadline, pause stragglers at their safe point instead of giving up.
    pub pause_stragglers: bool,
    /// The longest an update script may run while the application is paused.
    pub script_timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timeout: Duration::from_secs(2),
            pause_stragglers: false,
            script_timeout: espell_vm::hypervisor::DEFAULT_SCRIPT_TIMEOUT,
        }
    }
}

/// One committed update, for `--history` and `--revert`.
struct Record {
    script: String,
    summary: String,
    undo: Option<espell_vm::mop::UndoLog>,
    /// When it committed, since Chester was installed.
    at: Duration,
    /// When it was reverted, if it was.
    reverted_at: Option<Duration>,
    /// Its journal entry, when the program keeps a journal.
    seq: Option<u64>,
    /// Whether it was replayed from the journal at start.
    replayed: bool,
}

struct State {
    hypervisor: Hypervisor,
    deliveries: Receiver<Delivery>,
    queue: VecDeque<Delivery>,
    current: Option<(Delivery, Instant)>,
    history: Vec<Record>,
    policy: Policy,
    /// When Chester was installed (history times count from here).
    since: Instant,
    /// The patch journal (`--journal`), if any.
    journal: Option<Journal>,
    /// Outcomes of recent fleet transactions, for decisions that arrive too late.
    finished: VecDeque<(u64, String)>,
    /// Why the last held transaction was aborted (as its abort request said).
    abort_reason: String,
    /// Journal writes that finished (sent by the writer threads), and the waker that
    /// announces them.
    written: (Sender<Written>, Receiver<Written>),
    waker: Option<espell_vm::quiescence::Waker>,
    /// A journal write is under way: the next update waits for it (a write never
    /// overtakes another).
    writing: bool,
    /// Every update request answered, for `status`.
    events: crate::status::EventLog,
}

/// A finished journal write.
struct Written {
    /// The entry written.
    seq: u64,
    /// On failure: why, and the client still waiting for its answer.
    failed: Option<(String, Sender<String>)>,
}

/// The `file` of the internal request that undoes an update whose journal entry could not
/// be written (followed by the entry number; never comes from the wire).
const JOURNAL_FAILED: &str = "\u{0}journal-failed ";

/// Installs Chester as the application's update handler.
pub fn install(app: &mut Interp, hypervisor: Hypervisor, deliveries: Receiver<Delivery>, policy: Policy) {
    let _ = install_with_journal(app, hypervisor, deliveries, policy, None, false);
}

/// Installs Chester with a patch journal: first replays the journal's entries on `app`
/// (which must not have run yet), each as a transaction, then records every committed
/// update and revert in it. Answers the replay's report, or the error that refuses the
/// start (an entry that fails now, unless `skip_failed`).
pub fn install_with_journal(
    app: &mut Interp,
    mut hypervisor: Hypervisor,
    deliveries: Receiver<Delivery>,
    policy: Policy,
    journal: Option<Journal>,
    skip_failed: bool,
) -> Result<String, String> {
    hypervisor.keep_undo = true;
    hypervisor.script_timeout = policy.script_timeout;
    let mut state = State {
        hypervisor,
        deliveries,
        queue: VecDeque::new(),
        current: None,
        history: Vec::new(),
        policy,
        since: Instant::now(),
        waker: journal.as_ref().map(|_| app.waker()),
        journal,
        finished: VecDeque::new(),
        abort_reason: String::new(),
        written: std::sync::mpsc::channel(),
        writing: false,
        events: Default::default(),
    };
    let report = state.replay(app, skip_failed)?;
    app.interrupt_handler = Some(Box::new(move |app, event| state.on_event(app, event)));
    Ok(report)
}

/// Replays journal `entries` on a fresh `app` that has not run (`espell journal --verify`):
/// answers the replay's report, which has a `warning:` line for every entry whose recorded
/// digest differs from the one the replay reaches, or the error of an entry that fails.
pub fn replay_for_check(
    app: &mut Interp,
    mut hypervisor: Hypervisor,
    entries: &[Entry],
    dir: &str,
) -> Result<String, String> {
    hypervisor.keep_undo = true;
    let (_tx, deliveries) = std::sync::mpsc::channel();
    let mut state = State {
        hypervisor,
        deliveries,
        queue: VecDeque::new(),
        current: None,
        history: Vec::new(),
        policy: Policy::default(),
        since: Instant::now(),
        journal: None,
        finished: VecDeque::new(),
        abort_reason: String::new(),
        written: std::sync::mpsc::channel(),
        waker: None,
        writing: false,
        events: Default::default(),
    };
    state.replay_entries(app, entries, dir, false)
}

/// The code digest of `app` as the journal and `--state` print it.
fn code_digest_text(app: &Interp) -> String {
    espell_vm::mop::code_digest(app).to_string()
}

fn describe(report: &UpdateReport, dry_run: bool, wait_ms: f64) -> String {
    let status = match (report.committed, dry_run) {
        (true, false) => "committed",
        (false, false) => "rolled back",
        (true, true) => "would commit",
        (false, true) => "would roll back",
    };
    let mut text = format!("{status}: update {}\n", report.script);
    if !report.committed {
        text.push_str(&format!("reason: {}\n", report.reason.trim()));
    }
    let s = &report.summary;
    text.push_str(&format!("changes: {}\n", report.changes));
    text.push_str(&format!("classes ({}): {}\n", s.classes.len(), s.classes.join(" ")));
    text.push_str(&format!("methods ({}): {}\n", s.methods.len(), s.methods.join(" ")));
    text.push_str(&format!(
        "special objects ({}): {}\n",
        s.specials.len(),
        s.specials.join(" ")
    ));
    text.push_str(&format!("globals ({}): {}\n", s.globals.len(), s.globals.join(" ")));
    text.push_str(&format!("instance writes: {}\n", s.instances));
    text.push_str(&format!(
        "pause: quiescence wait {wait_ms:.3} ms, script {:.3} ms, {} {:.3} ms\n",
        report.script_ms,
        if report.committed && !dry_run {
            "commit"
        } else {
            "rollback"
        },
        report.finish_ms
    ));
    for line in report.output.lines().filter(|l| !l.trim().is_empty()) {
        text.push_str(&format!("output: {line}\n"));
    }
    text
}

impl State {
    fn on_event(&mut self, app: &mut Interp, event: UpdateEvent) {
        self.journal_written();
        match event {
            UpdateEvent::Requested => {
                while let Ok(d) = self.deliveries.try_recv() {
                    self.accept(app, d);
                }
                self.start_next(app);
            }
            UpdateEvent::Quiescent => {
                if let Some(((request, reply), started)) = self.current.take() {
                    let wait_ms = started.elapsed().as_secs_f64() * 1000.0;
                    if let Some(seq) = request.file.strip_prefix(JOURNAL_FAILED) {
                        let text = self.undo_unjournaled(app, seq, &request.script);
                        eprint!("espell: {text}");
                        let _ = reply.send(text);
                        self.start_next(app);
                        return;
                    }
                    if request.kind == Kind::Revert {
                        self.revert(app, wait_ms, reply, String::new());
                        self.start_next(app);
                        return;
                    }
                    if request.kind == Kind::Prepare {
                        self.prepare_and_hold(app, request, reply, wait_ms);
                        self.start_next(app);
                        return;
                    }
                    let dry_run = request.kind == Kind::DryRun;
                    let mut report = self
                        .hypervisor
                        .run_update_with(app, &request.script, &request.file, dry_run);
                    let text = describe(&report, dry_run, wait_ms);
                    self.events.note(&request, &text, self.since.elapsed());
                    if report.committed && !dry_run {
                        self.keep(app, &mut report, &request, text, reply);
                    } else {
                        eprint!("espell: {text}");
                        let _ = reply.send(text);
                    }
                }
                self.start_next(app);
            }
            UpdateEvent::TimedOut(stragglers) => {
                if let Some(((request, reply), started)) = self.current.take() {
                    let text = format!(
                        "not applied: update {} abandoned after {:.0} ms: the application did not reach quiescence; nothing was changed\n{}\n",
                        request.file,
                        started.elapsed().as_secs_f64() * 1000.0,
                        stragglers.join("\n")
                    );
                    self.events.note(&request, &text, self.since.elapsed());
                    eprint!("espell: {text}");
                    let _ = reply.send(text);
                }
                self.start_next(app);
            }
        }
    }

    /// Answers what needs no pause at once; queues updates.
    fn accept(&mut self, app: &mut Interp, (request, reply): Delivery) {
        match request.kind {
            Kind::History => {
                let mut text = format!("history: {} committed update(s)\n", self.history.len());
                for (i, r) in self.history.iter().enumerate() {
                    let state = match r.reverted_at {
                        Some(t) => format!(" (reverted at +{:.1} s)", t.as_secs_f64()),
                        None => String::new(),
                    };
                    let origin = match (r.seq, r.replayed) {
                        (Some(n), true) => format!(" [journal entry {n}, replayed at start]"),
                        (Some(n), false) => format!(" [journal entry {n}]"),
                        _ => String::new(),
                    };
                    text.push_str(&format!(
                        "{}. +{:.1} s {}{state}{origin}: {}\n",
                        i + 1,
                        r.at.as_secs_f64(),
                        r.script,
                        r.summary
                    ));
                }
                if let Some(j) = &self.journal {
                    text.push_str(&format!("journal {}: {} entries\n", j.dir().display(), j.entries.len()));
                    for e in &j.entries {
                        text.push_str(&format!("{}\n", e.line()));
                    }
                }
                let _ = reply.send(text);
            }
            Kind::State => {
                let heap = &app.space.heap;
                let gc = format!(
                    "gc: {} collections, {:.1} ms in total, longest {:.2} ms; {} objects\n",
                    heap.collections,
                    heap.gc_total.as_secs_f64() * 1000.0,
                    heap.gc_longest.as_secs_f64() * 1000.0,
                    heap.live_count()
                );
                let digest = espell_vm::mop::space_digest(app).detailed();
                let (summary, classes) = digest.split_once('\n').unwrap_or((&digest, ""));
                // First the code digest (the same in every process with the same code and
                // updates: compare it across restarts and instances), then the identity
                // digest (the same objects: the rollback check within a process).
                let _ = reply.send(format!("{}identity: {summary}\n{gc}{classes}", code_line(app)));
            }
            Kind::Status => {
                let _ = reply.send(crate::status::answer(app, &self.events));
            }
            Kind::Revert => self.queue.push_back((request, reply)),
            Kind::InPlace => {
                let _ = reply.send(run_in_place(app, &request));
            }
            Kind::Commit | Kind::Abort => {
                // A decision for a transaction no longer held here (it timed out).
                let txn = request.file.parse::<u64>().unwrap_or(0);
                let text = self
                    .finished
                    .iter()
                    .find(|(t, _)| *t == txn)
                    .map(|(_, text)| text.clone())
                    .unwrap_or_else(|| format!("error: transaction {txn} is not prepared here\n"));
                let _ = reply.send(text);
            }
            Kind::Prepare if Prepared::from_field(&request.file).is_some_and(|p| p.revert) => {
                self.queue.push_back((request, reply))
            }
            Kind::Apply | Kind::DryRun | Kind::Prepare => {
                match self.hypervisor.check_script(&request.script, &label(&request)) {
                    Err(e) => {
                        let text = format!(
                            "rolled back: the script does not compile (the application was not paused)\nreason: {e}\n"
                        );
                        self.events.note(&request, &text, self.since.elapsed());
                        let _ = reply.send(text);
                    }
                    Ok(()) => self.queue.push_back((request, reply)),
                }
            }
        }
    }

    /// Reverts the last committed (and not yet reverted) update and answers `reply` (with
    /// `suffix` appended) — with a journal, once the revert's entry is written.
    fn revert(&mut self, app: &mut Interp, wait_ms: f64, reply: Sender<String>, suffix: String) {
        let Some(record) = self.history.iter_mut().rev().find(|r| r.undo.is_some()) else {
            let text = "error: there is no committed update to revert\n";
            self.events.note_revert("", text, self.since.elapsed());
            let _ = reply.send(text.into());
            return;
        };
        if let Some(reason) = record.undo.as_ref().and_then(|u| u.revert_blocker(app)) {
            let text = format!("error: {} was not reverted: {reason}\n", record.script);
            self.events.note_revert(&record.script, &text, self.since.elapsed());
            let _ = reply.send(text);
            return;
        }
        let undo = record.undo.take().expect("found above");
        record.reverted_at = Some(self.since.elapsed());
        let n = undo.len();
        let started = Instant::now();
        undo.revert(app);
        let text = format!(
            "committed: reverted update {} ({n} recorded change(s) undone)\npause: quiescence wait {wait_ms:.3} ms, revert {:.3} ms\n{suffix}",
            record.script,
            started.elapsed().as_secs_f64() * 1000.0
        );
        eprint!("espell: {text}");
        self.events.note_revert(&record.script, &text, self.since.elapsed());
        let (Some(journal), Some(of)) = (self.journal.as_mut(), record.seq) else {
            let _ = reply.send(text);
            return;
        };
        journal.entries.push(Entry {
            seq: journal.next_seq(),
            time: crate::journal::now(),
            action: Action::Revert { of },
            summary: format!("reverted {}", record.script),
            digest: code_digest_text(app),
        });
        // A revert cannot be taken back: if its entry cannot be written, the answer says
        // what a restart would do.
        self.write_then_answer(text, reply, false);
    }

    fn start_next(&mut self, app: &mut Interp) {
        if self.current.is_some() || self.writing {
            return;
        }
        if let Some(d) = self.queue.pop_front() {
            // Undoing an update whose journal entry failed must happen: stragglers are
            // paused at their safe point rather than the undo abandoned.
            let internal = d.0.file.starts_with(JOURNAL_FAILED);
            self.current = Some((d, Instant::now()));
            app.begin_quiescence(self.policy.timeout, self.policy.pause_stragglers || internal);
        }
    }
}

/// The file name a request names (a prepare packs its parameters in front of it).
fn label(request: &Request) -> String {
    match request.kind {
        Kind::Prepare => Prepared::from_field(&request.file).map_or_else(|| request.file.clone(), |p| p.file),
        _ => request.file.clone(),
    }
}

/// The first line of a state answer: the code digest, stable across processes (ADR 0017).
fn code_line(app: &Interp) -> String {
    format!("state: {}\n", code_state(app))
}

/// The code digest as `--state` and `status` show it: `code #... (classes changed since
/// loaded: ...)`, the same in every process with the same code and updates.
pub(crate) fn code_state(app: &Interp) -> String {
    let digest = espell_vm::mop::code_digest(app);
    let changed = if digest.changed.is_empty() {
        "none".to_string()
    } else {
        digest.changed.join(" ")
    };
    format!("code {digest} (classes changed since loaded: {changed})")
}

/// The in-place baseline: loads the script into the application's own space and runs it
/// there with an `InPlaceSpace`, right away (no quiescence, no transaction).
fn run_in_place(app: &mut Interp, request: &Request) -> String {
    let def = match espell_syntax::parse_class(&request.script, &request.file) {
        Ok(d) => d,
        Err(e) => return format!("in-place failed: the script does not compile\nreason: {e}\n"),
    };
    if let Err(e) = app.define_class(&def, &request.file, &request.script) {
        return format!("in-place failed: {e}\n");
    }
    let started = Instant::now();
    let source = format!(
        "| space | space := InPlaceSpace new. [ {} new run: space. 'ok' ] on: Error do: [:e | e messageText ]",
        def.name
    );
    let outcome = match app.eval(&source, "in-place") {
        Ok(v) => app.space.str_of(v).unwrap_or("?").to_string(),
        Err(e) => e.to_string(),
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if outcome == "ok" {
        format!(
            "applied in place: update {} ({ms:.2} ms; no pause, no atomicity)\n",
            def.name
        )
    } else {
        format!(
            "in-place failed: update {} broke half-way: {outcome}\n(the changes made before the failure stay; the application runs on in that state)\n",
            def.name
        )
    }
}

/// Starts a delivery for tests and tools that drive Chester without a socket.
pub fn deliver(tx: &Sender<Delivery>, request: Request) -> Receiver<String> {
    let (reply_tx, reply_rx) = std::sync::mpsc::channel();
    let _ = tx.send((request, reply_tx));
    reply_rx
}
