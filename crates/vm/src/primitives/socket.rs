//! TCP socket primitives (ServerSocket, Socket). Sockets are non-blocking; an operation
//! that would block parks only the calling Smalltalk process (`Interp::block_on_io`) and
//! is retried when the socket is ready. Failures fail with a `socket:` message, which the
//! VM signals as `SocketError`.

use crate::error::{prim_fail, VmError};
use crate::interpreter::{Interp, PrimFn};
use crate::object::{Body, Native, StreamState};
use crate::value::Value;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// How long `connectTo:port:` may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest read one primitive call does.
const MAX_READ: i64 = 1 << 20;

fn native(interp: &mut Interp, v: Value) -> Result<&mut Native, VmError> {
    if v.is_immediate() {
        return prim_fail("socket: not a socket");
    }
    match &mut interp.space.heap.get_mut(v).body {
        Body::Native(n) => Ok(n),
        _ => prim_fail("socket: not a socket"),
    }
}

fn timeout_arg(v: Value) -> Option<Duration> {
    match v.as_small() {
        Some(ms) if ms >= 0 => Some(Duration::from_millis(ms as u64)),
        _ => None,
    }
}

fn new_socket_object(interp: &mut Interp, class_name: &str, n: Native) -> Result<Value, VmError> {
    let class = match interp.load_class(class_name)? {
        Some(c) => c,
        None => return prim_fail(format!("socket: no class {class_name}")),
    };
    let fields = interp.space.class_info(class).instance_fields.len();
    let v = interp.space.new_plain(class, fields);
    interp.space.heap.get_mut(v).body = Body::Native(Box::new(n));
    Ok(v)
}

fn text_arg(interp: &Interp, v: Value) -> Result<String, VmError> {
    match interp.space.str_of(v) {
        Some(s) => Ok(s.to_string()),
        None => prim_fail("socket: expected a String"),
    }
}

fn listen(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.require_unfrozen("socket I/O")?;
    let Some(port) = interp.arg(argc, 0).as_small().filter(|p| (0..=65535).contains(p)) else {
        return prim_fail("socket: the port must be an Integer from 0 to 65535");
    };
    let host = text_arg(interp, interp.arg(argc, 1))?;
    let listener = match TcpListener::bind((host.as_str(), port as u16)) {
        Ok(l) => l,
        Err(e) => return prim_fail(format!("socket: cannot listen on {host}:{port}: {e}")),
    };
    if let Err(e) = listener.set_nonblocking(true) {
        return prim_fail(format!("socket: {e}"));
    }
    let v = new_socket_object(interp, "ServerSocket", Native::Listener(listener))?;
    interp.prim_return(argc, v)
}

fn accept(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.require_unfrozen("socket I/O")?;
    let me = interp.receiver(argc);
    let timeout = timeout_arg(interp.arg(argc, 0));
    if interp.take_io_timeout() {
        let nil = interp.nil();
        return interp.prim_return(argc, nil);
    }
    let result = match native(interp, me)? {
        Native::Listener(l) => l.accept().map_err(|e| (e, l.as_raw_fd())),
        _ => return prim_fail("socket: the server socket is closed"),
    };
    match result {
        Ok((stream, _)) => {
            let _ = stream.set_nonblocking(true);
            let _ = stream.set_nodelay(true);
            let v = new_socket_object(interp, "Socket", Native::Stream(stream, StreamState::default()))?;
            interp.prim_return(argc, v)
        }
        Err((e, fd)) if e.kind() == ErrorKind::WouldBlock => interp.block_on_io(fd, false, timeout),
        Err((e, _)) => prim_fail(format!("socket: accept failed: {e}")),
    }
}

fn port(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let me = interp.receiver(argc);
    let p = match native(interp, me)? {
        Native::Listener(l) => l.local_addr().map(|a| a.port() as i64).unwrap_or(0),
        Native::Stream(s, _) => s.local_addr().map(|a| a.port() as i64).unwrap_or(0),
        Native::Closed => 0,
    };
    interp.prim_return(argc, Value::small(p))
}

fn close(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.require_unfrozen("socket I/O")?;
    let me = interp.receiver(argc);
    *native(interp, me)? = Native::Closed;
    interp.prim_return(argc, me)
}

fn is_open(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let me = interp.receiver(argc);
    let open = !matches!(native(interp, me)?, Native::Closed);
    super::ret_bool(interp, argc, open)
}

