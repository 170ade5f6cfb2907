//! `espell control-bridge SOCKET`: relays one control connection over stdin/stdout, so that
//! `ssh host espell control-bridge /run/app.sock` or `kubectl exec -i POD -- espell
//! control-bridge ...` reaches a program's control socket. It listens on nothing; the
//! socket's owner-only rule applies to the bridge process at the far end.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Relays stdin to the socket (shutting its writing side at the end of stdin) and the
/// socket to stdout (flushing every chunk) until the socket's end.
pub fn relay(socket: &Path) -> Result<(), String> {
    let stream = UnixStream::connect(socket).map_err(|e| format!("cannot connect to {}: {e}", socket.display()))?;
    let mut to_socket = stream.try_clone().map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 8192];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to_socket.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to_socket.shutdown(std::net::Shutdown::Write);
    });
    let mut from_socket = stream;
    let mut stdout = std::io::stdout().lock();
    let mut buf = [0u8; 8192];
    loop {
        match from_socket.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => stdout
                .write_all(&buf[..n])
                .and_then(|()| stdout.flush())
                .map_err(|e| format!("writing to stdout: {e}"))?,
            Err(e) => return Err(format!("reading from {}: {e}", socket.display())),
        }
    }
}
