//! `addField:` / `removeField:` through the MOP: a class-side variable added to a class
//! is a slot of the class object at once, and a change that leaves a subclass with a
//! layout that no longer extends its superclass's (so that inherited methods would read
//! the subclass's own fields) fails the update instead of corrupting instances.

mod common;
use common::interp;
use espell_vm::hypervisor::{Hypervisor, UpdateReport};
use espell_vm::Interp;

fn eval_print(app: &mut Interp, src: &str) -> String {
    let v = app.eval(src, "test").unwrap_or_else(|e| panic!("{src}: {e}"));
    app.print_string(v)
}

/// A program with `Base` (fields a b, class-side variables made and kind) and `Leaf`
/// (a subclass with its own field d), one instance of each in globals.
fn app_with_hierarchy() -> Interp {
    let (mut app, _) = interp();
    let setup = "Setup = ChesterUpdate ( run: app = ( | b l |
        b := app createClassNamed: #Base superclass: (app classNamed: #Object) fields: #(#a #b).
        b compileAndInstall: 'a ^a'.
        b compileAndInstall: 'a: x  a := x'.
        app installClass: b.
        l := app createClassNamed: #Leaf superclass: b fields: #(#d).
        l compileAndInstall: 'd ^d'.
        l compileAndInstall: 'd: x  d := x'.
        app installClass: l ) )";
    let report = Hypervisor::new(None).unwrap().run_update(&mut app, setup, "setup.som");
    assert!(report.committed, "{}", report.line());
    app.eval(
        "B := Base new a: 1; yourself. L := Leaf new a: 2; d: 3; yourself",
        "setup",
    )
    .unwrap();
    app
}

fn run(app: &mut Interp, body: &str) -> UpdateReport {
    let script = format!("Update = ChesterUpdate ( run: app = ( {body} ) )");
    Hypervisor::new(None).unwrap().run_update(app, &script, "update.som")
}

#[test]
fn a_field_added_above_a_subclass_with_fields_of_its_own_fails_the_update() {
    let mut app = app_with_hierarchy();
    let before = espell_vm::mop::space_digest(&app);
    let report = run(
        &mut app,
        "| b | b := app classNamed: #Base. b addField: #z. b compileAndInstall: 'z: v  z := v'",
    );
    assert!(!report.committed, "{}", report.line());
    assert!(
        report.reason.contains("Leaf") && report.reason.contains("Base") && report.reason.contains("migrate"),
        "{}",
        report.reason
    );
    assert_eq!(espell_vm::mop::space_digest(&app), before);
    assert_eq!(eval_print(&mut app, "L d"), "3");
}

#[test]
fn a_class_side_variable_added_through_the_mop_is_usable_at_once() {
    let mut app = app_with_hierarchy();
    let report = run(
        &mut app,
        "| b | b := app classNamed: #Base.
         b classSide addField: #made.
         b classSide compileAndInstall: 'made ^made'.
         b slotAt: #made put: 41.
         ((b slotAt: #made) asLocal = 41) ifFalse: [ self error: 'not kept' ]",
    );
    // Base has a subclass, whose metaclass would not have the new field: refused.
    assert!(!report.committed, "{}", report.line());
    assert!(report.reason.contains("Leaf class"), "{}", report.reason);
    // On a class without subclasses it works, and a later removeField: keeps the others.
    let report = run(
        &mut app,
        "| l | l := app classNamed: #Leaf.
         l classSide addField: #made.
         l classSide addField: #kind.
         l classSide compileAndInstall: 'made ^made'.
         l classSide compileAndInstall: 'kind ^kind'.
         l slotAt: #made put: 41.
         l slotAt: #kind put: #leafy",
    );
    assert!(report.committed, "{}", report.line());
    assert_eq!(eval_print(&mut app, "Leaf made"), "41");
    assert_eq!(eval_print(&mut app, "Leaf kind"), "#leafy");
    let report = run(
        &mut app,
        "| l | l := app classNamed: #Leaf. l classSide removeMethod: #kind. l classSide removeField: #kind",
    );
    assert!(report.committed, "{}", report.line());
    assert_eq!(eval_print(&mut app, "Leaf made"), "41");
    assert_eq!(eval_print(&mut app, "L d"), "3");
}
