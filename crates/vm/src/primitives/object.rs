//! Object primitives: identity, hashing, reflection on slots, `perform:` and friends.

use super::string::string_hash;
use super::{describe, ret_bool, small_arg};
use crate::error::{prim_fail, VmError};
use crate::interpreter::{Interp, PrimFn};
use crate::object::Body;
use crate::value::Value;
use num_traits::ToPrimitive;

fn class(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = interp.space.class_of(interp.receiver(argc));
    interp.prim_return(argc, c)
}

fn object_size(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let r = interp.receiver(argc);
    let n = if r.is_immediate() {
        1
    } else {
        let o = interp.space.heap.get(r);
        1 + o.fields.len()
            + match &o.body {
                Body::Array(a) => a.len(),
                Body::Str(s) | Body::Symbol(s) => s.len().div_ceil(8),
                _ => 0,
            }
    };
    interp.prim_return(argc, Value::small(n as i64))
}

/// Identity, except that Integers (small or large) are identical when equal, as in SOM, and
/// Doubles when they have the same bits (immediate or boxed).
pub fn identical(interp: &Interp, a: Value, b: Value) -> bool {
    if a == b {
        return true;
    }
    if let (Some(x), Some(y)) = (interp.space.double_of(a), interp.space.double_of(b)) {
        // Immediate Doubles are identical when their bits are; boxed ones (out of the
        // immediate range) behave the same.
        return x.to_bits() == y.to_bits();
    }
    if a.is_immediate() || b.is_immediate() {
        return false;
    }
    match (&interp.space.heap.get(a).body, &interp.space.heap.get(b).body) {
        (Body::BigInt(x), Body::BigInt(y)) => x == y,
        _ => false,
    }
}

fn identity_equals(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let r = identical(interp, interp.receiver(argc), interp.arg(argc, 0));
    ret_bool(interp, argc, r)
}

/// The hash of any value: content hashes for numbers and strings, identity otherwise.
pub fn hash_of(interp: &Interp, v: Value) -> i64 {
    if let Some(i) = v.as_small() {
        return i;
    }
    if let Some(d) = interp.space.double_of(v) {
        return double_hash(d);
    }
    match &interp.space.heap.get(v).body {
        Body::Str(s) | Body::Symbol(s) => string_hash(s),
        Body::BigInt(b) => double_hash(b.to_f64().unwrap_or(0.0)),
        _ => v.index() as i64,
    }
}

fn double_hash(d: f64) -> i64 {
    (d.to_bits() >> 2) as i64
}

fn hashcode(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let h = hash_of(interp, interp.receiver(argc));
    interp.prim_return(argc, Value::small(h))
}

fn identity_hash(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let r = interp.receiver(argc);
    let h = if r.is_small() {
        r.small_unchecked()
    } else if let Some(d) = interp.space.double_of(r) {
        double_hash(d)
    } else {
        r.index() as i64
    };
    interp.prim_return(argc, Value::small(h))
}

fn inspect(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let r = interp.receiver(argc);
    let text = describe(interp, r);
    let _ = writeln!(interp.out, "{text}");
    interp.prim_return(argc, r)
}

fn halt(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let r = interp.receiver(argc);
    let trace = interp.backtrace().join("\n    ");
    let _ = interp.out.flush();
    let _ = writeln!(interp.err, "halt:\n    {trace}");
    interp.prim_return(argc, r)
}

use std::io::Write;

fn selector_arg(interp: &Interp, argc: usize) -> Result<Value, VmError> {
    let s = interp.arg(argc, 0);
    if interp.space.str_of(s).is_some() {
        Ok(s)
    } else {
        prim_fail(format!("selector must be a Symbol, not {}", describe(interp, s)))
    }
}

fn array_arg(interp: &Interp, argc: usize, i: usize) -> Result<Vec<Value>, VmError> {
    match interp.space.array_of(interp.arg(argc, i)) {
        Some(a) => Ok(a.clone()),
        None => prim_fail("arguments must be an Array"),
    }
}

fn class_arg(interp: &Interp, argc: usize, i: usize) -> Result<Value, VmError> {
    let c = interp.arg(argc, i);
    if interp.space.is_class(c) {
        Ok(c)
    } else {
        prim_fail("expected a class")
    }
}

