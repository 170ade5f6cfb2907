//! The client side (`espell patch`): sends one request, answers the reply. Every wait is
//! bounded (`Connection`), every answer is checked to be an espell answer (`answer`).

use crate::answer;
use crate::connection::Connection;
use crate::protocol::Request;
use crate::transport::Target;
use std::path::Path;
use std::time::Duration;

/// How long tools that talk to a local socket (`send`) wait for an answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(120);

/// Sends `request` to the control socket at `path` and answers the reply text (waiting at
/// most 120 s for it).
pub fn send(path: &Path, request: &Request) -> std::io::Result<String> {
    let target = Target::Socket(path.to_path_buf());
    let conn = target.connect(REPLY_TIMEOUT)?;
    let prefix = format!("{target}: ");
    exchange(conn, request).map_err(|e| std::io::Error::other(e.strip_prefix(&prefix).unwrap_or(&e).to_string()))
}

/// Sends `request` to `target` (a socket, `ssh://` or `exec:`) and answers the reply,
/// waiting at most `timeout` for it. An error names the target.
pub fn send_to(target: &Target, request: &Request, timeout: Duration) -> Result<String, String> {
    let conn = target
        .connect(timeout)
        .map_err(|e| format!("cannot reach {target}: {e}"))?;
    exchange(conn, request)
}

fn exchange(mut conn: Connection, request: &Request) -> Result<String, String> {
    // A server that refuses the request (another user, too large) answers and closes
    // without reading it: the write then fails, but the answer is there to read.
    let written = conn.write_all(&request.encode());
    conn.shutdown_write();
    let reply = conn.read_to_end();
    let name = conn.name().to_string();
    let write_error = conn.write_error();
    let errors = conn.close();
    match reply {
        Ok(bytes) if !bytes.is_empty() => answer::check(&name, &bytes),
        Ok(_) => Err(format!(
            "{name}: {}{}",
            ended(written.err(), write_error),
            relay_said(&errors)
        )),
        Err(e) => Err(failure(&name, &e, &errors)),
    }
}

/// `TARGET: what went wrong (the relay ...)`; a timeout says that the wait was given up.
fn failure(name: &str, e: &std::io::Error, relay: &str) -> String {
    let stopped = match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::InvalidData => "; stopped waiting",
        _ => "",
    };
    format!("{name}: {e}{stopped}{}", relay_said(relay))
}

/// Why no answer came when the connection just ended: a failed write (other than the
/// relay having gone) says more than "ended".
fn ended(written: Option<std::io::Error>, write_error: Option<String>) -> String {
    match written {
        Some(e) if e.kind() != std::io::ErrorKind::BrokenPipe => e.to_string(),
        _ => write_error
            .filter(|e| !e.contains("Broken pipe"))
            .unwrap_or_else(|| "the connection ended without an answer".to_string()),
    }
}

/// What the relay's end adds to a message (` (the relay ended with exit status: 3; it
/// said: ...)`).
fn relay_said(relay: &str) -> String {
    if relay.is_empty() {
        String::new()
    } else {
        format!(" (the relay: {relay})")
    }
}

/// Reads a prepare's first answer: framed (`ESPELL/1 answer N`), or an unframed error from
/// a server that refused the request. Anything else is not an espell answer.
fn first_answer(conn: &mut Connection) -> std::io::Result<Result<String, String>> {
    let line = conn.read_line()?.ok_or(std::io::ErrorKind::UnexpectedEof)?;
    let name = conn.name().to_string();
    if let Some(n) = std::str::from_utf8(&line)
        .ok()
        .and_then(crate::protocol::parse_answer_header)
    {
        let body = conn.read_exact(n)?;
        return Ok(answer::check(&name, &body));
    }
    // An unframed answer must at least begin like one before the rest is read.
    let mut bytes = line;
    bytes.push(b'\n');
    if let Err(e) = answer::check(&name, &bytes) {
        return Ok(Err(e));
    }
    bytes.extend(conn.read_to_end()?);
    Ok(answer::check(&name, &bytes))
}

/// Phase 1 of a fleet update on one instance: sends the script (none: a revert of the last
/// update) and answers the instance's first answer, with the connection still open when
/// it says `prepared`. The answer waits at most `timeout`, and no longer once `cancel` is
/// set; a failure is an `error:` text naming the target.
pub fn prepare(
    target: &Target,
    file: &str,
    script: &str,
    timeout_ms: u64,
    timeout: Duration,
    cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
) -> (String, Option<Connection>) {
    let mut conn = match target.connect(timeout) {
        Ok(c) => c,
        Err(e) => return (format!("error: cannot reach {target}: {e}\n"), None),
    };
    conn.cancel_when(cancel);
    // An empty script means "revert the last update" (two-phase).
    let header = if script.is_empty() {
        crate::protocol::Prepared::revert_header(timeout_ms)
    } else {
        crate::protocol::Prepared::header(timeout_ms, script.len(), file)
    };
    let sent = conn
        .write_all(header.as_bytes())
        .and_then(|()| conn.write_all(script.as_bytes()));
    match first_answer(&mut conn) {
        Ok(Ok(text)) if text.starts_with("prepared") => {
            // The decision's answer is always waited for.
            conn.cancel_when(None);
            (text, Some(conn))
        }
        Ok(Ok(text)) => {
            conn.close();
            (text, None)
        }
        Ok(Err(garbage)) => {
            conn.close();
            (format!("error: {garbage}\n"), None)
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            let why = ended(sent.err(), conn.write_error());
            let errors = conn.close();
            (
                format!("error: no answer from {target}: {why}{}\n", relay_said(&errors)),
                None,
            )
        }
        Err(e) => {
            let name = conn.name().to_string();
            let errors = conn.close();
            (format!("error: {}\n", failure(&name, &e, &errors)), None)
        }
    }
}

/// Phase 2 on one prepared instance: sends the decision and answers the instance's final
/// answer, or (Err) why none came: then the instance's outcome is not known here (after
/// an abort it rolls back by itself; after a commit it may have committed). The answer
/// waits at most the connection's timeout, counted from now.
pub fn decide(mut conn: Connection, commit: bool) -> Result<String, String> {
    conn.restart_clock();
    let line: &[u8] = if commit { b"commit\n" } else { b"abort\n" };
    let written = conn.write_all(line);
    conn.shutdown_write();
    let reply = conn.read_to_end();
    let name = conn.name().to_string();
    let write_error = conn.write_error();
    let errors = conn.close();
    match reply {
        Ok(bytes) if !bytes.is_empty() => answer::check(&name, &bytes),
        Ok(_) => Err(format!(
            "{name}: no final answer: {}{}",
            ended(written.err(), write_error),
            relay_said(&errors)
        )),
        Err(e) => Err(format!("no final answer from {}", failure(&name, &e, &errors))),
    }
}
