//! Randomized robustness test: mutated SOM snippets and random token soup must never
//! make the parser panic, hang or overflow the stack, and every diagnostic must point
//! at a real place in the input.
//!
//! `ESPELL_FUZZ_SEED` (default 0x5eed) and `ESPELL_FUZZ_CASES` (default 20000) override
//! the seed and the number of cases; the run also stops after `ESPELL_FUZZ_SECS`
//! seconds (default 30).

use espell_syntax::{parse_class, parse_expression, parse_method, Diagnostic, Span};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

const CLASS_SEEDS: &[&str] = &[
    "Counter = Object (
    | count step |
    \"Accessing\"
    count = ( ^ count )
    increment: by = ( count := count + by. ^ self )
    + other = primitive
    = other = ( ^ (other isKindOf: Counter) and: [ count = other count ] )
    at: i put: v = ( | t | t := #(1 -2 2.5 'x' #sym #(nested) foo at:put:). ^ t at: i )
    describe = ( ^ 'it''s a \\'counter\\'\\n' , count printString , #'odd sym' )
    loop = ( 1 to: 10 do: [:i | i > 5 ifTrue: [ ^ i ] ]. ^ -1 )
    cascade = ( ^ Vector new append: 1; append: 2 - -3; yourself )
    ----
    | instances |
    new = ( instances := instances + 1. ^ super new init )
)",
    "Object = nil ( class = primitive == other = primitive )",
    "Empty = ()",
    "Big = ( big = ( ^ 1267650600228229401496703205376 + -9223372036854775808 ) )",
];

const METHOD_SEEDS: &[&str] = &[
    "do: aBlock  1 to: self size do: [:i | aBlock value: (self at: i)]",
    "at: i put: v | t | t := v. ^ t",
    "printOn: aStream aStream nextPutAll: 'a '; print: self class; cr",
    "= other ^ self == other",
    "foo = ( ^ thisContext sender )",
    "bar = primitive",
];

const EXPRESSION_SEEDS: &[&str] = &[
    "| a b | a := b := 3 + 4 * 5. ^ a",
    "[:x :y | | t | t := x @ y. t ] value: 1 value: 2",
    "#(1 2.5e10 'a' #(b c) true false nil) size",
    "x foo; bar: 1; + 2",
    "(1 to: 10) inject: 0 into: [:a :b | a + b]",
    "'multi\nline' , \"comment\" 'x'",
];

const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "#(",
    "#",
    "'",
    "\"",
    ":",
    ":=",
    "^",
    ".",
    ";",
    "|",
    "||",
    "-",
    "----",
    "+",
    "=",
    "==",
    "~=",
    "-->",
    "x",
    "self",
    "super",
    "nil",
    "true",
    "thisContext",
    "foo:",
    "at:put:",
    "#at:put:",
    "#+",
    "12",
    "-5",
    "1.5",
    "1.",
    "1.5e3",
    "92233720368547758079",
    "'str'",
    "'",
    "\"c\"",
    "primitive",
    "Foo",
    "=",
    "$",
    "é",
    "日本",
    "\\",
    "\n",
    "\t",
    "_",
];

/// Characters favoured by insertions: the ones that matter to the grammar.
const INTERESTING: &[char] = &[
    '(',
    ')',
    '[',
    ']',
    '#',
    '\'',
    '"',
    ':',
    '=',
    '^',
    '.',
    ';',
    '|',
    '-',
    '0',
    '9',
    'a',
    ' ',
    '\n',
    '$',
    '\\',
    'é',
    '\u{10FFFF}',
    '\0',
    'e',
    '_',
];

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn random_char(rng: &mut fastrand::Rng) -> char {
    match rng.u8(0..4) {
        0 => char::from_u32(rng.u32(0..0x11_0000)).unwrap_or('\u{FFFD}'),
        1 => rng.u8(0x20..0x7f) as char,
        _ => INTERESTING[rng.usize(..INTERESTING.len())],
    }
}

