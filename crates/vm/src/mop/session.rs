//! `UpdateSession`: the MOP of MOP.md as a Rust API over a paused application interpreter.
//! Every write goes through the undo log; `commit` keeps the changes, `roll_back` undoes
//! them all.

use super::undo::{roll_back, SavedShape, SlotIndex, ThreadSnapshot, Undo};
use crate::compiler::{compile_method, CompileInput, LineMap};
use crate::interpreter::{InsertedFrame, Interp, OnReturn};
use crate::object::{Body, InstanceKind};
use crate::primitives::class::instantiate;
use crate::space::Special;
use crate::value::Value;
use std::collections::HashSet;
use std::fmt;

/// A MOP misuse or failure (signalled as `MirrorError` in a hypervisor).
#[derive(Debug, Clone, PartialEq)]
pub struct MopError(pub String);

impl fmt::Display for MopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MirrorError: {}", self.0)
    }
}

impl std::error::Error for MopError {}

pub(super) type MopResult<T> = Result<T, MopError>;

pub(super) fn err<T>(message: impl Into<String>) -> MopResult<T> {
    Err(MopError(message.into()))
}

/// A slot named by instance-variable name or by 1-based index (named fields first, then
/// indexable elements).
#[derive(Clone, Debug)]
pub enum SlotRef {
    /// By instance variable name.
    Name(String),
    /// By 1-based index.
    Index(i64),
    /// By instance variable name, as a Symbol of the application space.
    Symbol(Value),
}

/// The undo information of a committed session: replaying it reverts the update. The
/// values it keeps are roots of the application space (`Interp::undo_roots`) until then.
pub struct UndoLog {
    log: Vec<Undo>,
    root_slot: usize,
}

impl UndoLog {
    /// Reverts the update this log was recorded for (newest change first).
    pub fn revert(self, app: &mut Interp) {
        let log = self
            .log
            .into_iter()
            .filter(|u| !matches!(u, Undo::Loaded { .. }))
            .collect();
        roll_back(app, log);
        if let Some(roots) = app.undo_roots.get_mut(self.root_slot) {
            roots.clear();
        }
    }

    /// Rolls the update back completely, as if its session had failed: like `revert`, and
    /// classes the session loaded are unbound again (a prepared fleet update that is
    /// aborted leaves the space exactly as before, ADR 0008).
    pub fn roll_back(self, app: &mut Interp) {
        roll_back(app, self.log);
        if let Some(roots) = app.undo_roots.get_mut(self.root_slot) {
            roots.clear();
        }
    }

    /// Why this update cannot be reverted now, if it cannot (see `undo::revert_blocker`).
    pub fn revert_blocker(&self, app: &Interp) -> Option<String> {
        super::undo::revert_blocker(app, &self.log)
    }

    /// Gives up the possibility to revert: the values it kept may be collected.
    pub fn forget(self, app: &mut Interp) {
        if let Some(roots) = app.undo_roots.get_mut(self.root_slot) {
            roots.clear();
        }
    }

    /// Number of recorded entries.
    pub fn len(&self) -> usize {
        self.log.len()
    }

    /// True if nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
    }
}

/// What a session changed, for reports.
#[derive(Clone, Debug, Default)]
pub struct ChangeSummary {
    /// Names of classes created, installed, removed or reshaped.
    pub classes: Vec<String>,
    /// `Class>>selector` of methods installed or removed.
    pub methods: Vec<String>,
    /// Names of special objects set.
    pub specials: Vec<String>,
    /// Objects whose slots, class or identity changed.
    pub instances: usize,
    /// Globals bound.
    pub globals: Vec<String>,
}

/// An update session over a paused application interpreter.
#[derive(Default)]
pub struct UpdateSession {
    pub(super) log: Vec<Undo>,
    pub(super) operations: usize,
    /// Frames made by `createFrameSending:to:` and not inserted yet: (descriptor object,
    /// receiver, selector).
    pending_frames: Vec<(Value, Value, Value)>,
    methods_saved: HashSet<Value>,
    pub(super) shapes_saved: HashSet<Value>,
    /// Objects made by `newInstanceOf:` in this session and not swapped since: writes into
    /// them need no undo record (after a rollback nothing refers to them any more: every
    /// reference to them was made by a logged write into an older object).
    fresh: HashSet<Value, std::hash::BuildHasherDefault<crate::value::WordHasher>>,
    /// Per `swapIdentityWith:` that put an object of a layout not keeping the previous
    /// one's fields in place at an index: (index, the class its previous object had), for
    /// `active_code::swap_failure`.
    pub(super) swapped_shapes: Vec<(Value, Value)>,
    /// The state-transfer snapshot (`mop::transfer`), once application code has run.
    pub(super) snapshot: Option<super::transfer::Snapshot>,
    /// Why a state transfer failed (the session can then only roll back).
    pub(super) failed: Option<String>,
    /// What changed so far.
    pub summary: ChangeSummary,
}

