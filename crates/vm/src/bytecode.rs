//! Bytecode: the instruction set, compiled code units, methods and inline caches.

use crate::interpreter::PrimFn;
use crate::value::Value;
use std::cell::Cell;
use std::rc::Rc;

/// One instruction. Operands are indices into the code unit's tables; jumps are absolute
/// instruction indices. `u16` operands bound literals, locals and send sites per code unit
/// to 65535, which the compiler checks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// Push the receiver.
    PushSelf,
    /// Push nil.
    PushNil,
    /// Push true.
    PushTrue,
    /// Push false.
    PushFalse,
    /// Push a SmallInteger constant.
    PushInt(i32),
    /// Push literal `n` of this code unit.
    PushLiteral(u16),
    /// Push argument or temporary `n` of the current frame (arguments first).
    PushLocal(u16),
    /// Store the top into local `n` (the value stays on the stack).
    StoreLocal(u16),
    /// Pop the top into local `n`.
    PopLocal(u16),
    /// Push field `n` of the receiver.
    PushField(u16),
    /// Store the top into field `n` of the receiver (the value stays).
    StoreField(u16),
    /// Pop the top into field `n` of the receiver.
    PopField(u16),
    /// Push slot `n` of the heap environment `hops` links out from the frame's environment.
    PushEnv(u8, u16),
    /// Store the top into an environment slot (the value stays).
    StoreEnv(u8, u16),
    /// Enter an inlined block that has captured variables: a fresh environment of `n`
    /// slots (slot 0 = the current environment) becomes the frame's environment.
    PushScope(u16),
    /// Leave such a block: the frame's environment becomes its parent again.
    PopScope,
    /// Push the value of global binding `n` of the space (loading the class on a miss).
    PushGlobal(u32),
    /// Store the top into global binding `n` (REPL only; the value stays).
    StoreGlobal(u32),
    /// Create a closure for nested block `n` of this code unit.
    PushBlock(u16),
    /// Push the current context (reified on demand).
    PushThisContext,
    /// Discard the top.
    Pop,
    /// Duplicate the top.
    Dup,
    /// Send literal selector `sel` with `argc` arguments through inline cache `cache`.
    Send { sel: u16, argc: u8, cache: u16 },
    /// The same, looking up from the superclass of the method's holder.
    SuperSend { sel: u16, argc: u8, cache: u16 },
    /// `+` with a SmallInteger/Double fast path; otherwise a send through `cache`.
    Add(u16),
    /// `-` with fast paths.
    Sub(u16),
    /// `*` with fast paths.
    Mul(u16),
    /// `<` with fast paths.
    Lt(u16),
    /// `>` with fast paths.
    Gt(u16),
    /// `<=` with fast paths.
    Le(u16),
    /// `>=` with fast paths.
    Ge(u16),
    /// `=` with fast paths.
    Eq(u16),
    /// `~=` with fast paths.
    Ne(u16),
    /// `at:` with an inline path for Array's primitive; otherwise a send through `cache`.
    At(u16),
    /// `at:put:` with an inline path for Array's primitive.
    AtPut(u16),
    /// Jump forwards.
    Jump(u32),
    /// Jump backwards: a safe point for the garbage collector and, later, preemption.
    JumpBack(u32),
    /// Pop; jump if it is true (non-Booleans get `mustBeBoolean`).
    JumpIfTrue(u32),
    /// Pop; jump if it is false.
    JumpIfFalse(u32),
    /// Inlined `to:do:` test: when locals `counter` and `limit` are SmallIntegers, either
    /// skip the generic test that follows (4 instructions, ending in `JumpIfFalse exit`)
    /// or jump to its exit; otherwise fall into the generic test. `true` counts up.
    ForTest(u16, u16, bool),
    /// Inlined `to:do:` increment: when local `counter` is a SmallInteger, add the step and
    /// jump to the target of the `JumpBack` that ends the generic increment (4 instructions
    /// later); otherwise fall into the generic increment.
    ForIncr(u16, i16),
    /// Inlined `to:by:do:` test with a step computed at run time (in local `step`): when
    /// `counter`, `limit` and `step` are SmallIntegers, either skip the generic test that
    /// follows (`FOR_BY_TEST_LEN` instructions, ending in `JumpIfFalse exit`) or jump to
    /// its exit; otherwise fall into the generic test (which tests `step > 0` first).
    ForTestBy(u16, u16, u16),
    /// Inlined `to:by:do:` increment by local `step` (see `ForIncr`).
    ForIncrBy(u16, u16),
    /// After a conditional's real-send fallback: pop the answer and the temporary
    /// environment below it, copy the environment back into the fallback's stack slots,
    /// push the answer and continue at the fallback's `end`.
    CopyBack(u16),
    /// Inlined `ifNil:`, `ifNotNil:`, `ifNil:ifNotNil:` or `ifNotNil:ifNil:` (ADR 0011): the
    /// receiver is on top. The method its class answers for the selector (found through
    /// inline cache `cache`) decides, by its `Shape`: `^self` leaves the receiver as the
    /// value and jumps to `target` (one-block forms); running argument block 0 falls through;
    /// running argument block 1 jumps to `target` (two-block forms). Any other method gets
    /// the real send through the code unit's `Fallback` for this instruction. `mode` is a
    /// set of `NIL_CASE_*` bits.
    NilCase(u8, u16, u32),
    /// Inlined `==` (ADR 0011): when the receiver's class answers the identity primitive
    /// through inline cache `cache`, compare without a send; otherwise send literal `sel`.
    Identical { sel: u16, cache: u16 },
    /// Inlined `~~`: when the receiver's class answers a `^ (self == x) not` method (cache
    /// `cache`) and the identity primitive for `==` (cache `cache + 1`), compare without a
    /// send; otherwise send literal `sel`.
    NotIdentical { sel: u16, cache: u16 },
    /// `/` or `//`: when the receiver is an immediate Double whose class answers the Double
    /// division primitive through `cache` and the argument a SmallInteger or immediate
    /// Double, divide without a send; otherwise send literal `sel`.
    Divide { sel: u16, cache: u16 },
    /// `and:`/`&` with an argument that is not a literal block: two Booleans give their
    /// conjunction without a send; anything else sends literal `sel` through `cache`.
    BoolAnd { sel: u16, cache: u16 },
    /// `or:`/`|` with an argument that is not a literal block (see `BoolAnd`).
    BoolOr { sel: u16, cache: u16 },
    /// Return the top from the current frame to its caller.
    ReturnTop,
    /// Return the receiver.
    ReturnSelf,
    /// Return the top from the home method of the current block.
    ReturnNonLocal,
    // Superinstructions (ADR 0007). Each replaces the first instruction of a sequence and
    // leaves the rest in place: its fast path does the whole sequence and jumps past it; its
    // slow path does only the replaced instruction and goes on with the next, unfused one.
    // So pcs, line tables, fallbacks and contexts see the unfused code.
    /// `PushLocal a; PushLocal b`.
    PushLocal2(u16, u16),
    /// `PushNil; PopLocal n`: local `n` := nil.
    NilToLocal(u16),
    /// `PushLocal a; PopLocal b`: local `b` := local `a`.
    MoveLocal(u16, u16),
    /// `StoreLocal n; Pop`: pop into local `n`.
    StoreLocalPop(u16),
    /// `PushNil; Pop`: nothing.
    PushNilPop,
    /// `PushLocal n; At k`: `top at: local n` inline when `At` would be.
    AtLocal(u16),
    /// `PushLocal b; Add k`: `top + local b` on the fast path.
    AddL(u16),
    /// `PushInt n; Add k`: `top + n` on the fast path.
    AddI(i32),
    /// `PushLocal a; PushLocal b; Add k`: `local a + local b` on the fast path.
    AddLL(u16, u16),
    /// `PushLocal a; PushInt n; Add k`: `local a + n` on the fast path.
    AddLI(u16, i32),
    /// `PushLocal b; Sub k`: `top - local b` on the fast path.
    SubL(u16),
    /// `PushInt n; Sub k`: `top - n` on the fast path.
    SubI(i32),
    /// `PushLocal a; PushLocal b; Sub k`: `local a - local b` on the fast path.
    SubLL(u16, u16),
    /// `PushLocal a; PushInt n; Sub k`: `local a - n` on the fast path.
    SubLI(u16, i32),
    /// `PushLocal b; Mul k`: `top * local b` on the fast path.
    MulL(u16),
    /// `PushInt n; Mul k`: `top * n` on the fast path.
    MulI(i32),
    /// `PushLocal a; PushLocal b; Mul k`: `local a * local b` on the fast path.
    MulLL(u16, u16),
    /// `PushLocal a; PushInt n; Mul k`: `local a * n` on the fast path.
    MulLI(u16, i32),
    /// `PushLocal b; Lt k`: `top < local b` on the fast path.
    LtL(u16),
    /// `PushInt n; Lt k`: `top < n` on the fast path.
    LtI(i32),
    /// `PushLocal a; PushLocal b; Lt k`: `local a < local b` on the fast path.
    LtLL(u16, u16),
    /// `PushLocal a; PushInt n; Lt k`: `local a < n` on the fast path.
    LtLI(u16, i32),
    /// `PushLocal b; Gt k`: `top > local b` on the fast path.
    GtL(u16),
    /// `PushInt n; Gt k`: `top > n` on the fast path.
    GtI(i32),
    /// `PushLocal a; PushLocal b; Gt k`: `local a > local b` on the fast path.
    GtLL(u16, u16),
    /// `PushLocal a; PushInt n; Gt k`: `local a > n` on the fast path.
    GtLI(u16, i32),
    /// `PushLocal b; Le k`: `top <= local b` on the fast path.
    LeL(u16),
    /// `PushInt n; Le k`: `top <= n` on the fast path.
    LeI(i32),
    /// `PushLocal a; PushLocal b; Le k`: `local a <= local b` on the fast path.
    LeLL(u16, u16),
    /// `PushLocal a; PushInt n; Le k`: `local a <= n` on the fast path.
    LeLI(u16, i32),
    /// `PushLocal b; Ge k`: `top >= local b` on the fast path.
    GeL(u16),
    /// `PushInt n; Ge k`: `top >= n` on the fast path.
    GeI(i32),
    /// `PushLocal a; PushLocal b; Ge k`: `local a >= local b` on the fast path.
    GeLL(u16, u16),
    /// `PushLocal a; PushInt n; Ge k`: `local a >= n` on the fast path.
    GeLI(u16, i32),
    /// `PushLocal b; Eq k`: `top = local b` on the fast path.
    EqL(u16),
    /// `PushInt n; Eq k`: `top = n` on the fast path.
    EqI(i32),
    /// `PushLocal a; PushLocal b; Eq k`: `local a = local b` on the fast path.
    EqLL(u16, u16),
    /// `PushLocal a; PushInt n; Eq k`: `local a = n` on the fast path.
    EqLI(u16, i32),
    /// `PushLocal b; Ne k`: `top ~= local b` on the fast path.
    NeL(u16),
    /// `PushInt n; Ne k`: `top ~= n` on the fast path.
    NeI(i32),
    /// `PushLocal a; PushLocal b; Ne k`: `local a ~= local b` on the fast path.
    NeLL(u16, u16),
    /// `PushLocal a; PushInt n; Ne k`: `local a ~= n` on the fast path.
    NeLI(u16, i32),
}

