//! The in-place baseline's reflection (`InPlaceSpace` in the core library): the MOP's
//! operations applied by a program to its own space, each taking effect at once — no
//! pause, no transaction, no way back. Every primitive runs one operation of an
//! `UpdateSession` and commits it immediately, so it changes the space exactly as the
//! hypervisor's mirrors would, only without atomicity.

use crate::error::{prim_fail, VmError};
use crate::interpreter::{Interp, PrimFn};
use crate::mop::{MopError, SlotRef, UpdateSession};
use crate::value::Value;

/// Runs one MOP operation and commits it at once.
fn now<T>(
    interp: &mut Interp,
    op: impl FnOnce(&mut UpdateSession, &mut Interp) -> Result<T, MopError>,
) -> Result<T, VmError> {
    interp.require_unfrozen("in-place reflection (InPlaceSpace)")?;
    let mut session = UpdateSession::new();
    let result = op(&mut session, interp);
    session.commit(interp);
    result.or_else(|e| prim_fail(e.0))
}

fn text(interp: &Interp, v: Value, what: &str) -> Result<String, VmError> {
    match interp.space.str_of(v) {
        Some(s) => Ok(s.to_string()),
        None => prim_fail(format!("{what} must be a String or Symbol")),
    }
}

fn slot(interp: &Interp, v: Value) -> Result<SlotRef, VmError> {
    match v.as_small() {
        Some(i) => Ok(SlotRef::Index(i)),
        None => Ok(SlotRef::Name(text(interp, v, "a slot")?)),
    }
}

fn answer(interp: &mut Interp, argc: usize, v: Value) -> Result<(), VmError> {
    interp.prim_return(argc, v)
}

fn answer_self(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

/// `primCreateClass: #Name superclass: aClass fields: #(#a #b)`: a new class, not installed.
fn create_class(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let name = text(interp, interp.arg(argc, 0), "the class name")?;
    let superclass = interp.arg(argc, 1);
    let fields: Vec<String> = match interp.space.array_of(interp.arg(argc, 2)) {
        Some(items) => items
            .iter()
            .map(|&f| text(interp, f, "a field name"))
            .collect::<Result<_, _>>()?,
        None => return prim_fail("the fields must be an Array of Symbols"),
    };
    let c = now(interp, |s, i| s.create_class_named(i, &name, superclass, &fields))?;
    answer(interp, argc, c)
}

fn install_class(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = interp.arg(argc, 0);
    now(interp, |s, i| s.install_class(i, c))?;
    answer_self(interp, argc)
}

fn remove_class(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = interp.arg(argc, 0);
    now(interp, |s, i| s.remove_class(i, c))?;
    answer_self(interp, argc)
}

/// `primCompile: source in: aClass`: a method, not installed.
fn compile(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let source = text(interp, interp.arg(argc, 0), "the source")?;
    let c = interp.arg(argc, 1);
    let m = now(interp, |s, i| s.compile(i, &source, c))?;
    answer(interp, argc, m)
}

fn install_method(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (m, c) = (interp.arg(argc, 0), interp.arg(argc, 1));
    now(interp, |s, i| s.install_method(i, c, m))?;
    answer_self(interp, argc)
}

fn instances_of(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = interp.arg(argc, 0);
    let all = now(interp, |s, i| s.instances_of(i, c))?;
    let array = interp.space.new_array(all);
    answer(interp, argc, array)
}

fn new_instance_of(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = interp.arg(argc, 0);
    let o = now(interp, |s, i| s.new_instance_of(i, c))?;
    answer(interp, argc, o)
}

fn special_at(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let name = text(interp, interp.arg(argc, 0), "the special object's name")?;
    let v = now(interp, |s, i| s.special_object_at(i, &name))?;
    answer(interp, argc, v)
}

fn special_at_put(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let name = text(interp, interp.arg(argc, 0), "the special object's name")?;
    let v = interp.arg(argc, 1);
    now(interp, |s, i| s.special_object_at_put(i, &name, v))?;
    answer_self(interp, argc)
}

fn set_superclass(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (c, sup) = (interp.arg(argc, 0), interp.arg(argc, 1));
    now(interp, |s, i| s.set_superclass(i, c, sup))?;
    answer_self(interp, argc)
}

fn add_field(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = interp.arg(argc, 0);
    let name = text(interp, interp.arg(argc, 1), "the field name")?;
    now(interp, |s, i| s.add_field(i, c, &name))?;
    answer_self(interp, argc)
}

fn remove_field(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = interp.arg(argc, 0);
    let name = text(interp, interp.arg(argc, 1), "the field name")?;
    now(interp, |s, i| s.remove_field(i, c, &name))?;
    answer_self(interp, argc)
}

fn slot_at(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let o = interp.arg(argc, 0);
    let at = slot(interp, interp.arg(argc, 1))?;
    let v = now(interp, |s, i| s.slot_at(i, o, &at))?;
    answer(interp, argc, v)
}

fn slot_at_put(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let o = interp.arg(argc, 0);
    let at = slot(interp, interp.arg(argc, 1))?;
    let v = interp.arg(argc, 2);
    now(interp, |s, i| s.slot_at_put(i, o, &at, v))?;
    answer_self(interp, argc)
}

fn swap(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (a, b) = (interp.arg(argc, 0), interp.arg(argc, 1));
    now(interp, |s, i| s.swap_identity(i, a, b))?;
    answer_self(interp, argc)
}

fn set_class(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (o, c) = (interp.arg(argc, 0), interp.arg(argc, 1));
    now(interp, |s, i| s.set_class(i, o, c))?;
    answer_self(interp, argc)
}

/// InPlaceSpace primitives.
pub fn lookup(selector: &str) -> Option<PrimFn> {
    Some(match selector {
        "primCreateClass:superclass:fields:" => create_class,
        "primInstallClass:" => install_class,
        "primRemoveClass:" => remove_class,
        "primCompile:in:" => compile,
        "primInstallMethod:in:" => install_method,
        "primInstancesOf:" => instances_of,
        "primNewInstanceOf:" => new_instance_of,
        "primSpecialAt:" => special_at,
        "primSpecialAt:put:" => special_at_put,
        "primClass:superclass:" => set_superclass,
        "primClass:addField:" => add_field,
        "primClass:removeField:" => remove_field,
        "primSlotOf:at:" => slot_at,
        "primSlotOf:at:put:" => slot_at_put,
        "primSwap:with:" => swap,
        "primSetClassOf:to:" => set_class,
        _ => return None,
    })
}
