//! Integer primitives: arbitrary precision, SmallInteger fast paths, Double coercion.

use super::{describe, ret_bool, ret_string, small_arg};
use crate::error::{prim_fail, VmError};
use crate::interpreter::{Interp, PrimFn};
use crate::object::Body;
use crate::value::Value;
use num_bigint::BigInt;
use num_integer::Integer as _;
use num_traits::{FromPrimitive, Signed, ToPrimitive, Zero};
use std::cmp::Ordering;

/// A number read from a receiver or argument.
pub(crate) enum Num {
    /// An Integer (small or large).
    Int(BigInt),
    /// A Double.
    Dbl(f64),
}

impl Num {
    pub(crate) fn to_f64(&self) -> f64 {
        match self {
            Num::Int(i) => i.to_f64().unwrap_or(f64::NAN),
            Num::Dbl(d) => *d,
        }
    }
}

/// Reads `v` as a number.
pub(crate) fn num_of(interp: &Interp, v: Value) -> Option<Num> {
    if let Some(i) = v.as_small() {
        return Some(Num::Int(BigInt::from(i)));
    }
    if let Some(d) = v.as_double() {
        return Some(Num::Dbl(d));
    }
    match &interp.space.heap.get(v).body {
        Body::BigInt(b) => Some(Num::Int((**b).clone())),
        Body::Double(d) => Some(Num::Dbl(*d)),
        _ => None,
    }
}

fn int_of(interp: &Interp, v: Value) -> Option<BigInt> {
    match num_of(interp, v)? {
        Num::Int(i) => Some(i),
        Num::Dbl(_) => None,
    }
}

fn operands(interp: &Interp, argc: usize) -> Result<(BigInt, Num), VmError> {
    let a = int_of(interp, interp.receiver(argc))
        .ok_or_else(|| VmError::PrimitiveFailed("receiver must be an Integer".into()))?;
    match num_of(interp, interp.arg(argc, 0)) {
        Some(b) => Ok((a, b)),
        None => prim_fail(format!(
            "argument must be a number, not {}",
            describe(interp, interp.arg(argc, 0))
        )),
    }
}

fn ret_int(interp: &mut Interp, argc: usize, i: BigInt) -> Result<(), VmError> {
    let v = interp.space.new_bigint(i);
    interp.prim_return(argc, v)
}

fn ret_double(interp: &mut Interp, argc: usize, d: f64) -> Result<(), VmError> {
    let v = interp.space.new_double(d);
    interp.prim_return(argc, v)
}

/// Both operands as SmallIntegers, if they are.
#[inline(always)]
fn small_pair(interp: &Interp, argc: usize) -> Option<(i64, i64)> {
    Some((interp.receiver(argc).as_small()?, interp.arg(argc, 0).as_small()?))
}

macro_rules! arith {
    ($name:ident, $checked:ident, |$a:ident, $b:ident| $int:expr, |$x:ident, $y:ident| $dbl:expr) => {
        fn $name(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
            if let Some((p, q)) = small_pair(interp, argc) {
                if let Some(r) = p.$checked(q) {
                    let v = interp.space.new_int(r);
                    return interp.prim_return(argc, v);
                }
            }
            match operands(interp, argc)? {
                ($a, Num::Int($b)) => ret_int(interp, argc, $int),
                (a, Num::Dbl($y)) => {
                    let $x = a.to_f64().unwrap_or(f64::NAN);
                    ret_double(interp, argc, $dbl)
                }
            }
        }
    };
}

arith!(add, checked_add, |a, b| a + b, |x, y| x + y);
arith!(sub, checked_sub, |a, b| a - b, |x, y| x - y);
arith!(mul, checked_mul, |a, b| a * b, |x, y| x * y);

