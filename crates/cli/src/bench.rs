//! The benchmark driver (`espell bench`): runs each benchmark of `bench/` in its own
//! `espell run` process through `Harness`, with warm-up iterations, and tabulates the times.

use espell_syntax::{parse_class, Superclass};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Options of one benchmark run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// The benchmark directory (holding `Harness.som`).
    pub dir: PathBuf,
    /// Benchmarks to run (empty: all).
    pub names: Vec<String>,
    /// Measured iterations per benchmark.
    pub iterations: usize,
    /// Warm-up iterations (run in the same process, not measured).
    pub warmup: usize,
    /// Inner iterations per measured iteration.
    pub inner: usize,
    /// `md` or `csv`.
    pub format: String,
    /// The espell binary to run.
    pub espell: PathBuf,
    /// Directories put before the benchmark directory on the class path (e.g. SOM's
    /// `Smalltalk/`, to run on SOM's core library instead of ours).
    pub lib: Vec<PathBuf>,
}

/// One benchmark's measurements, in microseconds.
#[derive(Clone, Debug)]
pub struct BenchResult {
    /// Benchmark name.
    pub name: String,
    /// Measured iteration times (µs).
    pub times: Vec<u64>,
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
}

/// `bench/` of this checkout (or of the current directory).
pub fn default_bench_dir() -> PathBuf {
    let local = PathBuf::from("bench");
    if local.join("Harness.som").is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench")
}

/// Names of the classes in `dir` that subclass `Benchmark` directly, sorted.
pub fn discover(dir: &Path) -> Vec<String> {
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
            if def.superclass == Superclass::Named("Benchmark".into()) {
                names.push(def.name);
            }
        }
    }
    names.sort();
    names
}

fn class_path(opts: &BenchOptions) -> String {
    let mut dirs: Vec<String> = opts.lib.iter().map(|d| d.display().to_string()).collect();
    dirs.push(opts.dir.display().to_string());
    dirs.join(":")
}

/// Parses `Name: iterations=1 runtime: 1234us` lines into microseconds.
pub fn parse_runtimes(output: &str) -> Vec<u64> {
    output
        .lines()
        .filter_map(|l| l.split("runtime: ").nth(1))
        .filter_map(|t| t.trim().trim_end_matches("us").parse().ok())
        .collect()
}

/// Runs one benchmark in its own process.
pub fn run_one(opts: &BenchOptions, name: &str) -> BenchResult {
    let total = opts.warmup + opts.iterations;
    let output = Command::new(&opts.espell)
        .arg("run")
        .arg("-cp")
        .arg(class_path(opts))
        .arg("Harness")
        .arg(name)
        .arg(total.to_string())
        .arg(opts.inner.to_string())
        .output();
    match output {
        Err(e) => BenchResult {
            name: name.into(),
            times: vec![],
            error: Some(format!("cannot start {}: {e}", opts.espell.display())),
        },
        Ok(out) => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            let times = parse_runtimes(&stdout);
            let error = if !out.status.success() || times.len() != total {
                let stderr = String::from_utf8_lossy(&out.stderr);
                Some(format!(
                    "exit {:?}: {}",
                    out.status.code(),
                    stderr
                        .lines()
                        .chain(stdout.lines())
                        .take(6)
                        .collect::<Vec<_>>()
                        .join(" | ")
                ))
            } else {
                None
            };
            BenchResult {
                name: name.into(),
                times: times.into_iter().skip(opts.warmup).collect(),
                error,
            }
        }
    }
}

/// Formats results as a Markdown table or CSV.
pub fn format_table(results: &[BenchResult], format: &str) -> String {
    let mut s = String::new();
    if format == "csv" {
        s.push_str("benchmark,median_ms,min_ms,max_ms,iterations,error\n");
        for r in results {
            s.push_str(&format!(
                "{},{:.3},{:.3},{:.3},{},{}\n",
                r.name,
                r.median_ms(),
                r.min_ms(),
                r.max_ms(),
                r.times.len(),
                r.error.clone().unwrap_or_default().replace(',', ";")
            ));
        }
    } else {
        s.push_str("| benchmark | median ms | min ms | max ms | iterations |\n|---|---:|---:|---:|---:|\n");
        for r in results {
            match &r.error {
                Some(e) => s.push_str(&format!("| {} | FAILED: {} | | | |\n", r.name, e)),
                None => s.push_str(&format!(
                    "| {} | {:.1} | {:.1} | {:.1} | {} |\n",
                    r.name,
                    r.median_ms(),
                    r.min_ms(),
                    r.max_ms(),
                    r.times.len()
                )),
            }
        }
    }
    s
}
