//! Atomicity, checked at random: update scripts made of random MOP operations (code,
//! shapes, special objects, globals, instance slots, identities, classes) that fail at
//! the end must leave the application exactly as it was — the same state digest, the same
//! data, the same behaviour — and committed ones must revert to that state.

mod common;
use common::interp;
use espell_vm::hypervisor::Hypervisor;
use espell_vm::mop::space_digest;
use espell_vm::Interp;

/// The seed: fixed, or `ESPELL_FUZZ_SEED` for a longer campaign by hand.
fn seed(default: u64) -> u64 {
    std::env::var("ESPELL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&s| s != 0)
        .unwrap_or(default)
}

/// A small deterministic generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const CLASSES: &[&str] = &[
    "Object",
    "Point",
    "Array",
    "Vector",
    "Integer",
    "String",
    "SequenceableCollection",
    "Boolean",
    "Dictionary",
];

/// Methods that exist in the core library (class, selector).
const METHODS: &[&str] = &[
    "SequenceableCollection do:",
    "Point x",
    "Point y",
    "Point +",
    "Integer printString",
    "Vector append:",
    "Boolean and:",
    "Object printString",
];

const SPECIALS: &[&str] = &["smallIntegerClass", "arrayClass", "stringClass", "doubleClass"];

/// One random MOP operation as a statement of an update script.
fn operation(rng: &mut Rng, k: usize) -> String {
    match rng.next() % 15 {
        12 => "(app threads detect: [ :t | t stackFrames notEmpty ] ifNone: [ nil ]) ifNotNil: [ :t | t terminate ].".into(),
        13 => "app installThread: (app createThreadSending: #yourself to: (app globalAt: #Keep)).".into(),
        14 => "(app threads detect: [ :t | t stackFrames size > 1 ] ifNone: [ nil ]) ifNotNil: [ :t |
                t insertFrame: (app createFrameSending: #yourself to: (app globalAt: #Keep)) above: t stackFrames last ].".into(),
        0 => format!(
            "(app classNamed: #{}) compileAndInstall: 'fuzz{k}  ^ {k}'.",
            rng.pick(CLASSES)
        ),
        1 => {
            let (class, selector) = rng.pick(METHODS).split_once(' ').unwrap();
            format!("(app classNamed: #{class}) removeMethod: #{selector}.")
        }
        2 => "(app classNamed: #Point) addField: #fz.".into(),
        3 => format!(
            "app specialObjectAt: #{} put: (app classNamed: #{}).",
            rng.pick(SPECIALS),
            rng.pick(CLASSES)
        ),
        4 => format!("app globalAt: #{} put: (app mirrorOn: {k}).", rng.pick(&["Keep", "Fuzz", "Point"])),
        5 => format!(
            "app installClass: (app createClassNamed: #{} superclass: (app classNamed: #Object) fields: #(#a #b)).",
            rng.pick(&["Point", "Fuzzed", "Vector"])
        ),
        6 => format!(
            "(app classNamed: #{}) superclass: (app classNamed: #Object).",
            rng.pick(&["Point", "Vector", "Array"])
        ),
        7 => format!(
            "(app instancesOf: (app classNamed: #Point)) do: [ :p | p slotAt: #x put: (app mirrorOn: {k}) ]."
        ),
        8 => "| ps | ps := app instancesOf: (app classNamed: #Point). ps size > 1 ifTrue: [ (ps at: 1) swapIdentityWith: (ps at: 2) ].".into(),
        9 => format!("app removeClass: (app classNamed: #{}).", rng.pick(&["Vector", "Point", "Dictionary"])),
        10 => "(app instancesOf: (app classNamed: #Point)) do: [ :p | p setClass: (app createClassNamed: #Pt superclass: (app classNamed: #Object) fields: #(#x #y)) ].".into(),
        _ => "((app globalAt: #Keep) slotAt: 1 put: (app mirrorOn: 'changed')).".into(),
    }
}

/// The program state a script may disturb, as the program itself sees it.
fn observe(app: &mut Interp) -> String {
    let v = app
        .eval(
            "Keep printString , ' ' , ((1 to: 10) inject: 0 into: [ :a :b | a + b ]) printString ,
             ' ' , ((Keep at: 2) x + (Keep at: 3) y) printString , ' ' , (3 @ 4) printString ,
             ' ' , (#(1 2 3) collect: [ :e | e * 2 ]) printString , ' ' , (Vector new append: 7; yourself) size printString ,
             ' ' , Worker isTerminated printString , ' ' , Sem printString , ' ' , Ticks printString",
            "observe",
        )
        .unwrap_or_else(|e| panic!("the program no longer works: {e}"));
    app.print_string(v)
}

fn application() -> Interp {
    let (mut app, _) = interp();
    // Load what the scripts touch, and keep data the scripts may write to.
    app.eval(
        "Keep := Array new: 4. Keep at: 1 put: 'kept'. Keep at: 2 put: 1 @ 2. Keep at: 3 put: 3 @ 4.
         Keep at: 4 put: (Dictionary new at: #a put: 1; yourself). Vector new. Boolean. String. Integer.
         Sem := Semaphore new. Ticks := 0. Worker := [ [ true ] whileTrue: [ Sem wait. Ticks := Ticks + 1 ] ] fork.
         Processor yield",
        "setup",
    )
    .unwrap();
    app
}

fn script(rng: &mut Rng, name: &str, ops: usize, fail: bool) -> String {
    let body: Vec<String> = (0..ops).map(|k| operation(rng, k)).collect();
    format!(
        "{name} = ChesterUpdate ( run: app = ( {} {} ) )",
        body.join("\n"),
        if fail {
            "self error: 'fuzz: failing on purpose'"
        } else {
            ""
        }
    )
}

#[test]
fn failing_random_updates_leave_the_application_exactly_as_it_was() {
    let mut rng = Rng(seed(0x2545_F491_4F6C_DD1D));
    let mut app = application();
    let mut hv = Hypervisor::new(None).unwrap();
    let seen = observe(&mut app);
    let digest = space_digest(&app);
    let mut changes = 0;
    for round in 0..400 {
        let ops = 1 + (rng.next() % 8) as usize;
        let source = script(&mut rng, &format!("Fuzz{round}"), ops, true);
        let report = hv.run_update(&mut app, &source, "fuzz.som");
        changes += report.changes;
        assert!(!report.committed, "round {round} committed:\n{source}");
        assert_eq!(
            space_digest(&app),
            digest,
            "round {round}:\n{source}\n{}",
            report.reason
        );
        assert_eq!(observe(&mut app), seen, "round {round}:\n{source}");
    }
    // The worker process still works.
    let ticks = app.eval("Sem signal. Processor yield. Ticks", "worker").unwrap();
    assert_eq!(ticks.as_small(), Some(1));
    eprintln!("{changes} changes rolled back in 400 updates");
    assert!(
        changes > 800,
        "the scripts did little before failing: {changes} changes"
    );
}

#[test]
fn committed_random_updates_revert_to_the_state_before_them() {
    let mut rng = Rng(seed(0x9E37_79B9_7F4A_7C15));
    let mut hv = Hypervisor::new(None).unwrap();
    hv.keep_undo = true;
    let mut committed = 0;
    for round in 0..200 {
        // A fresh program each round: a committed update may well break it.
        let mut app = application();
        let seen = observe(&mut app);
        let digest = space_digest(&app);
        let ops = 1 + (rng.next() % 6) as usize;
        let source = script(&mut rng, &format!("Commit{round}"), ops, false);
        let mut report = hv.run_update(&mut app, &source, "fuzz.som");
        let Some(undo) = report.undo.take() else {
            // A script whose own operations fail (e.g. removing a method twice) rolls back.
            assert!(!report.committed);
            assert_eq!(space_digest(&app), digest, "round {round}:\n{source}");
            continue;
        };
        committed += 1;
        undo.revert(&mut app);
        assert_eq!(space_digest(&app), digest, "round {round}:\n{source}");
        assert_eq!(observe(&mut app), seen, "round {round}:\n{source}");
    }
    assert!(committed > 40, "only {committed} of the random updates committed");
}
