//! One simulated user of the example web application (`examples/webapp`): on one keep-alive
//! connection it creates, reads, renames, deletes and lists its own snippets and reads the
//! index, checks every answer against what it has done, and records each request's
//! latency; it keeps only its newest snippets, so the load is steady. A broken connection is counted as dropped and replaced by a new one.

use crate::http_client::{ensure, expect_status, Client, Response};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How many of its snippets a user keeps; it deletes the oldest beyond that, so the
/// application's state (and the cost of `GET /`, which lists every title) stays bounded
/// however long the run.
const KEEP: usize = 8;

/// One request as the client saw it.
#[derive(Clone, Debug)]
pub struct Sample {
    /// When it was sent, in µs since the experiment's start.
    pub start_us: u64,
    /// Time to the complete response, in µs.
    pub latency_us: u64,
    /// Which client sent it.
    pub client: usize,
    /// What it was (`create`, `show`, `rename`, `delete`, `show-deleted`, `list`, `index`, `stats`).
    pub op: &'static str,
    /// The HTTP status (0 when no response arrived).
    pub status: u16,
    /// True when the response was exactly what the user expected.
    pub ok: bool,
}

/// What one user did.
#[derive(Debug, Default)]
pub struct UserReport {
    /// Every request, in order.
    pub samples: Vec<Sample>,
    /// What went wrong, one line per failed request.
    pub failures: Vec<String>,
    /// Connections that broke (the server closed or reset them, or they timed out).
    pub dropped: usize,
}

/// The user: `client` numbers it (its author name is `user<client>`); it works until `stop`
/// is set, then checks the connection still serves `GET /stats`.
pub fn run_user(addr: SocketAddr, client: usize, timeout: Duration, t0: Instant, stop: &AtomicBool) -> UserReport {
    let mut user = User {
        addr,
        timeout,
        t0,
        number: client,
        author: format!("user{client}"),
        conn: None,
        live: 0,
        kept: std::collections::VecDeque::new(),
        report: UserReport::default(),
    };
    let mut j = 0usize;
    while !stop.load(Ordering::Relaxed) {
        j += 1;
        if let Err(e) = user.round(j) {
            user.fail(e);
        }
    }
    if let Err(e) = user
        .call("stats", "GET", "/stats", None)
        .and_then(|r| expect_status(&r, 200, "stats"))
    {
        user.fail(e);
    }
    user.report
}

struct User {
    addr: SocketAddr,
    timeout: Duration,
    t0: Instant,
    number: usize,
    author: String,
    conn: Option<Client>,
    /// Snippets of this author that exist on the server.
    live: usize,
    /// Ids of the snippets it keeps, oldest first (at most `KEEP`).
    kept: std::collections::VecDeque<u64>,
    report: UserReport,
}

impl User {
    /// Marks the last request failed and records why.
    fn fail(&mut self, why: String) {
        if let Some(last) = self.report.samples.last_mut() {
            last.ok = false;
        }
        self.report.failures.push(format!("client {}: {why}", self.number));
    }

    /// Sends a request and records it; a transport error drops the connection.
    fn call(
        &mut self,
        op: &'static str,
        method: &str,
        path: &str,
        body: Option<(&str, &str)>,
    ) -> Result<Response, String> {
        if self.conn.is_none() {
            self.conn = Some(Client::connect(self.addr, self.timeout)?);
        }
        let sent = Instant::now();
        let result = self.conn.as_mut().expect("connected above").request(method, path, body);
        let latency_us = sent.elapsed().as_micros() as u64;
        self.report.samples.push(Sample {
            start_us: sent.duration_since(self.t0).as_micros() as u64,
            latency_us,
            client: self.number,
            op,
            status: result.as_ref().map(|r| r.status).unwrap_or(0),
            ok: result.is_ok(),
        });
        match result {
            Ok(r) if r.header("Connection") == Some("keep-alive") => Ok(r),
            Ok(r) => {
                self.conn = None;
                self.report.dropped += 1;
                Err(format!("{op}: the server closed the connection: {r:?}"))
            }
            Err(e) => {
                self.conn = None;
                self.report.dropped += 1;
                self.resync();
                Err(e)
            }
        }
    }

