//! Green threads: Smalltalk processes with priorities, semaphores and sleeping, scheduled
//! by the interpreter of their space.
//!
//! The active process's stacks live in `Interp::stack`/`Interp::frames`; the others' are
//! parked in their `ProcessState`. Switching swaps the vectors (no copying). A process
//! waits on a semaphore or sleeps until a deadline; the scheduler picks the runnable
//! process of highest priority, round-robin within a priority. Preemption happens at safe
//! points (sends and back-jumps) when the ticker asks for attention.

use crate::error::VmError;
use crate::interpreter::{Frame, Interp};
use crate::space::Special;
use crate::value::{Value, WordMap};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Highest process priority (Pharo's range is 1..100 too).
pub const MAX_PRIORITY: i64 = 100;
/// Priority of the main process and of new processes by default.
pub const USER_PRIORITY: i64 = 40;
/// How often the ticker asks a busy process to let others of its priority run.
const TIME_SLICE: Duration = Duration::from_millis(10);

/// What a process is doing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RunState {
    /// Ready to run (or running, for the active process).
    Runnable,
    /// Stopped by `suspend` (or created and not yet resumed).
    Suspended,
    /// Waiting on a semaphore, possibly with a deadline.
    Waiting,
    /// Sleeping until its deadline.
    Sleeping,
    /// Ended.
    Terminated,
}

/// One Smalltalk process.
pub struct ProcessState {
    /// The Smalltalk `Process` object.
    pub object: Value,
    /// Its operand stack (empty while it is the active process).
    pub stack: Vec<Value>,
    /// Its frames (empty while it is the active process).
    pub frames: Vec<Frame>,
    /// What a process that has not run yet starts with: a block to evaluate, or (with
    /// `start_selector`) a receiver to send that selector to.
    pub start: Option<Value>,
    /// See `start`.
    pub start_selector: Option<Value>,
    /// Scheduling priority (higher runs first).
    pub priority: i64,
    /// What it is doing.
    pub state: RunState,
    /// The semaphore it waits on.
    pub waiting_on: Option<Value>,
    /// When a sleep or a timed wait ends.
    pub deadline: Option<Instant>,
    /// The file descriptor and direction (true: writing) it waits on.
    pub io_wait: Option<(i32, bool)>,
    /// Set when an I/O wait ended by its deadline (the retried primitive answers nil).
    pub io_timed_out: bool,
    /// Parked at an update point until the pending update is over.
    pub parked_for_update: bool,
    /// Listed in `Scheduler::timed`.
    pub in_timed: bool,
    /// The priority of the ready queue it is listed in (`Scheduler::enqueue`), if any.
    pub queued_at: Option<i64>,
    /// Listed in `Scheduler::io_waiting`.
    pub in_io_list: bool,
}

/// The processes of one space.
#[derive(Default)]
pub struct Scheduler {
    /// Every process by id (index); terminated ones stay as tombstones (their stacks
    /// dropped) so that ids stay stable.
    pub processes: Vec<ProcessState>,
    /// Ids of the processes not terminated, ascending, plus at most as many terminated
    /// ones not yet swept out: every scan at a switch goes over these only, so ended
    /// processes cost (amortized) nothing.
    pub live: Vec<usize>,
    /// Terminated processes still in `live`.
    pub dead_in_live: usize,
    /// Ids of processes given a deadline (`set_deadline`), possibly stale: timers are
    /// checked over these only.
    pub timed: Vec<usize>,
    /// Ready queues by priority: ids of runnable processes in the order they became
    /// ready. Entries can be stale (the process blocked, ended, changed priority or is the
    /// active one); `best_ready` drops those, so a switch costs O(1), however many
    /// processes wait.
    ready: Vec<VecDeque<usize>>,
    /// Ids of processes that waited on a socket (`wait_on_io`), possibly stale.
    io_waiting: Vec<usize>,
    /// Ended processes whose Process object may still be referenced: once the collector
    /// frees the object, the id is reused (`free_ids`), so a server that starts a process
    /// per connection keeps a bounded process table.
    ended: Vec<usize>,
    /// Ids free for new processes.
    free_ids: Vec<usize>,
    /// The running process's id.
    pub active: usize,
    /// Processes waiting on each semaphore, in arrival order.
    pub waiters: WordMap<Value, VecDeque<usize>>,
    /// Whether a ticker thread drives time slices and timers.
    pub ticking: bool,
    /// Set while an update runs application code in the paused space (state transfer,
    /// `mop::transfer`): no process may switch, block, start or end, and no socket or
    /// reflective primitive may run (`Interp::require_unfrozen`).
    pub frozen: bool,
    /// While frozen: the active process's frame count when the application code started;
    /// its own frames (at or above this depth) may still be changed by the exception
    /// machinery (`context::require_own_frame`).
    pub frozen_depth: usize,
}

