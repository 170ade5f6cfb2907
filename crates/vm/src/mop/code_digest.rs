//! The code digest: a fingerprint of what updates changed in a space's code, stable across
//! processes (ADR 0017). Unlike `space_digest`, which hashes object identities (same
//! objects wired the same way, within one process), it hashes contents — names, shapes,
//! method selectors and source texts — with a fixed hash function (FNV-1a), and it covers
//! only the classes whose content differs from the form they had when their class file
//! was loaded (`Loader::pristine`), plus classes no file defined. Two processes running
//! the same program with the same updates applied therefore have the same code digest,
//! however many classes each happens to have loaded so far.

use crate::space::Space;
use crate::value::Value;
use crate::Interp;

/// A 64-bit FNV-1a hasher: fixed, simple and the same in every build and on every machine.
#[derive(Clone, Copy, Debug)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// Adds `bytes`.
    pub fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Adds a string with its length (so that ("ab","c") and ("a","bc") differ).
    pub fn text(&mut self, s: &str) {
        self.bytes(&(s.len() as u64).to_le_bytes());
        self.bytes(s.as_bytes());
    }

    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// FNV-1a of `bytes`.
pub fn fnv(bytes: &[u8]) -> u64 {
    let mut h = Fnv::default();
    h.bytes(bytes);
    h.finish()
}

/// The code digest of a space: the combined hash and the classes it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeDigest {
    /// Hash of every covered class's name and content, and of the special objects.
    pub hash: u64,
    /// The classes that differ from their class files (or that no file defined), by name.
    pub changed: Vec<String>,
}

impl std::fmt::Display for CodeDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{:016x}", self.hash)
    }
}

fn class_name(space: &Space, class: Value) -> String {
    if !space.is_class(class) {
        return "nil".into();
    }
    let info = space.class_info(class);
    if info.is_meta {
        // A metaclass is named after its instance.
        format!("{} class", space.name_of(info.name))
    } else {
        space.name_of(info.name)
    }
}

/// The content fingerprint of `class` and its metaclass: names, superclass names, instance
/// kinds, field names and every method's selector, source text and kind.
pub fn class_fingerprint(app: &Interp, class: Value) -> u64 {
    let space = &app.space;
    let mut h = Fnv::default();
    let meta = space.class_of(class);
    for c in [class, meta] {
        let info = space.class_info(c);
        h.text(&space.name_of(info.name));
        h.text(&class_name(space, info.superclass));
        h.bytes(&[info.kind as u8]);
        for &f in &info.instance_fields {
            h.text(&space.name_of(f));
        }
        let mut methods: Vec<(String, &str, bool)> = info
            .methods
            .iter()
            .filter_map(|&m| space.method_of(m))
            .map(|m| (space.name_of(m.selector), &*m.source, m.primitive.is_some()))
            .collect();
        methods.sort();
        h.bytes(&(methods.len() as u64).to_le_bytes());
        for (selector, source, primitive) in methods {
            h.text(&selector);
            h.text(source);
            h.bytes(&[primitive as u8]);
        }
    }
    h.finish()
}

/// Computes the code digest of `app`'s space.
pub fn code_digest(app: &Interp) -> CodeDigest {
    let space = &app.space;
    let mut classes: Vec<(String, Value)> = space
        .globals
        .iter()
        .filter_map(|g| g.value.map(|v| (g.name, v)))
        .filter(|(_, v)| space.is_class(*v) && !space.class_info(*v).is_meta && !app.is_unloaded_shell(*v))
        .map(|(name, v)| (space.name_of(name), v))
        .collect();
    classes.sort();
    let mut h = Fnv::default();
    let mut changed = Vec::new();
    for (name, class) in &classes {
        let print = class_fingerprint(app, *class);
        let own = space.name_of(space.class_info(*class).name);
        if app.loader.pristine.get(&own) == Some(&print) && own == *name {
            continue;
        }
        h.text(name);
        h.bytes(&print.to_le_bytes());
        changed.push(name.clone());
    }
    for &s in &space.specials {
        if space.is_class(s) {
            h.text(&class_name(space, s));
        } else {
            h.text(&format!("a {}", class_name(space, space.class_of(s))));
        }
    }
    CodeDigest {
        hash: h.finish(),
        changed,
    }
}
