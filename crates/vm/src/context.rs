//! Reified execution: Context objects standing for frames (`thisContext`), their
//! primitives, and the frame operations exceptions are built on (return from a context,
//! restart it).
//!
//! A Context refers to (process, depth, serial): it is valid while that process's frame at
//! that depth has that serial number, and "dead" afterwards. Two Context objects for the
//! same frame are `=` (and `==` via `isSameAs:`) even when reified twice.

use crate::error::{prim_fail, VmError};
use crate::interpreter::{Frame, Interp, PrimFn};
use crate::object::{Body, FrameRef};
use crate::space::Special;
use crate::value::Value;

impl Interp {
    /// A Context object for frame `depth` of process `pid`.
    pub fn context_object(&mut self, pid: usize, depth: usize) -> Value {
        let frames = self.frames_of(pid);
        let serial = frames.get(depth).map(|f| f.serial).unwrap_or(0);
        let class = self.space.special(Special::ContextClass);
        let class = if self.space.is_class(class) {
            class
        } else {
            self.space.special(Special::ObjectClass)
        };
        self.space.new_with_body(
            class,
            Body::Context(FrameRef {
                process: pid as u32,
                depth: depth as u32,
                serial,
            }),
        )
    }

    /// The frames of process `pid` (the interpreter's own for the active process).
    pub fn frames_of(&self, pid: usize) -> &[Frame] {
        if pid == self.scheduler.active || self.scheduler.processes.is_empty() {
            &self.frames
        } else {
            self.scheduler
                .processes
                .get(pid)
                .map(|p| p.frames.as_slice())
                .unwrap_or(&[])
        }
    }

    /// The frames of process `pid`, mutably.
    pub fn frames_of_mut(&mut self, pid: usize) -> &mut [Frame] {
        if pid == self.scheduler.active || self.scheduler.processes.is_empty() {
            &mut self.frames
        } else {
            match self.scheduler.processes.get_mut(pid) {
                Some(p) => p.frames.as_mut_slice(),
                None => &mut [],
            }
        }
    }

    fn stack_of(&self, pid: usize) -> &[Value] {
        if pid == self.scheduler.active || self.scheduler.processes.is_empty() {
            &self.stack
        } else {
            self.scheduler
                .processes
                .get(pid)
                .map(|p| p.stack.as_slice())
                .unwrap_or(&[])
        }
    }

    /// The frame a context denotes, if it is still alive.
    pub fn context_frame(&self, ctx: Value) -> Option<(FrameRef, Frame)> {
        if ctx.is_immediate() {
            return None;
        }
        let Body::Context(r) = self.space.heap.get(ctx).body else {
            return None;
        };
        let f = *self.frames_of(r.process as usize).get(r.depth as usize)?;
        (f.serial == r.serial).then_some((r, f))
    }
}

fn live(interp: &Interp, ctx: Value) -> Result<(FrameRef, Frame), VmError> {
    interp
        .context_frame(ctx)
        .map_or_else(|| prim_fail("this context is dead (its activation has returned)"), Ok)
}

fn sender(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (r, _) = live(interp, interp.receiver(argc))?;
    let v = if r.depth == 0 {
        interp.nil()
    } else {
        interp.context_object(r.process as usize, r.depth as usize - 1)
    };
    interp.prim_return(argc, v)
}

fn receiver(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (r, f) = live(interp, interp.receiver(argc))?;
    let v = interp.stack_of(r.process as usize)[f.bp as usize];
    interp.prim_return(argc, v)
}

fn method(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (_, f) = live(interp, interp.receiver(argc))?;
    interp.prim_return(argc, f.method)
}

fn closure(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (_, f) = live(interp, interp.receiver(argc))?;
    interp.prim_return(argc, f.closure)
}

fn pc(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (_, f) = live(interp, interp.receiver(argc))?;
    interp.prim_return(argc, Value::small(f.pc as i64))
}

fn is_dead(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let dead = interp.context_frame(interp.receiver(argc)).is_none();
    crate::primitives::ret_bool(interp, argc, dead)
}

fn same_as(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = interp.context_frame(interp.receiver(argc)).map(|(r, _)| r);
    let b = interp.context_frame(interp.arg(argc, 0)).map(|(r, _)| r);
    crate::primitives::ret_bool(interp, argc, a.is_some() && a == b)
}

