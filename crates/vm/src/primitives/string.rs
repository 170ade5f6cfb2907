//! String and Symbol primitives. Strings are immutable; indices are 1-based and count
//! characters.

use super::{describe, ret_bool, ret_string, small_arg};
use crate::error::{prim_fail, VmError};
use crate::interpreter::{Interp, PrimFn};
use crate::object::Text;
use crate::value::Value;

/// The text of a String or Symbol operand, read in place (no copy).
fn text_ref(interp: &Interp, v: Value) -> Result<&Text, VmError> {
    match interp.space.text_of(v) {
        Some(t) => Ok(t),
        None => prim_fail(format!("expected a String or Symbol, got {}", describe(interp, v))),
    }
}

/// The text of a String or Symbol operand, copied (for primitives that allocate while
/// they use it).
fn text(interp: &Interp, v: Value) -> Result<String, VmError> {
    text_ref(interp, v).map(|t| t.as_str().to_string())
}

/// The content hash used for Strings and Symbols: FNV-1a, then a 64-bit finalizer (xor-shift
/// and multiply, as in MurmurHash3's fmix64) so that every bit depends on every byte; a
/// positive 30-bit SmallInteger. (Without the finalizer the bits kept hardly depended on the
/// last byte: 'str1' ... 'str50' fell into 12 of 256 buckets of a power-of-two table.)
pub fn string_hash(s: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h >> 34) as i64
}

fn concatenate(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    // One allocation: both texts are read in place and copied once into the result.
    let joined = Text::concat(
        text_ref(interp, interp.receiver(argc))?,
        text_ref(interp, interp.arg(argc, 0))?,
    );
    let v = interp.space.new_string_text(joined);
    interp.prim_return(argc, v)
}

fn as_symbol(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = text(interp, interp.receiver(argc))?;
    let v = interp.space.symbol(&a);
    interp.prim_return(argc, v)
}

fn as_string(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = text(interp, interp.receiver(argc))?;
    ret_string(interp, argc, &a)
}

fn hashcode(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let h = string_hash(text_ref(interp, interp.receiver(argc))?);
    interp.prim_return(argc, Value::small(h))
}

fn length(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let n = interp
        .space
        .text_of(interp.receiver(argc))
        .map(|s| s.char_count())
        .unwrap_or(0);
    interp.prim_return(argc, Value::small(n as i64))
}

fn all_chars(interp: &mut Interp, argc: usize, test: fn(char) -> bool) -> Result<(), VmError> {
    let a = text(interp, interp.receiver(argc))?;
    ret_bool(interp, argc, !a.is_empty() && a.chars().all(test))
}

fn is_white_space(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    all_chars(interp, argc, char::is_whitespace)
}

fn is_letters(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    all_chars(interp, argc, char::is_alphabetic)
}

fn is_digits(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    all_chars(interp, argc, |c| c.is_ascii_digit())
}

fn equals(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = interp.space.str_of(interp.receiver(argc));
    let b = interp.space.str_of(interp.arg(argc, 0));
    let r = matches!((a, b), (Some(x), Some(y)) if x == y);
    ret_bool(interp, argc, r)
}

fn substring(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let from = small_arg(interp, argc, 0, "start index")?;
    let to = small_arg(interp, argc, 1, "end index")?;
    let s = text_ref(interp, interp.receiver(argc))?;
    let len = s.char_count() as i64;
    if to < from {
        return ret_string(interp, argc, "");
    }
    if from < 1 || to > len {
        return prim_fail(format!("substring bounds {from} to {to} outside 1 to {len}"));
    }
    let (from, to) = (from as usize - 1, to as usize);
    let v = if s.is_ascii() {
        // The slice borrows the receiver's text: copy it out (once) before allocating.
        let sub = Text::from_ascii(&s.as_str()[from..to]);
        interp.space.new_string_text(sub)
    } else {
        let sub: String = s.chars().skip(from).take(to - from).collect();
        interp.space.new_string(&sub)
    };
    interp.prim_return(argc, v)
}

fn as_uppercase(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let s = text(interp, interp.receiver(argc))?;
    ret_string(interp, argc, &s.to_uppercase())
}

fn as_lowercase(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let s = text(interp, interp.receiver(argc))?;
    ret_string(interp, argc, &s.to_lowercase())
}

fn index_of(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let s = text(interp, interp.receiver(argc))?;
    let sub = text(interp, interp.arg(argc, 0))?;
    let i = match s.find(&sub) {
        Some(byte) => s[..byte].chars().count() as i64 + 1,
        None => -1,
    };
    interp.prim_return(argc, Value::small(i))
}