fn connect(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.require_unfrozen("socket I/O")?;
    let host = text_arg(interp, interp.arg(argc, 0))?;
    let Some(port) = interp.arg(argc, 1).as_small().filter(|p| (0..=65535).contains(p)) else {
        return prim_fail("socket: the port must be an Integer from 0 to 65535");
    };
    let addr = match (host.as_str(), port as u16).to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(a)) => a,
        _ => return prim_fail(format!("socket: unknown host {host}")),
    };
    let stream = match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(e) => return prim_fail(format!("socket: cannot connect to {host}:{port}: {e}")),
    };
    let _ = stream.set_nonblocking(true);
    let _ = stream.set_nodelay(true);
    let v = new_socket_object(interp, "Socket", Native::Stream(stream, StreamState::default()))?;
    interp.prim_return(argc, v)
}

/// Where to cut `bytes` so that the part before is whole UTF-8 characters (or invalid
/// bytes) and the part after is the incomplete start of one character (0 to 3 bytes).
pub fn utf8_split(bytes: &[u8]) -> usize {
    let n = bytes.len();
    // The last byte that is not a continuation byte (10xxxxxx), within a character's reach.
    for back in 1..=n.min(4) {
        let b = bytes[n - back];
        if b & 0xC0 == 0x80 {
            continue;
        }
        let width = match b {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if width > back { n - back } else { n };
    }
    n
}

fn read(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    interp.require_unfrozen("socket I/O")?;
    let me = interp.receiver(argc);
    let Some(max) = interp.arg(argc, 0).as_small().filter(|&n| n > 0) else {
        return prim_fail("socket: read: needs a positive byte count");
    };
    let timeout = timeout_arg(interp.arg(argc, 1));
    if interp.take_io_timeout() {
        let nil = interp.nil();
        return interp.prim_return(argc, nil);
    }
    let mut buf = vec![0u8; max.min(MAX_READ) as usize];
    loop {
        let (result, fd) = match native(interp, me)? {
            Native::Stream(s, state) => {
                let r = s.read(&mut buf);
                let fd = s.as_raw_fd();
                match r {
                    // End of stream: a pending partial character is invalid.
                    Ok(0) => (Ok(std::mem::take(&mut state.carry)), fd),
                    Ok(n) => {
                        let mut bytes = std::mem::take(&mut state.carry);
                        bytes.extend_from_slice(&buf[..n]);
                        let cut = utf8_split(&bytes);
                        state.carry = bytes.split_off(cut);
                        (Ok(bytes), fd)
                    }
                    Err(e) => (Err(e), fd),
                }
            }
            _ => return prim_fail("socket: the socket is closed"),
        };
        match result {
            // Only the start of a character arrived: wait for the rest rather than
            // answer '' (which means the peer closed).
            Ok(bytes) if bytes.is_empty() && has_carry(interp, me) => continue,
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let v = interp.space.new_string(&text);
                return interp.prim_return(argc, v);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                return interp.block_on_io(fd, false, timeout)
            }
            Err(e) => return prim_fail(format!("socket: read failed: {e}")),
        }
    }
}

