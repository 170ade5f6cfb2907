//! Adversarial programs: whatever a Smalltalk program does, the VM must answer a value or a
//! clear error — never a Rust panic, an abort, a hang or a runaway allocation.
//!
//! Tests that could abort the process (allocation failure) or hang run in a child process
//! (this test binary re-executed for just that test) under a memory limit and a timeout, so
//! one failure cannot take the other tests down with it.

mod common;
use common::{eval, interp, Sink};
use espell_vm::{Interp, Loader};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Evaluates `src` and answers the outcome: Ok(printString) or Err(message incl. output).
fn outcome(src: &str) -> Result<String, String> {
    let (mut i, sink) = interp();
    match i.eval(src, "test") {
        Ok(v) => Ok(i.print_string(v)),
        Err(e) => Err(format!("{e}\n{}", sink.text())),
    }
}

/// A fresh class directory under the system temp dir holding `files` (name, source).
fn class_dir(tag: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("espell-adversarial-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, src) in files {
        std::fs::write(dir.join(format!("{name}.som")), src).expect("write class");
    }
    dir
}

/// Runs `Class new run` with `dir` on the class path; answers Ok(output) or Err(error + output).
fn run_class(dir: PathBuf, class: &str) -> Result<String, String> {
    let mut i = Interp::new(Loader::new(vec![dir], None)).expect("bootstrap");
    let sink = Sink::default();
    i.out = Box::new(sink.clone());
    i.err = Box::new(sink.clone());
    match i.run_main(class, &[]) {
        Ok(_) => Ok(sink.text()),
        Err(e) => Err(format!("{e}\n{}", sink.text())),
    }
}

const CHILD_ENV: &str = "ESPELL_ADVERSARIAL_CHILD";

