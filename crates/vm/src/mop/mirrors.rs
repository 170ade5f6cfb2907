//! Mirror primitives: the Smalltalk face of the MOP, installed only in a hypervisor space.
//!
//! A mirror is a hypervisor object (an instance of a `Mirror` subclass from
//! `smalltalk/hypervisor`) whose body (`Body::Mirror`, no fields: making one allocates only
//! its table slot) holds a handle — an index into the application interpreter's `handles`,
//! which its collector treats as roots — and the id of the session that made it. A mirror
//! on a SmallInteger or immediate Double holds the value itself and needs no handle. Using
//! a mirror of another (ended) session is an error.
//! Plain data (numbers, strings, symbols, nil/true/false, Arrays of them) crosses between
//! the spaces by copy; nothing else does.

use super::session::{MopError, SlotRef, UpdateSession};
use crate::error::{prim_fail, VmError};
use crate::interpreter::{Interp, PrimFn};
use crate::object::Body;
use crate::space::Special;
use crate::value::Value;

/// The state of an update session, held by the hypervisor interpreter while a script runs.
pub struct MirrorSession {
    /// The paused application interpreter. Valid while the session exists: the session is
    /// created and dropped around the script run, while the application is suspended.
    pub app: *mut Interp,
    /// The Rust MOP session (undo log, summary).
    pub session: UpdateSession,
    /// Distinguishes this session's mirrors from older ones.
    pub id: i64,
    /// The hypervisor's mirror classes, looked up once per session (indexed like
    /// `MIRROR_CLASSES`).
    pub classes: [Option<Value>; MIRROR_CLASSES.len()],
    /// Raises the application's interrupt flag at the script's deadline while application
    /// code runs (state transfer); made on first use.
    app_watchdog: Option<crate::watchdog::Watchdog>,
    /// Hypervisor Symbols already resolved to the application's Symbol of the same name
    /// (slot names of `slotAt:` and `slotAt:put:`).
    symbols: crate::value::WordMap<Value, Value>,
}

impl MirrorSession {
    /// A session over `app` (see `app`) whose mirrors carry `id`.
    pub fn new(app: *mut Interp, id: i64) -> MirrorSession {
        MirrorSession {
            app,
            session: UpdateSession::new(),
            id,
            classes: Default::default(),
            app_watchdog: None,
            symbols: Default::default(),
        }
    }
}

/// The mirror classes of `smalltalk/hypervisor` the primitives make instances of or test
/// for; `Mirror` is their common superclass.
pub const MIRROR_CLASSES: [&str; 6] = [
    "Mirror",
    "ObjectMirror",
    "ClassMirror",
    "MethodMirror",
    "ThreadMirror",
    "FrameMirror",
];

/// The hypervisor class `MIRROR_CLASSES[k]` (cached in the session).
fn mirror_class(interp: &mut Interp, k: usize) -> Result<Option<Value>, VmError> {
    if let Some(Some(c)) = interp.mirror_session.as_ref().map(|s| s.classes[k]) {
        return Ok(Some(c));
    }
    let class = interp.load_class(MIRROR_CLASSES[k])?;
    if let (Some(s), Some(c)) = (interp.mirror_session.as_mut(), class) {
        s.classes[k] = Some(c);
    }
    Ok(class)
}

fn mop(e: MopError) -> VmError {
    VmError::PrimitiveFailed(e.to_string())
}

/// The session and the application, or a clear error outside a session.
fn session(interp: &mut Interp) -> Result<(&mut MirrorSession, &mut Interp), VmError> {
    match interp.mirror_session.as_mut() {
        Some(s) => {
            // SAFETY: see `MirrorSession::app`.
            let app = unsafe { &mut *s.app };
            Ok((s, app))
        }
        None => prim_fail("MirrorError: mirrors are only valid inside an update session"),
    }
}

/// Makes a hypervisor mirror on application value `v` (nil for the application's nil when
/// `nil_is_nil`).
///
/// A mirror on a SmallInteger or immediate Double needs no handle (the value means the
/// same in both spaces): it holds the value itself, and minus the session id.
fn wrap(interp: &mut Interp, v: Value) -> Result<Value, VmError> {
    let (s, app) = session(interp)?;
    let id = s.id;
    if v.is_immediate() {
        let class = match mirror_class(interp, 1)? {
            Some(c) => c,
            None => return prim_fail("MirrorError: the hypervisor library has no ObjectMirror"),
        };
        return Ok(new_mirror(interp, class, v, -id));
    }
    let kind = match &app.space.heap.get(v).body {
        Body::Class(_) => 2,
        Body::Method(_) => 3,
        Body::Context(_) => 5,
        Body::Plain if app.process_id(v).is_some() => 4,
        _ => 1,
    };
    let class_name = MIRROR_CLASSES[kind];
    let handle = app.handles.len() as i64;
    app.handles.push(v);
    let class = match mirror_class(interp, kind)? {
        Some(c) => c,
        None => return prim_fail(format!("MirrorError: the hypervisor library has no {class_name}")),
    };
    Ok(new_mirror(interp, class, Value::small(handle), id))
}