/// Applies a few random edits to `seed`.
fn mutate(rng: &mut fastrand::Rng, seed: &str) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for _ in 0..rng.usize(1..6) {
        let len = chars.len();
        match rng.u8(0..6) {
            0 => chars.insert(rng.usize(..=len), random_char(rng)),
            1 if len > 0 => {
                chars.remove(rng.usize(..len));
            }
            2 => chars.truncate(rng.usize(..=len)),
            3 if len > 0 => {
                // Duplicate a slice somewhere else.
                let a = rng.usize(..len);
                let b = rng.usize(a..=len.min(a + 40));
                let piece: Vec<char> = chars[a..b].to_vec();
                let at = rng.usize(..=len);
                chars.splice(at..at, piece);
            }
            4 => {
                let token = TOKENS[rng.usize(..TOKENS.len())];
                let at = rng.usize(..=len);
                chars.splice(at..at, token.chars());
            }
            _ if len > 0 => {
                let at = rng.usize(..len);
                chars[at] = random_char(rng);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// Random tokens separated by random white space.
fn token_soup(rng: &mut fastrand::Rng) -> String {
    let mut out = String::new();
    for _ in 0..rng.usize(0..60) {
        out.push_str(TOKENS[rng.usize(..TOKENS.len())]);
        if rng.bool() {
            out.push([' ', '\n', '\t'][rng.usize(..3)]);
        }
    }
    out
}

/// Very deep or very long inputs, built from a random opener.
fn deep(rng: &mut fastrand::Rng) -> String {
    let unit = ["(", "[", "#(", "[:a | ", "x foo: ", "a := ", "x + ", "(x y) "][rng.usize(..8)];
    let n = rng.usize(1..3000);
    let mut s = unit.repeat(n);
    if rng.bool() {
        s.push('1');
        s.push_str(&"]".repeat(rng.usize(..=n)));
    }
    s
}

fn check_diagnostic(src: &str, d: &Diagnostic) {
    assert!(d.line >= 1 && d.column >= 1, "bad position: {d:?}");
    let line = src
        .split('\n')
        .nth(d.line as usize - 1)
        .unwrap_or_else(|| panic!("line {} out of range in {src:?}", d.line));
    assert_eq!(line.trim_end_matches('\r'), d.line_text, "{d:?}");
    assert!(d.column as usize <= d.line_text.chars().count() + 1, "{d:?}");
    assert!(!d.message.is_empty());
    let shown = d.to_string();
    assert!(shown.contains("error:"));
}

fn check_span(src: &str, span: Span) {
    let (start, end) = (span.start as usize, span.end as usize);
    assert!(start <= end && end <= src.len(), "{span:?}");
    assert!(src.is_char_boundary(start) && src.is_char_boundary(end));
}

fn parse_all(src: &str) {
    match parse_class(src, "fuzz.som") {
        Ok(class) => {
            for m in class.instance_methods.iter().chain(&class.class_methods) {
                check_span(src, m.span);
            }
        }
        Err(d) => check_diagnostic(src, &d),
    }
    match parse_method(src, "fuzz.st") {
        Ok(m) => check_span(src, m.span),
        Err(d) => check_diagnostic(src, &d),
    }
    if let Err(d) = parse_expression(src, "fuzz.st") {
        check_diagnostic(src, &d);
    }
}

#[test]
fn seeds_are_valid() {
    for s in CLASS_SEEDS {
        parse_class(s, "seed").unwrap_or_else(|e| panic!("{e}"));
    }
    for s in METHOD_SEEDS {
        parse_method(s, "seed").unwrap_or_else(|e| panic!("{e}"));
    }
    for s in EXPRESSION_SEEDS {
        parse_expression(s, "seed").unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn random_inputs_never_panic() {
    let seed = env_or("ESPELL_FUZZ_SEED", 0x5eed);
    let cases = env_or("ESPELL_FUZZ_CASES", 20_000);
    let budget = Duration::from_secs(env_or("ESPELL_FUZZ_SECS", 30));
    let mut rng = fastrand::Rng::with_seed(seed);
    let seeds: Vec<&str> = CLASS_SEEDS
        .iter()
        .chain(METHOD_SEEDS)
        .chain(EXPRESSION_SEEDS)
        .copied()
        .collect();
    let started = Instant::now();
    for case in 0..cases {
        if started.elapsed() > budget {
            eprintln!("time budget reached after {case} cases");
            break;
        }
        let src = match rng.u8(0..10) {
            0..=6 => {
                let seed_text = seeds[rng.usize(..seeds.len())];
                mutate(&mut rng, seed_text)
            }
            7 | 8 => token_soup(&mut rng),
            _ => deep(&mut rng),
        };
        let one = Instant::now();
        if catch_unwind(AssertUnwindSafe(|| parse_all(&src))).is_err() {
            panic!("case {case} (seed {seed}) panicked on input {src:?}");
        }
        assert!(
            one.elapsed() < Duration::from_secs(2),
            "case {case} (seed {seed}) too slow on input {src:?}"
        );
    }
}
