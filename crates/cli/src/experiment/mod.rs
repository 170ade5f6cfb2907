//! `espell experiment`: the example web application runs under a hypervisor while
//! concurrent keep-alive clients use it and check every answer; a sequence of updates is
//! delivered over the control socket at fixed intervals. Afterwards it writes every
//! request's latency (`requests.csv`), the updates' answers (`updates.csv`,
//! `answers.txt`), a response-time plot (`latency.svg`) and the server's log, and prints
//! latency percentiles in the second around each update next to the second before it.
//! Updates are delivered by running `espell patch`, exactly as a user would.

pub mod fleet;
pub mod pauses;
pub mod plot;
pub mod stats;

use crate::workload::{run_user, Sample, UserReport};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// Half the width of the window "around" an update (µs): it starts 0.5 s before the
/// update is sent and ends 0.5 s after.
const AROUND_US: u64 = 500_000;
/// Length of the window "before" an update (µs), ending where "around" starts.
const BEFORE_US: u64 = 1_000_000;
/// The shortest interval between updates: the windows of two updates (the second before
/// and the second around each) must not overlap.
pub const MIN_EVERY_MS: u64 = (BEFORE_US + 2 * AROUND_US) / 1000;
/// Socket timeout of every client.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the application may take to print `listening on`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One step of the update sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Deliver this update script (`espell patch FILE`).
    Apply(PathBuf),
    /// Deliver it as a dry run.
    DryRun(PathBuf),
    /// Undo the last committed update (`espell patch --revert`).
    Revert,
}

impl Step {
    /// Parses `revert`, `dry-run:FILE` or `FILE`.
    pub fn parse(text: &str) -> Step {
        if text == "revert" {
            Step::Revert
        } else if let Some(file) = text.strip_prefix("dry-run:") {
            Step::DryRun(PathBuf::from(file))
        } else {
            Step::Apply(PathBuf::from(text))
        }
    }