// Instructions stay 8 bytes (one load per dispatch).
const _: () = assert!(std::mem::size_of::<Op>() == 8);

/// The binary operator of a special arithmetic or comparison instruction.
fn bin_kind(op: &Op) -> Option<usize> {
    Some(match op {
        Op::Add(_) => 0,
        Op::Sub(_) => 1,
        Op::Mul(_) => 2,
        Op::Lt(_) => 3,
        Op::Gt(_) => 4,
        Op::Le(_) => 5,
        Op::Ge(_) => 6,
        Op::Eq(_) => 7,
        Op::Ne(_) => 8,
        _ => return None,
    })
}

/// Rewrites `ops` with superinstructions (see `Op::PushLocal2`): the first instruction of
/// each recognized sequence is replaced, the others stay where they are. Jump targets,
/// instruction count, line table and fallbacks are unchanged.
pub fn fuse(ops: &mut [Op]) {
    type Fused = [fn(u16) -> Op; 9];
    type FusedI = [fn(i32) -> Op; 9];
    type FusedLL = [fn(u16, u16) -> Op; 9];
    type FusedLI = [fn(u16, i32) -> Op; 9];
    const L: Fused = [
        Op::AddL,
        Op::SubL,
        Op::MulL,
        Op::LtL,
        Op::GtL,
        Op::LeL,
        Op::GeL,
        Op::EqL,
        Op::NeL,
    ];
    const I: FusedI = [
        Op::AddI,
        Op::SubI,
        Op::MulI,
        Op::LtI,
        Op::GtI,
        Op::LeI,
        Op::GeI,
        Op::EqI,
        Op::NeI,
    ];
    const LL: FusedLL = [
        Op::AddLL,
        Op::SubLL,
        Op::MulLL,
        Op::LtLL,
        Op::GtLL,
        Op::LeLL,
        Op::GeLL,
        Op::EqLL,
        Op::NeLL,
    ];
    const LI: FusedLI = [
        Op::AddLI,
        Op::SubLI,
        Op::MulLI,
        Op::LtLI,
        Op::GtLI,
        Op::LeLI,
        Op::GeLI,
        Op::EqLI,
        Op::NeLI,
    ];
    // Jumps to `PushNil; Pop` (the value of an `ifTrue:` statement whose condition was
    // false, or of a `whileTrue:` statement) go past it, and jumps to jumps go straight on.
    for i in 0..ops.len() {
        let target = |t: u32| {
            let mut t = t as usize;
            for _ in 0..8 {
                match (ops.get(t), ops.get(t + 1)) {
                    (Some(Op::PushNil), Some(Op::Pop)) => t += 2,
                    (Some(&Op::Jump(u)), _) if u as usize > t => t = u as usize,
                    _ => break,
                }
            }
            t as u32
        };
        // A conditional jump to the constant its own condition implies (`a and: [b]`
        // pushes false where `a` was false) goes where that constant then jumps.
        let implied = |t: u32| {
            let t = target(t) as usize;
            let pushed = match ops.get(t) {
                Some(Op::PushTrue) => true,
                Some(Op::PushFalse) => false,
                _ => return t as u32,
            };
            match ops.get(t + 1) {
                Some(&Op::JumpIfTrue(u)) if pushed => target(u),
                Some(&Op::JumpIfFalse(u)) if !pushed => target(u),
                Some(Op::JumpIfTrue(_) | Op::JumpIfFalse(_)) => t as u32 + 2,
                _ => t as u32,
            }
        };
        ops[i] = match ops[i] {
            Op::Jump(t) => Op::Jump(target(t)),
            Op::JumpIfTrue(t) => Op::JumpIfTrue(implied(t)),
            Op::JumpIfFalse(t) => Op::JumpIfFalse(implied(t)),
            other => other,
        };
    }
    let original = ops.to_vec();
    for i in 0..original.len() {
        let next = original.get(i + 1);
        let third = original.get(i + 2).and_then(bin_kind);
        ops[i] = match (original[i], next) {
            (Op::PushLocal(a), Some(&Op::PushLocal(b))) => match third {
                Some(k) => LL[k](a, b),
                None => Op::PushLocal2(a, b),
            },
            (Op::PushLocal(a), Some(&Op::PushInt(n))) => match third {
                Some(k) => LI[k](a, n),
                None => continue,
            },
            (Op::PushLocal(b), Some(&Op::At(_))) => Op::AtLocal(b),
            (Op::PushLocal(a), Some(&Op::PopLocal(b))) => Op::MoveLocal(a, b),
            (Op::PushLocal(b), Some(op)) => match bin_kind(op) {
                Some(k) => L[k](b),
                None => continue,
            },
            (Op::PushInt(n), Some(op)) => match bin_kind(op) {
                Some(k) => I[k](n),
                None => continue,
            },
            (Op::PushNil, Some(&Op::PopLocal(n))) => Op::NilToLocal(n),
            (Op::StoreLocal(n), Some(&Op::Pop)) => Op::StoreLocalPop(n),
            (Op::PushNil, Some(&Op::Pop)) => Op::PushNilPop,
            _ => continue,
        };
    }
}

