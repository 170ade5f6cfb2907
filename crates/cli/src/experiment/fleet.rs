//! `espell experiment --fleet N`: the Figure 4 setup across a fleet. N instances of the web
//! application run under hypervisors, each with a patch journal; keep-alive clients are
//! spread over all of them and check every answer. One interval apart: a fleet update
//! (`FleetV2`: committed on all), a fleet update that fails on one instance only
//! (`FailOnCanary`, after `MarkCanary` marked the last instance: rolled back on all, every
//! digest as before), and a crash and restart of instance 0, which comes back at the
//! fleet's state from its journal. Updates go through `espell patch`, as a user sends
//! them. The report gives per instance and in total: requests, failures, dropped
//! connections; latency around each update; the final digests.

use super::stats::{window, Window};
use crate::workload::{run_user, Sample, UserReport};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// What the fleet experiment does.
#[derive(Clone, Debug)]
pub struct Options {
    /// Instances (at least 2).
    pub instances: usize,
    /// Clients in total, spread over the instances.
    pub clients: usize,
    /// Interval between the steps.
    pub every: Duration,
    /// Where the files go (journals, logs, requests.csv, answers.txt).
    pub out: PathBuf,
    /// The application's class path.
    pub class_path: String,
    /// Its main class.
    pub app: String,
    /// The directory with FleetV2.som, MarkCanary.som and FailOnCanary.som.
    pub scripts: PathBuf,
    /// The instances' quiescence deadline (ms).
    pub quiescence_timeout_ms: u64,
}

/// The result: the printed report and whether every check held.
pub struct Outcome {
    /// The report.
    pub report: String,
    /// True when every check held.
    pub success: bool,
}

