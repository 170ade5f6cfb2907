//! Method and Primitive primitives: reflection and direct invocation.

use crate::error::{prim_fail, VmError};
use crate::interpreter::{Interp, PrimFn};

fn signature(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let sel = match interp.space.method_of(interp.receiver(argc)) {
        Some(m) => m.selector,
        None => return prim_fail("receiver is not a method"),
    };
    interp.prim_return(argc, sel)
}

fn holder(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let h = match interp.space.method_of(interp.receiver(argc)) {
        Some(m) => m.holder.get(),
        None => return prim_fail("receiver is not a method"),
    };
    interp.prim_return(argc, h)
}

fn invoke_on_with(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let mv = interp.receiver(argc);
    let Some(m) = interp.space.method_of(mv).cloned() else {
        return prim_fail("receiver is not a method");
    };
    let target = interp.arg(argc, 0);
    let args = match interp.space.array_of(interp.arg(argc, 1)) {
        Some(a) => a.clone(),
        None if interp.arg(argc, 1) == interp.nil() => Vec::new(),
        None => return prim_fail("invokeOn:with: takes an Array of arguments"),
    };
    let arity = crate::loader::selector_arity(&interp.space.name_of(m.selector)) as usize;
    if arity != args.len() {
        return prim_fail(format!("this method takes {arity} arguments, not {}", args.len()));
    }
    let n = interp.stack.len() - 1 - argc;
    interp.stack.truncate(n);
    interp.stack.push(target);
    interp.stack.extend_from_slice(&args);
    interp.invoke(&m, mv, args.len())
}

/// Method/Primitive primitives.
pub fn lookup(selector: &str) -> Option<PrimFn> {
    Some(match selector {
        "signature" => signature,
        "holder" => holder,
        "invokeOn:with:" => invoke_on_with,
        _ => return None,
    })
}
