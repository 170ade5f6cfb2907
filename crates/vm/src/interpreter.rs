//! The interpreter: frames on a contiguous stack, the dispatch loop, sends with inline caches,
//! returns (local and non-local) and block activation.
//!
//! Everything slow (lookup misses, `doesNotUnderstand:`, global misses, class loading,
//! primitives) is a call out of the loop; the loop itself keeps `pc`, the code unit and the
//! frame base in locals and writes `pc` back to the frame only before such calls. Sends
//! that hit their inline cache (frameless methods, ordinary method and block activations)
//! and ordinary returns are done inside the loop, and superinstructions (`bytecode::fuse`,
//! ADR 0007) do common instruction sequences in one dispatch.

use crate::bytecode::{Code, FastPrim, InlineCache, Method, Op, Trivial};
use crate::error::VmError;
use crate::loader::Loader;
use crate::object::{BlockClosure, Body, HomeRef};
use crate::space::{Space, Special};
use crate::value::Value;
use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
use std::time::Instant;

/// A primitive: reads its receiver and `argc` arguments from the top of the stack and either
/// replaces them with its result or activates a frame.
pub type PrimFn = fn(&mut Interp, usize) -> Result<(), VmError>;

/// Stack slots reserved beyond one per instruction (the non-Boolean fallback of an inlined
/// conditional pushes its receiver and up to two blocks).
const STACK_SLACK: usize = 16;

/// Operands of an arithmetic or comparison instruction done inline as Doubles: an immediate
/// Double receiver with an immediate Double or SmallInteger argument (what Double's
/// primitives compute, without a send). Anything else, boxed Doubles included, is sent.
#[inline(always)]
fn float_pair(a: Value, b: Value) -> Option<(f64, f64)> {
    if !a.is_double() {
        // A SmallInteger receiver with a Double argument (`i * 0.5`): the Integer
        // primitives answer the Double of the converted receiver, which `as f64` gives
        // exactly while the integer is below 2^53.
        return match (a.as_small(), b.is_double()) {
            (Some(x), true) if x.unsigned_abs() < 1 << 53 => Some((x as f64, b.double_unchecked())),
            _ => None,
        };
    }
    let y = if b.is_double() {
        b.double_unchecked()
    } else if b.is_small() {
        b.small_unchecked() as f64
    } else {
        return None;
    };
    Some((a.double_unchecked(), y))
}

/// The binary operators with inline fast paths, in the order of `Selectors::binops`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bin {
    Add,
    Sub,
    Mul,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
}

/// `a op b` for `+ - *` on SmallIntegers and immediate Doubles (see `float_pair`); `None`
/// when the operands need a real send. `op` is a constant at every call site.
#[inline(always)]
fn arith(space: &mut Space, op: Bin, a: Value, b: Value) -> Option<Value> {
    if a.is_small() && b.is_small() {
        let (x, y) = (a.small_unchecked(), b.small_unchecked());
        return Some(match op {
            Bin::Add => space.new_int(x + y),
            Bin::Sub => space.new_int(x - y),
            _ => match x.checked_mul(y) {
                Some(p) => space.new_int(p),
                None => space.new_bigint(num_bigint::BigInt::from(x) * num_bigint::BigInt::from(y)),
            },
        });
    }
    let (x, y) = float_pair(a, b)?;
    Some(space.new_double(match op {
        Bin::Add => x + y,
        Bin::Sub => x - y,
        _ => x * y,
    }))
}

/// `a op b` for the comparisons on SmallIntegers and immediate Doubles; `None` when the
/// operands need a real send.
#[inline(always)]
fn compare(op: Bin, a: Value, b: Value) -> Option<bool> {
    #[inline(always)]
    fn cmp<T: PartialOrd>(op: Bin, x: T, y: T) -> bool {
        match op {
            Bin::Lt => x < y,
            Bin::Gt => x > y,
            Bin::Le => x <= y,
            Bin::Ge => x >= y,
            Bin::Eq => x == y,
            _ => x != y,
        }
    }
    if a.is_small() && b.is_small() {
        return Some(cmp(op, a.small_unchecked(), b.small_unchecked()));
    }
    let (x, y) = float_pair(a, b)?;
    Some(cmp(op, x, y))
}

/// Entries of the global method lookup cache (a power of two).
const LOOKUP_CACHE_SIZE: usize = 2048;

/// A global lookup cache entry: (class, selector) → method, valid for one space epoch.
#[derive(Clone, Copy)]
struct LookupEntry {
    class: Value,
    selector: Value,
    epoch: u32,
    method: *const Method,
    method_value: Value,
}

/// Code run at a requested safe point, with the paused interpreter.
pub type InterruptHandler = Box<dyn FnMut(&mut Interp, crate::quiescence::UpdateEvent)>;

/// Limit on operand stack slots of a process (8 bytes each): deep recursion through
/// methods with huge frames ends in "stack overflow" long before memory runs out.
const MAX_STACK_SLOTS: usize = 32 << 20;

/// Activations allowed beyond `max_depth` while a `StackOverflow` is being handled.
const OVERFLOW_HEADROOM: usize = 2_000;

/// Default limit on nested activations; deeper recursion is a Smalltalk-level error.
pub const DEFAULT_MAX_DEPTH: usize = 100_000;

/// One activation of a method or block.
#[derive(Clone, Copy)]
pub struct Frame {
    /// The code being run (kept alive by `method` or `closure`).
    pub code: *const Code,
    /// The method object (for a block: the method the block was written in).
    pub method: Value,
    /// The block closure, or nil for a method activation.
    pub closure: Value,
    /// Index of the next instruction.
    pub pc: u32,
    /// Stack index of the receiver; arguments and temporaries follow it.
    pub bp: u32,
    /// The heap environment visible from this frame, or nil.
    pub env: Value,
    /// Unique number of this activation.
    pub serial: u64,
    /// The home method activation (itself for methods).
    pub home: HomeRef,
    /// What happens to the frame's answer (ordinary frames push it for their caller).
    pub on_return: OnReturn,
}

impl Frame {
    /// The heap values the frame holds (besides its stack slots), for the collector.
    pub fn trace(&self, out: &mut Vec<Value>) {
        out.push(self.method);
        out.push(self.closure);
        out.push(self.env);
    }
}

/// What happens to a frame's answer when it returns: checked once per return, like a flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnReturn {
    /// Pushed onto the caller's stack (every ordinary frame).
    Push,
    /// Dropped: the frame was inserted by an update (`insertFrame:above:`), and the frame
    /// below goes on as if nothing had been called.
    Discard,
    /// Pushed, then the frame an update inserted above the caller (`Interp::inserted_frames`,
    /// keyed by this frame's serial) runs before the caller goes on.
    PushThenRunInserted,
}

/// A frame inserted by an update above a frame that is not the top of its thread: it is
/// activated when the frame above the insertion point returns.
#[derive(Clone, Copy, Debug)]
pub struct InsertedFrame {
    /// The serial of the frame whose return activates it.
    pub after_serial: u64,
    /// The receiver of the unary send.
    pub receiver: Value,
    /// The selector.
    pub selector: Value,
}

/// Interned selectors the interpreter's special instructions fall back to. (The selectors
/// the VM sends on its own, like `doesNotUnderstand:arguments:`, are special objects.)
pub struct Selectors {
    /// The fallback selectors of `Op::Add` … `Op::Ne`, in that order.
    pub binops: [Value; 9],
    /// `at:` (fallback of `Op::At`).
    pub at: Value,
    /// `at:put:` (fallback of `Op::AtPut`).
    pub at_put: Value,
    /// `==` (what `Op::NotIdentical` checks the receiver's `~~` sends).
    pub identical: Value,
}

/// An interpreter over one space: the space, the (single, for now) process's stacks, the
/// class loader and the program's output streams.
pub struct Interp {
    /// The object space.
    pub space: Space,
    /// Operand/locals stack of the running process.
    pub stack: Vec<Value>,
    /// Activation records of the running process.
    pub frames: Vec<Frame>,
    /// Where class files come from.
    pub loader: Loader,
    /// Selectors the VM sends by itself.
    pub sel: Selectors,
    /// The program's standard output.
    pub out: Box<dyn Write>,
    /// The program's standard error.
    pub err: Box<dyn Write>,
    /// Nested activations allowed before "stack overflow".
    pub max_depth: usize,
    /// When the interpreter was created (for `system time`/`ticks`).
    pub started: Instant,
    /// State of `atRandom`.
    pub random_state: u64,
    lookup_cache: Box<[LookupEntry]>,
    /// Values held from outside the space (mirror handles of an update session): roots.
    pub handles: Vec<Value>,
    /// Values kept by the undo logs of committed updates (for revert): roots.
    pub undo_roots: Vec<Vec<Value>>,
    /// Frames updates inserted below the top of a thread, waiting for their turn.
    pub inserted_frames: Vec<InsertedFrame>,
    /// A time limit for what runs now (an update script): past it, the next safe point
    /// that sees the interrupt flag (raised by a `Watchdog`) stops the run with an error.
    pub deadline: Option<Instant>,
    /// The processes of this space (the active one's stacks are `stack`/`frames`).
    pub scheduler: crate::scheduler::Scheduler,
    /// Set (from any thread) to request an update at the next safe point; the handler
    /// runs then (see `interrupt_handler`).
    pub update_requested: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The conditional jump (frame serial, instruction) that last sent `mustBeBoolean`.
    must_be_boolean_retry: Option<(u64, usize)>,
    /// The process the innermost `run` was entered for.
    run_entry: usize,
    /// Serial of the activation at the depth limit when StackOverflow was last signalled.
    overflow_signalled_at: Option<u64>,
    /// True for a hypervisor space: its class files may bind the mirror primitives.
    pub is_hypervisor: bool,
    /// The update session a hypervisor script is running in, if any.
    pub mirror_session: Option<crate::mop::mirrors::MirrorSession>,
    /// Set (from any thread) to stop the space at its next safe point (a send or a
    /// back-jump) and run `interrupt_handler` there.
    pub interrupt: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// What to do at a requested safe point (e.g. run an update in a hypervisor).
    pub interrupt_handler: Option<InterruptHandler>,
    /// A quiescence wait for an update, if one is in progress.
    pub quiescence: Option<crate::quiescence::Quiescence>,
    /// The self-pipe that wakes the scheduler's `poll` for updates (read end, write end).
    pub wake_pipe: Option<(std::os::fd::OwnedFd, std::sync::Arc<std::os::fd::OwnedFd>)>,
    next_serial: u64,
}

