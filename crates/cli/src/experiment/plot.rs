//! The response-time plot of an experiment (SVG): every request as a dot (time sent,
//! latency) — for long runs, only the slowest request of each 50 ms, so that the file stays
//! small — the 99th percentile per 250 ms as a line, and each update as a vertical line
//! labelled with its outcome.

use super::UpdateRecord;
use crate::experiment::stats::percentile;
use crate::workload::Sample;
use plotters::prelude::*;
use std::path::Path;

/// Width of the buckets of the percentile line (µs).
const BUCKET_US: u64 = 250_000;
/// Above this many requests, dots show only the slowest request of each `DOT_BUCKET_US`.
const MAX_DOTS: usize = 20_000;
/// The dot bucket of long runs (µs).
const DOT_BUCKET_US: u64 = 50_000;

/// Draws the plot into `path`.
pub fn draw(path: &Path, samples: &[Sample], updates: &[UpdateRecord], duration_s: f64) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    let max_ms = samples
        .iter()
        .map(|s| s.latency_us as f64 / 1000.0)
        .fold(1.0_f64, f64::max)
        * 1.1;
    let root = SVGBackend::new(path, (1200, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("response time of every request (updates marked)", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..duration_s, (0.01..max_ms).log_scale())
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("time since start (s)")
        .y_desc("latency (ms, log)")
        .draw()
        .map_err(|e| err(&e))?;
    let dot = RGBColor(70, 110, 180).mix(0.25).filled();
    let (dots, label) = if samples.len() > MAX_DOTS {
        (slowest_per_bucket(samples), "slowest request per 50 ms")
    } else {
        (
            samples
                .iter()
                .map(|s| (s.start_us as f64 / 1e6, s.latency_us as f64 / 1000.0))
                .collect(),
            "request",
        )
    };
    chart
        .draw_series(dots.into_iter().map(|(t, ms)| Circle::new((t, ms.max(0.01)), 1, dot)))
        .map_err(|e| err(&e))?
        .label(label)
        .legend(move |(x, y)| Circle::new((x, y), 3, dot));
    let p99 = bucket_p99(samples, duration_s);
    chart
        .draw_series(LineSeries::new(p99, BLACK.stroke_width(2)))
        .map_err(|e| err(&e))?
        .label("p99 per 250 ms")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    for u in updates {
        let color = if u.status.starts_with("committed") {
            RGBColor(30, 150, 60)
        } else {
            RGBColor(200, 40, 40)
        };
        let x = u.sent_ms / 1000.0;
        chart
            .draw_series(LineSeries::new(vec![(x, 0.01), (x, max_ms)], color.stroke_width(2)))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{}: {}", u.name, u.status),
                (x, max_ms / 1.6),
                ("sans-serif", 13).into_font().color(&color),
            )))
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

/// (time in s, latency in ms) of the slowest request of each `DOT_BUCKET_US`.
fn slowest_per_bucket(samples: &[Sample]) -> Vec<(f64, f64)> {
    let mut out: Vec<(u64, &Sample)> = Vec::new();
    for s in samples {
        let b = s.start_us / DOT_BUCKET_US;
        match out.last_mut() {
            Some((last, worst)) if *last == b => {
                if s.latency_us > worst.latency_us {
                    *worst = s;
                }
            }
            _ => out.push((b, s)),
        }
    }
    out.into_iter()
        .map(|(_, s)| (s.start_us as f64 / 1e6, s.latency_us as f64 / 1000.0))
        .collect()
}

/// (bucket middle in s, p99 in ms) for every non-empty bucket.
fn bucket_p99(samples: &[Sample], duration_s: f64) -> Vec<(f64, f64)> {
    let buckets = ((duration_s * 1e6) as u64 / BUCKET_US + 1) as usize;
    let mut by_bucket: Vec<Vec<u64>> = vec![Vec::new(); buckets];
    for s in samples {
        if let Some(b) = by_bucket.get_mut((s.start_us / BUCKET_US) as usize) {
            b.push(s.latency_us);
        }
    }
    by_bucket
        .into_iter()
        .enumerate()
        .filter(|(_, v)| !v.is_empty())
        .map(|(i, mut v)| {
            v.sort_unstable();
            let mid = (i as u64 * BUCKET_US + BUCKET_US / 2) as f64 / 1e6;
            (mid, (percentile(&v, 99.0) as f64 / 1000.0).max(0.01))
        })
        .collect()
}
