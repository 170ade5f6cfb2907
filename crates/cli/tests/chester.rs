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
            [ system ticks - start < 4000000 ] whileTrue: [ Chester updatePoint.
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
    let out = finish(child);
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
    let out = finish(child);
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
fn control_flow_migration_restart_and_replace_the_loop_thread() {
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
    let b = patch(&sock, &["examples/updates/ReplaceLoopThread.som"]);
    assert!(b.status.success(), "{}", text(&b.stdout));
    let fix = patch(&sock, &["examples/updates/FixExceptionHierarchy.som"]);
    assert!(fix.status.success(), "{}", text(&fix.stdout));
    assert!(text(&fix.stdout).contains("NetworkError"), "{}", text(&fix.stdout));
    let out = finish(child);
    assert_eq!(text(&out.stdout), "#(#v1 #v2 #v3)\n", "{}", text(&out.stderr));
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
