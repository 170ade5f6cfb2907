//! Running programs: SOM's start-up convention, evaluating expressions, and printing values.

use crate::bytecode::Method;
use crate::compiler::{compile_code, CompileInput};
use crate::error::VmError;
use crate::interpreter::Interp;
use crate::object::Body;
use crate::space::Special;
use crate::value::Value;
use espell_syntax::Span;
use std::cell::Cell;
use std::rc::Rc;

impl Interp {
    /// Starts a program as SOM does: `system initialize: #('Main' arg1 ...)`, which resolves
    /// the class, instantiates it and sends `run:` (or `run`).
    /// `class_name` may also be the path of a `.som` file: its class is the one the file
    /// defines, whatever the file's name (as SOM VMs run `Tests/x.som` defining `y`).
    pub fn run_main(&mut self, class_name: &str, args: &[String]) -> Result<Value, VmError> {
        let path = std::path::Path::new(class_name);
        let class_name = if class_name.ends_with(".som") && path.is_file() {
            let class = self.load_class_file(path)?;
            self.space.name_of(self.space.class_info(class).name)
        } else {
            if self.load_class(class_name)?.is_none() {
                return Err(VmError::Load(format!("class {class_name} not found on the class path")));
            }
            class_name.to_string()
        };
        let class_name = class_name.as_str();
        let mut items = vec![self.space.new_string(class_name)];
        for a in args {
            items.push(self.space.new_string(a));
        }
        let array = self.space.new_array(items);
        let system = self.space.special(Special::SystemGlobal);
        let result = self.send_message(system, "initialize:", &[array]);
        self.flush();
        result
    }

    /// Compiles and runs `source` (temporaries and statements) with nil as receiver.
    /// Undeclared variables assigned to become globals.
    pub fn eval(&mut self, source: &str, file: &str) -> Result<Value, VmError> {
        let body = espell_syntax::parse_expression(source, file)?;
        let lines = crate::compiler::LineMap::new(source);
        let input = CompileInput {
            lines: &lines,
            fields: &[],
            file,
            source,
            allow_global_assign: true,
        };
        let mut body = body;
        // The value of the last expression statement is the answer.
        if let Some(espell_syntax::Stmt::Expr(e)) = body.stmts.last().cloned() {
            body.stmts.pop();
            body.stmts.push(espell_syntax::Stmt::Return(e));
        }
        let code = compile_code(&mut self.space, &input, &[], &body, Span::new(0, source.len()))?;
        let selector = self.space.symbol("doIt");
        let holder = self.space.special(Special::NilClass);
        let method = Method {
            selector,
            holder: Cell::new(holder),
            code: Rc::new(code),
            primitive: None,
            fast: crate::bytecode::FastPrim::None,
            source: source.into(),
            file: file.into(),
            first_line: 1,
        };
        let class = self.space.special(Special::MethodClass);
        let mv = self.space.new_with_body(class, Body::Method(Rc::new(method)));
        let nil = self.nil();
        let result = self.run_method(nil, mv);
        self.flush();
        result
    }

    /// A printable description of `v`: its `printString` when the library answers a String,
    /// else its `asString`, else a VM-made description.
    pub fn print_string(&mut self, v: Value) -> String {
        for sel in ["printString", "asString"] {
            let sym = self.space.symbol(sel);
            let class = self.space.class_of(v);
            if self.space.lookup(class, sym).is_some() {
                if let Ok(s) = self.send_message(v, sel, &[]) {
                    if let Some(text) = self.space.str_of(s) {
                        return text.to_string();
                    }
                }
            }
        }
        crate::primitives::describe_value(self, v)
    }

    /// Flushes the program's output streams.
    pub fn flush(&mut self) {
        let _ = self.out.flush();
        let _ = self.err.flush();
    }
}

use std::io::Write;
