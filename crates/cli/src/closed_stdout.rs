//! Output to a closed pipe (`espell patch --history | head -1`) ends the command quietly,
//! as it ends any Unix tool: exit status 141 (128 + SIGPIPE, what the shell reports for a
//! tool the signal ended), no message (ADR 0021).
//!
//! Rust ignores SIGPIPE, so a write to a closed pipe fails with EPIPE and `print!` panics.
//! We keep SIGPIPE ignored — the coordinator writes to relay pipes and control sockets,
//! and an application serving its control socket writes answers to clients that may have
//! gone; none of them may be killed by a signal — and instead end the process when that
//! panic is the one `print!`/`println!` raise for stdout's EPIPE. One hook covers every
//! subcommand, present and future; every other panic is reported as before.

/// The exit status of a command whose stdout was closed (128 + SIGPIPE).
pub const CLOSED_STDOUT_STATUS: i32 = 128 + 13;

/// Installs the hook (first thing in `main`).
pub fn install() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if is_closed_stdout(info.payload()) {
            std::process::exit(CLOSED_STDOUT_STATUS);
        }
        previous(info);
    }));
}

/// Whether a panic's payload is `print!`'s "failed printing to stdout: Broken pipe".
fn is_closed_stdout(payload: &(dyn std::any::Any + Send)) -> bool {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    let epipe = std::io::Error::from_raw_os_error(libc::EPIPE).to_string();
    text.starts_with("failed printing to stdout") && text.ends_with(&epipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stdouts_broken_pipe_is_recognized() {
        let msg = format!(
            "failed printing to stdout: {}",
            std::io::Error::from_raw_os_error(libc::EPIPE)
        );
        assert!(is_closed_stdout(&msg));
        assert!(!is_closed_stdout(
            &"failed printing to stdout: No space left on device (os error 28)".to_string()
        ));
        assert!(!is_closed_stdout(&"index out of bounds".to_string()));
        assert!(!is_closed_stdout(
            &"failed printing to stderr: Broken pipe (os error 32)"
        ));
    }
}
