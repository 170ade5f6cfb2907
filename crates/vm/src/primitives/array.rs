//! Array primitives (1-based, bounds-checked).

use super::{describe, small_arg};
use crate::error::{prim_fail, VmError};
use crate::interpreter::{Interp, PrimFn};
use crate::object::Body;
use crate::value::Value;

/// Arrays larger than this (2^28 slots, 2 GiB) are refused rather than attempted.
const MAX_ARRAY: i64 = 1 << 28;

fn items_mut(interp: &mut Interp, v: Value) -> Result<&mut Vec<Value>, VmError> {
    if v.is_immediate() {
        return prim_fail("receiver is not an Array");
    }
    match &mut interp.space.heap.get_mut(v).body {
        Body::Array(items) => Ok(items),
        _ => prim_fail("receiver is not an Array"),
    }
}

fn index(interp: &Interp, argc: usize, len: usize) -> Result<usize, VmError> {
    let arg = interp.arg(argc, 0);
    match arg.as_small() {
        Some(i) if i >= 1 && (i as usize) <= len => Ok(i as usize - 1),
        Some(i) => prim_fail(format!("Index {i} not valid for array of length {len}.")),
        None => prim_fail(format!("Index must be an Integer, not {}", describe(interp, arg))),
    }
}

fn at(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let r = interp.receiver(argc);
    let len = items_mut(interp, r)?.len();
    let i = index(interp, argc, len)?;
    let v = items_mut(interp, r)?[i];
    interp.prim_return(argc, v)
}

fn at_put(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let r = interp.receiver(argc);
    let len = items_mut(interp, r)?.len();
    let i = index(interp, argc, len)?;
    let v = interp.arg(argc, 1);
    items_mut(interp, r)?[i] = v;
    // SOM: `at:put:` answers the receiver.
    interp.prim_return(argc, r)
}

fn length(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let r = interp.receiver(argc);
    let len = items_mut(interp, r)?.len();
    interp.prim_return(argc, Value::small(len as i64))
}

fn copy_from_to(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let r = interp.receiver(argc);
    let from = small_arg(interp, argc, 0, "start index")?;
    let to = small_arg(interp, argc, 1, "end index")?;
    let items = items_mut(interp, r)?;
    let len = items.len() as i64;
    let copy = if to < from {
        Vec::new()
    } else if from < 1 || to > len {
        return prim_fail(format!("copyFrom: {from} to: {to} outside 1 to {len}"));
    } else {
        items[from as usize - 1..to as usize].to_vec()
    };
    let class = interp.space.class_of(r);
    let nfields = interp.space.heap.get(r).fields.len();
    let v = interp.space.new_plain(class, nfields);
    interp.space.heap.get_mut(v).body = Body::Array(copy);
    interp.prim_return(argc, v)
}

fn new_array(interp: &mut Interp, argc: usize, fill: Value) -> Result<(), VmError> {
    let n = small_arg(interp, argc, 0, "size")?;
    if !(0..=MAX_ARRAY).contains(&n) {
        return prim_fail(format!("cannot create an Array of size {n}"));
    }
    let class = interp.receiver(argc);
    if !interp.space.is_class(class) {
        return prim_fail("receiver is not a class");
    }
    let nfields = interp.space.class_info(class).instance_fields.len();
    let mut items = Vec::new();
    if items.try_reserve_exact(n as usize).is_err() {
        return prim_fail(format!("not enough memory for an Array of size {n}"));
    }
    items.resize(n as usize, fill);
    interp.space.heap.charge(n as usize / 8);
    let v = interp.space.new_plain(class, nfields);
    interp.space.heap.get_mut(v).body = Body::Array(items);
    interp.prim_return(argc, v)
}

fn new(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let nil = interp.nil();
    new_array(interp, argc, nil)
}

fn new_with_all(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let fill = interp.arg(argc, 1);
    new_array(interp, argc, fill)
}

/// Array's instance-side primitives.
pub fn lookup(selector: &str) -> Option<PrimFn> {
    Some(match selector {
        "at:" => at,
        "at:put:" => at_put,
        "length" => length,
        "copyFrom:to:" => copy_from_to,
        _ => return None,
    })
}

/// Array's class-side primitives.
pub fn lookup_class_side(selector: &str) -> Option<PrimFn> {
    match selector {
        "new:" => Some(new),
        "new:withAll:" => Some(new_with_all),
        _ => None,
    }
}