/// `Op::NilCase` mode bit: the send has two block arguments.
pub const NIL_CASE_TWO: u8 = 1;
/// `Op::NilCase` mode bit: argument block 0 takes one parameter (the receiver).
pub const NIL_CASE_ARG0_ONE: u8 = 2;
/// `Op::NilCase` mode bit: argument block 1 takes one parameter (the receiver).
pub const NIL_CASE_ARG1_ONE: u8 = 4;

/// What a method does, for the inlined sends that ask the receiver's own method (ADR
/// 0011). Recognized from the compiled code, so a method an update installs is judged by
/// what it does, not by where it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Anything else.
    Other,
    /// `^ self`.
    ReturnSelf,
    /// `^ argN value`.
    Value(u8),
    /// `^ argN value: self`.
    ValueSelf(u8),
    /// `^ argN cull: self`.
    CullSelf(u8),
    /// `^ (self == arg) not`.
    NotIdentical,
}

impl Shape {
    /// Which argument block an inlined `NilCase` runs for a method of this shape when the
    /// blocks take the parameters `mode` says: `Some(None)` = none (the answer is the
    /// receiver), `Some(Some(k))` = block `k`, `None` = not inlinable (real send).
    #[inline(always)]
    pub fn nil_case(self, mode: u8) -> Option<Option<u8>> {
        let one = |k: u8| mode & if k == 0 { NIL_CASE_ARG0_ONE } else { NIL_CASE_ARG1_ONE } != 0;
        match self {
            Shape::ReturnSelf => Some(None),
            Shape::Value(k) if !one(k) => Some(Some(k)),
            Shape::ValueSelf(k) if one(k) => Some(Some(k)),
            Shape::CullSelf(k) => Some(Some(k)),
            _ => None,
        }
    }
}