/// What `stack_overflow` decided.
enum Overflow {
    /// Go on with the activation (the overflow is being handled).
    Proceed,
    /// A `StackOverflow` exception was signalled instead.
    Signalled,
}

enum Flow {
    Continue,
    Done(Value),
    /// A process other than the one `run` was entered for returned from its last frame.
    Ended,
}

impl Interp {
    /// The receiver of the current send (argc arguments above it).
    #[inline(always)]
    pub fn receiver(&self, argc: usize) -> Value {
        self.stack[self.stack.len() - 1 - argc]
    }

    /// Argument `i` (0-based) of a send with `argc` arguments.
    #[inline(always)]
    pub fn arg(&self, argc: usize, i: usize) -> Value {
        self.stack[self.stack.len() - argc + i]
    }

    /// Replaces receiver and arguments with the primitive's result.
    #[inline(always)]
    pub fn prim_return(&mut self, argc: usize, v: Value) -> Result<(), VmError> {
        let n = self.stack.len() - argc;
        self.stack.truncate(n);
        *self.stack.last_mut().expect("receiver on stack") = v;
        Ok(())
    }

    /// nil.
    #[inline(always)]
    pub fn nil(&self) -> Value {
        self.space.nil()
    }

    /// Sends `selector` to `receiver` with `args` from outside the interpreter loop and runs
    /// until the send returns.
    pub fn send_message(&mut self, receiver: Value, selector: &str, args: &[Value]) -> Result<Value, VmError> {
        let sel = self.space.symbol(selector);
        self.call_from_outside(receiver, args, |interp| interp.send(sel, args.len(), None, None))
    }

    /// Runs a method as a "do it" with `receiver`, answering its value.
    pub fn run_method(&mut self, receiver: Value, method: Value) -> Result<Value, VmError> {
        let m = self.space.method_of(method).expect("a method").clone();
        self.call_from_outside(receiver, &[], |interp| interp.invoke(&m, method, 0))
    }

    /// Pushes `receiver` and `args`, starts the call with `start` (a send or an invoke) and
    /// runs until it returns; on failure the stacks are restored to what they were.
    fn call_from_outside(
        &mut self,
        receiver: Value,
        args: &[Value],
        start: impl FnOnce(&mut Interp) -> Result<(), VmError>,
    ) -> Result<Value, VmError> {
        let base = self.frames.len();
        let stack_base = self.stack.len();
        self.stack.push(receiver);
        self.stack.extend_from_slice(args);
        let result = start(self).and_then(|()| {
            if self.frames.len() > base {
                self.run(base)
            } else {
                Ok(self.stack.pop().unwrap_or(self.space.nil()))
            }
        });
        if result.is_err() {
            self.frames.truncate(base);
            self.stack.truncate(stack_base);
        }
        result.map_err(|e| self.finish_error(e))
    }

    fn finish_error(&mut self, e: VmError) -> VmError {
        match e {
            VmError::PrimitiveFailed(m) => VmError::Uncaught {
                message: m,
                backtrace: Vec::new(),
            },
            other => other,
        }
    }

    /// The Smalltalk backtrace of the current process, innermost first. Very deep stacks
    /// are abbreviated in the middle.
    pub fn backtrace(&self) -> Vec<String> {
        const HEAD: usize = 30;
        const TAIL: usize = 10;
        let n = self.frames.len();
        let mut lines = Vec::new();
        for (i, f) in self.frames.iter().rev().enumerate() {
            if n > HEAD + TAIL && i >= HEAD && i < n - TAIL {
                if i == HEAD {
                    lines.push(format!("... {} more activations ...", n - HEAD - TAIL));
                }
                continue;
            }
            lines.push(self.describe_frame(f, self.scheduler.active));
        }
        lines
    }

    /// One backtrace line: `[] in Holder>>#selector (file:line)`.
    pub fn describe_frame(&self, f: &Frame, _process: usize) -> String {
        let Some(m) = self.space.method_of(f.method) else {
            return "?".into();
        };
        let holder = self.space.class_name(m.holder.get());
        let sel = self.space.name_of(m.selector);
        let code = unsafe { &*f.code };
        let line = code
            .lines
            .get((f.pc as usize).saturating_sub(1))
            .copied()
            .unwrap_or(m.first_line);
        let block = if f.closure != self.space.nil() { "[] in " } else { "" };
        format!("{block}{holder}>>#{sel} ({}:{line})", m.file)
    }

    /// An uncaught error with the current backtrace.
    pub fn error(&self, message: impl Into<String>) -> VmError {
        VmError::Uncaught {
            message: message.into(),
            backtrace: self.backtrace(),
        }
    }

    // -----------------------------------------------------------------------------------
    // Sends

    /// Sends `selector` to the receiver `argc` below the top: runs a primitive or pushes a
    /// frame. `lookup_from` overrides the receiver's class (super sends).
    pub fn send(
        &mut self,
        selector: Value,
        argc: usize,
        cache: Option<&Cell<InlineCache>>,
        lookup_from: Option<Value>,
    ) -> Result<(), VmError> {
        let rcv = self.receiver(argc);
        let class = match lookup_from {
            Some(c) => c,
            None => self.space.class_of(rcv),
        };
        if let Some(cache) = cache {
            if let Some((m, mv)) = cache.get().lookup(class, self.space.epoch) {
                return self.invoke(unsafe { &*m }, mv, argc);
            }
        }
        let slot = ((class.raw() ^ selector.raw().rotate_left(7)) >> 2) as usize & (LOOKUP_CACHE_SIZE - 1);
        let entry = self.lookup_cache[slot];
        let found = if entry.class == class && entry.selector == selector && entry.epoch == self.space.epoch {
            Some((entry.method, entry.method_value))
        } else {
            match self.space.lookup(class, selector) {
                Some(mv) => {
                    let m = Rc::as_ptr(self.space.method_of(mv).expect("method dictionaries hold methods"));
                    self.lookup_cache[slot] = LookupEntry {
                        class,
                        selector,
                        epoch: self.space.epoch,
                        method: m,
                        method_value: mv,
                    };
                    Some((m, mv))
                }
                None => None,
            }
        };
        match found {
            Some((m, mv)) => {
                if let Some(cache) = cache {
                    let mut e = cache.get();
                    e.fill(class, self.space.epoch, m, mv);
                    cache.set(e);
                }
                // The method object is alive: a class holds it, and the epoch check above
                // guarantees no collection freed it since it was cached.
                let m = unsafe { &*m };
                self.invoke(m, mv, argc)
            }
            None => self.does_not_understand(selector, argc),
        }
    }

    /// The global lookup cache's entry for `class` and `selector` in this epoch, if any;
    /// recorded in the send site's inline cache `cache` too while that has a free entry (a
    /// megamorphic site keeps its two entries and probes here each time).
    #[inline]
    fn probe_lookup_cache(
        &self,
        class: Value,
        selector: Value,
        cache: &Cell<InlineCache>,
    ) -> Option<(*const Method, Value)> {
        let slot = ((class.raw() ^ selector.raw().rotate_left(7)) >> 2) as usize & (LOOKUP_CACHE_SIZE - 1);
        let entry = &self.lookup_cache[slot];
        if entry.class != class || entry.selector != selector || entry.epoch != self.space.epoch {
            return None;
        }
        let mut e = cache.get();
        if e.epoch != self.space.epoch || e.class2 == Value::small(0) {
            e.fill(class, self.space.epoch, entry.method, entry.method_value);
            cache.set(e);
        }
        Some((entry.method, entry.method_value))
    }

    /// The method for `selector` in `class` (through the global lookup cache), recorded in
    /// `cache`; `None` if the class does not understand it.
    fn fill_cache(&mut self, class: Value, selector: Value, cache: &Cell<InlineCache>) -> Option<*const Method> {
        let mv = self.space.lookup(class, selector)?;
        let m = Rc::as_ptr(self.space.method_of(mv).expect("method dictionaries hold methods"));
        let mut e = cache.get();
        e.fill(class, self.space.epoch, m, mv);
        cache.set(e);
        Some(m)
    }

    /// `Op::NilCase` on an inline cache miss: looks the selector (from the instruction's
    /// fallback) up in `class`, fills the cache and answers what the method's shape says.
    #[cold]
    fn nil_case_miss(
        &mut self,
        c: &Code,
        at: usize,
        class: Value,
        cache: &Cell<InlineCache>,
        mode: u8,
    ) -> Option<Option<u8>> {
        let fb = c.fallbacks.iter().find(|f| f.jump as usize == at)?;
        let m = self.fill_cache(class, c.literals[fb.selector as usize], cache)?;
        // SAFETY: the method was just found in a class of the space.
        unsafe { (&(*m)).code.shape }.nil_case(mode)
    }

    /// Runs method `m` (object `mv`) on the receiver and arguments on the stack.
    #[inline]
    pub fn invoke(&mut self, m: &Method, mv: Value, argc: usize) -> Result<(), VmError> {
        if let Some(p) = m.primitive {
            let (base, depth) = (self.stack.len() - 1 - argc, self.frames.len());
            return match p(self, argc) {
                Err(VmError::PrimitiveFailed(message)) if self.frames.len() == depth => {
                    self.signal_failure(message, base)
                }
                other => other,
            };
        }
        if let Some(t) = m.code.trivial {
            if let Some(v) = self.run_trivial(t, argc) {
                return self.prim_return(argc, v);
            }
        }
        if m.code.num_args as usize != argc {
            return Err(self.error(format!(
                "wrong number of arguments for #{}",
                self.space.name_of(m.selector)
            )));
        }
        let nil = self.nil();
        self.activate(Rc::as_ptr(&m.code), mv, nil, argc, None)
    }

    /// A primitive failed: signal it as a Smalltalk exception (`ZeroDivide`,
    /// `ArithmeticError`, `SubscriptOutOfBounds` or `PrimitiveFailed`, when the core library has them) in place
    /// of the send whose receiver sat at stack index `base`; the exception's value (when
    /// resumed or returned by a handler) becomes the send's value.
    #[cold]
    fn signal_failure(&mut self, message: String, base: usize) -> Result<(), VmError> {
        let class_name = if message.starts_with("socket:") {
            "SocketError"
        } else if message.starts_with("MirrorError:") {
            "MirrorError"
        } else if message.starts_with("Division by zero") {
            "ZeroDivide"
        } else if message == "Domain error." {
            "ArithmeticError"
        } else if message.contains("out of bounds") || message.contains(" not valid for ") {
            "SubscriptOutOfBounds"
        } else {
            "PrimitiveFailed"
        };
        self.signal_exception(class_name, message, base)
    }

