//! Sends the compiler inlines (ADR 0011): `ifNil:` and its relatives, `whileTrue`/
//! `whileFalse` without argument, `timesRepeat:`, `==`/`~~`, and `and:`/`or:`/`&`/`|` with
//! arguments that are not literal blocks. They must answer what the real sends answer, also
//! for receivers whose class defines its own method, and an update that installs such a
//! method (through the MOP, as an update script does) takes effect at the next execution of
//! a warm inlined site.

mod common;
use common::{eval, eval_err, interp};
use espell_vm::hypervisor::Hypervisor;
use espell_vm::mop::UpdateSession;
use espell_vm::{Interp, Value};

fn run(app: &mut Interp, src: &str) -> String {
    let v: Value = app.eval(src, "test").unwrap_or_else(|e| panic!("{src}: {e}"));
    app.print_string(v)
}

fn install(app: &mut Interp, class: &str, source: &str) {
    let mut s = UpdateSession::new();
    let c = s.class_named(app, class).unwrap().unwrap();
    s.compile_and_install(app, c, source).unwrap();
    s.commit(app);
}

#[test]
fn nil_family_answers_what_the_sends_answer() {
    assert_eq!(eval("nil ifNil: [1]"), "1");
    assert_eq!(eval("3 ifNil: [1]"), "3");
    assert_eq!(eval("nil ifNotNil: [1]"), "nil");
    assert_eq!(eval("3 ifNotNil: [1]"), "1");
    assert_eq!(eval("3 ifNotNil: [:x | x + 1]"), "4");
    assert_eq!(eval("nil ifNil: [1] ifNotNil: [:x | x]"), "1");
    assert_eq!(eval("5 ifNil: [1] ifNotNil: [:x | x * 2]"), "10");
    assert_eq!(eval("5 ifNil: [1] ifNotNil: [7]"), "7");
    assert_eq!(eval("nil ifNotNil: [:x | x] ifNil: [2]"), "2");
    assert_eq!(eval("'a' ifNotNil: [:x | x , 'b'] ifNil: [2]"), "'ab'");
    assert_eq!(eval("nil ifNil: []"), "nil");
    // Temporaries, captured parameters, assignments to the parameter.
    assert_eq!(eval("| b | b := 4 ifNotNil: [:x | [x * 10]]. b value"), "40");
    assert_eq!(eval("4 ifNotNil: [:x | x := x + 1. x]"), "5");
    assert_eq!(
        eval("| r | r := 0. #(1 nil 3) do: [:e | e ifNotNil: [:v | | t | t := v. r := r + t]]. r"),
        "4"
    );
    // A non-local return out of a loop, the linked-list idiom.
    assert_eq!(
        eval("| f | f := [:l | | t | t := l. [t isNil] whileFalse: [(t at: 2) ifNil: [^ #short]. t := t at: 2]. #long]. f value: (Array with: 1 with: nil)"),
        "#short"
    );
}

#[test]
fn receivers_whose_class_defines_its_own_method_get_the_real_send() {
    let (mut app, _) = interp();
    // InPlaceObject (core library) is a proxy that answers `isNil` for its target.
    install(&mut app, "Symbol", "ifNil: aBlock ^ #symbolIfNil");
    install(&mut app, "Symbol", "ifNotNil: aBlock ^ aBlock value: 42");
    install(&mut app, "Symbol", "ifNil: a ifNotNil: b ^ a value");
    install(&mut app, "Symbol", "isNil ^ true");
    install(&mut app, "Object", "probe: x ^ x ifNil: [#was] ifNotNil: [:v | v]");
    install(&mut app, "Object", "probe2: x ^ x ifNil: [#was]");
    install(&mut app, "Object", "probe3: x ^ x ifNotNil: [:v | v]");
    // The same site sees ordinary receivers and the overriding class.
    assert_eq!(run(&mut app, "| a | a := Array new: 4. a at: 1 put: (nil probe: 3); at: 2 put: (nil probe: #s); at: 3 put: (nil probe: nil); at: 4 put: (nil probe: 4). a"), "#(3 #was #was 4)");
    assert_eq!(run(&mut app, "(nil probe2: #s) -> (nil probe2: 5)"), "#symbolIfNil->5");
    assert_eq!(run(&mut app, "(nil probe3: #s) -> (nil probe3: 5)"), "42->5");
    assert_eq!(run(&mut app, "#s isNil ifTrue: [1] ifFalse: [2]"), "1");
    // A class that does not understand the selector: the real send's doesNotUnderstand:.
    assert_eq!(
        run(
            &mut app,
            "[ (Object new ~~ 3) ] on: MessageNotUnderstood do: [:e | e return: #dnu ]"
        ),
        "true"
    );
}

