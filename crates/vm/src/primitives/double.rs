//! Double primitives (IEEE 754 binary64).

use super::integer::{num_of, Num};
use super::{describe, ret_bool, ret_string};
use crate::error::{prim_fail, VmError};
use crate::interpreter::{Interp, PrimFn};
use num_bigint::BigInt;
use num_traits::FromPrimitive;

fn receiver(interp: &Interp, argc: usize) -> Result<f64, VmError> {
    interp
        .space
        .double_of(interp.receiver(argc))
        .ok_or_else(|| VmError::PrimitiveFailed("receiver must be a Double".into()))
}

fn operands(interp: &Interp, argc: usize) -> Result<(f64, f64), VmError> {
    let a = receiver(interp, argc)?;
    let b = interp.arg(argc, 0);
    if let Some(i) = b.as_small() {
        return Ok((a, i as f64));
    }
    if let Some(d) = interp.space.double_of(b) {
        return Ok((a, d));
    }
    match num_of(interp, b) {
        Some(n) => Ok((a, n.to_f64())),
        None => prim_fail(format!(
            "argument must be a number, not {}",
            describe(interp, interp.arg(argc, 0))
        )),
    }
}

fn ret_double(interp: &mut Interp, argc: usize, d: f64) -> Result<(), VmError> {
    let v = interp.space.new_double(d);
    interp.prim_return(argc, v)
}

macro_rules! binary {
    ($name:ident, |$a:ident, $b:ident| $e:expr) => {
        fn $name(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
            let ($a, $b) = operands(interp, argc)?;
            ret_double(interp, argc, $e)
        }
    };
}

binary!(add, |a, b| a + b);
binary!(sub, |a, b| a - b);
binary!(mul, |a, b| a * b);
/// `/` and `//`, `%`: IEEE quotients, as in SOM's reference implementation: a zero divisor
/// (0, 0.0 or -0.0) answers an Infinity or a NaN (ADR 0024; are-we-fast-yet's CD divides by
/// 0.0 and expects Infinity).
macro_rules! division {
    ($name:ident, |$a:ident, $b:ident| $e:expr) => {
        fn $name(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
            let ($a, $b) = operands(interp, argc)?;
            ret_double(interp, argc, $e)
        }
    };
}

division!(div, |a, b| a / b);
division!(modulo, |a, b| a % b);

macro_rules! unary {
    ($name:ident, |$a:ident| $e:expr) => {
        fn $name(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
            let $a = receiver(interp, argc)?;
            ret_double(interp, argc, $e)
        }
    };
}

unary!(sqrt, |a| a.sqrt());
unary!(cos, |a| a.cos());
unary!(sin, |a| a.sin());
unary!(tan, |a| a.tan());
unary!(arctan, |a| a.atan());
unary!(exp, |a| a.exp());
unary!(ln, |a| a.ln());

fn ret_integral(interp: &mut Interp, argc: usize, d: f64) -> Result<(), VmError> {
    match BigInt::from_f64(d) {
        Some(i) if d.is_finite() => {
            let v = interp.space.new_bigint(i);
            interp.prim_return(argc, v)
        }
        _ => prim_fail(format!("cannot convert {d} to an Integer")),
    }
}

fn round(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = receiver(interp, argc)?;
    ret_integral(interp, argc, (a + 0.5).floor())
}

fn as_integer(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = receiver(interp, argc)?;
    ret_integral(interp, argc, a.trunc())
}

fn floor(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = receiver(interp, argc)?;
    ret_integral(interp, argc, a.floor())
}

fn ceiling(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = receiver(interp, argc)?;
    ret_integral(interp, argc, a.ceil())
}

macro_rules! comparison {
    ($name:ident, |$a:ident, $b:ident| $e:expr) => {
        fn $name(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
            let ($a, $b) = operands(interp, argc)?;
            ret_bool(interp, argc, $e)
        }
    };
}

comparison!(lt, |a, b| a < b);
comparison!(gt, |a, b| a > b);
comparison!(le, |a, b| a <= b);
comparison!(ge, |a, b| a >= b);

fn eq(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = receiver(interp, argc)?;
    let b = interp.arg(argc, 0);
    let r = if let Some(i) = b.as_small() {
        a == i as f64
    } else if let Some(d) = interp.space.double_of(b) {
        a == d
    } else {
        match num_of(interp, b) {
            Some(Num::Dbl(b)) => a == b,
            Some(n @ Num::Int(_)) => a == n.to_f64(),
            None => false,
        }
    };
    ret_bool(interp, argc, r)
}

fn ne(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    eq(interp, argc)?;
    let t = interp.space.special(crate::space::Special::True);
    let was_equal = *interp.stack.last().expect("result") == t;
    let v = interp.space.boolean(!was_equal);
    *interp.stack.last_mut().expect("result") = v;
    Ok(())
}

/// Formats a Double the way SOM prints it: shortest round-trip digits, `.0` kept on
/// integral values, exponent form for very large or small magnitudes.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        "NaN".into()
    } else if d.is_infinite() {
        if d > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        format!("{d:?}")
    }
}

fn as_string(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let a = receiver(interp, argc)?;
    ret_string(interp, argc, &format_double(a))
}

fn positive_infinity(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    ret_double(interp, argc, f64::INFINITY)
}

/// `Double fromString:` — the number the String spells (decimal, optional fraction and
/// exponent, surrounding white space allowed); anything else is an error naming the input.
fn from_string(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let arg = interp.arg(argc, 0);
    match interp.space.str_of(arg).and_then(|s| s.trim().parse::<f64>().ok()) {
        Some(d) => ret_double(interp, argc, d),
        None => prim_fail(format!("{} cannot be converted to a Double.", describe(interp, arg))),
    }
}

/// Double's instance-side primitives.
pub fn lookup(selector: &str) -> Option<PrimFn> {
    Some(match selector {
        "+" => add,
        "-" => sub,
        "*" => mul,
        "//" | "/" => div,
        "%" => modulo,
        "sqrt" => sqrt,
        "round" => round,
        "asInteger" => as_integer,
        "floor" => floor,
        "ceiling" => ceiling,
        "cos" => cos,
        "sin" => sin,
        "tan" => tan,
        "arcTan" => arctan,
        "exp" => exp,
        "ln" => ln,
        "=" => eq,
        "~=" => ne,
        "<" => lt,
        ">" => gt,
        "<=" => le,
        ">=" => ge,
        "asString" => as_string,
        _ => return None,
    })
}

/// Double's class-side primitives.
pub fn lookup_class_side(selector: &str) -> Option<PrimFn> {
    match selector {
        "PositiveInfinity" => Some(positive_infinity),
        "fromString:" => Some(from_string),
        _ => None,
    }
}
