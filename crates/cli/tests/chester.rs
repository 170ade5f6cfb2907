//! Chester end to end: `espell run --hypervisor --control PATH` and `espell patch`.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("espell-chester-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Looping.som"),
        "Looping = ( run = ( | start arr sum | arr := Array new: 32 withAll: 2. start := system ticks.
            [ (system global: #StopLooping) isNil and: [ system ticks - start < 30000000 ] ] whileTrue: [ Chester updatePoint.
                sum := 0. arr do: [:e | sum := sum + e]. sum = 64 ifFalse: [ 'BROKEN' println. system exit: 3 ] ].
            (Object hasMethod: #do:) println ) )",
    )
    .unwrap();
    std::fs::write(
        dir.join("Spinner.som"),
        "Spinner = ( run = ( | start | [ | x | x := 0. [ true ] whileTrue: [ x := x + 1 ] ] fork. start := system ticks.
            [ system ticks - start < 3000000 ] whileTrue: [ Chester updatePoint. Processor sleep: 5 ] ) )",
    )
    .unwrap();
    dir
}

/// Starts `class` under a hypervisor with a control socket; waits for the socket.
fn start(dir: &Path, class: &str, extra: &[&str]) -> (Child, PathBuf) {
    let sock = dir.join(format!("{class}.sock"));
    let child = Command::new(env!("CARGO_BIN_EXE_espell"))
        .arg("run")
        .arg("--control")
        .arg(&sock)
        .args(extra)
        .arg("-cp")
        .arg(dir)
        .arg(class)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !sock.exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    (child, sock)
}

fn patch(sock: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_espell"))
        .arg("patch")
        .arg("--to")
        .arg(sock)
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `espell experiment ARGS --out DIR` from the repository root (DIR fresh for `tag`);
/// answers its output and DIR.
fn experiment(tag: &str, args: &[&str]) -> (Output, PathBuf) {
    let out_dir = std::env::temp_dir().join(format!("espell-{tag}-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_espell"))
        .arg("experiment")
        .args(args)
        .arg("--out")
        .arg(&out_dir)
        .current_dir(repo())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out, out_dir)
}

/// Tells Looping to end (an update that binds the global it watches) and waits for it.
fn stop(sock: &Path, child: Child) -> Output {
    let script = sock.with_file_name("StopLooping.som");
    std::fs::write(
        &script,
        "StopLooping = ChesterUpdate ( run: app = ( app globalAt: #StopLooping put: (app mirrorOn: true) ) )",
    )
    .unwrap();
    let out = patch(sock, &[script.to_str().unwrap()]);
    assert!(text(&out.stdout).starts_with("committed"), "{}", text(&out.stdout));
    finish(child)
}

fn finish(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

#[test]
fn patch_dry_run_failing_commit_and_history() {
    let dir = scratch("main");
    let (child, sock) = start(&dir, "Looping", &[]);
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600,
        "owner only"
    );
    let dry = patch(&sock, &["--dry-run", "examples/updates/MoveDoToObject.som"]);
    assert!(dry.status.success(), "{}", text(&dry.stdout));
    assert!(text(&dry.stdout).starts_with("would commit"), "{}", text(&dry.stdout));
    let failing = patch(&sock, &["examples/updates/FailHalfway.som"]);
    assert_eq!(failing.status.code(), Some(1));
    let out = text(&failing.stdout);
    assert!(out.starts_with("rolled back"), "{out}");
    assert!(out.contains("deliberate failure"), "{out}");
    assert!(out.contains("pause: quiescence wait"), "{out}");
    let ok = patch(&sock, &["examples/updates/MoveDoToObject.som"]);
    assert!(ok.status.success(), "{}", text(&ok.stdout));
    assert!(text(&ok.stdout).contains("Object>>#do:"), "{}", text(&ok.stdout));
    let history = patch(&sock, &["--history"]);
    assert!(
        text(&history.stdout).starts_with("history: 1 committed update"),
        "{}",
        text(&history.stdout)
    );
    std::fs::write(dir.join("Broken.som"), "Broken = ChesterUpdate ( run: app = ( ^ ) )").unwrap();
    let broken = patch(&sock, &[dir.join("Broken.som").to_str().unwrap()]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(text(&broken.stdout).contains("not paused"), "{}", text(&broken.stdout));
    let out = stop(&sock, child);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "true\n",
        "the application saw do: moved and never broke"
    );
}

