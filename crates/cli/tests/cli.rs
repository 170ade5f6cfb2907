//! The `espell` command end to end: examples, exit codes, error reports, REPL evaluation.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn espell(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_espell"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run espell")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn every_example_prints_its_expected_output() {
    let dir = repo().join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = entry.path();
        if p.extension().is_some_and(|e| e == "expected") {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let out = espell(&["run", "-cp", "examples", &name]);
            assert!(out.status.success(), "{name}: {}", stderr(&out));
            assert_eq!(stdout(&out), std::fs::read_to_string(&p).unwrap(), "{name}");
            checked += 1;
        }
    }
    assert!(checked >= 4, "examples checked: {checked}");
}

#[test]
fn hello_runs_by_class_name_and_by_path() {
    let a = espell(&["run", "-cp", "examples", "Hello"]);
    let b = espell(&["run", "examples/Hello.som"]);
    assert_eq!(stdout(&a), "Hello, World from Espell!\n");
    assert_eq!(stdout(&a), stdout(&b));
}

#[test]
fn the_som_launcher_form_is_espell_run() {
    let expected = "Hello, World from Espell!\n";
    for args in [
        &["-cp", "examples", "Hello"][..],
        &["--classpath", "examples", "Hello"],
        &["examples/Hello.som"],
        &["-cp", "examples", "examples/Hello.som"],
        &["run", "-cp", "examples", "Hello"],
    ] {
        let out = espell(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), expected, "{args:?}");
    }
    // run options come before the class; arguments after it reach the program untouched
    let dir = scratch(
        "launcher",
        &[(
            "Echo.som",
            "Echo = ( run: args = ( args from: 2 to: args length do: [:a | a println] ) )",
        )],
    );
    let out = espell(&[
        "-cp",
        dir.to_str().unwrap(),
        "--core",
        "smalltalk/core",
        "Echo",
        "-cp",
        "x",
    ]);
    assert_eq!(stdout(&out), "-cp\nx\n", "{}", stderr(&out));
    // a missing class is still the one-line error, and subcommands are still subcommands
    let out = espell(&["-cp", "examples", "NoSuchClass"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("NoSuchClass not found"), "{}", stderr(&out));
    let out = espell(&["eval", "3 + 4"]);
    assert_eq!(stdout(&out), "7\n", "{}", stderr(&out));
    let help = espell(&["--help"]);
    assert!(help.status.success());
    for cmd in ["run", "repl", "test", "bench", "patch", "Class|path/Name.som"] {
        assert!(stdout(&help).contains(cmd), "--help lacks {cmd}: {}", stdout(&help));
    }
}

