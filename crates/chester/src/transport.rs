//! Where a control connection goes: a local socket path, `ssh://[user@]host[:port]/path.sock`
//! (runs `ssh [-p PORT] [user@]host espell control-bridge /path.sock`) or `exec:COMMAND`
//! (runs `sh -c COMMAND`; any command that relays one connection over its stdin and
//! stdout). We never listen on the network: reaching other machines, and authenticating,
//! is the job of the tools that already do it (ADR 0018).

pub use crate::connection::Connection;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
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

    /// Opens a connection whose reads wait at most `timeout` in all (see `Connection`).
    pub fn connect(&self, timeout: Duration) -> std::io::Result<Connection> {
        match self.command() {
            None => {
                let Target::Socket(path) = self else {
                    unreachable!("only sockets have no command")
                };
                let stream = UnixStream::connect(path)?;
                Connection::socket(self.to_string(), stream, timeout)
            }
            Some(argv) => {
                let child = Command::new(&argv[0])
                    .args(&argv[1..])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| std::io::Error::new(e.kind(), format!("cannot run {}: {e}", argv[0])))?;
                Ok(Connection::relay(self.to_string(), child, timeout))
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