/// A mirror object of `class` (its body holds `handle` and `session`; it has no fields,
/// so making one allocates nothing but its table slot).
pub fn new_mirror(interp: &mut Interp, class: Value, handle: Value, session: i64) -> Value {
    interp.space.new_with_body(class, Body::Mirror { handle, session })
}

/// Like `wrap`, but the application's nil becomes the hypervisor's nil.
fn wrap_or_nil(interp: &mut Interp, v: Option<Value>) -> Result<Value, VmError> {
    let (_, app) = session(interp)?;
    match v {
        Some(v) if v != app.nil() => wrap(interp, v),
        _ => Ok(interp.nil()),
    }
}

/// The handle and session of a mirror object, or `None` for anything else.
#[inline]
fn mirror_parts(interp: &Interp, v: Value) -> Option<(Value, i64)> {
    if !v.is_object() {
        return None;
    }
    match interp.space.heap.get(v).body {
        Body::Mirror { handle, session } => Some((handle, session)),
        _ => None,
    }
}

/// True if `v` is a mirror object.
fn is_mirror(interp: &mut Interp, v: Value) -> bool {
    mirror_parts(interp, v).is_some()
}

/// The application value a hypervisor value denotes: a mirror's target, or a copy of
/// plain data.
fn unwrap(interp: &mut Interp, v: Value) -> Result<Value, VmError> {
    let Some((handle, id)) = mirror_parts(interp, v) else {
        return copy_in(interp, v, 0);
    };
    let (s, app) = session(interp)?;
    if id == -s.id && handle.is_immediate() {
        return Ok(handle);
    }
    if id != s.id {
        return prim_fail("MirrorError: this mirror belongs to a session that has ended");
    }
    let h = handle.as_small().unwrap_or(-1);
    match app.handles.get(h as usize) {
        Some(&target) if h >= 0 => Ok(target),
        _ => prim_fail("MirrorError: invalid mirror handle"),
    }
}

/// Plain data read out of one space, to be rebuilt in the other.
enum Plain {
    Str(String),
    Symbol(String),
    Double(f64),
    Big(num_bigint::BigInt),
    Array(Vec<Value>),
    Special(Special),
}

/// Reads `v` of `from` as plain data, or `None` if it is not plain data.
fn read_plain(from: &Interp, v: Value) -> Option<Plain> {
    let space = &from.space;
    Some(match &space.heap.get(v).body {
        Body::Str(s) => Plain::Str(s.to_string()),
        Body::Symbol(s) => Plain::Symbol(s.to_string()),
        Body::Double(d) => Plain::Double(*d),
        Body::BigInt(b) => Plain::Big((**b).clone()),
        Body::Array(items) if space.class_of(v) == space.special(Special::ArrayClass) => Plain::Array(items.clone()),
        _ if v == space.nil() => Plain::Special(Special::Nil),
        _ if v == space.special(Special::True) => Plain::Special(Special::True),
        _ if v == space.special(Special::False) => Plain::Special(Special::False),
        _ => return None,
    })
}

/// Rebuilds plain data in `to` (array items already copied).
fn build_plain(to: &mut Interp, data: Plain, items: Vec<Value>) -> Value {
    match data {
        Plain::Str(s) => to.space.new_string(&s),
        Plain::Symbol(s) => to.space.symbol(&s),
        Plain::Double(d) => to.space.new_double(d),
        Plain::Big(b) => to.space.new_bigint(b),
        Plain::Array(_) => to.space.new_array(items),
        Plain::Special(s) => to.space.special(s),
    }
}

/// Copies plain data from the hypervisor into the application space.
fn copy_in(interp: &mut Interp, v: Value, depth: usize) -> Result<Value, VmError> {
    if v.is_immediate() {
        return Ok(v);
    }
    if depth > 64 {
        return prim_fail("MirrorError: data nested too deeply to copy");
    }
    if is_mirror(interp, v) {
        return unwrap(interp, v);
    }
    let Some(data) = read_plain(interp, v) else {
        let class = interp.space.class_name(interp.space.class_of(v));
        return prim_fail(format!(
            "MirrorError: a hypervisor {class} cannot be passed to the application (only mirrors and plain data)"
        ));
    };
    let mut items = Vec::new();
    if let Plain::Array(elements) = &data {
        for &e in elements {
            items.push(copy_in(interp, e, depth + 1)?);
        }
    }
    let (_, app) = session(interp)?;
    Ok(build_plain(app, data, items))
}

