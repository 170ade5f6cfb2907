//! Bootstrap: creates the classes the VM knows about as empty shells, the special objects,
//! then loads the system classes' files into those shells.

use crate::error::VmError;
use crate::interpreter::{Interp, Selectors};
use crate::loader::Loader;
use crate::object::{Body, InstanceKind, Object};
use crate::space::{Space, Special};
use crate::value::Value;

/// The classes the VM creates before reading any file, their shapes, and the special object
/// slot each fills (if any). Their files are then loaded in this order.
const SYSTEM_CLASSES: &[(&str, InstanceKind, Option<Special>)] = &[
    ("Object", InstanceKind::Plain, Some(Special::ObjectClass)),
    ("Class", InstanceKind::Class, Some(Special::ClassClass)),
    ("Metaclass", InstanceKind::Class, Some(Special::MetaclassClass)),
    ("Nil", InstanceKind::Plain, Some(Special::NilClass)),
    ("Boolean", InstanceKind::Plain, None),
    ("True", InstanceKind::Plain, Some(Special::TrueClass)),
    ("False", InstanceKind::Plain, Some(Special::FalseClass)),
    ("Integer", InstanceKind::Integer, Some(Special::SmallIntegerClass)),
    ("Double", InstanceKind::Double, Some(Special::DoubleClass)),
    ("String", InstanceKind::Str, Some(Special::StringClass)),
    ("Symbol", InstanceKind::Symbol, Some(Special::SymbolClass)),
    ("Array", InstanceKind::Indexable, Some(Special::ArrayClass)),
    ("Block", InstanceKind::Block, Some(Special::BlockClass)),
    ("Block1", InstanceKind::Block, Some(Special::Block1Class)),
    ("Block2", InstanceKind::Block, Some(Special::Block2Class)),
    ("Block3", InstanceKind::Block, Some(Special::Block3Class)),
    ("Method", InstanceKind::Method, Some(Special::MethodClass)),
    ("Primitive", InstanceKind::Method, Some(Special::PrimitiveClass)),
    ("System", InstanceKind::Plain, Some(Special::SystemClass)),
];

const PLACEHOLDER: Value = Value::small_const(0);

impl Interp {
    /// If the core library has processes, makes `Process` the special process class and
    /// binds `Processor` to the scheduler object.
    fn bind_processor(&mut self) -> Result<(), VmError> {
        if let Some(context) = self.load_class("Context")? {
            self.space.specials[Special::ContextClass as usize] = context;
        }
        if let Some(process) = self.load_class("Process")? {
            self.space.specials[Special::ProcessClass as usize] = process;
        }
        if let Some(scheduler) = self.load_class("ProcessorScheduler")? {
            let n = self.space.class_info(scheduler).instance_fields.len();
            let processor = self.space.new_plain(scheduler, n);
            let name = self.space.symbol("Processor");
            self.space.set_global(name, processor);
        }
        Ok(())
    }

    /// Recomputes every class's layout, supers first, and refits class objects: system
    /// classes were loaded before `Class` declared its fields, so their metaclass layouts
    /// are stale after the bootstrap.
    fn relayout_all_classes(&mut self) {
        let nil = self.nil();
        let count = self.space.heap.table_len();
        let mut classes: Vec<(usize, Value)> = Vec::new();
        for i in 0..count as u32 {
            let v = Value::object(i);
            if self.space.heap.is_live(v) && self.space.is_class(v) {
                let mut depth = 0;
                let mut c = self.space.class_info(v).superclass;
                while c != nil && self.space.is_class(c) && depth < 10_000 {
                    depth += 1;
                    c = self.space.class_info(c).superclass;
                }
                classes.push((depth, v));
            }
        }
        classes.sort();
        for &(_, c) in &classes {
            self.space.relayout(c);
        }
        for &(_, c) in &classes {
            self.space.fit_class_object(c);
        }
    }

