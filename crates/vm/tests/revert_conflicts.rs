//! A revert of per-object MOP writes (`slotAt:put:`, `swapIdentityWith:`) must not
//! silently overwrite what the program wrote since the update committed: it is refused,
//! naming the objects, unless nothing the update wrote was changed since.

mod common;
use common::interp;
use espell_vm::hypervisor::{Hypervisor, UpdateReport};
use espell_vm::Interp;

fn eval_print(app: &mut Interp, src: &str) -> String {
    let v = app.eval(src, "test").unwrap_or_else(|e| panic!("{src}: {e}"));
    app.print_string(v)
}

/// A program with a `Config` object (two fields) and three 2-D points, set up as a
/// program of its own would be.
fn app_with_config() -> Interp {
    let (mut app, _) = interp();
    let mut hv = Hypervisor::new(None).unwrap();
    let setup = "Setup = ChesterUpdate ( run: app = ( | c p |
        c := app createClassNamed: #Config superclass: (app classNamed: #Object) fields: #(#level #other).
        c compileAndInstall: 'level ^level'.
        c compileAndInstall: 'level: n  level := n'.
        c compileAndInstall: 'other ^other'.
        c compileAndInstall: 'other: n  other := n'.
        app installClass: c.
        p := app createClassNamed: #P2 superclass: (app classNamed: #Object) fields: #(#x #y).
        p compileAndInstall: 'x ^x'.
        p compileAndInstall: 'x: n  x := n'.
        p compileAndInstall: 'y ^y'.
        app installClass: p ) )";
    let report = hv.run_update(&mut app, setup, "setup.som");
    assert!(report.committed, "{}", report.line());
    app.eval(
        "C := Config new. C level: 1. C other: 2.
         Ps := Array new: 3. 1 to: 3 do: [ :i | Ps at: i put: (P2 new x: i; yourself) ]",
        "setup",
    )
    .unwrap();
    app
}

fn run(app: &mut Interp, body: &str) -> UpdateReport {
    let mut hv = Hypervisor::new(None).unwrap();
    hv.keep_undo = true;
    let script = format!("Update = ChesterUpdate ( run: app = ( {body} ) )");
    let report = hv.run_update(app, &script, "update.som");
    assert!(report.committed, "{}", report.line());
    report
}

const SET_LEVEL: &str = "(app globalAt: #C) slotAt: #level put: 5";

/// The per-object 2-D -> 3-D migration of PointTo3D.som, on P2.
const TO_3D: &str =
    "| new | new := app createClassNamed: #P3 superclass: (app classNamed: #Object) fields: #(#x #y #z).
    new compileAndInstall: 'x ^x'. new compileAndInstall: 'x: n  x := n'. new compileAndInstall: 'z ^z'.
    app installClass: new.
    (app instancesOf: (app classNamed: #P2)) do: [ :p | | q |
        q := app newInstanceOf: new.
        q slotAt: #x put: (p slotAt: #x). q slotAt: #z put: 0.
        p swapIdentityWith: q ]";

#[test]
fn a_slot_revert_goes_through_when_the_program_left_the_slot_alone() {
    let mut app = app_with_config();
    let undo = run(&mut app, SET_LEVEL).undo.expect("kept");
    assert_eq!(eval_print(&mut app, "C level"), "5");
    // The program writes another field of the same object: that is no conflict.
    app.eval("C other: 20", "program").unwrap();
    assert_eq!(undo.revert_blocker(&app), None);
    undo.revert(&mut app);
    assert_eq!(eval_print(&mut app, "C level"), "1");
    assert_eq!(eval_print(&mut app, "C other"), "20", "the program's write stays");
}

#[test]
fn a_slot_revert_is_refused_once_the_program_wrote_that_slot() {
    let mut app = app_with_config();
    let undo = run(&mut app, SET_LEVEL).undo.expect("kept");
    app.eval("C level: 7", "program").unwrap();
    let reason = undo
        .revert_blocker(&app)
        .expect("the revert would overwrite the program's 7");
    assert!(
        reason.contains("cannot revert") && reason.contains("a Config") && reason.contains("level"),
        "{reason}"
    );
    // Nothing was touched by asking.
    assert_eq!(eval_print(&mut app, "C level"), "7");
    // Writing the update's value back removes the conflict.
    app.eval("C level: 5", "program").unwrap();
    assert_eq!(undo.revert_blocker(&app), None);
}

#[test]
fn a_swap_revert_is_refused_once_the_program_changed_a_swapped_object() {
    let mut app = app_with_config();
    let undo = run(&mut app, TO_3D).undo.expect("kept");
    assert_eq!(eval_print(&mut app, "(Ps at: 2) class name"), "#P3");
    assert_eq!(undo.revert_blocker(&app), None, "nothing changed since");
    app.eval("(Ps at: 2) x: 200", "program").unwrap();
    let reason = undo.revert_blocker(&app).expect("the revert would lose x = 200");
    assert!(reason.contains("cannot revert") && reason.contains("1 of"), "{reason}");
}

#[test]
fn a_swap_revert_without_program_writes_restores_the_old_objects() {
    let mut app = app_with_config();
    let undo = run(&mut app, TO_3D).undo.expect("kept");
    assert_eq!(undo.revert_blocker(&app), None);
    undo.revert(&mut app);
    assert_eq!(eval_print(&mut app, "(Ps at: 2) class name"), "#P2");
    assert_eq!(eval_print(&mut app, "(Ps at: 3) x"), "3");
}
