//! Chester's patch journal inside the running program: committed updates and reverts are
//! written (after the application resumes; the answer waits for the write), a failed write
//! undoes its update, and at start the journal is replayed (ADR 0018).

use super::{code_digest_text, label, Record, State, Written, JOURNAL_FAILED};
use crate::journal::{Action, Entry};
use crate::protocol::{Kind, Request};
use espell_vm::hypervisor::UpdateReport;
use espell_vm::Interp;
use std::sync::mpsc::Sender;
use std::time::Instant;

impl State {
    /// Keeps a committed update: records it in the history and answers `reply` with
    /// `text` — with a journal, once its entry is durably written, by a writer thread, so
    /// that the application does not stay paused for the fsyncs. If the entry cannot be
    /// written the update is undone (a committed update must survive a restart) and the
    /// answer says so.
    pub(super) fn keep(
        &mut self,
        app: &mut Interp,
        report: &mut UpdateReport,
        request: &Request,
        text: String,
        reply: Sender<String>,
    ) {
        let described = text.clone();
        self.keep_with_summary(app, report, request, text, &described, reply)
    }

    /// `keep`, with the change summary taken from `described` (the update's `describe`).
    pub(super) fn keep_with_summary(
        &mut self,
        app: &mut Interp,
        report: &mut UpdateReport,
        request: &Request,
        text: String,
        described: &str,
        reply: Sender<String>,
    ) {
        let summary = described.lines().skip(1).take(5).collect::<Vec<_>>().join("; ");
        let undo = report.undo.take();
        let mut record = Record {
            script: report.script.clone(),
            summary: summary.clone(),
            undo,
            at: self.since.elapsed(),
            reverted_at: None,
            seq: None,
            replayed: false,
        };
        eprint!("espell: {text}");
        let Some(journal) = self.journal.as_mut() else {
            self.history.push(record);
            let _ = reply.send(text);
            return;
        };
        let entry = Entry {
            seq: journal.next_seq(),
            time: crate::journal::now(),
            action: Action::Apply {
                file: label(request),
                script: request.script.clone(),
            },
            summary,
            digest: code_digest_text(app),
        };
        let n = entry.seq;
        record.seq = Some(n);
        self.history.push(record);
        journal.entries.push(entry);
        self.write_then_answer(text, reply, true);
    }

    /// Writes the journal (its last entry is new) on a writer thread, while the application
    /// runs, then answers `reply` with `text`. If the write fails: with `undo`, the update
    /// is undone before the answer (`journal_written`); without, the answer warns.
    pub(super) fn write_then_answer(&mut self, text: String, reply: Sender<String>, undo: bool) {
        let Some(journal) = self.journal.as_mut() else {
            let _ = reply.send(text);
            return;
        };
        let n = journal.entries.last().map_or(0, |e| e.seq);
        let rendered = crate::journal::render(&journal.entries);
        let dir = journal.dir().to_path_buf();
        let (done, waker) = (self.written.0.clone(), self.waker.clone());
        self.writing = true;
        std::thread::spawn(move || {
            let started = Instant::now();
            let failed = match crate::journal::write_durably(&dir, "journal", &rendered) {
                Ok(()) => {
                    let _ = reply.send(format!(
                        "{text}journal: entry {n} written ({:.3} ms, the application running meanwhile)\n",
                        started.elapsed().as_secs_f64() * 1000.0
                    ));
                    None
                }
                Err(e) => {
                    let why = format!("cannot write the journal in {}: {e}", dir.display());
                    if undo {
                        Some((why, reply))
                    } else {
                        let _ = reply.send(format!(
                            "{text}warning: {why}; a restart with this journal would bring the update back\n"
                        ));
                        None
                    }
                }
            };
            let _ = done.send(Written { seq: n, failed });
            if let Some(w) = waker {
                w.wake();
            }
        });
    }

    /// Takes in the finished journal writes; a failed one queues the undo of its update
    /// (first in line: nothing else started meanwhile).
    pub(super) fn journal_written(&mut self) {
        while let Ok(w) = self.written.1.try_recv() {
            self.writing = false;
            if let Some((why, reply)) = w.failed {
                if let Some(j) = self.journal.as_mut() {
                    if j.entries.last().is_some_and(|e| e.seq == w.seq) {
                        j.entries.pop();
                    }
                }
                let request = Request {
                    kind: Kind::Revert,
                    file: format!("{JOURNAL_FAILED}{}", w.seq),
                    script: why,
                };
                self.queue.push_front((request, reply));
                if let Some(waker) = &self.waker {
                    waker.wake();
                }
            }
        }
    }