/// Length of the generic test a `ForTestBy` skips.
pub const FOR_BY_TEST_LEN: usize = 12;

/// Which selector a special arithmetic op falls back to.
pub fn special_selector(op: &Op) -> Option<&'static str> {
    Some(match op {
        Op::Add(_) => "+",
        Op::Sub(_) => "-",
        Op::Mul(_) => "*",
        Op::Lt(_) => "<",
        Op::Gt(_) => ">",
        Op::Le(_) => "<=",
        Op::Ge(_) => ">=",
        Op::Eq(_) => "=",
        Op::Ne(_) => "~=",
        Op::At(_) => "at:",
        Op::AtPut(_) => "at:put:",
        _ => return None,
    })
}

/// An inline cache: up to two (class → method) entries, valid while the space's epoch
/// equals `epoch` (a send site that sees two receiver classes, like `isNil` on a list cell
/// or nil, hits in both).
#[derive(Clone, Copy)]
pub struct InlineCache {
    /// The receiver class of the first entry.
    pub class: Value,
    /// The space epoch when it was filled (0 = empty).
    pub epoch: u32,
    /// The method found for `class`.
    pub method: *const Method,
    /// The method object (a Method or Primitive) found for `class`.
    pub method_value: Value,
    /// The receiver class of the second entry (`Value::small(0)` = none).
    pub class2: Value,
    /// The method found for `class2`.
    pub method2: *const Method,
    /// The method object found for `class2`.
    pub method_value2: Value,
}

