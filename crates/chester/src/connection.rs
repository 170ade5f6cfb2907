//! One open control connection with bounded waits and a bounded answer: a local socket, or
//! a relay process (`ssh`, an `exec:` command) spoken to over its stdin and stdout.
//!
//! Every read waits at most until the connection's deadline (`timeout` after it was opened
//! or after `restart_clock`), whatever the far end does: a relay that hangs, accepts the
//! request and never answers, or dribbles one byte at a time. A relay is read by a thread
//! that hands chunks over a bounded channel (the coordinator waits on the channel with the
//! time left) and written by another thread (a relay that never reads its stdin cannot
//! block the coordinator either); when a wait runs out the relay is killed and reaped.
//! At most `MAX_ANSWER` bytes are read in all (ADR 0021).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long `espell patch` waits for an instance's answer unless told otherwise
/// (`--answer-timeout`).
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// The most bytes read from one connection (answers are a few KiB; a history of thousands
/// of updates stays far below this).
pub const MAX_ANSWER: usize = 8 << 20;

/// How often a read with a cancel flag looks at it.
const CANCEL_SLICE: Duration = Duration::from_millis(50);

/// How much of a relay's stderr is kept (its last bytes: why it could not connect).
const STDERR_KEPT: usize = 8192;

/// `d` for messages: `1.5 s`, `60 s`, `250 ms`.
pub fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// A relay process and the threads that move its bytes.
struct Relay {
    child: Child,
    /// To the writer thread (None once the writing side is shut).
    input: Option<Sender<Vec<u8>>>,
    /// Why the writer thread stopped writing, if it failed.
    write_failed: Arc<Mutex<Option<String>>>,
    /// From the reader thread: chunks of stdout; the channel's end is stdout's end.
    output: Receiver<std::io::Result<Vec<u8>>>,
    /// The last bytes of stderr, once the stderr thread is done.
    errors: Receiver<String>,
}

enum Link {
    Socket(UnixStream),
    Relay(Relay),
}

/// One open control connection (see the module's documentation).
pub struct Connection {
    /// The target, for messages.
    name: String,
    timeout: Duration,
    deadline: Instant,
    /// Bytes read so far (capped at `MAX_ANSWER`).
    total: usize,
    /// Read from the relay but not yet handed out.
    pending: Vec<u8>,
    at: usize,
    /// A wait ran out (a relay is then killed at once on close).
    gave_up: bool,
    /// Reads give up once this is set.
    cancel: Option<Arc<AtomicBool>>,
    link: Link,
}

impl Connection {
    /// Wraps a connected socket; every read waits at most `timeout` in all.
    pub fn socket(name: String, stream: UnixStream, timeout: Duration) -> std::io::Result<Connection> {
        stream.set_write_timeout(Some(Duration::from_secs(10)))?;
        Ok(Connection::new(name, Link::Socket(stream), timeout))
    }

    /// Wraps a spawned relay process whose stdin, stdout and stderr are piped.
    pub fn relay(name: String, mut child: Child, timeout: Duration) -> Connection {
        let stdin = child.stdin.take().expect("the relay's stdin is piped");
        let stdout = child.stdout.take().expect("the relay's stdout is piped");
        let stderr = child.stderr.take().expect("the relay's stderr is piped");
        let write_failed = Arc::new(Mutex::new(None));
        let relay = Relay {
            input: Some(spawn_writer(stdin, write_failed.clone())),
            write_failed,
            output: spawn_reader(stdout),
            errors: spawn_stderr_tail(stderr),
            child,
        };
        Connection::new(name, Link::Relay(relay), timeout)
    }

    fn new(name: String, link: Link, timeout: Duration) -> Connection {
        Connection {
            name,
            timeout,
            deadline: Instant::now() + timeout,
            total: 0,
            pending: Vec::new(),
            at: 0,
            gave_up: false,
            cancel: None,
            link,
        }
    }

    /// The target this connection reaches (for messages).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Gives the next answer a full timeout again (e.g. after a prepare, for the final
    /// answer).
    pub fn restart_clock(&mut self) {
        self.deadline = Instant::now() + self.timeout;
    }

