//! `espell dashboard` over HTTP, without a browser: a fleet of two web applications under
//! hypervisors, the dashboard on both; its JSON state shows both instances (uptime,
//! processes, GC, digest) and whether their digests agree; the actions (dry-run, apply,
//! revert, a script that does not compile, a script name outside --scripts) answer what
//! the control sockets answer, and the update log follows.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `espell ARGS`; answers it with its first stdout line.
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
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    });
    let line = rx.recv_timeout(WAIT).unwrap_or_default();
    (Guard(child), line.trim_end().to_string())
}

/// One request on a fresh connection (`Connection: close`): status and body.
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").expect("a head");
    (head[9..12].parse().unwrap(), rest.to_string())
}

struct Dashboard {
    addr: SocketAddr,
    token: String,
}

impl Dashboard {
    fn state(&self) -> Value {
        let (status, body) = http(self.addr, "GET", &format!("/api/state?token={}", self.token), "");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{body}: {e}"))
    }

    fn action(&self, query: &str, script: &str) -> (u16, String) {
        http(
            self.addr,
            "POST",
            &format!("/api/action?token={}&{query}", self.token),
            script,
        )
    }

    /// Waits until `test` holds for the state; answers that state.
    fn wait_for(&self, what: &str, test: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let s = self.state();
            if test(&s) {
                return s;
            }
            assert!(start.elapsed() < WAIT, "never saw {what}; state: {s}");
            thread::sleep(Duration::from_millis(200));
        }
    }
}

fn events(s: &Value, i: usize) -> Vec<Value> {
    s["instances"][i]["events"].as_array().cloned().unwrap_or_default()
}