impl Scheduler {
    /// Takes process `id` off the queue of the semaphore it waits on, if any.
    pub fn leave_semaphore(&mut self, id: usize) {
        if let Some(sem) = self.processes[id].waiting_on.take() {
            if let Some(q) = self.waiters.get_mut(&sem) {
                q.retain(|&w| w != id);
            }
        }
    }

    /// Lists process `id` as ready to run, at the back of its priority's queue (once).
    pub fn enqueue(&mut self, id: usize) {
        let p = &mut self.processes[id];
        let priority = p.priority;
        if p.queued_at == Some(priority) {
            return;
        }
        p.queued_at = Some(priority);
        let k = priority.clamp(0, MAX_PRIORITY) as usize;
        if self.ready.len() <= k {
            self.ready.resize_with(k + 1, VecDeque::new);
        }
        self.ready[k].push_back(id);
    }

    /// The ready process to run next instead of the active one: highest priority, then
    /// the one that has been ready longest. Stale entries met on the way are dropped.
    fn best_ready(&mut self) -> Option<usize> {
        for k in (0..self.ready.len()).rev() {
            while let Some(&id) = self.ready[k].front() {
                let p = &self.processes[id];
                let listed = p.queued_at == Some(k as i64);
                if listed && p.state == RunState::Runnable && id != self.active {
                    return Some(id);
                }
                self.ready[k].pop_front();
                if listed {
                    self.processes[id].queued_at = None;
                }
            }
        }
        None
    }

    /// Takes `id`, which `best_ready` just answered, off its queue.
    fn dequeue_front(&mut self, id: usize) {
        if let Some(priority) = self.processes[id].queued_at.take() {
            let k = priority.clamp(0, MAX_PRIORITY) as usize;
            debug_assert_eq!(self.ready[k].front(), Some(&id));
            self.ready[k].pop_front();
        }
    }

    /// True if some process other than the active one is ready to run.
    pub fn any_ready(&mut self) -> bool {
        self.best_ready().is_some()
    }

    /// Notes that process `id` waits on a socket.
    fn note_io_wait(&mut self, id: usize) {
        let p = &mut self.processes[id];
        if p.io_wait.is_some() && !p.in_io_list {
            p.in_io_list = true;
            self.io_waiting.push(id);
        }
    }

    /// The processes waiting on a socket: (id, fd, writing); forgets those that no
    /// longer wait.
    fn io_waits(&mut self) -> Vec<(usize, i32, bool)> {
        self.prune_io_waiting();
        self.io_waiting
            .iter()
            .filter_map(|&i| self.processes[i].io_wait.map(|(fd, write)| (i, fd, write)))
            .collect()
    }

    /// True if some process waits on a socket.
    pub fn has_io_waiters(&mut self) -> bool {
        self.prune_io_waiting();
        !self.io_waiting.is_empty()
    }

    /// Forgets the listed processes that no longer wait on a socket.
    fn prune_io_waiting(&mut self) {
        let processes = &mut self.processes;
        self.io_waiting.retain(|&i| {
            let keep = processes[i].io_wait.is_some();
            processes[i].in_io_list = keep;
            keep
        });
    }