#[test]
fn missing_class_is_a_one_line_error() {
    let out = espell(&["run", "-cp", "examples", "NoSuchClass"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("NoSuchClass not found"), "{}", stderr(&out));
}

fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("espell-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (f, text) in files {
        std::fs::write(dir.join(f), text).unwrap();
    }
    dir
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let dir = scratch("syntax", &[("Broken.som", "Broken = (\n  run = ( ^ 3 + )\n)\n")]);
    let out = espell(&["run", "-cp", dir.to_str().unwrap(), "Broken"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("Broken.som:2:"), "{err}");
    assert!(err.contains("run = ( ^ 3 + )"), "the offending line is shown: {err}");
}

#[test]
fn uncaught_errors_exit_nonzero_with_a_backtrace() {
    let dir = scratch(
        "uncaught",
        &[(
            "Boom.som",
            "Boom = (\n  run = ( self deeper )\n  deeper = ( ^#(1 2) at: 5 )\n)\n",
        )],
    );
    let out = espell(&["run", "-cp", dir.to_str().unwrap(), "Boom"]);
    assert_eq!(out.status.code(), Some(1));
    let (out_text, err) = (stdout(&out), stderr(&out));
    assert!(
        out_text.contains("ERROR: Index 5 not valid for array of length 2."),
        "SOM prints errors on stdout: {out_text}"
    );
    assert!(
        err.lines().next().unwrap_or("").contains("Boom>>#deeper ("),
        "the backtrace starts at the signaller: {err}"
    );
    assert!(err.contains("Boom>>#run ("), "{err}");
}

#[test]
fn system_exit_sets_the_exit_code_and_arguments_arrive() {
    let dir = scratch(
        "exit",
        &[(
            "Args.som",
            "Args = (\n  run: args = ( (args at: 2) println. system exit: (args at: 3) asInteger )\n)\n",
        )],
    );
    let out = espell(&["run", "-cp", dir.to_str().unwrap(), "Args", "hello", "7"]);
    assert_eq!(stdout(&out), "hello\n");
    assert_eq!(out.status.code(), Some(7));
}

#[test]
fn application_classes_shadow_the_core_library() {
    let dir = scratch(
        "shadow",
        &[
            ("Pair.som", "Pair = (\n  describe = ( ^'mine' )\n)\n"),
            ("Main.som", "Main = (\n  run = ( Pair new describe println )\n)\n"),
        ],
    );
    let out = espell(&["run", "-cp", dir.to_str().unwrap(), "Main"]);
    assert_eq!(stdout(&out), "mine\n", "{}", stderr(&out));
}

#[test]
fn program_arguments_are_passed_through_untouched() {
    let dir = scratch(
        "passthrough",
        &[(
            "Echo.som",
            "Echo = (\n  run: args = ( (args at: 2) println. (args at: 3) println )\n)\n",
        )],
    );
    let out = espell(&["run", "-cp", dir.to_str().unwrap(), "Echo", "-cp", "--help"]);
    assert_eq!(stdout(&out), "-cp\n--help\n", "{}", stderr(&out));
}

#[test]
fn eval_prints_the_value() {
    let out = espell(&["eval", "(1 to: 10) inject: 0 into: [:a :b | a + b]"]);
    assert_eq!(stdout(&out).trim(), "55");
}

#[test]
fn repl_evaluates_and_goes_on_after_errors() {
    let mut interp = espell_cli::setup::interpreter(vec![], None).unwrap();
    assert_eq!(espell_cli::repl::evaluate(&mut interp, "3 + 4"), "7");
    assert!(espell_cli::repl::evaluate(&mut interp, "3 foo").contains("foo"));
    assert!(espell_cli::repl::evaluate(&mut interp, "3 +").starts_with("error"));
    assert_eq!(espell_cli::repl::evaluate(&mut interp, "x := 5. x * 2"), "10");
    assert_eq!(espell_cli::repl::evaluate(&mut interp, "x + 1"), "6");
}

#[test]
fn repl_reads_piped_input_with_multi_line_expressions() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_espell"))
        .arg("repl")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"3 + 4\n(1 to: 10) inject: 0 into: [:a :b | a + b]\n[:x |\n  x * 2] value: 21\n3 foo\n'still here'\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = stdout(&out);
    assert!(out.status.success());
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines[0], "7");
    assert_eq!(lines[1], "55");
    assert_eq!(lines[2], "42");
    assert!(text.contains("foo"), "{text}");
    assert_eq!(*lines.last().unwrap(), "'still here'");
}

#[test]
fn test_command_ends_with_a_summary_line() {
    let out = espell(&["test", "IntegerTest>>#testAdd"]);
    let text = stdout(&out);
    let last = text.lines().last().unwrap_or_default();
    assert!(last.ends_with("0 failed"), "{text}");
}

#[test]
fn help_is_available_for_every_command() {
    for cmd in ["run", "repl", "test", "bench", "eval", "demo"] {
        let out = espell(&[cmd, "--help"]);
        assert!(out.status.success(), "{cmd}");
        assert!(stdout(&out).contains("Usage"), "{cmd}");
    }
}

#[test]
fn a_class_that_does_not_compile_when_first_named_is_a_catchable_error() {
    let dir = scratch(
        "lazybroken",
        &[
            (
                "Broken.som",
                "\"a \"quoted\" comment breaks the class\"\nBroken = ( foo = ( ^ 1 ) )\n",
            ),
            (
                "UsesBroken.som",
                "UsesBroken = ( run = ( | s |
                    s := Semaphore new.
                    [ [ [ Broken new foo ] on: Error do: [ :e | 'caught: ' print. e messageText println ] ]
                        ensure: [ 'ensure ran' println. s signal ] ] fork.
                    (s wait: 2000) println ) )",
            ),
        ],
    );
    let out = espell(&["run", "-cp", dir.to_str().unwrap(), "UsesBroken"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.starts_with("caught: cannot load class Broken: ") && text.contains("Broken.som:2:1"),
        "{text}"
    );
    assert!(text.ends_with("ensure ran\ntrue\n"), "{text}");
}