    /// A short name for tables.
    pub fn name(&self) -> String {
        let stem = |p: &PathBuf| {
            p.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        match self {
            Step::Apply(p) => stem(p),
            Step::DryRun(p) => format!("dry-run {}", stem(p)),
            Step::Revert => "revert".into(),
        }
    }
}

/// The paper's sequence: the `do:` move, the 2-D → 3-D Point migration, an update that
/// fails half-way, and a revert of the last committed one.
pub fn default_steps(repo: &Path) -> Vec<Step> {
    let u = repo.join("examples/updates");
    vec![
        Step::Apply(u.join("MoveDoToObject.som")),
        Step::Apply(u.join("PointTo3D.som")),
        Step::Apply(u.join("FailHalfway.som")),
        Step::Revert,
    ]
}

/// What the experiment does.
#[derive(Clone, Debug)]
pub struct Options {
    /// Concurrent keep-alive clients.
    pub clients: usize,
    /// Interval between updates (the first comes after one interval, the run ends one
    /// interval after the last unless `duration` says otherwise).
    pub every: Duration,
    /// The whole run's length (at least until one interval after the last update).
    pub duration: Option<Duration>,
    /// The updates, in order.
    pub steps: Vec<Step>,
    /// Where the files go.
    pub out: PathBuf,
    /// The application's class path and main class.
    pub class_path: String,
    /// The main class.
    pub app: String,
    /// Quiescence deadline passed to the server (ms).
    pub quiescence_timeout_ms: u64,
    /// Deliver the scripts in place (the baseline) instead of through Chester.
    pub in_place: bool,
    /// Statuses the updates must answer, in order (empty: no expectation).
    pub expect: Vec<String>,
}

/// One delivered update and what it did.
#[derive(Clone, Debug)]
pub struct UpdateRecord {
    /// Its name.
    pub name: String,
    /// When it was sent (ms since start).
    pub sent_ms: f64,
    /// When the answer arrived (ms since start).
    pub answered_ms: f64,
    /// The first word(s) of the answer: `committed`, `rolled back`, `not applied`, ...
    pub status: String,
    /// The pause the answer reports: quiescence wait (ms).
    pub quiescence_ms: f64,
    /// The pause the answer reports: script (or revert) plus commit or rollback (ms).
    pub run_ms: f64,
    /// The application's digest before (`espell patch --state`: a summary line, then one
    /// line per class).
    pub state_before: String,
    /// The digest after.
    pub state_after: String,
    /// The whole answer.
    pub answer: String,
    /// The check of the state, when one applies (`identical to before` for updates that did
    /// not commit, `as before <step>` for a revert) and whether it held.
    pub state_check: Option<(String, bool)>,
}

/// The experiment's result.
#[derive(Debug)]
pub struct Outcome {
    /// Every request of every client.
    pub samples: Vec<Sample>,
    /// Requests answered wrongly or not at all.
    pub failed: usize,
    /// Connections that broke.
    pub dropped: usize,
    /// The first failures, for the report.
    pub failures: Vec<String>,
    /// The updates.
    pub updates: Vec<UpdateRecord>,
    /// The application's garbage collection at the end (`gc: N collections, ...`).
    pub gc: Option<String>,
    /// The printed report.
    pub report: String,
    /// True when nothing failed, nothing dropped, every state check held and the
    /// expected statuses were answered.
    pub success: bool,
}

/// Kills the application when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the experiment.
pub fn run(opts: &Options) -> Result<Outcome, String> {
    if opts.every < Duration::from_millis(MIN_EVERY_MS) {
        return Err(format!("--every-ms must be at least {MIN_EVERY_MS}"));
    }
    if opts.clients == 0 {
        return Err("--clients must be at least 1".into());
    }
    for step in &opts.steps {
        if let Step::Apply(p) | Step::DryRun(p) = step {
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        }
    }
    std::fs::create_dir_all(&opts.out).map_err(|e| format!("cannot create {}: {e}", opts.out.display()))?;
    let socket = std::env::temp_dir().join(format!("espell-experiment-{}.sock", std::process::id()));
    let total = (opts.every * (opts.steps.len() as u32 + 1)).max(opts.duration.unwrap_or_default());
    let (server, addr) = start_server(opts, &socket, total)?;

    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let users: Vec<_> = (0..opts.clients)
        .map(|c| {
            let stop = stop.clone();
            thread::spawn(move || run_user(addr, c, CLIENT_TIMEOUT, t0, &stop))
        })
        .collect();

    let mut updates = Vec::new();
    let mut committed: Vec<(String, String)> = Vec::new();
    for (i, step) in opts.steps.iter().enumerate() {
        sleep_until(t0 + opts.every * (i as u32 + 1));
        updates.push(deliver(&socket, step, opts.in_place, t0, &mut committed));
    }
    // A slow update pushes the end back: every update gets a whole interval after it.
    let last_answer = updates
        .last()
        .map(|u| Duration::from_micros((u.answered_ms * 1000.0) as u64) + opts.every)
        .unwrap_or_default();
    sleep_until(t0 + total.max(last_answer));
    let gc = gc_line(&socket);
    stop.store(true, Ordering::Relaxed);
    let reports: Vec<UserReport> = users
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|_| panic_report()))
        .collect();
    let duration_s = t0.elapsed().as_secs_f64();
    drop(server);
    let _ = std::fs::remove_file(&socket);

    let mut samples: Vec<Sample> = Vec::new();
    let mut failures = Vec::new();
    let mut dropped = 0;
    for r in reports {
        samples.extend(r.samples);
        failures.extend(r.failures);
        dropped += r.dropped;
    }
    samples.sort_by_key(|s| s.start_us);
    let failed = samples.iter().filter(|s| !s.ok).count();
    write_files(opts, &samples, &updates)?;
    plot::draw(&opts.out.join("latency.svg"), &samples, &updates, duration_s)?;
    let statuses: Vec<String> = updates.iter().map(|u| u.status.clone()).collect();
    let expectation_met = opts.expect.is_empty() || statuses == opts.expect;
    let states_hold = updates.iter().all(|u| u.state_check.as_ref().is_none_or(|(_, ok)| *ok));
    let success = failed == 0 && dropped == 0 && failures.is_empty() && expectation_met && states_hold;
    let mut outcome = Outcome {
        samples,
        failed,
        dropped,
        failures,
        updates,
        gc,
        report: String::new(),
        success,
    };
    outcome.report = report(opts, addr, duration_s, &outcome, expectation_met);
    Ok(outcome)
}