impl InlineCache {
    /// The method and method object cached for `class` in epoch `epoch`, if any.
    #[inline(always)]
    pub fn lookup(&self, class: Value, epoch: u32) -> Option<(*const Method, Value)> {
        if self.epoch != epoch {
            None
        } else if self.class == class {
            Some((self.method, self.method_value))
        } else if self.class2 == class {
            Some((self.method2, self.method_value2))
        } else {
            None
        }
    }

    /// Records `method` for `class` in epoch `epoch`: a stale cache starts over; a cache
    /// with one entry for another class gets a second one (which a third class replaces).
    pub fn fill(&mut self, class: Value, epoch: u32, method: *const Method, method_value: Value) {
        if self.epoch == epoch && self.class != class {
            self.class2 = class;
            self.method2 = method;
            self.method_value2 = method_value;
        } else {
            *self = InlineCache {
                class,
                epoch,
                method,
                method_value,
                ..InlineCache::default()
            };
        }
    }
}

impl Default for InlineCache {
    fn default() -> Self {
        InlineCache {
            class: Value::small(0),
            epoch: 0,
            method: std::ptr::null(),
            method_value: Value::small(0),
            class2: Value::small(0),
            method2: std::ptr::null(),
            method_value2: Value::small(0),
        }
    }
}

