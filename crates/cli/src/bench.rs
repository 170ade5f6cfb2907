//! The benchmark driver (`espell bench`): runs each benchmark of `bench/` in its own process
//! (espell through `bench/Harness.som`, Lua through `bench/lua/harness.lua`, another espell
//! binary, ...), with warm-up iterations inside the process, and tabulates times and peak
//! memory. With two runners, each benchmark runs on both alternately and the table gives the
//! ratio and, last, the geometric mean of the ratios.

use espell_syntax::{parse_class, Superclass};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How to start one benchmark process: `program prefix... Name iterations inner`.
#[derive(Clone, Debug)]
pub struct Runner {
    /// Column label ("espell", "virtualized", "lua", ...).
    pub label: String,
    /// The executable.
    pub program: PathBuf,
    /// Arguments before the benchmark name.
    pub prefix: Vec<String>,
    /// Arguments that run the startup program (Hello) as a whole process.
    pub startup: Vec<String>,
}

impl Runner {
    /// espell itself on `dir` (with `lib` directories first; virtualized under an idle
    /// hypervisor if asked; timing CPU time with `cpu_clock`, as Lua's harness does).
    pub fn espell(espell: &Path, dir: &Path, lib: &[PathBuf], virtualized: bool, cpu_clock: bool) -> Runner {
        let mut cp: Vec<String> = lib.iter().map(|d| d.display().to_string()).collect();
        cp.push(dir.display().to_string());
        let mut prefix = vec!["run".to_string()];
        if virtualized {
            prefix.push("--hypervisor".into());
        }
        if cpu_clock {
            prefix.push("--cpu-clock".into());
        }
        let mut startup = prefix.clone();
        prefix.extend(["-cp".to_string(), cp.join(":"), "Harness".to_string()]);
        let examples = examples_dir(dir).display().to_string();
        startup.extend(["-cp".to_string(), examples, "Hello".to_string()]);
        Runner {
            label: if virtualized { "virtualized" } else { "espell" }.into(),
            program: espell.into(),
            prefix,
            startup,
        }
    }

    /// Lua 5.4 on the twins in `dir/lua`.
    pub fn lua(dir: &Path) -> Runner {
        Runner {
            label: "lua".into(),
            program: "lua5.4".into(),
            prefix: vec![dir.join("lua/harness.lua").display().to_string()],
            startup: vec![dir.join("lua/Hello.lua").display().to_string()],
        }
    }

    /// Another espell binary (e.g. a build of an older commit) on the same benchmarks.
    pub fn other_espell(binary: &Path, dir: &Path, lib: &[PathBuf], cpu_clock: bool) -> Runner {
        let mut r = Runner::espell(binary, dir, lib, false, cpu_clock);
        r.label = binary.display().to_string();
        r
    }
}

/// One benchmark's measurements on one runner.
#[derive(Clone, Debug)]
pub struct BenchResult {
    /// Benchmark name.
    pub name: String,
    /// Measured iteration times (µs).
    pub times: Vec<u64>,
    /// Peak resident set size of the process (KiB), if known.
    pub peak_rss_kb: Option<u64>,
    /// Set when the run failed.
    pub error: Option<String>,
}

impl BenchResult {
    fn sorted(&self) -> Vec<u64> {
        let mut t = self.times.clone();
        t.sort_unstable();
        t
    }
    /// Median time in ms.
    pub fn median_ms(&self) -> f64 {
        let t = self.sorted();
        if t.is_empty() {
            return f64::NAN;
        }
        let m = if t.len() % 2 == 1 {
            t[t.len() / 2] as f64
        } else {
            (t[t.len() / 2 - 1] + t[t.len() / 2]) as f64 / 2.0
        };
        m / 1000.0
    }
    /// Minimum time in ms.
    pub fn min_ms(&self) -> f64 {
        self.sorted().first().map(|&t| t as f64 / 1000.0).unwrap_or(f64::NAN)
    }
    /// Maximum time in ms.
    pub fn max_ms(&self) -> f64 {
        self.sorted().last().map(|&t| t as f64 / 1000.0).unwrap_or(f64::NAN)
    }
    fn rss_mb(&self) -> String {
        self.peak_rss_kb
            .map(|k| format!("{:.1}", k as f64 / 1024.0))
            .unwrap_or_else(|| "?".into())
    }
}

