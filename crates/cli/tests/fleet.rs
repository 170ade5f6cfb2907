//! Fleets and restarts end to end: three web application instances under load take a
//! two-phase fleet update (all or none), a coordinator that dies between prepare and
//! commit leaves every instance rolled back and serving, and an instance restarted with
//! its patch journal comes back at the state it had. Also the journal on its own, and the
//! `exec:` relay through `espell control-bridge`.

use espell_cli::workload::{run_user, UserReport};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ESPELL: &str = env!("CARGO_BIN_EXE_espell");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("espell-fleet-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A web application instance under a hypervisor with a control socket and a journal.
struct Instance {
    child: Child,
    sock: PathBuf,
    addr: SocketAddr,
    stderr: Arc<std::sync::Mutex<String>>,
}

impl Instance {
    fn start(dir: &Path, name: &str) -> Instance {
        let sock = dir.join(format!("{name}.sock"));
        let mut child = Command::new(ESPELL)
            .args(["run", "--journal"])
            .arg(dir.join(format!("{name}.journal")))
            .arg("--control")
            .arg(&sock)
            .arg("-cp")
            .arg(repo().join("examples/webapp"))
            .args(["WebApp", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr: SocketAddr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("instance {name} said {line:?}"))
            .parse()
            .unwrap();
        let stderr = Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        let mut err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Instance {
            child,
            sock,
            addr,
            stderr,
        }
    }

    /// `espell patch --to SOCK --state`: the state line and the code line.
    fn state(&self) -> String {
        let out = patch(&[self.sock.to_str().unwrap()], &["--state"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("state: ") || l.starts_with("identity: "))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits (boundedly) until the instance's stderr contains `what`.
    fn expect_log(&self, what: &str) {
        let t = Instant::now();
        while !self.stderr.lock().unwrap().contains(what) && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = self.stderr.lock().unwrap().clone();
        assert!(log.contains(what), "wanted {what:?} in\n{log}");
    }

    fn code(&self) -> String {
        self.state()
            .lines()
            .find(|l| l.starts_with("state: code "))
            .unwrap()
            .to_string()
    }

    /// GET / on a fresh connection.
    fn index(&self) -> String {
        let mut s = std::net::TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut body = String::new();
        let _ = s.read_to_string(&mut body);
        assert!(body.starts_with("HTTP/1.1 200"), "{body}");
        body
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn patch(targets: &[&str], args: &[&str]) -> Output {
    let mut c = Command::new(ESPELL);
    c.arg("patch");
    for t in targets {
        c.arg("--to").arg(t);
    }
    c.args(args).current_dir(repo()).output().unwrap()
}

fn fleet_file(name: &str) -> String {
    repo().join("examples/fleet").join(name).display().to_string()
}

/// Keep-alive clients on every instance until `stop`.
fn load(
    instances: &[&Instance],
    per_instance: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<UserReport>> {
    let t0 = Instant::now();
    let mut handles = Vec::new();
    for (i, inst) in instances.iter().enumerate() {
        for c in 0..per_instance {
            let (addr, stop) = (inst.addr, stop.clone());
            let client = i * 100 + c;
            handles.push(std::thread::spawn(move || {
                run_user(addr, client, Duration::from_secs(60), t0, &stop)
            }));
        }
    }
    handles
}

#[test]
fn three_instances_under_load_update_all_or_none_and_survive_restarts() {
    let dir = scratch("three");
    let a = Instance::start(&dir, "a");
    let b = Instance::start(&dir, "b");
    let mut c = Instance::start(&dir, "c");
    // b is reached through the relay, as ssh or kubectl would reach it.
    let b_exec = format!("exec:{ESPELL} control-bridge {}", b.sock.display());
    let targets = [a.sock.to_str().unwrap(), b_exec.as_str(), c.sock.to_str().unwrap()];
    let stop = Arc::new(AtomicBool::new(false));
    let clients = load(&[&a, &b, &c], 2, &stop);
    std::thread::sleep(Duration::from_millis(300));

    // 1. A fleet update commits on all three.
    let out = patch(&targets, &[&fleet_file("FleetV2.som")]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}{}", text(&out.stderr));
    assert!(report.contains("committed on all 3 instances"), "{report}");
    assert_eq!(report.matches("  committed  ").count(), 3, "{report}");
    for i in [&a, &b, &c] {
        assert!(i.index().contains("fleet: v2\n"));
    }
    let out = patch(&targets, &["--state"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("all 3 digests agree"));

    // 2. An update that fails on c only leaves all three exactly as before.
    let out = patch(&[c.sock.to_str().unwrap()], &[&fleet_file("MarkCanary.som")]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let before: Vec<String> = [&a, &b, &c].iter().map(|i| i.state()).collect();
    let out = patch(&targets, &[&fleet_file("FailOnCanary.som")]);
    let report = text(&out.stdout);
    assert!(!out.status.success(), "{report}");
    assert!(report.contains("rolled back on all 3 instances"), "{report}");
    assert!(report.contains("FleetCanary"), "c's reason is shown: {report}");
    // An instance the coordinator stopped waiting for (once c had failed) may still be
    // finishing its prepare when asked: it rolls back as soon as it sees the connection
    // closed, so poll (bounded) for that.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut after: Vec<String> = [&a, &b, &c].iter().map(|i| i.state()).collect();
    while after != before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        after = [&a, &b, &c].iter().map(|i| i.state()).collect();
    }
    assert_eq!(before, after, "every instance is exactly as before");
    for i in [&a, &b, &c] {
        assert!(i.index().contains("fleet: v2\n"));
    }

    // 3. The coordinator dies between prepare and commit: every instance rolls back by
    // itself and serves on.
    let mut coordinator = Command::new(ESPELL)
        .arg("patch")
        .args(targets.iter().flat_map(|t| ["--to", t]))
        .args(["--prepare-timeout", "2000", "--pause-before-commit", "60000"])
        .arg(fleet_file("FleetV3.som"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    BufReader::new(coordinator.stderr.take().unwrap())
        .read_line(&mut said)
        .unwrap();
    assert!(said.contains("prepared on all 3 instances"), "{said}");
    coordinator.kill().unwrap();
    let killed = Instant::now();
    let _ = coordinator.wait();
    for (i, inst) in [&a, &b, &c].iter().enumerate() {
        // A held instance answers --state too (showing the uncommitted change): poll until
        // it has rolled back. The closed connection makes that immediate; the prepare
        // timeout (2 s) bounds it; the limit here only allows for a loaded machine.
        let mut now = inst.state();
        while now != before[i] && killed.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(50));
            now = inst.state();
        }
        assert_eq!(now, before[i], "instance {i} rolled back");
        assert!(inst.index().contains("fleet: v2\n"), "serving, at the old state");
    }
    for inst in [&a, &b, &c] {
        // Not after the timeout: at once, because the coordinator's connection ended.
        inst.expect_log("rolled back: update FleetV3");
        inst.expect_log("connection ended without a decision (presumed abort)");
    }

    stop.store(true, Ordering::SeqCst);
    let (mut requests, mut failures, mut dropped) = (0, Vec::new(), 0);
    for h in clients {
        let r = h.join().unwrap();
        requests += r.samples.len();
        failures.extend(r.failures);
        dropped += r.dropped;
    }
    assert!(requests > 30, "the clients ran ({requests} requests)");
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(dropped, 0);

    // 4. c crashes and restarts with its journal: same code digest, updated behaviour from
    // its first request on.
    let code_before = c.code();
    c.child.kill().unwrap();
    let _ = c.child.wait();
    let c2 = Instance::start(&dir, "c");
    assert!(c2.index().contains("fleet: v2\n"), "the first request sees the update");
    assert_eq!(c2.code(), code_before);
    c2.expect_log("replayed 2 update(s)");
    let out = patch(&[c2.sock.to_str().unwrap()], &["--history"]);
    let history = text(&out.stdout);
    assert!(
        history.contains("replayed at start") && history.contains("MarkCanary"),
        "{history}"
    );
    let out = patch(&targets, &["--state"]);
    assert!(
        text(&out.stdout).contains("all 3 digests agree"),
        "{}",
        text(&out.stdout)
    );
    drop(c);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A program that idles at an update point, and an update on its own class.
fn idle_app(dir: &Path) {
    std::fs::write(
        dir.join("Idle.som"),
        "Idle = ( run = ( [ (system global: #StopIdle) isNil ] whileTrue: [ Chester updatePoint. Processor sleep: 5 ] ) )",
    )
    .unwrap();
    std::fs::write(dir.join("Widget.som"), "Widget = ( size = ( ^ 1 ) )").unwrap();
    std::fs::write(
        dir.join("BigWidget.som"),
        "BigWidget = ChesterUpdate ( run: app = ( (app classNamed: #Widget) compileAndInstall: 'size  ^ 2' ) )",
    )
    .unwrap();
    std::fs::write(
        dir.join("Tripled.som"),
        "Tripled = ChesterUpdate ( run: app = ( (app classNamed: #Integer) compileAndInstall: 'tripled  ^ self * 3' ) )",
    )
    .unwrap();
}

fn run_idle(dir: &Path, extra: &[&str]) -> (Child, String) {
    let sock = dir.join("idle.sock");
    let mut child = Command::new(ESPELL)
        .arg("run")
        .args(extra)
        .arg("--control")
        .arg(&sock)
        .arg("-cp")
        .arg(dir)
        .arg("Idle")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The socket's line comes after the journal's replay.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        said.push_str(&line);
        if line.contains("control socket") {
            break;
        }
    }
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    // The socket answers as soon as it is announced, which can be before the program's
    // loop has loaded its lazily loaded classes (Idle, Chester): tests that compare states
    // begin once both are in.
    if said.contains("control socket") {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let state = text(&patch(&[sock.to_str().unwrap()], &["--state"]).stdout);
            if (state.contains("class Idle ") && state.contains("class Chester ")) || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    (child, said)
}

#[test]
fn the_journal_replays_refuses_lists_verifies_and_compacts() {
    let dir = scratch("journal");
    idle_app(&dir);
    let journal = dir.join("j");
    let j = journal.to_str().unwrap();
    let sock = dir.join("idle.sock");
    let s = sock.to_str().unwrap();
    let (mut app, _) = run_idle(&dir, &["--journal", j]);
    for f in ["BigWidget.som", "Tripled.som"] {
        let out = patch(&[s], &[dir.join(f).to_str().unwrap()]);
        assert!(text(&out.stdout).contains("journal: entry"), "{}", text(&out.stdout));
    }
    let out = patch(&[s], &["--revert"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let code = text(&patch(&[s], &["--state"]).stdout);
    let code = code
        .lines()
        .find(|l| l.starts_with("state: code "))
        .unwrap()
        .to_string();
    // Compaction is refused while the program holds the journal.
    let busy = Command::new(ESPELL).args(["journal", j, "--compact"]).output().unwrap();
    assert!(!busy.status.success() && text(&busy.stderr).contains("in use"));
    app.kill().unwrap();
    let _ = app.wait();

    let list = Command::new(ESPELL).args(["journal", j]).output().unwrap();
    let listed = text(&list.stdout);
    assert!(list.status.success(), "{}", text(&list.stderr));
    assert!(
        listed.contains("3 entries") && listed.contains("revert of entry 2"),
        "{listed}"
    );
    let cp = dir.to_str().unwrap();
    let verify = Command::new(ESPELL)
        .args(["journal", "--verify", "-cp", cp, j])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );

    // Restart: the same code digest (Widget changed, Tripled reverted).
    let (mut app, said) = run_idle(&dir, &["--journal", j]);
    assert!(said.contains("replayed 2 update(s) and 1 revert(s)"), "{said}");
    let now = text(&patch(&[s], &["--state"]).stdout);
    assert!(now.contains(&code), "{now}\nwanted {code}");
    assert!(code.contains("Widget") && !code.contains("Integer"), "{code}");
    app.kill().unwrap();
    let _ = app.wait();

    let compact = Command::new(ESPELL).args(["journal", j, "--compact"]).output().unwrap();
    assert!(
        text(&compact.stdout).contains("from 3 to 1 entries"),
        "{}",
        text(&compact.stdout)
    );
    let verify = Command::new(ESPELL)
        .args(["journal", "--verify", "-cp", cp, j])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );

    // The program changed (Widget is gone): start is refused, naming the entry.
    std::fs::remove_file(dir.join("Widget.som")).unwrap();
    let (mut app, said) = run_idle(&dir, &["--journal", j]);
    let status = app.wait().unwrap();
    assert!(!status.success(), "{said}");
    assert!(
        said.contains("entry 1 (") && said.contains("BigWidget.som") && said.contains("--journal-skip-failed"),
        "{said}"
    );
    let (mut app, said) = run_idle(&dir, &["--journal", j, "--journal-skip-failed"]);
    assert!(said.contains("skipped journal"), "{said}");
    assert!(patch(&[s], &["--state"]).status.success());
    app.kill().unwrap();
    let _ = app.wait();

    // A damaged journal is refused with the line.
    let file = journal.join("journal");
    let damaged = std::fs::read_to_string(&file)
        .unwrap()
        .replace("size  ^ 2", "size  ^ 3");
    std::fs::write(&file, damaged).unwrap();
    let list = Command::new(ESPELL).args(["journal", j]).output().unwrap();
    assert!(
        !list.status.success() && text(&list.stderr).contains("fails its check"),
        "{}",
        text(&list.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_prepared_instance_rolls_back_by_itself_when_the_coordinator_goes_quiet() {
    use espell_chester::protocol::{frame_answer, parse_answer_header, Prepared};
    let dir = scratch("quiet");
    idle_app(&dir);
    let (mut app, _) = run_idle(&dir, &[]);
    let sock = dir.join("idle.sock");
    let before = text(&patch(&[sock.to_str().unwrap()], &["--state"]).stdout);
    // A coordinator that prepares and then says nothing, keeping its connection open.
    let script = std::fs::read_to_string(dir.join("Tripled.som")).unwrap();
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    s.write_all(Prepared::header(1000, script.len(), "Tripled.som").as_bytes())
        .unwrap();
    s.write_all(script.as_bytes()).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut head = String::new();
    r.read_line(&mut head).unwrap();
    let n = parse_answer_header(&head).unwrap_or_else(|| panic!("{head}"));
    let mut first = vec![0u8; n];
    r.read_exact(&mut first).unwrap();
    assert!(text(&first).starts_with("prepared: update Tripled"), "{}", text(&first));
    let held = Instant::now();
    // While held, a state query is answered, showing the prepared (uncommitted) change.
    let during = text(&patch(&[sock.to_str().unwrap()], &["--state"]).stdout);
    assert!(during.contains("Integer"), "{during}");
    // Then, silence: the instance gives up on its own; a state query afterwards sees the
    // old state.
    let mut rest = String::new();
    r.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("no decision within 1000 ms (presumed abort)"), "{rest}");
    assert!(held.elapsed() >= Duration::from_millis(900));
    let after = text(&patch(&[sock.to_str().unwrap()], &["--state"]).stdout);
    let lines = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("state:") || l.starts_with("identity:"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(lines(&before), lines(&after));
    assert!(frame_answer("x").starts_with(b"ESPELL/1 answer 1\n"));
    app.kill().unwrap();
    let _ = app.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_fleet_experiment_runs_its_three_steps() {
    let out_dir = scratch("experiment");
    let out = Command::new(ESPELL)
        .args([
            "experiment",
            "--fleet",
            "2",
            "--clients",
            "4",
            "--every-ms",
            "2000",
            "--out",
        ])
        .arg(&out_dir)
        .current_dir(repo())
        .output()
        .unwrap();
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}{}", text(&out.stderr));
    assert_eq!(report.matches("[ok]").count(), 3, "{report}");
    assert!(report.contains("all 2 digests agree"), "{report}");
    assert!(report.lines().any(|l| l.starts_with("total ")), "{report}");
    assert!(out_dir.join("requests.csv").is_file() && out_dir.join("i0.journal/journal").is_file());
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn a_fleet_revert_is_all_or_none() {
    let (d1, d2) = (scratch("revert1"), scratch("revert2"));
    idle_app(&d1);
    idle_app(&d2);
    let (mut a1, _) = run_idle(&d1, &[]);
    let (mut a2, _) = run_idle(&d2, &[]);
    let (s1, s2) = (d1.join("idle.sock"), d2.join("idle.sock"));
    let both = [s1.to_str().unwrap(), s2.to_str().unwrap()];
    let tripled = d1.join("Tripled.som");
    // Only the first has an update to revert: nobody reverts.
    assert!(patch(&both[..1], &[tripled.to_str().unwrap()]).status.success());
    let before = text(&patch(&both, &["--state"]).stdout);
    assert!(before.contains("DIFFER"), "{before}");
    let out = patch(&both, &["--revert"]);
    let report = text(&out.stdout);
    assert!(
        !out.status.success() && report.contains("rolled back on all 2"),
        "{report}"
    );
    // The first either prepared and was rolled back, or had not prepared yet when the
    // second's refusal made the coordinator stop waiting for it (timing).
    assert!(
        report.contains("nothing was reverted") || report.contains("not waited for"),
        "{report}"
    );
    assert_eq!(text(&patch(&both, &["--state"]).stdout), before);
    // Both have one: both revert, and agree again.
    assert!(patch(&both[1..], &[tripled.to_str().unwrap()]).status.success());
    let out = patch(&both, &["--revert"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("fleet revert: committed on all 2"));
    let after = text(&patch(&both, &["--state"]).stdout);
    assert!(
        after.contains("all 2 digests agree") && after.contains("none"),
        "{after}"
    );
    // An unreachable instance: the reachable one is rolled back too.
    let gone = d2.join("gone.sock");
    let with_gone = [both[0], gone.to_str().unwrap()];
    let out = patch(&with_gone, &[tripled.to_str().unwrap()]);
    let report = text(&out.stdout);
    assert!(
        !out.status.success() && report.contains("rolled back on all 2"),
        "{report}"
    );
    assert!(report.contains("cannot reach"), "{report}");
    assert_eq!(text(&patch(&both, &["--state"]).stdout), after);
    for app in [&mut a1, &mut a2] {
        app.kill().unwrap();
        let _ = app.wait();
    }
    let _ = remove_dirs(&[d1, d2]);
}

fn remove_dirs(dirs: &[PathBuf]) -> std::io::Result<()> {
    for d in dirs {
        std::fs::remove_dir_all(d)?;
    }
    Ok(())
}

#[test]
fn an_ssh_target_reaches_the_socket_through_ssh_and_the_bridge() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("ssh");
    idle_app(&dir);
    let (mut app, _) = run_idle(&dir, &[]);
    // A stand-in for ssh on the PATH: it drops the options and the host and runs the
    // remote command with a shell, as sshd would (`espell` is found on the PATH).
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        bin.join("ssh"),
        "#!/bin/sh\necho \"$@\" > \"$(dirname \"$0\")/ssh-args\"\nwhile [ \"$1\" != \"--\" ]; do shift; done\nshift; shift\nexec sh -c \"$*\"\n",
    )
    .unwrap();
    std::fs::set_permissions(bin.join("ssh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(ESPELL, bin.join("espell")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let target = format!("ssh://me@somehost{}", dir.join("idle.sock").display());
    let out = Command::new(ESPELL)
        .env("PATH", &path)
        .args(["patch", "--to", &target, "--state"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).starts_with("state: code #"), "{}", text(&out.stdout));
    let args = std::fs::read_to_string(bin.join("ssh-args")).unwrap();
    assert!(args.starts_with("-- me@somehost espell control-bridge /"), "{args}");
    // A fleet update over ssh and a local socket together.
    let tripled = dir.join("Tripled.som");
    let out = Command::new(ESPELL)
        .env("PATH", &path)
        .args(["patch", "--to", &target, "--to"])
        .arg(dir.join("idle.sock"))
        .arg(&tripled)
        .output()
        .unwrap();
    // Both targets are the same program: the second transaction waits behind the first's
    // hold until that one gives up, so the coordinator sees the first prepare too old to
    // commit and aborts both: all or none, never "committed on 1 of 2".
    let report = text(&out.stdout);
    assert!(!out.status.success(), "{report}");
    assert!(report.contains("rolled back on all 2"), "{report}");
    app.kill().unwrap();
    let _ = app.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_update_whose_journal_entry_cannot_be_written_is_undone() {
    let dir = scratch("unwritable");
    idle_app(&dir);
    let journal = dir.join("j");
    let (mut app, _) = run_idle(&dir, &["--journal", journal.to_str().unwrap()]);
    let s = dir.join("idle.sock");
    let s = s.to_str().unwrap();
    let out = patch(&[s], &[dir.join("BigWidget.som").to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let before = text(&patch(&[s], &["--state"]).stdout);
    // The journal's file is replaced by a directory: the next rename fails.
    std::fs::remove_file(journal.join("journal")).unwrap();
    std::fs::create_dir(journal.join("journal")).unwrap();
    std::fs::write(journal.join("journal/x"), "x").unwrap();
    let out = patch(&[s], &[dir.join("Tripled.som").to_str().unwrap()]);
    let answer = text(&out.stdout);
    assert!(!out.status.success(), "{answer}");
    assert!(
        answer.starts_with("rolled back: update Tripled: cannot write the journal") && answer.contains("undone"),
        "{answer}"
    );
    let first = |t: &str| t.lines().next().unwrap_or("").to_string();
    assert_eq!(first(&text(&patch(&[s], &["--state"]).stdout)), first(&before));
    // A revert cannot be taken back: it happens, and the answer warns.
    let out = patch(&[s], &["--revert"]);
    let answer = text(&out.stdout);
    assert!(answer.starts_with("committed: reverted update BigWidget"), "{answer}");
    assert!(answer.contains("warning: cannot write the journal"), "{answer}");
    // Once the journal can be written again, everything is in it.
    std::fs::remove_dir_all(journal.join("journal")).unwrap();
    let out = patch(&[s], &[dir.join("Tripled.som").to_str().unwrap()]);
    assert!(
        text(&out.stdout).contains("journal: entry 3 written"),
        "{}",
        text(&out.stdout)
    );
    let entries = espell_chester::journal::read(&journal).unwrap();
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    app.kill().unwrap();
    let _ = app.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