#[test]
fn a_character_split_across_socket_reads_arrives_whole() {
    use std::io::{BufRead, BufReader, Write};
    let dir = scratch(
        "utf8split",
        &[(
            "SplitReader.som",
            "SplitReader = ( run = ( | server c text part |
                server := ServerSocket listenOn: 0 host: '127.0.0.1'.
                system printString: server port printString. system printNewline. system flush.
                c := server acceptTimeout: 10000.
                text := ''.
                [ (part := c read: 100 timeout: 10000) isNil or: [ part isEmpty ] ] whileFalse: [ text := text + part ].
                text println ) )",
        )],
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_espell"))
        .args(["run", "-cp", dir.to_str().unwrap(), "SplitReader"])
        .current_dir(repo())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut port = String::new();
    out.read_line(&mut port).unwrap();
    let port: u16 = port.trim().parse().unwrap_or_else(|_| panic!("no port: {port:?}"));
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"a\xC3").unwrap();
    s.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    s.write_all(b"\xA9b \xE2\x82").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    s.write_all(b"\xAC").unwrap();
    drop(s);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(rest, "a\u{e9}b \u{20ac}\n");
}

#[test]
fn bench_reports_startup_as_its_own_row_outside_the_mean() {
    let out = espell(&[
        "bench",
        "Hello",
        "Towers",
        "--mode",
        "both",
        "--iterations",
        "1",
        "--warmup",
        "0",
    ]);
    let table = stdout(&out);
    assert!(out.status.success(), "{table}{}", stderr(&out));
    assert!(table.contains("| Hello (startup) | "), "{table}");
    assert!(table.contains("| Towers | "), "{table}");
    assert!(table.contains("**geometric mean** (benchmarks)"), "{table}");
}

#[test]
fn every_benchmark_verifies_its_result() {
    let out = espell(&["bench", "--iterations", "1", "--warmup", "0", "--format", "csv"]);
    let table = stdout(&out);
    assert!(out.status.success(), "{table}{}", stderr(&out));
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert!(rows.len() >= 25, "{table}");
    for name in [
        "Richards",
        "DeltaBlue",
        "NBody",
        "ThreadRing",
        "Json",
        "PiDigits",
        "KNucleotide",
        "ReverseComplement",
        "RegexDNA",
        "Meteor",
        "ChameneosRedux",
        "Chameleons",
        "Hello (startup)",
    ] {
        assert!(
            rows.iter().any(|r| r.starts_with(&format!("{name},"))),
            "{name} missing: {table}"
        );
    }
    assert!(rows.iter().all(|r| r.ends_with(',')), "a benchmark failed: {table}");
}

#[test]
fn load_file_answers_the_contents_or_nil() {
    // SOM: `system loadFile: path` answers the file's text as a String, nil when unreadable.
    let dir = scratch(
        "loadfile",
        &[
            ("data.txt", "line one\nline two\n"),
            (
                "Load.som",
                "Load = ( run: args = ( | t | t := system loadFile: (args at: 2). t print. \
                 (system loadFile: (args at: 2) + '.missing') println. t class println ) )",
            ),
        ],
    );
    let data = dir.join("data.txt");
    let out = espell(&["-cp", dir.to_str().unwrap(), "Load", data.to_str().unwrap()]);
    assert_eq!(stdout(&out), "line one\nline two\nnil\nString\n", "{}", stderr(&out));
}

#[test]
fn som_conformance_explains_what_it_needs() {
    // The script itself needs a SOM checkout (not available in CI); without one it says so.
    let script = repo().join("scripts/som-conformance");
    let out = Command::new(&script).output().expect("run the script");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("usage: scripts/som-conformance DIR"),
        "{}",
        stderr(&out)
    );
    let not_som = scratch("not-som", &[("README", "x")]);
    let out = Command::new(&script).arg(&not_som).output().expect("run the script");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a SOM checkout"), "{}", stderr(&out));
}

#[test]
fn every_benchmark_has_a_lua_twin() {
    let bench = repo().join("bench");
    let names = espell_cli::bench::discover(&bench);
    assert!(names.len() >= 24, "{names:?}");
    for name in &names {
        let twin = bench.join("lua").join(format!("{name}.lua"));
        assert!(twin.is_file(), "{name} has no Lua twin at {}", twin.display());
    }
}

