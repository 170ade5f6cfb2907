//! The MOP: the Rust API (`UpdateSession`) operation by operation, its misuse errors, and
//! the paper's four validations run through a hypervisor on a paused application.

mod common;
use common::interp;
use espell_vm::hypervisor::Hypervisor;
use espell_vm::mop::{SlotRef, UpdateSession};
use espell_vm::{Interp, Value};

fn eval(app: &mut Interp, src: &str) -> Value {
    app.eval(src, "test").unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn eval_print(app: &mut Interp, src: &str) -> String {
    let v = eval(app, src);
    app.print_string(v)
}

fn class(app: &mut Interp, name: &str) -> Value {
    app.load_class(name).unwrap().unwrap()
}

#[test]
fn code_loading_create_install_compile_remove() {
    let (mut app, _) = interp();
    let mut s = UpdateSession::new();
    let object = s.class_named(&mut app, "Object").unwrap().unwrap();
    let c = s
        .create_class_named(&mut app, "Gadget", object, &["size".into()])
        .unwrap();
    assert!(
        s.class_named(&mut app, "Gadget").unwrap().is_none(),
        "not installed yet"
    );
    s.install_class(&mut app, c).unwrap();
    let m = s.compile(&mut app, "size ^size ifNil: [42]", c).unwrap();
    s.install_method(&mut app, c, m).unwrap();
    assert_eq!(s.selectors(&app, c).unwrap(), vec!["size".to_string()]);
    s.commit(&mut app);
    assert_eq!(eval_print(&mut app, "Gadget new size"), "42");
    let mut s = UpdateSession::new();
    s.remove_method(&mut app, c, "size").unwrap();
    s.remove_class(&mut app, c).unwrap();
    s.commit(&mut app);
    assert!(app.eval("Gadget new size", "test").is_err());
}

#[test]
fn compile_resolves_names_in_the_target_space_and_reports_line_and_column() {
    let (mut app, _) = interp();
    let mut s = UpdateSession::new();
    let object = class(&mut app, "Object");
    let err = s.compile(&mut app, "foo\n  ^ 3 +", object).unwrap_err();
    assert!(err.0.contains("line 2"), "{err}");
    let m = s
        .compile(&mut app, "answer ^Vector new append: 7; yourself", object)
        .unwrap();
    s.install_method(&mut app, object, m).unwrap();
    s.commit(&mut app);
    assert_eq!(eval_print(&mut app, "nil answer size"), "1");
}

#[test]
fn first_send_after_commit_runs_the_new_code() {
    let (mut app, _) = interp();
    eval(&mut app, "Probe := Array new: 1");
    let array = class(&mut app, "Array");
    // Warm the inline cache of a send site.
    assert_eq!(
        eval_print(&mut app, "1 to: 3 do: [:i | Probe isEmpty]. Probe isEmpty"),
        "false"
    );
    let mut s = UpdateSession::new();
    s.compile_and_install(&mut app, array, "isEmpty ^#patched").unwrap();
    s.commit(&mut app);
    assert_eq!(eval_print(&mut app, "Probe isEmpty"), "#patched");
}

#[test]
fn instance_migration_slots_set_class_swap() {
    let (mut app, _) = interp();
    eval(&mut app, "P := 3 @ 4. Holder := Array with: P with: P");
    let p = eval(&mut app, "P");
    let point = class(&mut app, "Point");
    let mut s = UpdateSession::new();
    assert_eq!(s.slot_at(&app, p, &SlotRef::Name("x".into())).unwrap(), Value::small(3));
    assert_eq!(s.slot_at(&app, p, &SlotRef::Index(2)).unwrap(), Value::small(4));
    assert!(s.instances_of(&mut app, point).unwrap().contains(&p));
    let q = s.new_instance_of(&mut app, point).unwrap();
    s.slot_at_put(&mut app, q, &SlotRef::Name("x".into()), Value::small(10))
        .unwrap();
    s.slot_at_put(&mut app, q, &SlotRef::Name("y".into()), Value::small(20))
        .unwrap();
    s.swap_identity(&mut app, p, q).unwrap();
    s.commit(&mut app);
    assert_eq!(eval_print(&mut app, "(Holder at: 1) x + (Holder at: 2) y + P x"), "40");
}

#[test]
fn misuse_is_a_clear_error() {
    let (mut app, _) = interp();
    let mut s = UpdateSession::new();
    let point = class(&mut app, "Point");
    let array = class(&mut app, "Array");
    let p = eval(&mut app, "3 @ 4");
    assert!(s.set_class(&mut app, p, array).unwrap_err().0.contains("incompatible"));
    assert!(s
        .remove_method(&mut app, point, "noSuchSelector")
        .unwrap_err()
        .0
        .contains("no method"));
    assert!(s
        .slot_at(&app, p, &SlotRef::Name("zz".into()))
        .unwrap_err()
        .0
        .contains("no field"));
    assert!(s
        .slot_at(&app, p, &SlotRef::Index(9))
        .unwrap_err()
        .0
        .contains("out of bounds"));
    assert!(s.special_object_at(&app, "noSuchSpecial").is_err());
    assert!(s.swap_identity(&mut app, Value::small(1), p).is_err());
    let object = class(&mut app, "Object");
    assert!(s
        .set_superclass(&mut app, object, point)
        .unwrap_err()
        .0
        .contains("cyclic"));
    assert!(s.install_method(&mut app, point, p).is_err());
}

#[test]
fn special_objects_take_effect_at_the_next_bytecode() {
    let (mut app, _) = interp();
    let mut s = UpdateSession::new();
    let int = s.special_object_at(&app, "smallIntegerClass").unwrap();
    let mine = s.create_class_named(&mut app, "MySmallInteger", int, &[]).unwrap();
    s.compile_and_install(&mut app, mine, "asPoint ^Point x: self y: self * 10")
        .unwrap();
    s.install_class(&mut app, mine).unwrap();
    s.special_object_at_put(&mut app, "smallIntegerClass", mine).unwrap();
    s.commit(&mut app);
    assert_eq!(eval_print(&mut app, "3 class"), "MySmallInteger");
    assert_eq!(eval_print(&mut app, "(3 asPoint) y"), "30");
    assert_eq!(eval_print(&mut app, "3 + 4 * 2"), "14");
    assert_eq!(eval_print(&mut app, "(2 raisedTo: 70) class"), "Integer");
}

fn snapshot(app: &mut Interp) -> String {
    // Classes, their method selectors and holders, specials, globals and some slots, as text.
    let mut out = String::new();
    for name in [
        "Object",
        "Array",
        "SequenceableCollection",
        "Point",
        "Integer",
        "Collection",
    ] {
        let c = class(app, name);
        let info = app.space.class_info(c);
        let sels: Vec<String> = info
            .methods
            .iter()
            .map(|&m| app.space.name_of(app.space.method_of(m).unwrap().selector))
            .collect();
        out.push_str(&format!(
            "{name} {:?} {:?} {:?}\n",
            info.superclass, info.instance_fields, sels
        ));
    }
    out.push_str(&format!("{:?}\n", app.space.specials));
    // Unbound global slots are not observable (a failed lookup may create one).
    let bound: Vec<_> = app
        .space
        .globals
        .iter()
        .filter_map(|g| g.value.map(|v| (g.name, v)))
        .collect();
    out.push_str(&format!("{bound:?}\n"));
    out
}

const FAILING_SCRIPT: &str = r#"
Wrecker = ChesterUpdate (
    run: app = ( | seq obj pt mine p q int |
        seq := app classNamed: #SequenceableCollection.
        obj := app classNamed: #Object.
        seq removeMethod: #do:.
        obj compileAndInstall: 'do: aBlock  1 to: self size do: [:i | aBlock value: (self at: i)]'.
        obj compileAndInstall: 'wrecked ^true'.
        1 to: 20 do: [:i | obj compileAndInstall: 'wrecked', i printString, ' ^', i printString].
        int := app specialObjectAt: #smallIntegerClass.
        mine := app createClassNamed: #Mine superclass: int fields: #().
        app installClass: mine.
        app specialObjectAt: #smallIntegerClass put: mine.
        pt := app classNamed: #Point.
        pt addField: #z.
        1 to: 2 do: [:i | ((app globalAt: #Keep) slotAt: i) slotAt: #x put: 99].
        p := (app globalAt: #Keep) slotAt: 1.
        q := (app globalAt: #Keep) slotAt: 2.
        p swapIdentityWith: q.
        app globalAt: #Keep put: 'gone'.
        (app classNamed: #Array) superclass: obj.
        app classNamed: #NoSuchClassAnywhere.
        obj removeMethod: #noSuchSelectorAtAll
    )
)
"#;

#[test]
fn a_failing_script_leaves_the_space_identical() {
    let (mut app, _) = interp();
    eval(&mut app, "Keep := Array with: 1 @ 2 with: 3 @ 4");
    let before = snapshot(&mut app);
    let first_before = eval(&mut app, "Keep at: 1");
    let mut hv = Hypervisor::new(None).unwrap();
    let report = hv.run_update(&mut app, FAILING_SCRIPT, "wrecker.som");
    assert!(!report.committed, "{}", report.line());
    assert!(report.reason.contains("noSuchSelectorAtAll"), "{}", report.reason);
    assert!(report.changes > 30, "dozens of changes were made: {}", report.changes);
    assert_eq!(snapshot(&mut app), before);
    assert_eq!(eval(&mut app, "Keep at: 1"), first_before, "identities restored");
    assert_eq!(eval_print(&mut app, "(Keep at: 1) x + (Keep at: 2) x"), "4");
    assert_eq!(eval_print(&mut app, "3 class"), "Integer");
    assert_eq!(
        eval_print(&mut app, "| s | s := 0. #(1 2 3) do: [:e | s := s + e]. s"),
        "6"
    );
}

#[test]
fn move_do_to_object_runs_in_the_hypervisor_unaffected() {
    let (mut app, _) = interp();
    let mut hv = Hypervisor::new(None).unwrap();
    let script = "MoveDo = ChesterUpdate ( run: app = (
        (app classNamed: #SequenceableCollection) removeMethod: #do:.
        #(1 2 3) do: [:e | e].
        (app classNamed: #Object) compileAndInstall: 'do: aBlock  1 to: self size do: [:i | aBlock value: (self at: i)]' ) )";
    let report = hv.run_update(&mut app, script, "move.som");
    assert!(report.committed, "{}", report.line());
    assert_eq!(
        eval_print(&mut app, "| s | s := 0. #(1 2 3) do: [:e | s := s + e]. s"),
        "6"
    );
    assert_eq!(
        eval_print(&mut app, "(Object methods collect: [:m | m signature]) includes: #do:"),
        "true"
    );
}

#[test]
fn points_migrate_to_3d_through_mirrors() {
    let (mut app, _) = interp();
    eval(&mut app, "P1 := 1 @ 2. Many := Array new: 50. 1 to: 50 do: [:i | Many at: i put: P1]. Other := Array with: P1 with: 5 @ 6");
    let mut hv = Hypervisor::new(None).unwrap();
    let script = "To3D = ChesterUpdate ( run: app = ( | old new |
        old := app classNamed: #Point.
        new := app createClassNamed: #Point3D superclass: (app classNamed: #Object) fields: #(#x #y #z).
        new compileAndInstall: 'x ^x'. new compileAndInstall: 'y ^y'. new compileAndInstall: 'z ^z'.
        app installClass: new.
        (app instancesOf: old) do: [:p | | q |
            q := app newInstanceOf: new.
            q slotAt: #x put: (p slotAt: #x).
            q slotAt: #y put: (p slotAt: #y).
            q slotAt: #z put: 0.
            p swapIdentityWith: q ] ) )";
    let report = hv.run_update(&mut app, script, "to3d.som");
    assert!(report.committed, "{}", report.line());
    assert_eq!(eval_print(&mut app, "P1 class"), "Point3D");
    assert_eq!(eval_print(&mut app, "(Many at: 50) == P1"), "true");
    assert_eq!(
        eval_print(&mut app, "(Many at: 7) z + (Other at: 1) y + (Other at: 2) x"),
        "7"
    );
    let point = class(&mut app, "Point");
    app.collect_garbage();
    assert_eq!(app.space.heap.instances_of(point).len(), 0, "no 2-D point is left");
}

#[test]
fn mirrors_are_invalid_after_their_session() {
    let (mut app, _) = interp();
    let mut hv = Hypervisor::new(None).unwrap();
    let keep = "Keeper = ChesterUpdate ( run: app = ( system global: #Saved put: (app classNamed: #Object) ) )";
    assert!(hv.run_update(&mut app, keep, "keep.som").committed);
    let reuse = "Reuser = ChesterUpdate ( run: app = ( (system global: #Saved) name ) )";
    let report = hv.run_update(&mut app, reuse, "reuse.som");
    assert!(!report.committed);
    assert!(report.reason.contains("session that has ended"), "{}", report.reason);
}

#[test]
fn scripts_that_do_not_parse_or_are_not_updates_change_nothing() {
    let (mut app, _) = interp();
    let before = snapshot(&mut app);
    let mut hv = Hypervisor::new(None).unwrap();
    let r = hv.run_update(&mut app, "Broken = ChesterUpdate ( run: app = ( ^ ) )", "broken.som");
    assert!(!r.committed && r.reason.contains("broken.som:1:"), "{}", r.reason);
    let r = hv.run_update(&mut app, "NotAnUpdate = ( run: app = ( ^1 ) )", "plain.som");
    assert!(
        !r.committed && r.reason.contains("not a subclass of ChesterUpdate"),
        "{}",
        r.reason
    );
    assert_eq!(snapshot(&mut app), before);
}

#[test]
fn the_application_cannot_reach_mirror_primitives() {
    // An application class named like a mirror class, declaring the same primitives, gets
    // no mirror behaviour: the primitives are only bound in hypervisor spaces.
    let dir = std::env::temp_dir().join(format!("espell-iso-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("ObjectSpaceMirror.som"),
        "ObjectSpaceMirror = ( | handle session | classNamed: aSymbol = primitive globalAt: aSymbol = primitive )",
    )
    .unwrap();
    let mut app = Interp::new(espell_vm::Loader::new(vec![dir], None)).unwrap();
    let sink = common::Sink::default();
    app.out = Box::new(sink.clone());
    app.err = Box::new(sink.clone());
    // The unbound primitives fail (a PrimitiveFailed error, reported on the output).
    let err = app
        .eval("ObjectSpaceMirror new classNamed: #Object", "test")
        .unwrap_err();
    assert!(format!("{err}{}", sink.text()).contains("not implemented"), "{err}");
    let err = app.eval("ObjectSpaceMirror new globalAt: #Object", "test").unwrap_err();
    assert!(format!("{err}{}", sink.text()).contains("not implemented"), "{err}");
    let caught = app.eval(
        "[ ObjectSpaceMirror new classNamed: #Object ] on: PrimitiveFailed do: [:e | #refused ]",
        "test",
    );
    let caught = caught.map(|v| app.print_string(v)).unwrap();
    assert_eq!(caught, "#refused");
}

#[test]
fn thread_and_frame_mirrors() {
    let dir = std::env::temp_dir().join(format!("espell-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Looper.som"),
        "Looper = ( | count | run = ( count := 0. [ true ] whileTrue: [ count := count + 1. Sem wait ] ) count = ( ^count ) )",
    )
    .unwrap();
    let mut app = Interp::new(espell_vm::Loader::new(vec![dir], None)).unwrap();
    eval(
        &mut app,
        "Sem := Semaphore new. Worker := [ Looper new run ] fork. Processor yield. Sem signal. Processor yield",
    );
    let mut hv = Hypervisor::new(None).unwrap();
    let inspect = "Inspect = ChesterUpdate ( run: app = ( | worker frame |
        worker := app threads detect: [:t | t stackFrames notEmpty ].
        frame := worker currentFrame.
        frame method selector == #run ifFalse: [ self error: 'top frame ', frame method selector ].
        (frame receiver slotAt: #count) asLocal = 2 ifFalse: [ self error: 'count' ].
        frame sender method selector printString.
        worker isAtUpdatePoint ifTrue: [ self error: 'not at an update point' ].
        app globalAt: #Seen put: worker stackFrames size ) )";
    let report = hv.run_update(&mut app, inspect, "inspect.som");
    assert!(report.committed, "{}", report.line());
    assert_eq!(eval_print(&mut app, "Seen"), "2");
    // Restart the worker's top frame: count starts over.
    let restart = "Restart = ChesterUpdate ( run: app = ( | worker |
        worker := app threads detect: [:t | t stackFrames notEmpty ].
        worker currentFrame: worker currentFrame ) )";
    assert!(hv.run_update(&mut app, restart, "restart.som").committed);
    eval(&mut app, "Processor yield");
    let looper = eval_print(&mut app, "(Worker suspendedContext receiver) count");
    assert_eq!(
        looper, "1",
        "the restarted run set count to 0 and counted once before waiting"
    );
    // A new thread, installed, runs when the space resumes; terminate ends the worker.
    let fork = "Fork = ChesterUpdate ( run: app = ( | t worker |
        worker := app threads detect: [:x | x stackFrames notEmpty ].
        worker terminate.
        t := app createThreadSending: #run to: (app newInstanceOf: (app classNamed: #Looper)).
        app installThread: t ) )";
    assert!(hv.run_update(&mut app, fork, "fork.som").committed);
    assert_eq!(eval_print(&mut app, "Worker isTerminated"), "true");
    eval(&mut app, "Processor yield");
    assert_eq!(eval_print(&mut app, "Sem signal. Processor yield. 1"), "1");
    // A failing script restores the threads it touched.
    let failing = "Kill = ChesterUpdate ( run: app = (
        (app threads detect: [:x | x stackFrames notEmpty ]) terminate.
        self error: 'no' ) )";
    let before = eval_print(&mut app, "(Processor activeProcess) isTerminated");
    let report = hv.run_update(&mut app, failing, "kill.som");
    assert!(!report.committed);
    assert_eq!(eval_print(&mut app, "(Processor activeProcess) isTerminated"), before);
    let alive = "Count = ChesterUpdate ( run: app = ( app globalAt: #Alive put: (app threads select: [:x | x stackFrames notEmpty ]) size ) )";
    assert!(hv.run_update(&mut app, alive, "count.som").committed);
    assert_eq!(
        eval_print(&mut app, "Alive"),
        "1",
        "the installed thread survived the rolled-back terminate"
    );
}

#[test]
fn inserting_a_frame_runs_it_first_then_the_thread_goes_on() {
    let dir = std::env::temp_dir().join(format!("espell-insert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Ticker.som"),
        "Ticker = ( | log | log = ( ^log ) run = ( log := Vector new. [ true ] whileTrue: [ log append: #tick. Sem wait ] ) note = ( log append: #inserted. ^#ignored ) )",
    )
    .unwrap();
    let mut app = Interp::new(espell_vm::Loader::new(vec![dir], None)).unwrap();
    eval(
        &mut app,
        "Sem := Semaphore new. T := Ticker new. Worker := [ T run ] fork. Processor yield",
    );
    let mut hv = Hypervisor::new(None).unwrap();
    let insert = "Insert = ChesterUpdate ( run: app = ( | worker frame |
        worker := app threads detect: [:t | t stackFrames notEmpty ].
        frame := app createFrameSending: #note to: (app globalAt: #T).
        worker insertFrame: frame above: worker currentFrame ) )";
    let report = hv.run_update(&mut app, insert, "insert.som");
    assert!(report.committed, "{}", report.line());
    eval(&mut app, "Sem signal. Processor yield. Sem signal. Processor yield");
    assert_eq!(
        eval_print(&mut app, "(T log collect: [:e | e]) asArray"),
        "#(#tick #inserted #tick #tick)"
    );
    let twice = "Twice = ChesterUpdate ( run: app = ( | worker |
        worker := app threads detect: [:t | t stackFrames notEmpty ].
        worker insertFrame: #notAFrame above: worker currentFrame ) )";
    let report = hv.run_update(&mut app, twice, "twice.som");
    assert!(!report.committed);
    assert!(report.reason.contains("createFrameSending"), "{}", report.reason);
}

/// Inserting below the top: the frame runs when the frame above the insertion point
/// returns, then the frame it was inserted above goes on with that answer; a rolled-back
/// insertion leaves nothing behind.
#[test]
fn a_frame_inserted_below_the_top_runs_when_control_comes_back_to_it() {
    let dir = std::env::temp_dir().join(format!("espell-insert-deep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Deep.som"),
        "Deep = ( | log | log = ( ^log )
            run = ( log := Vector new. [ true ] whileTrue: [ log append: (self step) ] )
            step = ( log append: #step. Sem wait. ^#back )
            note = ( log append: #inserted. ^#ignored ) )",
    )
    .unwrap();
    let mut app = Interp::new(espell_vm::Loader::new(vec![dir], None)).unwrap();
    eval(
        &mut app,
        "Sem := Semaphore new. D := Deep new. Worker := [ D run ] fork. Processor yield",
    );
    let mut hv = Hypervisor::new(None).unwrap();
    let insert = |fail: bool| {
        format!(
            "Insert = ChesterUpdate ( run: app = ( | worker run |
            worker := app threads detect: [:t | t stackFrames notEmpty ].
            run := worker stackFrames detect: [:f | f method selector = #run ].
            worker insertFrame: (app createFrameSending: #note to: (app globalAt: #D)) above: run.
            {} ) )",
            if fail { "self error: 'no'" } else { "" }
        )
    };
    let report = hv.run_update(&mut app, &insert(true), "insert.som");
    assert!(!report.committed);
    assert!(app.inserted_frames.is_empty(), "the rollback forgot the insertion");
    let report = hv.run_update(&mut app, &insert(false), "insert.som");
    assert!(report.committed, "{}", report.line());
    eval(&mut app, "Sem signal. Processor yield. Sem signal. Processor yield");
    assert_eq!(
        eval_print(&mut app, "(D log collect: [:e | e]) asArray"),
        "#(#step #inserted #back #step #back #step)"
    );
    // An insertion whose trigger frame goes away without returning is dropped.
    let report = hv.run_update(&mut app, &insert(false), "insert.som");
    assert!(report.committed, "{}", report.line());
    assert_eq!(app.inserted_frames.len(), 1);
    eval(&mut app, "Worker terminate. Processor yield");
    app.collect_garbage();
    assert!(
        app.inserted_frames.is_empty(),
        "a terminated thread's insertion is forgotten"
    );
}

#[test]
fn the_application_cannot_name_hypervisor_classes_even_during_an_update() {
    let (mut app, _) = interp();
    for name in [
        "ObjectSpaceMirror",
        "ClassMirror",
        "ObjectMirror",
        "MirrorError",
        "ThreadMirror",
    ] {
        assert_eq!(
            eval_print(&mut app, &format!("(system load: #{name}) isNil")),
            "true",
            "{name}"
        );
        assert_eq!(
            eval_print(&mut app, &format!("(system global: #{name}) isNil")),
            "true",
            "{name}"
        );
    }
    // During a session the application's own reflective paths (globals, its stack seen
    // through thisContext) still only reach application objects: the script plants a
    // global naming the mirror it holds, and the application sees plain data at most.
    let mut hv = Hypervisor::new(None).unwrap();
    let script = "Plant = ChesterUpdate ( run: app = ( app globalAt: #Planted put: (app classNamed: #Object) name ) )";
    assert!(hv.run_update(&mut app, script, "plant.som").committed);
    assert_eq!(eval_print(&mut app, "Planted"), "#Object");
    assert_eq!(eval_print(&mut app, "Planted class"), "Symbol");
}

#[test]
fn undo_information_survives_collections_until_revert() {
    let (mut app, _) = interp();
    let seq = class(&mut app, "SequenceableCollection");
    let object = class(&mut app, "Object");
    let mut s = UpdateSession::new();
    s.remove_method(&mut app, seq, "do:").unwrap();
    s.compile_and_install(
        &mut app,
        object,
        "do: aBlock  1 to: self size do: [:i | aBlock value: (self at: i)]",
    )
    .unwrap();
    let (_, undo) = s.commit_with_undo(&mut app);
    // The removed method is referenced only by the undo log now: churn and collect.
    eval(&mut app, "1 to: 300000 do: [:i | Array new: 3]");
    app.collect_garbage();
    undo.revert(&mut app);
    assert_eq!(
        eval_print(&mut app, "| s | s := 0. #(1 2 3) do: [:e | s := s + e]. s"),
        "6"
    );
    assert_eq!(eval_print(&mut app, "Object hasMethod: #do:"), "false");
    // Within a session, instancesOf: collects too; a rollback afterwards still restores.
    let mut s = UpdateSession::new();
    s.remove_method(&mut app, seq, "do:").unwrap();
    eval(&mut app, "1 to: 1000 do: [:i | Array new: 3]");
    s.instances_of(&mut app, object).unwrap();
    s.roll_back(&mut app);
    assert_eq!(
        eval_print(&mut app, "| s | s := 0. #(1 2 3) do: [:e | s := s + e]. s"),
        "6"
    );
}

/// A rollback leaves the space identical (same digest), even when the failed script made
/// the application load a class it had not used yet; a revert keeps such a class.
#[test]
fn a_rollback_also_unloads_what_the_script_made_the_application_load() {
    let (mut app, _) = interp();
    let before = espell_vm::mop::space_digest(&app);
    assert!(
        !before.per_class.iter().any(|(n, _, _)| n == "Point"),
        "Point not loaded yet"
    );
    let mut hv = Hypervisor::new(None).unwrap();
    let failing = "Failing = ChesterUpdate ( run: app = (
        (app classNamed: #Point) addField: #z.
        self error: 'no' ) )";
    let report = hv.run_update(&mut app, failing, "failing.som");
    assert!(!report.committed);
    assert_eq!(espell_vm::mop::space_digest(&app), before);
    assert_eq!(eval_print(&mut app, "(3 @ 4) x"), "3", "Point loads again on first use");

    let (mut app, _) = interp();
    hv.keep_undo = true;
    let adding = "Adding = ChesterUpdate ( run: app = (
        (app classNamed: #Point) compileAndInstall: 'probe ^ 1' ) )";
    let mut report = hv.run_update(&mut app, adding, "adding.som");
    assert!(report.committed, "{}", report.line());
    assert_eq!(eval_print(&mut app, "(1 @ 2) probe"), "1");
    let undo = report.undo.take().expect("kept");
    undo.revert(&mut app);
    assert_eq!(eval_print(&mut app, "(1 @ 2) respondsTo: #probe"), "false");
    let after = espell_vm::mop::space_digest(&app);
    assert!(
        after.per_class.iter().any(|(n, _, _)| n == "Point"),
        "Point stays loaded"
    );
}