/// Copies plain data from the application into the hypervisor (`asLocal`).
fn copy_out(interp: &mut Interp, v: Value, depth: usize) -> Result<Value, VmError> {
    if v.is_immediate() {
        return Ok(v);
    }
    if depth > 64 {
        return prim_fail("MirrorError: data nested too deeply to copy");
    }
    let (_, app) = session(interp)?;
    let Some(data) = read_plain(app, v) else {
        let class = app.space.class_name(app.space.class_of(v));
        return prim_fail(format!("MirrorError: asLocal copies only plain data, not a {class}"));
    };
    let mut items = Vec::new();
    if let Plain::Array(elements) = &data {
        for &e in elements {
            items.push(copy_out(interp, e, depth + 1)?);
        }
    }
    Ok(build_plain(interp, data, items))
}

/// A Symbol or String argument as text.
fn name_arg(interp: &Interp, v: Value) -> Result<String, VmError> {
    match interp.space.str_of(v) {
        Some(s) => Ok(s.to_string()),
        None => prim_fail("MirrorError: expected a Symbol or String"),
    }
}

/// A slot reference: a name or a 1-based index. A hypervisor Symbol is resolved to the
/// application's Symbol once per session (no text is copied per access).
fn slot_arg(interp: &mut Interp, v: Value) -> Result<SlotRef, VmError> {
    if let Some(i) = v.as_small() {
        return Ok(SlotRef::Index(i));
    }
    if let Some(&sym) = interp.mirror_session.as_ref().and_then(|s| s.symbols.get(&v)) {
        return Ok(SlotRef::Symbol(sym));
    }
    let name = name_arg(interp, v)?;
    let is_symbol = v.is_object() && matches!(interp.space.heap.get(v).body, Body::Symbol(_));
    let (s, app) = session(interp)?;
    match app.space.existing_symbol(&name) {
        Some(sym) if is_symbol => {
            s.symbols.insert(v, sym);
            Ok(SlotRef::Symbol(sym))
        }
        _ => Ok(SlotRef::Name(name)),
    }
}

/// Runs a MOP operation on (session, app) and answers its result.
macro_rules! with_session {
    ($interp:expr, |$s:ident, $app:ident| $body:expr) => {{
        let ($s, $app) = session($interp)?;
        let session_ref: &mut UpdateSession = &mut $s.session;
        let $s = session_ref;
        $body.map_err(mop)?
    }};
}

// --- ObjectSpaceMirror ------------------------------------------------------------

fn class_named(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let name = name_arg(interp, interp.arg(argc, 0))?;
    let c = with_session!(interp, |s, app| s.class_named(app, &name));
    let m = wrap_or_nil(interp, c)?;
    interp.prim_return(argc, m)
}

fn create_class(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let name = name_arg(interp, interp.arg(argc, 0))?;
    let superclass = unwrap(interp, interp.arg(argc, 1))?;
    let fields_v = interp.arg(argc, 2);
    let fields: Vec<String> = match interp.space.array_of(fields_v) {
        Some(items) => items
            .clone()
            .into_iter()
            .map(|f| name_arg(interp, f))
            .collect::<Result<_, _>>()?,
        None if fields_v == interp.nil() => Vec::new(),
        None => return prim_fail("MirrorError: fields must be an Array of Symbols"),
    };
    let c = with_session!(interp, |s, app| s.create_class_named(app, &name, superclass, &fields));
    let m = wrap(interp, c)?;
    interp.prim_return(argc, m)
}

