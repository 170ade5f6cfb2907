//! The undo log of an update session: each MOP write records what it overwrote, and
//! rollback replays the records backwards.

use crate::interpreter::Interp;
use crate::object::InstanceKind;
use crate::value::Value;

/// One reversible change.
pub enum Undo {
    /// A class's method list before its first change in the session.
    Methods { class: Value, methods: Vec<Value> },
    /// A class's shape before its first change in the session (boxed: it is large, and
    /// per-object records are many).
    Shape(Box<SavedShape>),
    /// A global binding before it was set.
    Global { name: Value, previous: Option<Value> },
    /// A special object before it was set.
    Special { index: usize, previous: Value },
    /// A named or indexed slot before it was set.
    Slot {
        object: Value,
        index: SlotIndex,
        previous: Value,
        /// The slot's value when the update committed (`revert_check::seal`): a revert is
        /// refused once the program changed it.
        after: Option<Value>,
    },
    /// An object's class before `set class`.
    Class { object: Value, previous: Value },
    /// Two identities that were swapped.
    Swap {
        a: Value,
        b: Value,
        /// Fingerprints of both objects when the update committed (`revert_check::seal`).
        after: Option<(u64, u64)>,
    },
    /// Objects application code changed during a state transfer (`mop::transfer`), as they
    /// were before it ran.
    Restore(Vec<SavedObject>),
    /// A bulk migration (`migrateInstancesOf:to:`): each migrated object's index and
    /// previous fields; their previous class was `old`.
    Migration {
        /// The class the objects had.
        old: Value,
        /// The class they were given.
        new: Value,
        /// Object table index and previous field count of each migrated object.
        objects: Vec<(u32, u32)>,
        /// Their previous fields, one object after the other.
        fields: Vec<Value>,
        /// The fields the migration copied by name (new index, old index).
        copies: Vec<(usize, usize)>,
    },
    /// A process's scheduling state and stacks before a thread operation.
    Thread(Box<ThreadSnapshot>),
    /// A frame inserted below a thread's top (`Interp::inserted_frames`), to forget.
    InsertedFrame { after_serial: u64 },
    /// A class the session loaded from the class path (its global was unbound before).
    /// A rollback unbinds it again; a revert of a committed update keeps it (the program
    /// may have used it since).
    Loaded { name: Value },
}

/// An object's state before a state transfer changed it.
pub struct SavedObject {
    /// Its object table index.
    pub index: u32,
    /// Its class then.
    pub class: Value,
    /// Its fields then.
    pub fields: Box<[Value]>,
    /// Its indexable slots then, if it had any.
    pub elements: Option<Vec<Value>>,
    /// Its class, fields and indexable slots right after the state transfer (a revert
    /// is refused once the program has changed the object since: it would lose that).
    pub after: (Value, Box<[Value]>, Option<Vec<Value>>),
}

/// A class's shape, as `Undo::Shape` keeps it.
pub struct SavedShape {
    /// The class.
    pub class: Value,
    /// Its superclass then.
    pub superclass: Value,
    /// Its own fields then.
    pub own_fields: Vec<Value>,
    /// All its fields then.
    pub instance_fields: Vec<Value>,
    /// Its instance kind then.
    pub kind: InstanceKind,
    /// The class object's own slot values then (class-side variables).
    pub slots: Box<[Value]>,
}

/// Everything a thread operation can change about a process.
pub struct ThreadSnapshot {
    /// The process id.
    pub id: usize,
    /// Its Process object (kept alive with the log, so that the id is not reused).
    pub object: Value,
    /// Its run state.
    pub state: crate::scheduler::RunState,
    /// Its operand stack.
    pub stack: Vec<Value>,
    /// Its frames.
    pub frames: Vec<crate::interpreter::Frame>,
    /// The semaphore it waited on.
    pub waiting_on: Option<Value>,
    /// Its deadline.
    pub deadline: Option<std::time::Instant>,
    /// Its I/O wait.
    pub io_wait: Option<(i32, bool)>,
}

