//! `espell`: run Smalltalk programs, a REPL, the Smalltalk test suite and the benchmarks.

use clap::{Parser, Subcommand};
use espell_cli::{bench, repl, setup, testrunner};
use espell_vm::VmError;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "espell",
    version,
    about = "Espell: a Smalltalk (SOM dialect) VM built for dynamic core-library updates",
    override_usage = "espell [-cp DIRS] [run options] <Class|path/Name.som> [ARGS]...   (as `espell run`)\n       espell <COMMAND>"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a program: `system initialize:` with the class name and arguments (SOM's convention).
    Run {
        /// Class path: directories separated by ':'; the core library is searched last.
        #[arg(long = "classpath", visible_alias = "cp", value_name = "DIRS")]
        cp: Option<String>,
        /// Use this directory as the core library instead of the embedded one.
        #[arg(long, value_name = "DIR")]
        core: Option<PathBuf>,
        /// Run the application in a space under a hypervisor and, MS milliseconds after
        /// start, pause it at its next safe point and apply the update script FILE (a
        /// ChesterUpdate subclass) as a transaction; one line on stderr says what happened.
        #[arg(long, num_args = 2, value_names = ["MS", "FILE"])]
        update_after_ms: Option<Vec<String>>,
        /// Run the application in its own space with a hypervisor space beside it (idle
        /// until an update arrives on the control socket).
        #[arg(long)]
        hypervisor: bool,
        /// The control socket's path (implies --hypervisor; default: printed at start-up).
        #[arg(long, value_name = "PATH")]
        control: Option<PathBuf>,
        /// How long an update waits for every process to reach an update point or a safe
        /// wait before it is abandoned (milliseconds).
        #[arg(long, value_name = "MS", default_value_t = 2000)]
        quiescence_timeout: u64,
        /// Past the quiescence deadline, pause the stragglers at their next safe point (a
        /// send or back-jump) instead of abandoning the update.
        #[arg(long)]
        pause_stragglers: bool,
        /// The longest an update script may run while the application is paused
        /// (milliseconds); past it the script is stopped and the update rolled back.
        #[arg(long, value_name = "MS", default_value_t = 10000)]
        script_timeout: u64,
        /// Keep a patch journal in DIR (implies --hypervisor): every committed update and
        /// revert is recorded durably, and on start the journal's updates are applied
        /// before the program's first instruction.
        #[arg(long, value_name = "DIR")]
        journal: Option<PathBuf>,
        /// With --journal: start even if a journal entry fails now (it is skipped, and
        /// said so), instead of refusing to start.
        #[arg(long)]
        journal_skip_failed: bool,
        /// `system ticks` and `system time` answer the CPU time the process has used
        /// instead of the wall-clock time since start (what Lua's os.clock measures: fair
        /// benchmark timings on a shared machine).
        #[arg(long)]
        cpu_clock: bool,
        /// A class name on the class path, or a path to Name.som.
        program: String,
        /// Arguments passed to the program.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Evaluate one expression and print its value.
    Eval {
        /// Class path (directories separated by ':').
        #[arg(long = "classpath", visible_alias = "cp", value_name = "DIRS")]
        cp: Option<String>,
        /// The expression (temporaries and statements).
        #[arg(allow_hyphen_values = true)]
        source: String,
    },
    /// Interactive read-eval-print loop.
    Repl {
        /// Class path (directories separated by ':').
        #[arg(long = "classpath", visible_alias = "cp", value_name = "DIRS")]
        cp: Option<String>,
    },
    /// Run the Smalltalk test suite (smalltalk/tests); last line `N passed, N failed`.
    Test {
        /// Only tests whose `Class>>#selector` contains this text.
        filter: Option<String>,
        /// The test directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Run the benchmarks of bench/ and print median/min/max per benchmark.
    Bench {
        /// Benchmarks to run (default: all).
        names: Vec<String>,
        /// Measured iterations per benchmark.
        #[arg(long, default_value_t = 5)]
        iterations: usize,
        /// Warm-up iterations per benchmark (same process, not measured).
        #[arg(long, default_value_t = 1)]
        warmup: usize,
        /// Inner iterations per measured iteration.
        #[arg(long, default_value_t = 1)]
        inner: usize,
        /// Output format: md or csv.
        #[arg(long, default_value = "md", value_parser = ["md", "csv"])]
        format: String,
        /// The benchmark directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Library directories searched before the benchmarks (e.g. SOM's Smalltalk/ to
        /// run on SOM's core library).
        #[arg(long, value_name = "DIRS")]
        lib: Option<String>,
        /// vanilla: the application alone; virtualized: inside a space under an idle
        /// hypervisor; both: each benchmark both ways, side by side, with the ratio.
        #[arg(long, default_value = "vanilla", value_parser = ["vanilla", "virtualized", "both"])]
        mode: String,
        /// Run every benchmark also on another implementation, side by side: `lua` (the
        /// twins in bench/lua, `lua5.4` on the PATH) or the path of another espell binary.
        #[arg(long, value_name = "lua|ESPELL")]
        compare: Option<String>,
        /// What espell's iteration times count: cpu (the process's CPU time, as Lua's
        /// harness counts with os.clock: comparable on a loaded machine) or wall (SOM's
        /// `system ticks`; needed for espell binaries older than `run --cpu-clock`).
        #[arg(long, default_value = "cpu", value_parser = ["cpu", "wall"])]
        clock: String,
    },
    /// Send an update script to a running `espell run --hypervisor` (exit 0 only when
    /// committed; with --dry-run, when it would commit). With several targets (--to
    /// repeated, or --fleet) the update is two-phase: committed on every instance or none.
    Patch {
        /// A running program's control socket: a path, ssh://[user@]host/path.sock or
        /// exec:COMMAND (a command relaying one connection, e.g. `exec:kubectl exec -i POD
        /// -- espell control-bridge /run/app.sock`). Repeat for a fleet.
        #[arg(long, value_name = "TARGET")]
        to: Vec<String>,
        /// A file listing the fleet's targets, one per line (`#` comments).
        #[arg(long, value_name = "FILE")]
        fleet: Option<PathBuf>,
        /// Fleet updates: how long a prepared instance holds the update paused without a
        /// decision before rolling it back by itself (ms).
        #[arg(long, value_name = "MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
        prepare_timeout: u64,
        /// Fleet updates: wait MS between "prepared on all" and the decision (a drill for
        /// the window a coordinator crash leaves; below 3/4 of --prepare-timeout it commits).
        #[arg(long, value_name = "MS")]
        pause_before_commit: Option<u64>,
        /// How long to wait for each instance's answer before giving up on it (ms; a
        /// hanging ssh or exec: relay is killed, and in a fleet update that instance fails).
        #[arg(long, value_name = "MS", default_value_t = 60_000)]
        answer_timeout: u64,
        /// Run the script and roll it back, answering what it would change.
        #[arg(long)]
        dry_run: bool,
        /// List the committed updates instead.
        #[arg(long)]
        history: bool,
        /// Undo the last committed update (from its recorded undo information).
        #[arg(long)]
        revert: bool,
        /// Print the application's digests: first the code digest (the same in every
        /// process with the same program and updates: compare it across restarts and
        /// instances), then the identity digest of its classes, methods and special objects
        /// (equal: nothing an update can change differs).
        #[arg(long)]
        state: bool,
        /// The baseline: apply the script inside the application by plain reflection (no
        /// pause, no atomicity, no second core library), to compare with Chester.
        #[arg(long)]
        in_place: bool,
        /// The update script (a ChesterUpdate subclass).
        file: Option<PathBuf>,
    },
    /// Run the web application (examples/webapp) under a hypervisor with concurrent
    /// keep-alive clients while updates are delivered; report latencies around each update
    /// and write requests.csv, updates.csv, answers.txt, latency.svg into --out.
    Experiment {
        /// Concurrent keep-alive clients.
        #[arg(long, default_value_t = 20)]
        clients: usize,
        /// Interval between updates in ms (the first after one interval; the run ends one
        /// interval after the last).
        #[arg(long, default_value_t = 2000)]
        every_ms: u64,
        /// The whole run's length in ms (default: one interval after the last update).
        #[arg(long, value_name = "MS")]
        duration_ms: Option<u64>,
        /// Directory for the result files.
        #[arg(long, value_name = "DIR", default_value = "experiment-out")]
        out: PathBuf,
        /// The application's class path.
        #[arg(
            long = "classpath",
            visible_alias = "cp",
            value_name = "DIRS",
            default_value = "examples/webapp"
        )]
        cp: String,
        /// The application's main class (it must accept `--port 0 --stop-after-ms N`, print
        /// `listening on HOST:PORT` and serve the snippets API of examples/webapp).
        #[arg(long, default_value = "WebApp")]
        app: String,
        /// The application's quiescence deadline (ms).
        #[arg(long, default_value_t = 2000)]
        quiescence_timeout: u64,
        /// Apply the scripts in place (the baseline) instead of through Chester.
        #[arg(long)]
        in_place: bool,
        /// Instead of the web experiment: measure the pause of a one-method patch, the do:
        /// move and the Point migration (`--points`), each applied and reverted `--runs`
        /// times, and the idle cost of an update point.
        #[arg(long)]
        pauses: bool,
        /// Instead of the single-instance run: N instances with journals, clients spread
        /// over them, a fleet update, a fleet update that fails on one instance only, and a
        /// crash and restart of instance 0 (scripts from examples/fleet).
        #[arg(long, value_name = "N")]
        fleet: Option<usize>,
        /// With --pauses: applications per case.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// With --pauses: point counts of the migration cases, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "100000,1000000,5000000")]
        points: Vec<usize>,
        /// The answers the updates must give, comma-separated (e.g.
        /// `committed,committed,rolled back,committed`); exit 1 otherwise.
        #[arg(long, value_delimiter = ',')]
        expect: Vec<String>,
        /// The updates, in order: script files, `dry-run:FILE` or `revert` (default: the
        /// do: move, the Point migration, a failing script, revert).
        steps: Vec<String>,
    },
    /// The main demonstration.
    Demo,
    /// List a patch journal (`espell run --journal DIR`) and check every entry; verify it
    /// by replaying it on a fresh copy of the program, or compact it.
    Journal {
        /// The journal's directory.
        dir: PathBuf,
        /// Replay the journal on a fresh program (--classpath) and compare the code digest
        /// after every entry with the recorded one.
        #[arg(long)]
        verify: bool,
        /// Drop every update that a later revert undid, with that revert (refused while a
        /// program holds the journal).
        #[arg(long)]
        compact: bool,
        /// With --verify: the program's class path.
        #[arg(long = "classpath", visible_alias = "cp", value_name = "DIRS")]
        cp: Option<String>,
        /// With --verify: the core library directory, if not the embedded one.
        #[arg(long, value_name = "DIR")]
        core: Option<PathBuf>,
    },
    /// Relay one control connection between stdin/stdout and a program's control socket
    /// (what `espell patch --to ssh://host/path.sock` runs on the far end).
    ControlBridge {
        /// The control socket.
        socket: PathBuf,
    },
    /// A live web dashboard for running `espell run --hypervisor` programs: uptime,
    /// processes, GC, digests, update timeline, latency, and dry-run/apply/revert buttons.
    /// Prints the URL (with its access token) and serves until stopped.
    Dashboard {
        /// The control socket of an instance (repeat for a fleet).
        #[arg(long, value_name = "PATH", required = true)]
        to: Vec<PathBuf>,
        /// The application's stats URL (http://HOST:PORT/stats) for the i-th --to, read
        /// every second for the latency chart.
        #[arg(long, value_name = "URL")]
        stats: Vec<String>,
        /// The port to listen on (0: a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// A directory of update scripts (*.som) the page offers.
        #[arg(long, value_name = "DIR")]
        scripts: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    espell_cli::closed_stdout::install();
    let cli = Cli::parse_from(som_style_args(std::env::args_os().collect()));
    match cli.command {
        Command::Run {
            cp,
            core,
            update_after_ms,
            hypervisor,
            control,
            quiescence_timeout,
            pause_stragglers,
            script_timeout,
            journal,
            journal_skip_failed,
            cpu_clock,
            program,
            args,
        } => {
            espell_vm::clock::use_cpu_time(cpu_clock);
            let script_timeout = std::time::Duration::from_millis(script_timeout);
            let journal = journal.map(|dir| (dir, journal_skip_failed));
            match update_after_ms {
                None if hypervisor || control.is_some() || journal.is_some() => {
                    let policy = espell_chester::runtime::Policy {
                        timeout: std::time::Duration::from_millis(quiescence_timeout),
                        pause_stragglers,
                        script_timeout,
                    };
                    run_hypervised(cp, core, control, policy, journal, &program, &args)
                }
                None => run(cp, core, &program, &args),
                Some(update) => run_with_update(cp, core, &update, script_timeout, &program, &args),
            }
        }
        Command::Patch {
            to,
            fleet,
            prepare_timeout,
            pause_before_commit,
            answer_timeout,
            dry_run,
            history,
            revert,
            state,
            in_place,
            file,
        } => {
            use espell_chester::protocol::Kind;
            let kind = if history {
                Kind::History
            } else if revert {
                Kind::Revert
            } else if state {
                Kind::State
            } else if in_place {
                Kind::InPlace
            } else if dry_run {
                Kind::DryRun
            } else {
                Kind::Apply
            };
            let mut targets = to;
            if let Some(f) = &fleet {
                match espell_cli::fleet::read_fleet_file(f) {
                    Ok(t) => targets.extend(t),
                    Err(e) => {
                        eprintln!("espell: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            let targets = match espell_cli::fleet::parse_targets(&targets) {
                Ok(t) if t.is_empty() => {
                    eprintln!("espell: patch needs --to TARGET (or --fleet FILE)");
                    return ExitCode::FAILURE;
                }
                Ok(t) => t,
                Err(e) => {
                    eprintln!("espell: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let opts = espell_cli::fleet::Options {
                prepare_timeout_ms: prepare_timeout,
                pause_before_commit: pause_before_commit.map(std::time::Duration::from_millis),
                answer_timeout: std::time::Duration::from_millis(answer_timeout.max(1)),
            };
            if targets.len() > 1 || fleet.is_some() {
                patch_fleet(&targets, kind, file.as_deref(), &opts)
            } else {
                patch(&targets[0], kind, file.as_deref(), opts.answer_timeout)
            }
        }
        Command::Journal {
            dir,
            verify,
            compact,
            cp,
            core,
        } => {
            use espell_cli::journal_cmd;
            let result = if compact {
                journal_cmd::compact(&dir)
            } else if verify {
                let cp = cp.as_deref().map(setup::split_class_path).unwrap_or_default();
                journal_cmd::verify(&dir, cp, core)
            } else {
                journal_cmd::list(&dir)
            };
            match result {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("espell: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Dashboard {
            to,
            stats,
            port,
            host,
            scripts,
        } => {
            let config = espell_cli::dashboard::Config {
                sockets: to,
                stats,
                port,
                host,
                scripts,
            };
            match espell_cli::dashboard::run(config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("espell: dashboard: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::ControlBridge { socket } => match espell_cli::bridge::relay(&socket) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("espell control-bridge: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Eval { cp, source } => {
            let cp = cp.as_deref().map(setup::split_class_path).unwrap_or_default();
            let mut interp = match setup::interpreter(cp, None) {
                Ok(i) => i,
                Err(e) => return fail(&e),
            };
            match interp.eval(&source, "eval") {
                Ok(v) => {
                    println!("{}", interp.print_string(v));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Repl { cp } => {
            let cp = cp.as_deref().map(setup::split_class_path).unwrap_or_default();
            let mut interp = match setup::interpreter(cp, None) {
                Ok(i) => i,
                Err(e) => return fail(&e),
            };
            match repl::run(&mut interp) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("espell: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Test { filter, dir } => test(filter, dir),
        Command::Bench {
            names,
            iterations,
            warmup,
            inner,
            format,
            dir,
            lib,
            mode,
            compare,
            clock,
        } => {
            let cpu = clock == "cpu";
            let dir = dir.unwrap_or_else(bench::default_bench_dir);
            // The startup row comes with the whole suite, or when asked for as `Hello`.
            let with_startup = names.is_empty() || names.iter().any(|n| n == "Hello");
            let names: Vec<String> = if names.is_empty() {
                // On another core library, only the benchmarks written in portable SOM.
                bench::discover_for(&dir, lib.is_some())
            } else {
                names.into_iter().filter(|n| n != "Hello").collect()
            };
            let espell = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("espell"));
            let lib = lib.as_deref().map(setup::split_class_path).unwrap_or_default();
            // With --mode both, A is virtualized and B vanilla: the ratio is virtualized/vanilla.
            let a = bench::Runner::espell(&espell, &dir, &lib, mode == "virtualized" || mode == "both", cpu);
            let b = match (compare.as_deref(), mode.as_str()) {
                (Some("lua"), _) => Some(bench::Runner::lua(&dir)),
                (Some(other), _) => Some(bench::Runner::other_espell(
                    std::path::Path::new(other),
                    &dir,
                    &lib,
                    cpu,
                )),
                (None, "both") => Some(bench::Runner::espell(&espell, &dir, &lib, false, cpu)),
                (None, _) => None,
            };
            let (iterations, inner) = (iterations.max(1), inner.max(1));
            let mut failed = false;
            match b {
                None => {
                    let mut results = Vec::new();
                    for n in &names {
                        eprintln!("running {n} ...");
                        results.push(bench::run_one(&a, n, warmup, iterations, inner));
                    }
                    if with_startup {
                        eprintln!("running {} ...", bench::STARTUP);
                        results.push(bench::run_startup(&a, iterations.max(5)));
                    }
                    failed |= results.iter().any(|r| r.error.is_some());
                    print!("{}", bench::format_table(&results, &format));
                }
                Some(b) => {
                    // Side by side: A then B for each benchmark, so drift hits both alike.
                    let (a_label, b_label) = if mode == "both" {
                        ("virtualized", "vanilla")
                    } else {
                        ("espell", b.label.as_str())
                    };
                    let mut pairs = Vec::new();
                    for n in &names {
                        eprintln!("running {n} ...");
                        let x = bench::run_one(&a, n, warmup, iterations, inner);
                        let y = bench::run_one(&b, n, warmup, iterations, inner);
                        failed |= x.error.is_some() || y.error.is_some();
                        pairs.push((x, y));
                    }
                    if with_startup {
                        eprintln!("running {} ...", bench::STARTUP);
                        let runs = iterations.max(5);
                        let x = bench::run_startup(&a, runs);
                        let y = bench::run_startup(&b, runs);
                        failed |= x.error.is_some() || y.error.is_some();
                        pairs.push((x, y));
                    }
                    print!("{}", bench::format_comparison(&pairs, a_label, b_label, &format));
                }
            }
            if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Demo => demo(),
        Command::Experiment {
            clients,
            every_ms,
            duration_ms,
            out,
            cp,
            app,
            quiescence_timeout,
            in_place,
            pauses,
            fleet,
            runs,
            points,
            expect,
            steps,
        } => {
            use espell_cli::experiment;
            if let Some(instances) = fleet {
                let opts = experiment::fleet::Options {
                    instances,
                    clients,
                    every: std::time::Duration::from_millis(every_ms),
                    out,
                    class_path: cp,
                    app,
                    scripts: PathBuf::from("examples/fleet"),
                    quiescence_timeout_ms: quiescence_timeout,
                };
                return match experiment::fleet::run(&opts) {
                    Ok(o) => {
                        print!("{}", o.report);
                        if o.success {
                            ExitCode::SUCCESS
                        } else {
                            ExitCode::FAILURE
                        }
                    }
                    Err(e) => {
                        eprintln!("espell: experiment --fleet: {e}");
                        ExitCode::from(2)
                    }
                };
            }
            if pauses {
                let opts = experiment::pauses::PauseOptions {
                    runs,
                    points,
                    repo: PathBuf::from("."),
                    out,
                };
                return match experiment::pauses::run(&opts) {
                    Ok((_, report)) => {
                        print!("{report}");
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("espell: experiment --pauses: {e}");
                        ExitCode::FAILURE
                    }
                };
            }
            let steps = if steps.is_empty() {
                experiment::default_steps(std::path::Path::new("."))
            } else {
                steps.iter().map(|s| experiment::Step::parse(s)).collect()
            };
            let opts = experiment::Options {
                clients,
                every: std::time::Duration::from_millis(every_ms),
                duration: duration_ms.map(std::time::Duration::from_millis),
                steps,
                out,
                class_path: cp,
                app,
                quiescence_timeout_ms: quiescence_timeout,
                in_place,
                expect: expect.iter().map(|s| s.trim().to_string()).collect(),
            };
            match experiment::run(&opts) {
                Ok(outcome) => {
                    print!("{}", outcome.report);
                    if outcome.success {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(e) => {
                    eprintln!("espell: experiment: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// The SOM launcher form: `espell [-cp DIRS] [VM options] Class|path/Name.som [args…]`,
/// as every SOM VM is started, means `espell run …`. When the first argument is neither a
/// subcommand nor `--help`/`--version`, `run` is inserted before it (a class named like a
/// subcommand is reached with `espell run`).
fn launcher_form(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let cli = <Cli as clap::CommandFactory>::command();
    let Some(first) = args.get(1).map(|a| a.to_string_lossy().into_owned()) else {
        return args;
    };
    let global = ["-h", "--help", "-V", "--version", "help"];
    if !global.contains(&first.as_str()) && cli.find_subcommand(&first).is_none() {
        args.insert(1, "run".into());
    }
    args
}

/// SOM spells the class-path flag `-cp`, which clap would read as `-c p`: rewrite it to
/// `--classpath`, but only among espell's own options (not in the program's arguments,
/// which start at the first positional argument after the subcommand).
fn som_style_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let args = launcher_form(args);
    let cli = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::with_capacity(args.len());
    let mut positionals = 0;
    let mut values_next = 0usize;
    let mut sub: Option<clap::Command> = None;
    let mut ended_options = false;
    for a in args {
        let text = a.to_string_lossy().into_owned();
        if positionals >= 3 {
            out.push(a); // program name and its arguments: untouched
            continue;
        }
        if values_next > 0 {
            values_next -= 1;
        } else if text == "--" && !ended_options {
            ended_options = true; // clap reads what follows as positional
        } else if text.starts_with('-') && !ended_options {
            values_next = sub.as_ref().map_or(0, |c| values_taken(c, &text));
        } else {
            positionals += 1; // espell, the subcommand, the program
            if positionals == 2 {
                sub = cli.find_subcommand(&text).cloned();
            }
        }
        out.push(if text == "-cp" && !ended_options {
            "--classpath".into()
        } else {
            a
        });
        // Everything after `run`'s program is the program's, also words that are espell's
        // own options (clap would take a known `--journal DIR` there): end the options.
        if positionals == 3 && !ended_options && sub.as_ref().is_some_and(|c| c.get_name() == "run") {
            out.push("--".into());
            ended_options = true;
        }
    }
    out
}

/// How many values the option `flag` (`--name`, or `-cp`) of `command` takes.
fn values_taken(command: &clap::Command, flag: &str) -> usize {
    if flag == "-cp" {
        return 1;
    }
    let Some(name) = flag.strip_prefix("--").filter(|n| !n.contains('=')) else {
        return 0;
    };
    command
        .get_arguments()
        .find(|a| a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name)))
        .filter(|a| a.get_action().takes_values())
        .map(|a| a.get_num_args().map_or(1, |r| r.min_values().max(1)))
        .unwrap_or(0)
}

fn run(cp: Option<String>, core: Option<PathBuf>, program: &str, args: &[String]) -> ExitCode {
    let mut class_path = cp.as_deref().map(setup::split_class_path).unwrap_or_default();
    let class = match setup::resolve_program(program, &mut class_path) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let mut interp = match setup::interpreter(class_path, core) {
        Ok(i) => i,
        Err(e) => return fail(&e),
    };
    let result = interp.run_main(&class, args);
    interp.flush();
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// The application's interpreter (on `cp`, running `program`) and a hypervisor beside it.
fn app_and_hypervisor(
    cp: Option<String>,
    core: Option<PathBuf>,
    program: &str,
) -> Result<(espell_vm::Interp, espell_vm::hypervisor::Hypervisor, String), ExitCode> {
    let mut class_path = cp.as_deref().map(setup::split_class_path).unwrap_or_default();
    let class = setup::resolve_program(program, &mut class_path).map_err(|e| fail(&e))?;
    let app = setup::interpreter(class_path, core.clone()).map_err(|e| fail(&e))?;
    let hypervisor = espell_vm::hypervisor::Hypervisor::new(core).map_err(|e| fail(&e))?;
    Ok((app, hypervisor, class))
}

/// `espell run --update-after-ms MS FILE ...`: the application runs in its own space beside
/// a hypervisor; MS ms after start it is paused at a safe point and the script runs in the
/// hypervisor against it.
fn run_with_update(
    cp: Option<String>,
    core: Option<PathBuf>,
    update: &[String],
    script_timeout: std::time::Duration,
    program: &str,
    args: &[String],
) -> ExitCode {
    let (mut app, mut hypervisor, class) = match app_and_hypervisor(cp, core, program) {
        Ok(x) => x,
        Err(code) => return code,
    };
    hypervisor.script_timeout = script_timeout;
    let (ms, file) = (&update[0], &update[1]);
    let Ok(ms) = ms.parse::<u64>() else {
        eprintln!("espell: --update-after-ms takes a number of milliseconds, not '{ms}'");
        return ExitCode::FAILURE;
    };
    let script = match std::fs::read_to_string(file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("espell: cannot read update script {file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let applied = std::rc::Rc::new(std::cell::Cell::new(false));
    let done = applied.clone();
    let file_name = file.clone();
    app.interrupt_handler = Some(Box::new(move |app, _event| {
        if done.get() {
            return;
        }
        done.set(true);
        let report = hypervisor.run_update(app, &script, &file_name);
        for line in report.output.lines().filter(|l| !l.trim().is_empty()) {
            eprintln!("espell: update output: {line}");
        }
        eprintln!("{}", report.line());
    }));
    let (flag, request) = (app.interrupt.clone(), app.update_requested.clone());
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(ms));
        request.store(true, std::sync::atomic::Ordering::Relaxed);
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let result = app.run_main(&class, args);
    app.flush();
    if !applied.get() {
        eprintln!("espell: update {file} not applied: the application ended before {ms} ms");
    }
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// `espell run --hypervisor [--control PATH]`: the application in its own space, a
/// hypervisor beside it, and a control socket delivering updates (`espell patch`).
fn run_hypervised(
    cp: Option<String>,
    core: Option<PathBuf>,
    control: Option<PathBuf>,
    policy: espell_chester::runtime::Policy,
    journal: Option<(PathBuf, bool)>,
    program: &str,
    args: &[String],
) -> ExitCode {
    let (mut app, hypervisor, class) = match app_and_hypervisor(cp, core, program) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let (journal, skip_failed) = match journal {
        None => (None, false),
        Some((dir, skip)) => match espell_chester::journal::Journal::open(&dir) {
            Ok(j) => (Some(j), skip),
            Err(e) => {
                eprintln!("espell: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let path = control.unwrap_or_else(espell_chester::control::default_path);
    let (deliveries, pending) = match espell_chester::control::start(&path, app.waker()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("espell: cannot open the control socket {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    // The journal is replayed before the control socket's path is announced, so a client
    // that waits for that line never sees the program before the journal's state.
    match espell_chester::runtime::install_with_journal(&mut app, hypervisor, deliveries, policy, journal, skip_failed)
    {
        Ok(report) => eprint!(
            "{}",
            report.lines().map(|l| format!("espell: {l}\n")).collect::<String>()
        ),
        Err(e) => {
            eprintln!("espell: {e}");
            let _ = std::fs::remove_file(&path);
            return ExitCode::FAILURE;
        }
    }
    eprintln!("espell: control socket {}", path.display());
    let result = app.run_main(&class, args);
    app.flush();
    // An answer the program gave just before it ended (say, to the update that broke it)
    // still reaches its client.
    pending.wait(std::time::Duration::from_secs(2));
    let _ = std::fs::remove_file(&path);
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// The request for `kind` (reading the script for the kinds that need one).
fn patch_request(
    kind: espell_chester::protocol::Kind,
    file: Option<&std::path::Path>,
) -> Result<espell_chester::protocol::Request, ExitCode> {
    use espell_chester::protocol::{Kind, Request};
    if matches!(kind, Kind::History | Kind::Revert | Kind::State) {
        return Ok(Request {
            kind,
            file: if kind == Kind::Revert {
                "revert".into()
            } else {
                String::new()
            },
            script: String::new(),
        });
    }
    let Some(file) = file else {
        eprintln!("espell: patch needs an update script (or --history, --revert, --state)");
        return Err(ExitCode::FAILURE);
    };
    match std::fs::read_to_string(file) {
        Ok(script) => Ok(Request {
            kind,
            file: file.display().to_string(),
            script,
        }),
        Err(e) => {
            eprintln!("espell: cannot read {}: {e}", file.display());
            Err(ExitCode::FAILURE)
        }
    }
}

/// `espell patch` with several targets: a two-phase update, or the request on every one.
fn patch_fleet(
    targets: &[espell_chester::transport::Target],
    kind: espell_chester::protocol::Kind,
    file: Option<&std::path::Path>,
    opts: &espell_cli::fleet::Options,
) -> ExitCode {
    use espell_chester::protocol::Kind;
    let request = match patch_request(kind, file) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let (report, ok) = match kind {
        Kind::Apply => espell_cli::fleet::update(targets, &request.file, &request.script, opts),
        Kind::Revert => espell_cli::fleet::update(targets, "revert", "", opts),
        Kind::State => espell_cli::fleet::state(targets, opts.answer_timeout),
        Kind::InPlace => {
            eprintln!("espell: --in-place is for one instance (it has no transaction to share)");
            return ExitCode::FAILURE;
        }
        _ => espell_cli::fleet::broadcast(targets, &request, opts.answer_timeout),
    };
    print!("{report}");
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `espell patch --to TARGET [--dry-run|--in-place|--history|--revert|--state] [FILE]`.
fn patch(
    to: &espell_chester::transport::Target,
    kind: espell_chester::protocol::Kind,
    file: Option<&std::path::Path>,
    timeout: std::time::Duration,
) -> ExitCode {
    let request = match patch_request(kind, file) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match espell_chester::client::send_to(to, &request, timeout) {
        Ok(reply) => {
            print!("{reply}");
            let first = reply.lines().next().unwrap_or("");
            let ok = ["committed", "would commit", "history", "state", "applied in place"]
                .iter()
                .any(|p| first.starts_with(p));
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("espell: {e}");
            ExitCode::FAILURE
        }
    }
}

fn fail(e: &VmError) -> ExitCode {
    match e {
        VmError::Exit(code) => ExitCode::from(code.rem_euclid(256) as u8), // as the shell sees exit(code)
        VmError::Uncaught { message, backtrace } => {
            // The message last, on a line of its own (as SOM VMs report it).
            eprintln!("espell: uncaught error. Traceback (innermost call first):");
            for line in backtrace {
                eprintln!("    {line}");
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
        _ => {
            eprintln!("espell: {e}");
            ExitCode::FAILURE
        }
    }
}

fn test(filter: Option<String>, dir: Option<PathBuf>) -> ExitCode {
    let dir = dir.unwrap_or_else(testrunner::default_tests_dir);
    let tests = match testrunner::discover(&dir) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("espell: {e}");
            return ExitCode::FAILURE;
        }
    };
    let class_path = testrunner::class_path_for(&dir);
    let (mut passed, mut failed) = (0, 0);
    for t in tests
        .iter()
        .filter(|t| filter.as_ref().is_none_or(|f| t.name().contains(f.as_str())))
    {
        match testrunner::run_test(&class_path, t) {
            testrunner::Outcome::Pass => {
                passed += 1;
                println!("ok   {}", t.name());
            }
            testrunner::Outcome::Fail(why) => {
                failed += 1;
                println!("FAIL {}\n     {}", t.name(), why.replace('\n', "\n     "));
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Demo step 5: three replicas of the web service take one patch all-or-none (two-phase),
/// an update that fails on one replica only changes none, a replica killed and restarted
/// comes back at the fleet's state from its journal.
fn demo_fleet(examples: &std::path::Path, out: &std::path::Path) -> bool {
    println!(
        "\n5. A fleet: three replicas of the web service with patch journals, clients spread\n   \
         over all three; a fleet update (two-phase: all or none), an update that fails on\n   \
         one replica only (rolled back everywhere), and a replica killed and restarted (it\n   \
         replays its journal before its first instruction).\n"
    );
    let opts = espell_cli::experiment::fleet::Options {
        instances: 3,
        clients: 6,
        every: std::time::Duration::from_millis(2000),
        out: out.join("fleet"),
        class_path: examples.join("webapp").display().to_string(),
        app: "WebApp".into(),
        scripts: examples.join("fleet"),
        quiescence_timeout_ms: 2000,
    };
    match espell_cli::experiment::fleet::run(&opts) {
        Ok(o) => {
            print!("{}", o.report);
            o.success
        }
        Err(e) => {
            eprintln!("espell: demo: {e}");
            false
        }
    }
}

/// Demo step 6: a million Points migrated from 2-D to 3-D, one object at a time through
/// mirrors and in bulk (one heap pass), with the application paused.
fn demo_scale(examples: &std::path::Path, out: &std::path::Path) -> bool {
    println!(
        "\n6. Updates at scale: a program holding a million Points takes a schema change\n   \
         (2-D -> 3-D, every instance keeping its identity), per object and in bulk.\n"
    );
    let opts = espell_cli::experiment::pauses::PauseOptions {
        runs: 1,
        points: vec![1_000_000],
        repo: examples.join(".."),
        out: out.join("pauses"),
    };
    match espell_cli::experiment::pauses::run(&opts) {
        Ok((_, report)) => {
            print!("{report}");
            true
        }
        Err(e) => {
            eprintln!("espell: demo: {e}");
            false
        }
    }
}

fn demo() -> ExitCode {
    let examples = testrunner::default_tests_dir().join("../../examples");
    println!("Espell demo\n===========\n\n1. The language (SOM, extended):\n");
    let mut interp = match setup::interpreter(vec![examples.clone()], None) {
        Ok(i) => i,
        Err(e) => return fail(&e),
    };
    for source in [
        "3 + 4",
        "(2 raisedTo: 100) printString",
        "(1 to: 10) inject: 0 into: [:a :b | a + b]",
        "| d | d := Dictionary new. d at: #a put: 1; at: #b put: 2. d printString",
        "[ 1 / 0 ] on: ZeroDivide do: [:e | e messageText ]",
        "| s log | log := Vector new. s := Semaphore new. [ log append: 'child'. s signal ] fork. s wait. log asArray",
    ] {
        println!("espell> {source}\n{}\n", repl::evaluate(&mut interp, source));
    }
    println!(
        "2. A core-library update applied to a running program: IterateArrays sums arrays\n   \
         all the time; 30 ms after start a hypervisor removes do: from\n   \
         SequenceableCollection and installs it on Object, atomically.\n"
    );
    let virtualized = examples.join("virtualized").display().to_string();
    let update = vec![
        "30".to_string(),
        examples.join("updates/MoveDoToObject.som").display().to_string(),
    ];
    let code = run_with_update(
        Some(virtualized),
        None,
        &update,
        espell_vm::hypervisor::DEFAULT_SCRIPT_TIMEOUT,
        "IterateArrays",
        &[],
    );
    if code != ExitCode::SUCCESS {
        return code;
    }
    println!(
        "\n3. A web service under load takes core-library updates (Chester): examples/webapp\n   \
         runs under a hypervisor while 10 keep-alive clients check every answer; every 2 s\n   \
         an update arrives over the control socket: the do: move, an update that fails\n   \
         half-way (rolled back: the state digest is identical), and a revert.\n"
    );
    let updates = examples.join("updates");
    let out = std::env::temp_dir().join(format!("espell-demo-{}", std::process::id()));
    let mut opts = espell_cli::experiment::Options {
        clients: 10,
        every: std::time::Duration::from_millis(2000),
        duration: None,
        steps: vec![
            espell_cli::experiment::Step::Apply(updates.join("MoveDoToObject.som")),
            espell_cli::experiment::Step::Apply(updates.join("FailHalfway.som")),
            espell_cli::experiment::Step::Revert,
        ],
        out: out.clone(),
        class_path: examples.join("webapp").display().to_string(),
        app: "WebApp".into(),
        quiescence_timeout_ms: 2000,
        in_place: false,
        expect: vec!["committed".into(), "rolled back".into(), "committed".into()],
    };
    let chester_ok = match espell_cli::experiment::run(&opts) {
        Ok(o) => {
            print!("{}", o.report);
            o.success
        }
        Err(e) => {
            eprintln!("espell: demo: {e}");
            false
        }
    };
    println!(
        "\n4. The baseline: the same do: move applied in place (plain reflection in the\n   \
         application's own space, no pause, no atomicity) breaks the service.\n"
    );
    opts.in_place = true;
    opts.clients = 5;
    opts.steps.truncate(1);
    opts.expect.clear();
    if let Ok(o) = espell_cli::experiment::run(&opts) {
        for line in o
            .report
            .lines()
            .filter(|l| l.starts_with("step ") || l.starts_with("total:"))
        {
            println!("{line}");
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    let fleet_ok = demo_fleet(&examples, &out);
    let scale_ok = demo_scale(&examples, &out);
    let _ = std::fs::remove_dir_all(&out);
    println!(
        "\nMore: README.md (updates, fleets, the dashboard, benchmarks), docs/chester.md,\n\
         docs/mop.md, examples/updates/, examples/fleet/, `espell dashboard`, `espell repl`."
    );
    if chester_ok && fleet_ok && scale_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