    /// The processes not terminated, with their ids.
    pub fn live_processes(&self) -> impl Iterator<Item = (usize, &ProcessState)> + '_ {
        self.live
            .iter()
            .map(|&i| (i, &self.processes[i]))
            .filter(|(_, p)| p.state != RunState::Terminated)
    }

    /// Gives process `id` a deadline (or none); the timer scan looks only at processes
    /// that were given one.
    pub fn set_deadline(&mut self, id: usize, deadline: Option<Instant>) {
        let p = &mut self.processes[id];
        if deadline.is_some() && !p.in_timed {
            p.in_timed = true;
            self.timed.push(id);
        }
        p.deadline = deadline;
    }

    /// The processes with a deadline, with it; forgets those that no longer have one.
    fn deadlines(&mut self) -> impl Iterator<Item = (usize, Instant)> + '_ {
        let processes = &mut self.processes;
        self.timed.retain(|&i| {
            let keep = processes[i].deadline.is_some();
            processes[i].in_timed = keep;
            keep
        });
        let processes = &self.processes;
        self.timed
            .iter()
            .map(|&i| (i, processes[i].deadline.expect("kept above")))
    }

    /// Records that process `id` (new, or brought back by a rollback) is not terminated.
    pub fn add_live(&mut self, id: usize) {
        match self.live.binary_search(&id) {
            Err(at) => self.live.insert(at, id),
            // Still listed from before it ended (not swept yet): it no longer counts as dead.
            Ok(_) => self.dead_in_live = self.dead_in_live.saturating_sub(1),
        }
    }

    /// Notes that process `id` terminated; sweeps the live list once half of it is dead.
    pub fn remove_live(&mut self, id: usize) {
        debug_assert_eq!(self.processes[id].state, RunState::Terminated);
        self.dead_in_live += 1;
        if self.dead_in_live > 16 && self.dead_in_live * 2 > self.live.len() {
            let processes = &self.processes;
            self.live.retain(|&i| processes[i].state != RunState::Terminated);
            self.dead_in_live = 0;
        }
    }
}

impl Interp {
    /// Makes the interpreter's current stacks the main process (id 0), if not done yet.
    pub fn ensure_main_process(&mut self) {
        if !self.scheduler.processes.is_empty() {
            return;
        }
        let object = self.new_process_object(USER_PRIORITY, 0);
        self.scheduler.processes.push(ProcessState {
            object,
            stack: Vec::new(),
            frames: Vec::new(),
            start: None,
            start_selector: None,
            priority: USER_PRIORITY,
            state: RunState::Runnable,
            waiting_on: None,
            deadline: None,
            io_wait: None,
            io_timed_out: false,
            parked_for_update: false,
            in_timed: false,
            queued_at: None,
            in_io_list: false,
        });
        self.scheduler.add_live(0);
        self.scheduler.active = 0;
    }

    fn new_process_object(&mut self, priority: i64, id: usize) -> Value {
        let class = self.space.special(Special::ProcessClass);
        let n = if self.space.is_class(class) {
            self.space.class_info(class).instance_fields.len()
        } else {
            0
        };
        let object = self.space.new_plain(class, n.max(3));
        let obj = self.space.heap.get_mut(object);
        obj.fields[0] = Value::small(id as i64);
        obj.fields[2] = Value::small(priority);
        object
    }

    /// The id of a Process object, if it is one of this space's.
    pub fn process_id(&self, object: Value) -> Option<usize> {
        if object.is_immediate() {
            return None;
        }
        let id = self.space.heap.get(object).fields.first()?.as_small()? as usize;
        (self.scheduler.processes.get(id)?.object == object).then_some(id)
    }

    /// A new suspended process that will send `selector` (unary) to `receiver`.
    pub fn new_process_sending(&mut self, selector: Value, receiver: Value) -> Value {
        let p = self.new_process(receiver);
        let id = self.process_id(p).expect("just made");
        self.scheduler.processes[id].start_selector = Some(selector);
        p
    }

    /// A new suspended process that will evaluate `block` (a 0-argument block).
    pub fn new_process(&mut self, block: Value) -> Value {
        self.ensure_main_process();
        let priority = self.scheduler.processes[self.scheduler.active].priority;
        let id = self.scheduler.free_ids.pop().unwrap_or(self.scheduler.processes.len());
        let object = self.new_process_object(priority, id);
        let fresh = ProcessState {
            object,
            stack: Vec::new(),
            frames: Vec::new(),
            start: Some(block),
            start_selector: None,
            priority,
            state: RunState::Suspended,
            waiting_on: None,
            deadline: None,
            io_wait: None,
            io_timed_out: false,
            parked_for_update: false,
            in_timed: false,
            queued_at: None,
            in_io_list: false,
        };
        if id == self.scheduler.processes.len() {
            self.scheduler.processes.push(fresh);
        } else {
            // A reused id: entries for it may still sit in the timer, socket and ready
            // lists; keeping the flags that say so keeps every list consistent.
            let old = &self.scheduler.processes[id];
            let (in_timed, in_io_list, queued_at) = (old.in_timed, old.in_io_list, old.queued_at);
            self.scheduler.processes[id] = ProcessState {
                in_timed,
                in_io_list,
                queued_at,
                ..fresh
            };
        }
        self.scheduler.add_live(id);
        object
    }