    /// Replaces everything from stack index `base` up with `ClassName signal: message`.
    fn signal_exception(&mut self, class_name: &str, message: String, base: usize) -> Result<(), VmError> {
        let class = match self.load_class(class_name) {
            Ok(Some(c)) => c,
            _ => return Err(VmError::PrimitiveFailed(message)),
        };
        let signal = self.space.symbol("signal:");
        let meta = self.space.class_of(class);
        if self.space.lookup(meta, signal).is_none() || base > self.stack.len() {
            return Err(VmError::PrimitiveFailed(message));
        }
        self.stack.truncate(base);
        self.stack.push(class);
        let text = self.space.new_string(&message);
        self.stack.push(text);
        self.send(signal, 1, None, None)
    }

    /// Recursion reached the limit: signal `StackOverflow` in place of the send. While that
    /// overflow is being handled (the deep activations are still there), up to
    /// `OVERFLOW_HEADROOM` more activations are allowed; past that, or without the class,
    /// it is an uncaught error.
    #[cold]
    fn stack_overflow(&mut self, argc: usize) -> Result<Overflow, VmError> {
        let depth = self.frames.len();
        let message = format!("Stack overflow: more than {} nested activations", self.max_depth);
        if self.stack.len() >= MAX_STACK_SLOTS {
            return Err(self.error(message));
        }
        let marker = self.frames.get(self.max_depth.saturating_sub(1)).map(|f| f.serial);
        if marker.is_some() && marker == self.overflow_signalled_at {
            return if depth < self.max_depth + OVERFLOW_HEADROOM {
                Ok(Overflow::Proceed)
            } else {
                Err(self.error(message))
            };
        }
        if marker.is_none() {
            return Ok(Overflow::Proceed); // only the stack-slot limit was close
        }
        self.overflow_signalled_at = marker;
        let base = self.stack.len() - 1 - argc;
        match self.signal_exception("StackOverflow", message.clone(), base) {
            Ok(()) => Ok(Overflow::Signalled),
            Err(_) => Err(self.error(message)),
        }
    }

    /// Runs a frameless method; `None` when the receiver does not fit (e.g. a getter on
    /// an object without that field), in which case a real frame reports the problem.
    #[inline(always)]
    fn run_trivial(&mut self, t: Trivial, argc: usize) -> Option<Value> {
        let rcv = self.receiver(argc);
        let arg = if argc > 0 { self.arg(argc, 0) } else { rcv };
        self.trivial_value(t, rcv, arg)
    }

    /// What a frameless method answers for `rcv` (a setter stores `arg`, the first argument).
    #[inline(always)]
    fn trivial_value(&mut self, t: Trivial, rcv: Value, arg: Value) -> Option<Value> {
        match t {
            Trivial::ReturnSelf => Some(rcv),
            Trivial::Constant(v) => Some(v),
            Trivial::Global(slot) => self.space.globals[slot as usize].value,
            Trivial::Getter(i) if rcv.is_object() => self.space.heap.get(rcv).fields.get(i as usize).copied(),
            Trivial::Setter(i) if rcv.is_object() => {
                let slot = self.space.heap.get_mut(rcv).fields.get_mut(i as usize)?;
                *slot = arg;
                Some(rcv)
            }
            _ => None,
        }
    }

    /// `r at: i` done inline when the send site's cache says Array's primitive answers it
    /// for `r`'s class and the index is in range.
    #[inline(always)]
    fn array_at(&self, r: Value, i: Value, cache: &Cell<InlineCache>) -> Option<Value> {
        if !r.is_object() || !i.is_small() {
            return None;
        }
        let obj = self.space.heap.get(r);
        let e = cache.get();
        if e.class != obj.class || e.epoch != self.space.epoch || unsafe { (*e.method).fast } != FastPrim::ArrayAt {
            return None;
        }
        match &obj.body {
            Body::Array(items) => items.get((i.small_unchecked() as usize).wrapping_sub(1)).copied(),
            _ => None,
        }
    }