/// `primReadBytes:timeout:`: like `primRead:timeout:`, but answers the bytes themselves,
/// one character per byte (U+0000 to U+00FF), so that a protocol can count and cut bytes
/// and decode UTF-8 itself (`String>>utf8Decoded`). Never used on a socket that is also
/// read with `primRead:timeout:` (a partial character carried between reads is not
/// handed over).
fn read_bytes(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let me = interp.receiver(argc);
    let Some(max) = interp.arg(argc, 0).as_small().filter(|&n| n > 0) else {
        return prim_fail("socket: readBytes: needs a positive byte count");
    };
    let timeout = timeout_arg(interp.arg(argc, 1));
    if interp.take_io_timeout() {
        let nil = interp.nil();
        return interp.prim_return(argc, nil);
    }
    let mut buf = vec![0u8; max.min(MAX_READ) as usize];
    loop {
        let (result, fd) = match native(interp, me)? {
            Native::Stream(s, _) => (s.read(&mut buf), s.as_raw_fd()),
            _ => return prim_fail("socket: the socket is closed"),
        };
        match result {
            Ok(n) => {
                let text: String = buf[..n].iter().map(|&b| b as char).collect();
                let v = interp.space.new_string(&text);
                return interp.prim_return(argc, v);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return interp.block_on_io(fd, false, timeout),
            Err(e) => return prim_fail(format!("socket: read failed: {e}")),
        }
    }
}

fn has_carry(interp: &mut Interp, me: Value) -> bool {
    matches!(native(interp, me), Ok(Native::Stream(_, state)) if !state.carry.is_empty())
}

fn write(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    write_within(interp, argc, None)
}

/// `primWrite:timeout:`: like `primWrite:`, but answers nil when the peer has not taken
/// everything within the timeout (part of the string may have been sent: close the socket).
fn write_timeout(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let timeout = timeout_arg(interp.arg(argc, 1));
    if interp.take_io_timeout() {
        let me = interp.receiver(argc);
        if let Native::Stream(_, state) = native(interp, me)? {
            state.written = 0;
        }
        let nil = interp.nil();
        return interp.prim_return(argc, nil);
    }
    write_within(interp, argc, timeout)
}

fn write_within(interp: &mut Interp, argc: usize, timeout: Option<Duration>) -> Result<(), VmError> {
    interp.require_unfrozen("socket I/O")?;
    let me = interp.receiver(argc);
    let text = text_arg(interp, interp.arg(argc, 0))?;
    let bytes = text.as_bytes();
    loop {
        let (result, fd) = match native(interp, me)? {
            Native::Stream(s, state) => {
                if state.written >= bytes.len() {
                    state.written = 0;
                    break;
                }
                let r = s.write(&bytes[state.written..]);
                if let Ok(n) = r {
                    state.written += n;
                }
                (r, s.as_raw_fd())
            }
            _ => return prim_fail("socket: the socket is closed"),
        };
        match result {
            Ok(0) => return prim_fail("socket: the peer stopped reading"),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return interp.block_on_io(fd, true, timeout),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                if let Native::Stream(_, state) = native(interp, me)? {
                    state.written = 0;
                }
                return prim_fail(format!("socket: write failed: {e}"));
            }
        }
    }
    interp.prim_return(argc, Value::small(bytes.len() as i64))
}

fn peer_name(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let me = interp.receiver(argc);
    let name = match native(interp, me)? {
        Native::Stream(s, _) => s.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "?".into()),
        _ => "closed".into(),
    };
    let v = interp.space.new_string(&name);
    interp.prim_return(argc, v)
}

/// ServerSocket primitives (`class_side` for the class side).
pub fn lookup_server(selector: &str, class_side: bool) -> Option<PrimFn> {
    Some(match (class_side, selector) {
        (true, "primListenOn:host:backlog:") => listen,
        (false, "primAccept:") => accept,
        (false, "port") => port,
        (false, "close") => close,
        (false, "isOpen") => is_open,
        _ => return None,
    })
}

/// Socket primitives (`class_side` for the class side).
pub fn lookup_socket(selector: &str, class_side: bool) -> Option<PrimFn> {
    Some(match (class_side, selector) {
        (true, "primConnectTo:port:") => connect,
        (false, "primRead:timeout:") => read,
        (false, "primReadBytes:timeout:") => read_bytes,
        (false, "primWrite:") => write,
        (false, "primWrite:timeout:") => write_timeout,
        (false, "close") => close,
        (false, "isOpen") => is_open,
        (false, "peerName") => peer_name,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::utf8_split;

    #[test]
    fn incomplete_characters_are_cut_off_the_end_only() {
        assert_eq!(utf8_split(b"abc"), 3);
        assert_eq!(utf8_split(b""), 0);
        assert_eq!(utf8_split(b"a\xC3"), 1);
        assert_eq!(utf8_split(b"a\xC3\xA9"), 3);
        assert_eq!(utf8_split(b"\xE2\x82"), 0);
        assert_eq!(utf8_split(b"x\xE2\x82\xAC"), 4);
        assert_eq!(utf8_split(b"\xF0\x9F\x98"), 0);
        assert_eq!(utf8_split(b"\xF0\x9F\x98\x80"), 4);
        // Invalid bytes are not held back (they decode as U+FFFD at once).
        assert_eq!(utf8_split(b"a\xFF"), 2);
        assert_eq!(utf8_split(b"\x80\x80\x80\x80\x80"), 5);
    }
}