fn install_class(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = unwrap(interp, interp.arg(argc, 0))?;
    with_session!(interp, |s, app| s.install_class(app, c));
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn remove_class(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = unwrap(interp, interp.arg(argc, 0))?;
    with_session!(interp, |s, app| s.remove_class(app, c));
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn compile_in(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let source = name_arg(interp, interp.arg(argc, 0))?;
    let class = unwrap(interp, interp.arg(argc, 1))?;
    let m = with_session!(interp, |s, app| s.compile(app, &source, class));
    let m = wrap(interp, m)?;
    interp.prim_return(argc, m)
}

fn new_instance_of(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let class = unwrap(interp, interp.arg(argc, 0))?;
    let o = with_session!(interp, |s, app| s.new_instance_of(app, class));
    let m = wrap(interp, o)?;
    interp.prim_return(argc, m)
}

fn wrap_all(interp: &mut Interp, values: Vec<Value>) -> Result<Value, VmError> {
    let mut mirrors = Vec::with_capacity(values.len());
    for v in values {
        mirrors.push(wrap(interp, v)?);
    }
    Ok(interp.space.new_array(mirrors))
}

fn instances_of(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let class = unwrap(interp, interp.arg(argc, 0))?;
    let all = with_session!(interp, |s, app| s.instances_of(app, class));
    let a = wrap_all(interp, all)?;
    interp.prim_return(argc, a)
}

/// `migrateInstancesOf:to:defaults:` (and, with an empty Array, `migrateInstancesOf:to:`).
fn migrate_instances(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let old = unwrap(interp, interp.arg(argc, 0))?;
    let new = unwrap(interp, interp.arg(argc, 1))?;
    let defaults = if argc > 2 {
        defaults_arg(interp, interp.arg(argc, 2))?
    } else {
        Vec::new()
    };
    let n = with_session!(interp, |s, app| s.migrate_instances(app, old, new, &defaults));
    interp.prim_return(argc, Value::small(n as i64))
}

/// A `defaults:` argument: an Array of field name, value pairs (values copied in).
fn defaults_arg(interp: &mut Interp, v: Value) -> Result<Vec<(String, Value)>, VmError> {
    let Some(items) = interp.space.array_of(v).cloned() else {
        return prim_fail("MirrorError: defaults must be an Array of field name, value pairs, e.g. #(#z 0)");
    };
    if items.len() % 2 != 0 {
        return prim_fail(format!(
            "MirrorError: defaults must be field name, value pairs (got {} elements)",
            items.len()
        ));
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    for pair in items.chunks(2) {
        let name = name_arg(interp, pair[0])?;
        let value = copy_in(interp, pair[1], 0)?;
        out.push((name, value));
    }
    Ok(out)
}

/// `primMigrateInstancesOf:to:` (for `migrateInstancesOf:to:using:`): migrates like the
/// declarative form, then answers an Array of old, new mirror pairs: each old mirror is
/// on a copy of the instance as it was (class and fields), each new one on the migrated
/// instance itself.
fn migrate_instances_pairs(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let old = unwrap(interp, interp.arg(argc, 0))?;
    let new = unwrap(interp, interp.arg(argc, 1))?;
    let migrated = with_session!(interp, |s, app| s.migrate_instances_keeping_old(app, old, new));
    let mut mirrors = Vec::with_capacity(migrated.len() * 2);
    for (before, after) in migrated {
        mirrors.push(wrap(interp, before)?);
        mirrors.push(wrap(interp, after)?);
    }
    let a = interp.space.new_array(mirrors);
    interp.prim_return(argc, a)
}

fn class_of(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let o = unwrap(interp, interp.arg(argc, 0))?;
    let (_, app) = session(interp)?;
    let c = app.space.class_of(o);
    let m = wrap(interp, c)?;
    interp.prim_return(argc, m)
}

fn special_object_at(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let name = name_arg(interp, interp.arg(argc, 0))?;
    let (s, app) = session(interp)?;
    let v = s.session.special_object_at(app, &name).map_err(mop)?;
    let m = wrap(interp, v)?;
    interp.prim_return(argc, m)
}

fn special_object_at_put(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let name = name_arg(interp, interp.arg(argc, 0))?;
    let v = unwrap(interp, interp.arg(argc, 1))?;
    with_session!(interp, |s, app| s.special_object_at_put(app, &name, v));
    let r = interp.arg(argc, 1);
    interp.prim_return(argc, r)
}

fn global_at(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let name = name_arg(interp, interp.arg(argc, 0))?;
    let (s, app) = session(interp)?;
    let v = s.session.global_at(app, &name);
    let m = wrap_or_nil(interp, v)?;
    interp.prim_return(argc, m)
}

fn global_at_put(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let name = name_arg(interp, interp.arg(argc, 0))?;
    let v = unwrap(interp, interp.arg(argc, 1))?;
    let (s, app) = session(interp)?;
    let sym = app.space.symbol(&name);
    s.session.global_at_put(app, sym, v).map_err(mop)?;
    let r = interp.arg(argc, 1);
    interp.prim_return(argc, r)
}

fn mirror_on(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let v = unwrap(interp, interp.arg(argc, 0))?;
    let m = wrap(interp, v)?;
    interp.prim_return(argc, m)
}

fn threads(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (s, app) = session(interp)?;
    let all = s.session.threads(app);
    let a = wrap_all(interp, all)?;
    interp.prim_return(argc, a)
}

fn create_thread(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let sel = name_arg(interp, interp.arg(argc, 0))?;
    let receiver = unwrap(interp, interp.arg(argc, 1))?;
    let t = with_session!(interp, |s, app| s.create_thread_sending(app, &sel, receiver));
    let m = wrap(interp, t)?;
    interp.prim_return(argc, m)
}

fn install_thread(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = unwrap(interp, interp.arg(argc, 0))?;
    with_session!(interp, |s, app| s.install_thread(app, t));
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn create_frame(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let sel = name_arg(interp, interp.arg(argc, 0))?;
    let receiver = unwrap(interp, interp.arg(argc, 1))?;
    let f = with_session!(interp, |s, app| s.create_frame_sending(app, &sel, receiver));
    let m = wrap(interp, f)?;
    interp.prim_return(argc, m)
}

fn insert_frame(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let created = unwrap(interp, interp.arg(argc, 0))?;
    let above = unwrap(interp, interp.arg(argc, 1))?;
    with_session!(interp, |s, app| s.insert_frame(app, t, created, above));
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

// --- ThreadMirror / FrameMirror ------------------------------------------------------

fn stack_frames(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let frames = with_session!(interp, |s, app| s.stack_frames(app, t));
    let a = wrap_all(interp, frames)?;
    interp.prim_return(argc, a)
}

fn current_frame(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let frames = with_session!(interp, |s, app| s.stack_frames(app, t));
    let m = wrap_or_nil(interp, frames.first().copied())?;
    interp.prim_return(argc, m)
}

fn set_current_frame(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let f = unwrap(interp, interp.arg(argc, 0))?;
    with_session!(interp, |s, app| s.set_current_frame(app, t, f));
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn terminate_thread(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    with_session!(interp, |s, app| s.terminate_thread(app, t));
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn thread_id_of(interp: &mut Interp, argc: usize) -> Result<(Value, usize), VmError> {
    let t = target(interp, argc)?;
    let (_, app) = session(interp)?;
    match app.process_id(t) {
        Some(id) => Ok((t, id)),
        None => prim_fail("MirrorError: not a thread"),
    }
}

fn thread_priority(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (_, id) = thread_id_of(interp, argc)?;
    let (_, app) = session(interp)?;
    let p = app.scheduler.processes[id].priority;
    interp.prim_return(argc, Value::small(p))
}

fn thread_name(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (t, id) = thread_id_of(interp, argc)?;
    let (_, app) = session(interp)?;
    let name = app
        .space
        .heap
        .get(t)
        .fields
        .get(1)
        .and_then(|&n| app.space.str_of(n).map(str::to_string));
    let name = name.unwrap_or_else(|| format!("Process {id}"));
    let v = interp.space.new_string(&name);
    interp.prim_return(argc, v)
}

fn is_at_update_point(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (_, id) = thread_id_of(interp, argc)?;
    let (_, app) = session(interp)?;
    let at = app.scheduler.processes[id].parked_for_update;
    let v = interp.space.boolean(at);
    interp.prim_return(argc, v)
}

/// The live frame a FrameMirror denotes, and the stack holding it.
fn frame_of(interp: &mut Interp, argc: usize) -> Result<(crate::object::FrameRef, crate::interpreter::Frame), VmError> {
    let t = target(interp, argc)?;
    let (_, app) = session(interp)?;
    app.context_frame(t)
        .map_or_else(|| prim_fail("MirrorError: that frame is dead"), Ok)
}

fn frame_stack_value(interp: &mut Interp, r: crate::object::FrameRef, index: usize) -> Result<Value, VmError> {
    let (_, app) = session(interp)?;
    let id = r.process as usize;
    let stack = if id == app.scheduler.active {
        &app.stack
    } else {
        &app.scheduler.processes[id].stack
    };
    Ok(stack[index])
}

fn frame_method(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (_, f) = frame_of(interp, argc)?;
    let m = wrap(interp, f.method)?;
    interp.prim_return(argc, m)
}

fn frame_receiver(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (r, f) = frame_of(interp, argc)?;
    let v = frame_stack_value(interp, r, f.bp as usize)?;
    let m = wrap(interp, v)?;
    interp.prim_return(argc, m)
}

fn frame_sender(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (r, _) = frame_of(interp, argc)?;
    let (_, app) = session(interp)?;
    let sender = if r.depth == 0 {
        None
    } else {
        Some(app.context_object(r.process as usize, r.depth as usize - 1))
    };
    let m = wrap_or_nil(interp, sender)?;
    interp.prim_return(argc, m)
}

fn frame_pc(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (_, f) = frame_of(interp, argc)?;
    interp.prim_return(argc, Value::small(f.pc as i64))
}

fn frame_temp_at(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (r, f) = frame_of(interp, argc)?;
    let Some(i) = interp.arg(argc, 0).as_small() else {
        return prim_fail("MirrorError: the index must be an Integer");
    };
    let code = unsafe { &*f.code };
    let n = code.num_args as i64 + code.num_temps as i64;
    if i < 1 || i > n {
        return prim_fail(format!("MirrorError: temp index {i} out of bounds 1 to {n}"));
    }
    let v = frame_stack_value(interp, r, f.bp as usize + i as usize)?;
    let m = wrap(interp, v)?;
    interp.prim_return(argc, m)
}

fn frame_temp_at_put(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let Some(i) = interp.arg(argc, 0).as_small() else {
        return prim_fail("MirrorError: the index must be an Integer");
    };
    let v = unwrap(interp, interp.arg(argc, 1))?;
    with_session!(interp, |s, app| s.frame_temp_at_put(app, t, i, v));
    let r = interp.arg(argc, 1);
    interp.prim_return(argc, r)
}

// --- Mirror / ObjectMirror ---------------------------------------------------------

fn target(interp: &mut Interp, argc: usize) -> Result<Value, VmError> {
    let r = interp.receiver(argc);
    unwrap(interp, r)
}

fn mirror_is_nil(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let (_, app) = session(interp)?;
    let b = t == app.nil();
    let v = interp.space.boolean(b);
    interp.prim_return(argc, v)
}

fn mirror_as_local(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let v = copy_out(interp, t, 0)?;
    interp.prim_return(argc, v)
}

fn mirror_print_string(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let (_, app) = session(interp)?;
    let text = describe_in(app, t);
    let v = interp.space.new_string(&text);
    interp.prim_return(argc, v)
}

/// A description of an application value made by the VM (no application code runs).
pub fn describe_in(app: &Interp, v: Value) -> String {
    if let Some(i) = v.as_small() {
        return i.to_string();
    }
    if let Some(d) = v.as_double() {
        return crate::primitives::double::format_double(d);
    }
    let space = &app.space;
    match &space.heap.get(v).body {
        Body::Str(s) => format!("'{s}'"),
        Body::Symbol(s) => format!("#{s}"),
        Body::Double(d) => crate::primitives::double::format_double(*d),
        Body::BigInt(b) => b.to_string(),
        Body::Class(_) => space.class_name(v),
        Body::Method(m) => format!("{}>>#{}", space.class_name(m.holder.get()), space.name_of(m.selector)),
        _ if v == space.nil() => "nil".into(),
        _ if v == space.special(Special::True) => "true".into(),
        _ if v == space.special(Special::False) => "false".into(),
        _ => {
            let name = space.class_name(space.class_of(v));
            let article = if name.starts_with(['A', 'E', 'I', 'O', 'U']) {
                "an"
            } else {
                "a"
            };
            format!("{article} {name}")
        }
    }
}

fn mirror_equals(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let other = interp.arg(argc, 0);
    let same = if is_mirror(interp, other) {
        let a = target(interp, argc)?;
        let b = unwrap(interp, other)?;
        a == b
    } else {
        false
    };
    let v = interp.space.boolean(same);
    interp.prim_return(argc, v)
}

fn mirror_hash(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let h = if t.is_object() {
        t.index() as i64
    } else {
        (t.raw() >> 2) as i64 & 0x3fff_ffff
    };
    interp.prim_return(argc, Value::small(h))
}

/// `perform:`, `perform:with:`, `perform:with:with:`: state transfer (`mop::transfer`).
fn perform(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let receiver = target(interp, argc)?;
    let selector = name_arg(interp, interp.arg(argc, 0))?;
    let mut args = Vec::with_capacity(argc - 1);
    for i in 1..argc {
        args.push(unwrap(interp, interp.arg(argc, i))?);
    }
    let deadline = interp.deadline;
    let (s, app) = session(interp)?;
    if let Some(d) = deadline {
        let flag = app.interrupt.clone();
        s.app_watchdog
            .get_or_insert_with(|| crate::watchdog::Watchdog::new(flag))
            .arm(d);
    }
    let result = s.session.perform(app, receiver, &selector, &args, deadline);
    if let Some(w) = &s.app_watchdog {
        w.disarm();
    }
    let v = result.map_err(mop)?;
    let m = wrap(interp, v)?;
    interp.prim_return(argc, m)
}

fn class_mirror_of(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let (_, app) = session(interp)?;
    let c = app.space.class_of(t);
    let m = wrap(interp, c)?;
    interp.prim_return(argc, m)
}

fn set_class(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let c = unwrap(interp, interp.arg(argc, 0))?;
    with_session!(interp, |s, app| s.set_class(app, t, c));
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn slot_at(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let slot = slot_arg(interp, interp.arg(argc, 0))?;
    let (s, app) = session(interp)?;
    let v = s.session.slot_at(app, t, &slot).map_err(mop)?;
    let m = wrap(interp, v)?;
    interp.prim_return(argc, m)
}

fn slot_at_put(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let slot = slot_arg(interp, interp.arg(argc, 0))?;
    let v = unwrap(interp, interp.arg(argc, 1))?;
    with_session!(interp, |s, app| s.slot_at_put(app, t, &slot, v));
    let r = interp.arg(argc, 1);
    interp.prim_return(argc, r)
}

fn swap_identity_with(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = target(interp, argc)?;
    let b = unwrap(interp, interp.arg(argc, 0))?;
    with_session!(interp, |s, app| s.swap_identity(app, a, b));
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

// --- ClassMirror -------------------------------------------------------------------

fn name_of_class(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let (_, app) = session(interp)?;
    if !app.space.is_class(t) {
        return prim_fail("MirrorError: not a class");
    }
    let name = app.space.class_name(t);
    let v = interp.space.symbol(&name);
    interp.prim_return(argc, v)
}

fn superclass(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let (_, app) = session(interp)?;
    if !app.space.is_class(t) {
        return prim_fail("MirrorError: not a class");
    }
    let s = app.space.class_info(t).superclass;
    let m = wrap_or_nil(interp, Some(s))?;
    interp.prim_return(argc, m)
}

fn set_superclass(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let s = unwrap(interp, interp.arg(argc, 0))?;
    with_session!(interp, |sess, app| sess.set_superclass(app, t, s));
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn fields(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let (_, app) = session(interp)?;
    if !app.space.is_class(t) {
        return prim_fail("MirrorError: not a class");
    }
    let names: Vec<String> = app
        .space
        .class_info(t)
        .instance_fields
        .iter()
        .map(|&f| app.space.name_of(f))
        .collect();
    let syms = names.iter().map(|n| interp.space.symbol(n)).collect();
    let a = interp.space.new_array(syms);
    interp.prim_return(argc, a)
}

fn add_field(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let name = name_arg(interp, interp.arg(argc, 0))?;
    with_session!(interp, |s, app| s.add_field(app, t, &name));
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn remove_field(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let name = name_arg(interp, interp.arg(argc, 0))?;
    with_session!(interp, |s, app| s.remove_field(app, t, &name));
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn selectors(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let (s, app) = session(interp)?;
    let names = s.session.selectors(app, t).map_err(mop)?;
    let syms = names.iter().map(|n| interp.space.symbol(n)).collect();
    let a = interp.space.new_array(syms);
    interp.prim_return(argc, a)
}

fn method_at(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let sel = name_arg(interp, interp.arg(argc, 0))?;
    let (s, app) = session(interp)?;
    let m = s.session.method_at(app, t, &sel).map_err(mop)?;
    let m = wrap_or_nil(interp, m)?;
    interp.prim_return(argc, m)
}

fn install_method(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let m = unwrap(interp, interp.arg(argc, 0))?;
    with_session!(interp, |s, app| s.install_method(app, t, m));
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn remove_method(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let sel = name_arg(interp, interp.arg(argc, 0))?;
    with_session!(interp, |s, app| s.remove_method(app, t, &sel));
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn compile_and_install(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let source = name_arg(interp, interp.arg(argc, 0))?;
    let m = with_session!(interp, |s, app| s.compile_and_install(app, t, &source));
    let m = wrap(interp, m)?;
    interp.prim_return(argc, m)
}

fn basic_new(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let o = with_session!(interp, |s, app| s.new_instance_of(app, t));
    let m = wrap(interp, o)?;
    interp.prim_return(argc, m)
}

fn all_instances(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let all = with_session!(interp, |s, app| s.instances_of(app, t));
    let a = wrap_all(interp, all)?;
    interp.prim_return(argc, a)
}

fn class_side(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let (_, app) = session(interp)?;
    if !app.space.is_class(t) {
        return prim_fail("MirrorError: not a class");
    }
    let meta = app.space.class_of(t);
    let m = wrap(interp, meta)?;
    interp.prim_return(argc, m)
}

// --- MethodMirror ------------------------------------------------------------------

fn method_selector(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let (_, app) = session(interp)?;
    let Some(m) = app.space.method_of(t) else {
        return prim_fail("MirrorError: not a method");
    };
    let name = app.space.name_of(m.selector);
    let v = interp.space.symbol(&name);
    interp.prim_return(argc, v)
}

fn method_class(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let (_, app) = session(interp)?;
    let Some(m) = app.space.method_of(t) else {
        return prim_fail("MirrorError: not a method");
    };
    let holder = m.holder.get();
    let v = wrap(interp, holder)?;
    interp.prim_return(argc, v)
}

fn method_source(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let t = target(interp, argc)?;
    let (_, app) = session(interp)?;
    let Some(m) = app.space.method_of(t) else {
        return prim_fail("MirrorError: not a method");
    };
    let source = m.source.to_string();
    let v = interp.space.new_string(&source);
    interp.prim_return(argc, v)
}

/// The mirror primitives, by class and selector (hypervisor spaces only).
pub fn lookup(class_name: &str, selector: &str) -> Option<PrimFn> {
    Some(match (class_name, selector) {
        ("ObjectSpaceMirror", "classNamed:") => class_named,
        ("ObjectSpaceMirror", "createClassNamed:superclass:fields:") => create_class,
        ("ObjectSpaceMirror", "installClass:") => install_class,
        ("ObjectSpaceMirror", "removeClass:") => remove_class,
        ("ObjectSpaceMirror", "compile:in:") => compile_in,
        ("ObjectSpaceMirror", "newInstanceOf:") => new_instance_of,
        ("ObjectSpaceMirror", "instancesOf:") => instances_of,
        ("ObjectSpaceMirror", "classOf:") => class_of,
        ("ObjectSpaceMirror", "migrateInstancesOf:to:") => migrate_instances,
        ("ObjectSpaceMirror", "migrateInstancesOf:to:defaults:") => migrate_instances,
        ("ObjectSpaceMirror", "primMigrateInstancesOf:to:") => migrate_instances_pairs,
        ("ObjectSpaceMirror", "specialObjectAt:") => special_object_at,
        ("ObjectSpaceMirror", "specialObjectAt:put:") => special_object_at_put,
        ("ObjectSpaceMirror", "globalAt:") => global_at,
        ("ObjectSpaceMirror", "globalAt:put:") => global_at_put,
        ("ObjectSpaceMirror", "mirrorOn:") => mirror_on,
        ("ObjectSpaceMirror", "threads") => threads,
        ("ObjectSpaceMirror", "createThreadSending:to:") => create_thread,
        ("ObjectSpaceMirror", "installThread:") => install_thread,
        ("ObjectSpaceMirror", "createFrameSending:to:") => create_frame,
        ("ThreadMirror", "stackFrames") => stack_frames,
        ("ThreadMirror", "currentFrame") => current_frame,
        ("ThreadMirror", "currentFrame:") => set_current_frame,
        ("ThreadMirror", "terminate") => terminate_thread,
        ("ThreadMirror", "insertFrame:above:") => insert_frame,
        ("ThreadMirror", "isAtUpdatePoint") => is_at_update_point,
        ("ThreadMirror", "priority") => thread_priority,
        ("ThreadMirror", "name") => thread_name,
        ("FrameMirror", "method") => frame_method,
        ("FrameMirror", "receiver") => frame_receiver,
        ("FrameMirror", "sender") => frame_sender,
        ("FrameMirror", "pc") => frame_pc,
        ("FrameMirror", "tempAt:") => frame_temp_at,
        ("FrameMirror", "tempAt:put:") => frame_temp_at_put,
        ("Mirror", "isNil") => mirror_is_nil,
        ("Mirror", "asLocal") => mirror_as_local,
        ("Mirror", "printString") => mirror_print_string,
        ("Mirror", "=") => mirror_equals,
        ("Mirror", "hash") => mirror_hash,
        ("ObjectMirror", "classMirror") => class_mirror_of,
        ("ObjectMirror", "setClass:") => set_class,
        ("ObjectMirror", "slotAt:") => slot_at,
        ("ObjectMirror", "slotAt:put:") => slot_at_put,
        ("ObjectMirror", "swapIdentityWith:") => swap_identity_with,
        ("ObjectMirror", "perform:") => perform,
        ("ObjectMirror", "perform:with:") => perform,
        ("ObjectMirror", "perform:with:with:") => perform,
        ("ClassMirror", "name") => name_of_class,
        ("ClassMirror", "superclass") => superclass,
        ("ClassMirror", "superclass:") => set_superclass,
        ("ClassMirror", "fields") => fields,
        ("ClassMirror", "addField:") => add_field,
        ("ClassMirror", "removeField:") => remove_field,
        ("ClassMirror", "selectors") => selectors,
        ("ClassMirror", "methodAt:") => method_at,
        ("ClassMirror", "installMethod:") => install_method,
        ("ClassMirror", "removeMethod:") => remove_method,
        ("ClassMirror", "compileAndInstall:") => compile_and_install,
        ("ClassMirror", "basicNew") => basic_new,
        ("ClassMirror", "allInstances") => all_instances,
        ("ClassMirror", "classSide") => class_side,
        ("MethodMirror", "selector") => method_selector,
        ("MethodMirror", "methodClass") => method_class,
        ("MethodMirror", "source") => method_source,
        _ => return None,
    })
}
