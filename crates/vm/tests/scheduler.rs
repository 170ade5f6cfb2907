//! The scheduler's bookkeeping stays proportional to the processes that can still run:
//! ended processes leave the lists a switch scans, timers are found without a full scan.

mod common;
use common::interp;

#[test]
fn ended_processes_leave_the_lists_a_switch_scans() {
    let (mut i, _) = interp();
    i.eval(
        "| done | done := Semaphore new.
         1 to: 5000 do: [ :k | [ done signal ] fork ].
         5000 timesRepeat: [ done wait ]",
        "test",
    )
    .unwrap();
    assert!(i.scheduler.processes.len() > 5000, "every process has an id");
    let listed = i.scheduler.live.len();
    let live = i.scheduler.live_processes().count();
    assert_eq!(live, 1, "only the main process is left");
    assert!(
        listed <= 2 * live + 16,
        "{listed} ids listed for {live} live process(es)"
    );
}

#[test]
fn timers_are_kept_only_while_a_process_has_a_deadline() {
    let (mut i, _) = interp();
    let v = i
        .eval(
            "| s done n | s := Semaphore new. done := Semaphore new. n := 0.
             1 to: 200 do: [ :k | [ (s wait: 1) ifFalse: [ n := n + 1 ]. done signal ] fork ].
             200 timesRepeat: [ done wait ].
             n",
            "test",
        )
        .unwrap();
    assert_eq!(v.as_small(), Some(200), "every timed wait timed out");
    // The next scan forgets the processes whose deadline has passed.
    i.eval("Processor sleep: 1", "test").unwrap();
    assert!(i.scheduler.timed.len() <= 1, "{} timers left", i.scheduler.timed.len());
}

#[test]
fn ids_of_ended_processes_are_reused_once_nothing_refers_to_them() {
    let (mut i, _) = interp();
    let round = "| done | done := Semaphore new.
         1 to: 3000 do: [ :k | [ done signal ] fork ].
         3000 timesRepeat: [ done wait ]";
    i.eval(round, "test").unwrap();
    i.eval("Kept := [ 42 ] fork. Processor yield", "test").unwrap();
    i.collect_garbage();
    let after_first = i.scheduler.processes.len();
    for _ in 0..5 {
        i.eval(round, "test").unwrap();
        i.collect_garbage();
    }
    assert!(
        i.scheduler.processes.len() < after_first + 3000,
        "{} process slots after 18,000 processes",
        i.scheduler.processes.len()
    );
    // A Process object still referred to keeps its identity and answers for itself.
    let v = i.eval("Kept isTerminated", "test").unwrap();
    assert_eq!(v, i.space.boolean(true));
}
