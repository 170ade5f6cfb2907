//! The paper's motivating updates (section 2) end to end through Chester, on
//! `examples/motivating/KeepsTables`, which checks every lookup of its dictionaries and
//! sets and some float arithmetic at each round: rehashing every hashed collection after a
//! hash change (state transfer), inserting KeyedCollection above Dictionary, renaming
//! Double to BoxedDouble through the special objects; each reverted too. Also the bulk
//! Point migration on a small heap, applied and reverted.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("espell-motivating-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts `class` of `class_path` (with `args`) under Chester; waits for the socket.
fn start(dir: &Path, class_path: &str, class: &str, args: &[&str]) -> (Child, PathBuf) {
    let sock = dir.join(format!("{class}.sock"));
    let child = Command::new(env!("CARGO_BIN_EXE_espell"))
        .arg("run")
        .arg("--control")
        .arg(&sock)
        .args(["-cp", class_path, class])
        .args(args)
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !sock.exists() && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    (child, sock)
}

fn patch(sock: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_espell"))
        .arg("patch")
        .arg("--to")
        .arg(sock)
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn apply(sock: &Path, script: &str) -> String {
    let answer = patch(sock, &[script]);
    assert!(answer.starts_with("committed"), "{script}: {answer}");
    answer
}

fn revert(sock: &Path) {
    let answer = patch(sock, &["--revert"]);
    assert!(answer.starts_with("committed: reverted"), "{answer}");
}

/// Binds StopChecking so that KeepsTables ends; answers its output.
fn stop(dir: &Path, sock: &Path, child: Child) -> Output {
    let script = dir.join("StopChecking.som");
    std::fs::write(
        &script,
        "StopChecking = ChesterUpdate ( run: app = ( app globalAt: #StopChecking put: true ) )",
    )
    .unwrap();
    apply(sock, script.to_str().unwrap());
    child.wait_with_output().unwrap()
}

/// The lines KeepsTables printed about what it saw.
fn seen(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("now: ") || l.starts_with("wrong lookups"))
        .map(String::from)
        .collect()
}

