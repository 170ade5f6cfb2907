//! Code compiled for an old layout that is still alive when its instances are migrated.
//! Methods address fields by index: a process suspended inside a method of the old class
//! (or of one of its superclasses) whose receiver is migrated, or a block made in such a
//! method and still held, would read and write the wrong fields once the migration moved
//! or dropped the fields it uses. `migrateInstancesOf:to:` refuses such a migration
//! (`stale_code`); one that keeps the old fields in place (new fields after them) is safe.

use crate::interpreter::{Frame, Interp};
use crate::object::Body;
use crate::value::Value;

/// How many leading fields `old` and `new` instances have in the same place.
fn kept_prefix(app: &Interp, old: Value, new: Value) -> usize {
    let (a, b) = (
        &app.space.class_info(old).instance_fields,
        &app.space.class_info(new).instance_fields,
    );
    a.iter().zip(b.iter()).take_while(|(x, y)| x == y).count()
}

/// `Class>>#selector` of `method` if code compiled in it may touch a field at or beyond
/// `prefix` (its holder's layout is longer than that).
fn touches_moved_fields(app: &Interp, method: Value, prefix: usize) -> Option<String> {
    let m = app.space.method_of(method)?;
    let holder = m.holder.get();
    if !app.space.is_class(holder) || app.space.class_info(holder).instance_fields.len() <= prefix {
        return None;
    }
    Some(format!(
        "{}>>#{}",
        app.space.class_name(holder),
        app.space.name_of(m.selector)
    ))
}

/// Why the instances of `old` cannot be migrated to `new` now, if they cannot: the first
/// frame or block compiled for `old`'s layout that runs on one of them.
pub(super) fn stale_code(app: &Interp, old: Value, new: Value) -> Option<String> {
    let prefix = kept_prefix(app, old, new);
    if prefix == app.space.class_info(old).instance_fields.len() {
        return None;
    }
    let of_old = |v: Value| v.is_object() && app.space.heap.is_live(v) && app.space.heap.get(v).class == old;
    let frames = |stack: &[Value], frames: &[Frame]| -> Option<String> {
        frames.iter().find_map(|f| {
            let receiver = *stack.get(f.bp as usize)?;
            if !of_old(receiver) {
                return None;
            }
            touches_moved_fields(app, f.method, prefix)
        })
    };
    let scheduler = &app.scheduler;
    let running = (0..scheduler.processes.len()).find_map(|id| {
        if id == scheduler.active {
            frames(&app.stack, &app.frames)
        } else {
            let p = &scheduler.processes[id];
            frames(&p.stack, &p.frames)
        }
    });
    if let Some(method) = running {
        return Some(format!(
            "cannot migrate the instances of {}: a process is suspended in {method} on one of them, and that code addresses fields the migration moves or drops; keep the old fields first and in order (add new fields after them), or update when that method is not running",
            app.space.class_name(old)
        ));
    }
    for i in 0..app.space.heap.table_len() {
        let v = Value::object(i as u32);
        if !app.space.heap.is_live(v) {
            continue;
        }
        if let Body::Block(b) = &app.space.heap.get(v).body {
            if of_old(b.receiver) {
                if let Some(method) = touches_moved_fields(app, b.method, prefix) {
                    return Some(format!(
                        "cannot migrate the instances of {}: the program holds a block made in {method} on one of them, and that code addresses fields the migration moves or drops; keep the old fields first and in order (add new fields after them), or update when no such block is held",
                        app.space.class_name(old)
                    ));
                }
            }
        }
    }
    None
}
