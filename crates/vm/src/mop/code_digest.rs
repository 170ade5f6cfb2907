//! The code digest: a fingerprint of what updates changed in a space's code, stable across
//! processes (ADR 0017). Unlike `space_digest`, which hashes object identities (same
//! objects wired the same way, within one process), it hashes contents — names, shapes,
//! method selectors and source texts — with a fixed hash function, and it covers
//! only the classes whose content differs from the form they had when their class file
//! was loaded (`Loader::pristine`), plus classes no file defined. Two processes running
//! the same program with the same updates applied therefore have the same code digest,
//! however many classes each happens to have loaded so far.

use crate::space::Space;
use crate::value::Value;
use crate::Interp;

/// A fixed 64-bit hasher, the same in every build and on every machine: FNV-1a's offset
/// and prime, fed eight bytes at a time (little-endian words, then the tail bytes) with a
/// rotation so that every input bit reaches the high bits. Not for adversarial input.
#[derive(Clone, Copy, Debug)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w).wrapping_mul(0x0100_0000_01b3).rotate_left(29);
    }

    /// Adds `bytes`.
    pub fn bytes(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes(c.try_into().expect("chunks of eight")));
        }
        for &b in chunks.remainder() {
            self.word(u64::from(b));
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

/// The fixed hash of `bytes`.
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
        // The methods in any order: each hashed alone, the hashes summed.
        let mut sum = 0u64;
        for m in info.methods.iter().filter_map(|&m| space.method_of(m)) {
            let mut one = Fnv::default();
            one.text(space.str_of(m.selector).unwrap_or("?"));
            one.text(&m.source);
            one.bytes(&[m.primitive.is_some() as u8]);
            sum = sum.wrapping_add(one.finish());
        }
        h.bytes(&(info.methods.len() as u64).to_le_bytes());
        h.bytes(&sum.to_le_bytes());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Loader;

    fn interp(dir: &std::path::Path) -> Interp {
        Interp::new(Loader::new(vec![dir.to_path_buf()], None)).unwrap()
    }

    #[test]
    fn the_same_code_has_the_same_digest_whatever_was_loaded() {
        let dir = std::env::temp_dir().join(format!("espell-code-digest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Alpha.som"), "Alpha = ( x = ( ^ 1 ) )").unwrap();
        std::fs::write(dir.join("Beta.som"), "Beta = Alpha ( y = ( ^ 2 ) )").unwrap();
        let mut one = interp(&dir);
        one.load_class("Beta").unwrap();
        one.eval("3 printString. #(1 2) reverse", "t").unwrap();
        let two = interp(&dir);
        let (d1, d2) = (code_digest(&one), code_digest(&two));
        assert_eq!(d1, d2, "loading classes is not a change");
        assert!(d1.changed.is_empty());
        // A change made the same way in two processes gives the same digest, in both.
        let mut two = two;
        for i in [&mut one, &mut two] {
            i.eval("Alpha compile: 'z  ^ 3'", "t").unwrap();
        }
        let (c1, c2) = (code_digest(&one), code_digest(&two));
        assert_eq!(c1, c2);
        assert_ne!(c1, d1);
        assert_eq!(c1.changed, vec!["Alpha".to_string()]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