    /// After a collection: ended processes whose Process object was freed give their id
    /// back for reuse.
    pub fn reclaim_ended_processes(&mut self) {
        let nil = self.space.nil();
        let ended = std::mem::take(&mut self.scheduler.ended);
        for id in ended {
            let p = &mut self.scheduler.processes[id];
            if p.state != RunState::Terminated || p.object == nil {
                continue;
            }
            if self.space.heap.is_live(p.object) {
                self.scheduler.ended.push(id);
            } else {
                p.object = nil;
                self.scheduler.free_ids.push(id);
            }
        }
    }

    /// Notes that process `id` ended (its id may be reused once its object is gone).
    pub fn note_ended(&mut self, id: usize) {
        if id != 0 {
            self.scheduler.ended.push(id);
        }
    }

    /// Makes process `id` runnable; asks for a switch at the next safe point if it should
    /// preempt the active one.
    pub fn make_runnable(&mut self, id: usize) {
        if self.scheduler.processes[id].state == RunState::Terminated {
            return;
        }
        self.scheduler.leave_semaphore(id);
        let p = &mut self.scheduler.processes[id];
        p.state = RunState::Runnable;
        p.deadline = None;
        p.io_wait = None;
        let preempts = p.priority > self.scheduler.processes[self.scheduler.active].priority;
        self.scheduler.enqueue(id);
        if preempts {
            self.interrupt.store(true, Ordering::Relaxed);
        }
        self.start_ticker();
    }

    /// True if the active process or another can run now.
    pub fn any_runnable(&mut self) -> bool {
        let active = self.scheduler.active;
        self.scheduler
            .processes
            .get(active)
            .is_some_and(|p| p.state == RunState::Runnable)
            || self.scheduler.any_ready()
    }

    /// After a process's scheduling state was set from outside (a rollback restoring a
    /// thread): list it where the scheduler looks.
    pub fn reregister_process(&mut self, id: usize) {
        if self.scheduler.processes[id].state == RunState::Runnable {
            self.scheduler.enqueue(id);
        }
        self.scheduler.note_io_wait(id);
    }

    /// Starts the ticker thread that requests safe points for time slices and timers.
    fn start_ticker(&mut self) {
        if self.scheduler.ticking {
            return;
        }
        self.scheduler.ticking = true;
        // The thread holds only a weak reference: it stops when the interpreter is gone.
        let flag = std::sync::Arc::downgrade(&self.interrupt);
        std::thread::spawn(move || loop {
            std::thread::sleep(TIME_SLICE);
            match flag.upgrade() {
                Some(f) => f.store(true, Ordering::Relaxed),
                None => break,
            }
        });
    }

    /// Switches to process `id` (saving the active one's stacks).
    pub fn switch_to(&mut self, id: usize) -> Result<(), VmError> {
        let current = self.scheduler.active;
        if id == current {
            return Ok(());
        }
        if self.scheduler.processes[current].state == RunState::Runnable {
            // Round robin: a process switched away from while it could run waits behind
            // the others of its priority.
            self.scheduler.enqueue(current);
        }
        {
            let p = &mut self.scheduler.processes[current];
            std::mem::swap(&mut p.stack, &mut self.stack);
            std::mem::swap(&mut p.frames, &mut self.frames);
        }
        self.scheduler.active = id;
        let p = &mut self.scheduler.processes[id];
        std::mem::swap(&mut p.stack, &mut self.stack);
        std::mem::swap(&mut p.frames, &mut self.frames);
        if let Some(first) = p.start.take() {
            let selector = p.start_selector.take();
            self.stack.clear();
            self.frames.clear();
            self.stack.push(first);
            match selector {
                None => self.activate_block(first, 0)?,
                Some(sel) => self.send(sel, 0, None, None)?,
            }
            if self.frames.is_empty() {
                // Answered without a frame (a primitive or a trivial method): done already.
                return self.terminate_process(id);
            }
        }
        Ok(())
    }

