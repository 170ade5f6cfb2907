//! Randomized: malformed method sources never make the parser or the compiler panic, and
//! what compiles can be installed.

use espell_syntax::{parse_method, MethodBody};
use espell_vm::compiler::{compile_method, CompileInput, LineMap};
use espell_vm::{Interp, Loader};

const SEEDS: &[&str] = &[
    "foo: x | t | t := x + 1. ^t * 2",
    "bar ^[:a :b | a < b ifTrue: [a] ifFalse: [^b]] value: 1 value: 2",
    "baz | v | v := Vector new. 1 to: 10 do: [:i | v append: [i]]. ^v",
    "qux: a with: b ^(a , b) inject: 0 into: [:s :e | s + e]",
    "cascade ^Vector new append: 3; append: 4; yourself",
    "lits ^#(1 2.5 'str' #sym #(nested -3) $ true nil) , #+",
    "loop | i | i := 0. [i < 10] whileTrue: [i := i + 1]. ^i",
    "big ^123456789012345678901234567890 * -98765432109876543210",
];

#[test]
fn malformed_methods_never_panic_the_compiler() {
    let mut interp = Interp::new(Loader::new(vec![], None)).expect("bootstrap");
    let object = interp.load_class("Object").unwrap().unwrap();
    let seed: u64 = std::env::var("ESPELL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xE5_9E11);
    let mut rng = fastrand::Rng::with_seed(seed);
    let alphabet: Vec<char> = "[]()^:=.;|#'$-+*<> abcxyz0123456789\n\"".chars().collect();
    let fields = vec!["f1".to_string(), "f2".to_string()];
    let mut compiled = 0;
    for case in 0..4000 {
        let mut src: Vec<char> = SEEDS[case % SEEDS.len()].chars().collect();
        for _ in 0..rng.usize(1..6) {
            match rng.u8(0..3) {
                0 if !src.is_empty() => {
                    let i = rng.usize(0..src.len());
                    src.remove(i);
                }
                1 => {
                    let i = rng.usize(0..=src.len());
                    src.insert(i, alphabet[rng.usize(0..alphabet.len())]);
                }
                _ if !src.is_empty() => {
                    let i = rng.usize(0..src.len());
                    src.truncate(i.max(1));
                }
                _ => {}
            }
        }
        let text: String = src.into_iter().collect();
        if let Ok(def) = parse_method(&text, "fuzz") {
            if let MethodBody::Code(body) = &def.body {
                let lines = LineMap::new(&text);
                let input = CompileInput {
                    fields: &fields,
                    file: "fuzz",
                    source: &text,
                    allow_global_assign: false,
                    lines: &lines,
                };
                if compile_method(&mut interp.space, &input, &def, body, object).is_ok() {
                    compiled += 1;
                }
            }
        }
    }
    assert!(
        compiled > 100,
        "the mutations should still compile sometimes ({compiled})"
    );
}
