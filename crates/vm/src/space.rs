//! An object space: heap, symbol table, globals and special objects. Everything a running
//! program can reach lives in exactly one space.

use crate::heap::Heap;
use crate::object::{Body, Object};
use crate::value::{Value, WordMap};
use num_bigint::BigInt;
use num_traits::ToPrimitive;
use std::collections::HashMap;

macro_rules! specials {
    ($($variant:ident => $name:literal,)*) => {
        /// The special objects the VM itself reads at run time. Each has a public name
        /// (MOP.md) used by `specialObjectAt:`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(usize)]
        pub enum Special { $($variant,)* }

        /// Public names of the special objects, in `Special` order.
        pub const SPECIAL_NAMES: &[&str] = &[$($name,)*];

        /// All special objects, in order.
        pub const ALL_SPECIALS: &[Special] = &[$(Special::$variant,)*];
    };
}

specials! {
    Nil => "nil",
    True => "true",
    False => "false",
    SystemGlobal => "systemGlobal",
    SmallIntegerClass => "smallIntegerClass",
    LargeIntegerClass => "largeIntegerClass",
    DoubleClass => "doubleClass",
    StringClass => "stringClass",
    SymbolClass => "symbolClass",
    ArrayClass => "arrayClass",
    BlockClass => "blockClass",
    MethodClass => "methodClass",
    ContextClass => "contextClass",
    ProcessClass => "processClass",
    DoesNotUnderstand => "doesNotUnderstand",
    EscapedBlock => "escapedBlock",
    UnknownGlobal => "unknownGlobal",
    MustBeBoolean => "mustBeBoolean",
    PrimitiveClass => "primitiveClass",
    ObjectClass => "objectClass",
    ClassClass => "classClass",
    MetaclassClass => "metaclassClass",
    NilClass => "nilClass",
    TrueClass => "trueClass",
    FalseClass => "falseClass",
    SystemClass => "systemClass",
    Block1Class => "block1Class",
    Block2Class => "block2Class",
    Block3Class => "block3Class",
    Block4Class => "block4Class",
}

impl Special {
    /// The special object with public name `name`.
    pub fn from_name(name: &str) -> Option<Special> {
        SPECIAL_NAMES.iter().position(|n| *n == name).map(|i| ALL_SPECIALS[i])
    }
}

/// A global binding: a name and, once bound, a value.
#[derive(Clone, Copy)]
pub struct Global {
    /// The name (a Symbol).
    pub name: Value,
    /// The value, or `None` while unbound.
    pub value: Option<Value>,
}

/// One object space.
pub struct Space {
    /// The object table.
    pub heap: Heap,
    symbols: HashMap<Box<str>, Value>,
    /// Global bindings; compiled code refers to them by index.
    pub globals: Vec<Global>,
    global_index: WordMap<Value, u32>,
    /// The special objects array (fixed size: indexing with a `Special` needs no bounds check).
    pub specials: [Value; ALL_SPECIALS.len()],
    /// Bumped on every change that can invalidate inline caches.
    pub epoch: u32,
    /// Class → the Array `aClass methods` answered last (SOM answers the same Array while
    /// the methods stay the same); the arrays are GC roots.
    pub methods_arrays: WordMap<Value, Value>,
    /// On another core library (SOM's): `nil`, `true` and `false` in code compiled from now
    /// on read the globals of those names, as in SOM (`system global: #true put: x`
    /// rebinds them); with Espell's own library they are constants.
    pub pseudo_variables_are_globals: bool,
}

impl Default for Space {
    fn default() -> Self {
        Self::new()
    }
}

impl Space {
    /// An empty space; the bootstrap fills the specials in.
    pub fn new() -> Space {
        Space {
            heap: Heap::new(),
            symbols: HashMap::new(),
            globals: Vec::new(),
            global_index: WordMap::default(),
            specials: [Value::small(0); ALL_SPECIALS.len()],
            epoch: 1,
            methods_arrays: WordMap::default(),
            pseudo_variables_are_globals: false,
        }
    }

    /// A special object.
    #[inline(always)]
    pub fn special(&self, s: Special) -> Value {
        self.specials[s as usize]
    }

    /// nil.
    #[inline(always)]
    pub fn nil(&self) -> Value {
        self.specials[Special::Nil as usize]
    }

    /// The Boolean object for `b`.
    #[inline(always)]
    pub fn boolean(&self, b: bool) -> Value {
        if b {
            self.specials[Special::True as usize]
        } else {
            self.specials[Special::False as usize]
        }
    }

