//! System primitives: globals, loading, output, exit, time and the collector.

use super::ret_bool;
use crate::error::{prim_fail, VmError};
use crate::interpreter::{Interp, PrimFn};
use crate::value::Value;
use std::io::Write;

fn symbol_arg(interp: &mut Interp, argc: usize, i: usize) -> Result<Value, VmError> {
    match interp.space.str_of(interp.arg(argc, i)).map(str::to_string) {
        Some(s) => Ok(interp.space.symbol(&s)),
        None => prim_fail("expected a Symbol"),
    }
}

fn global(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let name = symbol_arg(interp, argc, 0)?;
    let v = interp.space.global(name).unwrap_or(interp.nil());
    interp.prim_return(argc, v)
}

fn global_put(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let name = symbol_arg(interp, argc, 0)?;
    let v = interp.arg(argc, 1);
    interp.space.set_global(name, v);
    // SOM: `global:put:` answers the receiver (system).
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn has_global(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let name = symbol_arg(interp, argc, 0)?;
    let has = interp.space.global(name).is_some();
    ret_bool(interp, argc, has)
}

fn load_file(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let path = interp.space.str_of(interp.arg(argc, 0)).map(str::to_string);
    // Only regular files of a sane size: a FIFO would block, a device never end.
    let readable = |p: &String| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() <= MAX_LOAD_FILE);
    let v = match path.filter(readable).and_then(|p| std::fs::read_to_string(p).ok()) {
        Some(text) => interp.space.new_string(&text),
        None => interp.nil(),
    };
    interp.prim_return(argc, v)
}

/// `loadFile:` refuses files larger than this (bytes).
const MAX_LOAD_FILE: u64 = 256 << 20;

fn load(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let name = symbol_arg(interp, argc, 0)?;
    let text = interp.space.name_of(name);
    let v = interp.load_class(&text)?.unwrap_or(interp.nil());
    interp.prim_return(argc, v)
}

fn exit(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let arg = interp.arg(argc, 0);
    let Some(code) = arg.as_small().filter(|c| i32::try_from(*c).is_ok()) else {
        let what = super::describe(interp, arg);
        return prim_fail(format!("system exit: needs an Integer status (32 bits), not {what}"));
    };
    let _ = interp.out.flush();
    Err(VmError::Exit(code as i32))
}

fn text_of(interp: &Interp, v: Value) -> String {
    match interp.space.str_of(v) {
        Some(s) => s.to_string(),
        None => super::describe(interp, v),
    }
}

fn print_string(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let s = text_of(interp, interp.arg(argc, 0));
    let _ = interp.out.write_all(s.as_bytes());
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn print_newline(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let _ = interp.out.write_all(b"\n");
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn error_print(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let s = text_of(interp, interp.arg(argc, 0));
    let _ = interp.out.flush();
    let _ = interp.err.write_all(s.as_bytes());
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

/// `flush`: writes out what `printString:` and `printNewline` buffered (a parent reading
/// the program's output through a pipe sees it now).
fn flush(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let _ = interp.out.flush();
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn error_println(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let s = text_of(interp, interp.arg(argc, 0));
    let _ = interp.out.flush();
    let _ = writeln!(interp.err, "{s}");
    let r = interp.receiver(argc);
    interp.prim_return(argc, r)
}

fn print_stack_trace(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let trace = interp.backtrace();
    let _ = interp.out.flush();
    for line in trace {
        let _ = writeln!(interp.err, "    {line}");
    }
    ret_bool(interp, argc, true)
}

/// Milliseconds since start (or of CPU time: `crate::clock`).
fn time(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let ms = crate::clock::micros_since(interp.started) / 1000;
    interp.prim_return(argc, Value::small(ms))
}

/// Microseconds since start (or of CPU time: `crate::clock`).
fn ticks(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let us = crate::clock::micros_since(interp.started) + 1;
    interp.prim_return(argc, Value::small(us))
}

fn full_gc(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.collect_garbage();
    ret_bool(interp, argc, true)
}

/// `gcStats`: an Array of the number of collections, the total time spent collecting and
/// the longest collection (both in ms).
fn gc_stats(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let heap = &interp.space.heap;
    let (n, total, longest) = (heap.collections, heap.gc_total, heap.gc_longest);
    let items = vec![
        Value::small(n as i64),
        Value::small(total.as_millis() as i64),
        Value::small(longest.as_millis() as i64),
    ];
    let v = interp.space.new_array(items);
    interp.prim_return(argc, v)
}

/// System primitives.
pub fn lookup(selector: &str) -> Option<PrimFn> {
    Some(match selector {
        "global:" => global,
        "global:put:" => global_put,
        "hasGlobal:" => has_global,
        "loadFile:" => load_file,
        "load:" => load,
        "exit:" => exit,
        "printString:" => print_string,
        "printNewline" => print_newline,
        "errorPrint:" => error_print,
        "flush" => flush,
        "errorPrintln:" => error_println,
        "printStackTrace" => print_stack_trace,
        "time" => time,
        "ticks" => ticks,
        "fullGC" => full_gc,
        "gcStats" => gc_stats,
        "stopAfterError:" => super::process::stop_after_error,
        _ => return None,
    })
}
