//! A randomized hostile-HTTP run against the running example web application
//! (`examples/webapp`): snippets whose text is drawn from all of Unicode's planes are
//! stored (as raw UTF-8 JSON and as `\u`-escaped JSON, with Content-Length and chunked
//! bodies), then thousands of mutated and hostile requests are sent (byte flips,
//! truncations, header floods, bad lengths, chunked garbage, pipelined mixes, requests
//! sent in two slow halves, invalid UTF-8, lone surrogates). No answer may be a 500, the
//! server must still answer afterwards, and every stored snippet must read back identical.
//!
//! Seeded: the seed is printed with every failure (`ESPELL_HOSTILE_SEED=N` replays it);
//! `ESPELL_HOSTILE_REQUESTS=N` changes the number of hostile requests (default 3000).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Hostile requests by default (CI size).
const DEFAULT_REQUESTS: usize = 3000;
/// Snippets stored and read back.
const SNIPPETS: usize = 80;
/// Threads sending hostile requests at once.
const THREADS: usize = 4;
/// Read and write timeout of every socket (the server's own request timeout is 10 s).
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// xorshift64*: deterministic, no dependency.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// A random Unicode scalar value from one of the planes (or a character JSON must escape).
fn random_char(rng: &mut Rng) -> char {
    let code = match rng.below(12) {
        0 => rng.below(0x20) as u32,                                       // control characters
        1 => *[b'"', b'\\', b'/', 0x7f].get(rng.below(4)).unwrap() as u32, // escaped or special
        2 => 0x20 + rng.below(0x5f) as u32,                                // printable ASCII
        3 => 0x80 + rng.below(0x780) as u32,                               // 2-byte UTF-8
        4 => 0x800 + rng.below(0xD000) as u32,                             // BMP below the surrogates
        5 => 0xE000 + rng.below(0x2000) as u32,                            // BMP above them (private use, specials)
        6 => *[0x2028, 0x2029, 0xFEFF, 0xFFFD, 0xFFFF, 0x00A0]
            .get(rng.below(6))
            .unwrap(),
        7 => 0x1_0000 + rng.below(0x1_0000) as u32, // plane 1 (emoji, scripts)
        8 => 0x2_0000 + rng.below(0x2_0000) as u32, // planes 2-3 (CJK extensions)
        9 => 0x4_0000 + rng.below(0xA_0000) as u32, // planes 4-13 (unassigned)
        10 => 0xE_0000 + rng.below(0x1_0000) as u32, // plane 14 (tags)
        _ => 0xF_0000 + rng.below(0x2_0000) as u32, // planes 15-16 (private use)
    };
    char::from_u32(code).unwrap_or('x')
}

fn random_text(rng: &mut Rng, max: usize) -> String {
    (0..1 + rng.below(max)).map(|_| random_char(rng)).collect()
}

/// A JSON string literal: only what must be escaped (raw) or every non-ASCII character as
/// `\u` escapes, with surrogate pairs above U+FFFF (as Python's json.dumps writes them).
fn json_string(s: &str, escape_all: bool, rng: &mut Rng) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '/' if rng.chance(50) => out.push_str("\\/"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if escape_all && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    if rng.chance(50) {
                        out.push_str(&format!("\\u{:04x}", u));
                    } else {
                        out.push_str(&format!("\\u{:04X}", u));
                    }
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn snippet_json(title: &str, text: &str, escape_all: bool, rng: &mut Rng) -> Vec<u8> {
    format!(
        "{{\"title\": {}, \"text\": {}, \"author\": \"fuzz\"}}",
        json_string(title, escape_all, rng),
        json_string(text, escape_all, rng)
    )
    .into_bytes()
}

/// The body as chunks of random sizes (cutting UTF-8 characters in two), with
/// extensions and a trailer now and then.
fn chunked(body: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let n = (1 + rng.below(40)).min(rest.len());
        if rng.chance(20) {
            out.extend(format!("{n:X};ext=1\r\n").as_bytes());
        } else {
            out.extend(format!("{n:x}\r\n").as_bytes());
        }
        out.extend(&rest[..n]);
        out.extend(b"\r\n");
        rest = &rest[n..];
    }
    out.extend(b"0\r\n");
    if rng.chance(30) {
        out.extend(b"X-Trailer: ignored\r\n");
    }
    out.extend(b"\r\n");
    out
}

