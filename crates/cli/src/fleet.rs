//! `espell patch` across several instances (`--to S1 --to S2 ...` or `--fleet FILE`): a
//! fleet update is a two-phase commit with presumed abort (every instance prepares — runs
//! the script and holds its application paused, uncommitted — then all commit, or all roll
//! back); `--dry-run`, `--revert`, `--history` and `--state` go to every instance. Each
//! answer is a table with one row per instance (docs/chester.md, "Fleet updates").

use espell_chester::client;
use espell_chester::protocol::{Kind, Request};
use espell_chester::transport::{Connection, Target};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// How a fleet update runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long a prepared instance waits for the decision before rolling back (ms).
    pub prepare_timeout_ms: u64,
    /// Wait this long between "all prepared" and the decision (to rehearse a coordinator
    /// that dies in that window).
    pub pause_before_commit: Option<Duration>,
    /// How long to wait for each instance's answer (to the prepare, and to the decision)
    /// before counting it as failed (a relay that hangs is killed).
    pub answer_timeout: Duration,
}

/// Reads a fleet file: one target per line; blank lines and `#` comments are skipped. A
/// bad or repeated target is an error naming the file and line.
pub fn read_fleet_file(path: &std::path::Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut targets: Vec<(usize, String, Target)> = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.split_once('#').map_or(l, |(t, _)| t).trim();
        if t.is_empty() {
            continue;
        }
        let at = format!("{}:{}", path.display(), i + 1);
        let target = Target::parse(t).map_err(|e| format!("{at}: {e}"))?;
        if let Some((first, _, _)) = targets.iter().find(|(_, _, seen)| *seen == target) {
            return Err(format!("{at}: target {target} is given twice (also on line {first})"));
        }
        targets.push((i + 1, t.to_string(), target));
    }
    if targets.is_empty() {
        return Err(format!("{}: no targets (one per line)", path.display()));
    }
    Ok(targets.into_iter().map(|(_, t, _)| t).collect())
}

/// Parses every target, naming the bad one.
pub fn parse_targets(texts: &[String]) -> Result<Vec<Target>, String> {
    let targets: Vec<Target> = texts.iter().map(|t| Target::parse(t)).collect::<Result<_, _>>()?;
    for (i, t) in targets.iter().enumerate() {
        if targets[..i].contains(t) {
            return Err(format!("target {t} is given twice"));
        }
    }
    Ok(targets)
}

/// The number after `key` in `text` (e.g. `quiescence wait 1.234 ms`).
fn number_after(text: &str, key: &str) -> Option<f64> {
    let at = text.find(key)? + key.len();
    text[at..].split_whitespace().next()?.trim_end_matches(',').parse().ok()
}

/// The number after `key` on an answer's `pause:` line.
fn pause_number(answer: &str, key: &str) -> Option<f64> {
    answer
        .lines()
        .find(|l| l.starts_with("pause: "))
        .and_then(|l| number_after(l, key))
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.3} ms"))
}

/// The first line's status (`committed`, `rolled back`, `prepared`, `error`, ...).
fn status(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let head = first.split(':').next().unwrap_or("").trim();
    if head.is_empty() {
        "no answer".into()
    } else {
        head.to_string()
    }
}

/// The reason line of an answer (for failures), or its first line.
fn reason(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("reason: "))
        .map(str::to_string)
        .unwrap_or_else(|| text.lines().next().unwrap_or("no answer").to_string())
}

/// `why` without a leading `error: TARGET: ` (the note names the target already).
fn without_target(why: &str, t: &Target) -> String {
    let named = format!("{t}: ");
    let bare = why.strip_prefix("error: ").unwrap_or(why);
    bare.strip_prefix(&named).unwrap_or(bare).to_string()
}

/// One row of a table.
struct Row {
    target: String,
    cells: Vec<String>,
}