    /// Undoes the update of journal entry `seq` (whose entry could not be written).
    pub(super) fn undo_unjournaled(&mut self, app: &mut Interp, seq: &str, why: &str) -> String {
        let seq = seq.parse::<u64>().ok();
        match self.history.last() {
            Some(r) if r.seq == seq && seq.is_some() && r.undo.is_some() => {
                let mut r = self.history.pop().expect("just seen");
                r.undo.take().expect("checked").roll_back(app);
                format!(
                    "rolled back: update {}: {why}; the update was undone (a committed update must survive a restart)\n",
                    r.script
                )
            }
            _ => format!("error: {why}; the update could not be found to undo it\n"),
        }
    }

    /// Brings a program that has not run yet to its journal's state: every entry in order,
    /// each as a transaction. Answers a report (empty without a journal).
    pub(super) fn replay(&mut self, app: &mut Interp, skip_failed: bool) -> Result<String, String> {
        let Some(journal) = self.journal.as_ref() else {
            return Ok(String::new());
        };
        let entries = journal.entries.clone();
        let dir = journal.dir().display().to_string();
        self.replay_entries(app, &entries, &dir, skip_failed)
    }

    /// Replays `entries` (from the journal in `dir`) on `app`.
    pub(super) fn replay_entries(
        &mut self,
        app: &mut Interp,
        entries: &[Entry],
        dir: &str,
        skip_failed: bool,
    ) -> Result<String, String> {
        let mut out = String::new();
        let mut skipped: Vec<u64> = Vec::new();
        let (mut applied, mut reverted) = (0, 0);
        for e in entries {
            match &e.action {
                Action::Apply { file, script } => {
                    let mut report = self.hypervisor.run_update_with(app, script, file, false);
                    if !report.committed {
                        let why = format!(
                            "journal {dir}: entry {} ({file}, committed {}) fails now: {}",
                            e.seq,
                            crate::journal::utc(e.time),
                            report.reason.trim()
                        );
                        if !skip_failed {
                            return Err(format!(
                                "{why}\nthe program was not started (the program changed since?); start with --journal-skip-failed to run without it"
                            ));
                        }
                        out.push_str(&format!("skipped {why}\n"));
                        skipped.push(e.seq);
                        continue;
                    }
                    applied += 1;
                    self.history.push(Record {
                        script: report.script.clone(),
                        summary: e.summary.clone(),
                        undo: report.undo.take(),
                        at: self.since.elapsed(),
                        reverted_at: None,
                        seq: Some(e.seq),
                        replayed: true,
                    });
                }
                Action::Revert { of } => {
                    if skipped.contains(of) {
                        out.push_str(&format!(
                            "skipped journal entry {} (a revert of skipped entry {of})\n",
                            e.seq
                        ));
                        skipped.push(e.seq);
                        continue;
                    }
                    let last = self.history.iter_mut().rev().find(|r| r.undo.is_some());
                    match last {
                        Some(r) if r.seq == Some(*of) => {
                            r.undo.take().expect("found above").revert(app);
                            r.reverted_at = Some(self.since.elapsed());
                            reverted += 1;
                        }
                        _ => {
                            return Err(format!(
                                "journal {dir}: entry {} reverts entry {of}, which is not the last update in effect (the journal is inconsistent)",
                                e.seq
                            ))
                        }
                    }
                }
            }
            if skipped.is_empty() {
                let now = code_digest_text(app);
                if now != e.digest {
                    out.push_str(&format!(
                        "warning: after journal entry {} the code digest is {now}, recorded {} (the program's class files changed?)\n",
                        e.seq, e.digest
                    ));
                }
            }
        }
        if !entries.is_empty() {
            out.push_str(&format!(
                "journal {dir}: replayed {applied} update(s) and {reverted} revert(s) of {} entries before start; code digest {}\n",
                entries.len(),
                code_digest_text(app)
            ));
        }
        Ok(out)
    }
}
