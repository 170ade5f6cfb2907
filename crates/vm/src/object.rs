//! Heap objects: a class reference, named fields, and a body that depends on the object's kind.

use crate::bytecode::{Code, Method};
use crate::value::{Value, WordMap};
use num_bigint::BigInt;
use std::rc::Rc;

/// One object in a space's object table.
pub struct Object {
    /// The object's class.
    pub class: Value,
    /// Named instance variables (for a class object: its class-side variables).
    pub fields: Box<[Value]>,
    /// Kind-specific contents.
    pub body: Body,
}

/// What an object holds beyond its named fields.
pub enum Body {
    /// Only named fields.
    Plain,
    /// Indexable pointer slots (Array and heap environments of closures).
    Array(Vec<Value>),
    /// An immutable string.
    Str(Text),
    /// An interned symbol.
    Symbol(Text),
    /// A boxed Double.
    Double(f64),
    /// An integer outside the SmallInteger range.
    BigInt(Box<BigInt>),
    /// A class or metaclass.
    Class(Box<ClassInfo>),
    /// A compiled method or primitive.
    Method(Rc<Method>),
    /// A block closure.
    Block(Box<BlockClosure>),
    /// A reified activation (`thisContext`): a frame of a process, valid while that frame
    /// is alive (checked by serial number).
    Context(FrameRef),
    /// An operating-system resource (a socket), closed when the object is collected.
    Native(Box<Native>),
    /// A mirror of a hypervisor space (`mop::mirrors`): an index into the paused
    /// application's handle table and the id of the update session that made it, or, with
    /// a negative session id, an immediate application value itself. Nothing to trace:
    /// neither is a reference into this space.
    Mirror {
        /// The handle (a SmallInteger index) or the immediate target.
        handle: Value,
        /// The session id (negated for an immediate target).
        session: i64,
    },
    /// A free object table slot (next free index, or `u32::MAX`).
    Free(u32),
}

/// The immutable text of a String or Symbol, and whether it is all ASCII (then character
/// indices are byte indices, and indexing is O(1)).
pub struct Text {
    text: Box<str>,
    ascii: bool,
}

impl Text {
    /// The text as a `str`.
    #[inline(always)]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True if every character is ASCII.
    #[inline(always)]
    pub fn is_ascii(&self) -> bool {
        self.ascii
    }

    /// Number of characters.
    pub fn char_count(&self) -> usize {
        if self.ascii {
            self.text.len()
        } else {
            self.text.chars().count()
        }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text {
            ascii: s.is_ascii(),
            text: s.into(),
        }
    }
}

impl Text {
    /// `a` followed by `b`, in one allocation (ASCII when both are: no scan).
    pub fn concat(a: &Text, b: &Text) -> Text {
        let mut joined = String::with_capacity(a.text.len() + b.text.len());
        joined.push_str(&a.text);
        joined.push_str(&b.text);
        Text {
            ascii: a.ascii && b.ascii,
            text: joined.into_boxed_str(),
        }
    }

    /// The text of an ASCII slice (the caller knows it is ASCII: no second scan).
    pub fn from_ascii(s: &str) -> Text {
        debug_assert!(s.is_ascii());
        Text {
            ascii: true,
            text: s.into(),
        }
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    #[inline(always)]
    fn deref(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Operating-system resources held by objects.
pub enum Native {
    /// A listening TCP socket.
    Listener(std::net::TcpListener),
    /// A connected TCP socket and its read/write progress.
    Stream(std::net::TcpStream, StreamState),
    /// Closed.
    Closed,
}

/// What a connected socket remembers between primitive calls.
#[derive(Debug, Default)]
pub struct StreamState {
    /// How much of the string being written is already sent.
    pub written: usize,
    /// The start of a UTF-8 character whose remaining bytes have not arrived yet (at
    /// most 3 bytes): the next read completes it.
    pub carry: Vec<u8>,
}

/// How instances of a class are shaped (the "instance spec").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceKind {
    /// Named fields only.
    Plain,
    /// Named fields plus indexable pointer slots (`new:`).
    Indexable,
    /// Strings.
    Str,
    /// Symbols.
    Symbol,
    /// Doubles (not instantiable by `new`).
    Double,
    /// Integers (not instantiable by `new`).
    Integer,
    /// Classes and metaclasses.
    Class,
    /// Methods and primitives.
    Method,
    /// Blocks.
    Block,
}

/// What the VM knows about a class object.
pub struct ClassInfo {
    /// The class name (a Symbol); metaclasses are named `X class`.
    pub name: Value,
    /// The superclass, or nil.
    pub superclass: Value,
    /// All instance variable names (Symbols), inherited ones first.
    pub instance_fields: Vec<Value>,
    /// The instance variable names this class itself declares (the tail of `instance_fields`).
    pub own_fields: Vec<Value>,
    /// Methods in source order (Method or Primitive objects).
    pub methods: Vec<Value>,
    /// Selector → position in `methods`.
    pub method_index: WordMap<Value, usize>,
    /// Instance shape.
    pub kind: InstanceKind,
    /// True for metaclasses.
    pub is_meta: bool,
    /// For a metaclass: its sole instance; for a class: nil.
    pub this_class: Value,
}

/// A block closure: code, the receiver of its home method, captured environment and home frame.
pub struct BlockClosure {
    /// The block's code.
    pub code: Rc<Code>,
    /// The method object the block was created in (keeps literals alive, gives the holder).
    pub method: Value,
    /// `self` of the home method.
    pub receiver: Value,
    /// The innermost heap environment visible where the block was created (or nil).
    pub outer_env: Value,
    /// Identifies the home method activation, for non-local return.
    pub home: HomeRef,
}

/// A frame of a process, identified for as long as it lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRef {
    /// The process.
    pub process: u32,
    /// Depth of the frame in that process's frame stack.
    pub depth: u32,
    /// Serial number of the activation.
    pub serial: u64,
}

/// Where a non-local return goes: a frame depth in a process, checked by serial number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HomeRef {
    /// The process whose stack holds the home frame.
    pub process: u32,
    /// Depth of the home frame in that process's frame stack.
    pub depth: u32,
    /// Serial number the home frame had when the block was made.
    pub serial: u64,
}

impl Object {
    /// Every reference this object holds, for the garbage collector.
    pub fn trace(&self, mut visit: impl FnMut(Value)) {
        visit(self.class);
        for &f in self.fields.iter() {
            visit(f);
        }
        match &self.body {
            Body::Array(items) => items.iter().for_each(|&v| visit(v)),
            Body::Class(info) => {
                visit(info.name);
                visit(info.superclass);
                visit(info.this_class);
                info.instance_fields.iter().for_each(|&v| visit(v));
                info.methods.iter().for_each(|&v| visit(v));
            }
            Body::Method(m) => m.trace(&mut visit),
            Body::Block(b) => {
                visit(b.method);
                visit(b.receiver);
                visit(b.outer_env);
                b.code.trace(&mut visit);
            }
            Body::Plain
            | Body::Str(_)
            | Body::Symbol(_)
            | Body::Double(_)
            | Body::BigInt(_)
            | Body::Context(_)
            | Body::Native(_)
            | Body::Mirror { .. }
            | Body::Free(_) => {}
        }
    }
}
