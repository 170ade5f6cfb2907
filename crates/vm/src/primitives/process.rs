//! Process, ProcessorScheduler and Semaphore primitives (green threads).

use super::ret_bool;
use crate::error::{prim_fail, VmError};
use crate::interpreter::{Interp, PrimFn};
use crate::scheduler::{RunState, MAX_PRIORITY};
use crate::space::Special;
use crate::value::Value;
use std::time::{Duration, Instant};

fn process_arg(interp: &Interp, v: Value) -> Result<usize, VmError> {
    match interp.process_id(v) {
        Some(id) => Ok(id),
        None => prim_fail("not a process of this space"),
    }
}

// --- Block -------------------------------------------------------------------------

/// `aBlock newProcess`: a suspended process that will evaluate the block.
pub fn new_process(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.require_unfrozen("starting a process")?;
    let block = interp.receiver(argc);
    let ok = block.is_object() && matches!(interp.space.heap.get(block).body, crate::object::Body::Block(_));
    if !ok {
        return prim_fail("newProcess needs a block");
    }
    let p = interp.new_process(block);
    interp.prim_return(argc, p)
}

// --- Process -----------------------------------------------------------------------

fn resume(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.require_unfrozen("Process>>resume")?;
    let me = interp.receiver(argc);
    let id = process_arg(interp, me)?;
    interp.prim_return(argc, me)?;
    if interp.scheduler.processes[id].state == RunState::Suspended {
        interp.make_runnable(id);
    }
    Ok(())
}

fn suspend(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.require_unfrozen("Process>>suspend")?;
    let me = interp.receiver(argc);
    let id = process_arg(interp, me)?;
    interp.prim_return(argc, me)?;
    let p = &mut interp.scheduler.processes[id];
    match p.state {
        RunState::Terminated => Ok(()),
        _ if id == interp.scheduler.active => interp.block_active(RunState::Suspended),
        _ => {
            interp.scheduler.leave_semaphore(id);
            interp.scheduler.processes[id].state = RunState::Suspended;
            Ok(())
        }
    }
}

fn terminate(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.require_unfrozen("Process>>terminate")?;
    let me = interp.receiver(argc);
    let id = process_arg(interp, me)?;
    interp.prim_return(argc, me)?;
    if id == 0 && interp.scheduler.active == 0 {
        return Err(VmError::Exit(0)); // terminating the main process ends the program
    }
    interp.terminate_process(id)
}

/// The top context of a process that is not running (nil if it has none).
fn suspended_context(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let id = process_arg(interp, interp.receiver(argc))?;
    let n = interp.frames_of(id).len();
    let started = interp.scheduler.processes[id].start.is_none();
    let v = if n == 0 || !started || interp.scheduler.processes[id].state == RunState::Terminated {
        interp.nil()
    } else {
        interp.context_object(id, n - 1)
    };
    interp.prim_return(argc, v)
}

fn priority(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let id = process_arg(interp, interp.receiver(argc))?;
    let p = interp.scheduler.processes[id].priority;
    interp.prim_return(argc, Value::small(p))
}

fn set_priority(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.require_unfrozen("Process>>priority:")?;
    let me = interp.receiver(argc);
    let id = process_arg(interp, me)?;
    let Some(p) = interp.arg(argc, 0).as_small() else {
        return prim_fail("priority must be an Integer");
    };
    if !(1..=MAX_PRIORITY).contains(&p) {
        return prim_fail(format!("priority must be between 1 and {MAX_PRIORITY}"));
    }
    interp.scheduler.processes[id].priority = p;
    if interp.scheduler.processes[id].state == RunState::Runnable {
        interp.scheduler.enqueue(id);
    }
    interp.space.heap.get_mut(me).fields[2] = Value::small(p);
    interp.prim_return(argc, me)?;
    // A lowered active process may have to give way.
    interp.interrupt.store(true, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

fn is_terminated(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let id = process_arg(interp, interp.receiver(argc))?;
    let t = interp.scheduler.processes[id].state == RunState::Terminated;
    ret_bool(interp, argc, t)
}

fn is_suspended(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let id = process_arg(interp, interp.receiver(argc))?;
    let t = interp.scheduler.processes[id].state == RunState::Suspended;
    ret_bool(interp, argc, t)
}

// --- ProcessorScheduler --------------------------------------------------------------

fn active_process(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.ensure_main_process();
    let p = interp.scheduler.processes[interp.scheduler.active].object;
    interp.prim_return(argc, p)
}

fn yield_(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.require_unfrozen("Processor yield")?;
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)?;
    interp.ensure_main_process();
    interp.preempt()
}

fn millis_arg(interp: &Interp, argc: usize) -> Result<Duration, VmError> {
    match interp.arg(argc, 0).as_small() {
        Some(ms) if ms >= 0 => Ok(Duration::from_millis(ms as u64)),
        _ => prim_fail("milliseconds must be a non-negative Integer"),
    }
}

fn sleep(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.require_unfrozen("Processor sleep:")?;
    let d = millis_arg(interp, argc)?;
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)?;
    interp.ensure_main_process();
    let active = interp.scheduler.active;
    interp.scheduler.set_deadline(active, Some(Instant::now() + d));
    interp.block_active(RunState::Sleeping)
}

