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
    let m = interp.space.class_info(c).methods.clone();
    let a = interp.space.new_array(m);
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

/// Class primitives.
pub fn lookup(selector: &str) -> Option<PrimFn> {
    Some(match selector {
        "name" => name,
        "new" => new,
        "superclass" => superclass,
        "fields" => fields,
        "methods" => methods,
        "selectors" => selectors,
        _ => return None,
    })
}