fn div(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    if let Some(r) = small_pair(interp, argc).and_then(|(p, q)| p.checked_div(q)) {
        let v = interp.space.new_int(r);
        return interp.prim_return(argc, v);
    }
    match operands(interp, argc)? {
        (_, Num::Int(b)) if b.is_zero() => prim_fail("Division by zero."),
        (a, Num::Int(b)) => ret_int(interp, argc, a / b),
        (a, Num::Dbl(y)) => {
            let q = a.to_f64().unwrap_or(f64::NAN) / y;
            match num_traits::FromPrimitive::from_f64(q.trunc()) {
                Some(i) if q.is_finite() => ret_int(interp, argc, i),
                _ if y == 0.0 => prim_fail("Division by zero."),
                _ => prim_fail(format!("the quotient {q} is not a finite number")),
            }
        }
    }
}

/// True when `n` is the Integer 0. A Double divisor never is: a quotient or remainder with
/// a Double operand is IEEE, whatever the divisor (ADR 0024).
fn is_zero_divisor(n: &Num) -> bool {
    match n {
        Num::Int(i) => i.is_zero(),
        Num::Dbl(_) => false,
    }
}

/// `//`: SOM's Double division. The Integer 0 signals ZeroDivide, as `/` does; a Double zero
/// answers an IEEE Infinity or NaN, as every Double quotient does.
fn double_div(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (a, b) = operands(interp, argc)?;
    if is_zero_divisor(&b) {
        return prim_fail("Division by zero.");
    }
    ret_double(interp, argc, a.to_f64().unwrap_or(f64::NAN) / b.to_f64())
}

fn modulo(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    if let Some(r) = small_pair(interp, argc)
        .and_then(|(p, q)| p.checked_rem_euclid(q).map(|r| if q < 0 && r != 0 { r + q } else { r }))
    {
        let v = interp.space.new_int(r);
        return interp.prim_return(argc, v);
    }
    match operands(interp, argc)? {
        (_, b) if is_zero_divisor(&b) => prim_fail("Division by zero."),
        (a, Num::Int(b)) => ret_int(interp, argc, a.mod_floor(&b)),
        (a, Num::Dbl(y)) => {
            // Floored (the divisor's sign), from the exact remainder: x - y * floor(x / y)
            // loses every digit when x is large.
            let x = a.to_f64().unwrap_or(f64::NAN);
            let r = x % y;
            let r = if r != 0.0 && (r < 0.0) != (y < 0.0) { r + y } else { r };
            ret_double(interp, argc, r)
        }
    }
}

fn rem(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    if let Some(r) = small_pair(interp, argc).and_then(|(p, q)| p.checked_rem(q)) {
        let v = interp.space.new_int(r);
        return interp.prim_return(argc, v);
    }
    match operands(interp, argc)? {
        // SOM's sentence for `rem:` (still a ZeroDivide: it starts "Division by zero").
        (_, b) if is_zero_divisor(&b) => prim_fail("Division by zero or overflow."),
        (a, Num::Int(b)) => ret_int(interp, argc, a % b),
        (a, Num::Dbl(y)) => ret_double(interp, argc, a.to_f64().unwrap_or(f64::NAN) % y),
    }
}

fn int_operands(interp: &Interp, argc: usize) -> Result<(BigInt, BigInt), VmError> {
    match operands(interp, argc)? {
        (a, Num::Int(b)) => Ok((a, b)),
        _ => prim_fail("argument must be an Integer"),
    }
}

fn bit_and(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    if let Some((p, q)) = small_pair(interp, argc) {
        return interp.prim_return(argc, Value::small(p & q));
    }
    let (a, b) = int_operands(interp, argc)?;
    ret_int(interp, argc, a & b)
}

fn bit_or(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    if let Some((p, q)) = small_pair(interp, argc) {
        return interp.prim_return(argc, Value::small(p | q));
    }
    let (a, b) = int_operands(interp, argc)?;
    ret_int(interp, argc, a | b)
}

fn bit_xor(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    if let Some((p, q)) = small_pair(interp, argc) {
        return interp.prim_return(argc, Value::small(p ^ q));
    }
    let (a, b) = int_operands(interp, argc)?;
    ret_int(interp, argc, a ^ b)
}

/// Shifts beyond this many bits would need absurd memory.
const MAX_SHIFT: i64 = 1 << 24;