    /// Wakes every process whose deadline has passed (answering `false` to timed waits).
    pub fn wake_sleepers(&mut self) {
        let now = Instant::now();
        let due: Vec<usize> = self
            .scheduler
            .deadlines()
            .filter(|&(_, d)| d <= now)
            .map(|(i, _)| i)
            .collect();
        let processes = &self.scheduler.processes;
        let due: Vec<usize> = due
            .into_iter()
            .filter(|&i| matches!(processes[i].state, RunState::Sleeping | RunState::Waiting))
            .collect();
        for id in due {
            if self.scheduler.processes[id].io_wait.is_some() {
                // The retried I/O primitive sees the flag and answers nil.
                self.scheduler.processes[id].io_timed_out = true;
            } else if self.scheduler.processes[id].state == RunState::Waiting {
                // A timed wait that timed out answers false (the active process's stack is
                // the interpreter's own).
                let f = self.space.special(Special::False);
                let stack = if id == self.scheduler.active {
                    &mut self.stack
                } else {
                    &mut self.scheduler.processes[id].stack
                };
                if let Some(top) = stack.last_mut() {
                    *top = f;
                }
            }
            self.make_runnable(id);
        }
    }

    /// Fails while the scheduler is frozen (state transfer): `what` would block, switch
    /// processes or act outside the heap, which an update cannot undo.
    pub fn require_unfrozen(&self, what: &str) -> Result<(), VmError> {
        if self.scheduler.frozen {
            // Not a primitive failure: the application code cannot handle it away.
            return Err(self.error(format!(
                "state transfer: {what} is not allowed while an update runs application code (no waits, process operations, sockets or reflection)"
            )));
        }
        Ok(())
    }

    /// Picks the process to run next after the active one stopped being runnable (or to
    /// preempt it). Waits for sleepers when nothing can run; fails on deadlock.
    pub fn reschedule(&mut self) -> Result<(), VmError> {
        self.require_unfrozen("a process switch")?;
        // Sockets that became ready since the last look wake their processes now, not at
        // the next time slice: a busy server still answers a new request in one switch.
        if self.scheduler.has_io_waiters() {
            self.poll_io(Some(Duration::ZERO));
        }
        loop {
            self.wake_sleepers();
            if self.update_requested.load(Ordering::Relaxed) || self.quiescence.is_some() {
                let runnable = self.any_runnable();
                self.service_update(!runnable);
            }
            let active = self.scheduler.active;
            let active_runnable = self.scheduler.processes[active].state == RunState::Runnable;
            match self.scheduler.best_ready() {
                Some(next)
                    if !active_runnable
                        || self.scheduler.processes[next].priority >= self.scheduler.processes[active].priority =>
                {
                    self.scheduler.dequeue_front(next);
                    return self.switch_to(next);
                }
                _ if active_runnable => return Ok(()),
                _ => {}
            }
            let mut next_deadline = self.scheduler.deadlines().map(|(_, d)| d).min();
            if let Some(q) = self.quiescence {
                next_deadline = Some(next_deadline.map_or(q.deadline, |d| d.min(q.deadline)));
            }
            // With a wake pipe, updates can still arrive: wait on it rather than deadlock.
            let waiting_on_io = self.scheduler.has_io_waiters() || self.wake_pipe.is_some();
            match (next_deadline, waiting_on_io) {
                (Some(d), true) => self.poll_io(Some(d.saturating_duration_since(Instant::now()))),
                (Some(d), false) => std::thread::sleep(d.saturating_duration_since(Instant::now()).min(TIME_SLICE)),
                (None, true) => self.poll_io(None),
                (None, false) => return Err(self.error("deadlock: every process is waiting and nothing can wake one")),
            }
        }
    }

    /// At a safe point: wake sleepers and let a process of higher (or, at a time slice,
    /// equal) priority run.
    pub fn preempt(&mut self) -> Result<(), VmError> {
        if self.scheduler.processes.len() <= 1 || self.scheduler.frozen {
            return Ok(());
        }
        self.wake_sleepers();
        if self.scheduler.has_io_waiters() {
            self.poll_io(Some(Duration::ZERO));
        }
        let active = self.scheduler.active;
        if let Some(next) = self.scheduler.best_ready() {
            if self.scheduler.processes[next].priority >= self.scheduler.processes[active].priority {
                self.scheduler.dequeue_front(next);
                return self.switch_to(next);
            }
        }
        Ok(())
    }