    /// After a lost answer the user no longer knows what exists: it asks.
    fn resync(&mut self) {
        let path = format!("/snippets?author={}", self.author);
        if let Ok(mut c) = Client::connect(self.addr, self.timeout) {
            if let Ok(count) = c.request("GET", &path, None).and_then(|r| listed_count(&r)) {
                self.live = count;
                // Those it had lost track of stay; it deletes only what it knows of.
                self.kept.clear();
                self.conn = Some(c);
            }
        }
    }

    /// One round of the workload; `j` numbers it.
    fn round(&mut self, j: usize) -> Result<(), String> {
        let author = self.author.clone();
        let title = format!("note {j} of {author}");
        let r = if j % 2 == 1 {
            let form = format!("title=note+{j}+of+{author}&text=text+{j}%0Aby+%22{author}%22&author={author}");
            self.call(
                "create",
                "POST",
                "/snippets",
                Some(("application/x-www-form-urlencoded", &form)),
            )?
        } else {
            let json = format!(
                "{{\"title\": \"{title}\", \"text\": \"text {j}\\nby \\\"{author}\\\"\", \"author\": \"{author}\"}}"
            );
            self.call("create", "POST", "/snippets", Some(("application/json", &json)))?
        };
        expect_status(&r, 201, "create")?;
        let id = created_id(&r)?;
        ensure(r.header("Location") == Some(&format!("/snippets/{id}")), || {
            format!("Location of {r:?}")
        })?;
        self.live += 1;

        let r = self.call("show", "GET", &format!("/snippets/{id}"), None)?;
        expect_status(&r, 200, "show")?;
        let expected_text = format!("\"text\":\"text {j}\\nby \\\"{author}\\\"\"");
        ensure(
            r.body
                .starts_with(&format!("{{\"id\":{id},\"title\":\"{title}\",\"author\":\"{author}\""))
                && r.body.contains(&expected_text),
            || format!("show {id}: {r:?}"),
        )?;

        if j % 3 == 2 {
            let r = self.call(
                "rename",
                "PUT",
                &format!("/snippets/{id}"),
                Some(("application/x-www-form-urlencoded", "title=renamed")),
            )?;
            expect_status(&r, 200, "rename")?;
            ensure(
                r.body.contains("\"title\":\"renamed\"") && r.body.contains("\"version\":2"),
                || format!("rename: {r:?}"),
            )?;
        }
        if j % 4 == 3 {
            let r = self.call("delete", "DELETE", &format!("/snippets/{id}"), None)?;
            expect_status(&r, 200, "delete")?;
            ensure(r.body == format!("{{\"deleted\":{id}}}"), || format!("delete: {r:?}"))?;
            self.live -= 1;
            let r = self.call("show-deleted", "GET", &format!("/snippets/{id}"), None)?;
            expect_status(&r, 404, "show deleted")?;
        } else {
            self.kept.push_back(id);
        }
        while self.kept.len() > KEEP {
            let old = self.kept.pop_front().expect("longer than KEEP");
            let r = self.call("delete", "DELETE", &format!("/snippets/{old}"), None)?;
            expect_status(&r, 200, "delete the oldest")?;
            self.live -= 1;
        }
        if j % 5 == 4 {
            let r = self.call("list", "GET", &format!("/snippets?author={author}"), None)?;
            expect_status(&r, 200, "list")?;
            let live = self.live;
            ensure(listed_count(&r)? == live, || {
                format!("list of {author}: {live} live, got {r:?}")
            })?;
        }
        if j % 5 == 1 {
            let r = self.call("index", "GET", "/", None)?;
            expect_status(&r, 200, "index")?;
            ensure(
                r.body.starts_with("Snippets service\nsnippets: ") && r.body.contains("titles:\n"),
                || format!("index: {:?}", r.body.chars().take(200).collect::<String>()),
            )?;
            if j > 1 {
                ensure(r.body.contains(&format!("  {author}: ")), || {
                    format!("index lacks {author}")
                })?;
            }
        }
        Ok(())
    }
}

/// The id in `{"id":N}`.
fn created_id(r: &Response) -> Result<u64, String> {
    r.body
        .strip_prefix("{\"id\":")
        .and_then(|s| s.strip_suffix('}'))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad create answer {r:?}"))
}

/// The `"count":N` of a listing.
fn listed_count(r: &Response) -> Result<usize, String> {
    r.body
        .strip_prefix("{\"count\":")
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad listing {r:?}"))
}