/// What a conditional jump of an inlined `ifTrue:`-style send does when its receiver is
/// not a Boolean: the ordinary send, with the blocks as real closures.
pub struct Fallback {
    /// Index of the conditional jump instruction.
    pub jump: u32,
    /// Literal index of the selector (`ifTrue:`, `and:`, ...).
    pub selector: u16,
    /// Nested block indices of the arguments, in order.
    pub blocks: Box<[u16]>,
    /// Where execution continues with the send's answer on the stack.
    pub end: u32,
    /// Stack slots of the frame the blocks use, lent to them through a temporary
    /// environment (empty: the blocks see the frame's environment directly).
    pub locals: Box<[u16]>,
    /// Where the send returns to: `end`, or a `CopyBack` of this fallback.
    pub resume: u32,
}

/// Methods simple enough to run without a frame (recognized by the compiler).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trivial {
    /// `^self` (also an empty method).
    ReturnSelf,
    /// `^fieldN`.
    Getter(u16),
    /// `fieldN := arg` (answers self).
    Setter(u16),
    /// `^literal` (a constant: nil, true, false, a SmallInteger or a literal).
    Constant(Value),
    /// `^Global`: the global's value when the method runs (on SOM's core library `^ false`
    /// and `^ nil` read globals: ADR 0010). An unbound global takes a real frame.
    Global(u32),
}

/// A unit of compiled code: a method body or a block body.
pub struct Code {
    /// The instructions.
    pub ops: Box<[Op]>,
    /// Constants and selectors.
    pub literals: Box<[Value]>,
    /// Nested (non-inlined) blocks.
    pub blocks: Box<[Rc<Code>]>,
    /// One inline cache per send site.
    pub caches: Box<[Cell<InlineCache>]>,
    /// Number of arguments.
    pub num_args: u16,
    /// Number of temporaries (after the arguments) on the frame.
    pub num_temps: u16,
    /// Size of the heap environment this unit allocates on entry (0 = none). Slot 0 holds
    /// the parent environment.
    pub env_size: u16,
    /// Arguments captured by inner blocks: (argument index, environment slot).
    pub env_args: Box<[(u16, u16)]>,
    /// Source line of each instruction.
    pub lines: Box<[u32]>,
    /// Real-send fallbacks of inlined conditionals, by jump index.
    pub fallbacks: Box<[Fallback]>,
    /// Set for methods that run without a frame.
    pub trivial: Option<Trivial>,
    /// What the method does, for inlined sends that consult it (ADR 0011).
    pub shape: Shape,
}

impl Code {
    /// Every value the code references, for the garbage collector.
    pub fn trace(&self, visit: &mut impl FnMut(Value)) {
        for &l in self.literals.iter() {
            visit(l);
        }
        for b in self.blocks.iter() {
            b.trace(visit);
        }
    }

    /// An empty code unit (for primitives).
    pub fn empty(num_args: u16) -> Code {
        Code {
            ops: Box::new([]),
            literals: Box::new([]),
            blocks: Box::new([]),
            caches: Box::new([]),
            num_args,
            num_temps: 0,
            env_size: 0,
            env_args: Box::new([]),
            lines: Box::new([]),
            fallbacks: Box::new([]),
            trivial: None,
            shape: Shape::Other,
        }
    }
}

/// Primitives with an inline fast path in the interpreter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FastPrim {
    /// None.
    None,
    /// `Array>>at:`.
    ArrayAt,
    /// `Array>>at:put:`.
    ArrayAtPut,
    /// `value`, `value:`, `value:with:` and `value:with:with:` of the Block classes.
    BlockValue,
    /// `Object>>==`, the identity primitive.
    Identity,
    /// `Double>>/` and `Double>>//`.
    DoubleDiv,
    /// A leaf primitive: it reads its receiver and arguments and answers (or fails)
    /// without touching frames, processes or the stack below them, so a warm send site
    /// calls it straight from the interpreter loop (ADR 0025).
    Leaf,
}

