//! Classes and metaclasses: creation, method dictionaries and method lookup.

use crate::bytecode::Method;
use crate::object::{Body, ClassInfo, InstanceKind, Object};
use crate::space::{Space, Special};
use crate::value::{Value, WordMap};
use std::rc::Rc;

impl Space {
    /// The class information of a class object. Panics if `class` is not a class: callers
    /// only pass values they got from `class_of` or from the loader.
    #[inline(always)]
    pub fn class_info(&self, class: Value) -> &ClassInfo {
        match &self.heap.get(class).body {
            Body::Class(info) => info,
            _ => panic!("not a class: {class:?}"),
        }
    }

    /// The Array of `class`'s methods, the same one on each call while it still holds exactly
    /// the class's methods (a changed class, or a changed array, gets a fresh one).
    pub fn methods_array(&mut self, class: Value) -> Value {
        let current = |space: &Space, a: Value| match &space.heap.get(a).body {
            Body::Array(items) => *items == space.class_info(class).methods,
            _ => false,
        };
        match self.methods_arrays.get(&class) {
            Some(&a) if current(self, a) => a,
            _ => {
                let items = self.class_info(class).methods.clone();
                let a = self.new_array(items);
                self.methods_arrays.insert(class, a);
                a
            }
        }
    }

    /// The class information, mutably.
    pub fn class_info_mut(&mut self, class: Value) -> &mut ClassInfo {
        match &mut self.heap.get_mut(class).body {
            Body::Class(info) => info,
            _ => panic!("not a class: {class:?}"),
        }
    }

    /// True if `v` is a class or metaclass object.
    pub fn is_class(&self, v: Value) -> bool {
        v.is_object() && matches!(self.heap.get(v).body, Body::Class(_))
    }

    /// The method object (Method or Primitive) of `v`, if it is one.
    pub fn method_of(&self, v: Value) -> Option<&Rc<Method>> {
        if v.is_immediate() {
            return None;
        }
        match &self.heap.get(v).body {
            Body::Method(m) => Some(m),
            _ => None,
        }
    }

    /// The printable name of a class (`Foo` or `Foo class`).
    pub fn class_name(&self, class: Value) -> String {
        if !self.is_class(class) {
            return "?".into();
        }
        self.name_of(self.class_info(class).name)
    }

    /// Creates an (empty) class named `name` and its metaclass; not bound as a global.
    /// The superclass is set with `set_superclass`.
    pub fn new_class(&mut self, name: &str, kind: InstanceKind) -> Value {
        let nil = self.nil();
        let metaclass_class = self.special(Special::MetaclassClass);
        let name_sym = self.symbol(name);
        let meta_name = self.symbol(&format!("{name} class"));
        let meta = self.heap.alloc(Object {
            class: metaclass_class,
            fields: Box::new([]),
            body: Body::Class(Box::new(empty_info(meta_name, nil, InstanceKind::Class, true))),
        });
        let class = self.heap.alloc(Object {
            class: meta,
            fields: Box::new([]),
            body: Body::Class(Box::new(empty_info(name_sym, nil, kind, false))),
        });
        self.class_info_mut(meta).this_class = class;
        class
    }

    /// Sets the superclass of `class` (and of its metaclass accordingly). The metaclass of a
    /// root class inherits from `Class`.
    pub fn set_superclass(&mut self, class: Value, superclass: Value) {
        let nil = self.nil();
        self.class_info_mut(class).superclass = superclass;
        let meta = self.heap.get(class).class;
        let meta_super = if superclass == nil {
            self.special(Special::ClassClass)
        } else {
            self.heap.get(superclass).class
        };
        if self.is_class(meta) {
            self.class_info_mut(meta).superclass = meta_super;
            self.sync_reflection(meta);
        }
        self.sync_reflection(class);
        self.bump_epoch();
    }

    /// Recomputes `instance_fields` of `class` from its superclass and its own fields.
    pub fn relayout(&mut self, class: Value) {
        let nil = self.nil();
        let superclass = self.class_info(class).superclass;
        let mut fields = if superclass != nil && self.is_class(superclass) {
            self.class_info(superclass).instance_fields.clone()
        } else {
            Vec::new()
        };
        fields.extend(self.class_info(class).own_fields.iter().copied());
        self.class_info_mut(class).instance_fields = fields;
    }