/// Re-sends: drops everything above the receiver, pushes `args`, sends `sel`.
fn resend(interp: &mut Interp, argc: usize, sel: Value, args: &[Value], from: Option<Value>) -> Result<(), VmError> {
    let sel = if interp.space.str_of(sel).is_some() {
        let name = interp.space.name_of(sel);
        interp.space.symbol(&name)
    } else {
        sel
    };
    let name = interp.space.name_of(sel);
    let arity = crate::loader::selector_arity(&name) as usize;
    if arity != args.len() {
        // SOM's sentence (ADR 0010); the backtrace shows the `perform:` site.
        return prim_fail(format!(
            "Tried passing {} arguments to a function that requires {arity}.",
            args.len()
        ));
    }
    let n = interp.stack.len() - argc;
    interp.stack.truncate(n);
    interp.stack.extend_from_slice(args);
    interp.send(sel, args.len(), None, from)
}

fn perform(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let sel = selector_arg(interp, argc)?;
    resend(interp, argc, sel, &[], None)
}

fn perform_with_arguments(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let sel = selector_arg(interp, argc)?;
    let args = array_arg(interp, argc, 1)?;
    resend(interp, argc, sel, &args, None)
}

fn perform_in_superclass(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let sel = selector_arg(interp, argc)?;
    let class = class_arg(interp, argc, 1)?;
    resend(interp, argc, sel, &[], Some(class))
}

fn perform_with_arguments_in_superclass(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let sel = selector_arg(interp, argc)?;
    let args = array_arg(interp, argc, 1)?;
    let class = class_arg(interp, argc, 2)?;
    resend(interp, argc, sel, &args, Some(class))
}

fn field_index(interp: &Interp, argc: usize) -> Result<(Value, usize), VmError> {
    let r = interp.receiver(argc);
    if r.is_immediate() {
        let what = if r.is_small() { "an Integer" } else { "a Double" };
        return prim_fail(format!("{what} has no instance variables"));
    }
    let i = small_arg(interp, argc, 0, "index")?;
    let n = interp.space.heap.get(r).fields.len();
    if i < 1 || i as usize > n {
        // The sentence SOM and espell's Array primitives use: it names the index and bound.
        return prim_fail(format!("Index {i} not valid for array of length {n}."));
    }
    Ok((r, i as usize - 1))
}

fn inst_var_at(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (r, i) = field_index(interp, argc)?;
    let v = interp.space.heap.get(r).fields[i];
    interp.prim_return(argc, v)
}

fn inst_var_at_put(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (r, i) = field_index(interp, argc)?;
    let v = interp.arg(argc, 1);
    interp.space.heap.get_mut(r).fields[i] = v;
    // SOM: `instVarAt:put:` answers the receiver.
    interp.prim_return(argc, r)
}

fn inst_var_named(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let r = interp.receiver(argc);
    let name = interp.space.str_of(interp.arg(argc, 0)).map(str::to_string);
    let class = interp.space.class_of(r);
    let fields = interp.space.class_info(class).instance_fields.clone();
    let pos = fields
        .iter()
        .position(|&f| interp.space.str_of(f).map(str::to_string) == name);
    match pos {
        Some(i) if r.is_object() => {
            let v = interp.space.heap.get(r).fields[i];
            interp.prim_return(argc, v)
        }
        _ => prim_fail(format!("no instance variable named {}", name.unwrap_or_default())),
    }
}

/// Object primitives.
pub fn lookup(selector: &str) -> Option<PrimFn> {
    Some(match selector {
        "class" => class,
        "objectSize" => object_size,
        "==" => identity_equals,
        "hashcode" => hashcode,
        "identityHash" => identity_hash,
        "inspect" => inspect,
        "halt" => halt,
        "perform:" => perform,
        "perform:withArguments:" => perform_with_arguments,
        "perform:inSuperclass:" => perform_in_superclass,
        "perform:withArguments:inSuperclass:" => perform_with_arguments_in_superclass,
        "instVarAt:" => inst_var_at,
        "instVarAt:put:" => inst_var_at_put,
        "instVarNamed:" => inst_var_named,
        _ => return None,
    })
}
