//! State transfer: an update runs application code on the application's objects while the
//! application is paused (`anObjectMirror perform: #selector`, `perform:with:`), in the
//! updated but uncommitted state — Erlang's `code_change`, gDSU's transformation methods.
//!
//! The method runs in the paused space itself, as a nested run on top of the active
//! process (the same machinery as `Interp::send_message`), with the scheduler frozen: no
//! process may switch, block, start or end, and socket, reflection and frame-changing
//! primitives fail (`Interp::require_unfrozen`), so a wait is an error, never a hang. It
//! runs under the update script's time limit.
//!
//! Application code writes objects directly, without the undo log, so every effect is
//! found by comparison instead: before the first run the session copies every object's
//! class, fields and indexable slots (a snapshot, kept while the session lasts and pinned
//! as roots so that no object in it is freed); after each run it compares, logs the
//! previous state of each changed object (`Undo::Restore`) and of each changed global,
//! and brings the snapshot up to date. Objects made since the snapshot need no record:
//! after a rollback nothing refers to them. A snapshot is taken again only when other MOP
//! writes happened since the last run. A run that fails marks the session failed: it can
//! then only roll back, even if the script handles the error.

use super::session::{err, MopResult, UpdateSession};
use super::undo::{SavedObject, Undo};
use crate::interpreter::Interp;
use crate::object::Body;
use crate::value::Value;
use std::time::Instant;

/// One object as the snapshot keeps it.
struct Saved {
    class: Value,
    fields: Box<[Value]>,
    elements: Option<Vec<Value>>,
}

/// The state of the application's objects before the next state transfer run.
pub(super) struct Snapshot {
    /// By object table index: the object's state, or `None` for a free slot.
    objects: Vec<Option<Saved>>,
    /// Every global's value.
    globals: Vec<Option<Value>>,
    /// The length of the undo log when the snapshot was last brought up to date.
    log_len: usize,
    /// The entry of `Interp::undo_roots` that pins the snapshot's objects and values.
    root_slot: usize,
}

impl Snapshot {
    fn take(app: &mut Interp, log_len: usize) -> Snapshot {
        let heap = &app.space.heap;
        let n = heap.table_len();
        let mut objects = Vec::with_capacity(n);
        let mut roots = Vec::with_capacity(n);
        for i in 0..n {
            let v = Value::object(i as u32);
            if !heap.is_live(v) {
                objects.push(None);
                continue;
            }
            let o = heap.get(v);
            let elements = match &o.body {
                Body::Array(items) => Some(items.clone()),
                _ => None,
            };
            roots.push(v);
            objects.push(Some(Saved {
                class: o.class,
                fields: o.fields.clone(),
                elements,
            }));
        }
        let globals = app.space.globals.iter().map(|g| g.value).collect();
        // Every object live now stays so while the session lasts (what they refer to is
        // kept by them, or, once changed, by the undo records).
        app.undo_roots.push(roots);
        Snapshot {
            objects,
            globals,
            log_len,
            root_slot: app.undo_roots.len() - 1,
        }
    }

