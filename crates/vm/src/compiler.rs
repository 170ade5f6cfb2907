//! The compiler: AST → bytecode for one method.
//!
//! Two passes over the same tree, in the same order. The first (`Analysis`) finds which
//! variables are captured by inner (non-inlined) blocks and which functions therefore need a
//! heap environment; the second emits code. Variables and functions are numbered in visiting
//! order, so the passes agree without sharing pointers into the tree.
//!
//! `ifTrue:` and friends, `and:`/`or:`, `whileTrue:`/`whileFalse:` (and `whileTrue`/
//! `whileFalse`), `to:do:`, `to:by:do:`, `downTo:do:` and `timesRepeat:` are inlined when
//! their block arguments are literal blocks of the right arity. `ifNil:` and its three
//! relatives are inlined too, guarded by the method the receiver's class answers (ADR 0011);
//! `==`, `~~`, and `and:`/`or:`/`&`/`|` with other arguments get instructions without a send.

use crate::bytecode::{Code, Fallback, InlineCache, Method, Op, Shape, Trivial};
use crate::object::Body;
use crate::space::{Space, Special};
use crate::value::Value;
use espell_syntax::{Block, Body as AstBody, Diagnostic, Expr, ExprKind, Literal, Message, MethodDef, Span, Stmt};
use num_bigint::BigInt;
use std::cell::Cell;
use std::rc::Rc;

/// What the compiler needs to know about the method's surroundings.
pub struct CompileInput<'a> {
    /// Instance variable names of the holder's instances (inherited first).
    pub fields: &'a [String],
    /// The file name, for diagnostics and backtraces.
    pub file: &'a str,
    /// The whole source text the spans refer to.
    pub source: &'a str,
    /// Whether assigning an undeclared name creates a global (REPL) instead of an error.
    pub allow_global_assign: bool,
    /// Line starts of `source` (built once per file).
    pub lines: &'a LineMap,
}

/// Maps byte offsets to 1-based lines and columns.
pub struct LineMap {
    starts: Vec<usize>,
}

impl LineMap {
    /// Builds the map for `source`.
    pub fn new(source: &str) -> LineMap {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineMap { starts }
    }

    /// The 1-based line of byte `offset`.
    pub fn line(&self, offset: usize) -> u32 {
        match self.starts.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }

    /// The 1-based line and column (in characters) of byte `offset` in `source`.
    pub fn line_col(&self, source: &str, offset: usize) -> (u32, u32) {
        let line = self.line(offset);
        let start = self.starts[line as usize - 1];
        let end = offset.min(source.len());
        let col = source.get(start..end).map(|s| s.chars().count()).unwrap_or(0) as u32 + 1;
        (line, col)
    }

    /// The text of 1-based line `line`.
    pub fn line_text<'s>(&self, source: &'s str, line: u32) -> &'s str {
        let start = self.starts.get(line as usize - 1).copied().unwrap_or(0);
        let rest = source.get(start..).unwrap_or("");
        rest.split('\n').next().unwrap_or("").trim_end_matches('\r')
    }
}