#[test]
fn malformed_and_oversized_messages_get_errors() {
    let dir = scratch("bad");
    let (child, sock) = start(&dir, "Looping", &[]);
    for message in [b"garbage".to_vec(), vec![b'x'; (1 << 20) + 10]] {
        let mut s = UnixStream::connect(&sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let _ = s.write_all(&message);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply);
        assert!(reply.starts_with("error:"), "{reply}");
    }
    let out = stop(&sock, child);
    assert_eq!(text(&out.stdout), "false\n", "nothing was changed");
}

#[test]
fn quiescence_times_out_naming_the_straggler_or_pauses_it_when_asked() {
    let dir = scratch("quiet");
    let (child, sock) = start(&dir, "Spinner", &["--quiescence-timeout", "300"]);
    let out = patch(&sock, &["examples/updates/MoveDoToObject.som"]);
    assert_eq!(out.status.code(), Some(1));
    let reply = text(&out.stdout);
    assert!(reply.starts_with("not applied"), "{reply}");
    assert!(
        reply.contains("never reached an update point") && reply.contains("Spinner>>#run"),
        "{reply}"
    );
    drop(finish(child));
    let (child, sock) = start(&dir, "Spinner", &["--quiescence-timeout", "300", "--pause-stragglers"]);
    let out = patch(&sock, &["examples/updates/MoveDoToObject.som"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).starts_with("committed"));
    drop(finish(child));
}

#[test]
fn control_flow_migration_restart_insert_and_replace_on_the_loop_thread() {
    let sock = scratch("cf").join("cf.sock");
    let child = Command::new(env!("CARGO_BIN_EXE_espell"))
        .args(["run", "--control"])
        .arg(&sock)
        .args(["-cp", "examples/controlflow", "ControlLoop"])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !sock.exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let a = patch(&sock, &["examples/updates/RestartLoopFromOlderFrame.som"]);
    assert!(a.status.success(), "{}", text(&a.stdout));
    std::thread::sleep(Duration::from_millis(200));
    let i = patch(&sock, &["examples/updates/InsertFrameIntoLoop.som"]);
    assert!(i.status.success(), "{}", text(&i.stdout));
    std::thread::sleep(Duration::from_millis(200));
    let b = patch(&sock, &["examples/updates/ReplaceLoopThread.som"]);
    assert!(b.status.success(), "{}", text(&b.stdout));
    let fix = patch(&sock, &["examples/updates/FixExceptionHierarchy.som"]);
    assert!(fix.status.success(), "{}", text(&fix.stdout));
    assert!(text(&fix.stdout).contains("NetworkError"), "{}", text(&fix.stdout));
    let out = finish(child);
    assert_eq!(text(&out.stdout), "#(#v1 #v2 #migrated #v3)\n", "{}", text(&out.stderr));
}

#[test]
fn the_same_do_move_in_place_breaks_the_updater_and_the_application() {
    let dir = scratch("inplace");
    let (child, sock) = start(&dir, "Looping", &[]);
    let out = patch(&sock, &["--in-place", "examples/updates/MoveDoToObject.som"]);
    assert_eq!(out.status.code(), Some(1));
    let reply = text(&out.stdout);
    assert!(reply.starts_with("in-place failed"), "{reply}");
    assert!(
        reply.contains("do: not found"),
        "the updater broke on the method it removed: {reply}"
    );
    let app = finish(child);
    assert_eq!(app.status.code(), Some(1), "the application broke too");
    assert!(
        text(&app.stdout).contains("Method do: not found in class Array"),
        "{}",
        text(&app.stdout)
    );
}

