//! The example web application (`examples/webapp`, on the HTTP library of `smalltalk/net`)
//! under load: `espell run -cp examples/webapp WebApp --port 0 --stop-after-ms 20000`,
//! then many concurrent keep-alive clients checking every response, while hostile and
//! malformed clients run beside them. Everything on 127.0.0.1, every socket operation
//! with a timeout, and a watchdog that kills the server and fails the test after
//! `GLOBAL_LIMIT`.

use espell_cli::http_client::{ensure, expect_status, Client as HttpClient, Response};
use espell_cli::workload::run_user;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Concurrent keep-alive clients.
const CLIENTS: usize = 60;
/// How long each of them keeps sending requests.
const LOAD_TIME: Duration = Duration::from_secs(2);
/// Read and write timeout of every socket.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole test, server start included.
const GLOBAL_LIMIT: Duration = Duration::from_secs(90);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Kills the server when dropped (also when the test panics).
struct Server {
    child: Arc<Mutex<Child>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(mut c) = self.child.lock() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A keep-alive client with the test's socket timeout.
struct Client;

impl Client {
    fn connect(addr: SocketAddr) -> Result<HttpClient, String> {
        HttpClient::connect(addr, IO_TIMEOUT)
    }
}

fn keep_alive(r: &Response, what: &str) -> Result<(), String> {
    ensure(r.header("Connection") == Some("keep-alive"), || {
        format!("{what}: not keep-alive: {r:?}")
    })
}

/// One well-behaved user (`espell_cli::workload`) for LOAD_TIME: answers the number of
/// requests it made, or its first failure (a dropped connection is one).
fn user(addr: SocketAddr, c: usize) -> Result<usize, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let timer = {
        let stop = stop.clone();
        thread::spawn(move || {
            thread::sleep(LOAD_TIME);
            stop.store(true, Ordering::Relaxed);
        })
    };
    let report = run_user(addr, c, IO_TIMEOUT, Instant::now(), &stop);
    let _ = timer.join();
    match report.failures.first() {
        Some(f) => Err(format!("{f} ({} dropped connections)", report.dropped)),
        None if report.dropped > 0 => Err(format!("{} dropped connections", report.dropped)),
        None => Ok(report.samples.len()),
    }
}

/// Sends raw bytes on a fresh connection and reads one response; `Ok(None)` when the
/// server closed (or reset) the connection instead of answering.
fn raw_exchange(addr: SocketAddr, raw: &[u8]) -> Result<(Option<Response>, HttpClient), String> {
    let mut client = Client::connect(addr)?;
    // The server may answer and close before it has read everything (e.g. a huge head).
    let _ = client.send(raw);
    match client.read_response() {
        Ok(r) => Ok((Some(r), client)),
        Err(e) if e.contains("closed") || e.contains("reset") || e.contains("Connection reset") => Ok((None, client)),
        Err(e) => Err(e),
    }
}

/// A request the server must refuse with `status` and then close the connection.
fn refused(addr: SocketAddr, what: &str, raw: &[u8], status: u16) -> Result<(), String> {
    let (r, mut client) = raw_exchange(addr, raw)?;
    match r {
        Some(r) => {
            expect_status(&r, status, what)?;
            ensure(r.header("Connection") == Some("close"), || {
                format!("{what}: not closing: {r:?}")
            })?;
            ensure(client.closed_by_server(), || format!("{what}: connection left open"))
        }
        None => Ok(()),
    }
}

