//! `espell dashboard`: the operator's live view of running instances. A separate process
//! (so it stays live while an application is paused for an update) that polls each
//! instance's control socket every second (`status`, see `espell_chester::status`) and the
//! application's `/stats` when given, and serves one page (assets embedded in the binary)
//! on 127.0.0.1 behind a random token. The page shows per instance uptime, processes, GC,
//! digest (and whether the fleet agrees), the update timeline, a live latency chart with
//! the updates marked, and dry-run / apply / revert actions.
//!
//! Modules: `model` (the polled state and its JSON), `poll` (the poller threads), `web`
//! (the HTTP server and the actions), `json` (a tiny JSON writer), `assets` (the page).

pub mod assets;
pub mod json;
pub mod model;
pub mod poll;
pub mod web;

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What `espell dashboard` was asked to do.
#[derive(Clone, Debug)]
pub struct Config {
    /// The control sockets of the instances (at least one).
    pub sockets: Vec<PathBuf>,
    /// For each instance (by position), the URL of its `/stats` (optional).
    pub stats: Vec<String>,
    /// The port to listen on (0: any free one).
    pub port: u16,
    /// The address to listen on (127.0.0.1 unless asked otherwise).
    pub host: String,
    /// A directory of update scripts the page offers to pick from.
    pub scripts: Option<PathBuf>,
}

/// A random token of 128 bits, in hex (from the kernel's random source).
pub fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Runs the dashboard until the process is ended: starts the pollers and the web server,
/// prints `dashboard: http://HOST:PORT/?token=...` on stdout, and serves.
pub fn run(config: Config) -> Result<(), String> {
    if config.sockets.is_empty() {
        return Err("dashboard needs at least one --to SOCKET".into());
    }
    if config.stats.len() > config.sockets.len() {
        return Err("more --stats URLs than --to sockets (the i-th --stats belongs to the i-th --to)".into());
    }
    for url in &config.stats {
        poll::parse_http_url(url)?;
    }
    if let Some(dir) = &config.scripts {
        if !dir.is_dir() {
            return Err(format!("--scripts {}: not a directory", dir.display()));
        }
    }
    let token = new_token().map_err(|e| format!("cannot make a token: {e}"))?;
    let model = Arc::new(Mutex::new(model::Model::new(&config)));
    poll::start(&config, model.clone());
    let server = tiny_http::Server::http((config.host.as_str(), config.port))
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    let addr = server.server_addr().to_ip().ok_or("the server has no IP address")?;
    println!("dashboard: http://{addr}/?token={token}");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    web::serve(server, web::Context { token, model, config });
    Ok(())
}