    /// Writes all of `bytes` (to a relay: hands them to its writer thread, which never
    /// blocks the caller; a failed earlier write is answered here).
    pub fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match &mut self.link {
            Link::Socket(s) => s.write_all(bytes),
            Link::Relay(r) => {
                if let Some(why) = r.write_failed.lock().map(|w| w.clone()).unwrap_or(None) {
                    return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, why));
                }
                match &r.input {
                    Some(tx) => tx
                        .send(bytes.to_vec())
                        .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the relay stopped reading")),
                    None => Err(std::io::ErrorKind::BrokenPipe.into()),
                }
            }
        }
    }

    /// Shuts the writing side (the request is complete; for a relay: its stdin ends once
    /// everything queued is written).
    pub fn shutdown_write(&mut self) {
        match &mut self.link {
            Link::Socket(s) => {
                let _ = s.shutdown(std::net::Shutdown::Write);
            }
            Link::Relay(r) => drop(r.input.take()),
        }
    }

    /// Why writing to a relay failed, if it did.
    pub fn write_error(&self) -> Option<String> {
        match &self.link {
            Link::Socket(_) => None,
            Link::Relay(r) => r.write_failed.lock().map(|w| w.clone()).unwrap_or(None),
        }
    }

    fn timed_out(&mut self) -> std::io::Error {
        self.gave_up = true;
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {}", seconds(self.timeout)),
        )
    }

    /// Reads up to `buf.len()` bytes (0: the end of the connection), waiting at most until
    /// the deadline; more than `MAX_ANSWER` bytes in all is an error.
    pub fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.read_some(buf)?;
        self.total += n;
        if self.total > MAX_ANSWER {
            self.gave_up = true;
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the answer is larger than {} MiB", MAX_ANSWER >> 20),
            ));
        }
        Ok(n)
    }

    /// Whether the far end is still silent and open, checked without waiting: a prepared
    /// instance says nothing until it gets the decision, so anything it said (kept for the
    /// next read) or the connection's end means it is no longer holding its prepare (it
    /// gave up, or died, or its relay did).
    pub fn still_open(&mut self) -> bool {
        if self.at < self.pending.len() {
            return false;
        }
        match &mut self.link {
            Link::Socket(s) => {
                let mut byte = [0u8; 1];
                if s.set_nonblocking(true).is_err() {
                    return false;
                }
                let got = loop {
                    match s.read(&mut byte) {
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        other => break other,
                    }
                };
                let _ = s.set_nonblocking(false);
                match got {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
                    Ok(1) => {
                        self.pending = byte.to_vec();
                        self.at = 0;
                        false
                    }
                    _ => false,
                }
            }
            Link::Relay(r) => match r.output.try_recv() {
                Err(std::sync::mpsc::TryRecvError::Empty) => true,
                Ok(Ok(chunk)) => {
                    self.pending = chunk;
                    self.at = 0;
                    false
                }
                _ => false,
            },
        }
    }

    fn read_some(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.at < self.pending.len() {
                let n = buf.len().min(self.pending.len() - self.at);
                buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            if self.cancel.as_ref().is_some_and(|c| c.load(Ordering::SeqCst)) {
                self.gave_up = true;
                return Err(std::io::Error::other(
                    "stopped waiting: the fleet update can no longer commit",
                ));
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timed_out());
            }
            // With a cancel flag, wait in slices so that it is seen soon.
            let wait = match self.cancel {
                Some(_) => left.min(CANCEL_SLICE),
                None => left,
            };
            match &mut self.link {
                Link::Socket(s) => {
                    s.set_read_timeout(Some(wait))?;
                    match s.read(buf) {
                        // A timed-out slice, or a signal (a relay child's SIGCHLD) that
                        // interrupted the read: wait on.
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock
                                    | std::io::ErrorKind::TimedOut
                                    | std::io::ErrorKind::Interrupted
                            ) => {}
                        other => return other,
                    }
                }
                Link::Relay(r) => match r.output.recv_timeout(wait) {
                    Ok(Ok(chunk)) => {
                        self.pending = chunk;
                        self.at = 0;
                    }
                    Ok(Err(e)) => return Err(e),
                    Err(RecvTimeoutError::Disconnected) => return Ok(0),
                    Err(RecvTimeoutError::Timeout) => {}
                },
            }
        }
    }

    /// Makes every read give up once `flag` is set (a fleet update that can no longer
    /// commit stops waiting for the instances still preparing); None: never.
    pub fn cancel_when(&mut self, flag: Option<Arc<AtomicBool>>) {
        self.cancel = flag;
    }

    /// Reads everything up to the end of the connection (bytes, not yet checked as text).
    /// A reset after an answer ends it (a server that refuses a request answers and closes
    /// without reading it, which resets the connection).
    pub fn read_to_end(&mut self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match self.read(&mut buf) {
                Ok(0) => return Ok(out),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !out.is_empty() => return Ok(out),
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads one line (without its newline); None at the end of the connection. A line cut
    /// off by the end of the connection is answered as it is, and so are the first 4096
    /// bytes of a longer line (no line of the protocol is that long: callers refuse it).
    pub fn read_line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while line.len() < 4096 {
            match self.read(&mut b)? {
                0 if line.is_empty() => return Ok(None),
                0 => break,
                _ if b[0] == b'\n' => break,
                _ => line.push(b[0]),
            }
        }
        Ok(Some(line))
    }

    /// Reads exactly `n` bytes.
    pub fn read_exact(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        let mut out = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match self.read(&mut out[got..])? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                k => got += k,
            }
        }
        Ok(out)
    }

    /// Closes the connection; for a relay, waits for it (briefly; at once after a wait ran
    /// out), kills and reaps it if it has not ended, and answers what is known about its
    /// end: its exit status if it failed, and the last line it said on stderr (empty for a
    /// socket, or a relay that ended well and said nothing).
    pub fn close(self) -> String {
        let Link::Relay(mut r) = self.link else {
            return String::new();
        };
        drop(r.input.take());
        drop(r.output);
        // A relay ends when its connection ends; give it a moment, unless it already
        // failed to answer in time.
        let grace = if self.gave_up {
            Duration::ZERO
        } else {
            Duration::from_secs(2)
        };
        let started = Instant::now();
        while matches!(r.child.try_wait(), Ok(None)) && started.elapsed() < grace {
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut killed = false;
        if let Ok(None) = r.child.try_wait() {
            killed = r.child.kill().is_ok();
        }
        let status = r.child.wait().ok();
        // The stderr pipe may be held open by a process the relay started (e.g. `sh -c`
        // forks its command): do not wait for it long.
        let said = r.errors.recv_timeout(Duration::from_millis(500)).unwrap_or_default();
        let mut note = Vec::new();
        match status {
            _ if killed => note.push("killed".to_string()),
            Some(s) if !s.success() => note.push(format!("ended with {s}")),
            _ => {}
        }
        if let Some(line) = said.trim().lines().last() {
            note.push(format!("it said: {line}"));
        }
        note.join("; ")
    }
}

