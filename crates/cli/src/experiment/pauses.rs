//! `espell experiment --pauses`: how long updates pause an application. For each case
//! (a one-method patch, the `do:` move, the Point migration over N points both object by
//! object — `PointTo3D.som` — and in bulk — `PointTo3DBulk.som`) it starts
//! `examples/measure/PointField` under a hypervisor, applies the update and reverts it,
//! `runs` times, and reports the median and largest pause as the answers state them
//! (script plus commit; the quiescence wait separately), plus the idle cost of an update
//! point (`examples/measure/UpdatePointCost`). A last case repeats the bulk migration of
//! (up to) a million points `REPEATS` times on one program, to show that the heap does not
//! degrade: it reports the first and the last pause.

use super::stats::percentile;
use espell_chester::protocol::{Kind, Request};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Applications of the repeated bulk migration on one program.
pub const REPEATS: usize = 10;

/// The largest point count measured object by object (five million mirrors would need
/// gigabytes in the hypervisor; the bulk form measures every count).
pub const PER_OBJECT_MAX: usize = 1_000_000;

/// The point count of the repeated case (the largest measured, at most a million).
fn repeat_points(points: &[usize]) -> usize {
    points.iter().copied().max().unwrap_or(1000).min(1_000_000)
}

/// What to measure.
#[derive(Clone, Debug)]
pub struct PauseOptions {
    /// Applications of each update (each followed by a revert).
    pub runs: usize,
    /// Point counts for the migration cases.
    pub points: Vec<usize>,
    /// The repository root (examples are found from there).
    pub repo: PathBuf,
    /// Where `pauses.csv` goes.
    pub out: PathBuf,
}

/// One case's measurements (ms).
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// What was measured.
    pub name: String,
    /// Script plus commit of each application.
    pub pauses: Vec<f64>,
    /// Quiescence wait of each application.
    pub waits: Vec<f64>,
    /// Each revert (its own pause).
    pub reverts: Vec<f64>,
}

/// Kills the application when dropped.
struct App(Child);

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs every case; answers the results and the printed report.
pub fn run(opts: &PauseOptions) -> Result<(Vec<CaseResult>, String), String> {
    if opts.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    std::fs::create_dir_all(&opts.out).map_err(|e| format!("cannot create {}: {e}", opts.out.display()))?;
    let updates = opts.repo.join("examples/updates");
    let mut cases = vec![
        ("one-method patch".to_string(), updates.join("OneMethodPatch.som"), 1000),
        (
            "do: move to Object".to_string(),
            updates.join("MoveDoToObject.som"),
            1000,
        ),
    ];
    for &n in &opts.points {
        if n <= PER_OBJECT_MAX {
            cases.push((
                format!("Point 2-D -> 3-D, {n} points"),
                updates.join("PointTo3D.som"),
                n,
            ));
        }
        cases.push((
            format!("  the same in bulk, {n} points"),
            updates.join("PointTo3DBulk.som"),
            n,
        ));
    }
    let mut results = Vec::new();
    for (name, script, points) in cases {
        results.push(measure(opts, &name, &script, points, opts.runs)?);
    }
    let n = repeat_points(&opts.points);
    results.push(measure(
        opts,
        &format!("bulk {n} points x{REPEATS}, one program"),
        &updates.join("PointTo3DBulk.som"),
        n,
        REPEATS,
    )?);
    let idle = update_point_cost(&opts.repo);
    let report = report(opts, &results, &idle);
    let mut csv = String::from("case,run,quiescence_ms,pause_ms,revert_ms\n");
    for r in &results {
        for i in 0..r.pauses.len() {
            let _ = writeln!(
                csv,
                "{},{},{:.3},{:.3},{:.3}",
                r.name,
                i + 1,
                r.waits[i],
                r.pauses[i],
                r.reverts[i]
            );
        }
    }
    let path = opts.out.join("pauses.csv");
    std::fs::write(&path, csv).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok((results, report))
}

