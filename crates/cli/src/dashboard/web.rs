//! The dashboard's HTTP side (tiny_http): the page and its assets, `/api/state` (the
//! model as JSON) and `/api/action` (dry-run, apply or revert a script on the chosen
//! instances). Every request must carry the token (`?token=`), else 403; each request is
//! handled on its own thread (an apply can take a while), at most `MAX_HANDLERS` at once.

use super::assets;
use super::model::{wall_ms, Action, Model};
use super::Config;
use espell_chester::protocol::{Kind, Request, MAX_MESSAGE};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Requests handled at the same time (more are answered 503).
const MAX_HANDLERS: usize = 32;

/// What every handler needs.
pub struct Context {
    /// The token every request must carry.
    pub token: String,
    /// The polled state.
    pub model: Arc<Mutex<Model>>,
    /// The command line.
    pub config: Config,
}

/// Serves requests until the server fails.
pub fn serve(server: tiny_http::Server, context: Context) {
    let context = Arc::new(context);
    let busy = Arc::new(AtomicUsize::new(0));
    for request in server.incoming_requests() {
        if busy.load(Ordering::SeqCst) >= MAX_HANDLERS {
            let _ = request.respond(text(503, "busy"));
            continue;
        }
        busy.fetch_add(1, Ordering::SeqCst);
        let context = context.clone();
        let busy = busy.clone();
        std::thread::spawn(move || {
            handle(request, &context);
            busy.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

type Answer = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn with_type(status: u16, content_type: &str, body: Vec<u8>) -> Answer {
    tiny_http::Response::from_data(body)
        .with_status_code(status)
        .with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"))
        .with_header(header("X-Content-Type-Options", "nosniff"))
        .with_header(header("Referrer-Policy", "no-referrer"))
        .with_header(header(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'",
        ))
}

fn text(status: u16, body: &str) -> Answer {
    with_type(status, "text/plain; charset=utf-8", body.as_bytes().to_vec())
}

/// Percent-decoding of a query component (`+` is a space).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The path and the decoded query parameters of a request URL.
pub fn split_url(url: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let params = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    (path.to_string(), params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Compares without stopping at the first difference.
fn same_token(given: &str, token: &str) -> bool {
    given.len() == token.len() && given.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn handle(mut request: tiny_http::Request, cx: &Context) {
    let (path, params) = split_url(request.url());
    if !param(&params, "token").is_some_and(|t| same_token(t, &cx.token)) {
        let _ = request.respond(text(
            403,
            "403: this dashboard needs the token of the URL it printed at start (…/?token=…)",
        ));
        return;
    }
    let method = request.method().clone();
    let answer = match (&method, path.as_str()) {
        (tiny_http::Method::Get, "/") => with_type(
            200,
            "text/html; charset=utf-8",
            assets::INDEX_HTML.replace("{{TOKEN}}", &cx.token).into_bytes(),
        ),
        (tiny_http::Method::Get, "/dashboard.js") => with_type(
            200,
            "text/javascript; charset=utf-8",
            assets::DASHBOARD_JS.as_bytes().to_vec(),
        ),
        (tiny_http::Method::Get, "/dashboard.css") => with_type(
            200,
            "text/css; charset=utf-8",
            assets::DASHBOARD_CSS.as_bytes().to_vec(),
        ),
        (tiny_http::Method::Get, "/api/state") => {
            let scripts = list_scripts(cx.config.scripts.as_deref());
            let json = cx.model.lock().unwrap_or_else(|e| e.into_inner()).to_json(&scripts);
            with_type(200, "application/json", json.into_bytes())
        }
        (tiny_http::Method::Post, "/api/action") => {
            let mut body = Vec::new();
            let read = request.as_reader().take(MAX_MESSAGE as u64 + 1).read_to_end(&mut body);
            match read {
                Err(e) => text(400, &format!("reading the script: {e}")),
                Ok(_) if body.len() > MAX_MESSAGE => text(413, "the script is larger than 1 MiB"),
                Ok(_) => match String::from_utf8(body) {
                    Err(_) => text(400, "the script is not UTF-8 text"),
                    Ok(script) => match action(cx, &params, script) {
                        Ok(answer) => text(200, &answer),
                        Err(e) => text(400, &e),
                    },
                },
            }
        }
        (tiny_http::Method::Get | tiny_http::Method::Post, _) => text(404, "404: no such page"),
        _ => text(405, "405: GET or POST only"),
    };
    let _ = request.respond(answer);
}

/// The `.som` files of the scripts directory, sorted.
pub fn list_scripts(dir: Option<&Path>) -> Vec<String> {
    let Some(dir) = dir else { return Vec::new() };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".som"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Runs one action from the page; answers the text to show.
fn action(cx: &Context, params: &[(String, String)], uploaded: String) -> Result<String, String> {
    let kind = match param(params, "kind") {
        Some("apply") => Kind::Apply,
        Some("dry-run") => Kind::DryRun,
        Some("revert") => Kind::Revert,
        other => return Err(format!("unknown action {:?}", other.unwrap_or(""))),
    };
    let count = cx.config.sockets.len();
    let instances: Vec<usize> = param(params, "instances")
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .ok()
                .filter(|&i| i < count)
                .ok_or(format!("no instance {s}"))
        })
        .collect::<Result<_, _>>()?;
    if instances.is_empty() {
        return Err("choose at least one instance".into());
    }
    let (file, script) = if kind == Kind::Revert {
        ("revert".to_string(), String::new())
    } else if let Some(name) = param(params, "pick").filter(|n| !n.is_empty()) {
        let dir = cx.config.scripts.as_deref().ok_or("no --scripts directory was given")?;
        if !list_scripts(Some(dir)).iter().any(|n| n == name) {
            return Err(format!("{name} is not a script of {}", dir.display()));
        }
        let script = std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
        (name.to_string(), script)
    } else {
        let name = param(params, "name")
            .filter(|n| !n.is_empty())
            .unwrap_or("uploaded.som");
        if uploaded.trim().is_empty() {
            return Err("the script is empty: pick one or upload one".into());
        }
        (name.replace(['/', '\n'], "_"), uploaded)
    };
    let sockets: Vec<PathBuf> = instances.iter().map(|&i| cx.config.sockets[i].clone()).collect();
    let answer = if kind == Kind::Apply && sockets.len() > 1 {
        fleet_apply(&sockets, &file, &script)
    } else {
        let mut out = String::new();
        for socket in &sockets {
            let request = Request {
                kind,
                file: file.clone(),
                script: script.clone(),
            };
            let reply = espell_chester::client::send(socket, &request)
                .unwrap_or_else(|e| format!("error: cannot reach {}: {e}\n", socket.display()));
            if sockets.len() > 1 {
                out.push_str(&format!("== {} ==\n", socket.display()));
            }
            out.push_str(&reply);
        }
        out
    };
    let word = match kind {
        Kind::Apply => "apply",
        Kind::DryRun => "dry-run",
        _ => "revert",
    };
    cx.model
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .record_action(Action {
            at: wall_ms(),
            kind: word.into(),
            file,
            instances,
            answer: answer.clone(),
        });
    Ok(answer)
}

/// An apply to several instances: `espell patch --to S1 --to S2 … FILE`, this same binary
/// as a subprocess (the fleet form of `espell patch`); answers its output and exit status.
fn fleet_apply(sockets: &[PathBuf], file: &str, script: &str) -> String {
    let dir = std::env::temp_dir().join(format!(
        "espell-dashboard-{}-{}",
        std::process::id(),
        super::new_token().unwrap_or_default()
    ));
    let run = || -> Result<String, String> {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join(file);
        std::fs::write(&path, script).map_err(|e| e.to_string())?;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut command = std::process::Command::new(exe);
        command.arg("patch");
        for s in sockets {
            command.arg("--to").arg(s);
        }
        let output = command.arg(&path).output().map_err(|e| e.to_string())?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        text.push_str(&format!("(espell patch exited with {})\n", output.status));
        Ok(text)
    };
    let answer = run().unwrap_or_else(|e| format!("error: cannot run espell patch: {e}\n"));
    let _ = std::fs::remove_dir_all(&dir);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_decoded_and_tokens_compared() {
        let (path, params) = split_url("/api/action?token=ab&kind=apply&name=caf%C3%A9+1.som&x=%zz");
        assert_eq!(path, "/api/action");
        assert_eq!(param(&params, "name"), Some("café 1.som"));
        assert_eq!(param(&params, "x"), Some("%zz"));
        assert_eq!(percent_decode("%4"), "%4");
        assert!(same_token("ab", "ab"));
        assert!(!same_token("ac", "ab"));
        assert!(!same_token("a", "ab"));
    }
}
