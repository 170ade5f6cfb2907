//! The pollers: one thread per instance asks its control socket for `status` every second
//! and, when the instance has a `/stats` URL, reads the application's latency counters.
//! A slow or paused instance delays only its own thread.

use super::model::{wall_ms, Model};
use super::Config;
use crate::http_client::Client;
use espell_chester::protocol::{Kind, Request};
use espell_chester::status::Status;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often each instance is asked.
pub const PERIOD: Duration = Duration::from_secs(1);

/// The `status` request.
pub fn status_request() -> Request {
    Request {
        kind: Kind::Status,
        file: "status".into(),
        script: String::new(),
    }
}

/// Asks the instance at `socket` for its status.
pub fn poll_status(socket: &Path) -> Result<Status, String> {
    let reply = espell_chester::client::send(socket, &status_request()).map_err(|e| e.to_string())?;
    Status::parse(&reply)
}

/// The address and path of an `http://HOST:PORT/PATH` URL.
pub fn parse_http_url(url: &str) -> Result<(SocketAddr, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| format!("{url}: {e}"))?
        .next()
        .ok_or_else(|| format!("{url}: no address"))?;
    Ok((addr, path))
}

/// The value of a numeric member `"name":N` in a flat JSON text.
fn json_integer(text: &str, name: &str) -> Option<u64> {
    let key = format!("\"{name}\":");
    let start = text.find(&key)? + key.len();
    let digits: String = text[start..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Reads `latencyCount`, `latencySumUs` and `latencyMaxUs` from the application's stats.
pub fn poll_stats(url: &str) -> Result<(u64, u64, u64), String> {
    let (addr, path) = parse_http_url(url)?;
    let mut client = Client::connect(addr, Duration::from_secs(5))?;
    let r = client.request("GET", &path, None)?;
    if r.status != 200 {
        return Err(format!("{url}: {}", r.status));
    }
    let get = |name| json_integer(&r.body, name).ok_or_else(|| format!("{url}: no {name} in the answer"));
    Ok((get("latencyCount")?, get("latencySumUs")?, get("latencyMaxUs")?))
}

/// Starts one polling thread per instance.
pub fn start(config: &Config, model: Arc<Mutex<Model>>) {
    for (index, socket) in config.sockets.iter().enumerate() {
        let socket = socket.clone();
        let stats = config.stats.get(index).cloned();
        let model = model.clone();
        std::thread::spawn(move || loop {
            let started = Instant::now();
            let status = poll_status(&socket);
            let at = wall_ms();
            {
                let mut m = model.lock().unwrap_or_else(|e| e.into_inner());
                let instance = &mut m.instances[index];
                match status {
                    Ok(s) => instance.record_status(s, at),
                    Err(e) => instance.error = Some(e),
                }
            }
            if let Some(url) = &stats {
                let reading = poll_stats(url);
                let at = wall_ms();
                let mut m = model.lock().unwrap_or_else(|e| e.into_inner());
                let instance = &mut m.instances[index];
                match reading {
                    Ok((count, sum, max)) => instance.record_stats(at, count, sum, max),
                    Err(e) => instance.stats_error = Some(e),
                }
            }
            std::thread::sleep(PERIOD.saturating_sub(started.elapsed()));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_counters_are_read() {
        let (addr, path) = parse_http_url("http://127.0.0.1:8080/stats").unwrap();
        assert_eq!((addr.port(), path.as_str()), (8080, "/stats"));
        assert!(parse_http_url("https://x/").is_err());
        let body = r#"{"requests":5,"latencyCount":12,"latencySumUs": 3400,"x":1}"#;
        assert_eq!(json_integer(body, "latencyCount"), Some(12));
        assert_eq!(json_integer(body, "latencySumUs"), Some(3400));
        assert_eq!(json_integer(body, "nope"), None);
    }
}