fn post(body: &[u8], chunk: bool, close: bool, rng: &mut Rng) -> Vec<u8> {
    let mut raw = b"POST /snippets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n".to_vec();
    if close {
        raw.extend(b"Connection: close\r\n");
    }
    if chunk {
        raw.extend(b"Transfer-Encoding: chunked\r\n\r\n");
        raw.extend(chunked(body, rng));
    } else {
        raw.extend(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        raw.extend(body);
    }
    raw
}

fn get(path: &str, close: bool) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}\r\n",
        if close { "Connection: close\r\n" } else { "" }
    )
    .into_bytes()
}

/// One response parsed off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Vec<u8>,
}

/// Parses the responses in `bytes` (status line, headers, Content-Length body) in order;
/// an error for anything that is not a well-formed response (a partial one at the end
/// is an error too: the server must finish what it starts).
fn parse_answers(mut bytes: &[u8]) -> Result<Vec<Answer>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| format!("unterminated head {:?}", String::from_utf8_lossy(bytes)))?;
        let head = std::str::from_utf8(&bytes[..end]).map_err(|_| "head not UTF-8".to_string())?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let status: u16 = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|r| r.get(..3))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let mut length = None;
        for line in lines {
            let (k, v) = line.split_once(':').ok_or_else(|| format!("bad header {line:?}"))?;
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse::<usize>().ok();
            }
        }
        let length = length.ok_or_else(|| format!("no Content-Length in {head:?}"))?;
        let start = end + 4;
        if bytes.len() < start + length {
            return Err(format!("short body in {:?}", String::from_utf8_lossy(bytes)));
        }
        out.push(Answer {
            status,
            body: bytes[start..start + length].to_vec(),
        });
        bytes = &bytes[start + length..];
    }
    Ok(out)
}

/// Sends `parts` on a fresh connection (pausing `pause` between them), closes the writing
/// side and reads everything the server answers until it closes.
fn exchange(addr: SocketAddr, parts: &[&[u8]], pause: Duration) -> Result<Vec<Answer>, String> {
    let mut s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(IO_TIMEOUT)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(IO_TIMEOUT)).map_err(|e| e.to_string())?;
    let _ = s.set_nodelay(true);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            thread::sleep(pause);
        }
        // The server may refuse and close before it read everything.
        if s.write_all(p).is_err() {
            break;
        }
    }
    let _ = s.shutdown(Shutdown::Write);
    let mut bytes = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes.extend(&buf[..n]),
            // A reset after a refusal (the server closed with our bytes unread).
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => return Err(format!("read: {e} after {} bytes", bytes.len())),
        }
    }
    // A reset may cut the last answer: keep what parses, the 500 check is what matters.
    match parse_answers(&bytes) {
        Ok(a) => Ok(a),
        Err(e) if bytes.starts_with(b"HTTP/1.1 ") => {
            let status = std::str::from_utf8(&bytes[9..12.min(bytes.len())]).unwrap_or("");
            if status == "500" {
                Err(format!("500 in a cut answer: {e}"))
            } else {
                Ok(Vec::new())
            }
        }
        Err(e) if bytes.is_empty() => Err(e),
        Err(e) => Err(e),
    }
}

/// A stored snippet and what it must read back as.
#[derive(Clone, Debug)]
struct Stored {
    id: u64,
    title: String,
    text: String,
}

fn check_read_back(addr: SocketAddr, s: &Stored) -> Result<(), String> {
    let answers = exchange(addr, &[&get(&format!("/snippets/{}", s.id), true)], Duration::ZERO)?;
    let a = answers.first().ok_or("no answer")?;
    if a.status != 200 {
        return Err(format!(
            "GET /snippets/{}: {} {:?}",
            s.id,
            a.status,
            String::from_utf8_lossy(&a.body)
        ));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&a.body).map_err(|e| format!("snippet {} is not JSON: {e}", s.id))?;
    if v["title"].as_str() != Some(s.title.as_str()) || v["text"].as_str() != Some(s.text.as_str()) {
        return Err(format!(
            "snippet {} changed: stored title {:?} text {:?}, read back {v}",
            s.id, s.title, s.text
        ));
    }
    Ok(())
}

