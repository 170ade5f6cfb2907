//! Class loading: finding class files on the class path (the embedded core library last),
//! parsing them, and turning class definitions into class objects with compiled methods.

use crate::bytecode::{Code, Method};
use crate::compiler::{compile_method, diagnostic_at, CompileInput, LineMap};
use crate::error::VmError;
use crate::interpreter::Interp;
use crate::object::{Body, InstanceKind};
use crate::primitives;
use crate::space::Special;
use crate::value::Value;
use espell_syntax::{ClassDef, MethodBody, MethodDef, Superclass};
use std::cell::Cell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

include!(concat!(env!("OUT_DIR"), "/core_library.rs"));

/// Where class files come from.
#[derive(Clone, Debug, Default)]
pub struct Loader {
    /// Directories searched in order.
    pub class_path: Vec<PathBuf>,
    /// A directory that replaces the embedded core library (`--core`), if any.
    pub core_dir: Option<PathBuf>,
    /// Whether the embedded core library is searched last (false when a class-path
    /// directory brings its own `Object.som`).
    pub use_embedded_core: bool,
    /// Classes whose loading is in progress (cycle detection).
    loading: HashSet<String>,
    /// System classes created by the bootstrap whose files are not loaded yet.
    pub shells: HashSet<String>,
    /// Whether the embedded hypervisor library (mirrors, ChesterUpdate) is searched, before
    /// the core library. Only hypervisor spaces set it.
    pub use_hypervisor_library: bool,
    /// Each class's content fingerprint as its class file defined it (the code digest
    /// leaves out the classes that still match, ADR 0017).
    pub pristine: std::collections::HashMap<String, u64>,
}

/// A source text being compiled: its label, its text and its line table.
pub struct SourceText<'a> {
    /// The file label used in diagnostics and backtraces.
    pub file: &'a str,
    /// The whole text.
    pub source: &'a str,
    /// Line starts of `source`.
    pub lines: LineMap,
}

/// A class file found on the path: a label for messages and its text.
pub struct ClassSource {
    /// The file path (or `core:Name.som` for embedded files).
    pub file: String,
    /// The source text.
    pub text: String,
}

impl Loader {
    /// A loader over `class_path`. The embedded core library is used unless a directory on
    /// the path provides `Object.som` or `core_dir` is given.
    pub fn new(class_path: Vec<PathBuf>, core_dir: Option<PathBuf>) -> Loader {
        let brings_object = class_path.iter().any(|d| d.join("Object.som").is_file());
        Loader {
            use_embedded_core: !brings_object && core_dir.is_none(),
            class_path,
            core_dir,
            loading: HashSet::new(),
            shells: HashSet::new(),
            use_hypervisor_library: false,
            pristine: Default::default(),
        }
    }

    /// Finds the source of class `name`.
    pub fn find(&self, name: &str) -> Result<Option<ClassSource>, VmError> {
        if !is_class_name(name) {
            return Ok(None);
        }
        let file_name = format!("{name}.som");
        let dirs = self.class_path.iter().chain(self.core_dir.iter());
        for dir in dirs {
            let path = dir.join(&file_name);
            if path.is_file() {
                return read_source(&path).map(Some);
            }
        }
        if self.use_hypervisor_library {
            if let Some((_, text)) = HYPERVISOR_LIBRARY.iter().find(|(n, _)| *n == name) {
                return Ok(Some(ClassSource {
                    file: format!("hypervisor:{file_name}"),
                    text: text.to_string(),
                }));
            }
        }
        if self.use_embedded_core {
            // The network library (sockets, HTTP) sits between the class path and the core.
            if let Some((_, text)) = NET_LIBRARY.iter().find(|(n, _)| *n == name) {
                return Ok(Some(ClassSource {
                    file: format!("net:{file_name}"),
                    text: text.to_string(),
                }));
            }
            if let Some((_, text)) = CORE_LIBRARY.iter().find(|(n, _)| *n == name) {
                return Ok(Some(ClassSource {
                    file: format!("core:{file_name}"),
                    text: text.to_string(),
                }));
            }
        }
        Ok(None)
    }
}

/// The number of arguments a selector takes.
pub fn selector_arity(sel: &str) -> u16 {
    if sel.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') {
        sel.matches(':').count() as u16
    } else {
        1
    }
}

fn is_class_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads a source file, reporting unreadable files clearly.
pub fn read_source(path: &Path) -> Result<ClassSource, VmError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| VmError::Load(format!("cannot read {}: {e}", path.display())))?;
    Ok(ClassSource {
        file: path.display().to_string(),
        text,
    })
}

