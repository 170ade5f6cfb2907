//! State transfer (`anObjectMirror perform:`): application code run by an update inside
//! the paused application, every effect undone by a rollback or a revert, waits and socket
//! I/O refused instead of hanging, the script's time limit enforced.

mod common;
use common::interp;
use espell_vm::hypervisor::Hypervisor;
use espell_vm::Interp;
use std::time::Duration;

fn eval_print(app: &mut Interp, src: &str) -> String {
    let v = app.eval(src, "test").unwrap_or_else(|e| panic!("{src}: {e}"));
    app.print_string(v)
}

/// An application with a `Tally` object (counts and logs into an OrderedCollection and a
/// global), as a program of its own would have.
fn app_with_tally() -> Interp {
    let (mut app, _) = interp();
    let mut hv = Hypervisor::new(None).unwrap();
    let setup = "Setup = ChesterUpdate ( run: app = ( | c |
        c := app createClassNamed: #Tally superclass: (app classNamed: #Object) fields: #(#count #log).
        c compileAndInstall: 'count ^count'.
        c compileAndInstall: 'log ^log'.
        c compileAndInstall: 'bump: n  count := (count ifNil: [0]) + n. log isNil ifTrue: [log := OrderedCollection new]. log add: n. system global: #LastBump put: n. ^ count'.
        c compileAndInstall: 'waitForever  Semaphore new wait'.
        c compileAndInstall: 'spin  [ true ] whileTrue: [ count := 0 ]'.
        c compileAndInstall: 'fail  ^ self error: ''tally says no'''.
        c compileAndInstall: 'listen  ^ ServerSocket listenOn: 0'.
        app installClass: c ) )";
    let report = hv.run_update(&mut app, setup, "setup.som");
    assert!(report.committed, "{}", report.line());
    app.eval("T := Tally new. T bump: 1. LastBump := nil", "setup").unwrap();
    app
}

fn run(app: &mut Interp, body: &str) -> espell_vm::hypervisor::UpdateReport {
    let mut hv = Hypervisor::new(None).unwrap();
    hv.keep_undo = true;
    hv.script_timeout = Duration::from_secs(2);
    let script = format!("Transfer = ChesterUpdate ( run: app = ( | t | t := app globalAt: #T. {body} ) )");
    hv.run_update(app, &script, "transfer.som")
}

#[test]
fn perform_runs_application_code_and_its_effects_are_kept_on_commit() {
    let mut app = app_with_tally();
    let report = run(
        &mut app,
        "((t perform: #bump: with: 41) asLocal = 42) ifFalse: [ self error: 'wrong answer' ].
         (t perform: #count) asLocal = 42 ifFalse: [ self error: 'not seen' ]",
    );
    assert!(report.committed, "{}", report.line());
    assert_eq!(eval_print(&mut app, "T count"), "42");
    assert_eq!(eval_print(&mut app, "T log size"), "2");
    assert_eq!(eval_print(&mut app, "LastBump"), "41");
    // The committed update reverts: every effect of the application code goes.
    report.undo.expect("kept").revert(&mut app);
    assert_eq!(eval_print(&mut app, "T count"), "1");
    assert_eq!(eval_print(&mut app, "T log size"), "1");
    assert_eq!(eval_print(&mut app, "LastBump"), "nil");
}

#[test]
fn a_failure_after_state_transfer_rolls_its_effects_back() {
    let mut app = app_with_tally();
    let report = run(
        &mut app,
        "t perform: #bump: with: 5. t perform: #bump: with: 6. self error: 'deliberate failure'",
    );
    assert!(!report.committed);
    assert!(report.reason.contains("deliberate failure"), "{}", report.reason);
    assert_eq!(eval_print(&mut app, "T count"), "1");
    assert_eq!(eval_print(&mut app, "T log size"), "1");
    assert_eq!(eval_print(&mut app, "LastBump"), "nil");
}

#[test]
fn an_error_in_application_code_fails_the_update_even_when_the_script_handles_it() {
    let mut app = app_with_tally();
    let report = run(
        &mut app,
        "t perform: #bump: with: 5. [ t perform: #fail ] on: MirrorError do: [ :e | nil ]",
    );
    assert!(!report.committed);
    assert!(report.reason.contains("state transfer"), "{}", report.reason);
    assert_eq!(eval_print(&mut app, "T count"), "1");
}

#[test]
fn waits_and_sockets_are_errors_not_hangs_and_the_application_runs_on() {
    for selector in ["waitForever", "listen"] {
        let mut app = app_with_tally();
        let report = run(&mut app, &format!("t perform: #bump: with: 2. t perform: #{selector}"));
        assert!(!report.committed, "{selector}");
        assert!(
            report.reason.contains("is not allowed"),
            "{selector}: {}",
            report.reason
        );
        assert_eq!(eval_print(&mut app, "T count"), "1");
        // The scheduler is as it was: processes still run and wait normally.
        assert_eq!(
            eval_print(
                &mut app,
                "| s r | s := Semaphore new. [ r := 7. s signal ] fork. s wait. r"
            ),
            "7"
        );
    }
}

#[test]
fn application_code_that_never_returns_is_stopped_at_the_script_time_limit() {
    let mut app = app_with_tally();
    let report = run(&mut app, "t perform: #spin");
    assert!(!report.committed);
    assert!(report.reason.contains("time limit"), "{}", report.reason);
    assert_eq!(eval_print(&mut app, "T count"), "1");
}

#[test]
fn arity_mismatch_is_a_clear_error() {
    let mut app = app_with_tally();
    let report = run(&mut app, "t perform: #bump:");
    assert!(!report.committed);
    assert!(report.reason.contains("takes 1 argument"), "{}", report.reason);
}

#[test]
fn a_revert_is_refused_once_the_program_changed_what_the_transfer_wrote() {
    let mut app = app_with_tally();
    let report = run(&mut app, "t perform: #bump: with: 10");
    assert!(report.committed, "{}", report.line());
    let undo = report.undo.expect("kept");
    assert_eq!(undo.revert_blocker(&app), None, "nothing changed since");
    app.eval("T bump: 100", "test").unwrap();
    let reason = undo.revert_blocker(&app).expect("refused now");
    assert!(
        reason.contains("state transfer") && reason.contains("a Tally"),
        "{reason}"
    );
}
