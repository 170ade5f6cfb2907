//! Primitives, one file per class, bound by (class name, side, selector) when a class file
//! declares `selector = primitive`.

mod array;
mod block;
pub mod class;
pub mod double;
mod inplace;
mod integer;
mod method;
mod object;
pub use object::identical;
pub mod process;
mod socket;
mod string;
mod system;

use crate::error::{prim_fail, VmError};
use crate::interpreter::{Interp, PrimFn};
use crate::value::Value;

/// The primitive for `class_name` (`class_side` for `Foo class>>sel`) and `selector`.
pub fn lookup(class_name: &str, class_side: bool, selector: &str) -> Option<PrimFn> {
    match (class_name, class_side) {
        ("Object", false) => object::lookup(selector),
        ("Class", false) => class::lookup(selector),
        ("Integer", false) => integer::lookup(selector),
        ("Integer", true) => integer::lookup_class_side(selector),
        ("Double", false) => double::lookup(selector),
        ("Double", true) => double::lookup_class_side(selector),
        ("String", false) => string::lookup(selector),
        ("String", true) => string::lookup_class_side(selector),
        ("Symbol", false) => string::lookup_symbol(selector),
        ("Array", false) => array::lookup(selector),
        ("Array", true) => array::lookup_class_side(selector),
        ("Block" | "Block1" | "Block2" | "Block3" | "Block4", false) => block::lookup(selector),
        ("Method" | "Primitive", false) => method::lookup(selector),
        ("System", false) => system::lookup(selector),
        ("Process", false) => process::lookup_process(selector),
        ("Context", false) => crate::context::lookup(selector),
        ("Chester", true) => process::lookup_chester(selector),
        ("ServerSocket", side) => socket::lookup_server(selector, side),
        ("Socket", side) => socket::lookup_socket(selector, side),
        ("ProcessorScheduler", false) => process::lookup_scheduler(selector),
        ("Semaphore", false) => process::lookup_semaphore(selector),
        ("InPlaceSpace", false) => inplace::lookup(selector),
        _ => None,
    }
}

/// SOM's standard primitives per class (som-protocol.md §3): as in som-java, they are
/// installed even where a library's class file writes the method in Smalltalk (replacing it
/// at the same index) or leaves it out (appended; never on Object).
pub const STANDARD: &[(&str, bool, &[&str])] = &[
    (
        "Object",
        false,
        &[
            "class",
            "objectSize",
            "==",
            "hashcode",
            "inspect",
            "halt",
            "perform:",
            "perform:withArguments:",
            "perform:inSuperclass:",
            "perform:withArguments:inSuperclass:",
            "instVarAt:",
            "instVarAt:put:",
            "instVarNamed:",
        ],
    ),
    (
        "Class",
        false,
        &["name", "new", "superclass", "fields", "methods", "selectors"],
    ),
    (
        "Integer",
        false,
        &[
            "+",
            "-",
            "*",
            "/",
            "//",
            "%",
            "rem:",
            "&",
            "<<",
            ">>>",
            "bitXor:",
            "sqrt",
            "atRandom",
            "=",
            "<",
            "asString",
            "as32BitSignedValue",
            "as32BitUnsignedValue",
            "asDouble",
        ],
    ),
    ("Integer", true, &["fromString:"]),
    (
        "Double",
        false,
        &[
            "+",
            "-",
            "*",
            "//",
            "%",
            "sqrt",
            "round",
            "asInteger",
            "cos",
            "sin",
            "=",
            "<",
            "asString",
        ],
    ),
    ("Double", true, &["PositiveInfinity", "fromString:"]),
    (
        "String",
        false,
        &[
            "concatenate:",
            "asSymbol",
            "hashcode",
            "length",
            "isWhiteSpace",
            "isLetters",
            "isDigits",
            "=",
            "primSubstringFrom:to:",
        ],
    ),
    ("Symbol", false, &["asString"]),
    ("Array", false, &["at:", "at:put:", "length"]),
    ("Array", true, &["new:"]),
    ("Block", false, &["value", "restart"]),
    ("Block1", false, &["value"]),
    ("Block2", false, &["value:"]),
    ("Block3", false, &["value:with:"]),
    ("Method", false, &["signature", "holder", "invokeOn:with:"]),
    ("Primitive", false, &["signature", "holder", "invokeOn:with:"]),
    (
        "System",
        false,
        &[
            "global:",
            "global:put:",
            "hasGlobal:",
            "loadFile:",
            "load:",
            "exit:",
            "printString:",
            "printNewline",
            "errorPrintln:",
            "errorPrint:",
            "printStackTrace",
            "time",
            "ticks",
            "fullGC",
        ],
    ),
];

/// Installed for `= primitive` methods this VM does not implement: fails when called.
pub fn missing(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let _ = (interp, argc);
    prim_fail("this primitive is not implemented by Espell")
}

/// Reads argument `i` as a SmallInteger or fails with a message naming `what`.
pub(crate) fn small_arg(interp: &Interp, argc: usize, i: usize, what: &str) -> Result<i64, VmError> {
    match interp.arg(argc, i).as_small() {
        Some(n) => Ok(n),
        None => prim_fail(format!("{what} must be a SmallInteger")),
    }
}

/// Answers a Boolean.
pub(crate) fn ret_bool(interp: &mut Interp, argc: usize, b: bool) -> Result<(), VmError> {
    let v = interp.space.boolean(b);
    interp.prim_return(argc, v)
}

/// Answers a new String.
pub(crate) fn ret_string(interp: &mut Interp, argc: usize, s: &str) -> Result<(), VmError> {
    let v = interp.space.new_string(s);
    interp.prim_return(argc, v)
}

/// A readable description of any value, for error messages.
pub(crate) fn describe(interp: &Interp, v: Value) -> String {
    if let Some(i) = v.as_small() {
        return i.to_string();
    }
    if let Some(s) = interp.space.str_of(v) {
        return format!("'{s}'");
    }
    if let Some(d) = interp.space.double_of(v) {
        return format!("{d:?}");
    }
    if let Some(b) = interp.space.bigint_of(v) {
        return b.to_string();
    }
    let class = interp.space.class_of(v);
    format!("a {}", interp.space.class_name(class))
}

/// A VM-made description of any value (used when the library cannot print it).
pub fn describe_value(interp: &Interp, v: Value) -> String {
    describe(interp, v)
}