impl UpdateSession {
    /// A session with an empty log.
    pub fn new() -> UpdateSession {
        UpdateSession::default()
    }

    /// Number of changes made (each MOP write counts once).
    pub fn change_count(&self) -> usize {
        self.operations
    }

    /// Keeps every change.
    pub fn commit(mut self, app: &mut Interp) -> ChangeSummary {
        self.end_transfer(app);
        app.space.bump_epoch();
        self.summary
    }

    /// Keeps every change and answers the undo information too (for a later revert).
    pub fn commit_with_undo(mut self, app: &mut Interp) -> (ChangeSummary, UndoLog) {
        self.end_transfer(app);
        app.space.bump_epoch();
        super::revert_check::seal(app, &mut self.log);
        let roots = self.log_values();
        app.undo_roots.push(roots);
        let root_slot = app.undo_roots.len() - 1;
        (
            self.summary,
            UndoLog {
                log: self.log,
                root_slot,
            },
        )
    }

    /// Every value the undo log keeps.
    pub(super) fn log_values(&self) -> Vec<Value> {
        let mut out = Vec::with_capacity(self.log.iter().map(Undo::root_estimate).sum());
        for entry in &self.log {
            entry.trace(&mut out);
        }
        out
    }

    /// Undoes every change, newest first.
    pub fn roll_back(mut self, app: &mut Interp) {
        self.end_transfer(app);
        roll_back(app, self.log);
    }

    // ------------------------------------------------------------------------------
    // Helpers

    pub(super) fn require_class(app: &Interp, class: Value) -> MopResult<()> {
        if app.space.is_class(class) {
            Ok(())
        } else {
            err("expected a class")
        }
    }

    fn save_methods(&mut self, app: &Interp, class: Value) {
        if self.methods_saved.insert(class) {
            let methods = app.space.class_info(class).methods.clone();
            self.log.push(Undo::Methods { class, methods });
        }
    }

    fn save_shape(&mut self, app: &Interp, class: Value) {
        if self.shapes_saved.insert(class) {
            let info = app.space.class_info(class);
            self.log.push(Undo::Shape(Box::new(SavedShape {
                class,
                superclass: info.superclass,
                own_fields: info.own_fields.clone(),
                instance_fields: info.instance_fields.clone(),
                kind: info.kind,
                slots: app.space.heap.get(class).fields.clone(),
            })));
        }
    }

    /// Before a field change of `class`: its layout, and whether it is a metaclass whose
    /// class object (saved now) must be refitted (`layout::refit_class_object`).
    fn save_class_object_of(&mut self, app: &Interp, class: Value) -> (Vec<Value>, bool) {
        let info = app.space.class_info(class);
        let layout = info.instance_fields.clone();
        let this = info.is_meta && app.space.is_class(info.this_class);
        if this {
            self.save_shape(app, info.this_class);
        }
        (layout, this)
    }

    pub(super) fn note_class(&mut self, app: &Interp, class: Value) {
        let name = app.space.class_name(class);
        if !self.summary.classes.contains(&name) {
            self.summary.classes.push(name);
        }
    }

    // ------------------------------------------------------------------------------
    // Code loading

    /// `app classNamed: #Name`: the class bound to that global, if any.
    pub fn class_named(&mut self, app: &mut Interp, name: &str) -> MopResult<Option<Value>> {
        let sym = app.space.symbol(name);
        if let Some(c) = app.space.global(sym).filter(|&c| app.space.is_class(c)) {
            if !app.is_unloaded_shell(c) {
                return Ok(Some(c));
            }
        }
        // Loading binds globals (the class, and superclasses not loaded yet): note them so
        // that a rollback leaves the space exactly as it was.
        let before: Vec<bool> = app.space.globals.iter().map(|g| g.value.is_some()).collect();
        let loaded = app.load_class(name);
        for (i, g) in app.space.globals.iter().enumerate() {
            if g.value.is_some() && !before.get(i).copied().unwrap_or(false) {
                self.log.push(Undo::Loaded { name: g.name });
            }
        }
        match loaded {
            Ok(Some(c)) => Ok(Some(c)),
            Ok(None) => {
                let sym = app.space.symbol(name);
                Ok(app.space.global(sym).filter(|&v| app.space.is_class(v)))
            }
            Err(e) => err(format!("loading {name}: {e}")),
        }
    }