impl Interp {
    /// The class bound to global `name`, loading it from the class path if needed.
    /// Answers `None` when no class file defines it.
    pub fn load_class(&mut self, name: &str) -> Result<Option<Value>, VmError> {
        let sym = self.space.symbol(name);
        if let Some(v) = self.space.global(sym) {
            if self.space.is_class(v) && !self.unloaded_shell(v) {
                return Ok(Some(v));
            }
        }
        let Some(src) = self.loader.find(name)? else {
            return Ok(None);
        };
        let def = espell_syntax::parse_class(&src.text, &src.file)?;
        if def.name != name {
            return Err(VmError::Load(format!(
                "{}: file defines class {} instead of {}",
                src.file, def.name, name
            )));
        }
        self.define_class(&def, &src.file, &src.text).map(Some)
    }

    /// Loads a class from an explicit file path (the `espell run path/Name.som` form).
    pub fn load_class_file(&mut self, path: &Path) -> Result<Value, VmError> {
        let src = read_source(path)?;
        let def = espell_syntax::parse_class(&src.text, &src.file)?;
        self.define_class(&def, &src.file, &src.text)
    }

    /// True for a bootstrap shell whose class file has not been read yet.
    pub fn is_unloaded_shell(&self, class: Value) -> bool {
        self.unloaded_shell(class)
    }

    fn unloaded_shell(&self, class: Value) -> bool {
        if self.loader.shells.is_empty() {
            return false;
        }
        let name = self.space.str_of(self.space.class_info(class).name).unwrap_or("");
        self.loader.shells.contains(name)
    }

    /// Turns a parsed class definition into a class (reusing a bootstrap shell of the same
    /// name), compiles its methods and binds the global.
    pub fn define_class(&mut self, def: &ClassDef, file: &str, source: &str) -> Result<Value, VmError> {
        if !self.loader.loading.insert(def.name.clone()) {
            return Err(diagnostic_at(
                file,
                source,
                def.name_span,
                format!("class {} inherits from itself", def.name),
            )
            .into());
        }
        let result = self.define_class_inner(def, file, source);
        self.loader.loading.remove(&def.name);
        result
    }

    fn define_class_inner(&mut self, def: &ClassDef, file: &str, source: &str) -> Result<Value, VmError> {
        let nil = self.nil();
        let superclass = match &def.superclass {
            Superclass::Nil => nil,
            Superclass::Implicit => self.require_class("Object", def, file, source)?,
            Superclass::Named(n) => self.require_class(n, def, file, source)?,
        };
        self.check_fields(def, superclass, file, source)?;
        let sym = self.space.symbol(&def.name);
        let existing = self
            .space
            .global(sym)
            .filter(|&v| self.space.is_class(v) && self.unloaded_shell(v));
        let class = match existing {
            Some(shell) => shell,
            None => {
                let kind = if superclass == nil {
                    InstanceKind::Plain
                } else {
                    match self.space.class_info(superclass).kind {
                        k @ (InstanceKind::Indexable | InstanceKind::Str | InstanceKind::Plain) => k,
                        _ => InstanceKind::Plain,
                    }
                };
                self.space.new_class(&def.name, kind)
            }
        };
        self.loader.shells.remove(&def.name);
        self.space.set_superclass(class, superclass);
        // Layouts: inherited fields first, then this class's own.
        let own: Vec<Value> = def.instance_fields.iter().map(|f| self.space.symbol(f)).collect();
        self.space.class_info_mut(class).own_fields = own;
        self.space.relayout(class);
        let meta = self.space.class_of(class);
        let own_class_side: Vec<Value> = def.class_fields.iter().map(|f| self.space.symbol(f)).collect();
        self.space.class_info_mut(meta).own_fields = own_class_side;
        self.space.relayout(meta);
        self.space.fit_class_object(class);
        self.space.fit_class_object(meta);
        let fields = self.space.class_info(class).instance_fields.clone();
        let class_fields = self.space.class_info(meta).instance_fields.clone();
        self.space.set_global(sym, class);
        let field_names: Vec<String> = fields.iter().map(|&f| self.space.name_of(f)).collect();
        let class_field_names: Vec<String> = class_fields.iter().map(|&f| self.space.name_of(f)).collect();
        let text = SourceText {
            file,
            source,
            lines: LineMap::new(source),
        };
        for m in &def.instance_methods {
            let mv = self.build_method(&def.name, false, m, &field_names, class, &text)?;
            self.space.install_method(class, mv);
        }
        for m in &def.class_methods {
            let mv = self.build_method(&def.name, true, m, &class_field_names, meta, &text)?;
            self.space.install_method(meta, mv);
        }
        self.install_standard_primitives(&def.name, class, meta, file);
        let print = crate::mop::code_digest::class_fingerprint(self, class);
        self.loader.pristine.insert(def.name.clone(), print);
        Ok(class)
    }