fn measure(opts: &PauseOptions, name: &str, script: &Path, points: usize, runs: usize) -> Result<CaseResult, String> {
    let text = std::fs::read_to_string(script).map_err(|e| format!("cannot read {}: {e}", script.display()))?;
    let socket = std::env::temp_dir().join(format!("espell-pauses-{}.sock", std::process::id()));
    let _app = start(&opts.repo, &socket, points)?;
    let mut result = CaseResult {
        name: name.to_string(),
        pauses: Vec::new(),
        waits: Vec::new(),
        reverts: Vec::new(),
    };
    for _ in 0..runs {
        let apply = Request {
            kind: Kind::Apply,
            file: script.display().to_string(),
            script: text.clone(),
        };
        let answer = send(&socket, &apply)?;
        if !answer.starts_with("committed") {
            return Err(format!("{name}: the update did not commit:\n{answer}"));
        }
        let (wait, pause) = super::pause_of(&answer);
        result.waits.push(wait);
        result.pauses.push(pause);
        let revert = Request {
            kind: Kind::Revert,
            file: "revert".into(),
            script: String::new(),
        };
        let answer = send(&socket, &revert)?;
        if !answer.starts_with("committed") {
            return Err(format!("{name}: the revert did not commit:\n{answer}"));
        }
        result.reverts.push(super::pause_of(&answer).1);
    }
    let _ = std::fs::remove_file(&socket);
    Ok(result)
}

fn send(socket: &Path, request: &Request) -> Result<String, String> {
    espell_chester::client::send(socket, request).map_err(|e| format!("control socket {}: {e}", socket.display()))
}

/// Starts PointField with `points` points and waits for its `ready` line.
fn start(repo: &Path, socket: &Path, points: usize) -> Result<App, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the espell binary: {e}"))?;
    let mut child = Command::new(exe)
        .current_dir(repo)
        .arg("run")
        .arg("--hypervisor")
        .arg("--control")
        .arg(socket)
        .args(["-cp", "examples/measure", "PointField", &points.to_string(), "900"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start PointField: {e}"))?;
    let stdout = child.stdout.take().expect("piped");
    let app = App(child);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(line) if line.starts_with("ready") => Ok(app),
        Ok(line) => Err(format!("PointField said {line:?} instead of `ready`")),
        Err(_) => Err("PointField did not get ready within 120 s".into()),
    }
}

/// The output of `examples/measure/UpdatePointCost` (ns per idle update point).
fn update_point_cost(repo: &Path) -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "unknown".into();
    };
    match Command::new(exe)
        .current_dir(repo)
        .args(["run", "-cp", "examples/measure", "UpdatePointCost"])
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().replace('\n', "; "),
        Err(e) => format!("could not run UpdatePointCost: {e}"),
    }
}

fn median_max(v: &[f64]) -> (f64, f64) {
    // Percentiles over µs integers keep one rounding rule for every table.
    let mut us: Vec<u64> = v.iter().map(|x| (x * 1000.0).round() as u64).collect();
    us.sort_unstable();
    (
        percentile(&us, 50.0) as f64 / 1000.0,
        us.last().copied().unwrap_or(0) as f64 / 1000.0,
    )
}

fn report(opts: &PauseOptions, results: &[CaseResult], idle: &str) -> String {
    let mut text = format!(
        "espell experiment --pauses: each update applied and reverted {} times on examples/measure/PointField\n\n",
        opts.runs
    );
    let _ = writeln!(
        text,
        "  {:<40} {:>12} {:>10} {:>14} {:>10} {:>14}",
        "pause (ms)", "median", "max", "quiesce median", "max", "revert median"
    );
    for r in results {
        let (pm, px) = median_max(&r.pauses);
        let (wm, wx) = median_max(&r.waits);
        let (rm, _) = median_max(&r.reverts);
        let _ = writeln!(
            text,
            "  {:<40} {:>12.3} {:>10.3} {:>14.3} {:>10.3} {:>14.3}",
            r.name, pm, px, wm, wx, rm
        );
    }
    if let Some(r) = results.last().filter(|r| r.pauses.len() > 1) {
        let (first, last) = (r.pauses[0], r.pauses[r.pauses.len() - 1]);
        let _ = writeln!(
            text,
            "\nrepeated on one program ({}): first pause {first:.3} ms, last {last:.3} ms, last/first {:.2}",
            r.name,
            last / first.max(0.001)
        );
    }
    let _ = writeln!(
        text,
        "\npause = script run + commit, as the update's answer states it (the application is stopped);\nquiesce = waiting for every process to reach an update point (the application still runs)."
    );
    let _ = writeln!(text, "idle update point (examples/measure/UpdatePointCost): {idle}");
    let _ = writeln!(text, "file: {}/pauses.csv", opts.out.display());
    text
}