/// Runs `body` in a child process (this test binary, only test `name`) limited to
/// `mem_kb` of address space and `timeout`; fails if the child crashes, aborts, hangs or
/// its body panics. In the child itself, just runs `body`.
fn isolated(name: &str, mem_kb: u64, timeout: Duration, body: impl FnOnce()) {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        body();
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let script = format!("ulimit -v {mem_kb}; exec \"$0\" --exact {name} --test-threads=1 --nocapture");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(exe)
        .env(CHILD_ENV, name)
        .env("RUST_BACKTRACE", "0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn child");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let out = child.wait_with_output().expect("output");
            assert!(
                status.success(),
                "{name}: child failed ({status}):\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name}: no answer within {timeout:?} (hang)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------
// SmallIntegers taken for object references

#[test]
fn num_args_primitive_on_a_small_integer_is_an_error_not_a_panic() {
    // Block>>numArgs reads the receiver's heap body without checking for a SmallInteger:
    // the integer is used as an object-table index (panics when out of range).
    let r = outcome("300000000 perform: #numArgs inSuperclass: Block");
    let e = r.expect_err("numArgs on an Integer must fail");
    assert!(e.contains("block"), "{e}");
    let (mut i, _) = interp();
    let m = i.eval(
        "(Block methods detect: [:m | m signature = #numArgs]) invokeOn: 300000000 with: #()",
        "test",
    );
    assert!(m.is_err());
}

#[test]
fn block_value_primitive_on_a_small_integer_is_an_error_not_a_panic() {
    // Interp::activate_block dereferences a SmallInteger receiver as an object index.
    let r = outcome("300000000 perform: #value inSuperclass: Block1");
    assert!(r.is_err(), "{r:?}");
    let r = outcome("(Block1 methods detect: [:m | m signature = #value]) invokeOn: 300000000 with: #()");
    assert!(r.is_err(), "{r:?}");
}

#[test]
fn block_value_primitive_on_a_small_integer_does_not_run_an_unrelated_block() {
    // With an in-range integer the VM runs whatever block happens to live at that index.
    let (mut i, sink) = interp();
    let b = i
        .eval("Blk := [ 'ran an unrelated block' ]. Blk", "test")
        .expect("a block");
    assert!(b.as_small().is_none());
    let n = b.index();
    let r = i.eval(&format!("{n} perform: #value inSuperclass: Block1"), "test");
    match r {
        Ok(v) => panic!("ran object #{n} as a block: {}", i.print_string(v)),
        // The failure is a Smalltalk PrimitiveFailed error: its report goes to the output.
        Err(e) => assert!(format!("{e}{}", sink.text()).contains("block"), "{e}"),
    }
}

// ---------------------------------------------------------------------------------------
// restart

#[test]
fn restart_inside_an_inlined_scope_with_captured_variables_does_not_panic() {
    // `restart` resets pc but not the frame's environment: after a restart from inside an
    // inlined block that has its own heap scope (PushScope), the method's env ops index
    // the stale inner scope (index out of bounds panic in the PushEnv/StoreEnv handlers).
    let (mut i, sink) = interp();
    i.eval("N := 0", "test").expect("global");
    let src = "| a b c | a := 0. b := 0. c := 0. [a + b + c] value. \
               N := N + 1. \
               1 to: 1 do: [:i | | x | x := i. [x] value. N < 3 ifTrue: [ [] restart ] ]. \
               a + b + c + N";
    let r = i
        .eval(src, "test")
        .map(|v| i.print_string(v))
        .map_err(|e| format!("{e}\n{}", sink.text()));
    assert_eq!(r, Ok("3".to_string()));
}

#[test]
fn restart_in_a_class_method_with_captured_variables_keeps_variables_straight() {
    let dir = class_dir(
        "restart",
        &[(
            "R4",
            "R4 = (
               | count |
               run = (
                 | a b c d |
                 a := 0. b := 0. c := 0. d := 0.
                 [a + b + c + d] value.
                 count isNil ifTrue: [count := 0].
                 count := count + 1.
                 1 to: 1 do: [:i | | x | x := i. [x] value.
                    count < 3 ifTrue: [ [] restart ] ].
                 [a + b + c + d + count] value println.
               )
             )",
        )],
    );
    assert_eq!(run_class(dir, "R4"), Ok("3\n".to_string()));
}

// ---------------------------------------------------------------------------------------
// Allocation limits: refuse, do not abort

#[test]
fn huge_array_allocation_is_refused_not_an_abort() {
    // Array class>>new: accepts sizes up to 2^32 and allocates with vec![]: a 32 GB request
    // aborts the process ("memory allocation of 34359738360 bytes failed").
    isolated(
        "huge_array_allocation_is_refused_not_an_abort",
        4_000_000,
        Duration::from_secs(60),
        || {
            let r = outcome("(Array new: 4294967295) length");
            assert!(r.is_err(), "{r:?}");
            let r = outcome("(Array new: 4294967295 withAll: 3) length");
            assert!(r.is_err(), "{r:?}");
        },
    );
}

#[test]
fn deep_recursion_with_large_frames_is_a_stack_overflow_error_not_an_abort() {
    // The depth limit counts frames (100_000) but not stack slots: a method with 60_000
    // temporaries recursing needs ~48 GB of operand stack before the limit is reached, so
    // the VM grows until the allocator aborts (or the machine swaps).
    isolated(
        "deep_recursion_with_large_frames_is_a_stack_overflow_error_not_an_abort",
        4_000_000,
        Duration::from_secs(120),
        || {
            let temps: Vec<String> = (0..60_000).map(|i| format!("t{i}")).collect();
            let src = format!(
                "BigFrame = ( run = ( self r: 0 ) r: n = ( | {} | t1 := n. ^ self r: n + 1 ) )",
                temps.join(" ")
            );
            let dir = class_dir("bigframe", &[("BigFrame", &src)]);
            let e = run_class(dir, "BigFrame").expect_err("must overflow");
            assert!(e.to_lowercase().contains("stack overflow"), "{e}");
        },
    );
}

// ---------------------------------------------------------------------------------------
// Hangs

#[test]
fn load_file_of_a_fifo_or_device_does_not_hang() {
    // System>>loadFile: calls read_to_string on any path: a FIFO without writer blocks
    // forever, /dev/zero reads until memory runs out.
    isolated(
        "load_file_of_a_fifo_or_device_does_not_hang",
        4_000_000,
        Duration::from_secs(20),
        || {
            let dir = class_dir("fifo", &[]);
            let fifo = dir.join("fifo");
            let _ = std::fs::remove_file(&fifo);
            let ok = Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                let r = outcome(&format!("system loadFile: '{}'", fifo.display()));
                assert_eq!(r, Ok("nil".to_string()));
            }
            let r = outcome("system loadFile: '/dev/zero'");
            assert_eq!(r, Ok("nil".to_string()));
        },
    );
}

