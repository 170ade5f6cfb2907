//! Chester inside a running VM: takes delivered requests at a safe point, answers syntax
//! errors at once, waits for quiescence, runs the script in the hypervisor as a
//! transaction, and answers with what changed and how long the application was paused.

use crate::control::Delivery;
use crate::protocol::{Kind, Request};
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
}

/// Installs Chester as the application's update handler.
pub fn install(app: &mut Interp, mut hypervisor: Hypervisor, deliveries: Receiver<Delivery>, policy: Policy) {
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
    };
    app.interrupt_handler = Some(Box::new(move |app, event| state.on_event(app, event)));
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
                    if request.kind == Kind::Revert {
                        let text = self.revert(app, wait_ms);
                        eprint!("espell: {text}");
                        let _ = reply.send(text);
                        self.start_next(app);
                        return;
                    }
                    let dry_run = request.kind == Kind::DryRun;
                    let mut report = self
                        .hypervisor
                        .run_update_with(app, &request.script, &request.file, dry_run);
                    let text = describe(&report, dry_run, wait_ms);
                    eprint!("espell: {text}");
                    if report.committed && !dry_run {
                        let summary = text.lines().skip(1).take(5).collect::<Vec<_>>().join("; ");
                        self.history.push(Record {
                            script: report.script.clone(),
                            summary,
                            undo: report.undo.take(),
                            at: self.since.elapsed(),
                            reverted_at: None,
                        });
                    }
                    let _ = reply.send(text);
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
                    text.push_str(&format!(
                        "{}. +{:.1} s {}{state}: {}\n",
                        i + 1,
                        r.at.as_secs_f64(),
                        r.script,
                        r.summary
                    ));
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
                let _ = reply.send(format!("state: {summary}\n{gc}{classes}"));
            }
            Kind::Revert => self.queue.push_back((request, reply)),
            Kind::InPlace => {
                let _ = reply.send(run_in_place(app, &request));
            }
            Kind::Apply | Kind::DryRun => match self.hypervisor.check_script(&request.script, &request.file) {
                Err(e) => {
                    let _ = reply.send(format!(
                        "rolled back: the script does not compile (the application was not paused)\nreason: {e}\n"
                    ));
                }
                Ok(()) => self.queue.push_back((request, reply)),
            },
        }
    }

    /// Reverts the last committed (and not yet reverted) update.
    fn revert(&mut self, app: &mut Interp, wait_ms: f64) -> String {
        let Some(record) = self.history.iter_mut().rev().find(|r| r.undo.is_some()) else {
            return "error: there is no committed update to revert\n".into();
        };
        if let Some(reason) = record.undo.as_ref().and_then(|u| u.revert_blocker(app)) {
            return format!("error: {} was not reverted: {reason}\n", record.script);
        }
        let undo = record.undo.take().expect("found above");
        record.reverted_at = Some(self.since.elapsed());
        let n = undo.len();
        let started = Instant::now();
        undo.revert(app);
        format!(
            "committed: reverted update {} ({n} recorded change(s) undone)\npause: quiescence wait {wait_ms:.3} ms, revert {:.3} ms\n",
            record.script,
            started.elapsed().as_secs_f64() * 1000.0
        )
    }

    fn start_next(&mut self, app: &mut Interp) {
        if self.current.is_some() {
            return;
        }
        if let Some(d) = self.queue.pop_front() {
            self.current = Some((d, Instant::now()));
            app.begin_quiescence(self.policy.timeout, self.policy.pause_stragglers);
        }
    }
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