/// While an update runs application code (state transfer, the scheduler frozen), frames
/// may be changed only if they belong to that run — the active process's frames at least
/// `above` above the depth where it started — so that its own `on:do:`, `ensure:`,
/// `return:` and `retry` work while the paused processes' frames stay untouched.
fn require_own_frame(interp: &Interp, r: FrameRef, above: usize, what: &str) -> Result<(), VmError> {
    let s = &interp.scheduler;
    if s.frozen && (r.process as usize != s.active || (r.depth as usize) < s.frozen_depth + above) {
        return interp.require_unfrozen(what);
    }
    Ok(())
}

/// Index of temp `i` (1-based: arguments first, then temporaries) of a frame.
fn temp_slot(f: &Frame, i: i64) -> Result<usize, VmError> {
    let code = unsafe { &*f.code };
    let n = code.num_args as i64 + code.num_temps as i64;
    if i < 1 || i > n {
        return prim_fail(format!("temp index {i} out of bounds 1 to {n}"));
    }
    Ok(f.bp as usize + i as usize)
}

fn temp_at(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (r, f) = live(interp, interp.receiver(argc))?;
    let Some(i) = interp.arg(argc, 0).as_small() else {
        return prim_fail("index must be an Integer");
    };
    let slot = temp_slot(&f, i)?;
    let v = interp.stack_of(r.process as usize)[slot];
    interp.prim_return(argc, v)
}

fn temp_at_put(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (r, f) = live(interp, interp.receiver(argc))?;
    require_own_frame(interp, r, 0, "Context>>tempAt:put:")?;
    let Some(i) = interp.arg(argc, 0).as_small() else {
        return prim_fail("index must be an Integer");
    };
    let slot = temp_slot(&f, i)?;
    let v = interp.arg(argc, 1);
    let pid = r.process as usize;
    if pid == interp.scheduler.active || interp.scheduler.processes.is_empty() {
        interp.stack[slot] = v;
    } else {
        interp.scheduler.processes[pid].stack[slot] = v;
    }
    interp.prim_return(argc, v)
}

fn num_temps(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (_, f) = live(interp, interp.receiver(argc))?;
    let code = unsafe { &*f.code };
    interp.prim_return(argc, Value::small(code.num_args as i64 + code.num_temps as i64))
}

/// `aContext primReturn: value`: the frames above the context's are dropped (without
/// running unwind blocks: Smalltalk runs those first) and the context returns `value` to
/// its sender. Only contexts of the active process.
fn prim_return(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (r, f) = live(interp, interp.receiver(argc))?;
    // Returning from the run's first frame would skip the end of the run: above it only.
    require_own_frame(interp, r, 1, "Context>>return:")?;
    if r.process as usize != interp.scheduler.active && !interp.scheduler.processes.is_empty() {
        return prim_fail("can only return from a context of the active process");
    }
    let v = interp.arg(argc, 0);
    interp.frames.truncate(r.depth as usize + 1);
    interp.frames.pop();
    interp.stack.truncate(f.bp as usize);
    if interp.frames.is_empty() {
        return prim_fail("cannot return from the bottom context of a process");
    }
    interp.stack.push(v);
    Ok(())
}

/// `aContext primRestart`: the frames above are dropped (without running unwind blocks:
/// Smalltalk runs those first) and the context starts over.
fn restart(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (r, f) = live(interp, interp.receiver(argc))?;
    require_own_frame(interp, r, 0, "Context>>restart")?;
    if r.process as usize != interp.scheduler.active && !interp.scheduler.processes.is_empty() {
        return prim_fail("can only restart a context of the active process");
    }
    interp.frames.truncate(r.depth as usize + 1);
    let code = unsafe { &*f.code };
    interp.stack.truncate(f.bp as usize + 1 + code.num_args as usize);
    let nil = interp.nil();
    for _ in 0..code.num_temps {
        interp.stack.push(nil);
    }
    interp.reset_frame_env();
    interp.frames.last_mut().expect("the restarted frame").pc = 0;
    Ok(())
}

/// `aContext location`: 'Holder>>#selector (file:line)', as in the VM's backtraces.
fn location(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (r, f) = live(interp, interp.receiver(argc))?;
    let text = interp.describe_frame(&f, r.process as usize);
    let v = interp.space.new_string(&text);
    interp.prim_return(argc, v)
}

/// Context primitives.
pub fn lookup(selector: &str) -> Option<PrimFn> {
    Some(match selector {
        "sender" => sender,
        "receiver" => receiver,
        "method" => method,
        "closure" => closure,
        "pc" => pc,
        "isDead" => is_dead,
        "isSameAs:" => same_as,
        "tempAt:" => temp_at,
        "tempAt:put:" => temp_at_put,
        "numTemps" => num_temps,
        "location" => location,
        "primReturn:" => prim_return,
        "primRestart" => restart,
        _ => return None,
    })
}