    /// `r at: i put: v` done inline (see `array_at`); answers whether it was.
    #[inline(always)]
    fn array_at_put(&mut self, r: Value, i: Value, v: Value, cache: &Cell<InlineCache>) -> bool {
        if !r.is_object() || !i.is_small() {
            return false;
        }
        let epoch = self.space.epoch;
        let obj = self.space.heap.get_mut(r);
        let e = cache.get();
        if e.class != obj.class || e.epoch != epoch || unsafe { (*e.method).fast } != FastPrim::ArrayAtPut {
            return false;
        }
        match &mut obj.body {
            Body::Array(items) => match items.get_mut((i.small_unchecked() as usize).wrapping_sub(1)) {
                Some(slot) => {
                    *slot = v;
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    /// Gives the top frame a fresh environment, as on entry (for restarts): captured
    /// variables start over, and an inlined scope the frame was inside is left.
    pub fn reset_frame_env(&mut self) {
        let nil = self.nil();
        let frame = *self.frames.last().expect("a frame");
        let code = unsafe { &*frame.code };
        let outer = match &self.space.heap.get(frame.closure).body {
            Body::Block(b) if frame.closure != nil => b.outer_env,
            _ => nil,
        };
        let env = if code.env_size > 0 {
            let mut slots = vec![nil; code.env_size as usize];
            slots[0] = outer;
            for &(arg, slot) in code.env_args.iter() {
                slots[slot as usize] = self.stack[frame.bp as usize + 1 + arg as usize];
            }
            self.space.new_array(slots)
        } else {
            outer
        };
        self.frames.last_mut().expect("a frame").env = env;
    }

    /// Pushes a frame for `code` whose receiver and arguments are on the stack.
    pub(crate) fn activate(
        &mut self,
        code: *const Code,
        method: Value,
        closure: Value,
        argc: usize,
        outer: Option<(Value, HomeRef)>,
    ) -> Result<(), VmError> {
        let c_ref = unsafe { &*code };
        if self.frames.len() >= self.max_depth
            || self.stack.len() + c_ref.num_temps as usize + c_ref.ops.len() > MAX_STACK_SLOTS
        {
            match self.stack_overflow(argc)? {
                Overflow::Proceed => {}
                Overflow::Signalled => return Ok(()),
            }
        }
        // SAFETY: `code` points at the running method's code unit, kept alive by its method for the whole activation.
        let c = unsafe { &*code };
        let bp = self.stack.len() - 1 - argc;
        let nil = self.nil();
        // Room for everything this frame can push (the run loop writes without checks).
        self.stack.reserve(c.num_temps as usize + c.ops.len() + STACK_SLACK);
        for _ in 0..c.num_temps {
            self.stack.push(nil);
        }
        let serial = self.next_serial;
        self.next_serial += 1;
        let (outer_env, home) = match outer {
            Some(o) => o,
            None => (
                nil,
                HomeRef {
                    process: self.scheduler.active as u32,
                    depth: self.frames.len() as u32,
                    serial,
                },
            ),
        };
        let env = if c.env_size > 0 {
            let mut slots = vec![nil; c.env_size as usize];
            slots[0] = outer_env;
            for &(arg, slot) in c.env_args.iter() {
                slots[slot as usize] = self.stack[bp + 1 + arg as usize];
            }
            let class = self.space.special(Special::ArrayClass);
            self.space.new_with_body(class, Body::Array(slots))
        } else {
            outer_env
        };
        self.frames.push(Frame {
            code,
            method,
            closure,
            pc: 0,
            bp: bp as u32,
            env,
            serial,
            home,
            on_return: OnReturn::Push,
        });
        Ok(())
    }

    /// Activates block `closure` (receiver slot of the send) with `argc` arguments.
    pub fn activate_block(&mut self, closure: Value, argc: usize) -> Result<(), VmError> {
        if closure.is_immediate() {
            return crate::error::prim_fail("not a block");
        }
        let (code, method, receiver, outer_env, home) = match &self.space.heap.get(closure).body {
            Body::Block(b) => (Rc::as_ptr(&b.code), b.method, b.receiver, b.outer_env, b.home),
            _ => return crate::error::prim_fail("not a block"),
        };
        // SAFETY: `code` points at the running method's code unit, kept alive by its method for the whole activation.
        let c = unsafe { &*code };
        if c.num_args as usize != argc {
            return Err(self.error(format!(
                "wrong number of arguments for block: expected {}, got {argc}",
                c.num_args
            )));
        }
        let bp = self.stack.len() - 1 - argc;
        self.stack[bp] = receiver;
        self.activate(code, method, closure, argc, Some((outer_env, home)))
    }

    fn does_not_understand(&mut self, selector: Value, argc: usize) -> Result<(), VmError> {
        let n = self.stack.len() - argc;
        let args: Vec<Value> = self.stack.drain(n..).collect();
        let rcv = *self.stack.last().expect("receiver");
        let class = self.space.class_of(rcv);
        let dnu = self.space.special(Special::DoesNotUnderstand);
        match self.space.lookup(class, dnu) {
            Some(mv) => {
                let array = self.space.new_array(args);
                self.stack.push(selector);
                self.stack.push(array);
                let m = self.space.method_of(mv).expect("method").clone();
                self.invoke(&m, mv, 2)
            }
            None => Err(self.error(format!(
                "{} does not understand #{}",
                self.space.class_name(class),
                self.space.name_of(selector)
            ))),
        }
    }

    fn new_block(&mut self, code: &Rc<Code>, frame: &Frame, receiver: Value) -> Value {
        self.new_block_in(code, frame, receiver, frame.env)
    }

    /// A closure whose outer environment is `outer_env` (conditional fallbacks lend it a
    /// temporary one).
    fn new_block_in(&mut self, code: &Rc<Code>, frame: &Frame, receiver: Value, outer_env: Value) -> Value {
        let n = code.num_args as usize;
        let class = match n {
            0 => self.space.special(Special::Block1Class),
            1 => self.space.special(Special::Block2Class),
            2 => self.space.special(Special::Block3Class),
            3 => self.space.special(Special::Block4Class),
            _ => self.space.special(Special::BlockClass),
        };
        let closure = BlockClosure {
            code: code.clone(),
            method: frame.method,
            receiver,
            outer_env,
            home: frame.home,
        };
        self.space.new_with_body(class, Body::Block(Box::new(closure)))
    }

    // -----------------------------------------------------------------------------------
    // Garbage collection

    /// Collects garbage now. Roots: the stacks, frames, globals, specials and symbols.
    pub fn collect_garbage(&mut self) {
        let mut roots: Vec<Value> = Vec::with_capacity(self.stack.len() + self.frames.len() * 3 + 1024);
        roots.extend_from_slice(&self.stack);
        for f in &self.frames {
            f.trace(&mut roots);
        }
        for g in &self.space.globals {
            roots.push(g.name);
            if let Some(v) = g.value {
                roots.push(v);
            }
        }
        roots.extend_from_slice(&self.space.specials);
        roots.extend(self.space.symbol_values());
        roots.extend(self.space.methods_arrays.values().copied());
        roots.extend_from_slice(&self.sel.binops);
        roots.push(self.sel.at);
        roots.push(self.sel.at_put);
        roots.extend_from_slice(&self.handles);
        for kept in &self.undo_roots {
            roots.extend_from_slice(kept);
        }
        if !self.inserted_frames.is_empty() {
            // An inserted frame whose trigger frame left without returning normally
            // (non-local return, exception, termination) will never run: forget it.
            let alive: std::collections::HashSet<u64> = self
                .frames
                .iter()
                .chain(self.scheduler.processes.iter().flat_map(|p| p.frames.iter()))
                .map(|f| f.serial)
                .collect();
            self.inserted_frames.retain(|i| alive.contains(&i.after_serial));
        }
        for ins in &self.inserted_frames {
            roots.push(ins.receiver);
            roots.push(ins.selector);
        }
        self.scheduler_roots(&mut roots);
        let (_, freed_method) = self.space.heap.collect(&roots);
        self.reclaim_ended_processes();
        if freed_method {
            self.space.bump_epoch();
        }
    }

    // -----------------------------------------------------------------------------------
    // The loop

    fn return_from_frame(&mut self, v: Value, base: usize) -> Flow {
        let f = self.frames.pop().expect("a frame to return from");
        self.stack.truncate(f.bp as usize);
        if self.frames.len() <= base && self.is_entry_process(base) {
            return Flow::Done(v);
        }
        if self.frames.is_empty() {
            return Flow::Ended;
        }
        match f.on_return {
            OnReturn::Push => self.stack.push(v),
            OnReturn::Discard => {}
            OnReturn::PushThenRunInserted => {
                self.stack.push(v);
                self.run_inserted_frame(f.serial);
            }
        }
        Flow::Continue
    }

    /// Activates the frame an update inserted to run after frame `serial` returned; its
    /// answer will be dropped. A method that has gone since is skipped with a message.
    fn run_inserted_frame(&mut self, serial: u64) {
        let Some(k) = self.inserted_frames.iter().position(|i| i.after_serial == serial) else {
            return;
        };
        let ins = self.inserted_frames.swap_remove(k);
        let class = self.space.class_of(ins.receiver);
        let method = self
            .space
            .lookup(class, ins.selector)
            .and_then(|mv| self.space.method_of(mv).map(|m| (mv, m.clone())));
        let Some((mv, m)) = method.filter(|(_, m)| m.primitive.is_none()) else {
            let _ = writeln!(
                self.err,
                "an inserted frame was skipped: {} no longer has a method #{}",
                self.space.class_name(class),
                self.space.name_of(ins.selector)
            );
            return;
        };
        let (depth, sp) = (self.frames.len(), self.stack.len());
        self.stack.push(ins.receiver);
        let nil = self.nil();
        match self.activate(Rc::as_ptr(&m.code), mv, nil, 0, None) {
            Ok(()) if self.frames.len() > depth => {
                self.frames.last_mut().expect("just activated").on_return = OnReturn::Discard;
            }
            Ok(()) => {}
            Err(e) => {
                self.stack.truncate(sp);
                let _ = writeln!(self.err, "an inserted frame could not start: {e}");
            }
        }
    }

    /// True while the active process is the one whose frames `run(base)` watches: the
    /// main process, or any process when no other exists.
    fn is_entry_process(&self, _base: usize) -> bool {
        self.scheduler.processes.len() <= 1 || self.scheduler.active == self.run_entry
    }

    /// The active process (not the entry one) finished its block: it terminates.
    fn end_active_process(&mut self) -> Result<(), VmError> {
        let id = self.scheduler.active;
        self.terminate_process(id)
    }

    /// An error ended the active process. In the process `run` was entered for it is the
    /// run's error; in any other process it is reported with its backtrace and only that
    /// process ends, the others go on.
    fn process_failed(&mut self, e: VmError, entry: usize) -> Result<(), VmError> {
        if self.scheduler.active == entry || matches!(e, VmError::Exit(_)) || self.scheduler.processes.len() <= 1 {
            return Err(e);
        }
        let id = self.scheduler.active;
        let _ = self.out.flush();
        let _ = writeln!(self.err, "Process {id} ended by an uncaught error: {e}");
        self.terminate_process(id)
    }

    /// True if an unfinished `Block>>ensure:` or `Block>>ifCurtailed:` activation lies
    /// above frame `depth` (and the library has `Context>>return:` to unwind it).
    fn unwind_pending_above(&mut self, depth: usize) -> bool {
        let (Some(ensure), Some(curtailed)) = (
            self.space.existing_symbol("ensure:"),
            self.space.existing_symbol("ifCurtailed:"),
        ) else {
            return false;
        };
        let nil = self.nil();
        let found = self.frames[depth + 1..].iter().any(|f| {
            f.closure == nil
                && self.space.method_of(f.method).is_some_and(|m| {
                    (m.selector == ensure || m.selector == curtailed)
                        && self.stack[f.bp as usize + 2] == nil
                        && self.space.class_name(m.holder.get()) == "Block"
                })
        });
        found && self.space.is_class(self.space.special(Special::ContextClass))
    }

    fn non_local_return(&mut self, v: Value, base: usize) -> Result<Flow, VmError> {
        let f = *self.frames.last().expect("frame");
        let home = f.home;
        let alive = (home.depth as usize) < self.frames.len() && self.frames[home.depth as usize].serial == home.serial;
        // `base` bounds the frames of the process this run loop was entered for; another
        // process that runs inside a nested loop owns all of its frames.
        let floor = if self.is_entry_process(base) { base } else { 0 };
        if alive && home.depth as usize >= floor {
            if self.unwind_pending_above(home.depth as usize) {
                // ensure:/ifCurtailed: activations are in the way: let Smalltalk unwind
                // them (`homeContext return: v`), which then cuts the stack itself.
                let ctx = self.context_object(self.scheduler.active, home.depth as usize);
                self.stack.push(ctx);
                self.stack.push(v);
                let sel = self.space.symbol("return:");
                self.send(sel, 1, None, None)?;
                return Ok(Flow::Continue);
            }
            self.frames.truncate(home.depth as usize + 1);
            return Ok(self.return_from_frame(v, base));
        }
        // The home method has returned already: `self escapedBlock: theBlock`, whose answer
        // becomes the answer of the block's `value`.
        let receiver = self.stack[f.bp as usize];
        let closure = f.closure;
        match self.return_from_frame(v, base) {
            // The block was entered from outside the loop: report as an error.
            Flow::Done(_) => return Err(self.error("Block has escaped and cannot be executed")),
            Flow::Ended => return Ok(Flow::Ended),
            Flow::Continue => {}
        }
        self.stack.pop();
        self.stack.push(receiver);
        self.stack.push(closure);
        let sel = self.space.special(Special::EscapedBlock);
        self.send(sel, 1, None, None)?;
        Ok(Flow::Continue)
    }

    fn global_miss(&mut self, slot: u32) -> Result<(), VmError> {
        let name = self.space.globals[slot as usize].name;
        let text = self.space.name_of(name);
        let loaded = match self.load_class(&text) {
            Ok(loaded) => loaded,
            // A class file that does not compile is the program's error, not the VM's: it
            // is signalled where the class was named (catchable, and unwinding runs).
            Err(e @ (VmError::Compile(_) | VmError::Load(_))) => {
                let sp = self.stack.len();
                return self.signal_exception("Error", format!("cannot load class {text}: {e}"), sp);
            }
            Err(e) => return Err(e),
        };
        if let Some(class) = loaded {
            self.stack.push(class);
            return Ok(());
        }
        let receiver = self.stack[self.frames.last().expect("frame").bp as usize];
        self.stack.push(receiver);
        self.stack.push(name);
        let sel = self.space.special(Special::UnknownGlobal);
        self.send(sel, 1, None, None)
    }

    fn binop_fallback(&mut self, index: usize, cache: &Cell<InlineCache>) -> Result<(), VmError> {
        let sel = self.sel.binops[index];
        self.send(sel, 1, Some(cache), None)
    }

    /// Runs until the frame count drops to `base`, answering the value returned there.
    ///
    /// The operand stack is accessed through raw pointers (`sp` one past the top, `fp` the
    /// receiver slot of the current frame). This is sound because `activate` reserves room
    /// for every value a frame can push (at most one per instruction) before the frame
    /// runs, and the vector's length is written back (`sync!`) before anything outside the
    /// loop looks at or grows the stack; pointers are re-read afterwards (`load!`).
    #[allow(unused_assignments)] // `load!` after a safe point refreshes what the next op may not read
    pub fn run(&mut self, base: usize) -> Result<Value, VmError> {
        let outer_entry = self.run_entry;
        self.run_entry = self.scheduler.active;
        let result = self.run_loop(base);
        self.run_entry = outer_entry;
        result
    }

    #[allow(unused_assignments)]
    fn run_loop(&mut self, base: usize) -> Result<Value, VmError> {
        let mut code: *const Code;
        // The code's instructions, fetched without bounds checks: every code unit ends in a
        // return or a jump (`CopyBack`), and jumps and superinstruction skips stay inside it.
        let mut ops: *const Op;
        let mut pc: usize;
        let mut sp: *mut Value;
        let mut fp: *mut Value;
        macro_rules! load {
            () => {{
                let f = self.frames.last().expect("frame");
                code = f.code;
                ops = unsafe { (*code).ops.as_ptr() };
                pc = f.pc as usize;
                let stack_base = self.stack.as_mut_ptr();
                // SAFETY: bp and len are within the stack vector.
                unsafe {
                    fp = stack_base.add(f.bp as usize);
                    sp = stack_base.add(self.stack.len());
                }
            }};
        }
        macro_rules! sync {
            () => {
                // SAFETY: sp points into the vector's allocation, at or below its capacity,
                // and every slot below it is initialized.
                unsafe { self.stack.set_len(sp.offset_from(self.stack.as_ptr()) as usize) }
            };
        }
        macro_rules! save {
            () => {{
                sync!();
                self.frames.last_mut().expect("frame").pc = pc as u32;
            }};
        }
        let entry = self.scheduler.active;
        macro_rules! call {
            ($e:expr) => {{
                save!();
                let result = $e;
                if let Some(v) = self.after_call(result, entry, base)? {
                    return Ok(v);
                }
                load!();
            }};
        }
        macro_rules! flow {
            ($e:expr) => {{
                match $e {
                    Flow::Done(v) => return Ok(v),
                    Flow::Continue => load!(),
                    Flow::Ended => {
                        if let Err(e) = self.end_active_process() {
                            self.process_failed(e, entry)?;
                        }
                        load!();
                    }
                }
            }};
        }
        // SAFETY (push/pop/top/local): see the function comment; the compiler guarantees
        // that pops never go below the frame's temporaries and that locals exist.
        macro_rules! push {
            ($v:expr) => {{
                let v: Value = $v;
                unsafe {
                    sp.write(v);
                    sp = sp.add(1);
                }
            }};
        }
        macro_rules! pop {
            () => {
                unsafe {
                    sp = sp.sub(1);
                    sp.read()
                }
            };
        }
        macro_rules! top {
            () => {
                unsafe { sp.sub(1).read() }
            };
        }
        macro_rules! local {
            ($i:expr) => {
                unsafe { *fp.add(1 + $i as usize) }
            };
        }
        macro_rules! set_local {
            ($i:expr, $v:expr) => {
                unsafe { *fp.add(1 + $i as usize) = $v }
            };
        }
        macro_rules! receiver {
            () => {
                unsafe { *fp }
            };
        }
        // A safe point. `retry` is how far back the instruction that hit it starts (1 for
        // a send not yet done, 0 after a jump whose target is already in pc): when another
        // process is switched in or an update ran, the loop resumes from the saved pc.
        macro_rules! safepoint {
            ($retry:expr) => {
                if self.space.heap.gc_requested {
                    save!();
                    self.collect_garbage();
                }
                if self.interrupt.load(std::sync::atomic::Ordering::Relaxed) {
                    pc -= $retry;
                    save!();
                    if let Err(e) = self.service_interrupt() {
                        self.process_failed(e, entry)?;
                    }
                    load!();
                    continue;
                }
            };
        }
        // The real send of an inlined conditional (`Fallback` `$fb`) to receiver `$v`, taken
        // off the stack already: its blocks become closures that see the frame's stack
        // variables through a temporary environment (copied back by `CopyBack`).
        macro_rules! fallback_send {
            ($fb:expr, $v:expr) => {{
                let (fb, v): (&crate::bytecode::Fallback, Value) = ($fb, $v);
                // SAFETY: `code` points at the running method's code unit, kept alive by its method for the whole activation.
                let c = unsafe { &*code };
                let f = *self.frames.last().expect("frame");
                let mut outer = f.env;
                if !fb.locals.is_empty() {
                    let mut slots = Vec::with_capacity(fb.locals.len() + 1);
                    slots.push(f.env);
                    slots.extend(fb.locals.iter().map(|&l| local!(l)));
                    outer = self.space.new_array(slots);
                    push!(outer);
                }
                push!(v);
                for &b in fb.blocks.iter() {
                    let closure = self.new_block_in(&c.blocks[b as usize], &f, receiver!(), outer);
                    push!(closure);
                }
                pc = fb.resume as usize;
                let sel = c.literals[fb.selector as usize];
                call!(self.send(sel, fb.blocks.len(), None, None));
            }};
        }
        // A comparison's Boolean `r`, computed inline: when the instruction at `next` is a
        // conditional jump (the usual case: `ifTrue:`, `whileTrue:`, `and:`), take it or fall
        // past it without materializing the Boolean; otherwise push it and go on at `next`.
        macro_rules! branch {
            ($r:expr, $next:expr) => {{
                let (r, next): (bool, usize) = ($r, $next);
                match unsafe { &(*code).ops }[next] {
                    Op::JumpIfFalse(t) => pc = if r { next + 1 } else { t as usize },
                    Op::JumpIfTrue(t) => pc = if r { t as usize } else { next + 1 },
                    _ => {
                        push!(self.space.boolean(r));
                        pc = next;
                    }
                }
            }};
        }
        // `+ - *` on the two topmost values; a send through cache `k` if not inline.
        macro_rules! arith_op {
            ($bin:expr, $k:expr) => {{
                // SAFETY: the compiler emits this instruction after pushing its two operands, so the frame's stack holds at least two values above its base.
                let (a, b) = unsafe { (sp.sub(2).read(), sp.sub(1).read()) };
                match arith(&mut self.space, $bin, a, b) {
                    Some(r) => unsafe {
                        sp = sp.sub(1);
                        sp.sub(1).write(r);
                    },
                    None => {
                        // SAFETY: `code` points at the running method's code unit, kept alive by its method for the whole activation.
                        let c = unsafe { &*code };
                        call!(self.binop_fallback($bin as usize, &c.caches[$k as usize]))
                    }
                }
            }};
        }
        macro_rules! cmp_op {
            ($bin:expr, $k:expr) => {{
                // SAFETY: the compiler emits this instruction after pushing its two operands, so the frame's stack holds at least two values above its base.
                let (a, b) = unsafe { (sp.sub(2).read(), sp.sub(1).read()) };
                match compare($bin, a, b) {
                    Some(r) => {
                        // SAFETY: pops the two operands read above (still on the stack).
                        unsafe { sp = sp.sub(2) };
                        branch!(r, pc);
                    }
                    None => {
                        // SAFETY: `code` points at the running method's code unit, kept alive by its method for the whole activation.
                        let c = unsafe { &*code };
                        call!(self.binop_fallback($bin as usize, &c.caches[$k as usize]))
                    }
                }
            }};
        }
        // Superinstructions (`bytecode::fuse`): `$b` replaced the push of the right operand
        // (fast path: skip the operator after it); `$a`/`$b` replaced both pushes (skip
        // both). Slow path: just the replaced push; the unfused instructions follow.
        // A result about to be pushed: when the next instruction pops it into a local (the
        // usual `x := a op b`), store it there and skip that instruction.
        macro_rules! push_or_store {
            ($r:expr) => {{
                let r: Value = $r;
                // SAFETY: an operator instruction is never the last of its code unit.
                if let Op::PopLocal(j) = unsafe { *ops.add(pc) } {
                    set_local!(j, r);
                    pc += 1;
                } else {
                    push!(r);
                }
            }};
        }
        macro_rules! arith_top {
            ($bin:expr, $b:expr) => {{
                let (a, b) = (top!(), $b);
                match arith(&mut self.space, $bin, a, b) {
                    Some(r) => {
                        // SAFETY: pops the left operand (on the stack) before the result goes on.
                        unsafe { sp = sp.sub(1) };
                        pc += 1;
                        push_or_store!(r);
                    }
                    None => push!(b),
                }
            }};
        }
        macro_rules! cmp_top {
            ($bin:expr, $b:expr) => {{
                let (a, b) = (top!(), $b);
                match compare($bin, a, b) {
                    Some(r) => {
                        unsafe { sp = sp.sub(1) };
                        branch!(r, pc + 1);
                    }
                    None => push!(b),
                }
            }};
        }
        macro_rules! arith_pair {
            ($bin:expr, $a:expr, $b:expr) => {{
                let a = local!($a);
                match arith(&mut self.space, $bin, a, $b) {
                    Some(r) => {
                        pc += 2;
                        push_or_store!(r);
                    }
                    None => push!(a),
                }
            }};
        }
        macro_rules! cmp_pair {
            ($bin:expr, $a:expr, $b:expr) => {{
                let a = local!($a);
                match compare($bin, a, $b) {
                    Some(r) => branch!(r, pc + 2),
                    None => push!(a),
                }
            }};
        }
        // An ordinary return to a caller above `base` (what `return_from_frame` does for a
        // frame whose answer is pushed): pop the frame and resume the caller.
        macro_rules! fast_return {
            ($v:expr) => {{
                let n = self.frames.len();
                if n > base + 1 && self.frames[n - 1].on_return == OnReturn::Push {
                    // SAFETY: frames are `Copy`; the popped one needs no drop.
                    unsafe { self.frames.set_len(n - 1) };
                    let f = &self.frames[n - 2];
                    code = f.code;
                    ops = unsafe { (*code).ops.as_ptr() };
                    pc = f.pc as usize;
                    sp = fp;
                    push!($v);
                    fp = unsafe { self.stack.as_mut_ptr().add(f.bp as usize) };
                    continue;
                }
            }};
        }
        // Pushes a frame for code `$code` (no heap environment) whose receiver and `$argc`
        // arguments are on the stack, and continues in it; falls through (to the general
        // path) when the depth or stack limits need checking. `$rcv` replaces the receiver
        // slot (a block's receiver); `$home` is `None` for a method.
        macro_rules! enter_frame {
            ($code:expr, $argc:expr, $method:expr, $closure:expr, $rcv:expr, $env:expr, $home:expr) => {{
                let mc: &Code = $code;
                let stack_base = self.stack.as_mut_ptr();
                let len = unsafe { sp.offset_from(stack_base) } as usize;
                let temps = mc.num_temps as usize;
                let depth = self.frames.len();
                if depth < self.max_depth
                    && len + temps + mc.ops.len() + STACK_SLACK <= self.stack.capacity()
                    && len + temps + mc.ops.len() <= MAX_STACK_SLOTS
                {
                    self.frames[depth - 1].pc = pc as u32;
                    let nil = self.space.nil();
                    for _ in 0..temps {
                        push!(nil);
                    }
                    let serial = self.next_serial;
                    self.next_serial += 1;
                    let bp = len - 1 - $argc as usize;
                    code = mc;
                    ops = mc.ops.as_ptr();
                    let home: Option<HomeRef> = $home;
                    self.frames.push(Frame {
                        code,
                        method: $method,
                        closure: $closure,
                        pc: 0,
                        bp: bp as u32,
                        env: $env,
                        serial,
                        home: home.unwrap_or(HomeRef {
                            process: self.scheduler.active as u32,
                            depth: depth as u32,
                            serial,
                        }),
                        on_return: OnReturn::Push,
                    });
                    pc = 0;
                    fp = unsafe { stack_base.add(bp) };
                    unsafe { *fp = $rcv };
                    continue;
                }
            }};
        }
        // The inlined `to:do:` test (`Op::ForTest`), with `pc` just past it.
        macro_rules! for_test {
            ($counter:expr, $limit:expr, $up:expr) => {{
                let (n, l) = (local!($counter), local!($limit));
                if n.is_small() && l.is_small() {
                    let (n, l) = (n.small_unchecked(), l.small_unchecked());
                    if if $up { n <= l } else { n >= l } {
                        pc += 4;
                    } else if let Op::JumpIfFalse(exit) = unsafe { &(*code).ops }[pc + 3] {
                        pc = exit as usize;
                    }
                }
            }};
        }
        // The inlined `to:by:do:` test (`Op::ForTestBy`), with `pc` just past it.
        macro_rules! for_test_by {
            ($counter:expr, $limit:expr, $step:expr) => {{
                let (n, l, s) = (local!($counter), local!($limit), local!($step));
                if n.is_small() && l.is_small() && s.is_small() {
                    let (n, l) = (n.small_unchecked(), l.small_unchecked());
                    if if s.small_unchecked() > 0 { n <= l } else { n >= l } {
                        pc += crate::bytecode::FOR_BY_TEST_LEN;
                    } else if let Op::JumpIfFalse(exit) =
                        unsafe { &(*code).ops }[pc + crate::bytecode::FOR_BY_TEST_LEN - 1]
                    {
                        pc = exit as usize;
                    }
                }
            }};
        }
        load!();
        loop {
            // SAFETY: `code` points at the running method's code unit, kept alive by its method for the whole activation.
            let c = unsafe { &*code };
            debug_assert!(pc < c.ops.len());
            // By reference: each arm loads only the operands it uses.
            // SAFETY: `pc` is inside the running code unit (see `ops` above: every unit ends
            // in a return or a jump, and jumps and skips stay inside it), which its method
            // keeps alive while the frame runs.
            let op: &Op = unsafe { &*ops.add(pc) };
            pc += 1;
            match *op {
                Op::PushSelf => push!(receiver!()),
                Op::PushNil => push!(self.space.nil()),
                Op::PushTrue => push!(self.space.special(Special::True)),
                Op::PushFalse => push!(self.space.special(Special::False)),
                Op::PushInt(i) => push!(Value::small(i as i64)),
                Op::PushLiteral(i) => push!(c.literals[i as usize]),
                Op::PushLocal(i) => push!(local!(i)),
                Op::StoreLocal(i) => {
                    let v = top!();
                    set_local!(i, v);
                }
                Op::PopLocal(i) => {
                    let v = pop!();
                    set_local!(i, v);
                }
                Op::PushField(i) => {
                    let r = receiver!();
                    match self.field_slot(r, i) {
                        Some(slot) => {
                            let v = *slot;
                            push!(v);
                        }
                        None => {
                            save!();
                            return Err(self.field_error(r, i));
                        }
                    }
                }
                Op::StoreField(i) | Op::PopField(i) => {
                    let v = if matches!(*op, Op::PopField(_)) { pop!() } else { top!() };
                    let r = receiver!();
                    match self.field_slot(r, i) {
                        Some(slot) => *slot = v,
                        None => {
                            save!();
                            return Err(self.field_error(r, i));
                        }
                    }
                }
                Op::PushEnv(hops, i) => {
                    let env = self.env_at(hops);
                    let v = match &self.space.heap.get(env).body {
                        Body::Array(a) => a[i as usize],
                        _ => unreachable!("environments are arrays"),
                    };
                    push!(v);
                }
                Op::StoreEnv(hops, i) => {
                    let v = top!();
                    let env = self.env_at(hops);
                    if let Body::Array(a) = &mut self.space.heap.get_mut(env).body {
                        a[i as usize] = v;
                    }
                }
                Op::PushScope(n) => {
                    let nil = self.nil();
                    let parent = self.frames.last().expect("frame").env;
                    let mut slots = vec![nil; n as usize];
                    slots[0] = parent;
                    let class = self.space.special(Special::ArrayClass);
                    let env = self.space.new_with_body(class, Body::Array(slots));
                    self.frames.last_mut().expect("frame").env = env;
                }
                Op::PopScope => {
                    let env = self.env_at(1);
                    self.frames.last_mut().expect("frame").env = env;
                }
                Op::PushGlobal(slot) => match self.space.globals[slot as usize].value {
                    Some(v) => push!(v),
                    None => call!(self.global_miss(slot)),
                },
                Op::StoreGlobal(slot) => {
                    let v = top!();
                    self.space.globals[slot as usize].value = Some(v);
                }
                Op::PushBlock(i) => {
                    let f = *self.frames.last().expect("frame");
                    let b = self.new_block(&c.blocks[i as usize], &f, receiver!());
                    push!(b);
                }
                Op::PushThisContext => {
                    let depth = self.frames.len() - 1;
                    let ctx = self.context_object(self.scheduler.active, depth);
                    push!(ctx);
                }
                Op::Pop => {
                    pop!();
                }
                Op::Dup => push!(top!()),
                Op::Send { sel, argc, cache } => {
                    // A frameless (trivial) method found through a warm inline cache runs
                    // right here, without leaving the loop. It neither allocates nor makes
                    // a frame, so only the paths that do (below) are safe points.
                    let rcv = unsafe { sp.sub(argc as usize + 1).read() };
                    let class = self.space.class_of(rcv);
                    let mut hit = c.caches[cache as usize].get().lookup(class, self.space.epoch);
                    if hit.is_none() {
                        // A site past its two entries (or cold): the global lookup cache.
                        hit = self.probe_lookup_cache(class, c.literals[sel as usize], &c.caches[cache as usize]);
                    }
                    if let Some((m, method_value)) = hit {
                        let m = unsafe { &*m };
                        if m.primitive.is_none() {
                            let mc: &Code = &m.code;
                            if let (Some(Trivial::Getter(i)), true) = (mc.trivial, rcv.is_object()) {
                                // Getters first, without a second dispatch on the kind.
                                if let Some(&v) = self.space.heap.get(rcv).fields.get(i as usize) {
                                    unsafe { sp.sub(1).write(v) };
                                    continue;
                                }
                            } else if let Some(v) = match mc.trivial {
                                Some(Trivial::Constant(v)) => Some(v),
                                // `^ false` on SOM's core library (a global read, ADR 0010).
                                Some(Trivial::Global(slot)) => self.space.globals[slot as usize].value,
                                _ => None,
                            } {
                                // `isNil`, `notNil` and other constant Booleans branch directly.
                                // SAFETY: pops the receiver and its argc arguments, which the send pushed.
                                unsafe { sp = sp.sub(argc as usize + 1) };
                                if v == self.space.special(Special::True) {
                                    branch!(true, pc);
                                } else if v == self.space.special(Special::False) {
                                    branch!(false, pc);
                                } else {
                                    push!(v);
                                }
                                continue;
                            } else if let Some(t) = mc.trivial {
                                let arg = if argc > 0 { top!() } else { rcv };
                                if let Some(v) = self.trivial_value(t, rcv, arg) {
                                    // SAFETY: pops the send's arguments; the receiver's slot
                                    // takes the answer, unless the next instruction (never
                                    // past the end: a send is not last) drops it, as after a
                                    // setter used as a statement.
                                    unsafe {
                                        if let Op::Pop = *ops.add(pc) {
                                            sp = sp.sub(argc as usize + 1);
                                            pc += 1;
                                        } else {
                                            sp = sp.sub(argc as usize);
                                            sp.sub(1).write(v);
                                        }
                                    }
                                    continue;
                                }
                            } else if mc.num_args == argc as u16 && mc.env_size == 0 {
                                // An ordinary method activation, straight from the loop (what
                                // `send`, `invoke` and `activate` do for it, minus the checks
                                // already made). Anything unusual takes the general path.
                                let nil = self.space.nil();
                                safepoint!(1);
                                enter_frame!(mc, argc, method_value, nil, rcv, nil, None);
                            }
                        } else if m.fast == FastPrim::BlockValue && rcv.is_object() {
                            // `value`, `value:`, ... of a block: the same for its code.
                            if let Body::Block(b) = &self.space.heap.get(rcv).body {
                                let bc: *const Code = Rc::as_ptr(&b.code);
                                let (method, receiver, outer, home) = (b.method, b.receiver, b.outer_env, b.home);
                                // SAFETY: the closure (on the stack) keeps its code alive.
                                let bc = unsafe { &*bc };
                                if bc.num_args == argc as u16 && bc.env_size == 0 {
                                    safepoint!(1);
                                    enter_frame!(bc, argc, method, rcv, receiver, outer, Some(home));
                                }
                            }
                        } else if m.fast.is_leaf() {
                            // A leaf primitive (ADR 0025): called right here. It changes no
                            // frame and no process and only shrinks the stack, so on success
                            // the loop goes on with the new top of stack. A failed leaf has
                            // changed nothing: the general path below runs it again and
                            // signals the failure as an exception.
                            if let Some(p) = m.primitive {
                                save!();
                                if p(self, argc as usize).is_ok() {
                                    // SAFETY: the primitive only truncated the stack vector
                                    // (its buffer is unchanged), so its new length is in bounds.
                                    unsafe { sp = self.stack.as_mut_ptr().add(self.stack.len()) };
                                    continue;
                                }
                            }
                        }
                    }
                    safepoint!(1);
                    // A primitive (or anything else) the cache found is invoked directly.
                    call!(match hit {
                        Some((m, method_value)) => self.invoke(unsafe { &*m }, method_value, argc as usize),
                        None => self.send(
                            c.literals[sel as usize],
                            argc as usize,
                            Some(&c.caches[cache as usize]),
                            None
                        ),
                    });
                }
                Op::SuperSend { sel, argc, cache } => {
                    safepoint!(1);
                    let holder = self
                        .space
                        .method_of(self.frames.last().expect("frame").method)
                        .map(|m| m.holder.get());
                    let nil = self.nil();
                    let start = holder
                        .filter(|&h| self.space.is_class(h))
                        .map(|h| self.space.class_info(h).superclass)
                        .unwrap_or(nil);
                    call!(self.send(
                        c.literals[sel as usize],
                        argc as usize,
                        Some(&c.caches[cache as usize]),
                        Some(start)
                    ));
                }
                Op::Add(k) => arith_op!(Bin::Add, k),
                Op::Sub(k) => arith_op!(Bin::Sub, k),
                Op::Mul(k) => arith_op!(Bin::Mul, k),
                Op::Lt(k) => cmp_op!(Bin::Lt, k),
                Op::Gt(k) => cmp_op!(Bin::Gt, k),
                Op::Le(k) => cmp_op!(Bin::Le, k),
                Op::Ge(k) => cmp_op!(Bin::Ge, k),
                Op::Eq(k) => cmp_op!(Bin::Eq, k),
                Op::Ne(k) => cmp_op!(Bin::Ne, k),
                Op::AddL(b) => arith_top!(Bin::Add, local!(b)),
                Op::AddI(n) => arith_top!(Bin::Add, Value::small(n as i64)),
                Op::AddLL(a, b) => arith_pair!(Bin::Add, a, local!(b)),
                Op::AddLI(a, n) => arith_pair!(Bin::Add, a, Value::small(n as i64)),
                Op::SubL(b) => arith_top!(Bin::Sub, local!(b)),
                Op::SubI(n) => arith_top!(Bin::Sub, Value::small(n as i64)),
                Op::SubLL(a, b) => arith_pair!(Bin::Sub, a, local!(b)),
                Op::SubLI(a, n) => arith_pair!(Bin::Sub, a, Value::small(n as i64)),
                Op::MulL(b) => arith_top!(Bin::Mul, local!(b)),
                Op::MulI(n) => arith_top!(Bin::Mul, Value::small(n as i64)),
                Op::MulLL(a, b) => arith_pair!(Bin::Mul, a, local!(b)),
                Op::MulLI(a, n) => arith_pair!(Bin::Mul, a, Value::small(n as i64)),
                Op::LtL(b) => cmp_top!(Bin::Lt, local!(b)),
                Op::LtI(n) => cmp_top!(Bin::Lt, Value::small(n as i64)),
                Op::LtLL(a, b) => cmp_pair!(Bin::Lt, a, local!(b)),
                Op::LtLI(a, n) => cmp_pair!(Bin::Lt, a, Value::small(n as i64)),
                Op::GtL(b) => cmp_top!(Bin::Gt, local!(b)),
                Op::GtI(n) => cmp_top!(Bin::Gt, Value::small(n as i64)),
                Op::GtLL(a, b) => cmp_pair!(Bin::Gt, a, local!(b)),
                Op::GtLI(a, n) => cmp_pair!(Bin::Gt, a, Value::small(n as i64)),
                Op::LeL(b) => cmp_top!(Bin::Le, local!(b)),
                Op::LeI(n) => cmp_top!(Bin::Le, Value::small(n as i64)),
                Op::LeLL(a, b) => cmp_pair!(Bin::Le, a, local!(b)),
                Op::LeLI(a, n) => cmp_pair!(Bin::Le, a, Value::small(n as i64)),
                Op::GeL(b) => cmp_top!(Bin::Ge, local!(b)),
                Op::GeI(n) => cmp_top!(Bin::Ge, Value::small(n as i64)),
                Op::GeLL(a, b) => cmp_pair!(Bin::Ge, a, local!(b)),
                Op::GeLI(a, n) => cmp_pair!(Bin::Ge, a, Value::small(n as i64)),
                Op::EqL(b) => cmp_top!(Bin::Eq, local!(b)),
                Op::EqI(n) => cmp_top!(Bin::Eq, Value::small(n as i64)),
                Op::EqLL(a, b) => cmp_pair!(Bin::Eq, a, local!(b)),
                Op::EqLI(a, n) => cmp_pair!(Bin::Eq, a, Value::small(n as i64)),
                Op::NeL(b) => cmp_top!(Bin::Ne, local!(b)),
                Op::NeI(n) => cmp_top!(Bin::Ne, Value::small(n as i64)),
                Op::NeLL(a, b) => cmp_pair!(Bin::Ne, a, local!(b)),
                Op::NeLI(a, n) => cmp_pair!(Bin::Ne, a, Value::small(n as i64)),
                Op::PushLocal2(a, b) => {
                    push!(local!(a));
                    push!(local!(b));
                    pc += 1;
                }
                Op::NilToLocal(n) => {
                    set_local!(n, self.space.nil());
                    pc += 1;
                }
                Op::PushNilPop => pc += 1,
                Op::MoveLocal(a, b) => {
                    let v = local!(a);
                    set_local!(b, v);
                    pc += 1;
                }
                Op::StoreLocalPop(n) => {
                    let v = pop!();
                    set_local!(n, v);
                    pc += 1;
                }
                Op::AtLocal(b) => {
                    let (r, i) = (top!(), local!(b));
                    let inline = match c.ops[pc] {
                        Op::At(k) => self.array_at(r, i, &c.caches[k as usize]),
                        _ => None,
                    };
                    match inline {
                        Some(v) => {
                            unsafe { sp.sub(1).write(v) };
                            pc += 1;
                        }
                        None => push!(i),
                    }
                }
                Op::At(k) => {
                    let (r, i) = unsafe { (sp.sub(2).read(), sp.sub(1).read()) };
                    match self.array_at(r, i, &c.caches[k as usize]) {
                        Some(v) => unsafe {
                            sp = sp.sub(1);
                            sp.sub(1).write(v);
                        },
                        None => {
                            let sel = self.sel.at;
                            call!(self.send(sel, 1, Some(&c.caches[k as usize]), None));
                        }
                    }
                }
                Op::AtPut(k) => {
                    let (r, i, v) = unsafe { (sp.sub(3).read(), sp.sub(2).read(), sp.sub(1).read()) };
                    if self.array_at_put(r, i, v, &c.caches[k as usize]) {
                        if let Op::Pop = c.ops[pc] {
                            // `a at: i put: v.` as a statement: the answer is dropped.
                            unsafe { sp = sp.sub(3) };
                            pc += 1;
                        } else {
                            // SOM: `at:put:` answers the receiver (left in place).
                            // SAFETY: pops the two operands read above (still on the stack).
                            unsafe { sp = sp.sub(2) };
                        }
                    } else {
                        let sel = self.sel.at_put;
                        call!(self.send(sel, 2, Some(&c.caches[k as usize]), None));
                    }
                }
                Op::Jump(t) => pc = t as usize,
                Op::JumpBack(t) => {
                    pc = t as usize;
                    safepoint!(0);
                }
                Op::JumpIfTrue(t) | Op::JumpIfFalse(t) => {
                    let v = pop!();
                    let want = matches!(*op, Op::JumpIfTrue(_));
                    if v == self.space.special(Special::True) {
                        if want {
                            pc = t as usize;
                        }
                    } else if v == self.space.special(Special::False) {
                        if !want {
                            pc = t as usize;
                        }
                    } else if let Some(fb) = c.fallbacks.iter().find(|f| f.jump as usize == pc - 1) {
                        // Not a Boolean: the ordinary send, with real blocks (SOM semantics).
                        fallback_send!(fb, v);
                    } else {
                        // Not a Boolean in a loop condition: ask it (`mustBeBoolean`) and
                        // retry the jump with the answer; a second non-Boolean answer at the
                        // same jump is an error rather than an endless loop.
                        let site = (self.frames.last().expect("frame").serial, pc - 1);
                        if self.must_be_boolean_retry == Some(site) {
                            self.must_be_boolean_retry = None;
                            save!();
                            let what = crate::primitives::describe_value(self, v);
                            return Err(self.error(format!("{what} is not a Boolean (the answer of mustBeBoolean)")));
                        }
                        self.must_be_boolean_retry = Some(site);
                        push!(v);
                        pc -= 1;
                        let sel = self.space.special(Special::MustBeBoolean);
                        call!(self.send(sel, 0, None, None));
                    }
                }
                Op::NilCase(mode, k, target) => {
                    // ADR 0011: the method the receiver's class answers decides.
                    let v = top!();
                    let class = self.space.class_of(v);
                    let cache = &c.caches[k as usize];
                    let which = match cache.get().lookup(class, self.space.epoch) {
                        // SAFETY: the cache entry is valid for this epoch; a class holds it.
                        Some((m, _)) => unsafe { (&(*m)).code.shape }.nil_case(mode),
                        None => self.nil_case_miss(c, pc - 1, class, cache, mode),
                    };
                    let two = mode & crate::bytecode::NIL_CASE_TWO != 0;
                    match which {
                        Some(None) if !two => pc = target as usize,
                        Some(Some(0)) => {}
                        Some(Some(1)) if two => pc = target as usize,
                        _ => {
                            let fb = c
                                .fallbacks
                                .iter()
                                .find(|f| f.jump as usize == pc - 1)
                                .expect("the compiler records a fallback for every NilCase");
                            let v = pop!();
                            fallback_send!(fb, v);
                        }
                    }
                }
                Op::Identical { sel, cache } => {
                    // SAFETY: the compiler emits this instruction after pushing its two operands, so the frame's stack holds at least two values above its base.
                    let (a, b) = unsafe { (sp.sub(2).read(), sp.sub(1).read()) };
                    let cache = &c.caches[cache as usize];
                    match cache.get().lookup(self.space.class_of(a), self.space.epoch) {
                        // SAFETY: the cache entry is valid for this epoch; a class holds it.
                        Some((m, _)) if unsafe { (*m).fast } == FastPrim::Identity => {
                            let r = a == b || crate::primitives::identical(self, a, b);
                            // SAFETY: pops the two operands read above (still on the stack).
                            unsafe { sp = sp.sub(2) };
                            branch!(r, pc);
                        }
                        _ => call!(self.send(c.literals[sel as usize], 1, Some(cache), None)),
                    }
                }
                Op::NotIdentical { sel, cache } => {
                    // SAFETY: the compiler emits this instruction after pushing its two operands, so the frame's stack holds at least two values above its base.
                    let (a, b) = unsafe { (sp.sub(2).read(), sp.sub(1).read()) };
                    let class = self.space.class_of(a);
                    let epoch = self.space.epoch;
                    let (outer, inner) = (&c.caches[cache as usize], &c.caches[cache as usize + 1]);
                    let fast = match (outer.get().lookup(class, epoch), inner.get().lookup(class, epoch)) {
                        // SAFETY: cache entries are valid for this epoch; classes hold them.
                        (Some((m, _)), Some((e, _))) => unsafe {
                            (&(*m)).code.shape == crate::bytecode::Shape::NotIdentical
                                && (*e).fast == FastPrim::Identity
                        },
                        _ => {
                            let eq = self.sel.identical;
                            self.fill_cache(class, eq, inner);
                            false
                        }
                    };
                    if fast {
                        let r = a == b || crate::primitives::identical(self, a, b);
                        // SAFETY: pops the two operands read above (still on the stack).
                        unsafe { sp = sp.sub(2) };
                        branch!(!r, pc);
                    } else {
                        call!(self.send(c.literals[sel as usize], 1, Some(outer), None));
                    }
                }
                Op::Divide { sel, cache } => {
                    // SAFETY: the compiler emits this instruction after pushing its two operands, so the frame's stack holds at least two values above its base.
                    let (a, b) = unsafe { (sp.sub(2).read(), sp.sub(1).read()) };
                    let cache = &c.caches[cache as usize];
                    let y = if b.is_double() {
                        Some(b.double_unchecked())
                    } else {
                        b.as_small().map(|i| i as f64)
                    };
                    match (
                        a.is_double(),
                        y,
                        cache.get().lookup(self.space.class_of(a), self.space.epoch),
                    ) {
                        // IEEE, a zero divisor included (ADR 0024).
                        // SAFETY: the cache entry is valid for this epoch; a class holds it.
                        (true, Some(y), Some((m, _))) if unsafe { (*m).fast } == FastPrim::DoubleDiv => {
                            let r = self.space.new_double(a.double_unchecked() / y);
                            // SAFETY: the two operands read above are on the stack: drop one, overwrite the other.
                            unsafe {
                                sp = sp.sub(1);
                                sp.sub(1).write(r);
                            }
                        }
                        _ => call!(self.send(c.literals[sel as usize], 1, Some(cache), None)),
                    }
                }
                Op::BoolAnd { sel, cache } | Op::BoolOr { sel, cache } => {
                    // Booleans keep their meaning (as for inlined `ifTrue:` and `and: [...]`).
                    // SAFETY: the compiler emits this instruction after pushing its two operands, so the frame's stack holds at least two values above its base.
                    let (a, b) = unsafe { (sp.sub(2).read(), sp.sub(1).read()) };
                    let (t, f) = (self.space.special(Special::True), self.space.special(Special::False));
                    // Only where the receiver's class has the method (the cache is filled by
                    // the real send, so a class without `|` keeps its doesNotUnderstand:).
                    let cached = || {
                        let class = self.space.class_of(a);
                        c.caches[cache as usize].get().lookup(class, self.space.epoch).is_some()
                    };
                    if (a == t || a == f) && (b == t || b == f) && cached() {
                        let r = if matches!(*op, Op::BoolAnd { .. }) {
                            a == t && b == t
                        } else {
                            a == t || b == t
                        };
                        // SAFETY: pops the two operands read above (still on the stack).
                        unsafe { sp = sp.sub(2) };
                        branch!(r, pc);
                    } else {
                        call!(self.send(c.literals[sel as usize], 1, Some(&c.caches[cache as usize]), None));
                    }
                }
                Op::CopyBack(k) => {
                    let fb = &c.fallbacks[k as usize];
                    let result = pop!();
                    let env = pop!();
                    for (j, &l) in fb.locals.iter().enumerate() {
                        let v = match &self.space.heap.get(env).body {
                            Body::Array(items) => items[j + 1],
                            _ => unreachable!("the fallback pushed an environment"),
                        };
                        set_local!(l, v);
                    }
                    push!(result);
                    pc = fb.end as usize;
                }
                Op::ForTest(counter, limit, up) => for_test!(counter, limit, up),
                Op::ForIncr(counter, step) => {
                    if let Some(n) = local!(counter).as_small() {
                        if let Some(next) = Value::try_small(n + step as i64) {
                            if let Op::JumpBack(top) = c.ops[pc + 4] {
                                set_local!(counter, next);
                                pc = top as usize;
                                safepoint!(0);
                                // The loop test at the top, without another dispatch.
                                if let Op::ForTest(counter, limit, up) = c.ops[pc] {
                                    pc += 1;
                                    for_test!(counter, limit, up);
                                }
                            }
                        }
                    }
                }
                Op::ForTestBy(counter, limit, step) => for_test_by!(counter, limit, step),
                Op::ForIncrBy(counter, step) => {
                    let (n, s) = (local!(counter), local!(step));
                    if n.is_small() && s.is_small() {
                        if let Some(next) = n
                            .small_unchecked()
                            .checked_add(s.small_unchecked())
                            .and_then(Value::try_small)
                        {
                            if let Op::JumpBack(top) = c.ops[pc + 4] {
                                set_local!(counter, next);
                                pc = top as usize;
                                safepoint!(0);
                                if let Op::ForTestBy(counter, limit, step) = c.ops[pc] {
                                    pc += 1;
                                    for_test_by!(counter, limit, step);
                                }
                            }
                        }
                    }
                }
                Op::ReturnTop => {
                    let v = pop!();
                    fast_return!(v);
                    sync!();
                    flow!(self.return_from_frame(v, base));
                }
                Op::ReturnSelf => {
                    let v = receiver!();
                    fast_return!(v);
                    sync!();
                    flow!(self.return_from_frame(v, base));
                }
                Op::ReturnNonLocal => {
                    let v = pop!();
                    save!();
                    match self.non_local_return(v, base) {
                        Ok(Flow::Done(v)) => return Ok(v),
                        Ok(Flow::Continue) => {
                            if self.scheduler.active == entry && self.frames.len() <= base {
                                return Ok(self.stack.pop().unwrap_or(self.space.nil()));
                            }
                            load!();
                        }
                        Ok(Flow::Ended) => flow!(Flow::Ended),
                        Err(e) => {
                            let e = self.locate(e);
                            self.process_failed(e, entry)?;
                            load!();
                        }
                    }
                }
            }
        }
    }

    /// After a call out of the loop: an error ends the process (or the run); a return to
    /// below `base` in the entry process answers the run's value. (Out of line: it keeps
    /// the dispatch loop small.)
    #[inline(never)]
    fn after_call(&mut self, result: Result<(), VmError>, entry: usize, base: usize) -> Result<Option<Value>, VmError> {
        match result {
            Err(e) => {
                let e = self.locate(e);
                self.process_failed(e, entry)?;
                Ok(None)
            }
            Ok(()) if self.scheduler.active == entry && self.frames.len() <= base => {
                Ok(Some(self.stack.pop().unwrap_or(self.space.nil())))
            }
            Ok(()) => Ok(None),
        }
    }

    /// Runs the interrupt handler at a safe point (the space is paused meanwhile: every
    /// frame and the stack are consistent and nothing of the loop's state is cached).
    #[cold]
    fn service_interrupt(&mut self) -> Result<(), VmError> {
        self.interrupt.store(false, std::sync::atomic::Ordering::Relaxed);
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.deadline = None;
            return Err(self.error("stopped: the run took longer than its time limit"));
        }
        if self.update_requested.load(std::sync::atomic::Ordering::Relaxed) || self.quiescence.is_some() {
            self.service_update(false);
            // An update may have terminated or stopped the interrupted process.
            let active = self.scheduler.active;
            if self
                .scheduler
                .processes
                .get(active)
                .is_some_and(|p| p.state != crate::scheduler::RunState::Runnable)
            {
                return self.reschedule();
            }
        }
        self.preempt()
    }

    /// Turns a primitive failure into an uncaught error with the backtrace of where it happened.
    fn locate(&self, e: VmError) -> VmError {
        match e {
            VmError::PrimitiveFailed(m) => self.error(m),
            other => other,
        }
    }

    /// Field `i` of `r`, if `r` is an object that has it (reshaped classes and objects whose
    /// class was changed by reflection may not).
    #[inline(always)]
    fn field_slot(&mut self, r: Value, i: u16) -> Option<&mut Value> {
        if r.is_immediate() {
            return None;
        }
        self.space.heap.get_mut(r).fields.get_mut(i as usize)
    }

    #[cold]
    fn field_error(&self, r: Value, i: u16) -> VmError {
        let class = self.space.class_of(r);
        self.error(format!(
            "instance variable {} does not exist in this {} (it has {})",
            i + 1,
            self.space.class_name(class),
            if r.is_immediate() {
                0
            } else {
                self.space.heap.get(r).fields.len()
            }
        ))
    }

    #[inline]
    fn env_at(&self, hops: u8) -> Value {
        let mut env = self.frames.last().expect("frame").env;
        for _ in 0..hops {
            env = match &self.space.heap.get(env).body {
                Body::Array(a) => a[0],
                _ => unreachable!("environments are arrays"),
            };
        }
        env
    }

    /// Creates an interpreter over `space` (already bootstrapped) with `loader`.
    pub fn with_space(space: Space, loader: Loader, sel: Selectors) -> Interp {
        Interp {
            space,
            stack: Vec::with_capacity(1 << 16),
            frames: Vec::with_capacity(1 << 10),
            loader,
            sel,
            out: Box::new(std::io::BufWriter::new(std::io::stdout())),
            err: Box::new(std::io::stderr()),
            max_depth: DEFAULT_MAX_DEPTH,
            started: Instant::now(),
            random_state: 0x2545_F491_4F6C_DD1D,
            handles: Vec::new(),
            undo_roots: Vec::new(),
            inserted_frames: Vec::new(),
            deadline: None,
            scheduler: Default::default(),
            update_requested: Default::default(),
            is_hypervisor: false,
            must_be_boolean_retry: None,
            run_entry: 0,
            overflow_signalled_at: None,
            mirror_session: None,
            interrupt: Default::default(),
            interrupt_handler: None,
            quiescence: None,
            wake_pipe: None,
            lookup_cache: vec![
                LookupEntry {
                    class: Value::small(0),
                    selector: Value::small(0),
                    epoch: 0,
                    method: std::ptr::null(),
                    method_value: Value::small(0)
                };
                LOOKUP_CACHE_SIZE
            ]
            .into_boxed_slice(),
            next_serial: 1,
        }
    }
}
