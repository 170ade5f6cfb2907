//! Superinstructions and the in-loop send paths (ADR 0007): their fast paths answer what
//! the unfused instructions answer, and their slow paths (operands that are not
//! SmallIntegers or immediate Doubles, non-Booleans, polymorphic receivers, unusual
//! activations) fall back to the ordinary sends.

mod common;
use common::{eval, interp};
use espell_vm::bytecode::{fuse, Op};

#[test]
fn fusion_keeps_every_instruction_in_place() {
    let mut ops = vec![
        Op::PushLocal(0),
        Op::PushLocal(1),
        Op::Add(0),
        Op::PushInt(3),
        Op::Lt(1),
        Op::JumpIfFalse(9),
        Op::PushNil,
        Op::PopLocal(2),
        Op::ReturnTop,
        Op::PushNil,
        Op::Pop,
        Op::ReturnSelf,
    ];
    let before = ops.clone();
    fuse(&mut ops);
    assert_eq!(ops.len(), before.len());
    assert_eq!(ops[0], Op::AddLL(0, 1));
    assert_eq!(ops[1], Op::AddL(1));
    assert_eq!(ops[3], Op::LtI(3));
    // The jump to `PushNil; Pop` goes past it; the replaced instructions' successors stay.
    assert_eq!(ops[5], Op::JumpIfFalse(11));
    assert_eq!(ops[6], Op::NilToLocal(2));
    for i in [2, 4, 7, 8, 11] {
        assert_eq!(ops[i], before[i], "instruction {i}");
    }
}

#[test]
fn fused_arithmetic_overflows_and_falls_back() {
    assert_eq!(
        eval("| a b | a := 4611686018427387903. b := 1. a + b"),
        "4611686018427387904"
    );
    assert_eq!(eval("| a | a := 4611686018427387903. a * 4"), "18446744073709551612");
    assert_eq!(eval("| a b | a := 3. b := 1.5. a * b"), "4.5");
    assert_eq!(eval("| a b | a := 1.5. b := 2. a - b"), "-0.5");
    assert_eq!(
        eval("| a b | a := 2 raisedTo: 70. b := 1. a - b - (2 raisedTo: 70)"),
        "-1"
    );
}

#[test]
fn fused_comparisons_branch_like_the_sends() {
    assert_eq!(eval("| a b | a := 3. b := 2.5. a < b ifTrue: [1] ifFalse: [2]"), "2");
    assert_eq!(eval("| a | a := 100 factorial. a > 5 ifTrue: [1] ifFalse: [2]"), "1");
    assert_eq!(
        eval("| a b | a := 3. b := 4. (a < b and: [b < a]) ifTrue: [1] ifFalse: [2]"),
        "2"
    );
    assert_eq!(
        eval("| a b | a := 3. b := 4. (a > b and: [b < a]) ifTrue: [1] ifFalse: [2]"),
        "2"
    );
    assert_eq!(
        eval("| a b | a := 3. b := 4. (a > b or: [a < b]) ifTrue: [1] ifFalse: [2]"),
        "1"
    );
    assert_eq!(eval("| a b | a := 3. b := 4. (a < b) printString"), "'true'");
    assert_eq!(eval("| a | a := 3. a = nil ifTrue: [1] ifFalse: [2]"), "2");
    assert_eq!(eval("| a | a := 'x'. a = 'x' ifTrue: [1] ifFalse: [2]"), "1");
}

#[test]
fn statements_and_loops_around_fused_jumps() {
    assert_eq!(
        eval("| i s | i := 0. s := 0. [i < 10] whileTrue: [i := i + 1. i odd ifTrue: [s := s + i]]. s"),
        "25"
    );
    assert_eq!(
        eval("| s | s := 0. 1 to: 10 do: [:i | | t | t := i. s := s + t]. 2 to: 20 by: 3 do: [:k | s := s + k]. s"),
        "132"
    );
    assert_eq!(
        eval("| a | a := Array new: 3. a at: 1 put: 7. a at: 2 put: 8. (a at: 1) + (a at: 2)"),
        "15"
    );
}

#[test]
fn in_loop_sends_handle_polymorphism_blocks_and_unusual_calls() {
    assert_eq!(
        eval("| n | n := 0. #(1 nil 2 nil 3) do: [:e | e isNil ifFalse: [n := n + e]]. n"),
        "6"
    );
    assert_eq!(
        eval("| b | b := [:x | x + 1]. (b value: 1) + ([:x :y | x * y] value: 3 with: 4)"),
        "14"
    );
    assert_eq!(eval("#(1 2 3) do: [:e | e = 2 ifTrue: [^e * 10]]. 0"), "20");
    // A block sent the wrong arity goes the general way (`Block>>wrongArity:`).
    let (mut i, out) = interp();
    assert!(i.eval("[:x | x] value", "test").is_err());
    assert!(out.text().contains("expects 1 argument"), "{}", out.text());
    assert_eq!(
        eval("| b | b := [:k | k < 1 ifTrue: [0] ifFalse: [k + (b value: k - 1)]]. b value: 100"),
        "5050"
    );
}