/// Stores one snippet in a random form; answers it.
fn store(addr: SocketAddr, rng: &mut Rng) -> Result<Stored, String> {
    let title = random_text(rng, 30).replace(|c: char| c.is_whitespace() || c.is_control(), "t");
    let text = random_text(rng, 300);
    let body = snippet_json(&title, &text, rng.chance(50), rng);
    let raw = post(&body, rng.chance(40), true, rng);
    let answers = if rng.chance(30) {
        // Two slow halves, cut anywhere (inside a character too).
        let cut = 1 + rng.below(raw.len() - 1);
        exchange(addr, &[&raw[..cut], &raw[cut..]], Duration::from_millis(30))?
    } else {
        exchange(addr, &[&raw], Duration::ZERO)?
    };
    let a = answers.first().ok_or("no answer to a POST")?;
    if a.status != 201 {
        return Err(format!(
            "POST of {:?} answered {} {:?}",
            String::from_utf8_lossy(&body),
            a.status,
            String::from_utf8_lossy(&a.body)
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&a.body).map_err(|e| e.to_string())?;
    let id = v["id"].as_u64().ok_or("no id")?;
    Ok(Stored { id, title, text })
}

/// A valid request to start mutating from.
fn valid_request(rng: &mut Rng, ids: &[u64]) -> Vec<u8> {
    match rng.below(4) {
        0 => get(&format!("/snippets/{}", ids[rng.below(ids.len())]), false),
        1 => get("/stats", rng.chance(50)),
        _ => {
            let title = random_text(rng, 10).replace(|c: char| c.is_whitespace() || c.is_control(), "t");
            let text = random_text(rng, 60);
            let body = snippet_json(&title, &text, rng.chance(50), rng);
            post(&body, rng.chance(50), false, rng)
        }
    }
}

/// One hostile request (or several, pipelined) as the parts to send; the pause between
/// them.
fn hostile_request(rng: &mut Rng, ids: &[u64]) -> (Vec<Vec<u8>>, Duration) {
    let mut raw = valid_request(rng, ids);
    let kind = rng.below(10);
    match kind {
        // Byte flips.
        0 | 1 => {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(raw.len());
                raw[i] ^= 1 << rng.below(8);
            }
        }
        // Random bytes replaced, inserted or removed.
        2 => {
            for _ in 0..1 + rng.below(6) {
                let i = rng.below(raw.len());
                match rng.below(3) {
                    0 => raw[i] = rng.next() as u8,
                    1 => raw.insert(i, rng.next() as u8),
                    _ => {
                        raw.remove(i);
                    }
                }
            }
        }
        // Truncation.
        3 => raw.truncate(rng.below(raw.len())),
        // Header floods: many fields, or one huge one.
        4 => {
            let at = raw.windows(2).position(|w| w == b"\r\n").unwrap_or(0) + 2;
            let flood: Vec<u8> = if rng.chance(50) {
                (0..50 + rng.below(200))
                    .flat_map(|k| format!("X-F{k}: v\r\n").into_bytes())
                    .collect()
            } else {
                let mut h = b"X-Huge: ".to_vec();
                h.extend(std::iter::repeat_n(b'a', 1000 + rng.below(20000)));
                h.extend(b"\r\n");
                h
            };
            raw.splice(at..at, flood);
        }
        // Bad lengths.
        5 => {
            let len = match rng.below(6) {
                0 => "-1".to_string(),
                1 => "abc".to_string(),
                2 => "99999999999999999999999".to_string(),
                3 => (1 + rng.below(100_000)).to_string(),
                4 => "5, 6".to_string(),
                _ => "0".to_string(),
            };
            let mut r = format!("POST /snippets HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\n").into_bytes();
            r.extend(random_text(rng, 50).as_bytes());
            raw = r;
        }
        // Chunked garbage.
        6 => {
            let mut r = b"POST /snippets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            for _ in 0..1 + rng.below(4) {
                match rng.below(7) {
                    0 => r.extend(b"zz\r\nabc\r\n"),
                    1 => r.extend(format!("{:x}\r\nshort\r\n", 10 + rng.below(100)).as_bytes()),
                    2 => r.extend(b"5\r\nabcdeXX"),
                    3 => r.extend(b"fffffffffffffffffff\r\n"),
                    4 => r.extend(b"3\r\n\xff\xfe\xfd\r\n"),
                    5 => r.extend(b"0\r\nbad trailer\r\n\r\n"),
                    _ => r.extend(b"\r\n\r\n"),
                }
            }
            if rng.chance(50) {
                r.extend(b"0\r\n\r\n");
            }
            raw = r;
        }
        // Invalid UTF-8 or lone surrogates in a JSON body.
        7 => {
            let body: Vec<u8> = match rng.below(4) {
                0 => b"{\"title\":\"x\",\"text\":\"\xc3\x28\"}".to_vec(),
                1 => b"{\"title\":\"x\",\"text\":\"\xed\xa0\x80\"}".to_vec(),
                2 => b"{\"title\":\"x\",\"text\":\"\\ud800x\"}".to_vec(),
                _ => b"{\"title\":\"x\",\"text\":\"\\udc00\\ud800\"}".to_vec(),
            };
            raw = post(&body, rng.chance(50), false, rng);
        }
        // Pipelined mixes: valid requests with a hostile one among them.
        8 => {
            let mut all = Vec::new();
            for _ in 0..2 + rng.below(4) {
                let mut r = valid_request(rng, ids);
                if rng.chance(25) {
                    let i = rng.below(r.len());
                    r[i] ^= 1 << rng.below(8);
                }
                all.extend(r);
            }
            raw = all;
        }
        // Two slow halves, cut anywhere.
        _ => {
            let cut = 1 + rng.below(raw.len() - 1);
            let second = raw.split_off(cut);
            return (vec![raw, second], Duration::from_millis(5 + rng.below(40) as u64));
        }
    }
    (vec![raw], Duration::ZERO)
}

