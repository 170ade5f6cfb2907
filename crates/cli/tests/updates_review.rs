//! Issue 13's claims checked from the outside, through `espell run --control` and `espell
//! patch`, on programs in `tests/review13` written as another team would: a bulk migration
//! of a class and its subclass with fields added and reordered (identity, identity hash
//! and values checked by the program through arrays, a dictionary, another object, a block
//! and processes that wait, sleep and loop), its revert, a failing state transfer that must
//! leave the program exactly as it was, and a revert refused because the program wrote a
//! slot the update had written.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn programs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/review13")
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("espell-review13-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A program under Chester and the lines it prints (read on a thread).
struct Program {
    child: Child,
    sock: PathBuf,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

/// Starts `class` with `args` under Chester; waits until it printed its first line (it
/// has built its data then).
fn start(dir: &Path, class: &str, args: &[&str]) -> Program {
    use std::io::BufRead;
    let sock = dir.join(format!("{class}.sock"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_espell"))
        .arg("run")
        .arg("--control")
        .arg(&sock)
        .arg("-cp")
        .arg(programs())
        .arg(class)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut program = Program {
        child,
        sock,
        lines,
        seen: Vec::new(),
    };
    program.wait_for("start");
    let t = Instant::now();
    while !program.sock.exists() && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    program
}

impl Program {
    /// Waits (at most a minute) for a line starting with `prefix`; answers it.
    fn wait_for(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Err(_) => panic!("no line {prefix:?}; saw {:?}", self.seen),
            }
        }
    }

    /// Stops the program (binds StopChecking); answers its exit and every line it printed.
    fn stop(mut self) -> (Output, Vec<String>) {
        let (ok, answer) = patch(&self.sock, &[&script("Stop.som")]);
        assert!(ok, "{answer}");
        let out = self.child.wait_with_output().unwrap();
        // The reader thread sends what is left and ends at the end of the output.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(60)) {
            self.seen.push(line);
        }
        (out, self.seen)
    }
}

/// `espell patch --to SOCK ARGS…`: exit success and stdout.
fn patch(sock: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_espell"))
        .arg("patch")
        .arg("--to")
        .arg(sock)
        .args(args)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn script(name: &str) -> String {
    programs().join(name).to_str().unwrap().to_string()
}

#[test]
fn bulk_migration_of_a_class_and_its_subclass_keeps_identity_hash_and_values_and_reverts() {
    let dir = scratch("bulk");
    let mut program = start(&dir, "Scale", &["3000"]);
    let (ok, answer) = patch(&program.sock, &[&script("Reshape.som")]);
    assert!(ok, "{answer}");
    assert!(answer.contains("migrated 2700 + 300"), "{answer}");
    let migrated = program.wait_for("now: ");
    assert!(migrated.contains("badHash=0 badVal=0"), "{migrated}");
    let (ok, answer) = patch(&program.sock, &["--revert"]);
    assert!(ok && answer.starts_with("committed: reverted"), "{answer}");
    let reverted = program.wait_for("now: ");
    assert!(reverted.contains("badHash=0 badVal=0"), "{reverted}");
    let (out, lines) = program.stop();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let last = lines.iter().find(|l| l.starts_with("final: ")).expect("final check");
    assert!(
        last.contains("badHash=0 badVal=0 proc=true loop=true sleep=true"),
        "{lines:?}"
    );
    // The class-side variable of the class whose instances moved back is intact.
    assert!(lines.iter().any(|l| l == "3000"), "{lines:?}");
}

#[test]
fn a_failing_state_transfer_leaves_the_program_exactly_as_it_was() {
    let dir = scratch("transfer");
    let program = start(&dir, "Scale", &["500"]);
    let state = |sock: &Path| {
        let (ok, text) = patch(sock, &["--state"]);
        assert!(ok, "{text}");
        // Everything but the collector's counters.
        text.lines()
            .filter(|l| !l.starts_with("gc:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // A dry run needs every process at an update point: by then the program has loaded
    // every class its loops use (Chester), which would otherwise differ below.
    let (ok, answer) = patch(&program.sock, &["--dry-run", &script("Noop.som")]);
    assert!(ok, "{answer}");
    let before = state(&program.sock);
    let (ok, answer) = patch(&program.sock, &[&script("FailingTransfer.som")]);
    assert!(!ok && answer.starts_with("rolled back"), "{answer}");
    assert!(answer.contains("state transfer"), "{answer}");
    assert_eq!(state(&program.sock), before);
    let (out, lines) = program.stop();
    assert!(out.status.success());
    assert!(!lines.iter().any(|l| l.starts_with("now: ")), "{lines:?}");
    let last = lines.iter().find(|l| l.starts_with("final: ")).expect("final check");
    assert!(last.contains("badHash=0 badVal=0 proc=true"), "{lines:?}");
    // The class-side variable the failed transfer wrote is back.
    assert!(lines.iter().any(|l| l == "500"), "{lines:?}");
}

#[test]
fn a_revert_that_would_overwrite_the_programs_write_to_a_slot_is_refused() {
    let dir = scratch("slot");
    let mut program = start(&dir, "Bumper", &[]);
    let (ok, answer) = patch(&program.sock, &[&script("SetLevel.som")]);
    assert!(ok, "{answer}");
    program.wait_for("bumped");
    let (ok, answer) = patch(&program.sock, &["--revert"]);
    assert!(!ok, "{answer}");
    assert!(
        answer.contains("cannot revert") && answer.contains("a Config") && answer.contains("field level"),
        "{answer}"
    );
    // The update is still in effect; the program ran on.
    let (_, history) = patch(&program.sock, &["--history"]);
    assert!(history.contains("SetLevel"), "{history}");
    let (out, lines) = program.stop();
    assert!(out.status.success());
    assert!(lines.iter().any(|l| l == "final level above 100: true"), "{lines:?}");
}