/// Where `Hello` (the startup row) is: beside the benchmark directory, else this checkout's.
fn examples_dir(bench: &Path) -> PathBuf {
    let beside = bench.join("../examples");
    if beside.join("Hello.som").is_file() {
        return beside;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// `bench/` of this checkout (or of the current directory).
pub fn default_bench_dir() -> PathBuf {
    let local = PathBuf::from("bench");
    if local.join("Harness.som").is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench")
}

/// Every benchmark class in `dir` (see `discover_for`).
pub fn discover(dir: &Path) -> Vec<String> {
    discover_for(dir, false)
}

/// Names of the classes in `dir` that subclass `Benchmark` directly, sorted. With
/// `portable_only`, benchmarks that need Espell's own library (their class side answers
/// `needsEspell`, e.g. ThreadRing's processes) are left out: for runs on another core
/// library such as SOM's.
pub fn discover_for(dir: &Path, portable_only: bool) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return names;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "som") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        if let Ok(def) = parse_class(&text, &p.display().to_string()) {
            let needs_espell = def.class_methods.iter().any(|m| m.selector == "needsEspell");
            if def.superclass == Superclass::Named("Benchmark".into()) && !(portable_only && needs_espell) {
                names.push(def.name);
            }
        }
    }
    names.sort();
    names
}

/// Parses `Name: iterations=1 runtime: 1234us` lines into microseconds.
pub fn parse_runtimes(output: &str) -> Vec<u64> {
    output
        .lines()
        .filter_map(|l| l.split("runtime: ").nth(1))
        .filter_map(|t| t.trim().trim_end_matches("us").parse().ok())
        .collect()
}

/// Runs `name` on `runner`: `warmup + iterations` iterations of `inner` runs each, in one
/// process; the first `warmup` iteration times are dropped.
pub fn run_one(runner: &Runner, name: &str, warmup: usize, iterations: usize, inner: usize) -> BenchResult {
    let total = warmup + iterations;
    let child = Command::new(&runner.program)
        .args(&runner.prefix)
        .arg(name)
        .arg(total.to_string())
        .arg(inner.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            return BenchResult {
                name: name.into(),
                times: vec![],
                peak_rss_kb: None,
                error: Some(format!("cannot start {}: {e}", runner.program.display())),
            }
        }
    };
    let (out, peak_rss_kb) = crate::rusage::wait_with_peak_rss(child);
    let Ok(out) = out else {
        return BenchResult {
            name: name.into(),
            times: vec![],
            peak_rss_kb,
            error: Some("lost the child process".into()),
        };
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let times = parse_runtimes(&stdout);
    let error = if !out.status.success() || times.len() != total {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why: Vec<&str> = stderr.lines().chain(stdout.lines()).take(4).collect();
        Some(format!("exit {:?}: {}", out.status.code(), why.join(" | ")))
    } else {
        None
    };
    BenchResult {
        name: name.into(),
        times: times.into_iter().skip(warmup).collect(),
        peak_rss_kb,
        error,
    }
}

/// The name of the startup row.
pub const STARTUP: &str = "Hello (startup)";

/// Starts the runner's Hello program `runs` times as a whole process (spawn to exit):
/// the startup row of the tables.
pub fn run_startup(runner: &Runner, runs: usize) -> BenchResult {
    let mut result = BenchResult {
        name: STARTUP.into(),
        times: Vec::new(),
        peak_rss_kb: None,
        error: None,
    };
    for _ in 0..runs {
        let started = std::time::Instant::now();
        let child = Command::new(&runner.program)
            .args(&runner.startup)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) => {
                result.error = Some(format!("cannot start {}: {e}", runner.program.display()));
                return result;
            }
        };
        let (out, rss) = crate::rusage::wait_with_peak_rss(child);
        let elapsed = started.elapsed().as_micros() as u64;
        match out {
            Ok(out) if out.status.success() && String::from_utf8_lossy(&out.stdout).starts_with("Hello") => {
                result.times.push(elapsed);
                result.peak_rss_kb = result.peak_rss_kb.max(rss);
            }
            Ok(out) => {
                result.error = Some(format!(
                    "exit {:?}: {}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("")
                ));
                return result;
            }
            Err(_) => {
                result.error = Some("lost the child process".into());
                return result;
            }
        }
    }
    result
}

