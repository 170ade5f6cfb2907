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