fn panic_report() -> UserReport {
    UserReport {
        failures: vec!["a client thread panicked".into()],
        ..UserReport::default()
    }
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        thread::sleep(t - now);
    }
}

/// Starts the application under the hypervisor; answers it and its address.
fn start_server(opts: &Options, socket: &Path, total: Duration) -> Result<(Server, SocketAddr), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the espell binary: {e}"))?;
    let log_path = opts.out.join("server.log");
    let log = std::fs::File::create(&log_path).map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    // The application stops by itself some time after the run, even if this process dies.
    let stop_after = (total + Duration::from_secs(30)).as_millis().to_string();
    let timeout = opts.quiescence_timeout_ms.to_string();
    let socket_arg = socket.display().to_string();
    let mut child = Command::new(exe)
        .args([
            "run",
            "--hypervisor",
            "--control",
            &socket_arg,
            "--quiescence-timeout",
            &timeout,
        ])
        .args([
            "-cp",
            &opts.class_path,
            &opts.app,
            "--port",
            "0",
            "--stop-after-ms",
            &stop_after,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .map_err(|e| format!("cannot start the application: {e}"))?;
    let stdout = child.stdout.take().expect("piped");
    let server = Server(child);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        // Keep reading so that the application never blocks on a full pipe.
        let mut sink = String::new();
        while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    let line = rx.recv_timeout(START_TIMEOUT).map_err(|_| {
        format!(
            "the application printed no `listening on` line within {} s (see {})",
            START_TIMEOUT.as_secs(),
            log_path.display()
        )
    })?;
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("unexpected first line {line:?} (see {})", log_path.display()))?;
    Ok((server, addr))
}

/// Runs `espell patch --to SOCKET args...` (the very command a user runs) and answers
/// what it printed.
fn patch(socket: &Path, args: &[&str]) -> String {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return format!("error: cannot find the espell binary: {e}\n"),
    };
    match Command::new(exe)
        .arg("patch")
        .arg("--to")
        .arg(socket)
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if !out.stdout.is_empty() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => format!("error: {}\n", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => format!("error: cannot run espell patch: {e}\n"),
    }
}

/// Asks for the application's digest (`espell patch --state`).
fn state(socket: &Path) -> String {
    // The garbage collector's line changes by itself: it is not part of the state.
    patch(socket, &["--state"])
        .trim_start_matches("state: ")
        .lines()
        .filter(|l| !l.starts_with("gc: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The application's garbage-collection line (`gc: ...`), if it answers.
fn gc_line(socket: &Path) -> Option<String> {
    patch(socket, &["--state"])
        .lines()
        .find(|l| l.starts_with("gc: "))
        .map(str::to_string)
}

/// The summary line of a state answer.
fn summary(state: &str) -> &str {
    state.lines().next().unwrap_or("")
}

/// Compares the state after a revert with the state before the reverted update: every
/// class then must be there unchanged and the special objects the same. Answers whether it
/// holds and the classes present only afterwards (loaded from the library on first use
/// meanwhile, e.g. by the update's `classNamed:`, and kept: they were always part of the
/// program).
fn restored(before: &str, after: &str) -> (bool, Vec<String>) {
    // The identity line (`identity: classes N #..., ..., special objects N #...`) and the
    // per-class lines; the code digest (first line) is compared by `--state` users.
    let identity = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("identity: "))
            .unwrap_or("")
            .to_string()
    };
    let specials = |s: &str| identity(s).rsplit_once("special objects").map(|(_, x)| x.to_string());
    let classes = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.starts_with("class "))
            .map(str::to_string)
            .collect()
    };
    let (b, a) = (classes(before), classes(after));
    let all_kept = !b.is_empty() && b.iter().all(|line| a.contains(line));
    let extra = a
        .iter()
        .filter(|line| !b.contains(line))
        .filter_map(|line| line.split(' ').nth(1).map(str::to_string))
        .collect();
    (all_kept && specials(before) == specials(after), extra)
}

