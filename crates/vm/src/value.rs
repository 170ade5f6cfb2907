//! `Value`: one machine word: an immediate SmallInteger, an immediate Double, or a reference
//! to a heap object.

use std::fmt;

/// The smallest integer stored immediately (63-bit two's complement).
pub const SMALL_MIN: i64 = -(1 << 62);
/// The largest integer stored immediately.
pub const SMALL_MAX: i64 = (1 << 62) - 1;

/// Low two bits of an immediate Double.
const DOUBLE_TAG: u64 = 0b10;

/// Smallest biased binary64 exponent stored immediately is `DOUBLE_EXP_BIAS + 1`; the
/// largest is `DOUBLE_EXP_BIAS + 511` (magnitudes from 2^-254 up to 2^257).
const DOUBLE_EXP_BIAS: u64 = 768;

/// A tagged word (low two bits):
///
/// * `x1`: SmallInteger in the upper 63 bits;
/// * `10`: immediate Double (SmallFloat64-style): the binary64 bits rotated left by one
///   (sign in bit 0), the exponent rebased by `DOUBLE_EXP_BIAS` so that it fits nine bits,
///   shifted left by two. ±0.0 keep exponent 0. Doubles outside that exponent range
///   (and infinities and NaNs) are boxed heap objects;
/// * `00`: the index of an object in its space's object table, shifted left by two.
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
        Value((index as u64) << 2)
    }

    /// An immediate Double if `d` has one (its exponent is in range, or it is ±0.0), else
    /// `None` (the caller boxes it).
    #[inline(always)]
    pub fn try_double(d: f64) -> Option<Value> {
        let r = d.to_bits().rotate_left(1);
        if (r >> 53).wrapping_sub(DOUBLE_EXP_BIAS + 1) < 511 {
            Some(Value(((r - (DOUBLE_EXP_BIAS << 53)) << 2) | DOUBLE_TAG))
        } else if r <= 1 {
            Some(Value((r << 2) | DOUBLE_TAG))
        } else {
            None
        }
    }

    /// True for immediate Doubles.
    #[inline(always)]
    pub fn is_double(self) -> bool {
        self.0 & 3 == DOUBLE_TAG
    }

    /// The immediate Double's value, if it is one.
    #[inline(always)]
    pub fn as_double(self) -> Option<f64> {
        if self.is_double() {
            Some(self.double_unchecked())
        } else {
            None
        }
    }

    /// The immediate Double's value without checking the tag.
    #[inline(always)]
    pub fn double_unchecked(self) -> f64 {
        let x = self.0 >> 2;
        let r = if x <= 1 { x } else { x + (DOUBLE_EXP_BIAS << 53) };
        f64::from_bits(r.rotate_right(1))
    }

    /// True for immediates (SmallIntegers and Doubles): values that are not heap references.
    #[inline(always)]
    pub fn is_immediate(self) -> bool {
        self.0 & 3 != 0
    }

    /// True for references to heap objects.
    #[inline(always)]
    pub fn is_object(self) -> bool {
        self.0 & 3 == 0
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
        if self.is_object() {
            Some((self.0 >> 2) as u32)
        } else {
            None
        }
    }

    /// The object table index without checking the tag.
    #[inline(always)]
    pub fn index(self) -> usize {
        debug_assert!(self.is_object(), "index() of an immediate");
        (self.0 >> 2) as usize
    }

    /// The raw word (for hashing and identity).
    #[inline(always)]
    pub fn raw(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(i) = self.as_small() {
            write!(f, "{i}")
        } else if let Some(d) = self.as_double() {
            write!(f, "{d:?}")
        } else {
            write!(f, "@{}", self.index())
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

#[cfg(test)]
mod tests {
    use super::Value;

    #[test]
    fn immediate_doubles_round_trip() {
        for d in [
            0.0,
            -0.0,
            1.0,
            -1.5,
            0.1,
            std::f64::consts::PI,
            1e-70,
            -1e70,
            f64::EPSILON,
            2f64.powi(-254),
            2f64.powi(256) * 1.999,
        ] {
            let v = Value::try_double(d).expect("in range");
            assert!(v.is_double() && v.is_immediate() && !v.is_small() && !v.is_object());
            assert_eq!(v.as_double().unwrap().to_bits(), d.to_bits());
        }
    }

    #[test]
    fn out_of_range_doubles_are_boxed() {
        for d in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            1e-300,
            f64::MIN_POSITIVE,
            2f64.powi(257),
        ] {
            assert!(Value::try_double(d).is_none(), "{d}");
        }
        assert!(Value::try_double(2f64.powi(-255)).is_none());
    }

    #[test]
    fn tags_do_not_overlap() {
        let o = Value::object(12345);
        assert!(o.is_object() && !o.is_immediate() && o.as_double().is_none() && o.as_small().is_none());
        assert_eq!(o.as_object(), Some(12345));
        let i = Value::small(-7);
        assert!(i.is_small() && i.is_immediate() && !i.is_double() && i.as_object().is_none());
    }
}