    /// Gives a class or metaclass object as many fields as its class's layout says (new
    /// fields nil) and refreshes the reflective fields.
    pub fn fit_class_object(&mut self, class: Value) {
        let n = self.class_info(self.class_of(class)).instance_fields.len();
        let nil = self.nil();
        let obj = self.heap.get_mut(class);
        if obj.fields.len() != n {
            let mut values = obj.fields.to_vec();
            values.resize(n, nil);
            obj.fields = values.into_boxed_slice();
        }
        self.sync_reflection(class);
    }

    /// Mirrors the VM's view of `class` into the fields a library's `Class` may declare
    /// (SOM's declares `superClass name instanceFields instanceInvokables` and reads them).
    pub fn sync_reflection(&mut self, class: Value) {
        let meta = self.class_of(class);
        if !self.is_class(meta) {
            return;
        }
        let layout = self.class_info(meta).instance_fields.clone();
        for (i, f) in layout.iter().enumerate() {
            let value = match self.str_of(*f) {
                Some("superClass" | "superclass") => self.class_info(class).superclass,
                Some("name") => self.class_info(class).name,
                Some("instanceFields") => {
                    let items = self.class_info(class).instance_fields.clone();
                    self.new_array(items)
                }
                Some("instanceInvokables") => {
                    let items = self.class_info(class).methods.clone();
                    self.new_array(items)
                }
                _ => continue,
            };
            if let Some(slot) = self.heap.get_mut(class).fields.get_mut(i) {
                *slot = value;
            }
        }
    }

    /// Looks `selector` up in `class` and its superclasses.
    pub fn lookup(&self, mut class: Value, selector: Value) -> Option<Value> {
        let nil = self.nil();
        let mut guard = 0;
        while class != nil && self.is_class(class) {
            let info = self.class_info(class);
            if let Some(&i) = info.method_index.get(&selector) {
                return Some(info.methods[i]);
            }
            class = info.superclass;
            guard += 1;
            if guard > 10_000 {
                return None; // a cyclic hierarchy made by reflection: treat as not found
            }
        }
        None
    }

    /// Installs `method` in `class` under its selector, replacing a method of the same
    /// selector in place (keeping its position), and sets the method's holder.
    pub fn install_method(&mut self, class: Value, method: Value) {
        let m = self.method_of(method).expect("install_method takes a method").clone();
        m.holder.set(class);
        let info = self.class_info_mut(class);
        match info.method_index.get(&m.selector) {
            Some(&i) => info.methods[i] = method,
            None => {
                info.method_index.insert(m.selector, info.methods.len());
                info.methods.push(method);
            }
        }
        self.sync_reflection(class);
        self.bump_epoch();
    }

    /// Removes the method for `selector` from `class`; answers it if there was one.
    pub fn remove_method(&mut self, class: Value, selector: Value) -> Option<Value> {
        let info = self.class_info_mut(class);
        let i = info.method_index.remove(&selector)?;
        let removed = info.methods.remove(i);
        for v in info.method_index.values_mut() {
            if *v > i {
                *v -= 1;
            }
        }
        self.sync_reflection(class);
        self.bump_epoch();
        Some(removed)
    }

    /// True if `class` is `ancestor` or inherits from it.
    pub fn inherits_from(&self, mut class: Value, ancestor: Value) -> bool {
        let nil = self.nil();
        let mut guard = 0;
        while class != nil && self.is_class(class) && guard < 10_000 {
            if class == ancestor {
                return true;
            }
            class = self.class_info(class).superclass;
            guard += 1;
        }
        false
    }
}

fn empty_info(name: Value, nil: Value, kind: InstanceKind, is_meta: bool) -> ClassInfo {
    ClassInfo {
        name,
        superclass: nil,
        instance_fields: Vec::new(),
        own_fields: Vec::new(),
        methods: Vec::new(),
        method_index: WordMap::default(),
        kind,
        is_meta,
        this_class: nil,
    }
}