struct Instance {
    child: Child,
    addr: SocketAddr,
    sock: PathBuf,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn exe() -> Result<PathBuf, String> {
    std::env::current_exe().map_err(|e| format!("cannot find the espell binary: {e}"))
}

/// Starts instance `k` (on `port`, 0 for any) with its journal; waits for its address.
fn start(opts: &Options, k: usize, port: u16, stop_after: Duration) -> Result<Instance, String> {
    let sock = std::env::temp_dir().join(format!("espell-fleet-{}-{k}.sock", std::process::id()));
    let log_path = opts.out.join(format!("i{k}.log"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let mut child = Command::new(exe()?)
        .arg("run")
        .arg("--journal")
        .arg(opts.out.join(format!("i{k}.journal")))
        .arg("--control")
        .arg(&sock)
        .arg("--quiescence-timeout")
        .arg(opts.quiescence_timeout_ms.to_string())
        .args(["-cp", &opts.class_path, &opts.app, "--port", &port.to_string()])
        .args(["--stop-after-ms", &stop_after.as_millis().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .map_err(|e| format!("cannot start instance {k}: {e}"))?;
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        let mut sink = String::new();
        while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    let mut instance = Instance {
        child,
        addr: "127.0.0.1:0".parse().expect("literal"),
        sock,
    };
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .map_err(|_| format!("instance {k} did not start (see {})", log_path.display()))?;
    instance.addr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("instance {k} said {line:?} (see {})", log_path.display()))?;
    Ok(instance)
}

/// Runs `espell patch` with these targets and arguments; answers (success, stdout).
fn patch(targets: &[&Path], args: &[&str]) -> (bool, String) {
    let exe = match exe() {
        Ok(e) => e,
        Err(e) => return (false, e),
    };
    let mut c = Command::new(exe);
    c.arg("patch");
    for t in targets {
        c.arg("--to").arg(t);
    }
    match c.args(args).stdin(Stdio::null()).output() {
        Ok(out) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            if text.is_empty() {
                text = format!("error: {}\n", String::from_utf8_lossy(&out.stderr).trim());
            }
            (out.status.success(), text)
        }
        Err(e) => (false, format!("error: cannot run espell patch: {e}\n")),
    }
}

/// The state and code lines of one instance's `--state` answer.
fn state(sock: &Path) -> String {
    patch(&[sock], &["--state"])
        .1
        .lines()
        .filter(|l| l.starts_with("state: ") || l.starts_with("identity: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn index(addr: SocketAddr) -> Result<String, String> {
    let mut c = crate::http_client::Client::connect(addr, Duration::from_secs(10))?;
    c.request("GET", "/", None).map(|r| r.body)
}

/// Clients of one instance, stoppable on their own.
struct Crowd {
    stop: Arc<AtomicBool>,
    handles: Vec<(usize, JoinHandle<UserReport>)>,
}

fn crowd(addr: SocketAddr, instance: usize, numbers: &[usize], t0: Instant) -> Crowd {
    let stop = Arc::new(AtomicBool::new(false));
    let handles = numbers
        .iter()
        .map(|&n| {
            let stop = stop.clone();
            (
                instance,
                thread::spawn(move || run_user(addr, n, Duration::from_secs(10), t0, &stop)),
            )
        })
        .collect();
    Crowd { stop, handles }
}

fn finish(c: Crowd, into: &mut Vec<(usize, UserReport)>) {
    c.stop.store(true, Ordering::SeqCst);
    for (i, h) in c.handles {
        let r = h.join().unwrap_or_else(|_| UserReport {
            failures: vec!["a client thread panicked".into()],
            ..UserReport::default()
        });
        into.push((i, r));
    }
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        thread::sleep(t - now);
    }
}

/// One step and what it showed.
struct Step {
    name: String,
    sent_us: u64,
    took_ms: f64,
    verdict: String,
    ok: bool,
}

/// Runs the fleet experiment.
pub fn run(opts: &Options) -> Result<Outcome, String> {
    if opts.instances < 2 {
        return Err("--fleet needs at least 2 instances".into());
    }
    if opts.every < Duration::from_millis(super::MIN_EVERY_MS) {
        return Err(format!("--every-ms must be at least {}", super::MIN_EVERY_MS));
    }
    let script = |name: &str| -> Result<String, String> {
        let p = opts.scripts.join(name);
        std::fs::metadata(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        Ok(p.display().to_string())
    };
    let (v2, mark, fail) = (
        script("FleetV2.som")?,
        script("MarkCanary.som")?,
        script("FailOnCanary.som")?,
    );
    std::fs::create_dir_all(&opts.out).map_err(|e| format!("cannot create {}: {e}", opts.out.display()))?;
    let n = opts.instances;
    for k in 0..n {
        // A fresh fleet: no journal from an earlier run.
        let _ = std::fs::remove_dir_all(opts.out.join(format!("i{k}.journal")));
        let _ = std::fs::remove_file(opts.out.join(format!("i{k}.log")));
    }
    let total = opts.every * 5;
    let stop_after = total + Duration::from_secs(60);
    let mut fleet: Vec<Instance> = (0..n)
        .map(|k| start(opts, k, 0, stop_after))
        .collect::<Result<_, _>>()?;
    let socks = |fleet: &[Instance]| -> Vec<PathBuf> { fleet.iter().map(|i| i.sock.clone()).collect() };
    let mut answers = String::new();
    let mut steps: Vec<Step> = Vec::new();

    // The last instance is marked: FailOnCanary will fail there only.
    let (ok, text) = patch(&[&fleet[n - 1].sock], &[&mark]);
    let _ = writeln!(answers, "== MarkCanary on instance {}\n{text}", n - 1);
    if !ok {
        return Err(format!("MarkCanary failed on instance {}: {text}", n - 1));
    }

    let t0 = Instant::now();
    let spread = |k: usize| -> Vec<usize> { (0..opts.clients.max(n)).filter(|c| c % n == k).collect() };
    let mut crowds: Vec<Option<Crowd>> = (0..n).map(|k| Some(crowd(fleet[k].addr, k, &spread(k), t0))).collect();
    let mut reports: Vec<(usize, UserReport)> = Vec::new();
    let targets = socks(&fleet);
    let target_refs: Vec<&Path> = targets.iter().map(PathBuf::as_path).collect();

    // Step 1: a fleet update.
    sleep_until(t0 + opts.every);
    let sent = t0.elapsed();
    let started = Instant::now();
    let (ok, text) = patch(&target_refs, &[&v2]);
    let took = started.elapsed().as_secs_f64() * 1000.0;
    let seen = fleet
        .iter()
        .all(|i| index(i.addr).is_ok_and(|b| b.contains("fleet: v2\n")));
    let _ = writeln!(answers, "== fleet update FleetV2\n{text}");
    steps.push(Step {
        name: "fleet update FleetV2".into(),
        sent_us: sent.as_micros() as u64,
        took_ms: took,
        verdict: format!(
            "{}; every instance serves `fleet: v2`: {}",
            text.lines().next().unwrap_or(""),
            if seen { "yes" } else { "NO" }
        ),
        ok: ok && seen,
    });

    // Step 2: a fleet update that fails on the marked instance only.
    sleep_until(t0 + opts.every * 2);
    let before: Vec<String> = fleet.iter().map(|i| state(&i.sock)).collect();
    let sent = t0.elapsed();
    let started = Instant::now();
    let (ok, text) = patch(&target_refs, &[&fail]);
    let took = started.elapsed().as_secs_f64() * 1000.0;
    let after: Vec<String> = fleet.iter().map(|i| state(&i.sock)).collect();
    let same = before == after && before.iter().all(|s| s.contains("state: code "));
    let _ = writeln!(answers, "== fleet update FailOnCanary\n{text}");
    steps.push(Step {
        name: "fleet update FailOnCanary".into(),
        sent_us: sent.as_micros() as u64,
        took_ms: took,
        verdict: format!(
            "{}; every digest as before: {}",
            text.lines().next().unwrap_or(""),
            if same { "yes" } else { "NO" }
        ),
        ok: !ok && text.contains("rolled back on all") && same,
    });

    // Step 3: instance 0 crashes (SIGKILL) and restarts with its journal, on its port.
    sleep_until(t0 + opts.every * 3);
    let code_before = state(&fleet[0].sock);
    if let Some(c) = crowds[0].take() {
        finish(c, &mut reports);
    }
    let sent = t0.elapsed();
    let started = Instant::now();
    let port = fleet[0].addr.port();
    let _ = fleet[0].child.kill();
    let _ = fleet[0].child.wait();
    let restarted = start(opts, 0, port, stop_after);
    let took = started.elapsed().as_secs_f64() * 1000.0;
    let (ok, verdict) = match restarted {
        Ok(i) => {
            fleet[0] = i;
            let first = index(fleet[0].addr).map(|b| b.contains("fleet: v2\n"));
            let code_after = state(&fleet[0].sock);
            crowds[0] = Some(crowd(
                fleet[0].addr,
                0,
                &spread(0).iter().map(|c| c + 10_000).collect::<Vec<_>>(),
                t0,
            ));
            let code = |s: &str| {
                s.lines()
                    .find(|l| l.starts_with("state: code "))
                    .unwrap_or("")
                    .to_string()
            };
            let same = !code(&code_before).is_empty() && code(&code_before) == code(&code_after);
            (
                first == Ok(true) && same,
                format!(
                    "back in {took:.0} ms; first request sees `fleet: v2`: {}; code digest as before the crash: {}",
                    if first == Ok(true) { "yes" } else { "NO" },
                    if same { "yes" } else { "NO" }
                ),
            )
        }
        Err(e) => (false, format!("the restart failed: {e}")),
    };
    steps.push(Step {
        name: "crash and restart of instance 0".into(),
        sent_us: sent.as_micros() as u64,
        took_ms: took,
        verdict,
        ok,
    });

    // The end: every client stops, the fleet's digests are compared.
    sleep_until(t0 + total);
    for c in crowds.iter_mut().filter_map(Option::take) {
        finish(c, &mut reports);
    }
    let duration_s = t0.elapsed().as_secs_f64();
    let targets = socks(&fleet);
    let target_refs: Vec<&Path> = targets.iter().map(PathBuf::as_path).collect();
    let (agree, final_state) = patch(&target_refs, &["--state"]);
    let _ = writeln!(answers, "== fleet state at the end\n{final_state}");
    drop(fleet);

    let mut samples: Vec<(usize, Sample)> = Vec::new();
    let mut per: Vec<(usize, usize, usize)> = vec![(0, 0, 0); n];
    let mut failures = Vec::new();
    for (k, r) in reports {
        per[k].0 += r.samples.len();
        per[k].1 += r.samples.iter().filter(|s| !s.ok).count();
        per[k].2 += r.dropped;
        failures.extend(r.failures);
        samples.extend(r.samples.into_iter().map(|s| (k, s)));
    }
    samples.sort_by_key(|(_, s)| s.start_us);
    let mut csv = String::from("start_ms,latency_ms,instance,client,op,status,ok\n");
    for (k, s) in &samples {
        let _ = writeln!(
            csv,
            "{:.3},{:.3},{k},{},{},{},{}",
            s.start_us as f64 / 1000.0,
            s.latency_us as f64 / 1000.0,
            s.client,
            s.op,
            s.status,
            s.ok
        );
    }
    for (name, text) in [("requests.csv", csv), ("answers.txt", answers)] {
        let p = opts.out.join(name);
        std::fs::write(&p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }

    let all: Vec<Sample> = samples.iter().map(|(_, s)| s.clone()).collect();
    let mut out = format!(
        "fleet experiment: {n} instances of {}, {} clients spread over them, {duration_s:.1} s\n\nsteps:\n",
        opts.app,
        opts.clients.max(n)
    );
    for (i, s) in steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. at {:.1} s, {} ({:.0} ms): {} [{}]",
            i + 1,
            s.sent_us as f64 / 1e6,
            s.name,
            s.took_ms,
            s.verdict,
            if s.ok { "ok" } else { "FAILED" }
        );
    }
    out.push_str(
        "\nlatency around each step (0.5 s before to 0.5 s after it is sent) vs the second before, all instances:\n",
    );
    let fmt_w = |w: &Window| {
        format!(
            "{} req, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} failed",
            w.requests, w.p50, w.p99, w.max, w.failed
        )
    };
    let mine: Vec<Vec<Sample>> = (0..n)
        .map(|k| {
            samples
                .iter()
                .filter(|(i, _)| *i == k)
                .map(|(_, s)| s.clone())
                .collect()
        })
        .collect();
    for (i, s) in steps.iter().enumerate() {
        let at = s.sent_us;
        let before = window(&all, at.saturating_sub(1_500_000), at.saturating_sub(500_000));
        let around = window(&all, at.saturating_sub(500_000), at + 500_000);
        let _ = writeln!(
            out,
            "{}. before: {}\n   around: {}",
            i + 1,
            fmt_w(&before),
            fmt_w(&around)
        );
        for (k, m) in mine.iter().enumerate() {
            let w = window(m, at.saturating_sub(500_000), at + 500_000);
            let _ = writeln!(out, "   around, instance {k}: {}", fmt_w(&w));
        }
    }
    out.push_str("\nper instance:\ninstance  requests  failed  dropped\n");
    for (k, (req, failed, dropped)) in per.iter().enumerate() {
        let _ = writeln!(out, "{k:<8}  {req:>8}  {failed:>6}  {dropped:>7}");
    }
    let (req, failed, dropped) = per.iter().fold((0, 0, 0), |a, p| (a.0 + p.0, a.1 + p.1, a.2 + p.2));
    let _ = writeln!(out, "{:<8}  {req:>8}  {failed:>6}  {dropped:>7}", "total");
    out.push_str("(instance 0's clients stop before its crash and new ones start once it is back: the\n restart loses the application's in-memory data, not its code)\n\nfinal digests:\n");
    out.push_str(&final_state);
    for f in failures.iter().take(10) {
        let _ = writeln!(out, "failure: {f}");
    }
    let _ = writeln!(out, "files: {}", opts.out.display());
    let success = steps.iter().all(|s| s.ok) && agree && failed == 0 && dropped == 0 && failures.is_empty();
    Ok(Outcome { report: out, success })
}
