//! The client side (`espell patch`): sends one request, answers the reply.

use crate::protocol::Request;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// How long to wait for an answer (quiescence, the script and the commit).
const REPLY_TIMEOUT: Duration = Duration::from_secs(120);

/// Sends `request` to the control socket at `path` and answers the reply text.
pub fn send(path: &Path, request: &Request) -> std::io::Result<String> {
    let mut stream = UnixStream::connect(path)?;
    stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    // A server that refuses the request (another user, too large) answers and closes
    // without reading it: the write then fails, but the answer is there to read.
    let written = stream
        .write_all(&request.encode())
        .and_then(|()| stream.shutdown(std::net::Shutdown::Write));
    let mut reply = String::new();
    let read = stream.read_to_string(&mut reply);
    if reply.is_empty() {
        written?;
        read?;
    }
    Ok(reply)
}

/// Sends `request` to `target` (a socket, `ssh://` or `exec:`) and answers the reply.
pub fn send_to(target: &crate::transport::Target, request: &Request) -> Result<String, String> {
    if let crate::transport::Target::Socket(path) = target {
        return send(path, request).map_err(|e| e.to_string());
    }
    let mut conn = target.connect(REPLY_TIMEOUT).map_err(|e| e.to_string())?;
    let written = conn.write_all(&request.encode());
    conn.shutdown_write();
    let reply = conn.read_to_end().unwrap_or_default();
    let errors = conn.close();
    if reply.is_empty() {
        let why = match written {
            Err(e) => e.to_string(),
            Ok(()) => "no answer".to_string(),
        };
        return Err(format!("{why}{}", relay_said(&errors)));
    }
    Ok(reply)
}

fn relay_said(errors: &str) -> String {
    let e = errors.trim();
    if e.is_empty() {
        String::new()
    } else {
        format!(" (the relay said: {})", e.lines().last().unwrap_or(e))
    }
}

/// Phase 1 of a fleet update on one instance: sends the script (none: a revert of the last
/// update) and answers the instance's first answer, with the connection still open when
/// it says `prepared`.
pub fn prepare(
    target: &crate::transport::Target,
    file: &str,
    script: &str,
    timeout_ms: u64,
) -> (String, Option<crate::transport::Connection>) {
    let mut conn = match target.connect(REPLY_TIMEOUT) {
        Ok(c) => c,
        Err(e) => return (format!("error: cannot reach {target}: {e}\n"), None),
    };
    // An empty script means "revert the last update" (two-phase).
    let header = if script.is_empty() {
        crate::protocol::Prepared::revert_header(timeout_ms)
    } else {
        crate::protocol::Prepared::header(timeout_ms, script.len(), file)
    };
    let sent = conn
        .write_all(header.as_bytes())
        .and_then(|()| conn.write_all(script.as_bytes()));
    let framed = conn.read_line().and_then(|line| {
        let line = line.ok_or(std::io::ErrorKind::UnexpectedEof)?;
        match crate::protocol::parse_answer_header(&line) {
            Some(n) => conn.read_exact(n),
            // An error answer from a refusing server (another user, bad request) is unframed.
            None => Ok(format!("{line}\n{}", conn.read_to_end().unwrap_or_default())),
        }
    });
    match framed {
        Ok(text) if text.starts_with("prepared") => (text, Some(conn)),
        Ok(text) => {
            conn.close();
            (text, None)
        }
        Err(e) => {
            let errors = conn.close();
            let why = sent.err().map_or(e.to_string(), |s| s.to_string());
            (
                format!("error: no answer from {target}: {why}{}\n", relay_said(&errors)),
                None,
            )
        }
    }
}

/// Phase 2 on one prepared instance: sends the decision and answers the final answer.
pub fn decide(mut conn: crate::transport::Connection, commit: bool) -> String {
    let line: &[u8] = if commit { b"commit\n" } else { b"abort\n" };
    let written = conn.write_all(line);
    conn.shutdown_write();
    let reply = conn.read_to_end().unwrap_or_default();
    let errors = conn.close();
    if reply.is_empty() {
        let why = written
            .err()
            .map_or("the connection ended without an answer".to_string(), |e| e.to_string());
        format!("error: no final answer: {why}{}\n", relay_said(&errors))
    } else {
        reply
    }
}
