//! The clock behind `system ticks` and `system time`: wall-clock time since the
//! interpreter started (SOM's meaning), or, when a run asks for it (`espell run
//! --cpu-clock`), the CPU time the process has used, which is what Lua's `os.clock` measures
//! and what stays comparable on a shared, loaded machine.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

static CPU_CLOCK: AtomicBool = AtomicBool::new(false);

/// Makes every interpreter of this process answer CPU time (true) or wall-clock time.
pub fn use_cpu_time(on: bool) {
    CPU_CLOCK.store(on, Ordering::Relaxed);
}

/// Microseconds: of CPU time used by the process so far, or of wall-clock time since
/// `started`.
pub fn micros_since(started: Instant) -> i64 {
    if CPU_CLOCK.load(Ordering::Relaxed) {
        process_cpu_micros()
    } else {
        started.elapsed().as_micros() as i64
    }
}

/// CPU time (user + system) of the whole process, in microseconds.
fn process_cpu_micros() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_PROCESS_CPUTIME_ID is always
    // available on Linux, and on failure `ts` keeps its zeroes.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec * 1_000_000 + ts.tv_nsec / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_wall_clock_and_the_cpu_clock_advances_with_work() {
        // (Sleeping barely moving the CPU clock is tested on a whole process in cli.rs:
        // here other tests' threads share the process's CPU time.)
        let started = Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(micros_since(started) >= 50_000, "the wall clock is the default");
        let b = process_cpu_micros();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(process_cpu_micros() > b, "work used no CPU time");
    }
}
