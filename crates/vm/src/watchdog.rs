//! A watchdog: one thread per interpreter that, once armed with a deadline, raises the
//! interpreter's interrupt flag when the deadline passes, so that the next safe point
//! can stop what runs too long (an update script that loops while the application waits).
//! Arming and disarming are a channel send: no thread is started per use.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Instant;

/// The handle of a watchdog thread (it ends when the handle is dropped).
pub struct Watchdog {
    arm: Sender<Option<Instant>>,
}

impl Watchdog {
    /// Starts a watchdog that raises `interrupt` when an armed deadline passes.
    pub fn new(interrupt: Arc<AtomicBool>) -> Watchdog {
        let (arm, rx) = channel::<Option<Instant>>();
        std::thread::spawn(move || {
            let mut deadline: Option<Instant> = None;
            loop {
                let message = match deadline {
                    None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                    Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
                };
                match message {
                    Ok(next) => deadline = next,
                    Err(RecvTimeoutError::Timeout) => {
                        interrupt.store(true, Ordering::SeqCst);
                        deadline = None;
                    }
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        });
        Watchdog { arm }
    }

    /// Raises the interrupt flag at `deadline` (replacing any earlier deadline).
    pub fn arm(&self, deadline: Instant) {
        let _ = self.arm.send(Some(deadline));
    }

    /// Cancels the deadline.
    pub fn disarm(&self) {
        let _ = self.arm.send(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn raises_the_flag_only_when_armed_and_not_disarmed() {
        let flag = Arc::new(AtomicBool::new(false));
        let w = Watchdog::new(flag.clone());
        w.arm(Instant::now() + Duration::from_secs(3600));
        w.disarm();
        std::thread::sleep(Duration::from_millis(20));
        assert!(!flag.load(Ordering::SeqCst));
        w.arm(Instant::now() + Duration::from_millis(5));
        let t = Instant::now();
        while !flag.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(flag.load(Ordering::SeqCst));
    }
}