impl Undo {
    /// About how many values `trace` pushes (to size the root vector once).
    pub fn root_estimate(&self) -> usize {
        match self {
            Undo::Migration { objects, .. } => 2 + objects.len(),
            Undo::Methods { methods, .. } => 1 + methods.len(),
            Undo::Restore(saved) => saved.iter().map(|o| 2 + o.fields.len()).sum(),
            _ => 4,
        }
    }

    /// Every value the record keeps (they must stay alive: a rollback or revert puts them
    /// back, so the collector treats them as roots while the record exists).
    pub fn trace(&self, out: &mut Vec<Value>) {
        match self {
            Undo::Methods { class, methods } => {
                out.push(*class);
                out.extend_from_slice(methods);
            }
            Undo::Shape(shape) => {
                let SavedShape {
                    class,
                    superclass,
                    own_fields,
                    instance_fields,
                    slots,
                    ..
                } = &**shape;
                out.push(*class);
                out.push(*superclass);
                out.extend_from_slice(own_fields);
                out.extend_from_slice(instance_fields);
                out.extend_from_slice(slots);
            }
            Undo::Global { name, previous } => {
                out.push(*name);
                out.extend(previous.iter().copied());
            }
            Undo::Special { previous, .. } => out.push(*previous),
            Undo::Slot { object, previous, .. } => {
                out.push(*object);
                if previous.is_object() {
                    out.push(*previous);
                }
            }
            Undo::Class { object, previous } => {
                out.push(*object);
                out.push(*previous);
            }
            Undo::Swap { a, b, .. } => {
                out.push(*a);
                out.push(*b);
            }
            Undo::Restore(saved) => {
                for o in saved {
                    out.push(Value::object(o.index));
                    out.push(o.class);
                    out.extend(o.fields.iter().copied().filter(|v| v.is_object()));
                    if let Some(e) = &o.elements {
                        out.extend(e.iter().copied().filter(|v| v.is_object()));
                    }
                }
            }
            Undo::Migration {
                old,
                new,
                objects,
                fields,
                ..
            } => {
                // The objects themselves stay alive (a revert writes into them), and so do
                // the objects their previous fields referred to; immediates need no root.
                out.push(*old);
                out.push(*new);
                out.extend(objects.iter().map(|&(i, _)| Value::object(i)));
                out.extend(fields.iter().copied().filter(|v| v.is_object()));
            }
            Undo::Thread(snap) => {
                out.push(snap.object);
                out.extend_from_slice(&snap.stack);
                for f in &snap.frames {
                    f.trace(out);
                }
                out.extend(snap.waiting_on.iter().copied());
            }
            Undo::InsertedFrame { .. } => {}
            Undo::Loaded { name } => out.push(*name),
        }
    }
}

/// Which slot of an object.
#[derive(Clone, Copy, Debug)]
pub enum SlotIndex {
    /// Named field `n` (0-based).
    Field(usize),
    /// Indexable element `n` (0-based).
    Element(usize),
}

/// Why `log` cannot be reverted now, if it cannot: a state transfer's records would put
/// back objects the program has changed since the update, or per-object records would
/// overwrite the program's writes (`revert_check`).
pub fn revert_blocker(app: &Interp, log: &[Undo]) -> Option<String> {
    if let Some(reason) = super::revert_check::conflicts(app, log) {
        return Some(reason);
    }
    let mut changed = 0;
    let mut example = String::new();
    for entry in log {
        let Undo::Restore(saved) = entry else { continue };
        for o in saved {
            let v = Value::object(o.index);
            let obj = app.space.heap.get(v);
            let elements = match &obj.body {
                crate::object::Body::Array(items) => Some(items),
                _ => None,
            };
            let (class, fields, after_elements) = &o.after;
            if obj.class != *class || *obj.fields != **fields || elements != after_elements.as_ref() {
                changed += 1;
                if example.is_empty() {
                    example = crate::mop::mirrors::describe_in(app, v);
                }
            }
        }
    }
    (changed > 0).then(|| {
        format!(
            "cannot revert: the update ran application code (state transfer) and the program has changed {changed} of the objects it transformed since ({example}, ...); reverting would lose those changes: write an update that transfers the state back"
        )
    })
}

