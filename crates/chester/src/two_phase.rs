//! Two-phase fleet updates, the instance's side of the connection (the VM's side is in
//! `runtime`): a prepare request is handed to the VM, whose first answer (`prepared: ...`
//! or the failure) goes back framed while the connection stays open; then the
//! coordinator's decision line (`commit` or `abort`) is read and handed on. Anything else —
//! the connection closing, garbage, no word in time — is an abort (presumed abort). The VM
//! keeps its own deadline as well, so a decision that never reaches it cannot hold the
//! application paused (docs/chester.md, "Fleet updates").

use crate::control::Delivery;
use crate::protocol::{frame_answer, Kind, Prepared, Request};
use espell_vm::quiescence::Waker;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::time::Duration;

/// Transaction numbers, unique within the process.
static NEXT_TXN: AtomicU64 = AtomicU64::new(1);

/// How long the first answer may take (quiescence and the script are bounded themselves).
const PREPARE_ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

fn ask(deliveries: &Sender<Delivery>, waker: &Waker, request: Request, limit: Duration) -> String {
    let (tx, rx) = channel();
    if deliveries.send((request, tx)).is_err() {
        return "error: the application has ended\n".into();
    }
    waker.wake();
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| "error: no answer from the application\n".into())
}

/// Reads the decision line: `Some(true)` for `commit`, `Some(false)` for `abort`, `None`
/// when the connection closed, failed, timed out or said something else.
fn read_decision(stream: &mut UnixStream, limit: Duration) -> Option<bool> {
    stream.set_read_timeout(Some(limit)).ok()?;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 64 {
        match stream.read(&mut byte) {
            Ok(1) if byte[0] == b'\n' => break,
            Ok(1) => line.push(byte[0]),
            _ => return None,
        }
    }
    match line.as_slice() {
        b"commit" => Some(true),
        b"abort" => Some(false),
        _ => None,
    }
}

/// What a prepare request asked for.
pub struct Params {
    /// A revert of the last update instead of a script.
    pub revert: bool,
    /// How long to hold without a decision (ms).
    pub timeout_ms: u64,
    /// The script's file name.
    pub file: String,
}

/// Serves one prepare connection to its end.
pub fn serve_prepare(
    stream: &mut UnixStream,
    params: Params,
    script: String,
    deliveries: &Sender<Delivery>,
    waker: &Waker,
) {
    let txn = NEXT_TXN.fetch_add(1, Ordering::SeqCst);
    let timeout_ms = params.timeout_ms;
    let params = Prepared {
        txn,
        revert: params.revert,
        timeout_ms,
        file: params.file,
    };
    let request = Request {
        kind: Kind::Prepare,
        file: params.to_field(),
        script,
    };
    let first = ask(deliveries, waker, request, PREPARE_ANSWER_TIMEOUT);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let sent = stream.write_all(&frame_answer(&first));
    if !first.starts_with("prepared") {
        return;
    }
    // Wait a little longer than the VM does: its own deadline decides a late decision.
    let decision = match sent {
        Ok(()) => read_decision(stream, Duration::from_millis(timeout_ms + 1000)),
        Err(_) => None,
    };
    let kind = if decision == Some(true) {
        Kind::Commit
    } else {
        Kind::Abort
    };
    // An abort says why (the VM's answer names it).
    let why = match decision {
        Some(_) => "the coordinator decided to abort",
        None => "the coordinator's connection ended without a decision (presumed abort)",
    };
    let request = Request {
        kind,
        file: txn.to_string(),
        script: if kind == Kind::Abort {
            why.to_string()
        } else {
            String::new()
        },
    };
    let last = ask(deliveries, waker, request, Duration::from_secs(60));
    let _ = stream.write_all(last.as_bytes());
}
