//! A hypervisor space: its own core library plus the mirror classes, running update
//! scripts (`ChesterUpdate` subclasses) against a paused application interpreter as
//! transactions.

use crate::error::VmError;
use crate::interpreter::Interp;
use crate::loader::Loader;
use crate::mop::mirrors::{describe_in, MirrorSession};
use crate::mop::session::ChangeSummary;
use crate::space::Special;
use crate::value::Value;
use crate::watchdog::Watchdog;
use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// What happened to one update.
pub struct UpdateReport {
    /// The script's class name (or the file, if it did not parse).
    pub script: String,
    /// True if the session committed.
    pub committed: bool,
    /// Why it rolled back (empty when committed).
    pub reason: String,
    /// What the session changed (when committed: kept; when rolled back: undone).
    pub summary: ChangeSummary,
    /// Number of recorded changes.
    pub changes: usize,
    /// Time spent running the script (ms).
    pub script_ms: f64,
    /// Time spent committing or rolling back (ms).
    pub finish_ms: f64,
    /// What the script printed.
    pub output: String,
    /// For a committed update: what reverts it.
    pub undo: Option<crate::mop::UndoLog>,
}

impl UpdateReport {
    /// The one-line summary printed on stderr.
    pub fn line(&self) -> String {
        if self.committed {
            format!(
                "espell: update {} committed: {} change(s) ({} class(es), {} method(s), {} special object(s), {} instance write(s)); script {:.2} ms, commit {:.2} ms",
                self.script,
                self.changes,
                self.summary.classes.len(),
                self.summary.methods.len(),
                self.summary.specials.len(),
                self.summary.instances,
                self.script_ms,
                self.finish_ms
            )
        } else {
            format!(
                "espell: update {} rolled back: {} ({} change(s) undone in {:.2} ms)",
                self.script,
                self.reason.lines().next().unwrap_or("").trim(),
                self.changes,
                self.finish_ms
            )
        }
    }
}

