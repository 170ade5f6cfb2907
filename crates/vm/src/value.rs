//! `Value`: one machine word, either an immediate SmallInteger or a reference to a heap object.

use std::fmt;

/// The smallest integer stored immediately (63-bit two's complement).
pub const SMALL_MIN: i64 = -(1 << 62);
/// The largest integer stored immediately.
pub const SMALL_MAX: i64 = (1 << 62) - 1;

/// A tagged word. Bit 0 set: SmallInteger in the upper 63 bits. Bit 0 clear: the index of an
/// object in its space's object table, shifted left by one.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(u64);

impl Value {
    /// A SmallInteger; the caller guarantees `SMALL_MIN <= i <= SMALL_MAX`.
    #[inline(always)]
    pub fn small(i: i64) -> Value {
        debug_assert!((SMALL_MIN..=SMALL_MAX).contains(&i));
        Value(((i as u64) << 1) | 1)
    }

    /// A SmallInteger usable in constants.
    pub const fn small_const(i: i64) -> Value {
        Value(((i as u64) << 1) | 1)
    }

    /// A SmallInteger if `i` fits, else `None`.
    #[inline(always)]
    pub fn try_small(i: i64) -> Option<Value> {
        if (SMALL_MIN..=SMALL_MAX).contains(&i) {
            Some(Value::small(i))
        } else {
            None
        }
    }

    /// A reference to object table slot `index`.
    #[inline(always)]
    pub fn object(index: u32) -> Value {
        Value((index as u64) << 1)
    }

    /// True for SmallIntegers.
    #[inline(always)]
    pub fn is_small(self) -> bool {
        self.0 & 1 == 1
    }

    /// The SmallInteger's value, if it is one.
    #[inline(always)]
    pub fn as_small(self) -> Option<i64> {
        if self.is_small() {
            Some((self.0 as i64) >> 1)
        } else {
            None
        }
    }

    /// The SmallInteger's value without checking the tag.
    #[inline(always)]
    pub fn small_unchecked(self) -> i64 {
        (self.0 as i64) >> 1
    }

    /// The object table index, if this is a reference.
    #[inline(always)]
    pub fn as_object(self) -> Option<u32> {
        if self.is_small() {
            None
        } else {
            Some((self.0 >> 1) as u32)
        }
    }

    /// The object table index without checking the tag.
    #[inline(always)]
    pub fn index(self) -> usize {
        (self.0 >> 1) as usize
    }

    /// The raw word (for hashing and identity).
    #[inline(always)]
    pub fn raw(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_small() {
            Some(i) => write!(f, "{i}"),
            None => write!(f, "@{}", self.index()),
        }
    }
}

/// A fast hasher for `Value` keys (identity hashing of a word).
#[derive(Default, Clone, Copy)]
pub struct WordHasher(u64);

impl std::hash::Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// `HashMap` keyed by words, with `WordHasher`.
pub type WordMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<WordHasher>>;