    /// Waits (at most `timeout`; `None`: as long as it takes) until a file descriptor some
    /// process waits on is ready, and makes those processes runnable.
    pub fn poll_io(&mut self, timeout: Option<Duration>) {
        let waiting = self.scheduler.io_waits();
        let mut fds: Vec<libc::pollfd> = waiting
            .iter()
            .map(|&(_, fd, write)| libc::pollfd {
                fd,
                events: if write { libc::POLLOUT } else { libc::POLLIN },
                revents: 0,
            })
            .collect();
        if let Some(fd) = self.wake_fd() {
            fds.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let ms = timeout
            .map(|t| t.as_millis().min(i32::MAX as u128) as i32)
            .unwrap_or(-1);
        // SAFETY: fds is a valid array of pollfd for the duration of the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n <= 0 {
            return;
        }
        for (k, &(id, _, _)) in waiting.iter().enumerate() {
            if fds[k].revents != 0 {
                self.make_runnable(id);
            }
        }
    }

    /// Parks the active process until `fd` is ready (or `timeout` passes), then re-runs the
    /// send that called the primitive (its receiver and arguments are still on the stack).
    /// Without a frame to re-run (a primitive called from Rust) this is an error.
    pub fn block_on_io(&mut self, fd: i32, write: bool, timeout: Option<Duration>) -> Result<(), VmError> {
        self.ensure_main_process();
        let Some(frame) = self.frames.last_mut() else {
            return crate::error::prim_fail("socket: would block outside any method");
        };
        frame.pc -= 1;
        let active = self.scheduler.active;
        let p = &mut self.scheduler.processes[active];
        p.io_wait = Some((fd, write));
        p.io_timed_out = false;
        self.scheduler.note_io_wait(active);
        self.scheduler.set_deadline(active, timeout.map(|t| Instant::now() + t));
        self.block_active(RunState::Waiting)
    }

    /// Whether the active process's last I/O wait timed out (clears the flag).
    pub fn take_io_timeout(&mut self) -> bool {
        match self.scheduler.processes.get_mut(self.scheduler.active) {
            Some(p) => std::mem::take(&mut p.io_timed_out),
            None => false,
        }
    }

    /// The active process stops running (it waits, sleeps, is suspended or ended).
    pub fn block_active(&mut self, state: RunState) -> Result<(), VmError> {
        let active = self.scheduler.active;
        self.scheduler.processes[active].state = state;
        self.reschedule()
    }

    /// Ends process `id` (its frames are dropped).
    pub fn terminate_process(&mut self, id: usize) -> Result<(), VmError> {
        self.scheduler.leave_semaphore(id);
        let p = &mut self.scheduler.processes[id];
        p.state = RunState::Terminated;
        p.deadline = None;
        p.io_wait = None;
        p.start = None;
        self.scheduler.remove_live(id);
        self.note_ended(id);
        let p = &mut self.scheduler.processes[id];
        if id == self.scheduler.active {
            self.reschedule()?;
            // Its stacks were swapped into the tombstone: drop them.
            let p = &mut self.scheduler.processes[id];
            p.stack = Vec::new();
            p.frames = Vec::new();
        } else {
            p.stack = Vec::new();
            p.frames = Vec::new();
        }
        Ok(())
    }

    /// Every value the scheduler holds, for the collector.
    pub fn scheduler_roots(&self, roots: &mut Vec<Value>) {
        for p in &self.scheduler.processes {
            if p.state == RunState::Terminated {
                // Kept alive only by whoever still refers to it (see reclaim_ended_processes).
                continue;
            }
            roots.push(p.object);
            roots.extend_from_slice(&p.stack);
            for f in &p.frames {
                f.trace(roots);
            }
            if let Some(b) = p.start {
                roots.push(b);
            }
            if let Some(s) = p.waiting_on {
                roots.push(s);
            }
        }
        roots.extend(self.scheduler.waiters.keys().copied());
    }
}
