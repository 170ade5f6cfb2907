//! The dashboard's state: what the pollers last learnt about each instance, the latency
//! samples, the actions taken from the page, and its JSON form for the page.

use super::json::{array, number, object, string};
use super::Config;
use espell_chester::status::Status;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// Latency samples kept per instance (one a second: ten minutes).
pub const MAX_SAMPLES: usize = 600;
/// Actions kept.
const MAX_ACTIONS: usize = 50;

/// Milliseconds since the Unix epoch (the page's clock).
pub fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// One second of an application's request latency (from its `/stats`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// When it was taken (wall clock, ms).
    pub at: f64,
    /// Mean latency of the requests answered since the previous sample (µs).
    pub mean_us: f64,
    /// The largest latency of the current and the previous second (µs).
    pub max_us: f64,
    /// Requests answered per second since the previous sample.
    pub rps: f64,
}

/// One running program as the dashboard knows it.
#[derive(Debug)]
pub struct Instance {
    /// Its control socket.
    pub socket: PathBuf,
    /// The URL of its `/stats`, if given.
    pub stats_url: Option<String>,
    /// Its last status answer.
    pub status: Option<Status>,
    /// Why the last poll failed, if it did.
    pub error: Option<String>,
    /// When the last status answer arrived (wall clock, ms).
    pub polled_at: f64,
    /// When the program started, by the last status (wall clock, ms).
    pub started_at: f64,
    /// The latency samples, oldest first.
    pub latency: VecDeque<Sample>,
    /// The last `/stats` reading: time, request count and latency sum (µs).
    pub last_stats: Option<(f64, u64, u64)>,
    /// Why the last `/stats` reading failed, if it did.
    pub stats_error: Option<String>,
}

impl Instance {
    /// Takes a status answer in.
    pub fn record_status(&mut self, status: Status, at: f64) {
        self.started_at = at - status.uptime_ms as f64;
        self.polled_at = at;
        self.status = Some(status);
        self.error = None;
    }

    /// Takes a `/stats` reading in (running count and sum, max of the last second).
    pub fn record_stats(&mut self, at: f64, count: u64, sum_us: u64, max_us: u64) {
        if let Some((t0, c0, s0)) = self.last_stats {
            if count >= c0 && at > t0 {
                let n = count - c0;
                let mean = if n > 0 {
                    sum_us.saturating_sub(s0) as f64 / n as f64
                } else {
                    0.0
                };
                if self.latency.len() == MAX_SAMPLES {
                    self.latency.pop_front();
                }
                self.latency.push_back(Sample {
                    at,
                    mean_us: mean,
                    max_us: max_us as f64,
                    rps: n as f64 * 1000.0 / (at - t0),
                });
            }
        }
        self.last_stats = Some((at, count, sum_us));
        self.stats_error = None;
    }

    fn to_json(&self, index: usize) -> String {
        let mut members = vec![
            ("index", index.to_string()),
            ("socket", string(&self.socket.display().to_string())),
            ("up", (self.error.is_none() && self.status.is_some()).to_string()),
            ("error", self.error.as_deref().map(string).unwrap_or("null".into())),
            ("polledAt", number(self.polled_at)),
            (
                "statsUrl",
                self.stats_url.as_deref().map(string).unwrap_or("null".into()),
            ),
            (
                "statsError",
                self.stats_error.as_deref().map(string).unwrap_or("null".into()),
            ),
            (
                "latency",
                array(
                    self.latency
                        .iter()
                        .map(|s| array([number(s.at), number(s.mean_us), number(s.max_us), number(s.rps)])),
                ),
            ),
        ];
        if let Some(s) = &self.status {
            members.push(("uptimeMs", s.uptime_ms.to_string()));
            members.push((
                "gc",
                object(&[
                    ("collections", s.gc_collections.to_string()),
                    ("totalMs", number(s.gc_total_ms)),
                    ("longestMs", number(s.gc_longest_ms)),
                    ("objects", s.objects.to_string()),
                ]),
            ));
            members.push(("digest", string(&s.digest)));
            members.push((
                "processes",
                array(s.processes.iter().map(|p| {
                    object(&[
                        ("id", p.id.to_string()),
                        ("priority", p.priority.to_string()),
                        ("state", string(&p.state)),
                        ("where", string(&p.place)),
                    ])
                })),
            ));
            members.push((
                "events",
                array(s.events.iter().map(|e| {
                    object(&[
                        ("at", number(self.started_at + e.at_ms as f64)),
                        ("kind", string(&e.kind)),
                        ("outcome", string(&e.outcome)),
                        ("file", string(&e.file)),
                        ("quiescenceMs", number(e.quiescence_ms)),
                        ("scriptMs", number(e.script_ms)),
                        ("commitMs", number(e.commit_ms)),
                        ("summary", string(&e.summary)),
                    ])
                })),
            ));
        }
        object(&members)
    }
}