fn shift_left(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (a, b) = int_operands(interp, argc)?;
    if b.is_negative() {
        return prim_fail("Negative shift."); // `bitShift:` shifts either way
    }
    let n = b.to_i64().unwrap_or(i64::MAX);
    if n > MAX_SHIFT {
        return prim_fail("Shift too big.");
    }
    ret_int(interp, argc, a << (n as usize))
}

fn shift_right(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (a, b) = int_operands(interp, argc)?;
    if b.is_negative() {
        return prim_fail("Negative shift."); // `bitShift:` shifts either way
    }
    // A shift amount beyond 64 bits is SOM's `Shift too big.`; any other large one moves
    // every bit out (0, or -1 for a negative receiver).
    let Some(n) = b.to_i64() else {
        return prim_fail("Shift too big.");
    };
    ret_int(interp, argc, a >> (n.min(MAX_SHIFT) as usize))
}

fn logical_shift_right(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let (a, b) = int_operands(interp, argc)?;
    if b.is_negative() {
        return prim_fail("Negative shift.");
    }
    let Some(n) = b.to_i64() else {
        return prim_fail("Shift too big."); // as `>>`
    };
    if n == 0 {
        return ret_int(interp, argc, a); // no bit moves: the receiver itself
    }
    match a.to_i64() {
        Some(x) => {
            let r = if n >= 64 { 0 } else { (x as u64) >> n };
            ret_int(interp, argc, BigInt::from(r))
        }
        None => ret_int(interp, argc, a >> (n.min(MAX_SHIFT) as usize)),
    }
}

fn sqrt(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = int_of(interp, interp.receiver(argc)).unwrap_or_default();
    if a.is_negative() {
        // No real root: an error (SOM's sentence), not the NaN that Double>>sqrt answers.
        return prim_fail("Domain error.");
    }
    // SOM: an Integer when the root is integral: exactly for a perfect square, else when
    // the Double root is integral (every Double beyond 2^53 is), else a Double.
    let r = a.sqrt();
    if &r * &r == a {
        return ret_int(interp, argc, r);
    }
    let d = a.to_f64().unwrap_or(f64::INFINITY).sqrt();
    match BigInt::from_f64(d) {
        Some(i) if d.fract() == 0.0 => ret_int(interp, argc, i),
        _ => ret_double(interp, argc, d),
    }
}

fn at_random(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let n = int_of(interp, interp.receiver(argc)).unwrap_or_default();
    // xorshift64*: deterministic per run, good enough for atRandom.
    let mut x = interp.random_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    interp.random_state = x;
    let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 1;
    if n.is_zero() || n.is_negative() {
        return ret_int(interp, argc, BigInt::zero());
    }
    ret_int(interp, argc, BigInt::from(r) % n)
}

fn compare(interp: &Interp, argc: usize) -> Result<Option<Ordering>, VmError> {
    if let Some((p, q)) = small_pair(interp, argc) {
        return Ok(Some(p.cmp(&q)));
    }
    let (a, b) = operands(interp, argc)?;
    Ok(match b {
        Num::Int(b) => Some(a.cmp(&b)),
        Num::Dbl(y) => a.to_f64().unwrap_or(f64::NAN).partial_cmp(&y),
    })
}

macro_rules! comparison {
    ($name:ident, $pat:pat) => {
        fn $name(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
            let o = compare(interp, argc)?;
            ret_bool(interp, argc, matches!(o, $pat))
        }
    };
}

comparison!(lt, Some(Ordering::Less));
comparison!(gt, Some(Ordering::Greater));
comparison!(le, Some(Ordering::Less | Ordering::Equal));
comparison!(ge, Some(Ordering::Greater | Ordering::Equal));

fn eq(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    if let Some((p, q)) = small_pair(interp, argc) {
        return ret_bool(interp, argc, p == q);
    }
    if num_of(interp, interp.arg(argc, 0)).is_none() {
        return ret_bool(interp, argc, false);
    }
    let o = compare(interp, argc)?;
    ret_bool(interp, argc, o == Some(Ordering::Equal))
}

