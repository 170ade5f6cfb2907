//! Where a control connection goes: a local socket path, `ssh://[user@]host[:port]/path.sock`
//! (runs `ssh [-p PORT] [user@]host espell control-bridge /path.sock`) or `exec:COMMAND`
//! (runs `sh -c COMMAND`; any command that relays one connection over its stdin and
//! stdout). We never listen on the network: reaching other machines, and authenticating,
//! is the job of the tools that already do it (ADR 0018).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

/// A control connection's target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A control socket on this machine.
    Socket(PathBuf),
    /// A control socket on another machine, reached with ssh.
    Ssh {
        /// `[user@]host`.
        destination: String,
        /// The ssh port, if given.
        port: Option<u16>,
        /// The socket's path there.
        path: String,
    },
    /// A command that relays one connection over stdin/stdout (run with `sh -c`).
    Exec(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Socket(p) => write!(f, "{}", p.display()),
            Target::Ssh {
                destination,
                port,
                path,
            } => match port {
                Some(p) => write!(f, "ssh://{destination}:{p}{path}"),
                None => write!(f, "ssh://{destination}{path}"),
            },
            Target::Exec(c) => write!(f, "exec:{c}"),
        }
    }
}

impl Target {
    /// Parses a target as written on the command line or in a fleet file.
    pub fn parse(text: &str) -> Result<Target, String> {
        let text = text.trim();
        if let Some(command) = text.strip_prefix("exec:") {
            if command.trim().is_empty() {
                return Err(
                    "exec: needs a command (e.g. exec:kubectl exec -i POD -- espell control-bridge /run/app.sock)"
                        .into(),
                );
            }
            return Ok(Target::Exec(command.trim().to_string()));
        }
        if let Some(rest) = text.strip_prefix("ssh://") {
            let (authority, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => return Err(format!("{text}: expected ssh://[user@]host/path/to/app.sock")),
            };
            if path.len() < 2 {
                return Err(format!("{text}: the socket path is missing"));
            }
            let (host_part, port) = match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h,
                    Some(p.parse::<u16>().map_err(|_| format!("{text}: bad ssh port {p:?}"))?),
                ),
                None => (authority, None),
            };
            let host = host_part.rsplit('@').next().unwrap_or("");
            if host.is_empty() || host_part.starts_with('-') || host_part.chars().any(char::is_whitespace) {
                return Err(format!("{text}: expected ssh://[user@]host/path/to/app.sock"));
            }
            return Ok(Target::Ssh {
                destination: host_part.to_string(),
                port,
                path: path.to_string(),
            });
        }
        if text.is_empty() {
            return Err("empty target".into());
        }
        Ok(Target::Socket(PathBuf::from(text)))
    }

    /// The command line that reaches the target (none for a local socket).
    pub fn command(&self) -> Option<Vec<String>> {
        match self {
            Target::Socket(_) => None,
            Target::Ssh {
                destination,
                port,
                path,
            } => {
                let mut argv = vec!["ssh".to_string()];
                if let Some(p) = port {
                    argv.extend(["-p".to_string(), p.to_string()]);
                }
                // `--` ends ssh's options; the remote command is one word per argument
                // (ssh joins them with spaces for the remote shell: quote the path).
                argv.extend([
                    "--".to_string(),
                    destination.clone(),
                    "espell".to_string(),
                    "control-bridge".to_string(),
                    shell_quote(path),
                ]);
                Some(argv)
            }
            Target::Exec(command) => Some(vec!["sh".into(), "-c".into(), command.clone()]),
        }
    }

    /// Opens a connection.
    pub fn connect(&self, read_timeout: Duration) -> std::io::Result<Connection> {
        match self.command() {
            None => {
                let Target::Socket(path) = self else {
                    unreachable!("only sockets have no command")
                };
                let stream = UnixStream::connect(path)?;
                stream.set_read_timeout(Some(read_timeout))?;
                stream.set_write_timeout(Some(Duration::from_secs(10)))?;
                Ok(Connection::Socket(stream))
            }
            Some(argv) => {
                let mut child = Command::new(&argv[0])
                    .args(&argv[1..])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| std::io::Error::new(e.kind(), format!("cannot run {}: {e}", argv[0])))?;
                let stdin = child.stdin.take();
                let stdout = child.stdout.take().expect("piped");
                // Collect what the relay says on stderr (why it could not connect).
                let mut stderr = child.stderr.take().expect("piped");
                let errors = std::thread::spawn(move || {
                    let mut text = String::new();
                    let _ = stderr.read_to_string(&mut text);
                    text
                });
                Ok(Connection::Relay {
                    child,
                    stdin,
                    stdout,
                    errors: Some(errors),
                })
            }
        }
    }
}