fn table(headers: &[&str], rows: &[Row]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    widths[0] = widths[0].max(rows.iter().map(|r| r.target.len()).max().unwrap_or(0));
    for r in rows {
        for (i, c) in r.cells.iter().enumerate() {
            widths[i + 1] = widths[i + 1].max(c.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for r in rows {
        let mut cells = vec![r.target.as_str()];
        cells.extend(r.cells.iter().map(String::as_str));
        out.push_str(&line(cells));
    }
    out
}

/// Runs `f` for every target at once; answers in the targets' order.
fn each<T: Send + 'static>(targets: &[Target], f: impl Fn(Target) -> T + Send + Sync + Clone + 'static) -> Vec<T> {
    let handles: Vec<_> = targets
        .iter()
        .cloned()
        .map(|t| {
            let f = f.clone();
            std::thread::spawn(move || f(t))
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("a fleet worker panicked"))
        .collect()
}

/// What `prepare_all` answers per instance: its first answer, the open connection when
/// it prepared, and when the answer came.
type Prepares = Vec<(String, Option<Connection>, Instant)>;

/// How long the instances still preparing get, once another could not prepare, before the
/// coordinator stops waiting for them.
const CUT_OFF_GRACE: Duration = Duration::from_millis(1500);

/// Phase 1 on every instance at once. Once the update can no longer commit — an instance
/// failed to prepare, or the first prepared so long ago (3/4 of the prepare timeout) that
/// a commit would come too late for it — the coordinator stops waiting for the others
/// (their connections close: presumed abort) instead of holding the prepared ones paused
/// until the answer timeout. Answers the prepares and, if it stopped early, why.
fn prepare_all(
    targets: &[Target],
    file: &str,
    script: &str,
    timeout_ms: u64,
    answer_timeout: Duration,
) -> (Prepares, String) {
    let n = targets.len();
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    for (i, t) in targets.iter().cloned().enumerate() {
        let (tx, cancel, file, script) = (tx.clone(), cancel.clone(), file.to_string(), script.to_string());
        std::thread::spawn(move || {
            let (text, conn) = client::prepare(&t, &file, &script, timeout_ms, answer_timeout, Some(cancel));
            let _ = tx.send((i, text, conn, Instant::now()));
        });
    }
    drop(tx);
    let cut = Duration::from_millis(timeout_ms - timeout_ms / 4);
    let mut got: Vec<Option<(String, Option<Connection>, Instant)>> = (0..n).map(|_| None).collect();
    let mut first_prepared: Option<Instant> = None;
    let mut stopped = String::new();
    for _ in 0..n {
        let next = match first_prepared {
            Some(t0) if stopped.is_empty() => match rx.recv_timeout(cut.saturating_sub(t0.elapsed())) {
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    stopped = format!(
                        "stopped waiting for the instances still preparing: the first prepared {} ms ago, too close to its {timeout_ms} ms prepare timeout for a commit\n",
                        t0.elapsed().as_millis()
                    );
                    cancel.store(true, Ordering::SeqCst);
                    rx.recv().ok()
                }
                other => other.ok(),
            },
            _ => rx.recv().ok(),
        };
        let Some((i, text, conn, at)) = next else { break };
        if conn.is_none() && stopped.is_empty() {
            stopped = format!(
                "stopped waiting for the instances still preparing: {} could not prepare\n",
                targets[i]
            );
            // The others get a short grace first: one that is merely slower prepares, is
            // told to abort and answers that it rolled back, so the report is true when it
            // is printed; only one still silent after the grace is cut off (it rolls back
            // by itself when it sees the connection closed: presumed abort).
            let cancel = cancel.clone();
            std::thread::spawn(move || {
                std::thread::sleep(CUT_OFF_GRACE);
                cancel.store(true, Ordering::SeqCst);
            });
        } else if conn.is_some() && first_prepared.is_none() {
            first_prepared = Some(at);
        }
        got[i] = Some((text, conn, at));
    }
    let prepared = got
        .into_iter()
        .map(|g| g.unwrap_or_else(|| ("error: the worker failed\n".into(), None, Instant::now())))
        .collect();
    (prepared, stopped)
}

/// A fleet update: prepare everywhere, then commit everywhere or roll back everywhere. An
/// empty `script` is a fleet revert (each instance undoes its last update, all or none).
/// Answers the report and whether the update committed on every instance.
pub fn update(targets: &[Target], file: &str, script: &str, opts: &Options) -> (String, bool) {
    let started = Instant::now();
    let (label, source, timeout) = (file.to_string(), script.to_string(), opts.prepare_timeout_ms);
    let (prepared, stopped) = prepare_all(targets, &label, &source, timeout, opts.answer_timeout);
    let mut all = prepared.iter().all(|(_, c, _)| c.is_some());
    let n = targets.len();
    if all {
        if let Some(pause) = opts.pause_before_commit {
            eprintln!(
                "espell: prepared on all {n} instances; deciding in {} ms",
                pause.as_millis()
            );
            std::thread::sleep(pause);
        }
    }
    // An instance that prepared early may be about to give up (its hold counts from its own
    // prepare): commit only while every hold has a quarter of the timeout left, so that
    // the commit reaches each one in time. Otherwise abort: all roll back, none commits.
    let mut late = String::new();
    if all {
        let oldest = prepared.iter().map(|(_, _, at)| at.elapsed()).max().unwrap_or_default();
        if oldest > Duration::from_millis(timeout - timeout / 4) {
            all = false;
            late = format!(
                "the first instance prepared {} ms ago: too close to its {timeout} ms prepare timeout for the commit to reach it; aborting everywhere\n",
                oldest.as_millis()
            );
        }
    }
    // An instance whose connection ended (or that spoke) while it should be waiting for
    // the decision no longer holds its prepare: it died, gave up, or its relay did. A
    // commit now would leave the fleet split; abort everywhere instead.
    let mut prepared = prepared;
    if all {
        for (t, (_, conn, _)) in targets.iter().zip(prepared.iter_mut()) {
            if let Some(c) = conn {
                if !c.still_open() {
                    all = false;
                    late.push_str(&format!(
                        "{t} no longer holds its prepare (its connection ended before the decision); aborting everywhere\n"
                    ));
                }
            }
        }
    }
    // Phase 2: the decision, to every prepared instance at once.
    let mut firsts = Vec::new();
    let mut handles = Vec::new();
    for (text, conn, _) in prepared {
        firsts.push(text);
        handles.push(conn.map(|c| std::thread::spawn(move || client::decide(c, all))));
    }
    // A final answer that never came: after an abort the instance rolls back by itself
    // (presumed abort); after a commit nobody here knows.
    let finals: Vec<Option<String>> = handles
        .into_iter()
        .map(|h| {
            h.map(|h| match h.join() {
                Ok(Ok(answer)) => answer,
                Ok(Err(e)) if all => format!("unknown: {e}\n"),
                Ok(Err(e)) => format!("rolled back: presumed abort ({e})\n"),
                Err(_) => "unknown: the worker failed\n".into(),
            })
        })
        .collect();
    let mut rows = Vec::new();
    let mut notes = String::new();
    let (mut committed, mut unknown) = (0, 0);
    for ((t, first), last) in targets.iter().zip(&firsts).zip(&finals) {
        let outcome = match last {
            Some(l) => status(l),
            None => status(first),
        };
        if outcome == "committed" {
            committed += 1;
        } else if outcome == "unknown" {
            unknown += 1;
        }
        let hold = last.as_deref().and_then(|l| number_after(l, "hold: "));
        rows.push(Row {
            target: t.to_string(),
            cells: vec![
                outcome.clone(),
                ms(pause_number(first, "quiescence wait ")),
                ms(pause_number(first, "script ")),
                ms(hold),
            ],
        });
        match last {
            None => notes.push_str(&format!("{t}: {}\n", without_target(&reason(first), t))),
            Some(l) if outcome != "committed" => notes.push_str(&format!("{t}: {}\n", l.lines().next().unwrap_or(""))),
            _ => {}
        }
    }
    let verdict = if committed == n {
        format!("committed on all {n} instances")
    } else if unknown > 0 {
        format!(
            "UNKNOWN: committed on {committed} of {n} instances, {unknown} did not answer the commit (they may have committed); `espell patch --state` shows which; revert those or apply again on the others"
        )
    } else if committed == 0 {
        if late.contains("no longer holds") {
            format!("rolled back on all {n} instances (one went away before the decision)")
        } else if !late.is_empty() {
            format!("rolled back on all {n} instances (the prepares took too long)")
        } else if all {
            format!("rolled back on all {n} instances (the decision to commit did not arrive)")
        } else {
            // Instances the coordinator stopped waiting for (once another had failed) did
            // not fail themselves: they are counted apart.
            let not_waited = firsts.iter().filter(|f| f.contains("can no longer commit")).count();
            let failed = firsts
                .iter()
                .filter(|f| !f.starts_with("prepared") && !f.contains("can no longer commit"))
                .count();
            if not_waited > 0 {
                format!(
                    "rolled back on all {n} instances ({failed} of {n} could not prepare, {not_waited} not waited for)"
                )
            } else {
                format!("rolled back on all {n} instances ({failed} of {n} could not prepare)")
            }
        }
    } else {
        format!(
            "INCONSISTENT: committed on {committed} of {n} instances (a commit did not arrive in time); `espell patch --state` shows which; revert those or apply again on the others"
        )
    };
    let what = if script.is_empty() {
        "fleet revert".to_string()
    } else {
        format!("fleet update {file}")
    };
    let mut out = format!(
        "{what}: {verdict} ({:.0} ms)\n",
        started.elapsed().as_secs_f64() * 1000.0
    );
    out.push_str(&table(
        &["instance", "outcome", "quiescence wait", "script", "hold"],
        &rows,
    ));
    out.push_str(&late);
    // Worth saying only when someone was still preparing.
    if firsts.iter().any(|f| f.contains("can no longer commit")) {
        out.push_str(&stopped);
    }
    out.push_str(&notes);
    (out, committed == n)
}

/// Sends one request to every instance at once and tabulates the answers (`--dry-run`,
/// `--history`).
pub fn broadcast(targets: &[Target], request: &Request, timeout: Duration) -> (String, bool) {
    let r = request.clone();
    let answers = each(targets, move |t| {
        client::send_to(&t, &r, timeout).unwrap_or_else(|e| format!("error: {e}\n"))
    });
    let good = |a: &str| match request.kind {
        Kind::DryRun => a.starts_with("would commit"),
        Kind::History => a.starts_with("history"),
        _ => a.starts_with("committed"),
    };
    if request.kind == Kind::History {
        let mut out = String::new();
        for (t, a) in targets.iter().zip(&answers) {
            out.push_str(&format!("== {t}\n{a}"));
        }
        return (out, answers.iter().all(|a| good(a)));
    }
    let ok = answers.iter().filter(|a| good(a)).count();
    let mut out = match request.kind {
        Kind::DryRun => format!(
            "fleet dry run {}: would commit on {ok} of {} instances\n",
            request.file,
            targets.len()
        ),
        _ => format!("fleet {}: {ok} of {} succeeded\n", request.file, targets.len()),
    };
    let rows: Vec<Row> = targets
        .iter()
        .zip(&answers)
        .map(|(t, a)| Row {
            target: t.to_string(),
            cells: vec![
                status(a),
                ms(pause_number(a, "quiescence wait ")),
                ms(pause_number(a, "script ")),
            ],
        })
        .collect();
    out.push_str(&table(&["instance", "outcome", "quiescence wait", "script"], &rows));
    for (t, a) in targets.iter().zip(&answers) {
        if !good(a) || request.kind == Kind::DryRun {
            for l in a.lines().filter(|l| {
                ["reason:", "error", "changes:", "classes (", "methods ("]
                    .iter()
                    .any(|p| l.starts_with(p))
            }) {
                out.push_str(&format!("{t}: {l}\n"));
            }
        }
    }
    (out, ok == targets.len())
}

/// The code digest of an instance's state answer (`state: code #...`).
pub fn code_digest_of(answer: &str) -> Option<String> {
    answer
        .lines()
        .find_map(|l| l.strip_prefix("state: code "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
}

/// `--state` across the fleet: every instance's code digest, and whether they agree.
pub fn state(targets: &[Target], timeout: Duration) -> (String, bool) {
    let request = Request {
        kind: Kind::State,
        file: String::new(),
        script: String::new(),
    };
    let answers = each(targets, move |t| {
        client::send_to(&t, &request, timeout).unwrap_or_else(|e| format!("error: {e}\n"))
    });
    let digests: Vec<Option<String>> = answers.iter().map(|a| code_digest_of(a)).collect();
    let first = digests.first().cloned().flatten();
    let agree = first.is_some() && digests.iter().all(|d| *d == first);
    let rows: Vec<Row> = targets
        .iter()
        .zip(&answers)
        .zip(&digests)
        .map(|((t, a), d)| {
            let changed = a
                .lines()
                .find_map(|l| l.strip_prefix("state: code "))
                .and_then(|l| l.split_once("changed since loaded: "))
                .map_or(String::new(), |(_, c)| c.trim_end_matches(')').to_string());
            Row {
                target: t.to_string(),
                cells: vec![
                    d.clone()
                        .unwrap_or_else(|| a.lines().next().unwrap_or("no answer").to_string()),
                    changed,
                ],
            }
        })
        .collect();
    let verdict = if agree {
        format!("all {} digests agree", targets.len())
    } else {
        let distinct: std::collections::BTreeSet<_> = digests.iter().flatten().collect();
        format!(
            "digests DIFFER ({} distinct, {} unreachable)",
            distinct.len(),
            digests.iter().filter(|d| d.is_none()).count()
        )
    };
    let mut out = format!("fleet state: {verdict}\n");
    out.push_str(&table(&["instance", "code digest", "classes changed"], &rows));
    (out, agree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_for_the_table() {
        let a = "prepared: update Up (held)\nchanges: 1\npause: quiescence wait 1.250 ms, script 3.500 ms, commit 0.010 ms\n";
        assert_eq!(pause_number(a, "quiescence wait "), Some(1.25));
        assert_eq!(pause_number(a, "script "), Some(3.5));
        assert_eq!(status(a), "prepared");
        assert_eq!(status("rolled back: update X\nreason: boom\n"), "rolled back");
        assert_eq!(reason("rolled back: update X\nreason: boom\n"), "boom");
        assert_eq!(
            code_digest_of("state: code #00ff (classes changed since loaded: A)\nidentity: x\n"),
            Some("#00ff".into())
        );
        let t = table(
            &["instance", "outcome"],
            &[Row {
                target: "/tmp/a.sock".into(),
                cells: vec!["committed".into()],
            }],
        );
        assert_eq!(t, "instance     outcome\n/tmp/a.sock  committed\n");
    }

    #[test]
    fn fleet_files_and_duplicate_targets() {
        let dir = std::env::temp_dir().join(format!("espell-fleet-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("fleet");
        std::fs::write(&f, "# web\n/tmp/a.sock\n\nssh://h/b.sock  # remote\n").unwrap();
        assert_eq!(read_fleet_file(&f).unwrap(), vec!["/tmp/a.sock", "ssh://h/b.sock"]);
        std::fs::write(&f, "# nothing\n").unwrap();
        assert!(read_fleet_file(&f).is_err());
        assert!(parse_targets(&["/a".into(), "/a".into()])
            .unwrap_err()
            .contains("twice"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_lines_in_a_fleet_file_are_named_with_file_and_line() {
        let dir = std::env::temp_dir().join(format!("espell-fleet-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("fleet");
        std::fs::write(&f, "/tmp/a.sock\n# c\nssh://host\n").unwrap();
        let e = read_fleet_file(&f).unwrap_err();
        assert_eq!(
            e,
            format!(
                "{}:3: ssh://host: expected ssh://[user@]host/path/to/app.sock",
                f.display()
            )
        );
        std::fs::write(&f, "/tmp/a.sock\nexec:\n").unwrap();
        assert!(read_fleet_file(&f)
            .unwrap_err()
            .starts_with(&format!("{}:2: exec: needs", f.display())));
        std::fs::write(&f, "/tmp/a.sock\n\n/tmp/./a.sock  # again\n").unwrap();
        assert_eq!(
            read_fleet_file(&f).unwrap_err(),
            format!(
                "{}:3: target /tmp/./a.sock is given twice (also on line 1)",
                f.display()
            )
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
