//! `espell dashboard` in a real browser: starts the web application (examples/webapp)
//! under a hypervisor with a control socket, the dashboard on it, and headless Chromium
//! driven by chromedriver over W3C WebDriver (plain HTTP from here, no npm); loads the
//! page, checks that it shows the instance and its digest, applies
//! `examples/updates/RenameService.som` through the page's own controls, and checks that
//! the page's history shows it committed and that the application answers differently.
//! A screenshot of the page goes to the test's temp dir, and to docs/figures/dashboard.png
//! with `ESPELL_SCREENSHOT_TO_DOCS=1`.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian's `chromium` and
//! `chromium-driver`; `scripts/install-test-deps` installs them): without them the test
//! fails, it never skips.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long any one thing may take to show up (a loaded machine is slow, never stuck).
const WAIT: Duration = Duration::from_secs(60);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A child process killed when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `espell ARGS` and answers it with its first stdout line.
fn espell(args: &[&str]) -> (Guard, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_espell"))
        .current_dir(repo())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start espell");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        // Keep reading so the child never blocks on a full pipe.
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    });
    let line = rx.recv_timeout(WAIT).unwrap_or_default();
    (Guard(child), line.trim_end().to_string())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One HTTP/1.1 exchange (Connection: close): status and body.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(90)))
        .map_err(|e| e.to_string())?;
    let body = body.unwrap_or("");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    s.write_all(body.as_bytes()).map_err(|e| e.to_string())?;
    // Read until the body is complete (a server may keep the connection open anyway).
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|n| raw.len() >= end + 4 + n) {
                break;
            }
        }
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) => return Err(e.to_string()),
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").ok_or(format!("no head in {text:?}"))?;
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or(format!("bad status in {head:?}"))?;
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    Ok((status, if chunked { dechunk(rest) } else { rest.to_string() }))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A W3C WebDriver session on chromedriver.
struct Browser {
    driver: SocketAddr,
    session: String,
}

impl Browser {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let (status, text) = http(self.driver, method, &path, body.map(|b| b.to_string()).as_deref())
            .unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"));
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("webdriver answer {text:?}: {e}"));
        assert_eq!(status, 200, "webdriver {method} {path}: {v}");
        v["value"].clone()
    }

    fn script(&self, source: &str) -> Value {
        self.call("POST", "/execute/sync", Some(json!({ "script": source, "args": [] })))
    }

    fn element(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(|id| id.as_str())
            .unwrap_or_else(|| panic!("no element id in {v}"))
            .to_string()
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Waits until the script answers a non-empty string; answers it.
    fn wait_for(&self, what: &str, source: &str) -> String {
        let start = Instant::now();
        loop {
            if let Some(s) = self.script(source).as_str().filter(|s| !s.is_empty()) {
                return s.to_string();
            }
            if start.elapsed() > WAIT {
                let page = self.script("return document.body.innerText;");
                panic!(
                    "the page never showed {what}; it shows:\n{}",
                    page.as_str().unwrap_or("")
                );
            }
            thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(self.driver, "DELETE", &format!("/session/{}", self.session), None);
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let sextets: Vec<u8> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(sextets.len() * 3 / 4);
    for chunk in sextets.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &s)| acc | (s as u32) << (18 - 6 * i));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}