#[test]
fn on_another_core_library_nil_true_false_read_globals_as_in_som() {
    // SOM compiles `nil`, `true`, `false` as reads of the globals of those names, so
    // `system global: #true put: x` rebinds them; Espell's own library keeps constants.
    let dir = scratch(
        "pseudo",
        &[(
            "Rebind.som",
            "Rebind = ( run = ( system global: #true put: 'b'. system global: #nil put: 'a'. \
             true println. nil println ) )",
        )],
    );
    let own = espell(&["-cp", dir.to_str().unwrap(), "Rebind"]);
    assert_eq!(stdout(&own), "true\nnil\n", "{}", stderr(&own));
    // `--core DIR` makes it another core library, even with the same classes
    let other = espell(&["-cp", dir.to_str().unwrap(), "--core", "smalltalk/core", "Rebind"]);
    assert_eq!(stdout(&other), "b\na\n", "{}", stderr(&other));
}

#[test]
fn a_frameless_method_answering_a_global_reads_it_at_each_send() {
    // On another core library `^ true` reads the global `true`; the interpreter runs such a
    // method without a frame (ADR 0010) but must still see a rebinding made after its send
    // site is warm, and an unbound global still reaches `unknownGlobal:`.
    let dir = scratch(
        "trivialglobal",
        &[
            (
                "Warm.som",
                "Warm = ( yes = ( ^ true ) later = ( ^ NotYetThere ) \
                 run = ( | n | n := 0. 1 to: 1000 do: [ :i | self yes ifTrue: [ n := n + 1 ] ]. \
                 n println. system global: #true put: 'b'. self yes println. \
                 system global: #NotYetThere put: 7. self later println. \
                 1 to: 3 do: [ :i | self later println ] ) )",
            ),
            (
                "Unbound.som",
                "Unbound = ( missing = ( ^ NoSuchGlobal ) \
                 run = ( 1 to: 2 do: [ :i | self missing println ] ) )",
            ),
        ],
    );
    for core in [None, Some("smalltalk/core")] {
        let mut args = vec!["-cp", dir.to_str().unwrap()];
        if let Some(c) = core {
            args.extend(["--core", c]);
        }
        let warm = espell(&[&args[..], &["Warm"]].concat());
        let expected = if core.is_some() {
            "1000\nb\n7\n7\n7\n7\n"
        } else {
            "1000\ntrue\n7\n7\n7\n7\n"
        };
        assert_eq!(stdout(&warm), expected, "{}", stderr(&warm));
        let unbound = espell(&[&args[..], &["Unbound"]].concat());
        assert!(!unbound.status.success(), "{}", stdout(&unbound));
        assert!(
            format!("{}{}", stdout(&unbound), stderr(&unbound)).contains("NoSuchGlobal"),
            "{}",
            stderr(&unbound)
        );
    }
}

#[test]
fn system_exit_with_a_bad_status_is_an_error_naming_it() {
    let dir = scratch(
        "badexit",
        &[("BadExit.som", "BadExit = ( run = ( system exit: 42.0 ) )")],
    );
    let out = espell(&["-cp", dir.to_str().unwrap(), "BadExit"]);
    assert_eq!(out.status.code(), Some(1));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains("system exit: needs an Integer status (32 bits), not 42.0"),
        "{text}"
    );
}