/// A shared in-memory sink for the hypervisor's own output.
#[derive(Clone, Default)]
struct Sink(Rc<RefCell<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A hypervisor space.
pub struct Hypervisor {
    /// The hypervisor's interpreter (its own core library and the mirror classes).
    pub interp: Interp,
    /// Keep an undo log (as GC roots in the application) for every committed update.
    pub keep_undo: bool,
    /// The longest an update script may run (the application is paused meanwhile); past
    /// it the script is stopped and the update rolled back.
    pub script_timeout: Duration,
    sessions: i64,
    sink: Sink,
    watchdog: Watchdog,
}

/// The default `Hypervisor::script_timeout`.
pub const DEFAULT_SCRIPT_TIMEOUT: Duration = Duration::from_secs(10);

impl Hypervisor {
    /// A hypervisor with its own copy of the core library (`core`, or the embedded one).
    pub fn new(core: Option<PathBuf>) -> Result<Hypervisor, VmError> {
        Self::with_class_path(Vec::new(), core)
    }

    /// A hypervisor whose space also searches `class_path` (before its libraries).
    pub fn with_class_path(class_path: Vec<PathBuf>, core: Option<PathBuf>) -> Result<Hypervisor, VmError> {
        let mut loader = Loader::new(class_path, core);
        loader.use_hypervisor_library = true;
        let mut interp = Interp::new_hypervisor(loader)?;
        let sink = Sink::default();
        interp.out = Box::new(sink.clone());
        interp.err = Box::new(sink.clone());
        let watchdog = Watchdog::new(interp.interrupt.clone());
        Ok(Hypervisor {
            interp,
            keep_undo: false,
            script_timeout: DEFAULT_SCRIPT_TIMEOUT,
            sessions: 0,
            sink,
            watchdog,
        })
    }

    /// Runs the update script in `source` (a class file defining a `ChesterUpdate`
    /// subclass) against `app`, which must be paused, as one transaction.
    pub fn run_update(&mut self, app: &mut Interp, source: &str, file: &str) -> UpdateReport {
        self.run_update_with(app, source, file, false)
    }

    /// Checks that an update script parses and defines a class (without running it).
    pub fn check_script(&mut self, source: &str, file: &str) -> Result<(), String> {
        espell_syntax::parse_class(source, file)
            .map(|_| ())
            .map_err(|d| d.to_string())
    }

    /// Like `run_update`; with `dry_run` the session is always rolled back (the report says
    /// whether it would have committed, and what it changed).
    pub fn run_update_with(&mut self, app: &mut Interp, source: &str, file: &str, dry_run: bool) -> UpdateReport {
        self.sink.0.borrow_mut().clear();
        let mut report = UpdateReport {
            script: file.to_string(),
            committed: false,
            reason: String::new(),
            summary: ChangeSummary::default(),
            changes: 0,
            script_ms: 0.0,
            finish_ms: 0.0,
            output: String::new(),
            undo: None,
        };
        let script = match self.load_script(source, file) {
            Ok((name, object)) => {
                report.script = name;
                object
            }
            Err(e) => {
                report.reason = e;
                return report;
            }
        };
        self.sessions += 1;
        let id = self.sessions;
        app.handles.clear();
        let system = app.space.special(Special::SystemGlobal);
        app.handles.push(system);
        let app_mirror = match self.app_mirror(id) {
            Ok(m) => m,
            Err(e) => {
                report.reason = e.to_string();
                return report;
            }
        };
        self.interp.mirror_session = Some(MirrorSession::new(app as *mut Interp, id));
        let started = Instant::now();
        let deadline = started + self.script_timeout;
        self.interp.deadline = Some(deadline);
        self.watchdog.arm(deadline);
        let result = self.interp.send_message(script, "run:", &[app_mirror]);
        self.watchdog.disarm();
        self.interp.deadline = None;
        report.script_ms = started.elapsed().as_secs_f64() * 1000.0;
        let session = self.interp.mirror_session.take().expect("the session is still there");
        app.handles.clear();
        // A failed state transfer fails the update even if the script handled the error.
        // So does a class layout left inconsistent by field changes (`mop::layout`), or
        // a swap that puts another layout under running code (`mop::active_code`).
        let failure = (session.session.failure())
            .map(|reason| format!("state transfer failed: {reason}"))
            .or_else(|| session.session.layout_failure(app))
            .or_else(|| session.session.swap_failure(app));
        let result = match (result, failure) {
            (Ok(_), Some(reason)) => Err(VmError::Uncaught {
                message: reason,
                backtrace: Vec::new(),
            }),
            (other, _) => other,
        };
        let finishing = Instant::now();
        report.changes = session.session.change_count();
        match result {
            Ok(_) if dry_run => {
                report.summary = session.session.summary.clone();
                session.session.roll_back(app);
                report.committed = true;
            }
            Ok(_) if self.keep_undo => {
                let (summary, undo) = session.session.commit_with_undo(app);
                report.summary = summary;
                report.undo = Some(undo);
                report.committed = true;
            }
            Ok(_) => {
                report.summary = session.session.commit(app);
                report.committed = true;
            }
            Err(e) => {
                report.summary = session.session.summary.clone();
                session.session.roll_back(app);
                report.reason = match e {
                    VmError::Exit(code) => {
                        let printed = String::from_utf8_lossy(&self.sink.0.borrow()).trim().to_string();
                        let first = printed.lines().find(|l| !l.trim().is_empty()).unwrap_or("").to_string();
                        format!("the script failed (exit {code}): {first}")
                    }
                    other => {
                        let text = other.to_string();
                        let limit = "stopped: the run took longer than its time limit";
                        if text.starts_with(limit) {
                            text.replacen(
                                limit,
                                &format!(
                                    "the script ran longer than {} ms (the script time limit) and was stopped",
                                    self.script_timeout.as_millis()
                                ),
                                1,
                            )
                        } else {
                            text
                        }
                    }
                };
            }
        }
        report.finish_ms = finishing.elapsed().as_secs_f64() * 1000.0;
        report.output = String::from_utf8_lossy(&self.sink.0.borrow()).into_owned();
        report
    }

    /// Runs `body` in the hypervisor with an update session open over `app` (paused) and
    /// the application's mirror; commits when `body` succeeds, rolls back otherwise.
    pub fn run_in_session(
        &mut self,
        app: &mut Interp,
        body: impl FnOnce(&mut Interp, Value) -> Result<Value, VmError>,
    ) -> Result<Value, VmError> {
        self.sessions += 1;
        let id = self.sessions;
        app.handles.clear();
        let system = app.space.special(Special::SystemGlobal);
        app.handles.push(system);
        let mirror = self.app_mirror(id)?;
        self.interp.mirror_session = Some(MirrorSession::new(app as *mut Interp, id));
        let result = body(&mut self.interp, mirror);
        let session = self.interp.mirror_session.take().expect("the session is still there");
        app.handles.clear();
        // So does a class layout left inconsistent by field changes (`mop::layout`), or
        // a swap that puts another layout under running code (`mop::active_code`).
        let failure = (session.session.failure())
            .map(|reason| format!("state transfer failed: {reason}"))
            .or_else(|| session.session.layout_failure(app))
            .or_else(|| session.session.swap_failure(app));
        let result = match (result, failure) {
            (Ok(_), Some(reason)) => Err(VmError::Uncaught {
                message: reason,
                backtrace: Vec::new(),
            }),
            (other, _) => other,
        };
        match &result {
            Ok(_) => {
                session.session.commit(app);
            }
            Err(_) => session.session.roll_back(app),
        }
        result
    }

    fn load_script(&mut self, source: &str, file: &str) -> Result<(String, Value), String> {
        let def = espell_syntax::parse_class(source, file).map_err(|d| d.to_string())?;
        let class = self
            .interp
            .define_class(&def, file, source)
            .map_err(|e| e.to_string())?;
        let base = self
            .interp
            .load_class("ChesterUpdate")
            .map_err(|e| e.to_string())?
            .ok_or("the hypervisor library has no ChesterUpdate")?;
        if !self.interp.space.inherits_from(class, base) || class == base {
            return Err(format!("{} is not a subclass of ChesterUpdate", def.name));
        }
        let object = crate::primitives::class::instantiate(&mut self.interp, class).map_err(|e| e.to_string())?;
        Ok((def.name, object))
    }

    fn app_mirror(&mut self, id: i64) -> Result<Value, VmError> {
        let class = self
            .interp
            .load_class("ObjectSpaceMirror")?
            .ok_or_else(|| VmError::Load("the hypervisor library has no ObjectSpaceMirror".into()))?;
        Ok(crate::mop::mirrors::new_mirror(
            &mut self.interp,
            class,
            Value::small(0),
            id,
        ))
    }
}

/// A VM-made description of an application value (for reports and tests).
pub fn describe(app: &Interp, v: Value) -> String {
    describe_in(app, v)
}