    /// A bootstrapped hypervisor interpreter: like `new`, but its class files may bind the
    /// mirror primitives.
    pub fn new_hypervisor(loader: Loader) -> Result<Interp, VmError> {
        Self::bootstrap(loader, true)
    }

    /// A fully bootstrapped interpreter: core classes loaded from `loader`'s path.
    pub fn new(loader: Loader) -> Result<Interp, VmError> {
        Self::bootstrap(loader, false)
    }

    fn bootstrap(loader: Loader, hypervisor: bool) -> Result<Interp, VmError> {
        let mut space = Space::new();
        space.pseudo_variables_are_globals = !loader.use_embedded_core && !hypervisor;
        // nil exists before its class; its class is patched below.
        let nil = space.heap.alloc(Object {
            class: PLACEHOLDER,
            fields: Box::new([]),
            body: Body::Plain,
        });
        space.specials[Special::Nil as usize] = nil;
        let mut classes = Vec::new();
        for &(name, kind, special) in SYSTEM_CLASSES {
            let c = space.new_class(name, kind);
            if let Some(s) = special {
                space.specials[s as usize] = c;
            }
            if name == "Metaclass" {
                // Metaclasses made before Metaclass existed get their class now.
                space.specials[Special::MetaclassClass as usize] = c;
            }
            classes.push((name, c));
        }
        let int_class = space.special(Special::SmallIntegerClass);
        space.specials[Special::LargeIntegerClass as usize] = int_class;
        let block4 = space.new_class("Block4", InstanceKind::Block);
        space.specials[Special::Block4Class as usize] = block4;
        classes.push(("Block4", block4));
        // Patch the classes of objects created before their class existed.
        let metaclass = space.special(Special::MetaclassClass);
        let symbol = space.special(Special::SymbolClass);
        let nil_class = space.special(Special::NilClass);
        let all: Vec<Value> = (0..space.heap.live_count() as u32).map(Value::object).collect();
        for v in all {
            let obj = space.heap.get_mut(v);
            if obj.class == PLACEHOLDER {
                obj.class = match obj.body {
                    Body::Symbol(_) => symbol,
                    Body::Class(_) => metaclass,
                    _ => nil_class,
                };
            }
        }
        let t = space.new_plain(space.special(Special::TrueClass), 0);
        let f = space.new_plain(space.special(Special::FalseClass), 0);
        let system = space.new_plain(space.special(Special::SystemClass), 0);
        space.specials[Special::True as usize] = t;
        space.specials[Special::False as usize] = f;
        space.specials[Special::SystemGlobal as usize] = system;
        let mut loader = loader;
        for (name, c) in &classes {
            let sym = space.symbol(name);
            space.set_global(sym, *c);
            loader.shells.insert(name.to_string());
        }
        for (name, value) in [("nil", nil), ("true", t), ("false", f), ("system", system)] {
            let sym = space.symbol(name);
            space.set_global(sym, value);
        }
        let binops = ["+", "-", "*", "<", ">", "<=", ">=", "=", "~="].map(|s| space.symbol(s));
        let sel = Selectors {
            binops,
            at: space.symbol("at:"),
            at_put: space.symbol("at:put:"),
            identical: space.symbol("=="),
        };
        for (s, name) in [
            (Special::DoesNotUnderstand, "doesNotUnderstand:arguments:"),
            (Special::EscapedBlock, "escapedBlock:"),
            (Special::UnknownGlobal, "unknownGlobal:"),
            (Special::MustBeBoolean, "mustBeBoolean"),
        ] {
            let v = space.symbol(name);
            space.specials[s as usize] = v;
        }
        let mut interp = Interp::with_space(space, loader, sel);
        interp.is_hypervisor = hypervisor;
        for (name, _) in &classes {
            match interp.load_class(name)? {
                Some(_) => {}
                None if *name == "Block4" => {}
                None => {
                    return Err(VmError::Load(format!(
                        "the core library has no class {name} (looked for {name}.som)"
                    )))
                }
            }
        }
        interp.relayout_all_classes();
        interp.bind_processor()?;
        Ok(interp)
    }
}