#[test]
fn a_field_declared_twice_or_inherited_again_is_a_compile_error() {
    let dir = scratch(
        "fields",
        &[
            ("Twice.som", "Twice = ( | a b a | run = ( ^ a ) )"),
            ("Base.som", "Base = ( | a | )"),
            ("Again.som", "Again = Base ( | b a | run = ( ^ a ) )"),
        ],
    );
    let out = espell(&["-cp", dir.to_str().unwrap(), "Twice"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Twice.som:1:1: error: Twice declares the field 'a' twice"),
        "{}",
        stderr(&out)
    );
    let out = espell(&["-cp", dir.to_str().unwrap(), "Again"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Again declares the field 'a', which its superclass Base already has"),
        "{}",
        stderr(&out)
    );
}

/// The README's first command: the whole demonstration runs from another directory and
/// passes (the language, a live update, the web service under load, the in-place baseline,
/// the fleet, the million-point migration).
#[test]
fn the_demo_runs_from_anywhere_and_passes() {
    let out = Command::new(env!("CARGO_BIN_EXE_espell"))
        .arg("demo")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run espell demo");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    for step in [
        "1. The language",
        "2. A core-library update",
        "3. A web service",
        "4. The baseline",
        "5. A fleet",
        "6. Updates at scale",
    ] {
        assert!(text.contains(step), "{step} missing:\n{text}");
    }
    assert!(text.contains("fleet state: all 3 digests agree"), "{text}");
    assert!(text.contains("the same in bulk, 1000000 points"), "{text}");
}

#[test]
fn options_after_the_program_reach_the_program_even_when_espell_knows_them() {
    // SOM's convention: everything after the class (or path) belongs to the program, also
    // words that are espell's own run options (`--journal DIR` must not open a journal).
    let dir = scratch(
        "after-program",
        &[(
            "Echo.som",
            "Echo = ( run: args = ( args from: 2 to: args length do: [:a | a println] ) )",
        )],
    );
    let path = dir.join("Echo.som");
    let journal = dir.join("not-a-journal");
    for args in [
        vec![
            path.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
            "--hypervisor",
        ],
        vec![
            "-cp",
            dir.to_str().unwrap(),
            "Echo",
            "--journal",
            journal.to_str().unwrap(),
            "--hypervisor",
        ],
        vec![
            "run",
            "-cp",
            dir.to_str().unwrap(),
            "Echo",
            "--journal",
            journal.to_str().unwrap(),
            "--hypervisor",
        ],
    ] {
        let out = espell(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stdout(&out),
            format!("--journal\n{}\n--hypervisor\n", journal.display()),
            "{args:?}"
        );
        assert!(!journal.exists(), "{args:?} opened a journal");
    }
    // `--` among espell's options still ends them; a `--` after the program is the program's
    let out = espell(&["-cp", dir.to_str().unwrap(), "Echo", "--", "x"]);
    assert_eq!(stdout(&out), "--\nx\n", "{}", stderr(&out));
}

#[test]
fn a_missing_program_file_is_named() {
    let out = espell(&["path/does/not/exist.som"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("path/does/not/exist.som") && !stderr(&out).contains("class exist"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn with_cpu_clock_system_ticks_count_cpu_time_not_sleep() {
    // `espell run --cpu-clock`: `system ticks` counts the process's CPU time (what Lua's
    // os.clock counts), so a 300 ms sleep barely moves it; without the flag it is the wall
    // clock. `espell bench` runs espell this way by default.
    let dir = scratch(
        "cpuclock",
        &[(
            "Sleepy.som",
            "Sleepy = ( run = ( | t | t := system ticks. Processor sleep: 300. (system ticks - t) println ) )",
        )],
    );
    let cp = dir.to_str().unwrap();
    let cpu = espell(&["run", "--cpu-clock", "-cp", cp, "Sleepy"]);
    let cpu_us: i64 = stdout(&cpu)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}{}", stdout(&cpu), stderr(&cpu)));
    assert!(cpu_us < 150_000, "a sleep used {cpu_us} us of CPU time");
    let wall = espell(&["-cp", cp, "Sleepy"]);
    let wall_us: i64 = stdout(&wall)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}{}", stdout(&wall), stderr(&wall)));
    assert!(
        wall_us >= 300_000,
        "the wall clock moved only {wall_us} us over a 300 ms sleep"
    );
}

#[test]
fn a_program_given_by_path_runs_the_class_its_file_defines() {
    // As SOM VMs run `Tests/shift_right_too_big.som`, which defines `shift_right`; found
    // on the class path by name, a file must still be named after its class.
    let dir = scratch(
        "pathclass",
        &[("other_name.som", "inner_name = ( run = ( 'ran inner_name' println ) )")],
    );
    let file = dir.join("other_name.som");
    let out = espell(&[file.to_str().unwrap()]);
    assert_eq!(stdout(&out), "ran inner_name\n", "{}", stderr(&out));
    let by_name = espell(&["-cp", dir.to_str().unwrap(), "other_name"]);
    assert!(!by_name.status.success());
    assert!(
        stderr(&by_name).contains("file defines class inner_name instead of other_name"),
        "{}",
        stderr(&by_name)
    );
}