/// Malformed, hostile and unusual requests, each on its own connection, while the users
/// work.
fn hostile(addr: SocketAddr) -> Result<usize, String> {
    let mut checks = 0;
    // Clients that connect and say nothing, or half a request, and hang on meanwhile.
    let mut idle = Vec::new();
    for k in 0..5 {
        let mut c = Client::connect(addr)?;
        if k % 2 == 1 {
            let _ = c.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        }
        idle.push(c);
    }
    // One that connects, sends nothing and leaves.
    drop(Client::connect(addr)?);
    thread::sleep(Duration::from_millis(100));

    let bad: Vec<(&str, Vec<u8>, u16)> = vec![
        ("garbage request line", b"HELLO\r\n\r\n".to_vec(), 400),
        ("two-part request line", b"GET /\r\n\r\n".to_vec(), 400),
        (
            "binary junk",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n".to_vec(),
            400,
        ),
        ("lower-case method", b"get / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400),
        (
            "relative target",
            b"GET snippets HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            400,
        ),
        ("bad version", b"GET / HTTX/1.1\r\nHost: x\r\n\r\n".to_vec(), 400),
        ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n".to_vec(), 505),
        ("missing Host", b"GET / HTTP/1.1\r\n\r\n".to_vec(), 400),
        (
            "two Hosts",
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec(),
            400,
        ),
        (
            "header without colon",
            b"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n".to_vec(),
            400,
        ),
        (
            "space before colon",
            b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n".to_vec(),
            400,
        ),
        (
            "folded header",
            b"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\n  2\r\n\r\n".to_vec(),
            400,
        ),
        (
            "bad Content-Length",
            b"POST /snippets HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".to_vec(),
            400,
        ),
        (
            "negative Content-Length",
            b"POST /snippets HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n".to_vec(),
            400,
        ),
        (
            "Content-Length over 1 MiB",
            b"POST /snippets HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\ntitle=x".to_vec(),
            413,
        ),
        (
            "absurd Content-Length",
            b"POST /snippets HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n".to_vec(),
            413,
        ),
        (
            "gzip transfer coding",
            b"POST /snippets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n".to_vec(),
            501,
        ),
        (
            "malformed chunk size",
            b"POST /snippets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(),
            400,
        ),
        (
            "chunked and Content-Length",
            b"POST /snippets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"
                .to_vec(),
            400,
        ),
        ("unknown method", b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 501),
    ];
    for (what, raw, status) in &bad {
        refused(addr, what, raw, *status)?;
        checks += 1;
    }

    // A huge header (over 8 KiB): 431, or a close.
    let mut huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    huge.extend(vec![b'a'; 20000]);
    huge.extend(b"\r\n\r\n");
    refused(addr, "huge header", &huge, 431)?;
    // A head that never ends (no blank line) but keeps growing.
    let mut endless = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for k in 0..400 {
        endless.extend(format!("X-H{k}: {}\r\n", "b".repeat(30)).as_bytes());
    }
    refused(addr, "endless head", &endless, 431)?;
    checks += 2;

    // Ordinary errors keep the connection: 404, 405 (with Allow), bad input.
    let mut c = Client::connect(addr)?;
    let r = c.request("GET", "/nowhere", None)?;
    expect_status(&r, 404, "unknown path")?;
    keep_alive(&r, "404")?;
    let r = c.request("PATCH", "/snippets", None)?;
    expect_status(&r, 405, "PATCH /snippets")?;
    ensure(r.header("Allow") == Some("GET, POST, HEAD, OPTIONS"), || {
        format!("Allow: {r:?}")
    })?;
    let r = c.request("GET", "/snippets/abc", None)?;
    expect_status(&r, 404, "non-numeric id")?;
    let r = c.request("POST", "/snippets", Some(("application/json", "{\"title\": ")))?;
    expect_status(&r, 400, "broken JSON")?;
    let r = c.request(
        "POST",
        "/snippets",
        Some(("application/x-www-form-urlencoded", "text=no+title")),
    )?;
    expect_status(&r, 400, "no title")?;
    checks += 5;

    // HEAD: Content-Length of the GET body, no body bytes.
    let mut c = Client::connect(addr)?;
    c.send(b"HEAD /stats HTTP/1.1\r\nHost: x\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let status = c.read_line()?;
    ensure(status.starts_with("HTTP/1.1 200 "), || format!("HEAD: {status:?}"))?;
    loop {
        match c.read_line()?.as_str() {
            "\r\n" => break,
            "" => return Err("HEAD: the connection closed in the headers".into()),
            _ => {}
        }
    }
    // The next bytes are the next (pipelined) response, not a body.
    let r = c.read_response()?;
    expect_status(&r, 404, "pipelined after HEAD")?;
    checks += 1;

    // Pipelining: two requests in one write, two answers in order.
    let mut c = Client::connect(addr)?;
    c.send(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
        .map_err(|e| e.to_string())?;
    expect_status(&c.read_response()?, 200, "pipelined 1")?;
    expect_status(&c.read_response()?, 404, "pipelined 2")?;
    checks += 1;

    // Connection: close, and HTTP/1.0 without keep-alive: answered, then closed.
    let mut c = Client::connect(addr)?;
    c.send(b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let r = c.read_response()?;
    expect_status(&r, 200, "Connection: close")?;
    ensure(r.header("Connection") == Some("close"), || format!("{r:?}"))?;
    ensure(c.closed_by_server(), || "Connection: close left open".into())?;
    let mut c = Client::connect(addr)?;
    c.send(b"GET /stats HTTP/1.0\r\n\r\n").map_err(|e| e.to_string())?;
    let r = c.read_response()?;
    expect_status(&r, 200, "HTTP/1.0")?;
    ensure(r.header("Connection") == Some("close"), || format!("{r:?}"))?;
    ensure(c.closed_by_server(), || "HTTP/1.0 left open".into())?;
    // HTTP/1.0 asking for keep-alive keeps it.
    let mut c = Client::connect(addr)?;
    c.send(b"GET /stats HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let r = c.read_response()?;
    keep_alive(&r, "HTTP/1.0 keep-alive")?;
    c.send(b"GET /nowhere HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .map_err(|e| e.to_string())?;
    expect_status(&c.read_response()?, 404, "HTTP/1.0 second request")?;
    checks += 3;

    // A body split over several writes, slowly.
    let mut c = Client::connect(addr)?;
    let body = "title=slow+one&text=arrives+in+pieces&author=slowpoke";
    let head = format!(
        "POST /snippets HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    for piece in [&head[..10], &head[10..], &body[..7], &body[7..]] {
        c.send(piece.as_bytes()).map_err(|e| e.to_string())?;
        thread::sleep(Duration::from_millis(60));
    }
    let r = c.read_response()?;
    expect_status(&r, 201, "slow body")?;
    checks += 1;

    // The idle clients are still connected (the server has a 10 s idle timeout); they go.
    drop(idle);
    Ok(checks)
}

/// Reads the first stdout line (with a timeout) and hands the rest to a thread.
fn first_line(stdout: ChildStdout) -> (Result<String, String>, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel::<String>();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .map_err(|_| "no 'listening on' line within 20 s".to_string());
    (first, rx)
}

#[test]
fn webapp_serves_many_keep_alive_clients_and_survives_hostile_ones() {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_espell"))
        .current_dir(repo())
        .args([
            "run",
            "-cp",
            "examples/webapp",
            "WebApp",
            "--port",
            "0",
            "--stop-after-ms",
            "20000",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start espell");
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let server = Server {
        child: Arc::new(Mutex::new(child)),
    };
    let errors = Arc::new(Mutex::new(String::new()));
    {
        let errors = errors.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                errors.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    // The watchdog: past GLOBAL_LIMIT the server is killed (so every client read fails).
    let (done_tx, done_rx) = mpsc::channel::<()>();
    {
        let child = server.child.clone();
        thread::spawn(move || {
            if done_rx.recv_timeout(GLOBAL_LIMIT).is_err() {
                eprintln!("webapp test: global time limit reached, killing the server");
                if let Ok(mut c) = child.lock() {
                    let _ = c.kill();
                }
            }
        });
    }

    let (first, rest) = first_line(stdout);
    let first = first.unwrap_or_else(|e| panic!("{e}; stderr: {}", errors.lock().unwrap()));
    let port: u16 = first
        .trim_end()
        .strip_prefix("listening on 127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    assert_ne!(port, 0);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();

    // The users and, beside them, the hostile clients.
    let load_start = Instant::now();
    let users: Vec<_> = (0..CLIENTS).map(|c| thread::spawn(move || user(addr, c))).collect();
    thread::sleep(Duration::from_millis(200));
    let hostile = thread::spawn(move || hostile(addr));
    let mut total = 0;
    let mut failures = Vec::new();
    for (c, h) in users.into_iter().enumerate() {
        match h.join() {
            Ok(Ok(n)) => total += n,
            Ok(Err(e)) => failures.push(format!("user {c}: {e}")),
            Err(_) => failures.push(format!("user {c} panicked")),
        }
    }
    let load_time = load_start.elapsed();
    let hostile_checks = match hostile.join() {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => {
            failures.push(format!("hostile: {e}"));
            0
        }
        Err(_) => {
            failures.push("hostile client panicked".into());
            0
        }
    };
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}\nstderr:\n{}",
        failures.len(),
        failures.join("\n"),
        errors.lock().unwrap()
    );
    eprintln!(
        "webapp: {CLIENTS} keep-alive clients made {total} requests in {:.2} s ({:.0} requests/s); {hostile_checks} hostile checks",
        load_time.as_secs_f64(),
        total as f64 / load_time.as_secs_f64()
    );
    assert!(total >= CLIENTS * 3, "only {total} requests");

    // Still serving after all that, and the state is consistent.
    let mut c = Client::connect(addr).expect("connect after the load");
    let r = c.request("GET", "/stats", None).expect("stats after the load");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("\"created\":"), "{r:?}");
    let r = c.request("GET", "/", None).expect("index after the load");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("slowpoke: 1"), "the slow client's snippet is missing");

    // Alive until we kill it, well before --stop-after-ms.
    {
        let mut child = server.child.lock().unwrap();
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "the server exited early; stderr:\n{}",
            errors.lock().unwrap()
        );
        child.kill().expect("kill the server");
        child.wait().expect("wait for the server");
    }
    let _ = done_tx.send(());
    assert!(started.elapsed() < GLOBAL_LIMIT, "took {:?}", started.elapsed());

    // Nothing else on stdout; no uncaught errors, no 500s on stderr.
    thread::sleep(Duration::from_millis(100));
    let more: Vec<String> = rest.try_iter().collect();
    assert!(more.is_empty(), "more on stdout: {more:?}");
    let errors = errors.lock().unwrap();
    assert!(
        !errors.contains("uncaught") && !errors.contains("HttpServer: 500") && !errors.contains("HttpConnection"),
        "stderr:\n{errors}"
    );
}