#[test]
fn the_dashboard_watches_a_fleet_and_its_actions_answer_what_the_instances_answer() {
    let dir = std::env::temp_dir().join(format!("espell-dashboard-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("scripts")).unwrap();
    std::fs::copy(
        repo().join("examples/updates/RenameService.som"),
        dir.join("scripts/RenameService.som"),
    )
    .unwrap();
    let socks: Vec<String> = ["a.sock", "b.sock"]
        .iter()
        .map(|n| dir.join(n).display().to_string())
        .collect();
    let mut apps = Vec::new();
    for sock in &socks {
        let (g, first) = espell(&[
            "run",
            "--control",
            sock,
            "-cp",
            "examples/webapp",
            "WebApp",
            "--port",
            "0",
        ]);
        assert!(first.starts_with("listening on 127.0.0.1:"), "{first}");
        apps.push(g);
    }
    let scripts = dir.join("scripts").display().to_string();
    let (_dash, line) = espell(&["dashboard", "--to", &socks[0], "--to", &socks[1], "--scripts", &scripts]);
    let url = line
        .strip_prefix("dashboard: http://")
        .unwrap_or_else(|| panic!("{line:?}"));
    let (addr, token) = url.split_once("/?token=").unwrap();
    let d = Dashboard {
        addr: addr.parse().unwrap(),
        token: token.to_string(),
    };
    assert_eq!(http(d.addr, "GET", "/api/state", "").0, 403);
    assert_eq!(http(d.addr, "GET", "/api/state?token=00", "").0, 403);
    let (status, page) = http(d.addr, "GET", &format!("/?token={}", d.token), "");
    assert!(status == 200 && page.contains("dashboard.js?token="), "{page}");

    // Both instances up, with their processes, GC counters and equal digests.
    let s = d.wait_for("both instances up and agreeing", |s| {
        s["instances"]
            .as_array()
            .is_some_and(|a| a.iter().all(|i| i["up"] == true))
            && s["digestsAgree"] == true
    });
    for i in s["instances"].as_array().unwrap() {
        assert!(i["uptimeMs"].as_u64().is_some(), "{i}");
        assert!(i["gc"]["objects"].as_u64().unwrap() > 0, "{i}");
        assert!(i["digest"].as_str().unwrap().starts_with("code #"), "{i}");
        let processes = i["processes"].as_array().unwrap();
        assert!(processes.len() >= 2, "{i}");
        assert!(
            processes
                .iter()
                .any(|p| p["where"].as_str().unwrap().contains("HttpServer")),
            "{i}"
        );
    }
    assert_eq!(s["scripts"], serde_json::json!(["RenameService.som"]));

    // A dry run on both: each answers, nothing changes.
    let (status, answer) = d.action("kind=dry-run&instances=0,1&pick=RenameService.som", "");
    assert_eq!(status, 200);
    assert_eq!(
        answer.matches("would commit: update RenameService").count(),
        2,
        "{answer}"
    );

    // Apply on the first only: the fleet's digests differ, the log shows it committed.
    let (status, answer) = d.action("kind=apply&instances=0&pick=RenameService.som", "");
    assert_eq!(status, 200);
    assert!(answer.starts_with("committed: update RenameService"), "{answer}");
    let s = d.wait_for("the digests differ after the apply", |s| {
        s["digestsAgree"] == false && events(s, 0).iter().any(|e| e["outcome"] == "committed")
    });
    let e = events(&s, 0).into_iter().find(|e| e["kind"] == "apply").unwrap();
    assert_eq!(e["file"], "RenameService.som");
    assert!(
        e["summary"].as_str().unwrap().contains("SnippetApi>>#serviceName"),
        "{e}"
    );
    assert!(
        e["quiescenceMs"].as_f64().is_some() && e["commitMs"].as_f64().is_some(),
        "{e}"
    );
    assert!(events(&s, 1).iter().all(|e| e["kind"] == "dry-run"), "{s}");

    // Revert it: the fleet agrees again.
    let (_, answer) = d.action("kind=revert&instances=0", "");
    assert!(
        answer.starts_with("committed: reverted update RenameService"),
        "{answer}"
    );
    d.wait_for("the digests agree after the revert", |s| {
        s["digestsAgree"] == true && events(s, 0).iter().any(|e| e["kind"] == "revert")
    });

    // An uploaded script that does not compile: rolled back, logged, nothing paused.
    let (_, answer) = d.action(
        "kind=apply&instances=1&name=broken.som",
        "Broken = ChesterUpdate ( run: app = ( ^ ) )",
    );
    assert!(
        answer.starts_with("rolled back: the script does not compile"),
        "{answer}"
    );
    d.wait_for("the failed upload in the log", |s| {
        events(s, 1)
            .iter()
            .any(|e| e["file"] == "broken.som" && e["outcome"] == "rolled back")
    });

    // Apply to both: the fleet protocol (two-phase) commits on both, the digests agree,
    // each instance logs a committed fleet apply.
    let (status, answer) = d.action("kind=apply&instances=0,1&pick=RenameService.som", "");
    assert_eq!(status, 200);
    assert!(answer.contains("committed on all 2 instances"), "{answer}");
    d.wait_for("both committed the fleet apply and agree", |s| {
        s["digestsAgree"] == true
            && (0..2).all(|i| {
                events(s, i)
                    .iter()
                    .any(|e| e["kind"] == "fleet apply" && e["outcome"] == "committed")
            })
    });

    // Refusals: a name outside --scripts, no instance, an unknown action.
    let (status, answer) = d.action("kind=apply&instances=0&pick=..%2FRenameService.som", "");
    assert_eq!(status, 400, "{answer}");
    assert_eq!(d.action("kind=apply&instances=&pick=RenameService.som", "").0, 400);
    assert_eq!(d.action("kind=explode&instances=0", "").0, 400);
    assert_eq!(d.action("kind=apply&instances=7&pick=RenameService.som", "").0, 400);

    let s = d.state();
    assert_eq!(s["actions"].as_array().unwrap().len(), 5, "{s}");
    drop(apps);
    let _ = std::fs::remove_dir_all(&dir);
}
