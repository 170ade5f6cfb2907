//! Class primitives: instantiation and structural reflection.

use crate::error::{prim_fail, VmError};
use crate::interpreter::{Interp, PrimFn};
use crate::object::{Body, InstanceKind};
use crate::value::Value;

fn class_arg(interp: &Interp, argc: usize) -> Result<Value, VmError> {
    let c = interp.receiver(argc);
    if interp.space.is_class(c) {
        Ok(c)
    } else {
        prim_fail("receiver is not a class")
    }
}

fn name(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = class_arg(interp, argc)?;
    let n = interp.space.class_info(c).name;
    interp.prim_return(argc, n)
}

/// Creates an instance of `class` (fields nil; empty indexable part or string).
pub fn instantiate(interp: &mut Interp, class: Value) -> Result<Value, VmError> {
    let info = interp.space.class_info(class);
    let (kind, n, is_meta) = (info.kind, info.instance_fields.len(), info.is_meta);
    if is_meta {
        return prim_fail("cannot instantiate a metaclass with new");
    }
    let v = interp.space.new_plain(class, n);
    let body = match kind {
        InstanceKind::Plain => Body::Plain,
        InstanceKind::Indexable => Body::Array(Vec::new()),
        InstanceKind::Str => Body::Str("".into()),
        other => {
            let name = interp.space.class_name(class);
            return prim_fail(format!("instances of {name} ({other:?}) cannot be created with new"));
        }
    };
    interp.space.heap.get_mut(v).body = body;
    Ok(v)
}

fn new(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = class_arg(interp, argc)?;
    let v = instantiate(interp, c)?;
    interp.prim_return(argc, v)
}

fn superclass(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = class_arg(interp, argc)?;
    let s = interp.space.class_info(c).superclass;
    interp.prim_return(argc, s)
}

fn fields(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = class_arg(interp, argc)?;
    let f = interp.space.class_info(c).instance_fields.clone();
    let a = interp.space.new_array(f);
    interp.prim_return(argc, a)
}

fn methods(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = class_arg(interp, argc)?;
    let a = interp.space.methods_array(c);
    interp.prim_return(argc, a)
}

fn selectors(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = class_arg(interp, argc)?;
    let methods = interp.space.class_info(c).methods.clone();
    let sels = methods
        .iter()
        .filter_map(|&m| interp.space.method_of(m).map(|m| m.selector))
        .collect();
    let a = interp.space.new_array(sels);
    interp.prim_return(argc, a)
}

/// `aClass primCompile: source`: compiles Pharo-style method source for the class and
/// installs it, in place (plain reflection, no transaction); answers the method.
fn prim_compile(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.require_unfrozen("compiling a method")?;
    let c = class_arg(interp, argc)?;
    let Some(source) = interp.space.str_of(interp.arg(argc, 0)).map(str::to_string) else {
        return prim_fail("compile: needs a String");
    };
    let mut session = crate::mop::UpdateSession::new();
    match session.compile_and_install(interp, c, &source) {
        Ok(m) => {
            session.commit(interp);
            interp.prim_return(argc, m)
        }
        Err(e) => prim_fail(e.0),
    }
}

/// `aClass primRemoveSelector: aSymbol`: removes a method, in place.
fn prim_remove_selector(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.require_unfrozen("removing a method")?;
    let c = class_arg(interp, argc)?;
    let Some(sel) = interp.space.str_of(interp.arg(argc, 0)).map(str::to_string) else {
        return prim_fail("removeSelector: needs a Symbol");
    };
    let mut session = crate::mop::UpdateSession::new();
    match session.remove_method(interp, c, &sel) {
        Ok(()) => {
            session.commit(interp);
            interp.prim_return(argc, c)
        }
        Err(e) => prim_fail(e.0),
    }
}

/// Class primitives.
pub fn lookup(selector: &str) -> Option<PrimFn> {
    Some(match selector {
        "name" => name,
        "new" => new,
        "superclass" => superclass,
        "fields" => fields,
        "methods" => methods,
        "selectors" => selectors,
        "primCompile:" => prim_compile,
        "primRemoveSelector:" => prim_remove_selector,
        _ => return None,
    })
}
