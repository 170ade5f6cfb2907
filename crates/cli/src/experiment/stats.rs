//! Latency statistics over a window of requests: count, throughput and exact percentiles
//! (nearest rank over the sorted latencies).

use crate::workload::Sample;

/// Latency summary of the requests sent in one time window.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    /// Requests sent in the window.
    pub requests: usize,
    /// Of them, answered wrongly or not at all.
    pub failed: usize,
    /// Requests per second over the window's length.
    pub per_second: f64,
    /// Median latency (ms).
    pub p50: f64,
    /// 90th percentile (ms).
    pub p90: f64,
    /// 99th percentile (ms).
    pub p99: f64,
    /// Largest latency (ms).
    pub max: f64,
}

/// The value at percentile `p` (0–100) of sorted `values`, by nearest rank; 0 when empty.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Summarises the samples whose start lies in `[from_us, to_us)`.
pub fn window(samples: &[Sample], from_us: u64, to_us: u64) -> Window {
    let seconds = (to_us.saturating_sub(from_us)) as f64 / 1e6;
    summarize(
        samples.iter().filter(|s| s.start_us >= from_us && s.start_us < to_us),
        seconds,
    )
}

/// Summarises `samples`, sent over `seconds`.
pub fn summarize<'a>(samples: impl Iterator<Item = &'a Sample>, seconds: f64) -> Window {
    let mut latencies: Vec<u64> = Vec::new();
    let mut failed = 0;
    for s in samples {
        latencies.push(s.latency_us);
        if !s.ok {
            failed += 1;
        }
    }
    latencies.sort_unstable();
    let ms = |us: u64| us as f64 / 1000.0;
    Window {
        requests: latencies.len(),
        failed,
        per_second: if seconds > 0.0 {
            latencies.len() as f64 / seconds
        } else {
            0.0
        },
        p50: ms(percentile(&latencies, 50.0)),
        p90: ms(percentile(&latencies, 90.0)),
        p99: ms(percentile(&latencies, 99.0)),
        max: ms(latencies.last().copied().unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(start_us: u64, latency_us: u64, ok: bool) -> Sample {
        Sample {
            start_us,
            latency_us,
            client: 0,
            op: "show",
            status: 200,
            ok,
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&v, 0.0), 1);
        assert_eq!(percentile(&[], 50.0), 0);
        assert_eq!(percentile(&[7], 90.0), 7);
    }

    #[test]
    fn a_window_counts_only_its_requests() {
        let samples = vec![
            sample(0, 1000, true),
            sample(500_000, 2000, true),
            sample(999_999, 3000, false),
            sample(1_000_000, 9000, true),
        ];
        let w = window(&samples, 0, 1_000_000);
        assert_eq!(w.requests, 3);
        assert_eq!(w.failed, 1);
        assert_eq!(w.per_second, 3.0);
        assert_eq!(w.p50, 2.0);
        assert_eq!(w.max, 3.0);
        assert_eq!(window(&samples, 2_000_000, 3_000_000).requests, 0);
    }
}