#[test]
fn the_dashboard_shows_an_instance_and_applies_an_update_from_a_real_browser() {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: run scripts/install-test-deps (apt-get install chromium chromium-driver)"
        );
    }
    let dir = std::env::temp_dir().join(format!("espell-dashboard-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("scripts")).unwrap();
    std::fs::copy(
        repo().join("examples/updates/RenameService.som"),
        dir.join("scripts/RenameService.som"),
    )
    .unwrap();
    let sock = dir.join("app.sock");
    let sock_arg = sock.display().to_string();

    // The application under a hypervisor.
    let (_app, first) = espell(&[
        "run",
        "--control",
        &sock_arg,
        "-cp",
        "examples/webapp",
        "WebApp",
        "--port",
        "0",
    ]);
    let app_port: u16 = first
        .strip_prefix("listening on 127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("webapp said {first:?}"));
    let app: SocketAddr = ([127, 0, 0, 1], app_port).into();
    let start = Instant::now();
    while !sock.exists() {
        assert!(start.elapsed() < WAIT, "no control socket");
        thread::sleep(Duration::from_millis(50));
    }
    let (_, index) = http(app, "GET", "/", None).unwrap();
    assert!(index.starts_with("Snippets service\n"), "{index:?}");

    // Some traffic for the latency chart, all along.
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let stop = stop.clone();
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = http(app, "GET", "/snippets", None);
                thread::sleep(Duration::from_millis(50));
            }
        })
    };

    // The dashboard.
    let stats = format!("http://127.0.0.1:{app_port}/stats");
    let scripts = dir.join("scripts").display().to_string();
    let (_dashboard, line) = espell(&["dashboard", "--to", &sock_arg, "--stats", &stats, "--scripts", &scripts]);
    let url = line
        .strip_prefix("dashboard: ")
        .unwrap_or_else(|| panic!("dashboard said {line:?}"))
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/?token="),
        "{url}"
    );
    let dash: SocketAddr = url["http://".len()..url.find("/?").unwrap()].parse().unwrap();
    let (status, _) = http(dash, "GET", "/api/state", None).unwrap();
    assert_eq!(status, 403, "a request without the token is refused");
    let (status, _) = http(dash, "GET", "/?token=wrong", None).unwrap();
    assert_eq!(status, 403, "a wrong token is refused");

    // The browser.
    let driver_port = free_port();
    let _driver = Guard(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let driver: SocketAddr = ([127, 0, 0, 1], driver_port).into();
    let start = Instant::now();
    while !http(driver, "GET", "/status", None).is_ok_and(|(_, b)| b.contains("\"ready\":true")) {
        assert!(start.elapsed() < WAIT, "chromedriver did not start");
        thread::sleep(Duration::from_millis(100));
    }
    let profile = dir.join("profile").display().to_string();
    let capabilities = json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1280,1500",
                     format!("--user-data-dir={profile}")]
        }
    }}});
    let (status, text) = http(driver, "POST", "/session", Some(&capabilities.to_string())).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(status, 200, "new session: {v}");
    let browser = Browser {
        driver,
        session: v["value"]["sessionId"].as_str().expect("a session id").to_string(),
    };

    // The page shows the instance and its digest (the same one `espell patch --state` gives).
    browser.call("POST", "/url", Some(json!({ "url": url })));
    let digest = browser.wait_for(
        "the instance's digest",
        "const d = document.querySelector('#instance-0 .digest'); return d ? d.textContent : '';",
    );
    let state = Command::new(env!("CARGO_BIN_EXE_espell"))
        .args(["patch", "--to", &sock_arg, "--state"])
        .output()
        .unwrap();
    let state = String::from_utf8_lossy(&state.stdout).into_owned();
    assert!(
        state.lines().next().is_some_and(|l| l == format!("state: {digest}")),
        "page digest {digest:?}, espell patch --state: {state}"
    );
    let card = browser.script("return document.querySelector('#instance-0').innerText;");
    let card = card.as_str().unwrap_or("");
    assert!(
        card.contains("app.sock") && card.contains("up") && card.contains("uptime"),
        "{card}"
    );

    // Apply the script through the page's own controls.
    browser.wait_for(
        "the scripts of --scripts",
        "return document.querySelector('#script-select option[value=\"RenameService.som\"]') ? 'yes' : '';",
    );
    browser.click("#script-select option[value=\"RenameService.som\"]");
    browser.click("#apply");
    let answer = browser.wait_for(
        "the answer to the apply",
        "const a = document.getElementById('answer'); return a.dataset.state === 'done' ? a.textContent : '';",
    );
    assert!(answer.starts_with("committed: update RenameService"), "{answer}");
    let row = browser.wait_for(
        "the committed update in the history",
        "for (const r of document.querySelectorAll('#history tr.event')) \
           if (r.dataset.outcome === 'committed' && r.innerText.includes('RenameService')) return r.innerText; \
         return '';",
    );
    assert!(row.contains("apply"), "{row}");

    // The application behaves differently now.
    let (_, index) = http(app, "GET", "/", None).unwrap();
    assert!(index.starts_with("Snippets service, updated live\n"), "{index:?}");

    // A couple of seconds more for the latency chart, then the screenshot.
    browser.wait_for(
        "latency samples after the update",
        "const n = document.querySelectorAll('#latency-chart polyline').length; \
         return n > 0 && Number(document.body.dataset.polls) > 6 ? 'yes' : '';",
    );
    let png = base64_decode(browser.call("GET", "/screenshot", None).as_str().expect("a screenshot"));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "not a PNG screenshot"
    );
    std::fs::write(dir.join("dashboard.png"), &png).unwrap();
    if std::env::var_os("ESPELL_SCREENSHOT_TO_DOCS").is_some() {
        std::fs::write(repo().join("docs/figures/dashboard.png"), &png).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let _ = traffic.join();
    drop(browser);
    let _ = std::fs::remove_dir_all(&dir);
}