/// Delivers one step and checks the state around it. `committed` holds (name, state
/// before) of committed, not yet reverted updates.
fn deliver(
    socket: &Path,
    step: &Step,
    in_place: bool,
    t0: Instant,
    committed: &mut Vec<(String, String)>,
) -> UpdateRecord {
    let state_before = state(socket);
    let file = match step {
        Step::Apply(p) | Step::DryRun(p) => p.display().to_string(),
        Step::Revert => String::new(),
    };
    let args: Vec<&str> = match step {
        Step::Apply(_) if in_place => vec!["--in-place", &file],
        Step::Apply(_) => vec![&file],
        Step::DryRun(_) => vec!["--dry-run", &file],
        Step::Revert => vec!["--revert"],
    };
    let sent_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let answer = patch(socket, &args);
    let answered_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let state_after = state(socket);
    let status = answer
        .lines()
        .next()
        .unwrap_or("")
        .split(':')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let (quiescence_ms, run_ms) = pause_of(&answer);
    let name = step.name();
    let state_check = match (step, status.as_str()) {
        (Step::Revert, "committed") => committed.pop().map(|(reverted, before)| {
            let (ok, extra) = restored(&before, &state_after);
            let loaded = if extra.is_empty() {
                String::new()
            } else {
                format!(" (classes loaded since: {})", extra.join(" "))
            };
            (format!("as before {reverted}{loaded}"), ok)
        }),
        (_, "committed") => {
            committed.push((name.clone(), state_before.clone()));
            None
        }
        (_, "rolled back" | "not applied" | "would commit" | "would roll back") => Some((
            "identical to before".into(),
            !state_before.starts_with("error") && state_before == state_after,
        )),
        _ => None,
    };
    UpdateRecord {
        name,
        sent_ms,
        answered_ms,
        status,
        quiescence_ms,
        run_ms,
        state_before,
        state_after,
        answer,
        state_check,
    }
}

/// (quiescence wait, the rest) from the answer's `pause:` line, in ms.
pub fn pause_of(answer: &str) -> (f64, f64) {
    let Some(line) = answer.lines().find(|l| l.starts_with("pause:")) else {
        return (0.0, 0.0);
    };
    let numbers: Vec<f64> = line
        .split(',')
        .filter_map(|part| part.trim().strip_suffix(" ms"))
        .filter_map(|part| part.rsplit(' ').next().and_then(|n| n.parse().ok()))
        .collect();
    let wait = numbers.first().copied().unwrap_or(0.0);
    (wait, numbers.iter().skip(1).sum())
}