    /// `createClassNamed:superclass:fields:`: a new class (not installed).
    pub fn create_class_named(
        &mut self,
        app: &mut Interp,
        name: &str,
        superclass: Value,
        fields: &[String],
    ) -> MopResult<Value> {
        let nil = app.nil();
        if superclass != nil {
            Self::require_class(app, superclass)?;
        }
        if name.is_empty() || !name.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
            return err(format!("'{name}' is not a class name"));
        }
        let kind = if superclass == nil {
            InstanceKind::Plain
        } else {
            // Instances of the new class are shaped like its superclass's.
            app.space.class_info(superclass).kind
        };
        let class = app.space.new_class(name, kind);
        app.space.set_superclass(class, superclass);
        let own: Vec<Value> = fields.iter().map(|f| app.space.symbol(f)).collect();
        app.space.class_info_mut(class).own_fields = own;
        app.space.relayout(class);
        let meta = app.space.class_of(class);
        app.space.relayout(meta);
        app.space.fit_class_object(class);
        app.space.fit_class_object(meta);
        let (all, inherited) = (app.space.class_info(class).instance_fields.clone(), fields.len());
        let mut seen = HashSet::new();
        if all.iter().any(|f| !seen.insert(*f)) {
            return err(format!("duplicate field names in {name} ({inherited} own fields)"));
        }
        Ok(class)
    }

    /// `installClass:`: binds the class's global (replacing a class of that name).
    pub fn install_class(&mut self, app: &mut Interp, class: Value) -> MopResult<()> {
        self.operations += 1;
        Self::require_class(app, class)?;
        if app.space.class_info(class).is_meta {
            return err("cannot install a metaclass");
        }
        let name = app.space.class_info(class).name;
        self.global_at_put(app, name, class)?;
        self.note_class(app, class);
        Ok(())
    }

    /// `removeClass:`: unbinds the class's global.
    pub fn remove_class(&mut self, app: &mut Interp, class: Value) -> MopResult<()> {
        self.operations += 1;
        Self::require_class(app, class)?;
        let name = app.space.class_info(class).name;
        let slot = app.space.global_slot(name);
        let previous = app.space.globals[slot as usize].value;
        if previous != Some(class) {
            return err(format!("{} is not installed", app.space.class_name(class)));
        }
        self.log.push(Undo::Global { name, previous });
        app.space.globals[slot as usize].value = None;
        app.space.bump_epoch();
        self.note_class(app, class);
        Ok(())
    }

    /// `compile:in:`: compiles Pharo-style method source for `class` (names resolve in the
    /// application space); the method is not installed.
    pub fn compile(&mut self, app: &mut Interp, source: &str, class: Value) -> MopResult<Value> {
        Self::require_class(app, class)?;
        let def = espell_syntax::parse_method(source, "compile").map_err(|d| {
            MopError(format!(
                "compile error at line {}, column {}: {}",
                d.line, d.column, d.message
            ))
        })?;
        let body = match &def.body {
            espell_syntax::MethodBody::Code(b) => b.clone(),
            espell_syntax::MethodBody::Primitive => return err("a compiled method cannot be a primitive"),
        };
        let fields: Vec<String> = app
            .space
            .class_info(class)
            .instance_fields
            .iter()
            .map(|&f| app.space.name_of(f))
            .collect();
        let lines = LineMap::new(source);
        let input = CompileInput {
            fields: &fields,
            file: "compile",
            source,
            allow_global_assign: false,
            lines: &lines,
        };
        compile_method(&mut app.space, &input, &def, &body, class).map_err(|d| {
            MopError(format!(
                "compile error at line {}, column {}: {}",
                d.line, d.column, d.message
            ))
        })
    }

    /// `installMethod:` on `class`: adds or replaces the method for its selector.
    pub fn install_method(&mut self, app: &mut Interp, class: Value, method: Value) -> MopResult<()> {
        self.operations += 1;
        Self::require_class(app, class)?;
        let Some(m) = app.space.method_of(method).cloned() else {
            return err("expected a method");
        };
        self.save_methods(app, class);
        app.space.install_method(class, method);
        let entry = format!("{}>>#{}", app.space.class_name(class), app.space.name_of(m.selector));
        self.summary.methods.push(entry);
        Ok(())
    }

    /// `removeMethod:` from `class`.
    pub fn remove_method(&mut self, app: &mut Interp, class: Value, selector: &str) -> MopResult<()> {
        self.operations += 1;
        Self::require_class(app, class)?;
        let sym = app.space.symbol(selector);
        if !app.space.class_info(class).method_index.contains_key(&sym) {
            let name = app.space.class_name(class);
            let inherited = app
                .space
                .lookup(class, sym)
                .and_then(|m| app.space.method_of(m).map(|m| m.holder.get()))
                .map(|holder| {
                    format!(
                        " of its own (it inherits {}>>#{selector})",
                        app.space.class_name(holder)
                    )
                })
                .unwrap_or_default();
            return err(format!("{name} has no method #{selector}{inherited}"));
        }
        self.save_methods(app, class);
        app.space.remove_method(class, sym);
        self.summary
            .methods
            .push(format!("{}>>#{selector} (removed)", app.space.class_name(class)));
        Ok(())
    }

    /// `compileAndInstall:` on `class`.
    pub fn compile_and_install(&mut self, app: &mut Interp, class: Value, source: &str) -> MopResult<Value> {
        let m = self.compile(app, source, class)?;
        self.install_method(app, class, m)?;
        Ok(m)
    }

    /// The method for `selector` in `class` itself (not inherited), if any.
    pub fn method_at(&self, app: &Interp, class: Value, selector: &str) -> MopResult<Option<Value>> {
        Self::require_class(app, class)?;
        let Some(sym) = app.space.existing_symbol(selector) else {
            return Ok(None);
        };
        let info = app.space.class_info(class);
        Ok(info.method_index.get(&sym).map(|&i| info.methods[i]))
    }

    /// The selectors of `class`'s own methods, in order.
    pub fn selectors(&self, app: &Interp, class: Value) -> MopResult<Vec<String>> {
        Self::require_class(app, class)?;
        let info = app.space.class_info(class);
        Ok(info
            .methods
            .iter()
            .filter_map(|&m| app.space.method_of(m))
            .map(|m| app.space.name_of(m.selector))
            .collect())
    }

    /// `superclass:`: changes a class's superclass (its fields are recomputed).
    pub fn set_superclass(&mut self, app: &mut Interp, class: Value, superclass: Value) -> MopResult<()> {
        self.operations += 1;
        Self::require_class(app, class)?;
        Self::require_class(app, superclass)?;
        if app.space.inherits_from(superclass, class) {
            return err("that would make the hierarchy cyclic");
        }
        let meta = app.space.class_of(class);
        self.save_shape(app, class);
        self.save_shape(app, meta);
        app.space.set_superclass(class, superclass);
        app.space.relayout(class);
        app.space.relayout(meta);
        app.space.fit_class_object(class);
        self.note_class(app, class);
        Ok(())
    }

    /// `addField:`: a new instance variable (existing instances are not reshaped).
    pub fn add_field(&mut self, app: &mut Interp, class: Value, name: &str) -> MopResult<()> {
        self.operations += 1;
        Self::require_class(app, class)?;
        let sym = app.space.symbol(name);
        if app.space.class_info(class).instance_fields.contains(&sym) {
            return err(format!("{} already has a field {name}", app.space.class_name(class)));
        }
        self.save_shape(app, class);
        let (old_layout, this) = self.save_class_object_of(app, class);
        app.space.class_info_mut(class).own_fields.push(sym);
        app.space.relayout(class);
        if this {
            Self::refit_class_object(app, class, &old_layout);
        }
        app.space.bump_epoch();
        self.note_class(app, class);
        Ok(())
    }

    /// `removeField:`.
    pub fn remove_field(&mut self, app: &mut Interp, class: Value, name: &str) -> MopResult<()> {
        self.operations += 1;
        Self::require_class(app, class)?;
        let sym = app.space.symbol(name);
        if !app.space.class_info(class).own_fields.contains(&sym) {
            return err(format!("{} declares no field {name}", app.space.class_name(class)));
        }
        self.save_shape(app, class);
        let (old_layout, this) = self.save_class_object_of(app, class);
        app.space.class_info_mut(class).own_fields.retain(|&f| f != sym);
        app.space.relayout(class);
        if this {
            Self::refit_class_object(app, class, &old_layout);
        }
        app.space.bump_epoch();
        self.note_class(app, class);
        Ok(())
    }

    // ------------------------------------------------------------------------------
    // Instance migration

    /// `newInstanceOf:` / `basicNew`.
    pub fn new_instance_of(&mut self, app: &mut Interp, class: Value) -> MopResult<Value> {
        Self::require_class(app, class)?;
        let object = instantiate(app, class).map_err(|e| MopError(e.to_string()))?;
        self.fresh.insert(object);
        Ok(object)
    }

    /// `instancesOf:`: every live instance (collects garbage first, so dead ones are gone).
    pub fn instances_of(&mut self, app: &mut Interp, class: Value) -> MopResult<Vec<Value>> {
        Self::require_class(app, class)?;
        self.collect_garbage_keeping_log(app);
        Ok(app.space.heap.instances_of(class))
    }

    /// Collects the application's garbage; what the log would put back survives.
    pub(super) fn collect_garbage_keeping_log(&self, app: &mut Interp) {
        let mark = app.handles.len();
        app.handles.extend(self.log_values());
        app.collect_garbage();
        app.handles.truncate(mark);
    }

    /// `classOf:`.
    pub fn class_of(&self, app: &Interp, object: Value) -> Value {
        app.space.class_of(object)
    }

    /// `setClass:` — only between classes whose instances have the same shape.
    pub fn set_class(&mut self, app: &mut Interp, object: Value, class: Value) -> MopResult<()> {
        self.operations += 1;
        Self::require_class(app, class)?;
        if object.is_immediate() {
            return err("a SmallInteger's or immediate Double's class is a special object, not a slot");
        }
        let old = app.space.class_of(object);
        let (a, b) = (app.space.class_info(old), app.space.class_info(class));
        if a.kind != b.kind || a.instance_fields.len() != b.instance_fields.len() || a.is_meta != b.is_meta {
            return err(format!(
                "incompatible instance spec: {} ({:?}, {} fields) vs {} ({:?}, {} fields)",
                app.space.class_name(old),
                a.kind,
                a.instance_fields.len(),
                app.space.class_name(class),
                b.kind,
                b.instance_fields.len()
            ));
        }
        self.log.push(Undo::Class { object, previous: old });
        app.space.heap.get_mut(object).class = class;
        app.space.bump_epoch();
        self.summary.instances += 1;
        Ok(())
    }

    fn slot_index(app: &Interp, object: Value, slot: &SlotRef) -> MopResult<SlotIndex> {
        if object.is_immediate() {
            return err("a SmallInteger or immediate Double has no slots");
        }
        let obj = app.space.heap.get(object);
        let nfields = obj.fields.len();
        match slot {
            SlotRef::Name(name) => {
                let class = obj.class;
                let fields = &app.space.class_info(class).instance_fields;
                match fields.iter().position(|&f| app.space.str_of(f) == Some(name.as_str())) {
                    Some(i) if i < nfields => Ok(SlotIndex::Field(i)),
                    _ => err(format!("{} has no field named {name}", app.space.class_name(class))),
                }
            }
            SlotRef::Symbol(sym) => {
                let class = obj.class;
                match app
                    .space
                    .class_info(class)
                    .instance_fields
                    .iter()
                    .position(|f| f == sym)
                {
                    Some(i) if i < nfields => Ok(SlotIndex::Field(i)),
                    _ => err(format!(
                        "{} has no field named {}",
                        app.space.class_name(class),
                        app.space.name_of(*sym)
                    )),
                }
            }
            SlotRef::Index(i) => {
                let n = match &obj.body {
                    Body::Array(items) => items.len(),
                    _ => 0,
                };
                match *i {
                    i if i >= 1 && (i as usize) <= nfields => Ok(SlotIndex::Field(i as usize - 1)),
                    i if i > nfields as i64 && ((i as usize) - nfields) <= n => {
                        Ok(SlotIndex::Element(i as usize - nfields - 1))
                    }
                    i => err(format!("slot index {i} out of bounds (1 to {})", nfields + n)),
                }
            }
        }
    }

    /// `slotAt:`.
    pub fn slot_at(&self, app: &Interp, object: Value, slot: &SlotRef) -> MopResult<Value> {
        let index = Self::slot_index(app, object, slot)?;
        let obj = app.space.heap.get(object);
        Ok(match index {
            SlotIndex::Field(i) => obj.fields[i],
            SlotIndex::Element(i) => match &obj.body {
                Body::Array(items) => items[i],
                _ => unreachable!("slot_index checked the body"),
            },
        })
    }

    /// `slotAt:put:`.
    pub fn slot_at_put(&mut self, app: &mut Interp, object: Value, slot: &SlotRef, value: Value) -> MopResult<()> {
        self.operations += 1;
        let index = Self::slot_index(app, object, slot)?;
        let obj = app.space.heap.get(object);
        let previous = match index {
            SlotIndex::Field(i) => obj.fields[i],
            SlotIndex::Element(i) => match &obj.body {
                Body::Array(items) => items[i],
                _ => unreachable!("slot_index checked the body"),
            },
        };
        if !self.fresh.contains(&object) {
            self.log.push(Undo::Slot {
                object,
                index,
                previous,
                after: None,
            });
        }
        let obj = app.space.heap.get_mut(object);
        match index {
            SlotIndex::Field(i) => obj.fields[i] = value,
            SlotIndex::Element(i) => {
                if let Body::Array(items) = &mut obj.body {
                    items[i] = value;
                }
            }
        }
        self.summary.instances += 1;
        Ok(())
    }

    /// `swapIdentityWith:`: every reference to `a` now refers to `b` and vice versa.
    pub fn swap_identity(&mut self, app: &mut Interp, a: Value, b: Value) -> MopResult<()> {
        self.operations += 1;
        if a.is_immediate() || b.is_immediate() {
            return err("SmallIntegers and immediate Doubles have no identity to swap");
        }
        for v in [a, b] {
            if matches!(app.space.heap.get(v).body, Body::Symbol(_)) {
                return err("symbols cannot swap identities (they are interned)");
            }
            if app.space.specials.contains(&v) && !app.space.is_class(v) {
                return err("nil, true, false and the system object cannot swap identities");
            }
        }
        if a == b {
            return Ok(());
        }
        let (class_a, class_b) = (app.space.class_of(a), app.space.class_of(b));
        if !super::active_code::keeps_layout(app, class_a, class_b) {
            self.swapped_shapes.push((a, class_a));
        }
        if !super::active_code::keeps_layout(app, class_b, class_a) {
            self.swapped_shapes.push((b, class_b));
        }
        app.space.heap.swap_identity(a, b);
        // What was fresh now stands where an older object stood (and vice versa).
        self.fresh.remove(&a);
        self.fresh.remove(&b);
        self.log.push(Undo::Swap { a, b, after: None });
        app.space.bump_epoch();
        self.summary.instances += 2;
        Ok(())
    }

    // ------------------------------------------------------------------------------
    // VM–language configuration and globals

    /// `specialObjectAt:`.
    pub fn special_object_at(&self, app: &Interp, name: &str) -> MopResult<Value> {
        match Special::from_name(name) {
            Some(s) => Ok(app.space.special(s)),
            None => err(format!("no special object named #{name}")),
        }
    }

    /// `specialObjectAt:put:`: takes effect at the next bytecode.
    pub fn special_object_at_put(&mut self, app: &mut Interp, name: &str, value: Value) -> MopResult<()> {
        self.operations += 1;
        let Some(s) = Special::from_name(name) else {
            return err(format!("no special object named #{name}"));
        };
        if name.ends_with("Class") && !app.space.is_class(value) {
            return err(format!("#{name} must be a class"));
        }
        let index = s as usize;
        self.log.push(Undo::Special {
            index,
            previous: app.space.specials[index],
        });
        app.space.specials[index] = value;
        app.space.bump_epoch();
        self.summary.specials.push(name.to_string());
        Ok(())
    }

    /// `globalAt:`.
    pub fn global_at(&self, app: &mut Interp, name: &str) -> Option<Value> {
        let sym = app.space.symbol(name);
        app.space.global(sym)
    }

    /// `globalAt:put:` (`name` is a Symbol of the application space).
    pub fn global_at_put(&mut self, app: &mut Interp, name: Value, value: Value) -> MopResult<()> {
        self.operations += 1;
        let slot = app.space.global_slot(name);
        self.log.push(Undo::Global {
            name,
            previous: app.space.globals[slot as usize].value,
        });
        app.space.globals[slot as usize].value = Some(value);
        app.space.bump_epoch();
        self.summary.globals.push(app.space.name_of(name));
        Ok(())
    }

    // ------------------------------------------------------------------------------
    // Execution manipulation (threads are Process objects, frames Context objects)

    fn thread_id(app: &Interp, thread: Value) -> MopResult<usize> {
        app.process_id(thread)
            .ok_or_else(|| MopError("expected a thread of the application".into()))
    }

    fn snapshot_thread(&mut self, app: &Interp, id: usize) {
        let p = &app.scheduler.processes[id];
        let (stack, frames) = if id == app.scheduler.active {
            (app.stack.clone(), app.frames.clone())
        } else {
            (p.stack.clone(), p.frames.clone())
        };
        self.log.push(Undo::Thread(Box::new(ThreadSnapshot {
            id,
            object: p.object,
            state: p.state,
            stack,
            frames,
            waiting_on: p.waiting_on,
            deadline: p.deadline,
            io_wait: p.io_wait,
        })));
    }

    /// `threads`: every process of the space that has not ended.
    pub fn threads(&mut self, app: &mut Interp) -> Vec<Value> {
        app.ensure_main_process();
        app.scheduler
            .processes
            .iter()
            .filter(|p| p.state != crate::scheduler::RunState::Terminated)
            .map(|p| p.object)
            .collect()
    }

    /// `stackFrames`: the thread's frames as Contexts, top first.
    pub fn stack_frames(&mut self, app: &mut Interp, thread: Value) -> MopResult<Vec<Value>> {
        let id = Self::thread_id(app, thread)?;
        let n = app.frames_of(id).len();
        Ok((0..n).rev().map(|d| app.context_object(id, d)).collect())
    }

    fn frame_depth(app: &Interp, id: usize, frame: Value) -> MopResult<usize> {
        match app.context_frame(frame) {
            Some((r, _)) if r.process as usize == id => Ok(r.depth as usize),
            Some(_) => err("that frame belongs to another thread"),
            None => err("that frame is dead"),
        }
    }

    /// `currentFrame:`: the thread restarts `frame` (the frames above are dropped without
    /// running their unwind blocks); a thread that was waiting runs again.
    pub fn set_current_frame(&mut self, app: &mut Interp, thread: Value, frame: Value) -> MopResult<()> {
        self.operations += 1;
        let id = Self::thread_id(app, thread)?;
        let depth = Self::frame_depth(app, id, frame)?;
        self.snapshot_thread(app, id);
        let active = app.scheduler.active;
        if id != active {
            app.switch_to(id).map_err(|e| MopError(e.to_string()))?;
        }
        app.frames.truncate(depth + 1);
        let f = app.frames[depth];
        let code = unsafe { &*f.code };
        app.stack.truncate(f.bp as usize + 1 + code.num_args as usize);
        let nil = app.nil();
        for _ in 0..code.num_temps {
            app.stack.push(nil);
        }
        app.reset_frame_env();
        app.frames[depth].pc = 0;
        if id != active {
            app.switch_to(active).map_err(|e| MopError(e.to_string()))?;
        }
        // Whatever it was waiting for belonged to the dropped state: it runs again.
        if matches!(
            app.scheduler.processes[id].state,
            crate::scheduler::RunState::Waiting | crate::scheduler::RunState::Sleeping
        ) {
            app.make_runnable(id);
        }
        self.summary.instances += 1;
        Ok(())
    }

    /// `terminate` a thread (its unwind blocks do not run: the update decides).
    pub fn terminate_thread(&mut self, app: &mut Interp, thread: Value) -> MopResult<()> {
        self.operations += 1;
        let id = Self::thread_id(app, thread)?;
        self.snapshot_thread(app, id);
        app.scheduler.leave_semaphore(id);
        let p = &mut app.scheduler.processes[id];
        p.state = crate::scheduler::RunState::Terminated;
        p.io_wait = None;
        p.deadline = None;
        let active = id == app.scheduler.active;
        app.scheduler.remove_live(id);
        app.note_ended(id);
        let p = &mut app.scheduler.processes[id];
        if !active {
            p.stack = Vec::new();
            p.frames = Vec::new();
        }
        self.summary.instances += 1;
        Ok(())
    }

    /// `createThreadSending:to:`: a new thread (not yet installed) that will send the
    /// unary `selector` to `receiver`.
    pub fn create_thread_sending(&mut self, app: &mut Interp, selector: &str, receiver: Value) -> MopResult<Value> {
        if crate::loader::selector_arity(selector) != 0 {
            return err(format!(
                "#{selector} takes arguments; a new thread sends a unary selector"
            ));
        }
        let sym = app.space.symbol(selector);
        Ok(app.new_process_sending(sym, receiver))
    }

    /// `installThread:`: the thread starts when the space resumes.
    pub fn install_thread(&mut self, app: &mut Interp, thread: Value) -> MopResult<()> {
        self.operations += 1;
        let id = Self::thread_id(app, thread)?;
        if app.scheduler.processes[id].state != crate::scheduler::RunState::Suspended {
            return err("only a new (suspended) thread can be installed");
        }
        self.snapshot_thread(app, id);
        app.make_runnable(id);
        self.summary.instances += 1;
        Ok(())
    }

    /// `tempAt:put:` on a frame.
    pub fn frame_temp_at_put(&mut self, app: &mut Interp, frame: Value, index: i64, value: Value) -> MopResult<()> {
        self.operations += 1;
        let Some((r, f)) = app.context_frame(frame) else {
            return err("that frame is dead");
        };
        let code = unsafe { &*f.code };
        let n = code.num_args as i64 + code.num_temps as i64;
        if index < 1 || index > n {
            return err(format!("temp index {index} out of bounds 1 to {n}"));
        }
        let id = r.process as usize;
        self.snapshot_thread(app, id);
        let slot = f.bp as usize + index as usize;
        if id == app.scheduler.active {
            app.stack[slot] = value;
        } else {
            app.scheduler.processes[id].stack[slot] = value;
        }
        Ok(())
    }

    /// `createFrameSending:to:`: a frame that will send the unary `selector` to
    /// `receiver` once inserted into a thread (answers a descriptor for `insert_frame`).
    pub fn create_frame_sending(&mut self, app: &mut Interp, selector: &str, receiver: Value) -> MopResult<Value> {
        if crate::loader::selector_arity(selector) != 0 {
            return err(format!(
                "#{selector} takes arguments; a new frame sends a unary selector"
            ));
        }
        let sym = app.space.symbol(selector);
        let class = app.space.class_of(receiver);
        match app
            .space
            .lookup(class, sym)
            .and_then(|m| app.space.method_of(m).cloned())
        {
            Some(m) if m.primitive.is_none() => {}
            Some(_) => return err(format!("#{selector} is a primitive: it has no frame to insert")),
            None => {
                return err(format!(
                    "{} does not understand #{selector}",
                    app.space.class_name(class)
                ))
            }
        }
        let descriptor = app.space.new_array(vec![receiver, sym]);
        self.pending_frames.push((descriptor, receiver, sym));
        Ok(descriptor)
    }

    /// `insertFrame:above:`: the created frame goes right above `above`. When `above` is the
    /// thread's top frame, the thread runs the created frame first; otherwise it runs when
    /// the frame now above `above` returns (normally) to it; if that frame is unwound
    /// instead, the insertion is dropped. Either way its answer is dropped and `above`
    /// then goes on as before.
    pub fn insert_frame(&mut self, app: &mut Interp, thread: Value, created: Value, above: Value) -> MopResult<()> {
        self.operations += 1;
        let id = Self::thread_id(app, thread)?;
        let Some(k) = self.pending_frames.iter().position(|p| p.0 == created) else {
            return err("not a frame made by createFrameSending:to: (or already inserted)");
        };
        let depth = Self::frame_depth(app, id, above)?;
        if depth + 1 != app.frames_of(id).len() {
            let next = app.frames_of(id)[depth + 1];
            if next.on_return != OnReturn::Push {
                return err("a frame is already inserted above that frame");
            }
            let (_, receiver, selector) = self.pending_frames.remove(k);
            self.snapshot_thread(app, id);
            app.frames_of_mut(id)[depth + 1].on_return = OnReturn::PushThenRunInserted;
            app.inserted_frames.push(InsertedFrame {
                after_serial: next.serial,
                receiver,
                selector,
            });
            self.log.push(Undo::InsertedFrame {
                after_serial: next.serial,
            });
            self.summary.instances += 1;
            return Ok(());
        }
        let (_, receiver, selector) = self.pending_frames.remove(k);
        self.snapshot_thread(app, id);
        let active = app.scheduler.active;
        if id != active {
            app.switch_to(id).map_err(|e| MopError(e.to_string()))?;
        }
        let class = app.space.class_of(receiver);
        let mv = app
            .space
            .lookup(class, selector)
            .expect("checked when the frame was created");
        let m = app.space.method_of(mv).expect("a method").clone();
        app.stack.push(receiver);
        let result = app.activate(std::rc::Rc::as_ptr(&m.code), mv, app.nil(), 0, None);
        if result.is_ok() {
            app.frames.last_mut().expect("the inserted frame").on_return = OnReturn::Discard;
        }
        if id != active {
            app.switch_to(active).map_err(|e| MopError(e.to_string()))?;
        }
        result.map_err(|e| MopError(e.to_string()))?;
        self.summary.instances += 1;
        Ok(())
    }
}