/// An action taken from the page and its answer.
#[derive(Clone, Debug)]
pub struct Action {
    /// When it was answered (wall clock, ms).
    pub at: f64,
    /// `dry-run`, `apply` or `revert`.
    pub kind: String,
    /// The script's name (or `revert`).
    pub file: String,
    /// The instances it went to (their indexes).
    pub instances: Vec<usize>,
    /// The answer text.
    pub answer: String,
}

/// Everything the page shows.
#[derive(Debug)]
pub struct Model {
    /// The instances, in the order of `--to`.
    pub instances: Vec<Instance>,
    /// The actions taken from the page, oldest first.
    pub actions: VecDeque<Action>,
}

impl Model {
    /// The model of a fresh dashboard for `config`.
    pub fn new(config: &Config) -> Model {
        Model {
            instances: config
                .sockets
                .iter()
                .enumerate()
                .map(|(i, s)| Instance {
                    socket: s.clone(),
                    stats_url: config.stats.get(i).cloned(),
                    status: None,
                    error: Some("not polled yet".into()),
                    polled_at: 0.0,
                    started_at: 0.0,
                    latency: VecDeque::new(),
                    last_stats: None,
                    stats_error: None,
                })
                .collect(),
            actions: VecDeque::new(),
        }
    }

    /// Remembers an action and its answer.
    pub fn record_action(&mut self, action: Action) {
        if self.actions.len() == MAX_ACTIONS {
            self.actions.pop_front();
        }
        self.actions.push_back(action);
    }

    /// Whether every instance that answered has the same digest (None: fewer than two
    /// answered).
    pub fn digests_agree(&self) -> Option<bool> {
        let digests: Vec<&str> = self
            .instances
            .iter()
            .filter(|i| i.error.is_none())
            .filter_map(|i| i.status.as_ref().map(|s| s.digest.as_str()))
            .collect();
        (digests.len() >= 2).then(|| digests.windows(2).all(|w| w[0] == w[1]))
    }

    /// The page's view of everything, as JSON.
    pub fn to_json(&self, scripts: &[String]) -> String {
        object(&[
            ("now", number(wall_ms())),
            (
                "instances",
                array(self.instances.iter().enumerate().map(|(i, x)| x.to_json(i))),
            ),
            (
                "digestsAgree",
                self.digests_agree().map(|b| b.to_string()).unwrap_or("null".into()),
            ),
            ("scripts", array(scripts.iter().map(|s| string(s)))),
            (
                "actions",
                array(self.actions.iter().map(|a| {
                    object(&[
                        ("at", number(a.at)),
                        ("kind", string(&a.kind)),
                        ("file", string(&a.file)),
                        ("instances", array(a.instances.iter().map(|i| i.to_string()))),
                        ("answer", string(&a.answer)),
                    ])
                })),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(n: usize) -> Config {
        Config {
            sockets: (0..n).map(|i| PathBuf::from(format!("/tmp/s{i}"))).collect(),
            stats: vec![],
            port: 0,
            host: "127.0.0.1".into(),
            scripts: None,
        }
    }

    #[test]
    fn latency_samples_come_from_differences_of_running_counts() {
        let mut m = Model::new(&config(1));
        let i = &mut m.instances[0];
        i.record_stats(1000.0, 10, 5000, 900);
        assert!(i.latency.is_empty(), "the first reading is only a baseline");
        i.record_stats(2000.0, 30, 9000, 700);
        let s = i.latency[0];
        assert_eq!((s.mean_us, s.max_us, s.rps), (200.0, 700.0, 20.0));
        // A restarted program (counts went down) starts a new baseline.
        i.record_stats(3000.0, 2, 100, 50);
        assert_eq!(i.latency.len(), 1);
    }

    #[test]
    fn digests_agree_only_when_all_answering_instances_match() {
        let mut m = Model::new(&config(2));
        assert_eq!(m.digests_agree(), None);
        for (k, d) in ["a", "a"].iter().enumerate() {
            let s = Status {
                digest: d.to_string(),
                ..Status::default()
            };
            m.instances[k].record_status(s, 10.0);
        }
        assert_eq!(m.digests_agree(), Some(true));
        m.instances[1].status.as_mut().unwrap().digest = "b".into();
        assert_eq!(m.digests_agree(), Some(false));
        let json = m.to_json(&["up.som".into()]);
        assert!(json.contains("\"digestsAgree\":false"), "{json}");
        assert!(json.contains("\"scripts\":[\"up.som\"]"), "{json}");
    }
}