/// A table of single-runner results (Markdown or CSV).
pub fn format_table(results: &[BenchResult], format: &str) -> String {
    let mut s = String::new();
    if format == "csv" {
        s.push_str("benchmark,median_ms,min_ms,max_ms,iterations,peak_rss_mb,error\n");
        for r in results {
            s.push_str(&format!(
                "{},{:.3},{:.3},{:.3},{},{},{}\n",
                r.name,
                r.median_ms(),
                r.min_ms(),
                r.max_ms(),
                r.times.len(),
                r.rss_mb(),
                r.error.clone().unwrap_or_default().replace(',', ";")
            ));
        }
    } else {
        s.push_str(
            "| benchmark | median ms | min ms | max ms | iterations | peak RSS MB |\n|---|---:|---:|---:|---:|---:|\n",
        );
        for r in results {
            match &r.error {
                Some(e) => s.push_str(&format!("| {} | FAILED: {} | | | | |\n", r.name, e)),
                None => s.push_str(&format!(
                    "| {} | {:.1} | {:.1} | {:.1} | {} | {} |\n",
                    r.name,
                    r.median_ms(),
                    r.min_ms(),
                    r.max_ms(),
                    r.times.len(),
                    r.rss_mb()
                )),
            }
        }
    }
    s
}

/// Geometric mean of positive finite ratios (NaN when there are none).
pub fn geometric_mean(ratios: &[f64]) -> f64 {
    let ok: Vec<f64> = ratios.iter().copied().filter(|r| r.is_finite() && *r > 0.0).collect();
    if ok.is_empty() {
        return f64::NAN;
    }
    (ok.iter().map(|r| r.ln()).sum::<f64>() / ok.len() as f64).exp()
}

/// A side-by-side table of two runners' results: times of A, median of B, ratio A/B,
/// peak memory of both; last line the geometric mean of the ratios.
/// The startup row (`STARTUP`) is shown but not part of the mean.
pub fn format_comparison(pairs: &[(BenchResult, BenchResult)], a: &str, b: &str, format: &str) -> String {
    let ratios: Vec<f64> = pairs.iter().map(|(x, y)| x.median_ms() / y.median_ms()).collect();
    let suite: Vec<f64> = pairs
        .iter()
        .zip(&ratios)
        .filter(|((x, _), _)| x.name != STARTUP)
        .map(|(_, r)| *r)
        .collect();
    let mut s = String::new();
    if format == "csv" {
        s.push_str(&format!(
            "benchmark,{a}_median_ms,{a}_min_ms,{a}_max_ms,{b}_median_ms,ratio,{a}_rss_mb,{b}_rss_mb,error\n"
        ));
        for ((x, y), r) in pairs.iter().zip(&ratios) {
            let err = x
                .error
                .clone()
                .or(y.error.clone())
                .unwrap_or_default()
                .replace(',', ";");
            s.push_str(&format!(
                "{},{:.3},{:.3},{:.3},{:.3},{:.3},{},{},{}\n",
                x.name,
                x.median_ms(),
                x.min_ms(),
                x.max_ms(),
                y.median_ms(),
                r,
                x.rss_mb(),
                y.rss_mb(),
                err
            ));
        }
        s.push_str(&format!("geomean,,,,,{:.3},,,\n", geometric_mean(&suite)));
    } else {
        s.push_str(&format!(
            "| benchmark | {a} median ms | {a} min | {a} max | {b} median ms | {a}/{b} | {a} RSS MB | {b} RSS MB |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
        ));
        for ((x, y), r) in pairs.iter().zip(&ratios) {
            if let Some(e) = x.error.as_ref().or(y.error.as_ref()) {
                s.push_str(&format!("| {} | FAILED: {} | | | | | | |\n", x.name, e));
                continue;
            }
            s.push_str(&format!(
                "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {} | {} |\n",
                x.name,
                x.median_ms(),
                x.min_ms(),
                x.max_ms(),
                y.median_ms(),
                r,
                x.rss_mb(),
                y.rss_mb()
            ));
        }
        s.push_str(&format!(
            "| **geometric mean** (benchmarks) | | | | | **{:.2}** | | |\n",
            geometric_mean(&suite)
        ));
    }
    s
}