    /// Logs the previous state of every object and global that differs from the
    /// snapshot, and updates the snapshot to the present.
    fn record_changes(&mut self, app: &mut Interp, log: &mut Vec<Undo>) -> usize {
        let heap = &app.space.heap;
        let mut changed = Vec::new();
        // What the snapshot refers to now must stay alive until the next comparison
        // (objects made by the run the snapshot now refers to are not pinned otherwise).
        let mut pins = Vec::new();
        for (i, entry) in self.objects.iter_mut().enumerate() {
            let Some(saved) = entry else { continue };
            let o = heap.get(Value::object(i as u32));
            let elements_differ = match (&saved.elements, &o.body) {
                (Some(before), Body::Array(now)) => before != now,
                (None, Body::Array(_)) | (Some(_), _) => true,
                (None, _) => false,
            };
            if saved.class == o.class && *saved.fields == *o.fields && !elements_differ {
                continue;
            }
            let now = Saved {
                class: o.class,
                fields: o.fields.clone(),
                elements: match &o.body {
                    Body::Array(items) => Some(items.clone()),
                    _ => None,
                },
            };
            pins.extend(now.fields.iter().copied().filter(|v| v.is_object()));
            if let Some(e) = &now.elements {
                pins.extend(e.iter().copied().filter(|v| v.is_object()));
            }
            let after = (now.class, now.fields.clone(), now.elements.clone());
            let before = std::mem::replace(saved, now);
            changed.push(SavedObject {
                index: i as u32,
                class: before.class,
                fields: before.fields,
                elements: before.elements,
                after,
            });
        }
        let n = changed.len();
        if !changed.is_empty() {
            log.push(Undo::Restore(changed));
        }
        for (k, g) in app.space.globals.iter().enumerate() {
            let before = self.globals.get(k).copied().flatten();
            if before != g.value {
                log.push(Undo::Global {
                    name: g.name,
                    previous: before,
                });
            }
        }
        self.globals = app.space.globals.iter().map(|g| g.value).collect();
        pins.extend(self.globals.iter().flatten().copied());
        if let Some(roots) = app.undo_roots.get_mut(self.root_slot) {
            roots.extend(pins);
        }
        self.log_len = log.len();
        n
    }
}

impl UpdateSession {
    /// `perform:` / `perform:with:`: sends `selector` with `args` to `receiver` in the
    /// paused application space and answers the result. Past `deadline` (the script's
    /// time limit; checked when the application's interrupt flag is raised, e.g. by a
    /// `Watchdog`) the run stops with an error. Any error marks the session failed.
    pub fn perform(
        &mut self,
        app: &mut Interp,
        receiver: Value,
        selector: &str,
        args: &[Value],
        deadline: Option<Instant>,
    ) -> MopResult<Value> {
        self.operations += 1;
        if let Some(reason) = &self.failed {
            return err(format!(
                "an earlier state transfer failed ({reason}): the update can only roll back"
            ));
        }
        let arity = crate::loader::selector_arity(selector);
        if arity as usize != args.len() {
            return err(format!("#{selector} takes {arity} argument(s), {} given", args.len()));
        }
        let stale = self.snapshot.as_ref().is_none_or(|s| s.log_len != self.log.len());
        if stale {
            self.end_transfer(app);
            self.snapshot = Some(Snapshot::take(app, self.log.len()));
        }
        // What the log would put back must survive collections during the run.
        let mark = app.handles.len();
        app.handles.extend(self.log_values());
        app.space.bump_epoch();
        app.scheduler.frozen = true;
        app.scheduler.frozen_depth = app.frames.len();
        let outer_deadline = app.deadline;
        app.deadline = deadline;
        let result = app.send_message(receiver, selector, args);
        app.deadline = outer_deadline;
        app.scheduler.frozen = false;
        app.handles.truncate(mark);
        let snapshot = self.snapshot.as_mut().expect("taken above");
        let n = snapshot.record_changes(app, &mut self.log);
        self.summary.instances += n;
        app.space.bump_epoch();
        match result {
            Ok(v) => Ok(v),
            Err(e) => {
                let text = e.to_string();
                let reason = text.replace(
                    "stopped: the run took longer than its time limit",
                    "the script's time limit passed",
                );
                let reason = reason.lines().next().unwrap_or("").trim().to_string();
                self.failed = Some(reason.clone());
                err(format!("state transfer #{selector} failed: {reason}"))
            }
        }
    }

    /// Why a state transfer of this session failed, if one did (the session must then
    /// roll back).
    pub fn failure(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// Drops the state-transfer snapshot (and its roots), if any.
    pub(super) fn end_transfer(&mut self, app: &mut Interp) {
        if let Some(s) = self.snapshot.take() {
            if let Some(roots) = app.undo_roots.get_mut(s.root_slot) {
                *roots = Vec::new();
            }
        }
    }
}