// --- Semaphore ------------------------------------------------------------------------

fn excess(interp: &Interp, sem: Value) -> Result<i64, VmError> {
    if sem.is_immediate() {
        return prim_fail("not a semaphore");
    }
    match interp.space.heap.get(sem).fields.first() {
        Some(v) => Ok(v.as_small().unwrap_or(0)),
        None => prim_fail("a Semaphore needs its excessSignals field"),
    }
}

fn set_excess(interp: &mut Interp, sem: Value, n: i64) {
    interp.space.heap.get_mut(sem).fields[0] = Value::small(n);
}

fn signal(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.require_unfrozen("Semaphore>>signal")?;
    let sem = interp.receiver(argc);
    let n = excess(interp, sem)?;
    interp.prim_return(argc, sem)?;
    let waiter = interp.scheduler.waiters.get_mut(&sem).and_then(|q| q.pop_front());
    match waiter {
        Some(id) => {
            interp.scheduler.processes[id].waiting_on = None;
            interp.make_runnable(id);
        }
        None => set_excess(interp, sem, n + 1),
    }
    Ok(())
}

fn wait_with(interp: &mut Interp, argc: usize, timeout: Option<Duration>) -> Result<(), VmError> {
    interp.require_unfrozen("a Semaphore wait")?;
    let sem = interp.receiver(argc);
    let n = excess(interp, sem)?;
    let answer = if timeout.is_some() {
        interp.space.special(Special::True)
    } else {
        sem
    };
    interp.prim_return(argc, answer)?;
    if n > 0 {
        set_excess(interp, sem, n - 1);
        return Ok(());
    }
    if timeout == Some(Duration::ZERO) {
        let f = interp.space.special(Special::False);
        *interp.stack.last_mut().expect("result") = f;
        return Ok(());
    }
    interp.ensure_main_process();
    let active = interp.scheduler.active;
    interp.scheduler.waiters.entry(sem).or_default().push_back(active);
    let p = &mut interp.scheduler.processes[active];
    p.waiting_on = Some(sem);
    interp
        .scheduler
        .set_deadline(active, timeout.map(|t| Instant::now() + t));
    interp.block_active(RunState::Waiting)
}

fn wait(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    wait_with(interp, argc, None)
}

fn wait_timeout(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let d = millis_arg(interp, argc)?;
    wait_with(interp, argc, Some(d))
}

/// `system stopAfterError: code`: in the main process, exit with `code` (SOM's `error:`);
/// in any other process, end only that process.
pub fn stop_after_error(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    if interp.scheduler.frozen {
        return Err(interp.error(
            "state transfer: the application code signalled an error it did not handle (its description is on the application's output)",
        ));
    }
    let code = interp.arg(argc, 0).as_small().unwrap_or(1) as i32;
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)?;
    let _ = std::io::Write::flush(&mut interp.out);
    let active = interp.scheduler.active;
    if active == 0 || interp.scheduler.processes.len() <= 1 {
        return Err(VmError::Exit(code));
    }
    interp.terminate_process(active)
}

/// `Chester updatePoint`: parks the process while an update waits for quiescence.
fn update_point(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)?;
    interp.update_point()
}

/// Chester's class-side primitives.
pub fn lookup_chester(selector: &str) -> Option<PrimFn> {
    match selector {
        "updatePoint" => Some(update_point),
        _ => None,
    }
}

/// Process primitives.
pub fn lookup_process(selector: &str) -> Option<PrimFn> {
    Some(match selector {
        "resume" => resume,
        "suspend" => suspend,
        "primTerminate" => terminate,
        "suspendedContext" => suspended_context,
        "priority" => priority,
        "priority:" => set_priority,
        "isTerminated" => is_terminated,
        "isSuspended" => is_suspended,
        _ => return None,
    })
}

/// ProcessorScheduler primitives.
pub fn lookup_scheduler(selector: &str) -> Option<PrimFn> {
    Some(match selector {
        "activeProcess" => active_process,
        "yield" => yield_,
        "sleep:" => sleep,
        _ => return None,
    })
}

/// Semaphore primitives.
pub fn lookup_semaphore(selector: &str) -> Option<PrimFn> {
    Some(match selector {
        "signal" => signal,
        "wait" => wait,
        "wait:" => wait_timeout,
        _ => return None,
    })
}
