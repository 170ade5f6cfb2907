//! Code compiled for an old layout that is still alive when its instances change shape.
//! Methods address fields by index: a process suspended inside a method of the old class
//! (or of one of its superclasses) whose receiver is migrated, or a block made in such a
//! method and still held, would read and write the wrong fields once the instance's
//! fields moved or were dropped. `migrateInstancesOf:to:` refuses such a migration
//! (`stale_code`), and a session whose `swapIdentityWith:` put an object of another
//! layout where such code runs fails at its end (`swap_failure`). Shape changes that
//! keep the old fields in place (new fields after them) are always safe.

use super::session::UpdateSession;
use crate::interpreter::{Frame, Interp};
use crate::object::Body;
use crate::value::{Value, WordMap};

/// How many leading fields `old` and `new` instances have in the same place.
fn kept_prefix(app: &Interp, old: Value, new: Value) -> usize {
    let (a, b) = (
        &app.space.class_info(old).instance_fields,
        &app.space.class_info(new).instance_fields,
    );
    a.iter().zip(b.iter()).take_while(|(x, y)| x == y).count()
}

/// True if instances of `old` may become instances of `new` under code compiled for
/// `old` without that code addressing a moved or dropped field.
pub(super) fn keeps_layout(app: &Interp, old: Value, new: Value) -> bool {
    old == new || kept_prefix(app, old, new) == app.space.class_info(old).instance_fields.len()
}

/// `Class>>#selector` of `method` if it was compiled for `expected`'s layout (its holder
/// is `expected` or a superclass) and may touch a field at or beyond `prefix`.
fn touches_moved_fields(app: &Interp, method: Value, expected: Value, prefix: usize) -> Option<String> {
    let m = app.space.method_of(method)?;
    let holder = m.holder.get();
    if !app.space.is_class(holder)
        || app.space.class_info(holder).instance_fields.len() <= prefix
        || !app.space.inherits_from(expected, holder)
    {
        return None;
    }
    Some(format!(
        "{}>>#{}",
        app.space.class_name(holder),
        app.space.name_of(m.selector)
    ))
}

/// Where stale code runs: `risky` says, for a receiver, the class its code expects and
/// how many leading fields it keeps. Answers the method and whether a block holds it.
fn find_stale(app: &Interp, risky: impl Fn(Value) -> Option<(Value, usize)>) -> Option<(String, bool)> {
    let in_frames = |stack: &[Value], frames: &[Frame]| -> Option<String> {
        frames.iter().find_map(|f| {
            let (expected, prefix) = risky(*stack.get(f.bp as usize)?)?;
            touches_moved_fields(app, f.method, expected, prefix)
        })
    };
    let s = &app.scheduler;
    let running = (0..s.processes.len()).find_map(|id| {
        if id == s.active {
            in_frames(&app.stack, &app.frames)
        } else {
            in_frames(&s.processes[id].stack, &s.processes[id].frames)
        }
    });
    if let Some(method) = running {
        return Some((method, false));
    }
    for i in 0..app.space.heap.table_len() {
        let v = Value::object(i as u32);
        if !app.space.heap.is_live(v) {
            continue;
        }
        if let Body::Block(b) = &app.space.heap.get(v).body {
            if let Some((expected, prefix)) = risky(b.receiver) {
                if let Some(method) = touches_moved_fields(app, b.method, expected, prefix) {
                    return Some((method, true));
                }
            }
        }
    }
    None
}

/// The advice every refusal ends with.
fn explain(method: &str, in_block: bool) -> String {
    let (what, when) = if in_block {
        ("the program holds a block made in", "no such block is held")
    } else {
        ("a process is suspended in", "that method is not running")
    };
    format!(
        "{what} {method} on one of them, and that code addresses fields that would move or be dropped; keep the old fields first and in order (add new fields after them), or update when {when}"
    )
}

/// Why the instances of `old` cannot be migrated to `new` now, if they cannot.
pub(super) fn stale_code(app: &Interp, old: Value, new: Value) -> Option<String> {
    if keeps_layout(app, old, new) {
        return None;
    }
    let prefix = kept_prefix(app, old, new);
    let of_old = |v: Value| v.is_object() && app.space.heap.is_live(v) && app.space.heap.get(v).class == old;
    let (method, in_block) = find_stale(app, |v| of_old(v).then_some((old, prefix)))?;
    Some(format!(
        "cannot migrate the instances of {}: {}",
        app.space.class_name(old),
        explain(&method, in_block)
    ))
}

impl UpdateSession {
    /// Why this session cannot commit because an identity swap put an object of another
    /// layout where code compiled for the previous object's layout runs, if it cannot.
    pub fn swap_failure(&self, app: &mut Interp) -> Option<String> {
        self.swap_failure_now(app)?;
        // A block found may be garbage not collected yet: look again after a collection.
        self.collect_garbage_keeping_log(app);
        self.swap_failure_now(app)
    }

    fn swap_failure_now(&self, app: &Interp) -> Option<String> {
        if self.swapped_shapes.is_empty() {
            return None;
        }
        let mut risky: WordMap<Value, (Value, usize)> = WordMap::default();
        for &(index, expected) in &self.swapped_shapes {
            let now = app.space.class_of(index);
            if !keeps_layout(app, expected, now) {
                risky
                    .entry(index)
                    .or_insert((expected, kept_prefix(app, expected, now)));
            }
        }
        if risky.is_empty() {
            return None;
        }
        let (method, in_block) = find_stale(app, |v| risky.get(&v).copied())?;
        Some(format!(
            "cannot swap identities of objects with different layouts: {}",
            explain(&method, in_block)
        ))
    }
}
