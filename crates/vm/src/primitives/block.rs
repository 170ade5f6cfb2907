//! Block primitives: evaluation with 0–3 arguments or an Array, arity, and `restart`.

use crate::error::{prim_fail, VmError};
use crate::interpreter::{Interp, PrimFn};
use crate::object::Body;
use crate::value::Value;

fn value(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let closure = interp.receiver(argc);
    interp.activate_block(closure, argc)
}

fn value_with_arguments(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let args = match interp.space.array_of(interp.arg(argc, 0)) {
        Some(a) => a.clone(),
        None => return prim_fail("valueWithArguments: takes an Array"),
    };
    let closure = interp.receiver(argc);
    interp.stack.pop();
    interp.stack.extend_from_slice(&args);
    interp.activate_block(closure, args.len())
}

fn num_args(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let r = interp.receiver(argc);
    let n = match r.as_object().map(|_| &interp.space.heap.get(r).body) {
        Some(Body::Block(b)) => b.code.num_args,
        _ => return prim_fail("receiver is not a block"),
    };
    interp.prim_return(argc, Value::small(n as i64))
}

/// Restarts the sending method from its first instruction (SOM's `whileTrue:` uses it).
fn restart(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let Some(&frame) = interp.frames.last() else {
        return prim_fail("restart must be sent from a method");
    };
    interp.stack.truncate(interp.stack.len() - 1 - argc);
    let nil = interp.nil();
    let code = unsafe { &*frame.code };
    let keep = frame.bp as usize + 1 + code.num_args as usize;
    interp.stack.truncate(keep);
    for _ in 0..code.num_temps {
        interp.stack.push(nil);
    }
    interp.reset_frame_env();
    interp.frames.last_mut().expect("checked above").pc = 0;
    Ok(())
}

/// Block primitives (the same for Block and Block1–Block4).
pub fn lookup(selector: &str) -> Option<PrimFn> {
    Some(match selector {
        "value" | "value:" | "value:with:" | "value:with:with:" => value,
        "valueWithArguments:" => value_with_arguments,
        "numArgs" => num_args,
        "restart" => restart,
        "newProcess" => super::process::new_process,
        _ => return None,
    })
}