/// Quotes `s` for a POSIX shell (ssh hands the remote command to one).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// One open control connection.
pub enum Connection {
    /// A local socket.
    Socket(UnixStream),
    /// A relay process (ssh, or an exec: command).
    Relay {
        /// The process.
        child: Child,
        /// Its stdin (None once shut).
        stdin: Option<ChildStdin>,
        /// Its stdout.
        stdout: ChildStdout,
        /// The thread collecting its stderr.
        errors: Option<std::thread::JoinHandle<String>>,
    },
}

impl Connection {
    /// Writes all of `bytes`.
    pub fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Connection::Socket(s) => s.write_all(bytes),
            Connection::Relay { stdin, .. } => match stdin {
                Some(w) => w.write_all(bytes).and_then(|()| w.flush()),
                None => Err(std::io::ErrorKind::BrokenPipe.into()),
            },
        }
    }

    /// Shuts the writing side (the request is complete).
    pub fn shutdown_write(&mut self) {
        match self {
            Connection::Socket(s) => {
                let _ = s.shutdown(std::net::Shutdown::Write);
            }
            Connection::Relay { stdin, .. } => drop(stdin.take()),
        }
    }

    /// Reads up to `buf.len()` bytes.
    pub fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Connection::Socket(s) => s.read(buf),
            Connection::Relay { stdout, .. } => stdout.read(buf),
        }
    }

    /// Reads everything up to the end of the connection.
    pub fn read_to_end(&mut self) -> std::io::Result<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match self.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if out.is_empty() => return Err(e),
                Err(_) => break,
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Reads one line (without its newline); None at the end of the connection.
    pub fn read_line(&mut self) -> std::io::Result<Option<String>> {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        loop {
            match self.read(&mut b)? {
                0 if line.is_empty() => return Ok(None),
                0 => break,
                _ if b[0] == b'\n' => break,
                _ => line.push(b[0]),
            }
            if line.len() > 4096 {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "line too long"));
            }
        }
        Ok(Some(String::from_utf8_lossy(&line).into_owned()))
    }

    /// Reads exactly `n` bytes.
    pub fn read_exact(&mut self, n: usize) -> std::io::Result<String> {
        let mut out = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match self.read(&mut out[got..])? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                k => got += k,
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Closes the connection; for a relay, waits for it and answers what it said on stderr.
    pub fn close(self) -> String {
        match self {
            Connection::Socket(_) => String::new(),
            Connection::Relay {
                mut child,
                stdin,
                stdout,
                errors,
            } => {
                drop(stdin);
                drop(stdout);
                // The relay ends when its connection ends; do not wait forever for one
                // that does not.
                for _ in 0..200 {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                if let Ok(None) = child.try_wait() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                errors.and_then(|h| h.join().ok()).unwrap_or_default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(t: &str) -> Vec<String> {
        Target::parse(t).unwrap().command().unwrap()
    }

    #[test]
    fn ssh_targets_become_an_ssh_command_line() {
        assert_eq!(
            argv("ssh://deploy@web1.example.com/run/app.sock"),
            [
                "ssh",
                "--",
                "deploy@web1.example.com",
                "espell",
                "control-bridge",
                "/run/app.sock"
            ]
        );
        assert_eq!(
            argv("ssh://web2:2222/srv/my app/app.sock"),
            [
                "ssh",
                "-p",
                "2222",
                "--",
                "web2",
                "espell",
                "control-bridge",
                "'/srv/my app/app.sock'"
            ]
        );
        assert_eq!(
            Target::parse("ssh://u@h/p.sock").unwrap().to_string(),
            "ssh://u@h/p.sock"
        );
        for bad in [
            "ssh://",
            "ssh://host",
            "ssh://host/",
            "ssh://-oProxyCommand=x/p",
            "ssh://h:xx/p",
            "ssh://@/p",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exec_and_socket_targets() {
        assert_eq!(
            argv("exec:kubectl exec -i pod-1 -- espell control-bridge /run/app.sock"),
            [
                "sh",
                "-c",
                "kubectl exec -i pod-1 -- espell control-bridge /run/app.sock"
            ]
        );
        assert!(Target::parse("exec:  ").is_err());
        assert_eq!(
            Target::parse("/tmp/a.sock").unwrap(),
            Target::Socket(PathBuf::from("/tmp/a.sock"))
        );
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
