//! TCP socket primitives (ServerSocket, Socket). Sockets are non-blocking; an operation
//! that would block parks only the calling Smalltalk process (`Interp::block_on_io`) and
//! is retried when the socket is ready. Failures fail with a `socket:` message, which the
//! VM signals as `SocketError`.

use crate::error::{prim_fail, VmError};
use crate::interpreter::{Interp, PrimFn};
use crate::object::{Body, Native};
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
            let v = new_socket_object(interp, "Socket", Native::Stream(stream, 0))?;
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
    let v = new_socket_object(interp, "Socket", Native::Stream(stream, 0))?;
    interp.prim_return(argc, v)
}

fn read(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
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
    let result = match native(interp, me)? {
        Native::Stream(s, _) => s.read(&mut buf).map_err(|e| (e, s.as_raw_fd())),
        _ => return prim_fail("socket: the socket is closed"),
    };
    match result {
        Ok(n) => {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let v = interp.space.new_string(&text);
            interp.prim_return(argc, v)
        }
        Err((e, fd)) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
            interp.block_on_io(fd, false, timeout)
        }
        Err((e, _)) => prim_fail(format!("socket: read failed: {e}")),
    }
}

fn write(interp: &mut Interp, argc: usize) -> Result<(), VmError> {
    let me = interp.receiver(argc);
    let text = text_arg(interp, interp.arg(argc, 0))?;
    let bytes = text.as_bytes();
    loop {
        let (result, fd) = match native(interp, me)? {
            Native::Stream(s, done) => {
                if *done >= bytes.len() {
                    *done = 0;
                    break;
                }
                let r = s.write(&bytes[*done..]);
                if let Ok(n) = r {
                    *done += n;
                }
                (r, s.as_raw_fd())
            }
            _ => return prim_fail("socket: the socket is closed"),
        };
        match result {
            Ok(0) => return prim_fail("socket: the peer stopped reading"),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return interp.block_on_io(fd, true, None),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                if let Native::Stream(_, done) = native(interp, me)? {
                    *done = 0;
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
        (false, "primWrite:") => write,
        (false, "close") => close,
        (false, "isOpen") => is_open,
        (false, "peerName") => peer_name,
        _ => return None,
    })
}
