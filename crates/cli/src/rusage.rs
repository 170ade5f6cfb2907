//! Waiting for a child process while reading its peak resident set size (`wait4`).

use std::process::{Child, Output};

/// Waits for `child`, collecting its output, and answers its peak RSS in KiB (Linux).
pub fn wait_with_peak_rss(child: Child) -> (std::io::Result<Output>, Option<u64>) {
    let pid = child.id() as libc::pid_t;
    // Read the pipes on threads so the child never blocks on a full pipe.
    let mut child = child;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let read = |pipe: Option<std::process::ChildStdout>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = std::io::Read::read_to_end(&mut p, &mut buf);
            }
            buf
        })
    };
    let out_thread = read(stdout);
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = stderr {
            let _ = std::io::Read::read_to_end(&mut p, &mut buf);
        }
        buf
    });
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let stdout = out_thread.join().unwrap_or_default();
    let stderr = err_thread.join().unwrap_or_default();
    if waited != pid {
        return (Err(std::io::Error::last_os_error()), None);
    }
    let status = std::os::unix::process::ExitStatusExt::from_raw(status);
    (
        Ok(Output { status, stdout, stderr }),
        Some(usage.ru_maxrss.max(0) as u64),
    )
}