#[test]
fn another_users_connection_is_refused() {
    let dir = scratch("uid");
    let (child, sock) = start(&dir, "Looping", &[]);
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the control socket is for its owner only");
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        // Without root there is no second uid to become; the unit tests of
        // espell_chester::control check the credential check and the mode.
        eprintln!("not root: the second-uid part of this test is skipped");
        drop(stop(&sock, child));
        return;
    }
    use std::os::unix::process::CommandExt;
    let as_nobody = || {
        Command::new(env!("CARGO_BIN_EXE_espell"))
            .args(["patch", "--history", "--to"])
            .arg(&sock)
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap()
    };
    // The socket's mode keeps the other user out...
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = as_nobody();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("ermission denied"), "{}", text(&out.stderr));
    // ...and were the mode opened by mistake, the peer-credential check still does.
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = as_nobody();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).starts_with("error: permission denied (uid 65534 is not the owner)"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // The owner is still served, and nothing was changed.
    let out = patch(&sock, &["--history"]);
    assert!(
        text(&out.stdout).starts_with("history: 0 committed"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(text(&stop(&sock, child).stdout), "false\n");
}

/// The end-to-end check: the web application under 20 concurrent keep-alive
/// clients takes the do: move, the Point migration, a failing update and a revert.
#[test]
fn webapp_under_load_takes_the_patch_sequence_without_a_failed_request() {
    let (out, out_dir) = experiment(
        "experiment-test",
        &[
            "--clients",
            "20",
            "--every-ms",
            "2000",
            "--expect",
            "committed,committed,rolled back,committed",
        ],
    );
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}\n{}", text(&out.stderr));
    assert!(report.contains(" 0 failed, 0 dropped connections"), "{report}");
    assert!(report.ends_with("PASS\n"), "{report}");
    let updates = std::fs::read_to_string(out_dir.join("updates.csv")).unwrap();
    let rows: Vec<&str> = updates.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "{updates}");
    assert!(rows[0].starts_with("1,MoveDoToObject,") && rows[0].contains(",committed,"));
    assert!(rows[1].starts_with("2,PointTo3D,") && rows[1].contains(",committed,"));
    // After the rollback the classes, methods and special objects are identical to before.
    assert!(
        rows[2].contains(",rolled back,") && rows[2].contains("identical to before: yes"),
        "{}",
        rows[2]
    );
    let states: Vec<&str> = rows[2].split(",\"").skip(1).collect();
    assert_eq!(states.len(), 2);
    assert_eq!(states[0], states[1], "digest before and after the rollback");
    // The revert restores what the migration changed.
    assert!(
        rows[3].contains("as before PointTo3D") && rows[3].ends_with("\""),
        "{}",
        rows[3]
    );
    assert!(rows[3].contains(": yes,"), "{}", rows[3]);
    // Every request of every client is in the CSV and was answered correctly.
    let requests = std::fs::read_to_string(out_dir.join("requests.csv")).unwrap();
    let n = requests.lines().count() - 1;
    assert!(n > 1000, "only {n} requests");
    assert!(requests.lines().skip(1).all(|l| l.ends_with(",true")));
    assert!(std::fs::metadata(out_dir.join("latency.svg")).unwrap().len() > 1000);
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn pauses_are_measured_for_each_case_and_every_update_is_reverted() {
    let (out, out_dir) = experiment("pauses-test", &["--pauses", "--runs", "2", "--points", "1000"]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}{}", text(&out.stderr));
    for case in [
        "one-method patch",
        "do: move to Object",
        "Point 2-D -> 3-D, 1000 points",
        "the same in bulk, 1000 points",
        "bulk 1000 points x10, one program",
    ] {
        assert!(report.contains(case), "{report}");
    }
    assert!(report.contains("updatePoint ns/call: "), "{report}");
    assert!(report.contains("last/first "), "{report}");
    let csv = std::fs::read_to_string(out_dir.join("pauses.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4 * 2 + 10, "{csv}");
    let _ = std::fs::remove_dir_all(&out_dir);
}

/// The baseline on the same web application: the do: move applied in place (no
/// hypervisor, no atomicity) breaks the server for every client from then on.
#[test]
fn the_do_move_in_place_breaks_the_web_application() {
    let (out, out_dir) = experiment(
        "inplace-test",
        &[
            "--clients",
            "5",
            "--every-ms",
            "2000",
            "--in-place",
            "examples/updates/MoveDoToObject.som",
        ],
    );
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains("MoveDoToObject -> in-place failed"), "{report}");
    assert!(report.ends_with("FAIL\n"), "{report}");
    let log = std::fs::read_to_string(out_dir.join("server.log")).unwrap();
    assert!(log.contains("Method do: not found in class Array"), "{log}");
    let requests = std::fs::read_to_string(out_dir.join("requests.csv")).unwrap();
    let failed_late = requests
        .lines()
        .skip(1)
        .filter(|l| l.ends_with(",false"))
        .filter(|l| {
            l.split(',')
                .next()
                .and_then(|t| t.parse::<f64>().ok())
                .is_some_and(|t| t > 2000.0)
        })
        .count();
    assert!(failed_late > 10, "requests after the update fail: {failed_late}");
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn a_script_that_runs_too_long_is_stopped_and_rolled_back() {
    let dir = scratch("forever");
    std::fs::write(
        dir.join("Forever.som"),
        "Forever = ChesterUpdate ( run: app = ( (app classNamed: #Object) compileAndInstall: 'halfway ^ 1'. [ true ] whileTrue: [ ] ) )",
    )
    .unwrap();
    let (child, sock) = start(&dir, "Looping", &["--script-timeout", "300"]);
    let out = patch(&sock, &[dir.join("Forever.som").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let reply = text(&out.stdout);
    assert!(reply.starts_with("rolled back"), "{reply}");
    assert!(reply.contains("ran longer than 300 ms"), "{reply}");
    let out = patch(&sock, &["examples/updates/MoveDoToObject.som"]);
    assert!(text(&out.stdout).starts_with("committed"), "{}", text(&out.stdout));
    assert_eq!(
        text(&stop(&sock, child).stdout),
        "true\n",
        "the application went on, then saw the do: move"
    );
}

#[test]
fn a_second_program_cannot_take_a_live_control_socket() {
    let dir = scratch("twice");
    let (child, sock) = start(&dir, "Looping", &[]);
    let second = Command::new(env!("CARGO_BIN_EXE_espell"))
        .arg("run")
        .arg("--control")
        .arg(&sock)
        .args(["-cp", "examples", "Hello"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    assert!(
        text(&second.stderr).contains("is the control socket of a running program"),
        "{}",
        text(&second.stderr)
    );
    let out = patch(&sock, &["--history"]);
    assert!(
        text(&out.stdout).starts_with("history: 0"),
        "the first program still answers"
    );
    assert_eq!(text(&stop(&sock, child).stdout), "false\n");
}

/// An update that breaks nothing, applied in place while requests are served: the
/// in-place run (a nested run of the interpreter inside the program) must not disturb the
/// other processes, e.g. their non-local returns.
#[test]
fn a_harmless_update_in_place_leaves_every_request_correct() {
    let (out, out_dir) = experiment(
        "inplace-ok",
        &[
            "--clients",
            "8",
            "--every-ms",
            "2000",
            "--in-place",
            "examples/updates/DoubleDebugPrinting.som",
        ],
    );
    let report = text(&out.stdout);
    assert!(report.contains("DoubleDebugPrinting -> applied in place"), "{report}");
    assert!(report.contains(" 0 failed, 0 dropped connections"), "{report}");
    let _ = std::fs::remove_dir_all(&out_dir);
}

/// The in-place baseline applies every change at once, so a failing update in place
/// leaves its changes behind — there is no way back.
#[test]
fn in_place_updates_take_effect_at_once_and_are_not_undone_when_they_fail() {
    let dir = scratch("inplace-full");
    std::fs::copy(repo().join("examples/virtualized/Steady.som"), dir.join("Steady.som")).unwrap();
    let (child, sock) = start(&dir, "Steady", &[]);
    let out = patch(&sock, &["--in-place", "examples/updates/FailHalfway.som"]);
    assert!(
        text(&out.stdout).starts_with("in-place failed"),
        "{}",
        text(&out.stdout)
    );
    let app = finish(child);
    assert_ne!(app.status.code(), Some(0), "the half-done update broke the program");
    assert!(
        text(&app.stdout).contains("CHANGED") || text(&app.stdout).contains("do: not found"),
        "{}",
        text(&app.stdout)
    );
}