    /// Invalidates every inline cache of the space.
    pub fn bump_epoch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1).max(1);
    }

    /// The class of any value.
    #[inline(always)]
    pub fn class_of(&self, v: Value) -> Value {
        if v.is_object() {
            self.heap.get(v).class
        } else if v.is_small() {
            self.specials[Special::SmallIntegerClass as usize]
        } else {
            self.specials[Special::DoubleClass as usize]
        }
    }

    /// Allocates a plain object of `class` with `n` nil fields.
    pub fn new_plain(&mut self, class: Value, n: usize) -> Value {
        let nil = self.nil();
        self.heap.alloc(Object {
            class,
            fields: vec![nil; n].into_boxed_slice(),
            body: Body::Plain,
        })
    }

    /// Allocates an object with the given body and no fields.
    pub fn new_with_body(&mut self, class: Value, body: Body) -> Value {
        self.heap.alloc(Object {
            class,
            fields: Box::new([]),
            body,
        })
    }

    /// A new Array holding `items`.
    pub fn new_array(&mut self, items: Vec<Value>) -> Value {
        self.heap.charge(items.len() / 8);
        let class = self.special(Special::ArrayClass);
        self.new_with_body(class, Body::Array(items))
    }

    /// A new String.
    pub fn new_string(&mut self, s: &str) -> Value {
        self.new_string_text(s.into())
    }

    /// A new String holding `text` (already allocated: no copy).
    pub fn new_string_text(&mut self, text: crate::object::Text) -> Value {
        self.heap.charge(text.len() / 64);
        let class = self.special(Special::StringClass);
        self.new_with_body(class, Body::Str(text))
    }

    /// A Double: immediate when its exponent fits (see `Value`), else a boxed object.
    #[inline(always)]
    pub fn new_double(&mut self, d: f64) -> Value {
        match Value::try_double(d) {
            Some(v) => v,
            None => self.box_double(d),
        }
    }

    #[inline(never)]
    fn box_double(&mut self, d: f64) -> Value {
        let class = self.special(Special::DoubleClass);
        self.new_with_body(class, Body::Double(d))
    }

    /// An Integer: a SmallInteger when it fits, else a LargeInteger object.
    pub fn new_int(&mut self, i: i64) -> Value {
        match Value::try_small(i) {
            Some(v) => v,
            None => self.new_bigint(BigInt::from(i)),
        }
    }

    /// An Integer from a big integer, normalized to a SmallInteger when it fits.
    pub fn new_bigint(&mut self, b: BigInt) -> Value {
        if let Some(v) = b.to_i64().and_then(Value::try_small) {
            return v;
        }
        let class = self.special(Special::LargeIntegerClass);
        // A table slot is ~64 bytes: charge the digits in those units.
        let payload = (b.bits() / 8) as usize;
        self.heap.charge(payload / 64);
        self.new_with_body(class, Body::BigInt(Box::new(b)))
    }

    /// The interned Symbol for `name`.
    pub fn symbol(&mut self, name: &str) -> Value {
        if let Some(&v) = self.symbols.get(name) {
            return v;
        }
        let class = self.special(Special::SymbolClass);
        let v = self.new_with_body(class, Body::Symbol(name.into()));
        self.symbols.insert(name.into(), v);
        v
    }

    /// The Symbol for `name` if it was ever interned.
    pub fn existing_symbol(&self, name: &str) -> Option<Value> {
        self.symbols.get(name).copied()
    }

    /// Every interned symbol (GC roots).
    pub fn symbol_values(&self) -> impl Iterator<Item = Value> + '_ {
        self.symbols.values().copied()
    }

    /// The binding index for global `name` (a Symbol), created unbound if new.
    pub fn global_slot(&mut self, name: Value) -> u32 {
        if let Some(&i) = self.global_index.get(&name) {
            return i;
        }
        let i = self.globals.len() as u32;
        self.globals.push(Global { name, value: None });
        self.global_index.insert(name, i);
        i
    }

    /// The value of global `name`, if bound.
    pub fn global(&self, name: Value) -> Option<Value> {
        self.global_index
            .get(&name)
            .and_then(|&i| self.globals[i as usize].value)
    }

    /// Binds global `name` to `value`.
    pub fn set_global(&mut self, name: Value, value: Value) {
        let slot = self.global_slot(name);
        self.globals[slot as usize].value = Some(value);
    }

    /// The text of a String or Symbol.
    pub fn str_of(&self, v: Value) -> Option<&str> {
        if v.is_immediate() {
            return None;
        }
        match &self.heap.get(v).body {
            Body::Str(s) | Body::Symbol(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// The text of a String or Symbol with its ASCII flag.
    pub fn text_of(&self, v: Value) -> Option<&crate::object::Text> {
        if v.is_immediate() {
            return None;
        }
        match &self.heap.get(v).body {
            Body::Str(s) | Body::Symbol(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a Symbol (or String), or `"?"`.
    pub fn name_of(&self, v: Value) -> String {
        self.str_of(v).unwrap_or("?").to_string()
    }

    /// The Double inside `v`, if it is one.
    #[inline(always)]
    pub fn double_of(&self, v: Value) -> Option<f64> {
        if v.is_double() {
            return Some(v.double_unchecked());
        }
        if v.is_small() {
            return None;
        }
        match self.heap.get(v).body {
            Body::Double(d) => Some(d),
            _ => None,
        }
    }

    /// The integer value of a SmallInteger or LargeInteger.
    pub fn bigint_of(&self, v: Value) -> Option<BigInt> {
        if let Some(i) = v.as_small() {
            return Some(BigInt::from(i));
        }
        if v.is_double() {
            return None;
        }
        match &self.heap.get(v).body {
            Body::BigInt(b) => Some((**b).clone()),
            _ => None,
        }
    }

    /// True if `v` is an Integer (small or large).
    pub fn is_integer(&self, v: Value) -> bool {
        v.is_small() || (v.is_object() && matches!(self.heap.get(v).body, Body::BigInt(_)))
    }

    /// The items of an Array (or environment).
    pub fn array_of(&self, v: Value) -> Option<&Vec<Value>> {
        if v.is_immediate() {
            return None;
        }
        match &self.heap.get(v).body {
            Body::Array(items) => Some(items),
            _ => None,
        }
    }
}