#[test]
fn rehash_superclass_insertion_and_double_rename_keep_every_lookup_right() {
    let dir = scratch("all");
    let (child, sock) = start(&dir, "examples/motivating", "KeepsTables", &["60"]);
    let answer = apply(&sock, "examples/updates/RehashCollections.som");
    assert!(answer.contains("output: rehashed 150 collections"), "{answer}");
    let answer = apply(&sock, "examples/updates/InsertKeyedCollection.som");
    assert!(answer.contains("output: moved 18 methods"), "{answer}");
    let answer = apply(&sock, "examples/updates/RenameDouble.som");
    assert!(answer.contains("special objects (1): doubleClass"), "{answer}");
    assert!(answer.contains("boxed instances migrated"), "{answer}");
    std::thread::sleep(Duration::from_millis(100));
    // Back, one update at a time: the revert of the rehash puts the old index tables back
    // together with the old methods.
    revert(&sock);
    revert(&sock);
    revert(&sock);
    let out = stop(&dir, &sock, child);
    let lines = seen(&out);
    let base =
        "now: Dictionary < HashedCollection, 0.5 + 0.25 is a Double, 1.0e300 is a Double; wrong lookups so far: 0";
    let keyed =
        "now: Dictionary < KeyedCollection, 0.5 + 0.25 is a Double, 1.0e300 is a Double; wrong lookups so far: 0";
    let boxed = "now: Dictionary < KeyedCollection, 0.5 + 0.25 is a BoxedDouble, 1.0e300 is a BoxedDouble; wrong lookups so far: 0";
    assert_eq!(lines.first().map(String::as_str), Some(base), "{lines:?}");
    assert!(lines.iter().any(|l| l == keyed), "{lines:?}");
    assert!(lines.iter().any(|l| l == boxed), "{lines:?}");
    assert_eq!(lines.iter().rev().nth(1).map(String::as_str), Some(base), "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("wrong lookups: 0"), "{lines:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_the_rehash_the_same_hash_change_breaks_lookups() {
    // The negative control: the program does notice when its collections are not rehashed.
    let dir = scratch("norehash");
    let script = std::fs::read_to_string(repo().join("examples/updates/RehashCollections.som")).unwrap();
    let broken = script.replace("each perform: #rehash. ", "");
    assert_ne!(broken, script);
    let file = dir.join("RehashCollections.som");
    std::fs::write(&file, broken).unwrap();
    let (child, sock) = start(&dir, "examples/motivating", "KeepsTables", &["60"]);
    apply(&sock, file.to_str().unwrap());
    std::thread::sleep(Duration::from_millis(100));
    let out = stop(&dir, &sock, child);
    let last = seen(&out).pop().unwrap_or_default();
    let wrong: usize = last.trim_start_matches("wrong lookups: ").parse().unwrap_or(0);
    assert!(wrong > 0, "{last}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bulk_point_migration_applies_and_reverts_on_a_running_program() {
    let dir = scratch("bulk");
    let (child, sock) = start(&dir, "examples/measure", "PointField", &["20000", "60"]);
    for _ in 0..2 {
        let answer = apply(&sock, "examples/updates/PointTo3DBulk.som");
        assert!(answer.contains("output: migrated 20000 points"), "{answer}");
        assert!(answer.contains("instance writes: 20000"), "{answer}");
        revert(&sock);
    }
    let answer = apply(&sock, "examples/updates/PointTo3DBulk.som");
    assert!(answer.contains("migrated 20000 points"), "{answer}");
    // Every point is a Point3D with its x and y and z = 0, seen through the MOP; and
    // the program's own code computes with them (state transfer).
    let script = dir.join("CheckPoints.som");
    std::fs::write(
        &script,
        "CheckPoints = ChesterUpdate ( run: app = ( | pts bad |
            pts := app instancesOf: (app classNamed: #Point3D).
            bad := 0.
            pts do: [ :p | (((p slotAt: #x) asLocal + 1 = (p slotAt: #y) asLocal) and: [ (p slotAt: #z) asLocal = 0 ]) ifFalse: [ bad := bad + 1 ] ].
            (pts length = 20000 and: [ bad = 0 ]) ifFalse: [ self error: 'bad points: ' + bad printString ].
            ((pts at: 7) perform: #printString) asLocal = (((pts at: 7) slotAt: #x) asLocal printString + '@' + ((pts at: 7) slotAt: #y) asLocal printString + '@0')
                ifFalse: [ self error: 'printString' ] ) )",
    )
    .unwrap();
    apply(&sock, script.to_str().unwrap());
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_web_application_under_load_takes_the_motivating_updates_without_a_failed_request() {
    // Rehash, KeyedCollection, BoxedDouble, then the last two reverted; a third revert
    // (of the rehash) is refused, as the program has changed its dictionaries since.
    let out_dir = scratch("web");
    let out = Command::new(env!("CARGO_BIN_EXE_espell"))
        .args(["experiment", "--clients", "20", "--every-ms", "2000", "--expect"])
        .arg("committed,committed,committed,committed,committed,error")
        .arg("--out")
        .arg(&out_dir)
        .args([
            "examples/updates/RehashCollections.som",
            "examples/updates/InsertKeyedCollection.som",
            "examples/updates/RenameDouble.som",
            "revert",
            "revert",
            // The rehash cannot be reverted: the snippet store it transformed has changed.
            "revert",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains(" 0 failed, 0 dropped connections"), "{report}");
    let updates = std::fs::read_to_string(out_dir.join("updates.csv")).unwrap();
    assert!(updates.contains("as before RenameDouble: yes"), "{updates}");
    assert!(updates.contains("as before InsertKeyedCollection: yes"), "{updates}");
    let answers = std::fs::read_to_string(out_dir.join("answers.txt")).unwrap();
    assert!(answers.contains("output: rehashed "), "{answers}");
    assert!(
        answers.contains("cannot revert: the update ran application code"),
        "{answers}"
    );
    let _ = std::fs::remove_dir_all(&out_dir);
}