impl FastPrim {
    /// The fast path of class `class_name`'s primitive `selector` (on the class side when
    /// `class_side`), if any.
    pub fn of(class_name: &str, class_side: bool, selector: &str) -> FastPrim {
        if class_side {
            return FastPrim::None;
        }
        match (class_name, selector) {
            ("Array", "at:") => FastPrim::ArrayAt,
            ("Array", "at:put:") => FastPrim::ArrayAtPut,
            ("Object", "==") => FastPrim::Identity,
            ("Double", "/" | "//") => FastPrim::DoubleDiv,
            (
                "Block" | "Block1" | "Block2" | "Block3" | "Block4",
                "value" | "value:" | "value:with:" | "value:with:with:",
            ) => FastPrim::BlockValue,
            _ if is_leaf(class_name, selector) => FastPrim::Leaf,
            _ => FastPrim::None,
        }
    }

    /// True for the primitives a send may call without the general call path: the leaf
    /// ones and those with their own inline paths (which are leaves too).
    #[inline(always)]
    pub fn is_leaf(self) -> bool {
        !matches!(self, FastPrim::None | FastPrim::BlockValue)
    }
}

/// The instance-side primitives (`primitives::lookup`) known to be leaves: pure functions of
/// their operands that allocate at most their answer. Never one that sends, evaluates a
/// block, switches processes, or reads or changes frames (`perform:`, `value`, `halt`, the
/// process and socket primitives...).
fn is_leaf(class_name: &str, selector: &str) -> bool {
    match class_name {
        "String" | "Symbol" => matches!(
            selector,
            "concatenate:"
                | "asSymbol"
                | "hashcode"
                | "length"
                | "isWhiteSpace"
                | "isLetters"
                | "isDigits"
                | "="
                | "primSubstringFrom:to:"
                | "asUppercase"
                | "asLowercase"
                | "indexOf:"
                | "primIndexOf:startingAt:"
                | "byteSize"
                | "asString"
        ),
        "Integer" => matches!(
            selector,
            "+" | "-"
                | "*"
                | "/"
                | "//"
                | "%"
                | "rem:"
                | "&"
                | "bitAnd:"
                | "bitOr:"
                | "bitXor:"
                | "<<"
                | ">>"
                | ">>>"
                | "sqrt"
                | "="
                | "~="
                | "<"
                | ">"
                | "<="
                | ">="
                | "max:"
                | "min:"
                | "asString"
                | "asDouble"
                | "as32BitSignedValue"
                | "as32BitUnsignedValue"
        ),
        "Double" => matches!(
            selector,
            "+" | "-"
                | "*"
                | "%"
                | "sqrt"
                | "round"
                | "asInteger"
                | "floor"
                | "ceiling"
                | "cos"
                | "sin"
                | "tan"
                | "arcTan"
                | "exp"
                | "ln"
                | "="
                | "~="
                | "<"
                | ">"
                | "<="
                | ">="
                | "asString"
        ),
        "Object" => matches!(selector, "class" | "objectSize" | "hashcode" | "identityHash"),
        "Array" => matches!(selector, "length" | "copyFrom:to:"),
        "Class" => matches!(selector, "name" | "new" | "superclass"),
        _ => false,
    }
}

/// A method: Smalltalk code or a primitive.
pub struct Method {
    /// The selector (a Symbol).
    pub selector: Value,
    /// The class whose method dictionary holds it.
    pub holder: Cell<Value>,
    /// The compiled body (empty for primitives).
    pub code: Rc<Code>,
    /// The primitive, for `= primitive` methods.
    pub primitive: Option<PrimFn>,
    /// Primitives the interpreter may run inline (when an inline cache says this method
    /// is the one a send reaches).
    pub fast: FastPrim,
    /// The method's source text.
    pub source: Rc<str>,
    /// The file it came from.
    pub file: Rc<str>,
    /// Line of the method's first character in that file.
    pub first_line: u32,
}

impl Method {
    /// Every value the method references, for the garbage collector.
    pub fn trace(&self, visit: &mut impl FnMut(Value)) {
        visit(self.selector);
        visit(self.holder.get());
        self.code.trace(visit);
    }
}
