//! Language semantics end to end: compiler, interpreter and primitives on the core library.

mod common;
use common::{eval, eval_err, interp};
use espell_vm::VmError;

#[test]
fn arithmetic_and_precedence() {
    assert_eq!(eval("3 + 4"), "7");
    assert_eq!(eval("2 + 3 * 4"), "20");
    assert_eq!(eval("2 + (3 * 4)"), "14");
    assert_eq!(eval("-4 abs"), "4");
    assert_eq!(eval("3-1"), "2");
    assert_eq!(eval("5 * -5"), "-25");
}

#[test]
fn integer_division_family_follows_som() {
    assert_eq!(eval("-7 / 2"), "-3");
    assert_eq!(eval("-7 % 3"), "2");
    assert_eq!(eval("7 % -3"), "-2");
    assert_eq!(eval("-7 rem: 3"), "-1");
    assert_eq!(eval("5 // 10"), "0.5");
    assert_eq!(eval("(1 = 1.0)"), "true");
}

#[test]
fn small_integers_overflow_into_large_and_back() {
    assert_eq!(eval("(2 raisedTo: 100)"), "1267650600228229401496703205376");
    assert_eq!(eval("4611686018427387903 + 1"), "4611686018427387904");
    assert_eq!(eval("(4611686018427387903 + 1 - 1) class"), "Integer");
    assert_eq!(eval("((2 raisedTo: 100) - (2 raisedTo: 100)) = 0"), "true");
    assert_eq!(eval("9223372036854775807"), "9223372036854775807");
    assert_eq!(eval("-1 as32BitUnsignedValue"), "4294967295");
    assert_eq!(eval("9223372036854775296 as32BitSignedValue"), "-512");
    assert_eq!(eval("1 << 70"), "1180591620717411303424");
    assert_eq!(eval("(2 raisedTo: 64) class == 3 class"), "true");
}

#[test]
fn doubles_print_shortest_round_trip() {
    assert_eq!(eval("0.5 asString"), "'0.5'");
    assert_eq!(eval("1.0 asString"), "'1.0'");
    assert_eq!(eval("1.5 round"), "2");
    assert_eq!(eval("-1.999 asInteger"), "-1");
}

#[test]
fn blocks_closures_and_non_local_return() {
    assert_eq!(eval("[:a :b | a + b] value: 3 value: 4"), "7");
    assert_eq!(eval("| x | x := 0. #(1 2 3) do: [:e | x := x + e]. x"), "6");
    assert_eq!(
        eval("| blocks | blocks := Array new: 3. 1 to: 3 do: [:i | blocks at: i put: [i]]. (blocks at: 1) value"),
        "1"
    );
    assert_eq!(
        eval("| f | f := [:n | n < 2 ifTrue: [1] ifFalse: [n * (f value: n - 1)]]. f value: 10"),
        "3628800"
    );
    assert_eq!(eval("[] value"), "nil");
}

#[test]
fn inlined_conditionals_on_non_booleans_are_real_sends() {
    let (mut i, _) = interp();
    let err = i.eval("3 ifTrue: [4]", "test").unwrap_err();
    assert!(
        err.to_string().contains("ifTrue:") || matches!(err, VmError::Exit(1)),
        "{err}"
    );
}

#[test]
fn cascades_send_to_the_same_receiver() {
    assert_eq!(
        eval("| v | v := Vector new. v append: 1; append: 2; append: 3. v size"),
        "3"
    );
    assert_eq!(eval("(Vector new append: 1; append: 2; yourself) size"), "2");
}

#[test]
fn deep_recursion_is_a_smalltalk_error_not_a_crash() {
    // Unhandled, the StackOverflow error reports itself and ends the program (exit 1).
    let (mut i, sink) = interp();
    let err = i
        .eval("| f | f := [:n | (f value: n + 1) + 1]. f value: 0", "test")
        .unwrap_err();
    assert!(matches!(err, VmError::Exit(1)), "{err}");
    let text = sink.text();
    assert!(text.contains("ERROR: Stack overflow"), "{text}");
    assert!(text.lines().count() < 60, "the backtrace is abbreviated");
    // Handled, it is an ordinary error; the interpreter is usable afterwards.
    let v = i.eval(
        "| f | f := [:n | (f value: n + 1) + 1]. [ f value: 0 ] on: StackOverflow do: [:e | 7 ]",
        "test",
    );
    assert_eq!(v.map(|v| v.as_small()).unwrap(), Some(7));
    assert_eq!(i.eval("1 + 1", "test").map(|v| v.as_small()).unwrap(), Some(2));
}

#[test]
fn compile_errors_carry_line_and_column() {
    match eval_err("1 +\n  ]") {
        VmError::Compile(d) => {
            assert_eq!(d.line, 2);
            assert_eq!(d.column, 3);
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn primitive_failures_are_reported_with_a_backtrace() {
    for (src, expected) in [
        ("#(1 2 3) at: 10", "Index 10 not valid for array of length 3."),
        ("1 + 'a'", "number"),
    ] {
        let (mut i, sink) = interp();
        let err = i.eval(src, "test").unwrap_err();
        assert!(matches!(err, VmError::Exit(1)), "{err}");
        let text = sink.text();
        assert!(text.contains(expected), "{text}");
        assert!(text.contains("Nil>>#doIt"), "the signaller's stack is printed: {text}");
    }
}

#[test]
fn output_goes_to_the_programs_stream() {
    let (mut i, sink) = interp();
    i.eval("'hi' println. 42 println", "test").unwrap();
    assert_eq!(sink.text(), "hi\n42\n");
}

#[test]
fn reflection_on_classes() {
    assert_eq!(eval("3 class name"), "#Integer");
    assert_eq!(eval("Object superclass"), "nil");
    assert_eq!(eval("Object class superclass == Class"), "true");
    assert_eq!(eval("Metaclass class class == Metaclass"), "true");
    assert_eq!(eval("(Object methods at: 1) signature"), "#class");
    assert_eq!(eval("Object methods size"), "33");
}
