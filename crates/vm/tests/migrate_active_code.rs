//! A bulk migration that moves or drops fields must not leave code compiled for the old
//! layout running on the migrated instances: a process suspended inside a method of the
//! old class, or a block made in one and still held, would read and write the wrong
//! fields after it. Such a migration is refused with a clear error (the update rolls
//! back); one that keeps the old fields in place is allowed and that code stays right.

mod common;
use common::interp;
use espell_vm::hypervisor::{Hypervisor, UpdateReport};
use espell_vm::Interp;

fn eval_print(app: &mut Interp, src: &str) -> String {
    let v = app.eval(src, "test").unwrap_or_else(|e| panic!("{src}: {e}"));
    app.print_string(v)
}

/// A program with `Item` (fields a b c) and one instance `It` = 1, 2, 3.
fn app_with_item() -> Interp {
    let (mut app, _) = interp();
    let setup = "Setup = ChesterUpdate ( run: app = ( | c |
        c := app createClassNamed: #Item superclass: (app classNamed: #Object) fields: #(#a #b #c).
        c compileAndInstall: 'setA: x b: y c: z  a := x. b := y. c := z'.
        c compileAndInstall: 'sum  ^ a + b + c'.
        c compileAndInstall: 'fieldBlock  ^ [ a + b + c ]'.
        c compileAndInstall: 'sumAfter: s  | x | x := a. s wait. system global: #Result put: x + b + c'.
        app installClass: c ) )";
    let report = Hypervisor::new(None).unwrap().run_update(&mut app, setup, "setup.som");
    assert!(report.committed, "{}", report.line());
    app.eval("It := Item new setA: 1 b: 2 c: 3; yourself", "setup").unwrap();
    app
}

/// Lets the suspended `sumAfter:` finish (yielding until it has answered, a bounded
/// number of times: time slices may interleave on a loaded machine).
const SIGNAL_AND_WAIT: &str = "| n | S signal. n := 0.
    [ (system global: #Result) isNil and: [ n < 100000 ] ] whileTrue: [ n := n + 1. Processor yield ]";

/// Migrates every Item to a new Item with `fields` (accessors compiled for it).
fn migrate(app: &mut Interp, fields: &str) -> UpdateReport {
    let script = format!(
        "Update = ChesterUpdate ( run: app = ( | old new |
            old := app classNamed: #Item.
            new := app createClassNamed: #Item superclass: (app classNamed: #Object) fields: {fields}.
            new compileAndInstall: 'sum  ^ a + b + c'.
            app installClass: new.
            app migrateInstancesOf: old to: new defaults: #(#z 0) ) )"
    );
    Hypervisor::new(None).unwrap().run_update(app, &script, "update.som")
}

#[test]
fn a_held_block_of_the_old_class_refuses_a_reordering_migration() {
    let mut app = app_with_item();
    app.eval("Blk := It fieldBlock", "program").unwrap();
    let before = espell_vm::mop::space_digest(&app);
    let report = migrate(&mut app, "#(#c #z #a #b)");
    assert!(!report.committed, "{}", report.line());
    assert!(
        report.reason.contains("Item>>#fieldBlock") && report.reason.contains("block"),
        "{}",
        report.reason
    );
    assert_eq!(espell_vm::mop::space_digest(&app), before);
    assert_eq!(eval_print(&mut app, "Blk value"), "6");
    // Once the program dropped the block (garbage not yet collected) the migration goes.
    app.eval("Blk := nil", "program").unwrap();
    let report = migrate(&mut app, "#(#c #z #a #b)");
    assert!(report.committed, "{}", report.line());
    assert_eq!(eval_print(&mut app, "It sum"), "6");
}

#[test]
fn a_process_suspended_in_a_method_of_the_old_class_refuses_a_reordering_migration() {
    let mut app = app_with_item();
    app.eval(
        "S := Semaphore new. [ It sumAfter: S ] fork. Processor yield",
        "program",
    )
    .unwrap();
    let report = migrate(&mut app, "#(#b #a #c #z)");
    assert!(!report.committed, "{}", report.line());
    assert!(report.reason.contains("Item>>#sumAfter:"), "{}", report.reason);
    app.eval(SIGNAL_AND_WAIT, "program").unwrap();
    assert_eq!(eval_print(&mut app, "system global: #Result"), "6");
}

#[test]
fn a_migration_that_keeps_the_old_fields_in_place_is_allowed_with_old_code_alive() {
    let mut app = app_with_item();
    app.eval(
        "Blk := It fieldBlock. S := Semaphore new. [ It sumAfter: S ] fork. Processor yield",
        "program",
    )
    .unwrap();
    let report = migrate(&mut app, "#(#a #b #c #z)");
    assert!(report.committed, "{}", report.line());
    app.eval(SIGNAL_AND_WAIT, "program").unwrap();
    assert_eq!(eval_print(&mut app, "system global: #Result"), "6");
    assert_eq!(eval_print(&mut app, "Blk value"), "6");
    assert_eq!(eval_print(&mut app, "It sum"), "6");
}

/// The per-object form of the reordering migration: a new object per instance, fields
/// copied, identities swapped.
fn swap_migrate(app: &mut Interp, fields: &str) -> UpdateReport {
    let script = format!(
        "Update = ChesterUpdate ( run: app = ( | old new |
            old := app classNamed: #Item.
            new := app createClassNamed: #Item superclass: (app classNamed: #Object) fields: {fields}.
            new compileAndInstall: 'sum  ^ a + b + c'.
            app installClass: new.
            (app instancesOf: old) do: [ :p | | q |
                q := app newInstanceOf: new.
                #(#a #b #c) do: [ :f | q slotAt: f put: (p slotAt: f) ].
                p swapIdentityWith: q ] ) )"
    );
    Hypervisor::new(None).unwrap().run_update(app, &script, "update.som")
}

#[test]
fn a_reordering_swap_under_a_held_block_of_the_old_class_fails_the_update() {
    let mut app = app_with_item();
    app.eval("Blk := It fieldBlock", "program").unwrap();
    let before = espell_vm::mop::space_digest(&app);
    let report = swap_migrate(&mut app, "#(#c #z #a #b)");
    assert!(!report.committed, "{}", report.line());
    assert!(
        report.reason.contains("Item>>#fieldBlock") && report.reason.contains("swap"),
        "{}",
        report.reason
    );
    assert_eq!(espell_vm::mop::space_digest(&app), before);
    assert_eq!(eval_print(&mut app, "Blk value"), "6");
    // Without old code alive on the instance the same update goes through.
    app.eval("Blk := nil", "program").unwrap();
    let report = swap_migrate(&mut app, "#(#c #z #a #b)");
    assert!(report.committed, "{}", report.line());
    assert_eq!(eval_print(&mut app, "It sum"), "6");
}