/// `primIndexOf:startingAt:`: the first index at or after `start` where the argument
/// occurs, or -1; searches in place (no copy of the receiver).
fn index_of_starting_at(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let Some(start) = interp.arg(argc, 1).as_small() else {
        return prim_fail("indexOf:startingAt: needs an Integer start");
    };
    let (Some(t), Some(sub)) = (
        interp.space.text_of(interp.receiver(argc)),
        interp.space.str_of(interp.arg(argc, 0)),
    ) else {
        return prim_fail("indexOf:startingAt: needs a String receiver and argument");
    };
    let s = t.as_str();
    let skip = (start.max(1) - 1) as usize;
    let from = if t.is_ascii() {
        Some(skip).filter(|&b| b <= s.len())
    } else {
        s.char_indices()
            .map(|(b, _)| b)
            .chain(std::iter::once(s.len()))
            .nth(skip)
    };
    let i = match from.and_then(|from| s[from..].find(sub).map(|b| from + b)) {
        Some(byte) if t.is_ascii() => byte as i64 + 1,
        Some(byte) => s[..byte].chars().count() as i64 + 1,
        None => -1,
    };
    interp.prim_return(argc, Value::small(i))
}

fn byte_size(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let n = interp.space.str_of(interp.receiver(argc)).map(str::len).unwrap_or(0);
    interp.prim_return(argc, Value::small(n as i64))
}

fn concatenate_all(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let items = match interp.space.array_of(interp.arg(argc, 0)) {
        Some(items) => items.clone(),
        None => return prim_fail("concatenateAll: takes an Array of Strings"),
    };
    let mut out = String::new();
    for v in items {
        out.push_str(&text(interp, v)?);
    }
    ret_string(interp, argc, &out)
}

/// `fromCodePoint:`: the one-character String of a Unicode scalar value, or nil for a
/// surrogate, a negative number or one past U+10FFFF.
fn from_code_point(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let c = interp
        .arg(argc, 0)
        .as_small()
        .and_then(|n| u32::try_from(n).ok())
        .and_then(char::from_u32);
    match c {
        Some(c) => ret_string(interp, argc, c.encode_utf8(&mut [0u8; 4])),
        None => {
            let nil = interp.nil();
            interp.prim_return(argc, nil)
        }
    }
}

/// `utf8Decoded`: the receiver's characters taken as bytes (each must be U+0000 to
/// U+00FF, as `Socket>>readBytes:` answers them) and decoded as UTF-8; nil when they are
/// not valid UTF-8 (or a character is not a byte).
fn utf8_decoded(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let s = text(interp, interp.receiver(argc))?;
    if s.is_ascii() {
        return ret_string(interp, argc, &s);
    }
    let bytes: Option<Vec<u8>> = s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
    match bytes.and_then(|b| String::from_utf8(b).ok()) {
        Some(decoded) => ret_string(interp, argc, &decoded),
        None => {
            let nil = interp.nil();
            interp.prim_return(argc, nil)
        }
    }
}

/// String's instance-side primitives.
pub fn lookup(selector: &str) -> Option<PrimFn> {
    Some(match selector {
        "concatenate:" => concatenate,
        "asSymbol" => as_symbol,
        "hashcode" => hashcode,
        "length" => length,
        "isWhiteSpace" => is_white_space,
        "isLetters" => is_letters,
        "isDigits" => is_digits,
        "=" => equals,
        "primSubstringFrom:to:" => substring,
        "asUppercase" => as_uppercase,
        "asLowercase" => as_lowercase,
        "indexOf:" => index_of, // SOM answers -1 when absent
        "primIndexOf:startingAt:" => index_of_starting_at,
        "byteSize" => byte_size,
        "utf8Decoded" => utf8_decoded,
        "asString" => as_string,
        _ => return None,
    })
}

/// String's class-side primitives.
pub fn lookup_class_side(selector: &str) -> Option<PrimFn> {
    match selector {
        "concatenateAll:" => Some(concatenate_all),
        "fromCodePoint:" => Some(from_code_point),
        _ => None,
    }
}

/// Symbol's primitives.
pub fn lookup_symbol(selector: &str) -> Option<PrimFn> {
    match selector {
        "asString" => Some(as_string),
        _ => lookup(selector),
    }
}

#[cfg(test)]
mod tests {
    use super::string_hash;

    #[test]
    fn similar_strings_spread_over_a_power_of_two_table() {
        // 100 keys differing in their last characters, in 256 buckets: a uniform hash
        // fills about 83; the old hash filled 12.
        let buckets: std::collections::HashSet<i64> = (1..=50)
            .flat_map(|i| [format!("sym{i}"), format!("str{i}")])
            .map(|k| string_hash(&k) % 256)
            .collect();
        assert!(buckets.len() >= 65, "{} buckets", buckets.len());
        assert!(string_hash("abc") >= 0 && string_hash("abc") < 1 << 30);
        assert_eq!(string_hash("abc"), string_hash("abc"));
    }
}
