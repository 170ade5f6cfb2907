//! The interactive read-eval-print loop (`espell repl`).

use crate::capture::Capture;
use espell_vm::{Interp, VmError};
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

/// Reads expressions until end of input, evaluating each and printing its value. Input that
/// ends inside a bracket, string or comment continues on the next line.
pub fn run(interp: &mut Interp) -> Result<(), String> {
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return run_piped(interp, std::io::stdin().lock());
    }
    let mut editor = DefaultEditor::new().map_err(|e| format!("cannot start the line editor: {e}"))?;
    let history = std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".espell_history"));
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    println!("Espell REPL — Smalltalk (SOM dialect). Enter expressions; Ctrl-D quits.");
    let mut pending = String::new();
    loop {
        let prompt = if pending.is_empty() { "espell> " } else { "   ...> " };
        match editor.readline(prompt) {
            Ok(line) => {
                if !pending.is_empty() {
                    pending.push('\n');
                }
                pending.push_str(&line);
                if pending.trim().is_empty() {
                    pending.clear();
                    continue;
                }
                match espell_syntax::parse_expression(&pending, "repl") {
                    Err(d) if d.incomplete => continue,
                    _ => {}
                }
                let _ = editor.add_history_entry(pending.as_str());
                let source = std::mem::take(&mut pending);
                println!("{}", evaluate(interp, &source));
            }
            Err(ReadlineError::Interrupted) => {
                pending.clear();
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(format!("input error: {e}")),
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}

/// The REPL without a terminal (input piped in): no prompts or line editing; each
/// complete input is evaluated and its result printed on a line of its own.
pub fn run_piped(interp: &mut Interp, input: impl std::io::BufRead) -> Result<(), String> {
    let mut pending = String::new();
    for line in input.lines() {
        let line = line.map_err(|e| format!("input error: {e}"))?;
        if !pending.is_empty() {
            pending.push('\n');
        }
        pending.push_str(&line);
        if pending.trim().is_empty() {
            pending.clear();
            continue;
        }
        if matches!(espell_syntax::parse_expression(&pending, "repl"), Err(d) if d.incomplete) {
            continue;
        }
        let source = std::mem::take(&mut pending);
        println!("{}", evaluate(interp, &source));
    }
    if !pending.trim().is_empty() {
        println!("{}", evaluate(interp, &pending));
    }
    Ok(())
}

/// Evaluates one input and answers what to show: what the program printed, then the
/// value's printString or the error.
pub fn evaluate(interp: &mut Interp, source: &str) -> String {
    let printed = Capture::default();
    let out = std::mem::replace(&mut interp.out, Box::new(printed.clone()));
    let err = std::mem::replace(&mut interp.err, Box::new(printed.clone()));
    let result = match interp.eval(source, "repl") {
        Ok(v) => interp.print_string(v),
        Err(VmError::Exit(code)) => format!("(the program asked to exit with {code}; the REPL goes on)"),
        Err(e) => format!("error: {e}"),
    };
    interp.out = out;
    interp.err = err;
    format!("{}{result}", printed.text())
}
