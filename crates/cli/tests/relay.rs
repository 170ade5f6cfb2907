//! Hostile targets and closed outputs, from the outside (`espell patch` as a user runs it):
//! a relay that hangs, talks without end or prints garbage is an error naming the target
//! within a bounded time, and in a fleet update it is that instance failing while the
//! others roll back; output to a closed pipe ends every command quietly (ADR 0021).

use espell_cli::rusage::wait_with_peak_rss;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ESPELL: &str = env!("CARGO_BIN_EXE_espell");

/// Far longer than any of these commands may take once fixed; before the fixes they never
/// ended.
const LIMIT: Duration = Duration::from_secs(90);

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("espell-relay-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `espell ARGS`, killing it after `LIMIT` (then the test fails); answers its output,
/// how long it took and its peak RSS in KiB.
fn espell(args: &[&str]) -> (Output, Duration, u64) {
    let child = Command::new(ESPELL)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let done = Arc::new(AtomicBool::new(false));
    let watch = done.clone();
    std::thread::spawn(move || {
        let t = Instant::now();
        while t.elapsed() < LIMIT {
            if watch.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-9", &pid]).status();
    });
    let t = Instant::now();
    let (out, rss) = wait_with_peak_rss(child);
    done.store(true, Ordering::SeqCst);
    let took = t.elapsed();
    assert!(took < LIMIT, "espell {args:?} did not end within {LIMIT:?}");
    (out.unwrap(), took, rss.unwrap_or(0))
}

/// An application idling at an update point, with a control socket; an update script.
struct App {
    child: Child,
    dir: PathBuf,
}

impl App {
    fn start(tag: &str) -> App {
        App::start_with(tag, &[])
    }

    /// Starts the application with more `run` options (`journal` in its directory is
    /// `{journal}`).
    fn start_with(tag: &str, extra: &[&str]) -> App {
        let dir = scratch(tag);
        std::fs::write(
            dir.join("Idle.som"),
            "Idle = ( run = ( [ true ] whileTrue: [ Chester updatePoint. Processor sleep: 5 ] ) )",
        )
        .unwrap();
        std::fs::write(
            dir.join("Tripled.som"),
            "Tripled = ChesterUpdate ( run: app = ( (app classNamed: #Integer) compileAndInstall: 'tripled  ^ self * 3' ) )",
        )
        .unwrap();
        let mut child = Command::new(ESPELL)
            .arg("run")
            .args(
                extra
                    .iter()
                    .map(|a| a.replace("{journal}", &dir.join("journal").display().to_string())),
            )
            .arg("--control")
            .arg(dir.join("app.sock"))
            .arg("-cp")
            .arg(&dir)
            .arg("Idle")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while !line.contains("control socket") {
            line.clear();
            if err.read_line(&mut line).unwrap_or(0) == 0 {
                panic!("the application ended before announcing its socket");
            }
        }
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        let app = App { child, dir };
        // Wait (boundedly) until the program's lazily loaded classes are in.
        let t = Instant::now();
        while !app.full_state().contains("class Idle ") && t.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
        app
    }

    fn sock(&self) -> String {
        self.dir.join("app.sock").display().to_string()
    }

    fn script(&self) -> String {
        self.dir.join("Tripled.som").display().to_string()
    }

    /// `espell patch --state`, every line.
    fn full_state(&self) -> String {
        let (out, _, _) = espell(&["patch", "--to", &self.sock(), "--state"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    }

    /// The digest lines of `--state`.
    fn state(&self) -> String {
        self.full_state()
            .lines()
            .filter(|l| l.starts_with("state: ") || l.starts_with("identity: "))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn process_exists(pid: &str) -> bool {
    Path::new("/proc").join(pid).exists()
}

#[test]
fn a_relay_that_never_answers_is_an_error_within_the_answer_timeout_and_is_killed() {
    let dir = scratch("hang");
    let pid_file = dir.join("pid");
    // Two hangs: one that never reads the request, one that reads it and never answers.
    for (i, hang) in ["exec sleep 300", "cat >/dev/null; exec sleep 300"].iter().enumerate() {
        let target = format!("exec:echo $$ > {}; {hang}", pid_file.display());
        let (out, took, _) = espell(&["patch", "--answer-timeout", "1500", "--to", &target, "--state"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("espell: {target}: no answer within 1.5 s")),
            "{i}: {err}"
        );
        assert!(took >= Duration::from_millis(1400), "{i}: {took:?}");
        // The relay was killed and reaped (it was the coordinator's own child: `exec`).
        let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_string();
        assert!(!process_exists(&pid), "{i}: the relay {pid} still runs");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_hanging_relay_in_a_fleet_update_fails_that_instance_and_the_others_roll_back() {
    let app = App::start("fleet-hang");
    let before = app.state();
    let hang = "exec:cat >/dev/null; exec sleep 300";
    let (out, _, _) = espell(&[
        "patch",
        "--prepare-timeout",
        "20000",
        "--answer-timeout",
        "2000",
        "--to",
        &app.sock(),
        "--to",
        hang,
        &app.script(),
    ]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}{}", text(&out.stderr));
    assert!(report.contains("rolled back on all 2 instances"), "{report}");
    assert!(report.contains(&format!("{hang}: no answer within 2 s")), "{report}");
    assert!(report.contains("the coordinator decided to abort"), "{report}");
    assert_eq!(app.state(), before);
    // The same over --state and --dry-run: the hanging one is an error row, the command ends.
    let (out, _, _) = espell(&[
        "patch",
        "--answer-timeout",
        "2000",
        "--to",
        &app.sock(),
        "--to",
        hang,
        "--state",
    ]);
    let report = text(&out.stdout);
    assert!(!out.status.success() && report.contains("DIFFER"), "{report}");
    assert!(report.contains("no answer within 2 s"), "{report}");
}

#[test]
fn a_relay_that_talks_without_end_is_cut_off_with_bounded_memory() {
    let (out, _, rss_kib) = espell(&["patch", "--to", "exec:yes", "--state"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("espell: exec:yes: the answer is larger than 8 MiB"),
        "{err}"
    );
    // Well under what an unbounded read would reach in the same time (the cap is 8 MiB).
    assert!(rss_kib < 200 * 1024, "peak RSS {rss_kib} KiB");
    // A framed answer that claims too much, in a fleet prepare, is refused too.
    let app = App::start("talker");
    let before = app.state();
    let (out, _, _) = espell(&["patch", "--to", &app.sock(), "--to", "exec:yes", &app.script()]);
    let report = text(&out.stdout);
    assert!(
        !out.status.success() && report.contains("rolled back on all 2"),
        "{report}"
    );
    assert!(
        report.contains("exec:yes: not an espell answer (got: \"y\\n\")"),
        "{report}"
    );
    assert_eq!(app.state(), before);
}

#[test]
fn a_relay_that_prints_garbage_is_not_taken_for_an_answer() {
    let (out, _, _) = espell(&["patch", "--to", "exec:echo hello garbage", "--state"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "", "garbage must not be echoed as an answer");
    assert!(
        text(&out.stderr).contains("espell: exec:echo hello garbage: not an espell answer (got: \"hello garbage\\n\")"),
        "{}",
        text(&out.stderr)
    );
    // Binary noise is shown escaped and cut.
    let (out, _, _) = espell(&[
        "patch",
        "--to",
        "exec:printf '\\033[1m\\377'; head -c 500 /dev/zero",
        "--history",
    ]);
    let err = text(&out.stderr);
    assert!(err.contains("(got: \"\\u{1b}[1m\\xff\\0\\0"), "{err}");
    assert!(err.contains("... (505 bytes))"), "{err}");
    // In a fleet: a framed answer with garbage inside, an unframed line of garbage, and a
    // relay that ends without a word each fail their instance; the real one rolls back.
    let app = App::start("garbage");
    let before = app.state();
    for bad in [
        "exec:printf 'ESPELL/1 answer 5\\nhello'",
        "exec:echo 'Welcome to host web1'",
        "exec:true",
    ] {
        let (out, _, _) = espell(&["patch", "--to", &app.sock(), "--to", bad, &app.script()]);
        let report = text(&out.stdout);
        assert!(
            // (the real instance may still be preparing when the bad one fails: then the
            // coordinator stops waiting for it, which is counted apart)
            !out.status.success() && report.contains("rolled back on all 2 instances (1 of 2 could not prepare"),
            "{bad}: {report}"
        );
        let expected = if bad == "exec:true" {
            format!("{bad}: no answer from {bad}: the connection ended without an answer")
        } else {
            format!("{bad}: not an espell answer (got: ")
        };
        assert!(report.contains(&expected), "{bad}: {report}");
        assert_eq!(app.state(), before, "{bad}");
    }
}

/// Runs `espell ARGS` with its stdout a pipe whose reading end is already closed.
fn into_closed_pipe(args: &[&str]) -> Output {
    let mut child = Command::new(ESPELL)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let (out, _) = wait_with_peak_rss(child);
    out.unwrap()
}

#[test]
fn output_to_a_closed_pipe_ends_every_command_quietly() {
    let app = App::start_with("pipe", &["--journal", "{journal}"]);
    let sock = app.sock();
    let (out, _, _) = espell(&["patch", "--to", &sock, &app.script()]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let journal = app.dir.join("journal").display().to_string();
    let bridge = format!("exec:{ESPELL} control-bridge {sock}");
    for args in [
        vec!["patch", "--to", &sock, "--history"],
        vec!["patch", "--to", &sock, "--state"],
        vec!["patch", "--to", &sock, "--to", &bridge, "--state"],
        vec!["eval", "3 + 4"],
        vec!["journal", &journal],
        vec!["test", "ArrayTest"],
    ] {
        let out = into_closed_pipe(&args);
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(141), "{args:?}: {err}");
        assert_eq!(err, "", "{args:?}");
    }
}

#[test]
fn an_instance_that_dies_between_prepare_and_commit_makes_every_instance_roll_back() {
    let (a, mut b) = (App::start("dies-a"), App::start("dies-b"));
    let before = a.state();
    let mut coordinator = Command::new(ESPELL)
        .args([
            "patch",
            "--prepare-timeout",
            "30000",
            "--pause-before-commit",
            "3000",
            "--to",
            &a.sock(),
            "--to",
            &b.sock(),
            &a.script(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once both prepared (the coordinator says so before its pause), b dies.
    let mut err = BufReader::new(coordinator.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("prepared on all 2 instances"), "{line}");
    b.child.kill().unwrap();
    let _ = b.child.wait();
    let (out, _) = wait_with_peak_rss(coordinator);
    let out = out.unwrap();
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains("rolled back on all 2 instances (one went away before the decision)"),
        "{report}"
    );
    assert!(
        report.contains(&format!("{} no longer holds its prepare", b.sock())),
        "{report}"
    );
    assert_eq!(a.state(), before, "the survivor must not have committed");
}

#[test]
fn a_fleet_update_stops_waiting_for_a_hung_instance_once_it_can_no_longer_commit() {
    let app = App::start("cut");
    let before = app.state();
    let hang = "exec:cat >/dev/null; exec sleep 300";
    // The answer timeout is the default (60 s); the prepare timeout decides instead: 3/4
    // of it after the real instance prepared, no commit could reach it in time.
    let (out, took, _) = espell(&[
        "patch",
        "--prepare-timeout",
        "4000",
        "--to",
        &app.sock(),
        "--to",
        hang,
        &app.script(),
    ]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(took < Duration::from_secs(40), "{took:?}\n{report}");
    assert!(report.contains("rolled back on all 2 instances"), "{report}");
    assert!(
        report.contains("stopped waiting for the instances still preparing: the first prepared"),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "{hang}: stopped waiting: the fleet update can no longer commit"
        )),
        "{report}"
    );
    assert_eq!(app.state(), before);
    // An out-of-range prepare timeout is refused before anything is sent.
    let (out, _, _) = espell(&["patch", "--prepare-timeout", "0", "--to", &app.sock(), &app.script()]);
    assert!(!out.status.success() && text(&out.stderr).contains("--prepare-timeout"));
}
