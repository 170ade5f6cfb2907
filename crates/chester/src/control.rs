//! The control socket: a Unix-domain socket, mode 0600, that accepts only peers of the same
//! user, reads one bounded request per connection (with a timeout), hands it to the VM and
//! writes the answer back. Runs on its own thread; the VM is woken through its `Waker`.

use crate::protocol::{Request, MAX_MESSAGE};
use espell_vm::quiescence::Waker;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request may wait for the VM's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// A request with the channel its answer goes back on.
pub type Delivery = (Request, Sender<String>);

/// The uid of the process at the other end of `stream` (SO_PEERCRED).
pub fn peer_uid(stream: &UnixStream) -> Option<u32> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len are valid for getsockopt to fill.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            &mut cred as *mut libc::ucred as *mut libc::c_void,
            &mut len,
        )
    };
    (rc == 0).then_some(cred.uid)
}

/// What a connection asks for.
enum Incoming {
    /// A one-shot request (the client has shut its writing side).
    Request(Request),
    /// Phase 1 of a fleet update: (revert?, timeout ms, file, script); the connection
    /// stays open.
    Prepare(bool, u64, String, String),
}

/// Reads one request: at most `MAX_MESSAGE` bytes (one more means "too large"). A one-shot
/// request ends where the client shuts its writing side; a prepare request's header says
/// how long its script is (the client keeps the connection open for the decision).
fn read_request(stream: &mut UnixStream) -> Result<Incoming, String> {
    stream.set_read_timeout(Some(READ_TIMEOUT)).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut prepare: Option<(usize, bool, u64, usize, String)> = None;
    let mut header_seen = false;
    loop {
        if let Some((start, _, _, len, _)) = &prepare {
            if bytes.len() >= start + len {
                break;
            }
        }
        if bytes.len() > MAX_MESSAGE {
            break;
        }
        let n = stream
            .read(&mut chunk)
            .map_err(|e| format!("reading the request: {e}"))?;
        if n == 0 {
            break;
        }
        let before = bytes.len();
        bytes.extend_from_slice(&chunk[..n]);
        if !header_seen {
            let scan_from = before.saturating_sub(1);
            if let Some(nl) = bytes[scan_from..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|p| p + scan_from)
            {
                header_seen = true;
                let header = String::from_utf8_lossy(&bytes[..nl]).into_owned();
                let prefix = format!("{} {}", crate::protocol::TAG, crate::protocol::PREPARE);
                if header.starts_with(&prefix) {
                    let (revert, timeout, len, file) = crate::protocol::Prepared::parse_header(&header)?;
                    prepare = Some((nl + 1, revert, timeout, len, file));
                }
            }
        }
    }
    match prepare {
        Some((start, revert, timeout, len, file)) => {
            if bytes.len() < start + len {
                return Err("the prepare request ends before its script".into());
            }
            let script = String::from_utf8(bytes[start..start + len].to_vec())
                .map_err(|_| "the script is not UTF-8 text".to_string())?;
            Ok(Incoming::Prepare(revert, timeout, file, script))
        }
        None => Request::decode(&bytes).map(Incoming::Request),
    }
}

/// Counts the answers not yet written, so that a program that ends right after answering
/// an update (e.g. one the update broke) still delivers the answer.
#[derive(Clone, Default)]
pub struct Pending(Arc<AtomicUsize>);