/// Makes a diagnostic at `span`.
pub fn diagnostic_at(file: &str, source: &str, span: Span, message: String) -> Diagnostic {
    let map = LineMap::new(source);
    let (line, column) = map.line_col(source, span.start as usize);
    Diagnostic {
        file: file.to_string(),
        line,
        column,
        message,
        line_text: map.line_text(source, line).to_string(),
        incomplete: false,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Inline {
    IfTrue,
    IfFalse,
    IfTrueIfFalse,
    IfFalseIfTrue,
    And,
    Or,
    WhileTrue,
    WhileFalse,
    ToDo,
    ToByDo,
    DownToDo,
    TimesRepeat,
    /// `ifNil:`/`ifNotNil:` (false) or their two-block forms (true).
    NilCase(bool),
}

fn block_arity(e: &Expr, n: usize) -> bool {
    matches!(&e.kind, ExprKind::Block(b) if b.params.len() == n)
}

/// A literal block of no or one parameter (the arguments of an inlined `ifNil:` family send).
fn nil_case_block(e: &Expr) -> bool {
    block_arity(e, 0) || block_arity(e, 1)
}

/// Decides whether a send is inlined (both passes call this).
fn inline_kind(recv: &Expr, msg: &Message) -> Option<Inline> {
    let a = &msg.args;
    let k = match msg.selector.as_str() {
        "ifTrue:" if block_arity(&a[0], 0) => Inline::IfTrue,
        "ifFalse:" if block_arity(&a[0], 0) => Inline::IfFalse,
        "ifTrue:ifFalse:" if block_arity(&a[0], 0) && block_arity(&a[1], 0) => Inline::IfTrueIfFalse,
        "ifFalse:ifTrue:" if block_arity(&a[0], 0) && block_arity(&a[1], 0) => Inline::IfFalseIfTrue,
        "and:" | "&&" if block_arity(&a[0], 0) => Inline::And,
        "or:" | "||" if block_arity(&a[0], 0) => Inline::Or,
        "whileTrue:" if block_arity(recv, 0) && block_arity(&a[0], 0) => Inline::WhileTrue,
        "whileFalse:" if block_arity(recv, 0) && block_arity(&a[0], 0) => Inline::WhileFalse,
        "whileTrue" if block_arity(recv, 0) => Inline::WhileTrue,
        "whileFalse" if block_arity(recv, 0) => Inline::WhileFalse,
        "timesRepeat:" if block_arity(&a[0], 0) => Inline::TimesRepeat,
        "ifNil:" | "ifNotNil:" if nil_case_block(&a[0]) => Inline::NilCase(false),
        "ifNil:ifNotNil:" | "ifNotNil:ifNil:" if nil_case_block(&a[0]) && nil_case_block(&a[1]) => {
            Inline::NilCase(true)
        }
        "to:do:" if block_arity(&a[1], 1) => Inline::ToDo,
        "to:by:do:" if block_arity(&a[2], 1) && int_literal(&a[1]) != Some(0) => Inline::ToByDo,
        "downTo:do:" if block_arity(&a[1], 1) => Inline::DownToDo,
        _ => return None,
    };
    if matches!(recv.kind, ExprKind::Super) {
        return None;
    }
    Some(k)
}

fn int_literal(e: &Expr) -> Option<i64> {
    match e.kind {
        ExprKind::Literal(Literal::Integer(i)) if i.unsigned_abs() < (1 << 31) => Some(i),
        _ => None,
    }
}

fn block_of(e: &Expr) -> &Block {
    match &e.kind {
        ExprKind::Block(b) => b,
        _ => unreachable!("inline_kind checked for a literal block"),
    }
}

// ---------------------------------------------------------------------------------------
// Pass 1: capture analysis.

/// Capture analysis. Scopes (functions and inlined blocks) and variables are numbered in
/// visiting order; a variable referenced from another function is captured, and the scope
/// declaring it gets a heap environment.
#[derive(Default)]
struct Analysis {
    captured: Vec<bool>,
    scope_has_env: Vec<bool>,
    names: Vec<(String, usize, usize, usize)>, // name, var id, func id, scope id
    func_stack: Vec<usize>,
    scope_stack: Vec<usize>,
    next_func: usize,
}

impl Analysis {
    fn open_scope(&mut self) {
        self.scope_stack.push(self.scope_has_env.len());
        self.scope_has_env.push(false);
    }

    fn func(&mut self, params: &[String], body: &AstBody) {
        self.func_stack.push(self.next_func);
        self.next_func += 1;
        self.open_scope();
        let mark = self.names.len();
        for p in params {
            self.declare(p);
        }
        self.body(body);
        self.names.truncate(mark);
        self.scope_stack.pop();
        self.func_stack.pop();
    }

    fn declare(&mut self, name: &str) {
        let id = self.captured.len();
        self.captured.push(false);
        let f = *self.func_stack.last().unwrap_or(&0);
        let sc = *self.scope_stack.last().unwrap_or(&0);
        self.names.push((name.to_string(), id, f, sc));
    }

    fn inline_block(&mut self, b: &Block) {
        self.open_scope();
        let mark = self.names.len();
        for p in &b.params {
            self.declare(p);
        }
        self.body(&b.body);
        self.names.truncate(mark);
        self.scope_stack.pop();
    }

    fn body(&mut self, b: &AstBody) {
        for l in &b.locals {
            self.declare(l);
        }
        for s in &b.stmts {
            match s {
                Stmt::Expr(e) | Stmt::Return(e) => self.expr(e),
            }
        }
    }

    fn reference(&mut self, name: &str) {
        let current = *self.func_stack.last().unwrap_or(&0);
        if let Some(&(_, id, f, sc)) = self.names.iter().rev().find(|(n, ..)| n == name) {
            if f != current {
                self.captured[id] = true;
                self.scope_has_env[sc] = true;
            }
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Var(n) => self.reference(n),
            ExprKind::Assign(n, v) => {
                self.reference(n);
                self.expr(v);
            }
            ExprKind::Send(recv, msg) => match inline_kind(recv, msg) {
                Some(Inline::WhileTrue | Inline::WhileFalse) => {
                    self.inline_block(block_of(recv));
                    for a in &msg.args {
                        self.inline_block(block_of(a));
                    }
                }
                Some(Inline::ToDo | Inline::ToByDo | Inline::DownToDo | Inline::TimesRepeat) => {
                    self.expr(recv);
                    for a in &msg.args[..msg.args.len() - 1] {
                        self.expr(a);
                    }
                    self.inline_block(block_of(msg.args.last().unwrap()));
                }
                Some(_) => {
                    self.expr(recv);
                    for a in &msg.args {
                        self.inline_block(block_of(a));
                    }
                }
                None => {
                    self.expr(recv);
                    msg.args.iter().for_each(|a| self.expr(a));
                }
            },
            ExprKind::Cascade(recv, msgs) => {
                self.expr(recv);
                for m in msgs {
                    m.args.iter().for_each(|a| self.expr(a));
                }
            }
            ExprKind::Block(b) => self.func(&b.params, &b.body),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// Pass 2: code generation.

#[derive(Clone, Copy)]
enum Loc {
    Stack(u16),
    Env(u16),
}

struct Var {
    name: String,
    scope: usize, // index in the scope stack
    loc: Loc,
}

/// A scope being compiled: a function body or an inlined block.
struct Scope {
    has_env: bool,
    env_next: u16,
}

struct Func {
    is_block: bool,
    ops: Vec<Op>,
    lines: Vec<u32>,
    literals: Vec<Value>,
    blocks: Vec<Rc<Code>>,
    caches: u16,
    num_args: u16,
    next_slot: u16,
    env_args: Vec<(u16, u16)>,
    fallbacks: Vec<Fallback>,
}

struct Gen<'a, 'b> {
    space: &'a mut Space,
    input: &'a CompileInput<'b>,
    lines: &'a LineMap,
    analysis: Analysis,
    next_var: usize,
    next_scope: usize,
    vars: Vec<Var>,
    scopes: Vec<Scope>,
    funcs: Vec<Func>,
    line: u32,
}

type CResult<T> = Result<T, Diagnostic>;

impl<'a, 'b> Gen<'a, 'b> {
    fn new(space: &'a mut Space, input: &'a CompileInput<'b>, analysis: Analysis) -> Self {
        Gen {
            space,
            input,
            lines: input.lines,
            analysis,
            next_var: 0,
            next_scope: 0,
            vars: Vec::new(),
            scopes: Vec::new(),
            funcs: Vec::new(),
            line: 0,
        }
    }

    fn error(&self, span: Span, message: String) -> Diagnostic {
        diagnostic_at(self.input.file, self.input.source, span, message)
    }

    fn f(&mut self) -> &mut Func {
        self.funcs.last_mut().expect("a function is being compiled")
    }

    fn emit(&mut self, op: Op) -> usize {
        let line = self.line;
        let f = self.f();
        f.ops.push(op);
        f.lines.push(line);
        f.ops.len() - 1
    }

    fn here(&mut self) -> u32 {
        self.f().ops.len() as u32
    }

    fn patch(&mut self, at: usize, target: u32) {
        let op = &mut self.f().ops[at];
        *op = match *op {
            Op::Jump(_) => Op::Jump(target),
            Op::JumpIfTrue(_) => Op::JumpIfTrue(target),
            Op::JumpIfFalse(_) => Op::JumpIfFalse(target),
            other => other,
        };
    }

    fn set_line(&mut self, span: Span) {
        self.line = self.lines.line(span.start as usize);
    }

    fn literal(&mut self, v: Value, span: Span) -> CResult<u16> {
        let f = self.funcs.last_mut().expect("function");
        if let Some(i) = f.literals.iter().position(|&l| l == v) {
            return Ok(i as u16);
        }
        if f.literals.len() >= u16::MAX as usize {
            return Err(self.error(span, "too many literals in one method (limit 65535)".into()));
        }
        f.literals.push(v);
        Ok((f.literals.len() - 1) as u16)
    }

    fn cache(&mut self, span: Span) -> CResult<u16> {
        let f = self.f();
        if f.caches == u16::MAX {
            return Err(self.error(span, "too many sends in one method (limit 65535)".into()));
        }
        f.caches += 1;
        Ok(f.caches - 1)
    }

    fn declare(&mut self, name: &str, is_arg: bool, span: Span) -> CResult<usize> {
        let id = self.next_var;
        self.next_var += 1;
        let captured = self.analysis.captured.get(id).copied().unwrap_or(false);
        let scope = self.scopes.len() - 1;
        let loc = if captured {
            let sc = self.scopes.last_mut().expect("scope");
            sc.env_next += 1;
            let e = sc.env_next - 1;
            if is_arg {
                // Arguments arrive on the stack; the frame copies them into its environment.
                let slot = self.new_slot(span)?;
                self.f().env_args.push((slot, e));
            }
            Loc::Env(e)
        } else {
            Loc::Stack(self.new_slot(span)?)
        };
        self.vars.push(Var {
            name: name.to_string(),
            scope,
            loc,
        });
        Ok(self.vars.len() - 1)
    }

    /// Declares the parameter of an inlined block. When `alias` is given and the variable
    /// is not captured, the parameter is just another name for that stack slot.
    fn declare_param_of_inlined(&mut self, name: &str, alias: Option<u16>, span: Span) -> CResult<usize> {
        let captured = self.analysis.captured.get(self.next_var).copied().unwrap_or(false);
        match alias {
            Some(slot) if !captured => {
                self.next_var += 1;
                let scope = self.scopes.len() - 1;
                self.vars.push(Var {
                    name: name.to_string(),
                    scope,
                    loc: Loc::Stack(slot),
                });
                Ok(self.vars.len() - 1)
            }
            _ => self.declare(name, false, span),
        }
    }

    fn new_slot(&mut self, span: Span) -> CResult<u16> {
        let f = self.f();
        if f.next_slot == u16::MAX {
            return Err(self.error(span, "too many temporaries (limit 65535)".into()));
        }
        f.next_slot += 1;
        Ok(f.next_slot - 1)
    }

    fn lookup(&self, name: &str) -> Option<&Var> {
        self.vars.iter().rev().find(|v| v.name == name)
    }

    /// Number of environment links from the current environment to scope `scope`'s.
    fn hops(&self, scope: usize) -> u8 {
        let n = self.scopes[scope + 1..].iter().filter(|s| s.has_env).count();
        n.min(255) as u8
    }

    /// Opens a scope; answers whether it has a heap environment.
    fn open_scope(&mut self) -> bool {
        let id = self.next_scope;
        self.next_scope += 1;
        let has_env = self.analysis.scope_has_env.get(id).copied().unwrap_or(false);
        self.scopes.push(Scope { has_env, env_next: 1 });
        has_env
    }

    fn begin_func(&mut self, is_block: bool) {
        self.open_scope();
        self.funcs.push(Func {
            is_block,
            ops: Vec::new(),
            lines: Vec::new(),
            literals: Vec::new(),
            blocks: Vec::new(),
            caches: 0,
            num_args: 0,
            next_slot: 0,
            env_args: Vec::new(),
            fallbacks: Vec::new(),
        });
    }

    fn end_func(&mut self) -> Code {
        // Out-of-line copy-back instructions for fallbacks that borrowed stack variables.
        let n = self.f().fallbacks.len();
        for k in 0..n {
            if !self.f().fallbacks[k].locals.is_empty() {
                let at = self.emit(Op::CopyBack(k as u16)) as u32;
                self.f().fallbacks[k].resume = at;
            }
        }
        // The interpreter fetches instructions without bounds checks: execution must never
        // run off the end. A non-local return whose unwinding (`Context>>return:`) answers
        // instead of cutting the stack continues after it: return that answer.
        if !matches!(
            self.f().ops.last(),
            Some(Op::ReturnTop | Op::ReturnSelf | Op::Jump(_) | Op::JumpBack(_) | Op::CopyBack(_))
        ) {
            self.emit(Op::ReturnTop);
        }
        let mut f = self.funcs.pop().expect("function");
        let scope = self.scopes.pop().expect("function scope");
        crate::bytecode::fuse(&mut f.ops);
        Code {
            caches: (0..f.caches).map(|_| Cell::new(InlineCache::default())).collect(),
            ops: f.ops.into_boxed_slice(),
            literals: f.literals.into_boxed_slice(),
            blocks: f.blocks.into_boxed_slice(),
            num_args: f.num_args,
            num_temps: f.next_slot - f.num_args,
            env_size: if scope.has_env { scope.env_next } else { 0 },
            env_args: f.env_args.into_boxed_slice(),
            lines: f.lines.into_boxed_slice(),
            fallbacks: f.fallbacks.into_boxed_slice(),
            trivial: None,
            shape: Shape::Other,
        }
    }

    fn function(&mut self, params: &[String], body: &AstBody, is_block: bool, span: Span) -> CResult<Code> {
        self.begin_func(is_block);
        let mark = self.vars.len();
        for p in params {
            self.declare(p, true, span)?;
        }
        self.f().num_args = params.len() as u16;
        self.locals(body, span, true)?;
        let stmts = &body.stmts;
        if is_block {
            if stmts.is_empty() {
                self.emit(Op::PushNil);
                self.emit(Op::ReturnTop);
            }
            for (i, s) in stmts.iter().enumerate() {
                let last = i + 1 == stmts.len();
                match s {
                    Stmt::Return(e) => {
                        self.expr(e)?;
                        self.emit(Op::ReturnNonLocal);
                    }
                    Stmt::Expr(e) => {
                        self.expr(e)?;
                        self.emit(if last { Op::ReturnTop } else { Op::Pop });
                    }
                }
            }
        } else {
            for s in stmts {
                match s {
                    Stmt::Return(e) => {
                        self.return_expr(e)?;
                    }
                    Stmt::Expr(e) => {
                        self.effect(e)?;
                    }
                }
            }
            if !matches!(stmts.last(), Some(Stmt::Return(_))) {
                self.emit(Op::ReturnSelf);
            }
        }
        self.vars.truncate(mark);
        Ok(self.end_func())
    }

    fn return_expr(&mut self, e: &Expr) -> CResult<()> {
        if matches!(e.kind, ExprKind::SelfRef) {
            self.set_line(e.span);
            self.emit(Op::ReturnSelf);
            return Ok(());
        }
        self.expr(e)?;
        let in_block = self.funcs.last().is_some_and(|f| f.is_block);
        self.emit(if in_block { Op::ReturnNonLocal } else { Op::ReturnTop });
        Ok(())
    }

    /// Compiles an expression whose value is not needed.
    fn effect(&mut self, e: &Expr) -> CResult<()> {
        if let ExprKind::Assign(name, value) = &e.kind {
            self.expr(value)?;
            return self.store(name, e.span, true);
        }
        self.expr(e)?;
        self.emit(Op::Pop);
        Ok(())
    }

    /// Declares a body's temporaries. `fresh` bodies start a new frame, whose slots are
    /// nil already; inlined bodies reset theirs to nil on every entry (loop bodies).
    fn locals(&mut self, body: &AstBody, span: Span, fresh: bool) -> CResult<()> {
        for l in &body.locals {
            let v = self.declare(l, false, span)?;
            let loc = self.vars[v].loc;
            // A stack temporary the block's first statements assign before anything reads
            // it needs no nil (nothing can tell: it is not captured).
            if fresh || (matches!(loc, Loc::Stack(_)) && assigned_before_read(body, l)) {
                continue;
            }
            self.emit(Op::PushNil);
            match loc {
                Loc::Stack(s) => {
                    self.emit(Op::PopLocal(s));
                }
                Loc::Env(i) => {
                    self.emit(Op::StoreEnv(0, i));
                    self.emit(Op::Pop);
                }
            }
        }
        Ok(())
    }

    /// Compiles an inlined literal block; leaves its value on the stack.
    /// Compiles an inlined literal block. With `keep_value` its value is left on the stack;
    /// loop bodies discard it. `param_value_slot` holds the value of the (single) parameter:
    /// a parameter that is neither captured nor assigned simply names that slot.
    fn inline_block(&mut self, b: &Block, span: Span, param_value_slot: Option<u16>, keep_value: bool) -> CResult<()> {
        let mark = self.vars.len();
        // An inlined block whose variables are captured gets a fresh environment on every
        // entry, so closures made in different loop iterations see different variables.
        let has_env = self.open_scope();
        let push_at = if has_env {
            Some(self.emit(Op::PushScope(0)))
        } else {
            None
        };
        for p in &b.params {
            let alias = param_value_slot.filter(|_| !assigns_to(&b.body, p));
            let v = self.declare_param_of_inlined(p, alias, span)?;
            if let (Some(src), Loc::Env(_)) = (param_value_slot, self.vars[v].loc) {
                self.emit(Op::PushLocal(src));
                let loc = self.vars[v].loc;
                self.store_loc(loc, 0, true);
            } else if let (Some(src), None) = (param_value_slot, alias) {
                self.emit(Op::PushLocal(src));
                let loc = self.vars[v].loc;
                self.store_loc(loc, 0, true);
            }
        }
        self.locals(&b.body, span, false)?;
        let stmts = &b.body.stmts;
        if stmts.is_empty() && keep_value {
            self.emit(Op::PushNil);
        }
        for (i, s) in stmts.iter().enumerate() {
            let last = i + 1 == stmts.len();
            match s {
                Stmt::Return(e) => {
                    self.return_expr(e)?;
                    if last && keep_value {
                        self.emit(Op::PushNil); // unreachable; keeps the stack shape
                    }
                }
                Stmt::Expr(e) if last && keep_value => self.expr(e)?,
                Stmt::Expr(e) => self.effect(e)?,
            }
        }
        self.vars.truncate(mark);
        let scope = self.scopes.pop().expect("inline scope");
        if let Some(at) = push_at {
            self.emit(Op::PopScope);
            self.f().ops[at] = Op::PushScope(scope.env_next);
        }
        Ok(())
    }

    fn store_loc(&mut self, loc: Loc, hops: u8, pop: bool) {
        match (loc, pop) {
            (Loc::Stack(s), true) => {
                self.emit(Op::PopLocal(s));
            }
            (Loc::Stack(s), false) => {
                self.emit(Op::StoreLocal(s));
            }
            (Loc::Env(i), _) => {
                self.emit(Op::StoreEnv(hops, i));
                if pop {
                    self.emit(Op::Pop);
                }
            }
        }
    }

    fn store(&mut self, name: &str, span: Span, pop: bool) -> CResult<()> {
        self.set_line(span);
        if let Some(var) = self.lookup(name) {
            // SOM allows assigning to arguments; they are ordinary slots.
            let (loc, scope) = (var.loc, var.scope);
            let hops = self.hops(scope);
            self.store_loc(loc, hops, pop);
            return Ok(());
        }
        if let Some(i) = self.input.fields.iter().rposition(|f| f == name) {
            self.emit(if pop {
                Op::PopField(i as u16)
            } else {
                Op::StoreField(i as u16)
            });
            return Ok(());
        }
        if matches!(name, "self" | "super" | "nil" | "true" | "false" | "thisContext") {
            return Err(self.error(span, format!("cannot assign to '{name}'")));
        }
        if self.input.allow_global_assign {
            let sym = self.space.symbol(name);
            let slot = self.space.global_slot(sym);
            self.emit(Op::StoreGlobal(slot));
            if pop {
                self.emit(Op::Pop);
            }
            return Ok(());
        }
        Err(self.error(span, format!("cannot assign to undeclared variable '{name}'")))
    }

    fn push_var(&mut self, name: &str) {
        if let Some(var) = self.lookup(name) {
            let (loc, scope) = (var.loc, var.scope);
            match loc {
                Loc::Stack(s) => {
                    self.emit(Op::PushLocal(s));
                }
                Loc::Env(i) => {
                    let hops = self.hops(scope);
                    self.emit(Op::PushEnv(hops, i));
                }
            }
            return;
        }
        if let Some(i) = self.input.fields.iter().rposition(|f| f == name) {
            self.emit(Op::PushField(i as u16));
            return;
        }
        let sym = self.space.symbol(name);
        let slot = self.space.global_slot(sym);
        self.emit(Op::PushGlobal(slot));
    }

    /// `nil`, `true`, `false`: the constant, or (on SOM's core library) the global of that
    /// name, as SOM reads them.
    fn push_pseudo_variable(&mut self, name: &str, constant: Op) {
        if self.space.pseudo_variables_are_globals {
            self.push_var(name);
        } else {
            self.emit(constant);
        }
    }

    fn literal_value(&mut self, lit: &Literal) -> Value {
        match lit {
            Literal::Integer(i) => self.space.new_int(*i),
            Literal::BigInteger(digits) => {
                let b = digits.parse::<BigInt>().unwrap_or_default();
                self.space.new_bigint(b)
            }
            Literal::Double(d) => self.space.new_double(*d),
            Literal::String(s) => self.space.new_string(s),
            Literal::Symbol(s) => self.space.symbol(s),
            Literal::Array(items) => {
                let values = items.iter().map(|l| self.literal_value(l)).collect();
                self.space.new_array(values)
            }
            Literal::True => self.space.special(Special::True),
            Literal::False => self.space.special(Special::False),
            Literal::Nil => self.space.nil(),
        }
    }

    fn expr(&mut self, e: &Expr) -> CResult<()> {
        self.set_line(e.span);
        match &e.kind {
            ExprKind::SelfRef | ExprKind::Super => {
                self.emit(Op::PushSelf);
            }
            ExprKind::Nil => self.push_pseudo_variable("nil", Op::PushNil),
            ExprKind::True => self.push_pseudo_variable("true", Op::PushTrue),
            ExprKind::False => self.push_pseudo_variable("false", Op::PushFalse),
            ExprKind::ThisContext => {
                self.emit(Op::PushThisContext);
            }
            ExprKind::Var(name) => self.push_var(name),
            ExprKind::Assign(name, value) => {
                self.expr(value)?;
                self.store(name, e.span, false)?;
            }
            ExprKind::Literal(lit) => match lit {
                Literal::Integer(i) if i32::try_from(*i).is_ok() => {
                    self.emit(Op::PushInt(*i as i32));
                }
                _ => {
                    let v = self.literal_value(lit);
                    let i = self.literal(v, e.span)?;
                    self.emit(Op::PushLiteral(i));
                }
            },
            ExprKind::Send(recv, msg) => match inline_kind(recv, msg) {
                Some(kind) => self.inline(kind, recv, msg)?,
                None => {
                    self.expr(recv)?;
                    for a in &msg.args {
                        self.expr(a)?;
                    }
                    self.send(msg, matches!(recv.kind, ExprKind::Super))?;
                }
            },
            ExprKind::Cascade(recv, msgs) => {
                let is_super = matches!(recv.kind, ExprKind::Super);
                self.expr(recv)?;
                for (i, m) in msgs.iter().enumerate() {
                    let last = i + 1 == msgs.len();
                    if !last {
                        self.emit(Op::Dup);
                    }
                    for a in &m.args {
                        self.expr(a)?;
                    }
                    self.send(m, is_super)?;
                    if !last {
                        self.emit(Op::Pop);
                    }
                }
            }
            ExprKind::Block(b) => {
                let code = self.function(&b.params, &b.body, true, e.span)?;
                self.set_line(e.span);
                let f = self.f();
                if f.blocks.len() >= u16::MAX as usize {
                    return Err(self.error(e.span, "too many blocks in one method".into()));
                }
                f.blocks.push(Rc::new(code));
                let idx = (f.blocks.len() - 1) as u16;
                self.emit(Op::PushBlock(idx));
            }
        }
        Ok(())
    }

    fn send(&mut self, msg: &Message, is_super: bool) -> CResult<()> {
        self.set_line(msg.span);
        let cache = self.cache(msg.span)?;
        if !is_super && msg.selector == "at:put:" {
            let sym = self.space.symbol(&msg.selector);
            self.literal(sym, msg.span)?;
            self.emit(Op::AtPut(cache));
            return Ok(());
        }
        if !is_super && msg.args.len() == 1 {
            let special = match msg.selector.as_str() {
                "at:" => Some(Op::At(cache)),
                "+" => Some(Op::Add(cache)),
                "-" => Some(Op::Sub(cache)),
                "*" => Some(Op::Mul(cache)),
                "<" => Some(Op::Lt(cache)),
                ">" => Some(Op::Gt(cache)),
                "<=" => Some(Op::Le(cache)),
                ">=" => Some(Op::Ge(cache)),
                "=" => Some(Op::Eq(cache)),
                "~=" => Some(Op::Ne(cache)),
                _ => None,
            };
            if let Some(op) = special {
                // The selector literal is still recorded for the fallback send.
                let sym = self.space.symbol(&msg.selector);
                self.literal(sym, msg.span)?;
                self.emit(op);
                return Ok(());
            }
        }
        if !is_super && msg.args.len() == 1 {
            let kind = match msg.selector.as_str() {
                "==" => Some(0),
                "~~" => Some(1),
                "and:" | "&" | "&&" => Some(2),
                "or:" | "|" | "||" => Some(3),
                "/" | "//" => Some(4),
                _ => None,
            };
            if let Some(kind) = kind {
                let sym = self.space.symbol(&msg.selector);
                let sel = self.literal(sym, msg.span)?;
                let op = match kind {
                    0 => Op::Identical { sel, cache },
                    1 => {
                        // A second cache, for the `==` that `~~` is checked to send.
                        self.cache(msg.span)?;
                        Op::NotIdentical { sel, cache }
                    }
                    2 => Op::BoolAnd { sel, cache },
                    4 => Op::Divide { sel, cache },
                    _ => Op::BoolOr { sel, cache },
                };
                self.emit(op);
                return Ok(());
            }
        }
        if msg.args.len() > 255 {
            return Err(self.error(msg.span, "too many arguments (limit 255)".into()));
        }
        let sym = self.space.symbol(&msg.selector);
        let sel = self.literal(sym, msg.span)?;
        let argc = msg.args.len() as u8;
        self.emit(if is_super {
            Op::SuperSend { sel, argc, cache }
        } else {
            Op::Send { sel, argc, cache }
        });
        Ok(())
    }

    fn inline(&mut self, kind: Inline, recv: &Expr, msg: &Message) -> CResult<()> {
        let span = msg.span;
        let arg = |i: usize| block_of(&msg.args[i]);
        match kind {
            Inline::IfTrue | Inline::IfFalse | Inline::And | Inline::Or => {
                let fallback = self.fallback_blocks(&msg.args)?;
                self.expr(recv)?;
                let on_true = matches!(kind, Inline::IfTrue | Inline::And);
                let skip = self.emit(if on_true { Op::JumpIfFalse(0) } else { Op::JumpIfTrue(0) });
                self.inline_block(arg(0), span, None, true)?;
                let end = self.emit(Op::Jump(0));
                let t = self.here();
                self.patch(skip, t);
                self.emit(match kind {
                    Inline::And => Op::PushFalse,
                    Inline::Or => Op::PushTrue,
                    _ => Op::PushNil,
                });
                let t = self.here();
                self.patch(end, t);
                self.record_fallback(skip, &msg.selector, fallback, t, span)?;
            }
            Inline::IfTrueIfFalse | Inline::IfFalseIfTrue => {
                let fallback = self.fallback_blocks(&msg.args)?;
                self.expr(recv)?;
                let skip = self.emit(if kind == Inline::IfTrueIfFalse {
                    Op::JumpIfFalse(0)
                } else {
                    Op::JumpIfTrue(0)
                });
                self.inline_block(arg(0), span, None, true)?;
                let end = self.emit(Op::Jump(0));
                let t = self.here();
                self.patch(skip, t);
                self.inline_block(arg(1), span, None, true)?;
                let t = self.here();
                self.patch(end, t);
                self.record_fallback(skip, &msg.selector, fallback, t, span)?;
            }
            Inline::WhileTrue | Inline::WhileFalse => {
                let top = self.here();
                self.inline_block(block_of(recv), span, None, true)?;
                let exit = self.emit(if kind == Inline::WhileTrue {
                    Op::JumpIfFalse(0)
                } else {
                    Op::JumpIfTrue(0)
                });
                if !msg.args.is_empty() {
                    self.inline_block(arg(0), span, None, false)?;
                }
                self.emit(Op::JumpBack(top));
                let t = self.here();
                self.patch(exit, t);
                self.emit(Op::PushNil);
            }
            Inline::ToByDo if int_literal(&msg.args[1]).is_none() => {
                self.dynamic_step_loop(recv, msg, span)?;
            }
            Inline::NilCase(two) => self.nil_case(recv, msg, two)?,
            Inline::ToDo | Inline::ToByDo | Inline::DownToDo | Inline::TimesRepeat => {
                let step = match kind {
                    Inline::ToByDo => int_literal(&msg.args[1]).unwrap_or(1),
                    Inline::DownToDo => -1,
                    _ => 1,
                };
                let body = block_of(msg.args.last().expect("block"));
                // Hidden counter and limit live in fresh stack slots of this frame.
                let counter = self.hidden_slot(span)?;
                let limit = self.hidden_slot(span)?;
                if kind == Inline::TimesRepeat {
                    // `n timesRepeat: [...]` counts from 1 to n, like `1 to: n do: [...]`.
                    self.emit(Op::PushInt(1));
                    self.emit(Op::StoreLocal(counter));
                    self.expr(recv)?;
                } else {
                    self.expr(recv)?;
                    self.emit(Op::StoreLocal(counter));
                    self.expr(&msg.args[0])?;
                }
                self.emit(Op::PopLocal(limit));
                let top = self.here();
                // Fast path for SmallIntegers; otherwise it falls into the generic test.
                self.emit(Op::ForTest(counter, limit, step > 0));
                self.emit(Op::PushLocal(counter));
                self.emit(Op::PushLocal(limit));
                let c = self.cache(span)?;
                let le = self.space.symbol(if step > 0 { "<=" } else { ">=" });
                self.literal(le, span)?;
                self.emit(if step > 0 { Op::Le(c) } else { Op::Ge(c) });
                let exit = self.emit(Op::JumpIfFalse(0));
                self.inline_block(body, span, Some(counter), false)?;
                if let Ok(small_step) = i16::try_from(step) {
                    self.emit(Op::ForIncr(counter, small_step));
                }
                self.emit(Op::PushLocal(counter));
                self.emit(Op::PushInt(step as i32));
                let c = self.cache(span)?;
                let plus = self.space.symbol("+");
                self.literal(plus, span)?;
                self.emit(Op::Add(c));
                self.emit(Op::PopLocal(counter));
                self.emit(Op::JumpBack(top));
                let t = self.here();
                self.patch(exit, t);
            }
        }
        Ok(())
    }

    /// `ifNil:`, `ifNotNil:`, `ifNil:ifNotNil:` or `ifNotNil:ifNil:` with literal blocks
    /// (ADR 0011): `NilCase` asks the method the receiver's class answers which block (or
    /// none) runs; a block's parameter is the receiver. Anything the instruction cannot
    /// decide becomes the real send with real blocks (the code unit's `Fallback`).
    fn nil_case(&mut self, recv: &Expr, msg: &Message, two: bool) -> CResult<()> {
        use crate::bytecode::{NIL_CASE_ARG0_ONE, NIL_CASE_ARG1_ONE, NIL_CASE_TWO};
        let span = msg.span;
        let Some(fallback) = self.fallback_blocks(&msg.args)? else {
            return Err(self.error(span, "too many blocks in one method".into()));
        };
        let mut mode = if two { NIL_CASE_TWO } else { 0 };
        if block_of(&msg.args[0]).params.len() == 1 {
            mode |= NIL_CASE_ARG0_ONE;
        }
        if two && block_of(&msg.args[1]).params.len() == 1 {
            mode |= NIL_CASE_ARG1_ONE;
        }
        self.expr(recv)?;
        self.set_line(span);
        let cache = self.cache(span)?;
        let at = self.emit(Op::NilCase(mode, cache, 0));
        self.nil_case_block(block_of(&msg.args[0]), span)?;
        let end = if two {
            let jump = self.emit(Op::Jump(0));
            let second = self.here();
            self.f().ops[at] = Op::NilCase(mode, cache, second);
            self.nil_case_block(block_of(&msg.args[1]), span)?;
            let end = self.here();
            self.patch(jump, end);
            end
        } else {
            let end = self.here();
            self.f().ops[at] = Op::NilCase(mode, cache, end);
            end
        };
        self.record_fallback(at, &msg.selector, Some(fallback), end, span)
    }

    /// A block of an inlined `ifNil:` family send, entered with the receiver on the stack:
    /// its parameter (if any) takes the receiver; its value is left on the stack.
    fn nil_case_block(&mut self, b: &Block, span: Span) -> CResult<()> {
        if b.params.is_empty() {
            self.emit(Op::Pop);
            self.inline_block(b, span, None, true)
        } else {
            let slot = self.hidden_slot(span)?;
            self.emit(Op::PopLocal(slot));
            self.inline_block(b, span, Some(slot), true)
        }
    }

    /// `to:by:do:` whose step is not a literal: the step is evaluated once into a hidden
    /// slot and its sign chooses the test at run time, as `Integer>>to:by:do:` does.
    fn dynamic_step_loop(&mut self, recv: &Expr, msg: &Message, span: Span) -> CResult<()> {
        let body = block_of(&msg.args[2]);
        let counter = self.hidden_slot(span)?;
        let limit = self.hidden_slot(span)?;
        let step = self.hidden_slot(span)?;
        self.expr(recv)?;
        self.emit(Op::StoreLocal(counter));
        self.expr(&msg.args[0])?;
        self.emit(Op::PopLocal(limit));
        self.expr(&msg.args[1])?;
        self.emit(Op::PopLocal(step));
        let top = self.here();
        self.emit(Op::ForTestBy(counter, limit, step));
        let generic = self.here();
        // Generic test: (step > 0 ifTrue: [counter <= limit] ifFalse: [counter >= limit]).
        self.emit(Op::PushLocal(step));
        self.emit(Op::PushInt(0));
        let c = self.cache(span)?;
        let gt = self.space.symbol(">");
        self.literal(gt, span)?;
        self.emit(Op::Gt(c));
        let down = self.emit(Op::JumpIfFalse(0));
        self.emit(Op::PushLocal(counter));
        self.emit(Op::PushLocal(limit));
        let c = self.cache(span)?;
        let le = self.space.symbol("<=");
        self.literal(le, span)?;
        self.emit(Op::Le(c));
        let tested = self.emit(Op::Jump(0));
        let t = self.here();
        self.patch(down, t);
        self.emit(Op::PushLocal(counter));
        self.emit(Op::PushLocal(limit));
        let c = self.cache(span)?;
        let ge = self.space.symbol(">=");
        self.literal(ge, span)?;
        self.emit(Op::Ge(c));
        let t = self.here();
        self.patch(tested, t);
        let exit = self.emit(Op::JumpIfFalse(0));
        debug_assert_eq!(
            self.here() as usize - generic as usize,
            crate::bytecode::FOR_BY_TEST_LEN
        );
        self.inline_block(body, span, Some(counter), false)?;
        self.emit(Op::ForIncrBy(counter, step));
        self.emit(Op::PushLocal(counter));
        self.emit(Op::PushLocal(step));
        let c = self.cache(span)?;
        let plus = self.space.symbol("+");
        self.literal(plus, span)?;
        self.emit(Op::Add(c));
        self.emit(Op::PopLocal(counter));
        self.emit(Op::JumpBack(top));
        let t = self.here();
        self.patch(exit, t);
        Ok(())
    }

    /// Compiles the blocks of an inlined conditional again as real blocks, so that a
    /// non-Boolean receiver gets the ordinary send (`ifTrue:` etc.) as in SOM. Variables of
    /// the enclosing method that live on its stack are reached through a temporary
    /// environment that the fallback fills before the send and copies back after it
    /// (`Op::CopyBack`); variables already in environments are reached as usual.
    /// Answers the block indices and the stack slots to copy.
    fn fallback_blocks(&mut self, args: &[Expr]) -> CResult<Option<(Vec<u16>, Vec<u16>)>> {
        let mut names = Vec::new();
        for a in args {
            free_names(a, &mut names);
        }
        // The enclosing environments, as the blocks will see them at run time.
        let mut scopes = Vec::new();
        let mut mapped = vec![usize::MAX; self.scopes.len()];
        for (i, sc) in self.scopes.iter().enumerate() {
            if sc.has_env {
                mapped[i] = scopes.len();
                scopes.push(Scope {
                    has_env: true,
                    env_next: sc.env_next,
                });
            }
        }
        let mut vars = Vec::new();
        for v in &self.vars {
            if let Loc::Env(e) = v.loc {
                if mapped[v.scope] != usize::MAX {
                    vars.push(Var {
                        name: v.name.clone(),
                        scope: mapped[v.scope],
                        loc: Loc::Env(e),
                    });
                }
            }
        }
        // The stack variables the blocks mention go into one more (temporary) environment.
        let mut copied: Vec<u16> = Vec::new();
        let synthetic = scopes.len();
        for n in &names {
            if let Some(Var {
                loc: Loc::Stack(slot), ..
            }) = self.lookup(n)
            {
                let slot = *slot;
                if !vars.iter().any(|v: &Var| v.scope == synthetic && v.name == *n) {
                    copied.push(slot);
                    vars.push(Var {
                        name: n.clone(),
                        scope: synthetic,
                        loc: Loc::Env(copied.len() as u16),
                    });
                }
            }
        }
        if !copied.is_empty() {
            scopes.push(Scope {
                has_env: true,
                env_next: copied.len() as u16 + 1,
            });
        }
        let mut indices = Vec::new();
        for a in args {
            let b = block_of(a);
            let outer = Outer {
                scopes: &scopes,
                vars: &vars,
            };
            let code = compile_detached_block(self.space, self.input, b, a.span, outer)?;
            let f = self.f();
            if f.blocks.len() >= u16::MAX as usize {
                return Ok(None);
            }
            f.blocks.push(Rc::new(code));
            indices.push((f.blocks.len() - 1) as u16);
        }
        Ok(Some((indices, copied)))
    }

    fn record_fallback(
        &mut self,
        jump: usize,
        selector: &str,
        blocks: Option<(Vec<u16>, Vec<u16>)>,
        end: u32,
        span: Span,
    ) -> CResult<()> {
        let Some((blocks, locals)) = blocks else { return Ok(()) };
        let sym = self.space.symbol(selector);
        let sel = self.literal(sym, span)?;
        self.f().fallbacks.push(Fallback {
            locals: locals.into_boxed_slice(),
            resume: end,
            jump: jump as u32,
            selector: sel,
            blocks: blocks.into_boxed_slice(),
            end,
        });
        Ok(())
    }

    fn hidden_slot(&mut self, span: Span) -> CResult<u16> {
        let f = self.f();
        if f.next_slot == u16::MAX {
            return Err(self.error(span, "too many temporaries (limit 65535)".into()));
        }
        f.next_slot += 1;
        Ok(f.next_slot - 1)
    }
}

/// Compiles a method body into `Code`, interning symbols and allocating literals in `space`.
pub fn compile_code(
    space: &mut Space,
    input: &CompileInput,
    params: &[String],
    body: &AstBody,
    span: Span,
) -> Result<Code, Diagnostic> {
    let mut analysis = Analysis::default();
    analysis.func(params, body);
    let mut gen = Gen::new(space, input, analysis);
    for (i, p) in params.iter().enumerate() {
        if params[..i].contains(p) {
            return Err(gen.error(span, format!("duplicate parameter name '{p}'")));
        }
    }
    let mut code = gen.function(params, body, false, span)?;
    code.trivial = trivial_shape(&code, gen.space);
    code.shape = method_shape(&code, gen.space);
    Ok(code)
}

/// Recognizes what a method does, for the inlined sends that consult it (ADR 0011).
fn method_shape(code: &Code, space: &mut Space) -> Shape {
    if code.env_size != 0 || code.num_temps != 0 {
        return Shape::Other;
    }
    let is = |space: &mut Space, lit: u16, name: &str| code.literals.get(lit as usize) == Some(&space.symbol(name));
    let arg = |k: u16| (k < code.num_args).then_some(k as u8);
    match *code.ops {
        [Op::ReturnSelf] => Shape::ReturnSelf,
        [Op::PushLocal(k), Op::Send { sel, argc: 0, .. }, Op::ReturnTop] if is(space, sel, "value") => {
            arg(k).map_or(Shape::Other, Shape::Value)
        }
        [Op::PushLocal(k), Op::PushSelf, Op::Send { sel, argc: 1, .. }, Op::ReturnTop] => match arg(k) {
            Some(k) if is(space, sel, "value:") => Shape::ValueSelf(k),
            Some(k) if is(space, sel, "cull:") => Shape::CullSelf(k),
            _ => Shape::Other,
        },
        [Op::PushSelf, Op::PushLocal(0), Op::Identical { .. }, Op::Send { sel, argc: 0, .. }, Op::ReturnTop]
            if code.num_args == 1 && is(space, sel, "not") =>
        {
            Shape::NotIdentical
        }
        _ => Shape::Other,
    }
}

/// Recognizes methods that can run without a frame.
fn trivial_shape(code: &Code, space: &Space) -> Option<Trivial> {
    if code.env_size != 0 || code.num_temps != 0 {
        return None;
    }
    match (&*code.ops, code.num_args) {
        ([Op::ReturnSelf], _) => Some(Trivial::ReturnSelf),
        ([Op::PushField(i), Op::ReturnTop], 0) => Some(Trivial::Getter(*i)),
        ([Op::PushLocal(0), Op::PopField(i), Op::ReturnSelf], 1) => Some(Trivial::Setter(*i)),
        ([Op::PushNil, Op::ReturnTop], _) => Some(Trivial::Constant(space.nil())),
        ([Op::PushTrue, Op::ReturnTop], _) => Some(Trivial::Constant(space.special(Special::True))),
        ([Op::PushFalse, Op::ReturnTop], _) => Some(Trivial::Constant(space.special(Special::False))),
        ([Op::PushInt(n), Op::ReturnTop], _) => Some(Trivial::Constant(Value::small(*n as i64))),
        ([Op::PushLiteral(k), Op::ReturnTop], _) => Some(Trivial::Constant(code.literals[*k as usize])),
        ([Op::PushGlobal(slot), Op::ReturnTop], _) => Some(Trivial::Global(*slot)),
        _ => None,
    }
}

/// The enclosing variables a detached block can see: environments only.
struct Outer<'a> {
    scopes: &'a [Scope],
    vars: &'a [Var],
}

/// Compiles a literal block on its own, seeing only the enclosing variables in `outer`.
fn compile_detached_block(
    space: &mut Space,
    input: &CompileInput,
    b: &Block,
    span: Span,
    outer: Outer,
) -> Result<Code, Diagnostic> {
    let mut analysis = Analysis::default();
    analysis.func(&b.params, &b.body);
    let mut gen = Gen::new(space, input, analysis);
    gen.vars = outer
        .vars
        .iter()
        .map(|v| Var {
            name: v.name.clone(),
            scope: v.scope,
            loc: v.loc,
        })
        .collect();
    gen.scopes = outer
        .scopes
        .iter()
        .map(|s| Scope {
            has_env: s.has_env,
            env_next: s.env_next,
        })
        .collect();
    gen.function(&b.params, &b.body, true, span)
}

/// True if `body` (or any block inside it) assigns to `name`.
fn assigns_to(body: &AstBody, name: &str) -> bool {
    fn expr(e: &Expr, name: &str) -> bool {
        match &e.kind {
            ExprKind::Assign(n, v) => n == name || expr(v, name),
            ExprKind::Send(r, m) => expr(r, name) || m.args.iter().any(|a| expr(a, name)),
            ExprKind::Cascade(r, ms) => expr(r, name) || ms.iter().flat_map(|m| m.args.iter()).any(|a| expr(a, name)),
            ExprKind::Block(b) => assigns_to(&b.body, name),
            _ => false,
        }
    }
    body.stmts.iter().any(|s| match s {
        Stmt::Expr(e) | Stmt::Return(e) => expr(e, name),
    })
}

/// True when every run of `body` assigns `name` before anything in it can read it: some
/// top-level statement is an assignment (or a chain `a := b := ...`) to `name` whose value
/// does not mention it, and no statement before it mentions `name` at all.
fn assigned_before_read(body: &AstBody, name: &str) -> bool {
    for s in &body.stmts {
        let Stmt::Expr(first) = s else {
            return false;
        };
        let mut e: &Expr = first;
        while let ExprKind::Assign(n, v) = &e.kind {
            if n == name {
                return !mentions(v, name);
            }
            e = v;
        }
        if mentions(e, name) {
            return false;
        }
    }
    false
}

/// True if `e` mentions the variable `name` (reads or assigns it, in nested blocks too).
fn mentions(e: &Expr, name: &str) -> bool {
    let mut names = Vec::new();
    free_names(e, &mut names);
    names.iter().any(|m| m == name)
}

/// Every variable name an expression mentions (read or assigned), declared inside or not.
fn free_names(e: &Expr, out: &mut Vec<String>) {
    match &e.kind {
        ExprKind::Var(n) => out.push(n.clone()),
        ExprKind::Assign(n, v) => {
            out.push(n.clone());
            free_names(v, out);
        }
        ExprKind::Send(r, m) => {
            free_names(r, out);
            m.args.iter().for_each(|a| free_names(a, out));
        }
        ExprKind::Cascade(r, ms) => {
            free_names(r, out);
            ms.iter().flat_map(|m| m.args.iter()).for_each(|a| free_names(a, out));
        }
        ExprKind::Block(b) => {
            for s in &b.body.stmts {
                match s {
                    Stmt::Expr(x) | Stmt::Return(x) => free_names(x, out),
                }
            }
        }
        _ => {}
    }
}

/// Compiles a method definition into a Method object (not installed anywhere).
/// Primitive methods must be built by the caller with their primitive function.
pub fn compile_method(
    space: &mut Space,
    input: &CompileInput,
    def: &MethodDef,
    body: &AstBody,
    holder: Value,
) -> Result<Value, Diagnostic> {
    let code = compile_code(space, input, &def.params, body, def.span)?;
    let selector = space.symbol(&def.selector);
    let start = def.span.start as usize;
    let end = (def.span.end as usize).min(input.source.len());
    let source: Rc<str> = input.source.get(start..end).unwrap_or("").into();
    let first_line = input.lines.line(start);
    let method = Method {
        selector,
        holder: Cell::new(holder),
        code: Rc::new(code),
        primitive: None,
        fast: crate::bytecode::FastPrim::None,
        source,
        file: input.file.into(),
        first_line,
    };
    let class = space.special(Special::MethodClass);
    Ok(space.new_with_body(class, Body::Method(Rc::new(method))))
}
