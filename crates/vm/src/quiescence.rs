//! Bringing a space to quiescence for an update: processes park at update points
//! (`Chester updatePoint`) or in safe waits (semaphores, sleeps, socket I/O); when no
//! process is left running, the update handler runs with every process stopped. A deadline
//! bounds the wait: past it the update is abandoned (naming the processes that never
//! arrived, with their stacks) or, when asked, the stragglers are paused at the safe point
//! they are at.
//!
//! Requests arrive from other threads through a `Waker`: it raises the space's attention
//! flag and writes to a pipe the scheduler polls while every process waits.

use crate::error::VmError;
use crate::interpreter::Interp;
use crate::scheduler::RunState;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the update handler is told.
pub enum UpdateEvent {
    /// An update was requested (`Waker::wake`): typically, start a quiescence wait.
    Requested,
    /// Every process is stopped: run the update now.
    Quiescent,
    /// The deadline passed with processes still running: abandon, with their descriptions.
    TimedOut(Vec<String>),
}

/// A quiescence wait in progress.
#[derive(Clone, Copy, Debug)]
pub struct Quiescence {
    /// When it began.
    pub started: Instant,
    /// When it gives up (or pauses the stragglers).
    pub deadline: Instant,
    /// Pause the stragglers at their next safe point instead of giving up.
    pub pause_stragglers: bool,
}

/// Wakes a space from another thread to deliver an update.
#[derive(Clone)]
pub struct Waker {
    requested: Arc<AtomicBool>,
    attention: Arc<AtomicBool>,
    pipe: Arc<OwnedFd>,
}

impl Waker {
    /// Asks the space to call its update handler soon (at a safe point, or right away if
    /// every process is waiting).
    pub fn wake(&self) {
        self.requested.store(true, Ordering::SeqCst);
        self.attention.store(true, Ordering::SeqCst);
        let byte = 1u8;
        // SAFETY: writing one byte from a valid buffer to our own non-blocking pipe.
        unsafe { libc::write(self.pipe.as_raw_fd(), &byte as *const u8 as *const libc::c_void, 1) };
    }
}

impl Interp {
    /// A waker for this space (creates the wake pipe on first use).
    pub fn waker(&mut self) -> Waker {
        if self.wake_pipe.is_none() {
            let mut fds = [0i32; 2];
            // SAFETY: pipe2 fills two descriptors we then own.
            let ok = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } == 0;
            assert!(ok, "cannot create the wake pipe");
            let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
            self.wake_pipe = Some((r, Arc::new(w)));
        }
        let (_, w) = self.wake_pipe.as_ref().expect("created above");
        Waker {
            requested: self.update_requested.clone(),
            attention: self.interrupt.clone(),
            pipe: w.clone(),
        }
    }

    /// The read end of the wake pipe, drained (for `poll`).
    pub(crate) fn wake_fd(&self) -> Option<i32> {
        let (r, _) = self.wake_pipe.as_ref()?;
        let fd = r.as_raw_fd();
        let mut buf = [0u8; 64];
        // SAFETY: reading into a valid buffer from our own non-blocking pipe.
        while unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) } > 0 {}
        Some(fd)
    }

    /// Starts waiting for quiescence (called by an update handler on `Requested`).
    pub fn begin_quiescence(&mut self, timeout: Duration, pause_stragglers: bool) {
        let now = Instant::now();
        self.ensure_main_process();
        self.quiescence = Some(Quiescence {
            started: now,
            deadline: now + timeout,
            pause_stragglers,
        });
        self.interrupt.store(true, Ordering::SeqCst);
    }

    /// Calls the update handler with `event`.
    pub(crate) fn call_update_handler(&mut self, event: UpdateEvent) {
        if let Some(mut handler) = self.interrupt_handler.take() {
            handler(self, event);
            if self.interrupt_handler.is_none() {
                self.interrupt_handler = Some(handler);
            }
        }
    }

    /// Handles a pending request and the state of a quiescence wait. `all_stopped` says
    /// whether no process is runnable (the scheduler found nothing to run).
    pub(crate) fn service_update(&mut self, all_stopped: bool) {
        if self.scheduler.frozen {
            // An update is running application code (state transfer): a new request
            // waits until it is over.
            return;
        }
        if self.update_requested.swap(false, Ordering::SeqCst) {
            self.call_update_handler(UpdateEvent::Requested);
        }
        let Some(q) = self.quiescence else { return };
        let runnable = self.any_runnable();
        if all_stopped || !runnable {
            self.finish_quiescence(UpdateEvent::Quiescent);
        } else if Instant::now() >= q.deadline {
            if q.pause_stragglers {
                // Every process is at a safe point (the running one is at this one).
                self.finish_quiescence(UpdateEvent::Quiescent);
            } else {
                let stragglers = self.straggler_report();
                self.finish_quiescence(UpdateEvent::TimedOut(stragglers));
            }
        }
    }

    fn finish_quiescence(&mut self, event: UpdateEvent) {
        self.quiescence = None;
        self.call_update_handler(event);
        let parked: Vec<usize> = self
            .scheduler
            .live_processes()
            .filter(|(_, p)| p.parked_for_update)
            .map(|(i, _)| i)
            .collect();
        for id in parked {
            self.scheduler.processes[id].parked_for_update = false;
            if self.scheduler.processes[id].state == RunState::Waiting {
                self.make_runnable(id);
            }
        }
    }

    /// The processes still running, each with its stack.
    pub fn straggler_report(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (id, p) in self.scheduler.live_processes() {
            if p.state != RunState::Runnable {
                continue;
            }
            let frames = self.frames_of(id);
            let mut text = format!("process {id} (priority {}) never reached an update point:", p.priority);
            for f in frames.iter().rev().take(12) {
                text.push_str("\n        ");
                text.push_str(&self.describe_frame(f, id));
            }
            out.push(text);
        }
        out
    }

    /// `Chester updatePoint`: nothing unless an update waits for quiescence; then the
    /// process parks here until the update is over.
    pub(crate) fn update_point(&mut self) -> Result<(), VmError> {
        if self.quiescence.is_none() {
            return Ok(());
        }
        let active = self.scheduler.active;
        self.scheduler.processes[active].parked_for_update = true;
        self.block_active(RunState::Waiting)
    }
}