impl Pending {
    /// Waits (at most `limit`) until every accepted request has been answered.
    pub fn wait(&self, limit: Duration) {
        let start = Instant::now();
        while self.0.load(Ordering::SeqCst) > 0 && start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn serve(mut stream: UnixStream, deliveries: &Sender<Delivery>, waker: &Waker, pending: &Pending) {
    pending.0.fetch_add(1, Ordering::SeqCst);
    answer(&mut stream, deliveries, waker);
    pending.0.fetch_sub(1, Ordering::SeqCst);
}

fn answer(stream: &mut UnixStream, deliveries: &Sender<Delivery>, waker: &Waker) {
    // SAFETY: getuid has no preconditions.
    let me = unsafe { libc::getuid() };
    let answer = match peer_uid(stream) {
        Some(uid) if uid == me => match read_request(stream) {
            Ok(Incoming::Prepare(revert, timeout, file, script)) => {
                let params = crate::two_phase::Params {
                    revert,
                    timeout_ms: timeout,
                    file,
                };
                return crate::two_phase::serve_prepare(stream, params, script, deliveries, waker);
            }
            Ok(Incoming::Request(request)) => {
                let (tx, rx) = channel();
                if deliveries.send((request, tx)).is_err() {
                    "error: the application has ended".to_string()
                } else {
                    waker.wake();
                    rx.recv_timeout(ANSWER_TIMEOUT)
                        .unwrap_or_else(|_| "error: no answer from the application".into())
                }
            }
            Err(e) => format!("error: {e}"),
        },
        Some(uid) => format!("error: permission denied (uid {uid} is not the owner)"),
        None => "error: cannot check the peer's credentials".to_string(),
    };
    let _ = stream.set_write_timeout(Some(READ_TIMEOUT));
    let _ = stream.write_all(answer.as_bytes());
}

/// Listens on `path` (replacing a stale socket) and serves requests on a thread. Answers
/// the receiving end of the deliveries and the count of answers still to be written.
pub fn start(path: &Path, waker: Waker) -> std::io::Result<(Receiver<Delivery>, Pending)> {
    if path.exists() {
        // A socket left by a dead process; anything else is refused.
        let meta = std::fs::symlink_metadata(path)?;
        if !std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
        // A live program answers on it: never take its socket away.
        if UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("{} is the control socket of a running program", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    // Bind and restrict a temporary name, then link it: the socket appears at `path` only
    // once it listens with mode 0600 (a client waiting for the file never finds a socket
    // that refuses connections or one open to others).
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp_name);
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp)?;
    // A hard link (not a rename) fails if another program put its socket there meanwhile.
    let placed = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::hard_link(&tmp, path))
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    format!("{} is the control socket of a running program", path.display()),
                )
            } else {
                e
            }
        });
    let _ = std::fs::remove_file(&tmp);
    placed?;
    let (tx, rx) = channel();
    let owned: PathBuf = path.to_path_buf();
    let pending = Pending::default();
    let counted = pending.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            // One thread per connection: a prepared fleet update holds its connection
            // open while other requests (say, --state) are answered.
            match stream {
                Ok(s) => {
                    let (tx, waker, counted) = (tx.clone(), waker.clone(), counted.clone());
                    std::thread::spawn(move || serve(s, &tx, &waker, &counted));
                }
                Err(_) => continue,
            }
        }
        let _ = std::fs::remove_file(owned);
    });
    Ok((rx, pending))
}

/// A default socket path for this process.
pub fn default_path() -> PathBuf {
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    dir.join(format!("espell-{}.sock", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_credentials_name_our_own_uid() {
        let (a, b) = UnixStream::pair().unwrap();
        // SAFETY: getuid has no preconditions.
        let me = unsafe { libc::getuid() };
        assert_eq!(peer_uid(&a), Some(me));
        assert_eq!(peer_uid(&b), Some(me));
    }

    #[test]
    fn the_socket_is_owner_only_and_a_stale_one_is_replaced() {
        let dir = std::env::temp_dir().join(format!("espell-control-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.sock");
        drop(UnixListener::bind(&path).unwrap()); // a stale socket file
        let mut interp = espell_vm::Interp::new(espell_vm::Loader::new(vec![], None)).unwrap();
        let _rx = start(&path, interp.waker()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::write(dir.join("plain"), "x").unwrap();
        assert!(
            start(&dir.join("plain"), interp.waker()).is_err(),
            "a non-socket file is never removed"
        );
    }
}