#[test]
fn an_update_that_installs_object_if_nil_takes_effect_at_warm_sites() {
    let (mut app, _) = interp();
    install(
        &mut app,
        "Object",
        "probe: x ^ x ifNil: [#nilBranch] ifNotNil: [:v | #notNilBranch]",
    );
    install(&mut app, "Object", "probe2: x ^ x ifNil: [#nilBranch]");
    install(
        &mut app,
        "Object",
        "loop: n | c | c := 0. n timesRepeat: [ (nil probe2: 3) == #patched ifTrue: [ c := c + 1 ] ]. ^ c",
    );
    // Warm the sites.
    assert_eq!(run(&mut app, "nil loop: 100"), "0");
    assert_eq!(
        run(&mut app, "(nil probe: 1) -> (nil probe: nil)"),
        "#notNilBranch->#nilBranch"
    );
    let mut hv = Hypervisor::new(None).unwrap();
    let script = "Patch = ChesterUpdate ( run: app = (
        (app classNamed: #Object) compileAndInstall: 'ifNil: aBlock ^ #patched'.
        (app classNamed: #Object) compileAndInstall: 'ifNil: a ifNotNil: b ^ #patched2'.
        (app classNamed: #Nil) compileAndInstall: 'isNil ^ false' ) )";
    let report = hv.run_update(&mut app, script, "patch.som");
    assert!(report.committed, "{}", report.line());
    assert_eq!(run(&mut app, "nil loop: 100"), "100");
    assert_eq!(
        run(&mut app, "(nil probe: 1) -> (nil probe: nil)"),
        "#patched2->#nilBranch"
    );
    assert_eq!(run(&mut app, "nil probe2: nil"), "#nilBranch");
    assert_eq!(run(&mut app, "nil isNil"), "false");
    assert_eq!(run(&mut app, "nil isNil ifTrue: [1] ifFalse: [2]"), "2");
    // An update that puts back methods of the inlined shape gets the inline path again,
    // with the semantics of what is installed: `^ self` for nil too.
    let script = "Back = ChesterUpdate ( run: app = (
        (app classNamed: #Object) compileAndInstall: 'ifNil: aBlock ^ self'.
        (app classNamed: #Nil) compileAndInstall: 'ifNil: aBlock ^ self' ) )";
    assert!(hv.run_update(&mut app, script, "back.som").committed);
    assert_eq!(run(&mut app, "(nil probe2: nil) -> (nil probe2: 4)"), "nil->4");
}

#[test]
fn an_update_that_removes_nil_if_nil_sends_nil_to_object_if_nil() {
    let (mut app, _) = interp();
    install(&mut app, "Object", "probe: x ^ x ifNil: [#nilBranch]");
    assert_eq!(run(&mut app, "nil probe: nil"), "#nilBranch");
    let mut hv = Hypervisor::new(None).unwrap();
    let script = "Remove = ChesterUpdate ( run: app = ( (app classNamed: #Nil) removeMethod: #ifNil: ) )";
    assert!(hv.run_update(&mut app, script, "remove.som").committed);
    // Object>>ifNil: answers self, now for nil too.
    assert_eq!(run(&mut app, "nil probe: nil"), "nil");
}

#[test]
fn loops_without_argument_and_times_repeat() {
    assert_eq!(eval("| i | i := 0. [ i := i + 1. i < 10 ] whileTrue. i"), "10");
    assert_eq!(eval("| i | i := 0. [ i := i + 1. i >= 7 ] whileFalse. i"), "7");
    assert_eq!(eval("[ false ] whileTrue"), "nil");
    assert_eq!(eval("| n | n := 0. 5 timesRepeat: [ n := n + 2 ]. n"), "10");
    assert_eq!(eval("| n | n := 0. 0 timesRepeat: [ n := n + 1 ]. n"), "0");
    assert_eq!(eval("| n bs | n := 0. bs := Array new: 3. 3 timesRepeat: [ | k | n := n + 1. k := n. bs at: n put: [ k ] ]. (bs at: 1) value + (bs at: 3) value"), "4");
    assert_eq!(
        eval("| f | f := [:n | n timesRepeat: [ ^ #out ]. #none ]. f value: 3"),
        "#out"
    );
    assert_eq!(
        eval("| f | f := [:n | n timesRepeat: [ ^ #out ]. #none ]. f value: 0"),
        "#none"
    );
}

#[test]
fn identity_and_boolean_operators() {
    assert_eq!(eval("3 == 3"), "true");
    assert_eq!(eval("3 ~~ 4"), "true");
    assert_eq!(eval("nil == nil"), "true");
    assert_eq!(eval("'a' == 'a' copy"), "false");
    assert_eq!(eval("#a ~~ #a"), "false");
    assert_eq!(eval("1.5 == 1.5"), "true");
    assert_eq!(eval("(2 raisedTo: 80) == (2 raisedTo: 80)"), "true");
    assert_eq!(eval("(2 raisedTo: 80) ~~ (2 raisedTo: 80)"), "false");
    assert_eq!(eval("| o | o := Object new. (o == o) & (o ~~ Object new)"), "true");
    assert_eq!(eval("(3 > 2) and: (2 > 1)"), "true");
    assert_eq!(eval("(3 > 2) and: (2 > 5)"), "false");
    assert_eq!(eval("(3 < 2) or: (2 > 1)"), "true");
    assert_eq!(eval("true & false"), "false");
    // Espell's Booleans have `||` but no `|`: the inlined operator keeps the real send's
    // doesNotUnderstand:.
    let e = eval_err("(3 > 2) | (2 < 1)");
    assert!(
        e.to_string().contains("not found") || e.to_string().contains("exit"),
        "{e}"
    );
    assert_eq!(eval("(3 > 2) || (2 < 1)"), "true");
    // Not two Booleans: the real sends (True>>and: answers `aBlock value`).
    assert_eq!(eval("true and: 3"), "3");
    assert_eq!(eval("false or: 3"), "3");
    assert_eq!(eval("| b | b := [ 5 ]. true and: b"), "5");
    let (mut app, _) = interp();
    // An update that redefines `==` for a class reaches inlined `==` and `~~` sites.
    install(&mut app, "Object", "same: x ^ (self == x) -> (self ~~ x)");
    assert_eq!(run(&mut app, "(1 @ 2) same: (1 @ 2)"), "false->true");
    install(
        &mut app,
        "Point",
        "== other ^ (other isKindOf: Point) and: [ x = other x and: [ y = other y ] ]",
    );
    assert_eq!(run(&mut app, "(1 @ 2) same: (1 @ 2)"), "true->false");
    assert_eq!(run(&mut app, "(1 @ 2) same: (1 @ 3)"), "false->true");
}
