//! `espell run --update-after-ms MS FILE Class`: the paper's four validations, end to end,
//! on running applications (examples/virtualized) with the scripts of examples/updates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run_updated(app: &str, script: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_espell"))
        .args(["run", "-cp", "examples/virtualized", "--update-after-ms", "30"])
        .arg(format!("examples/updates/{script}.som"))
        .arg(app)
        .current_dir(repo())
        .output()
        .expect("run espell")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_moving_do_to_object_is_atomic_for_the_application() {
    let out = run_updated("IterateArrays", "MoveDoToObject");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout, "true\n64\nevery round saw do:\n");
    assert!(stderr.contains("update MoveDoToObject committed"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "exactly one line about the update: {stderr}");
}

#[test]
fn b_my_small_integer_becomes_the_vms_small_integer_class() {
    let out = run_updated("UsesIntegers", "MySmallIntegerClass");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout, "MySmallInteger\n6\n14\nInteger\n");
    assert!(stderr.contains("committed"), "{stderr}");
}

#[test]
fn c_points_migrate_to_3d_and_every_reference_follows() {
    let out = run_updated("HoldsPoints", "PointTo3D");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout, "Point3D\n5\ntrue\n");
    assert!(stderr.contains("committed"), "{stderr}");
}

#[test]
fn d_a_failing_update_rolls_back_and_the_application_runs_on() {
    let out = run_updated("Steady", "FailHalfway");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout, "false\nnil\ninstance of Array\nsteady\n");
    assert!(stderr.contains("update FailHalfway rolled back"), "{stderr}");
    assert!(stderr.contains("deliberate failure"), "{stderr}");
}

#[test]
fn the_applications_exit_code_is_unchanged() {
    let dir = std::env::temp_dir().join(format!("espell-upd-exit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Quits.som"), "Quits = ( run = ( | s | s := system ticks. [ system ticks - s < 2000000 ] whileTrue: [ 1 + 1 ]. system exit: 4 ) )").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_espell"))
        .args(["run", "-cp", dir.to_str().unwrap(), "--update-after-ms", "20"])
        .arg(repo().join("examples/updates/MoveDoToObject.som"))
        .arg("Quits")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stderr).contains("committed"), "{}", text(&out.stderr));
}

#[test]
fn an_update_that_arrives_after_the_end_is_reported_not_applied() {
    let out = Command::new(env!("CARGO_BIN_EXE_espell"))
        .args([
            "run",
            "-cp",
            "examples",
            "--update-after-ms",
            "5000",
            "examples/updates/MoveDoToObject.som",
            "Hello",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "Hello, World from Espell!\n");
    assert!(text(&out.stderr).contains("not applied"), "{}", text(&out.stderr));
}

#[test]
fn e_new_core_features_reach_the_running_program() {
    let out = run_updated("AwaitsFeatures", "BlockMemoization");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout, "297\n2\n", "memoized: 144 + 144 + 9, computed twice");
    let out = run_updated("AwaitsFeatures", "DoubleDebugPrinting");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout, "2.0 (integral)\n2.5\n");
}
