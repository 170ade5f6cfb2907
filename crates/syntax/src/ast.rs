//! The abstract syntax tree produced by the parser and consumed by the compiler.
//!
//! Names are kept as `String`s: interning is the VM's business (each object
//! space has its own symbol table), and the tree is short-lived.

/// A half-open byte range `[start, end)` into the source text it came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    /// Byte offset of the first character.
    pub start: u32,
    /// Byte offset one past the last character.
    pub end: u32,
}

impl Span {
    /// A span from `start` to `end` (byte offsets).
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// How a class file names its superclass.
#[derive(Clone, Debug, PartialEq)]
pub enum Superclass {
    /// `Name = ( ... )`: the superclass is `Object`.
    Implicit,
    /// `Name = nil ( ... )`: no superclass at all (only `Object` does this).
    Nil,
    /// `Name = Super ( ... )`.
    Named(String),
}

/// One class file: `Name = Super ( | fields | methods ---- | classFields | classMethods )`.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassDef {
    /// The class name.
    pub name: String,
    /// Where the name is written.
    pub name_span: Span,
    /// The superclass as written.
    pub superclass: Superclass,
    /// Instance variable names declared by this class (not inherited ones).
    pub instance_fields: Vec<String>,
    /// Instance-side methods, in source order.
    pub instance_methods: Vec<MethodDef>,
    /// Class-side variable names (slots of the class object).
    pub class_fields: Vec<String>,
    /// Class-side methods, in source order.
    pub class_methods: Vec<MethodDef>,
}

/// One method: its pattern and either `primitive` or a body.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodDef {
    /// The full selector, e.g. `at:put:`, `+`, `printOn:`.
    pub selector: String,
    /// Parameter names in order (empty for unary methods).
    pub params: Vec<String>,
    /// `primitive` or the code.
    pub body: MethodBody,
    /// The whole method, pattern included (used to keep the method's source text).
    pub span: Span,
}

/// The body of a method.
#[derive(Clone, Debug, PartialEq)]
pub enum MethodBody {
    /// `pattern = primitive`: implemented by the VM.
    Primitive,
    /// Ordinary Smalltalk code.
    Code(Body),
}

/// Temporaries and statements: the inside of a method, a block or a REPL input.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Body {
    /// Names declared between `| |`.
    pub locals: Vec<String>,
    /// Statements in order.
    pub stmts: Vec<Stmt>,
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// An expression evaluated for its value (or effect).
    Expr(Expr),
    /// `^ expr`: return from the method (a non-local return when inside a block).
    Return(Expr),
}

/// An expression with the span it covers.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What kind of expression it is.
    pub kind: ExprKind,
    /// Where it is written.
    pub span: Span,
}

/// The kinds of expression.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `self`.
    SelfRef,
    /// `super` (as a value it is `self`; as a receiver it changes the lookup).
    Super,
    /// `nil`.
    Nil,
    /// `true`.
    True,
    /// `false`.
    False,
    /// `thisContext` (an extension of SOM).
    ThisContext,
    /// Any other identifier: a local, argument, field or global.
    Var(String),
    /// `name := value` (chains nest: `a := b := 3`).
    Assign(String, Box<Expr>),
    /// A literal constant.
    Literal(Literal),
    /// A message send.
    Send(Box<Expr>, Message),
    /// `receiver msg1; msg2; ...`: every message goes to the same receiver; the value is the
    /// last message's answer (an extension of SOM).
    Cascade(Box<Expr>, Vec<Message>),
    /// A block `[:a :b | | t | stmts ]`.
    Block(Block),
}

/// A message: selector and arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The full selector.
    pub selector: String,
    /// Argument expressions (as many as the selector's arity).
    pub args: Vec<Expr>,
    /// Where the selector (first keyword) is written.
    pub span: Span,
}

/// A block literal.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// Parameter names, without the colons.
    pub params: Vec<String>,
    /// Temporaries and statements.
    pub body: Body,
}

/// A literal constant.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// An integer that fits in an `i64`.
    Integer(i64),
    /// An integer that does not fit in an `i64`: optional `-`, then decimal digits.
    BigInteger(String),
    /// A floating-point literal.
    Double(f64),
    /// A string, escapes already decoded.
    String(String),
    /// A symbol, without the `#` (e.g. `at:put:`, `+`, `any text`).
    Symbol(String),
    /// A literal array `#( ... )`; nested arrays are `Array` again.
    Array(Vec<Literal>),
    /// `true`, `false` or `nil` written inside a literal array.
    True,
    /// See `True`.
    False,
    /// See `True`.
    Nil,
}