/// Kills the server when dropped (also when the test panics).
struct Server(Arc<Mutex<Child>>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(mut c) = self.0.lock() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[test]
fn webapp_survives_randomized_hostile_http_and_every_snippet_reads_back_identical() {
    let seed = env_number("ESPELL_HOSTILE_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1
    });
    let requests = env_number("ESPELL_HOSTILE_REQUESTS").map_or(DEFAULT_REQUESTS, |n| n as usize);
    let fail = |what: String| -> ! { panic!("{what}\n(replay with ESPELL_HOSTILE_SEED={seed})") };

    let mut child = Command::new(env!("CARGO_BIN_EXE_espell"))
        .current_dir(repo())
        .args(["run", "-cp", "examples/webapp", "WebApp", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start espell");
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let server = Server(Arc::new(Mutex::new(child)));
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
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let first = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    let port: u16 = first
        .trim_end()
        .strip_prefix("listening on 127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            fail(format!(
                "unexpected first line {first:?}; stderr {}",
                errors.lock().unwrap()
            ))
        });
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();

    // Store the snippets.
    let mut rng = Rng(seed);
    let mut stored = Vec::new();
    for _ in 0..SNIPPETS {
        match store(addr, &mut rng) {
            Ok(s) => stored.push(s),
            Err(e) => fail(format!("storing a snippet: {e}")),
        }
    }
    let ids: Vec<u64> = stored.iter().map(|s| s.id).collect();

    // The hostile requests, from a few threads at once.
    let started = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let ids = ids.clone();
            let mut rng = Rng(seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(t as u64 + 1)) | 1);
            thread::spawn(move || -> Result<usize, String> {
                let mut answers = 0;
                for n in 0..requests / THREADS + usize::from(t < requests % THREADS) {
                    let (parts, pause) = hostile_request(&mut rng, &ids);
                    let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
                    let got = exchange(addr, &refs, pause).map_err(|e| {
                        format!(
                            "thread {t} request {n}: {e}; sent {:?}",
                            String::from_utf8_lossy(&parts.concat())
                        )
                    })?;
                    if let Some(a) = got.iter().find(|a| a.status == 500) {
                        return Err(format!(
                            "thread {t} request {n}: answered {} {:?}; sent {:?}",
                            a.status,
                            String::from_utf8_lossy(&a.body),
                            String::from_utf8_lossy(&parts.concat())
                        ));
                    }
                    answers += got.len();
                }
                Ok(answers)
            })
        })
        .collect();
    let mut answers = 0;
    for h in handles {
        match h.join() {
            Ok(Ok(n)) => answers += n,
            Ok(Err(e)) => fail(e),
            Err(_) => fail("a sender thread panicked".into()),
        }
    }
    let elapsed = started.elapsed();

    // Still answering, and every snippet reads back identical.
    for s in &stored {
        if let Err(e) = check_read_back(addr, s) {
            fail(e);
        }
    }
    let stats = exchange(addr, &[&get("/stats", true)], Duration::ZERO).unwrap_or_else(|e| fail(e));
    let stats = stats.first().unwrap_or_else(|| fail("no answer to /stats".into()));
    let body = String::from_utf8_lossy(&stats.body).into_owned();
    if stats.status != 200 || body.contains("\"500\"") {
        fail(format!("stats after the run: {} {body}", stats.status));
    }
    {
        let mut child = server.0.lock().unwrap();
        if let Ok(Some(status)) = child.try_wait() {
            fail(format!(
                "the server exited: {status}; stderr {}",
                errors.lock().unwrap()
            ));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let errors = errors.lock().unwrap();
    if errors.contains("HttpConnection") || errors.contains("uncaught") {
        fail(format!("errors on stderr:\n{errors}"));
    }
    eprintln!(
        "hostile HTTP: seed {seed}, {SNIPPETS} snippets stored and read back identical, {requests} hostile requests \
         ({answers} answers, none a 500) in {:.1} s",
        elapsed.as_secs_f64()
    );
}