/// The writer thread: writes what it is handed to the relay's stdin; closes stdin when the
/// sender is dropped. Records why writing failed.
fn spawn_writer(mut stdin: ChildStdin, failed: Arc<Mutex<Option<String>>>) -> Sender<Vec<u8>> {
    let (tx, rx) = channel::<Vec<u8>>();
    std::thread::spawn(move || {
        for bytes in rx {
            if let Err(e) = stdin.write_all(&bytes).and_then(|()| stdin.flush()) {
                if let Ok(mut f) = failed.lock() {
                    *f = Some(e.to_string());
                }
                return;
            }
        }
    });
    tx
}

/// The reader thread: hands stdout over in chunks (a few chunks ahead at most, so a relay
/// that talks without end is held back, not buffered).
fn spawn_reader(mut stdout: ChildStdout) -> Receiver<std::io::Result<Vec<u8>>> {
    let (tx, rx) = sync_channel(4);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 8192];
        loop {
            let item = match stdout.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => Ok(buf[..n].to_vec()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let failed = item.is_err();
            if tx.send(item).is_err() || failed {
                return;
            }
        }
    });
    rx
}

/// The stderr thread: keeps the last `STDERR_KEPT` bytes, answers them at the end.
fn spawn_stderr_tail(mut stderr: ChildStderr) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            kept.extend_from_slice(&buf[..n]);
            if kept.len() > 2 * STDERR_KEPT {
                kept.drain(..kept.len() - STDERR_KEPT);
            }
        }
        let _ = tx.send(String::from_utf8_lossy(&kept).into_owned());
    });
    rx
}
