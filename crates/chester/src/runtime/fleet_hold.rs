//! Two-phase fleet updates inside the running program: prepare (run the script and hold
//! the application paused, uncommitted), then commit or roll back on the coordinator's
//! word, or roll back alone when no word comes in time (presumed abort; ADR 0018).

use super::{describe, State};
use crate::protocol::{Kind, Prepared, Request};
use espell_vm::Interp;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

/// Why a held transaction did not commit: the abort's reason, or the timeout.
fn why_not(decision: &Option<(bool, Sender<String>)>, reason: &str, timeout_ms: u64) -> String {
    match decision {
        Some(_) if !reason.is_empty() => reason.to_string(),
        Some(_) => "the coordinator decided to abort".into(),
        None => format!("no decision within {timeout_ms} ms (presumed abort)"),
    }
}

impl State {
    /// Phase 1 of a fleet update, then the wait for phase 2: runs the script, answers
    /// `prepared` (or the failure) and holds the application paused until the decision or
    /// the prepare timeout (then rolls back by itself: presumed abort).
    pub(super) fn prepare_and_hold(&mut self, app: &mut Interp, request: Request, reply: Sender<String>, wait_ms: f64) {
        let Some(params) = Prepared::from_field(&request.file) else {
            let _ = reply.send("error: malformed prepare request\n".into());
            return;
        };
        if params.revert {
            return self.prepare_revert_and_hold(app, &params, reply, wait_ms);
        }
        let mut report = self
            .hypervisor
            .run_update_with(app, &request.script, &params.file, false);
        if !report.committed {
            let text = describe(&report, false, wait_ms);
            self.events
                .note_as("fleet apply", &params.file, &text, self.since.elapsed());
            eprint!("espell: fleet transaction {}: {text}", params.txn);
            self.remember(params.txn, text.clone());
            let _ = reply.send(text);
            return;
        }
        let described = describe(&report, false, wait_ms);
        let prepared = format!(
            "prepared: update {} (held paused, not committed; rolls back by itself after {} ms without a decision)\n{}",
            report.script,
            params.timeout_ms,
            described.split_once('\n').map_or("", |(_, rest)| rest)
        );
        let (decision, hold_ms) = self.hold(app, &params, prepared, reply);
        let text = match decision {
            Some((true, answer)) => {
                let text = format!(
                    "committed: update {} (fleet transaction {})\nhold: {hold_ms:.3} ms\n",
                    report.script, params.txn
                );
                self.remember(params.txn, text.clone());
                let details = described.split_once('\n').map_or("", |(_, rest)| rest);
                let logged = format!("{}\n{details}", text.lines().next().unwrap_or(""));
                self.events
                    .note_as("fleet apply", &params.file, &logged, self.since.elapsed());
                // Answered (and logged) once the journal entry is written.
                return self.keep_with_summary(app, &mut report, &request, text, &described, answer);
            }
            _ => {
                if let Some(undo) = report.undo.take() {
                    undo.roll_back(app);
                }
                let text = format!(
                    "rolled back: update {} (fleet transaction {}): {}\nhold: {hold_ms:.3} ms\n",
                    report.script,
                    params.txn,
                    why_not(&decision, &self.abort_reason, params.timeout_ms)
                );
                self.events
                    .note_as("fleet apply", &params.file, &text, self.since.elapsed());
                text
            }
        };
        self.decided(params.txn, text, decision);
    }

    /// A two-phase revert: prepare checks that there is an update to revert and holds the
    /// application paused; the revert itself (which cannot fail) happens at commit.
    pub(super) fn prepare_revert_and_hold(
        &mut self,
        app: &mut Interp,
        params: &Prepared,
        reply: Sender<String>,
        wait_ms: f64,
    ) {
        let Some(record) = self.history.iter().rev().find(|r| r.undo.is_some()) else {
            let text = "error: there is no committed update to revert\n".to_string();
            self.remember(params.txn, text.clone());
            let _ = reply.send(text);
            return;
        };
        let script = record.script.clone();
        if let Some(reason) = record.undo.as_ref().and_then(|u| u.revert_blocker(app)) {
            let text = format!("error: {script} was not reverted: {reason}\n");
            self.remember(params.txn, text.clone());
            let _ = reply.send(text);
            return;
        }
        let prepared = format!(
            "prepared: revert of update {script} (held paused, not reverted yet; resumes unchanged after {} ms without a decision)\npause: quiescence wait {wait_ms:.3} ms, script 0.000 ms\n",
            params.timeout_ms
        );
        let (decision, hold_ms) = self.hold(app, params, prepared, reply);
        let text = match decision {
            Some((true, answer)) => {
                self.remember(params.txn, format!("committed: reverted update {script}\n"));
                return self.revert(app, wait_ms, answer, format!("hold: {hold_ms:.3} ms\n"));
            }
            _ => format!(
                "rolled back: revert of update {script} (fleet transaction {}): {}; nothing was reverted\nhold: {hold_ms:.3} ms\n",
                params.txn,
                why_not(&decision, &self.abort_reason, params.timeout_ms)
            ),
        };
        self.decided(params.txn, text, decision);
    }

    /// Sends `prepared` and waits, paused, for this transaction's decision until the
    /// prepare timeout, answering other requests meanwhile. Answers the decision (commit?,
    /// where to answer) — None when the time ran out — and the hold time in ms.
    pub(super) fn hold(
        &mut self,
        app: &mut Interp,
        params: &Prepared,
        prepared: String,
        reply: Sender<String>,
    ) -> (Option<(bool, Sender<String>)>, f64) {
        let held = Instant::now();
        let deadline = held + Duration::from_millis(params.timeout_ms);
        eprint!("espell: fleet transaction {}: {prepared}", params.txn);
        let _ = reply.send(prepared);
        let decision = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.deliveries.recv_timeout(left) {
                Ok((r, answer)) if matches!(r.kind, Kind::Commit | Kind::Abort) && r.file == params.txn.to_string() => {
                    self.abort_reason = r.script.trim().to_string();
                    break Some((r.kind == Kind::Commit, answer));
                }
                Ok(other) => self.accept(app, other),
                Err(_) => break None,
            }
        };
        (decision, held.elapsed().as_secs_f64() * 1000.0)
    }

    /// Logs and remembers a transaction's outcome and answers the decision's sender.
    pub(super) fn decided(&mut self, txn: u64, text: String, decision: Option<(bool, Sender<String>)>) {
        eprint!("espell: fleet transaction {txn}: {text}");
        self.remember(txn, text.clone());
        if let Some((_, answer)) = decision {
            let _ = answer.send(text);
        }
    }

    pub(super) fn remember(&mut self, txn: u64, text: String) {
        if self.finished.len() >= 32 {
            self.finished.pop_front();
        }
        self.finished.push_back((txn, text));
    }
}