fn ne(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    if let Some((p, q)) = small_pair(interp, argc) {
        return ret_bool(interp, argc, p != q);
    }
    if num_of(interp, interp.arg(argc, 0)).is_none() {
        return ret_bool(interp, argc, true);
    }
    let o = compare(interp, argc)?;
    ret_bool(interp, argc, o != Some(Ordering::Equal))
}

fn max(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let o = compare(interp, argc)?;
    let v = if o == Some(Ordering::Less) {
        interp.arg(argc, 0)
    } else {
        interp.receiver(argc)
    };
    interp.prim_return(argc, v)
}

fn min(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let o = compare(interp, argc)?;
    let v = if o == Some(Ordering::Greater) {
        interp.arg(argc, 0)
    } else {
        interp.receiver(argc)
    };
    interp.prim_return(argc, v)
}

fn as_string(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = int_of(interp, interp.receiver(argc)).unwrap_or_default();
    ret_string(interp, argc, &a.to_string())
}

fn print_string_radix(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let radix = small_arg(interp, argc, 0, "radix")?;
    if !(2..=36).contains(&radix) {
        return prim_fail("radix must be between 2 and 36");
    }
    let a = int_of(interp, interp.receiver(argc)).unwrap_or_default();
    ret_string(interp, argc, &a.to_str_radix(radix as u32).to_uppercase())
}

fn as_32_signed(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = int_of(interp, interp.receiver(argc)).unwrap_or_default();
    let low = low_u64(&a) as u32 as i32;
    ret_int(interp, argc, BigInt::from(low))
}

fn as_32_unsigned(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = int_of(interp, interp.receiver(argc)).unwrap_or_default();
    let low = low_u64(&a) as u32;
    ret_int(interp, argc, BigInt::from(low))
}

/// The low 64 bits of a two's-complement integer.
fn low_u64(a: &BigInt) -> u64 {
    let m: BigInt = a & BigInt::from(u64::MAX);
    m.to_u64().unwrap_or(0)
}

fn as_double(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = int_of(interp, interp.receiver(argc)).unwrap_or_default();
    ret_double(interp, argc, a.to_f64().unwrap_or(f64::NAN))
}

/// The Integer `s` spells: an optional sign and decimal digits, surrounding white space
/// allowed (stricter than `BigInt`'s parser, which skips `_`).
fn parse_integer(s: &str) -> Option<BigInt> {
    let s = s.trim();
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `Integer fromString:` — the decimal Integer the String spells (see `parse_integer`);
/// anything else is an error naming the input.
fn from_string(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let arg = interp.arg(argc, 0);
    let parsed = interp.space.str_of(arg).and_then(parse_integer);
    match parsed {
        Some(i) => ret_int(interp, argc, i),
        None => prim_fail(format!("{} cannot be converted to an Integer.", describe(interp, arg))),
    }
}

/// Integer's instance-side primitives.
pub fn lookup(selector: &str) -> Option<PrimFn> {
    Some(match selector {
        "+" => add,
        "-" => sub,
        "*" => mul,
        "/" => div,
        "//" => double_div,
        "%" => modulo,
        "rem:" => rem,
        "&" | "bitAnd:" => bit_and,
        "bitOr:" => bit_or,
        "bitXor:" => bit_xor,
        "<<" => shift_left,
        ">>" => shift_right,
        ">>>" => logical_shift_right,
        "sqrt" => sqrt,
        "atRandom" => at_random,
        "=" => eq,
        "~=" => ne,
        "<" => lt,
        ">" => gt,
        "<=" => le,
        ">=" => ge,
        "max:" => max,
        "min:" => min,
        "asString" => as_string,
        "printString:" => print_string_radix,
        "as32BitSignedValue" => as_32_signed,
        "as32BitUnsignedValue" => as_32_unsigned,
        "asDouble" => as_double,
        _ => return None,
    })
}

/// Integer's class-side primitives.
pub fn lookup_class_side(selector: &str) -> Option<PrimFn> {
    match selector {
        "fromString:" => Some(from_string),
        _ => None,
    }
}