fn write_files(opts: &Options, samples: &[Sample], updates: &[UpdateRecord]) -> Result<(), String> {
    let write = |name: &str, text: String| {
        let path = opts.out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    let mut csv = String::from("start_ms,latency_ms,client,op,status,ok\n");
    for s in samples {
        let _ = writeln!(
            csv,
            "{:.3},{:.3},{},{},{},{}",
            s.start_us as f64 / 1000.0,
            s.latency_us as f64 / 1000.0,
            s.client,
            s.op,
            s.status,
            s.ok
        );
    }
    write("requests.csv", csv)?;
    let mut csv = String::from(
        "step,name,sent_ms,answered_ms,status,quiescence_ms,run_ms,state_check,state_before,state_after\n",
    );
    let mut answers = String::new();
    for (i, u) in updates.iter().enumerate() {
        let check = match &u.state_check {
            Some((what, ok)) => format!("{what}: {}", if *ok { "yes" } else { "NO" }),
            None => String::new(),
        };
        let _ = writeln!(
            csv,
            "{},{},{:.3},{:.3},{},{:.3},{:.3},{},\"{}\",\"{}\"",
            i + 1,
            u.name,
            u.sent_ms,
            u.answered_ms,
            u.status,
            u.quiescence_ms,
            u.run_ms,
            check,
            summary(&u.state_before),
            summary(&u.state_after)
        );
        let _ = writeln!(
            answers,
            "== step {}: {} at {:.0} ms\n{}",
            i + 1,
            u.name,
            u.sent_ms,
            u.answer
        );
    }
    write("updates.csv", csv)?;
    write("answers.txt", answers)
}

fn row(label: &str, w: &stats::Window) -> String {
    format!(
        "  {label:<28} {:>8} {:>8.0} {:>7.2} {:>7.2} {:>7.2} {:>8.2} {:>6}\n",
        w.requests, w.per_second, w.p50, w.p90, w.p99, w.max, w.failed
    )
}

fn report(opts: &Options, addr: SocketAddr, duration_s: f64, o: &Outcome, expectation_met: bool) -> String {
    let mut text = format!(
        "espell experiment: {} keep-alive clients on http://{addr} for {duration_s:.1} s, an update every {:.1} s{}\n",
        opts.clients,
        opts.every.as_secs_f64(),
        if opts.in_place {
            " (applied in place: the baseline)"
        } else {
            ""
        }
    );
    for (i, u) in o.updates.iter().enumerate() {
        let check = match &u.state_check {
            Some((what, ok)) => format!("; state {what}: {}", if *ok { "yes" } else { "NO" }),
            None => String::new(),
        };
        let _ = writeln!(
            text,
            "step {} at {:.2} s: {} -> {} (quiescence wait {:.2} ms, run {:.2} ms; answered after {:.1} ms){check}",
            i + 1,
            u.sent_ms / 1000.0,
            u.name,
            u.status,
            u.quiescence_ms,
            u.run_ms,
            u.answered_ms - u.sent_ms
        );
    }
    text.push_str(&format!(
        "\n  {:<28} {:>8} {:>8} {:>7} {:>7} {:>7} {:>8} {:>6}\n",
        "latency (ms) of requests sent", "requests", "req/s", "p50", "p90", "p99", "max", "failed"
    ));
    let end_us = (duration_s * 1e6) as u64;
    let mut around_windows = Vec::new();
    for (i, u) in o.updates.iter().enumerate() {
        let t = (u.sent_ms * 1000.0) as u64;
        let from = t.saturating_sub(AROUND_US).min(end_us);
        let to = (t + AROUND_US).min(end_us);
        around_windows.push((from, to));
        let before = stats::window(&o.samples, from.saturating_sub(BEFORE_US), from);
        let around = stats::window(&o.samples, from, to);
        text.push_str(&row(&format!("step {}: the second before", i + 1), &before));
        text.push_str(&row(&format!("step {}: the second around", i + 1), &around));
    }
    let quiet = o
        .samples
        .iter()
        .filter(|s| !around_windows.iter().any(|(a, b)| s.start_us >= *a && s.start_us < *b));
    let quiet_s = duration_s - around_windows.iter().map(|(a, b)| b - a).sum::<u64>() as f64 / 1e6;
    text.push_str(&row(
        "all seconds without update",
        &stats::summarize(quiet, quiet_s.max(0.0)),
    ));
    text.push_str(&row(
        "whole run",
        &stats::window(&o.samples, 0, (duration_s * 1e6) as u64),
    ));
    let _ = writeln!(
        text,
        "\ntotal: {} requests, {} failed, {} dropped connections",
        o.samples.len(),
        o.failed,
        o.dropped
    );
    if let Some(gc) = &o.gc {
        let _ = writeln!(text, "application {gc}");
    }
    for f in o.failures.iter().take(10) {
        let _ = writeln!(text, "  failure: {f}");
    }
    if !expectation_met {
        let got: Vec<&str> = o.updates.iter().map(|u| u.status.as_str()).collect();
        let _ = writeln!(
            text,
            "expected answers [{}], got [{}]",
            opts.expect.join(", "),
            got.join(", ")
        );
    }
    let _ = writeln!(
        text,
        "files: {0}/requests.csv {0}/updates.csv {0}/answers.txt {0}/latency.svg {0}/server.log",
        opts.out.display()
    );
    let _ = writeln!(text, "{}", if o.success { "PASS" } else { "FAIL" });
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse() {
        assert_eq!(Step::parse("revert"), Step::Revert);
        assert_eq!(Step::parse("dry-run:a/B.som"), Step::DryRun(PathBuf::from("a/B.som")));
        assert_eq!(Step::parse("a/B.som"), Step::Apply(PathBuf::from("a/B.som")));
        assert_eq!(Step::parse("a/B.som").name(), "B");
    }

    #[test]
    fn pause_lines_parse() {
        let a = "committed: update X\npause: quiescence wait 0.50 ms, script 1.25 ms, commit 0.25 ms\n";
        assert_eq!(pause_of(a), (0.5, 1.5));
        let r = "committed: reverted update X (3 recorded change(s) undone)\npause: quiescence wait 2.00 ms, revert 0.10 ms\n";
        assert_eq!(pause_of(r), (2.0, 0.1));
        assert_eq!(pause_of("error: x\n"), (0.0, 0.0));
    }
}
