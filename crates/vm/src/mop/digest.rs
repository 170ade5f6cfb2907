//! A fingerprint of what an update can change in a space: its classes (identity, name,
//! superclass, shape), their methods (identity of every installed method) and the special
//! objects. Two equal digests mean the same objects are wired together the same way, so
//! "after the rollback the application is identical to before" can be checked from outside.

use crate::object::InstanceKind;
use crate::space::Space;
use crate::value::Value;
use crate::Interp;
use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};

/// Counts and fingerprints of a space's classes, methods and special objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceDigest {
    /// Classes bound to globals (metaclasses not counted).
    pub classes: usize,
    /// Fingerprint of those classes and their metaclasses: identity, name, superclass, shape.
    pub classes_hash: u64,
    /// Methods installed in those classes and metaclasses.
    pub methods: usize,
    /// Fingerprint of every (class, selector, method identity).
    pub methods_hash: u64,
    /// Special objects.
    pub specials: usize,
    /// Fingerprint of the special objects' identities.
    pub specials_hash: u64,
    /// Per class, by name: (name, fingerprint of the class, its metaclass and their methods,
    /// number of methods).
    pub per_class: Vec<(String, u64, usize)>,
}

impl SpaceDigest {
    /// The summary line followed by one line per class (`class NAME #HASH N methods`).
    pub fn detailed(&self) -> String {
        let mut text = format!("{self}\n");
        for (name, hash, methods) in &self.per_class {
            text.push_str(&format!("class {name} #{hash:016x} {methods} methods\n"));
        }
        text
    }
}

impl fmt::Display for SpaceDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "classes {} #{:016x}, methods {} #{:016x}, special objects {} #{:016x}",
            self.classes, self.classes_hash, self.methods, self.methods_hash, self.specials, self.specials_hash
        )
    }
}

fn kind_code(kind: InstanceKind) -> u8 {
    kind as u8
}

/// Computes the digest of `app`'s space (classes reached through its globals).
pub fn space_digest(app: &Interp) -> SpaceDigest {
    let space = &app.space;
    let mut classes: Vec<(String, Value)> = space
        .globals
        .iter()
        .filter_map(|g| g.value.map(|v| (g.name, v)))
        .filter(|(_, v)| space.is_class(*v) && !space.class_info(*v).is_meta)
        .map(|(name, v)| (space.name_of(name), v))
        .collect();
    classes.sort();
    let mut class_hasher = DefaultHasher::new();
    let mut method_hasher = DefaultHasher::new();
    let mut methods = 0;
    let mut per_class = Vec::with_capacity(classes.len());
    for (name, class) in &classes {
        name.hash(&mut class_hasher);
        let mut own = DefaultHasher::new();
        let mut own_methods = 0;
        let meta = space.heap.get(*class).class;
        for c in [*class, meta] {
            hash_class(space, c, &mut class_hasher);
            hash_class(space, c, &mut own);
            let info = space.class_info(c);
            for &m in &info.methods {
                let selector = space.method_of(m).map(|method| method.selector.raw()).unwrap_or(0);
                for h in [&mut method_hasher, &mut own] {
                    c.raw().hash(h);
                    m.raw().hash(h);
                    selector.hash(h);
                }
                own_methods += 1;
            }
        }
        methods += own_methods;
        per_class.push((name.clone(), own.finish(), own_methods));
    }
    let mut special_hasher = DefaultHasher::new();
    for s in &space.specials {
        s.raw().hash(&mut special_hasher);
    }
    SpaceDigest {
        classes: classes.len(),
        classes_hash: class_hasher.finish(),
        methods,
        methods_hash: method_hasher.finish(),
        specials: space.specials.len(),
        specials_hash: special_hasher.finish(),
        per_class,
    }
}

fn hash_class(space: &Space, class: Value, h: &mut DefaultHasher) {
    let info = space.class_info(class);
    class.raw().hash(h);
    info.name.raw().hash(h);
    info.superclass.raw().hash(h);
    kind_code(info.kind).hash(h);
    for f in &info.instance_fields {
        f.raw().hash(h);
    }
}
