//! Bulk migration (`migrateInstancesOf:to:` and its `defaults:` and `using:` forms): one
//! pass in the VM, identities kept, fields matched by name, undoable by rollback and by a
//! revert of the committed update.

mod common;
use common::interp;
use espell_vm::hypervisor::Hypervisor;
use espell_vm::mop::UpdateSession;
use espell_vm::{Interp, Value};

fn eval(app: &mut Interp, src: &str) -> Value {
    app.eval(src, "test").unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn eval_print(app: &mut Interp, src: &str) -> String {
    let v = eval(app, src);
    app.print_string(v)
}

/// A program's points: a shared one, held many times, and a few more.
fn points(app: &mut Interp) {
    eval(
        app,
        "P1 := 1 @ 2. Many := Array new: 20. 1 to: 20 do: [:i | Many at: i put: P1]. Other := Array with: P1 with: 5 @ 6 with: 7 @ 8",
    );
}

/// Point3D (x y z, accessors), created and installed in `s`.
fn point3d(s: &mut UpdateSession, app: &mut Interp, fields: &[&str]) -> Value {
    let object = s.class_named(app, "Object").unwrap().unwrap();
    let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    let c = s.create_class_named(app, "Point3D", object, &fields).unwrap();
    for f in &fields {
        s.compile_and_install(app, c, &format!("{f} ^{f}")).unwrap();
    }
    s.install_class(app, c).unwrap();
    c
}

#[test]
fn declarative_migration_keeps_identity_copies_by_name_and_sets_defaults() {
    let (mut app, _) = interp();
    points(&mut app);
    let p1 = eval(&mut app, "P1");
    let mut s = UpdateSession::new();
    let point = s.class_named(&mut app, "Point").unwrap().unwrap();
    // z is new (given a default), w is new (nil), y keeps its value, x is dropped.
    let new = point3d(&mut s, &mut app, &["w", "y", "z"]);
    let n = s
        .migrate_instances(&mut app, point, new, &[("z".into(), Value::small(9))])
        .unwrap();
    assert_eq!(n, 3, "three points exist");
    s.commit(&mut app);
    assert_eq!(eval(&mut app, "P1"), p1, "same object");
    assert_eq!(eval_print(&mut app, "P1 class"), "Point3D");
    assert_eq!(eval_print(&mut app, "(Many at: 20) == P1"), "true");
    assert_eq!(eval_print(&mut app, "(Many at: 3) y"), "2");
    assert_eq!(eval_print(&mut app, "(Other at: 3) z"), "9");
    assert_eq!(eval_print(&mut app, "(Other at: 2) w"), "nil");
    assert_eq!(eval_print(&mut app, "(Other at: 2) respondsTo: #x"), "false");
}

#[test]
fn rollback_and_revert_restore_the_old_objects_and_shapes() {
    let (mut app, _) = interp();
    points(&mut app);
    let p1 = eval(&mut app, "P1");
    // Rolled back (a failing script after the migration).
    let mut s = UpdateSession::new();
    let point = s.class_named(&mut app, "Point").unwrap().unwrap();
    let new = point3d(&mut s, &mut app, &["x", "y", "z"]);
    s.migrate_instances(&mut app, point, new, &[]).unwrap();
    s.roll_back(&mut app);
    assert_eq!(eval_print(&mut app, "P1 class"), "Point");
    assert_eq!(eval_print(&mut app, "(Other at: 2) x + (Other at: 3) y"), "13");
    // Committed, then reverted.
    let mut s = UpdateSession::new();
    let new = point3d(&mut s, &mut app, &["x", "y", "z"]);
    s.migrate_instances(&mut app, point, new, &[("z".into(), Value::small(0))])
        .unwrap();
    let (_, undo) = s.commit_with_undo(&mut app);
    assert_eq!(eval_print(&mut app, "(Other at: 3) z"), "0");
    // The program runs (and collects garbage) between the update and its revert.
    eval(&mut app, "1 to: 50000 do: [:i | Array new: 3]");
    undo.revert(&mut app);
    assert_eq!(eval(&mut app, "P1"), p1);
    assert_eq!(eval_print(&mut app, "P1 class"), "Point");
    assert_eq!(eval_print(&mut app, "(Many at: 9) + (Other at: 3)"), "8@10");
    assert_eq!(eval_print(&mut app, "Point new class"), "Point");
}

#[test]
fn misuse_is_a_clear_error_and_changes_nothing() {
    let (mut app, _) = interp();
    points(&mut app);
    let mut s = UpdateSession::new();
    let point = s.class_named(&mut app, "Point").unwrap().unwrap();
    let array = s.class_named(&mut app, "Array").unwrap().unwrap();
    let new = point3d(&mut s, &mut app, &["x", "y", "z"]);
    let e = s.migrate_instances(&mut app, point, array, &[]).unwrap_err();
    assert!(e.0.contains("incompatible instance spec"), "{e}");
    let e = s
        .migrate_instances(&mut app, point, new, &[("q".into(), Value::small(1))])
        .unwrap_err();
    assert!(e.0.contains("Point3D has no field named q"), "{e}");
    let e = s.migrate_instances(&mut app, point, point, &[]).unwrap_err();
    assert!(e.0.contains("same class"), "{e}");
    let e = s.migrate_instances(&mut app, Value::small(3), new, &[]).unwrap_err();
    assert!(e.0.contains("expected a class"), "{e}");
    s.commit(&mut app);
    assert_eq!(eval_print(&mut app, "P1 class"), "Point");
}

#[test]
fn scripts_use_all_three_forms_and_a_failure_after_them_rolls_everything_back() {
    let (mut app, _) = interp();
    points(&mut app);
    let mut hv = Hypervisor::new(None).unwrap();
    let script = "Bulk = ChesterUpdate ( run: app = ( | new n |
        new := app createClassNamed: #Point3D superclass: (app classNamed: #Object) fields: #(#x #y #z #sum).
        new compileAndInstall: 'z ^z'. new compileAndInstall: 'sum ^sum'. new compileAndInstall: 'x ^x'.
        app installClass: new.
        n := app migrateInstancesOf: (app classNamed: #Point) to: new using: [ :old :p |
            p slotAt: #sum put: (old slotAt: #x) asLocal + (old slotAt: #y) asLocal.
            p slotAt: #z put: 'zed' ].
        n = 3 ifFalse: [ self error: 'count ', n printString ] ) )";
    let report = hv.run_update(&mut app, script, "bulk.som");
    assert!(report.committed, "{}", report.line());
    assert_eq!(eval_print(&mut app, "(Other at: 2) sum"), "11");
    assert_eq!(eval_print(&mut app, "(Many at: 1) z"), "'zed'");
    assert_eq!(eval_print(&mut app, "(Many at: 1) == (Other at: 1)"), "true");
    let script = "Again = ChesterUpdate ( run: app = ( | p4 n m |
        p4 := app createClassNamed: #Point4D superclass: (app classNamed: #Object) fields: #(#x #y #z #t).
        p4 compileAndInstall: 't ^t'.
        app installClass: p4.
        n := app migrateInstancesOf: (app classNamed: #Point3D) to: p4 defaults: #(#t 'time').
        m := app migrateInstancesOf: (app classNamed: #Point4D) to: (app classNamed: #Point3D).
        (n = 3 and: [ m = 3 ]) ifFalse: [ self error: 'counts' ].
        self error: 'deliberate failure after the migrations' ) )";
    let report = hv.run_update(&mut app, script, "again.som");
    assert!(!report.committed);
    assert!(report.reason.contains("deliberate failure"), "{}", report.reason);
    assert_eq!(eval_print(&mut app, "(Other at: 2) class"), "Point3D");
    assert_eq!(eval_print(&mut app, "(Other at: 2) sum"), "11");
    assert_eq!(eval_print(&mut app, "(Other at: 3) z"), "'zed'");
    let report = hv.run_update(
        &mut app,
        "Bad = ChesterUpdate ( run: app = ( app migrateInstancesOf: (app classNamed: #Point3D) to: (app classNamed: #Point) defaults: #(#x) ) )",
        "bad.som",
    );
    assert!(!report.committed);
    assert!(report.reason.contains("field name, value pairs"), "{}", report.reason);
}

#[test]
fn a_revert_keeps_what_the_program_wrote_into_copied_fields_since() {
    let (mut app, _) = interp();
    points(&mut app);
    let mut s = UpdateSession::new();
    let point = s.class_named(&mut app, "Point").unwrap().unwrap();
    let new = point3d(&mut s, &mut app, &["x", "y", "z"]);
    s.migrate_instances(&mut app, point, new, &[("z".into(), Value::small(0))])
        .unwrap();
    let (_, undo) = s.commit_with_undo(&mut app);
    // The program moves a point after the migration (through a method compiled for it).
    let mut s = UpdateSession::new();
    s.compile_and_install(&mut app, new, "moveTo: ax  x := ax. z := 5")
        .unwrap();
    s.commit(&mut app);
    eval(&mut app, "(Other at: 2) moveTo: 50");
    undo.revert(&mut app);
    assert_eq!(eval_print(&mut app, "(Other at: 2) class"), "Point");
    assert_eq!(
        eval_print(&mut app, "(Other at: 2) x"),
        "50",
        "the program's write is kept"
    );
    assert_eq!(eval_print(&mut app, "(Other at: 2) y"), "6");
}
