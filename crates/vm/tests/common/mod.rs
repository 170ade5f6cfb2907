//! Shared helpers for the VM's integration tests: an interpreter on the embedded core
//! library whose output is captured.

#![allow(dead_code)]

use espell_vm::{Interp, Loader, VmError};
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

/// A `Write` sink tests can read back.
#[derive(Clone, Default)]
pub struct Sink(pub Rc<RefCell<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

/// A fresh interpreter on the embedded core library, with captured output.
pub fn interp() -> (Interp, Sink) {
    let mut i = Interp::new(Loader::new(vec![], None)).expect("bootstrap");
    let sink = Sink::default();
    i.out = Box::new(sink.clone());
    i.err = Box::new(sink.clone());
    (i, sink)
}

/// Evaluates `src` and answers its printString.
pub fn eval(src: &str) -> String {
    let (mut i, _) = interp();
    match i.eval(src, "test") {
        Ok(v) => i.print_string(v),
        Err(e) => panic!("{src}: {e}"),
    }
}

/// Evaluates `src`, expecting an error.
pub fn eval_err(src: &str) -> VmError {
    let (mut i, _) = interp();
    match i.eval(src, "test") {
        Ok(v) => panic!("{src}: expected an error, got {}", i.print_string(v)),
        Err(e) => e,
    }
}