// ---------------------------------------------------------------------------------------
// SOM semantics the VM gets wrong without crashing

#[test]
fn inlined_if_true_on_a_non_boolean_with_captured_locals_is_a_real_send() {
    // som-protocol §4: "No mustBeBoolean: ifTrue: to a non-boolean is a normal send". When
    // the inlined blocks assign method locals the VM sends #mustBeBoolean instead.
    let (mut i, sink) = interp();
    let e = i
        .eval("| x | x := 0. 3 ifTrue: [x := 1]. x", "test")
        .expect_err("Integer does not understand ifTrue:");
    let text = format!("{e}\n{}", sink.text());
    assert!(text.contains("ifTrue:"), "{text}");
    assert!(!text.contains("mustBeBoolean"), "{text}");
}

#[test]
fn a_boolean_like_object_answers_inlined_if_true_and_if_true_if_false() {
    let dir = class_dir(
        "mybool",
        &[(
            "MyBool",
            "MyBool = (
               ifTrue: b = ( ^ b value )
               ifTrue: a ifFalse: b = ( ^ b value )
               run = ( | x y | x := 0. y := 0.
                 (self ifTrue: [ x := 5 ]) println.
                 x println.
                 (self ifTrue: [ y := 7 ] ifFalse: [ y := 8 ]) println )
             )",
        )],
    );
    assert_eq!(run_class(dir, "MyBool"), Ok("5\n5\n8\n".to_string()));
}

#[test]
fn must_be_boolean_answering_a_non_boolean_does_not_loop_forever() {
    // The non-Boolean fallback retries the jump with whatever #mustBeBoolean answers, so an
    // answer that is again not a Boolean spins forever.
    isolated(
        "must_be_boolean_answering_a_non_boolean_does_not_loop_forever",
        4_000_000,
        Duration::from_secs(20),
        || {
            let dir = class_dir(
                "mb2",
                &[(
                    "MB2",
                    "MB2 = (
                       mustBeBoolean = ( ^ self )
                       run = ( | x | x := 0. self ifTrue: [ x := 5 ]. x println )
                     )",
                )],
            );
            let _ = run_class(dir, "MB2");
        },
    );
}

#[test]
fn copy_from_to_keeps_the_named_fields_of_an_array_subclass() {
    // Array>>copyFrom:to: builds the copy with new_with_body (no fields): reading a named
    // field of the copy fails with "instance variable 1 does not exist".
    let dir = class_dir(
        "arsub",
        &[(
            "Ar",
            "Ar = Array ( | a b |
               a = ( ^ a )
               run = ( | s | s := Ar new: 3. (s copyFrom: 1 to: 2) a println )
             )",
        )],
    );
    assert_eq!(run_class(dir, "Ar"), Ok("nil\n".to_string()));
}

#[test]
fn integer_divided_by_a_large_double_is_not_clamped_to_i128() {
    // Integer>>/ with a Double argument converts the quotient with `as i128`, which
    // saturates: (10 raisedTo: 50) / 1.0 answers 2^127 - 1.
    assert_eq!(
        eval("((10 raisedTo: 50) / 1.0) = (10 raisedTo: 50) asDouble asInteger"),
        "true"
    );
    // ... and an infinite quotient is not a "division by zero".
    let e = outcome("(10 raisedTo: 400) / 1.0").expect_err("infinite quotient");
    assert!(!e.to_lowercase().contains("division by zero"), "{e}");
}
