//! State-transfer code may handle its own exceptions (`on:do:`, `e return:`, `retry`,
//! `ensure:`): the Context operations the exception machinery uses are allowed on the
//! frames of the transfer's own run, and still refused on the paused program's frames.

mod common;
use common::interp;
use espell_vm::hypervisor::Hypervisor;
use espell_vm::Interp;

fn eval_print(app: &mut Interp, src: &str) -> String {
    let v = app.eval(src, "test").unwrap_or_else(|e| panic!("{src}: {e}"));
    app.print_string(v)
}

fn app_with_fixer() -> Interp {
    let (mut app, _) = interp();
    let setup = "Setup = ChesterUpdate ( run: app = ( | c |
        c := app createClassNamed: #Fixer superclass: (app classNamed: #Object) fields: #(#log #tries).
        c compileAndInstall: 'log ^log'.
        c compileAndInstall: 'handle
            log := OrderedCollection new.
            log add: ([ nil bar ] on: MessageNotUnderstood do: [ :e | e return: 7 ]).
            log add: ([ 1 / 0 ] on: ZeroDivide do: [ :e | 8 ]).
            [ log add: 9 ] ensure: [ log add: 10 ].
            tries := 0.
            log add: ([ tries := tries + 1. tries < 3 ifTrue: [ self error: ''again'' ]. tries ]
                on: Error do: [ :e | e retry ]).
            ^ log size'.
        c compileAndInstall: 'escape  ^ thisContext sender return: 3'.
        app installClass: c ) )";
    let report = Hypervisor::new(None).unwrap().run_update(&mut app, setup, "setup.som");
    assert!(report.committed, "{}", report.line());
    app.eval("F := Fixer new", "setup").unwrap();
    app
}

fn run(app: &mut Interp, selector: &str) -> espell_vm::hypervisor::UpdateReport {
    let script = format!(
        "Transfer = ChesterUpdate ( run: app = ( ((app globalAt: #F) perform: #{selector}) asLocal println ) )"
    );
    Hypervisor::new(None).unwrap().run_update(app, &script, "transfer.som")
}

#[test]
fn transfer_code_handles_its_own_exceptions() {
    let mut app = app_with_fixer();
    let report = run(&mut app, "handle");
    assert!(report.committed, "{}", report.line());
    assert_eq!(eval_print(&mut app, "F log asArray"), "#(7 8 9 10 3)");
}

#[test]
fn transfer_code_cannot_return_into_the_paused_program() {
    let mut app = app_with_fixer();
    let report = run(&mut app, "escape");
    assert!(!report.committed, "{}", report.line());
    assert!(
        report.reason.contains("state transfer #escape failed"),
        "{}",
        report.reason
    );
    assert_eq!(eval_print(&mut app, "F log"), "nil");
}