/// Replays `log` backwards on `app`, restoring everything it recorded.
pub fn roll_back(app: &mut Interp, log: Vec<Undo>) {
    for entry in log.into_iter().rev() {
        match entry {
            Undo::Methods { class, methods } => {
                let mut index = crate::value::WordMap::default();
                for (i, &m) in methods.iter().enumerate() {
                    if let Some(method) = app.space.method_of(m) {
                        index.insert(method.selector, i);
                        method.holder.set(class);
                    }
                }
                let info = app.space.class_info_mut(class);
                info.methods = methods;
                info.method_index = index;
                app.space.sync_reflection(class);
            }
            Undo::Shape(shape) => {
                let SavedShape {
                    class,
                    superclass,
                    own_fields,
                    instance_fields,
                    kind,
                    slots,
                } = *shape;
                let info = app.space.class_info_mut(class);
                info.superclass = superclass;
                info.own_fields = own_fields;
                info.instance_fields = instance_fields;
                info.kind = kind;
                app.space.heap.get_mut(class).fields = slots;
                app.space.sync_reflection(class);
            }
            Undo::Global { name, previous } => {
                let slot = app.space.global_slot(name);
                app.space.globals[slot as usize].value = previous;
            }
            Undo::Special { index, previous } => app.space.specials[index] = previous,
            Undo::Slot {
                object,
                index,
                previous,
                ..
            } => {
                let obj = app.space.heap.get_mut(object);
                match index {
                    SlotIndex::Field(i) => obj.fields[i] = previous,
                    SlotIndex::Element(i) => {
                        if let crate::object::Body::Array(items) = &mut obj.body {
                            items[i] = previous;
                        }
                    }
                }
            }
            Undo::Class { object, previous } => app.space.heap.get_mut(object).class = previous,
            Undo::Swap { a, b, .. } => app.space.heap.swap_identity(a, b),
            Undo::Restore(saved) => {
                for o in saved {
                    let obj = app.space.heap.get_mut(Value::object(o.index));
                    obj.class = o.class;
                    obj.fields = o.fields;
                    if let Some(e) = o.elements {
                        obj.body = crate::object::Body::Array(e);
                    }
                }
            }
            Undo::Migration {
                old,
                objects,
                fields,
                copies,
                ..
            } => app.space.heap.unmigrate_instances(old, &objects, &fields, &copies),
            Undo::Thread(snap) => {
                let ThreadSnapshot {
                    id,
                    object: _,
                    state,
                    stack,
                    frames,
                    waiting_on,
                    deadline,
                    io_wait,
                } = *snap;
                if id == app.scheduler.active {
                    app.stack = stack;
                    app.frames = frames;
                } else {
                    app.scheduler.processes[id].stack = stack;
                    app.scheduler.processes[id].frames = frames;
                }
                if state != crate::scheduler::RunState::Terminated {
                    app.scheduler.add_live(id);
                }
                app.scheduler.set_deadline(id, deadline);
                let p = &mut app.scheduler.processes[id];
                p.state = state;
                p.io_wait = io_wait;
                if let Some(sem) = waiting_on {
                    p.waiting_on = Some(sem);
                    let q = app.scheduler.waiters.entry(sem).or_default();
                    if !q.contains(&id) {
                        q.push_back(id);
                    }
                }
                app.reregister_process(id);
            }
            Undo::InsertedFrame { after_serial } => app.inserted_frames.retain(|i| i.after_serial != after_serial),
            Undo::Loaded { name } => {
                let slot = app.space.global_slot(name);
                app.space.globals[slot as usize].value = None;
            }
        }
    }
    app.space.bump_epoch();
}