    /// A field declared twice in the class, or an instance field the superclass already
    /// has, is a compile error (it would give two slots one name).
    fn check_fields(&self, def: &ClassDef, superclass: Value, file: &str, source: &str) -> Result<(), VmError> {
        let inherited: Vec<String> = if superclass == self.nil() {
            Vec::new()
        } else {
            let fields = &self.space.class_info(superclass).instance_fields;
            fields.iter().map(|&f| self.space.name_of(f)).collect()
        };
        let fail = |message: String| Err(diagnostic_at(file, source, def.name_span, message).into());
        for (side, fields) in [("field", &def.instance_fields), ("class-side field", &def.class_fields)] {
            for (i, f) in fields.iter().enumerate() {
                if fields[..i].contains(f) {
                    return fail(format!("{} declares the {side} '{f}' twice", def.name));
                }
            }
        }
        if let Some(f) = def.instance_fields.iter().find(|f| inherited.contains(f)) {
            let sup = self.space.name_of(self.space.class_info(superclass).name);
            return fail(format!(
                "{} declares the field '{f}', which its superclass {sup} already has",
                def.name
            ));
        }
        Ok(())
    }

    /// Makes sure a system class has SOM's standard primitives, as som-java does.
    fn install_standard_primitives(&mut self, name: &str, class: Value, meta: Value, file: &str) {
        for &(class_name, class_side, selectors) in primitives::STANDARD {
            if class_name != name {
                continue;
            }
            let holder = if class_side { meta } else { class };
            for &sel in selectors {
                let sym = self.space.symbol(sel);
                let existing = self.space.class_info(holder).method_index.get(&sym).copied();
                let is_prim = existing
                    .map(|i| self.space.class_info(holder).methods[i])
                    .and_then(|m| self.space.method_of(m).map(|m| m.primitive.is_some()))
                    .unwrap_or(false);
                if is_prim || (existing.is_none() && name == "Object") {
                    continue;
                }
                let Some(prim) = primitives::lookup(name, class_side, sel) else {
                    continue;
                };
                let method = Method {
                    selector: sym,
                    holder: Cell::new(holder),
                    code: Rc::new(Code::empty(selector_arity(sel))),
                    primitive: Some(prim),
                    fast: crate::bytecode::FastPrim::of(name, class_side, sel),
                    source: format!("{sel} = primitive").into(),
                    file: file.into(),
                    first_line: 0,
                };
                let pclass = self.space.special(Special::PrimitiveClass);
                let mv = self.space.new_with_body(pclass, Body::Method(Rc::new(method)));
                self.space.install_method(holder, mv);
            }
        }
    }

    fn require_class(&mut self, name: &str, def: &ClassDef, file: &str, source: &str) -> Result<Value, VmError> {
        match self.load_class(name)? {
            Some(c) => Ok(c),
            None => Err(diagnostic_at(
                file,
                source,
                def.name_span,
                format!("superclass {name} of {} not found on the class path", def.name),
            )
            .into()),
        }
    }

    /// Compiles one method definition (or binds its primitive) for `holder`.
    pub fn build_method(
        &mut self,
        class_name: &str,
        class_side: bool,
        def: &MethodDef,
        fields: &[String],
        holder: Value,
        text: &SourceText,
    ) -> Result<Value, VmError> {
        let (file, source) = (text.file, text.source);
        match &def.body {
            MethodBody::Code(body) => {
                let input = CompileInput {
                    fields,
                    file,
                    source,
                    allow_global_assign: false,
                    lines: &text.lines,
                };
                Ok(compile_method(&mut self.space, &input, def, body, holder)?)
            }
            MethodBody::Primitive => {
                let mirror = if self.is_hypervisor && !class_side {
                    crate::mop::mirrors::lookup(class_name, &def.selector)
                } else {
                    None
                };
                // Fast paths only for the VM's own primitives (not mirrors, not `missing`).
                let fast = match (mirror, primitives::lookup(class_name, class_side, &def.selector)) {
                    (None, Some(_)) => crate::bytecode::FastPrim::of(class_name, class_side, &def.selector),
                    _ => crate::bytecode::FastPrim::None,
                };
                let prim = mirror
                    .or_else(|| primitives::lookup(class_name, class_side, &def.selector))
                    .unwrap_or(primitives::missing);
                let selector = self.space.symbol(&def.selector);
                let start = def.span.start as usize;
                let end = (def.span.end as usize).min(source.len());
                let method = Method {
                    selector,
                    holder: Cell::new(holder),
                    code: Rc::new(Code::empty(def.params.len() as u16)),
                    primitive: Some(prim),
                    fast,
                    source: source.get(start..end).unwrap_or("").into(),
                    file: file.into(),
                    first_line: text.lines.line(start),
                };
                let class = self.space.special(Special::PrimitiveClass);
                Ok(self.space.new_with_body(class, Body::Method(Rc::new(method))))
            }
        }
    }
}
