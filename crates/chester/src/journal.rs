//! The patch journal (`espell run --journal DIR`): every committed update (its script, the
//! time, its change summary and the code digest after it) and every revert, written
//! durably so that a restarted program can be brought back to the same state (ADR 0018).
//!
//! The journal is one text file, `DIR/journal`, rewritten whole on every change: write
//! `journal.tmp`, fsync it, rename it over `journal`, fsync the directory. A crash at any
//! point leaves either the old file or the new one. A running program holds an exclusive
//! `flock` on `DIR/lock`, so two programs (or a compaction) never share a journal.
//!
//! Format (`espell journal DIR` prints it readably):
//! ```text
//! espell-journal 1
//! entry 1 apply 1764754231
//! file: Up.som
//! summary: changes: 2; classes (0): ...
//! digest: #0123456789abcdef
//! script 42
//! <42 bytes of script source>
//! check #89abcdef01234567
//! end
//! entry 2 revert 1764754300 of 1
//! digest: #...
//! check #...
//! end
//! ```
//! `check` is a fixed 64-bit hash of the entry's fields, verified on every read.

use espell_vm::mop::code_digest::Fnv;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What an entry records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// A committed update: its file name and source.
    Apply {
        /// The script's file name.
        file: String,
        /// The script's source.
        script: String,
    },
    /// A revert of the entry with this number.
    Revert {
        /// The number of the reverted entry.
        of: u64,
    },
}

/// One journal entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its number (1, 2, ...; never reused, also after compaction).
    pub seq: u64,
    /// When it committed (seconds since the Unix epoch).
    pub time: u64,
    /// What it did.
    pub action: Action,
    /// The change summary (one line).
    pub summary: String,
    /// The code digest after it (`#` and 16 hex digits).
    pub digest: String,
}

impl Entry {
    fn check(&self) -> u64 {
        let mut h = Fnv::default();
        h.bytes(&self.seq.to_le_bytes());
        h.bytes(&self.time.to_le_bytes());
        match &self.action {
            Action::Apply { file, script } => {
                h.text("apply");
                h.text(file);
                h.text(script);
            }
            Action::Revert { of } => {
                h.text("revert");
                h.bytes(&of.to_le_bytes());
            }
        }
        h.text(&self.summary);
        h.text(&self.digest);
        h.finish()
    }

    fn encode(&self, out: &mut String) {
        match &self.action {
            Action::Apply { file, script } => {
                out.push_str(&format!("entry {} apply {}\n", self.seq, self.time));
                out.push_str(&format!("file: {}\n", one_line(file)));
                out.push_str(&format!("summary: {}\n", one_line(&self.summary)));
                out.push_str(&format!("digest: {}\n", one_line(&self.digest)));
                out.push_str(&format!("script {}\n{script}\n", script.len()));
            }
            Action::Revert { of } => {
                out.push_str(&format!("entry {} revert {} of {of}\n", self.seq, self.time));
                out.push_str(&format!("summary: {}\n", one_line(&self.summary)));
                out.push_str(&format!("digest: {}\n", one_line(&self.digest)));
            }
        }
        out.push_str(&format!("check #{:016x}\nend\n", self.check()));
    }

    /// The entry's script name (`revert of N` for a revert).
    pub fn label(&self) -> String {
        match &self.action {
            Action::Apply { file, .. } => file.clone(),
            Action::Revert { of } => format!("revert of entry {of}"),
        }
    }

    /// One line for listings: number, UTC time, what, digest after.
    pub fn line(&self) -> String {
        format!(
            "entry {} {} {}: digest after {}",
            self.seq,
            utc(self.time),
            self.label(),
            self.digest
        )
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// `time` (seconds since the epoch) as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(time: u64) -> String {
    let days = (time / 86_400) as i64;
    let secs = time % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Seconds since the Unix epoch, now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Parses a journal file's text; errors name the line.
pub fn parse(text: &str, label: &str) -> Result<Vec<Entry>, String> {
    fn next_line(rest: &mut &str, line_no: &mut usize) -> Option<String> {
        if rest.is_empty() {
            return None;
        }
        let (line, tail) = rest.split_once('\n').unwrap_or((rest, ""));
        *rest = tail;
        *line_no += 1;
        Some(line.to_string())
    }
    let mut rest = text;
    let mut line_no = 0usize;
    let bad = |line_no: usize, what: &str| format!("{label}:{line_no}: {what}");
    match next_line(&mut rest, &mut line_no) {
        Some(h) if h == "espell-journal 1" => {}
        _ => return Err(bad(1, "not an espell journal (expected `espell-journal 1`)")),
    }
    let mut entries: Vec<Entry> = Vec::new();
    while let Some(head) = next_line(&mut rest, &mut line_no) {
        if head.is_empty() {
            continue;
        }
        let words: Vec<&str> = head.split(' ').collect();
        let (seq, time) = match words.as_slice() {
            ["entry", seq, _, time, ..] => (
                seq.parse::<u64>().map_err(|_| bad(line_no, "bad entry number"))?,
                time.parse::<u64>().map_err(|_| bad(line_no, "bad time"))?,
            ),
            _ => return Err(bad(line_no, "expected `entry N apply|revert TIME`")),
        };
        let is_apply = words[2] == "apply";
        let of = match (words[2], words.get(4), words.get(5)) {
            ("apply", None, _) => None,
            ("revert", Some(&"of"), Some(n)) => Some(n.parse::<u64>().map_err(|_| bad(line_no, "bad `of` number"))?),
            _ => return Err(bad(line_no, "expected `apply TIME` or `revert TIME of N`")),
        };
        let entry_line = line_no;
        let field = |name: &str, rest: &mut &str, line_no: &mut usize| -> Result<String, String> {
            let l = next_line(rest, line_no).ok_or_else(|| bad(*line_no, "the journal ends inside an entry"))?;
            l.strip_prefix(&format!("{name}: "))
                .or_else(|| (l == format!("{name}:")).then_some(""))
                .map(str::to_string)
                .ok_or_else(|| bad(*line_no, &format!("expected `{name}: ...`")))
        };
        let action = if is_apply {
            let file = field("file", &mut rest, &mut line_no)?;
            let summary = field("summary", &mut rest, &mut line_no)?;
            let digest = field("digest", &mut rest, &mut line_no)?;
            let len_line = next_line(&mut rest, &mut line_no).unwrap_or_default();
            let len = len_line
                .strip_prefix("script ")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| bad(line_no, "expected `script LENGTH`"))?;
            if rest.len() < len + 1 || !rest.is_char_boundary(len) || rest.as_bytes()[len] != b'\n' {
                return Err(bad(line_no, "the script is cut short (a torn or edited journal)"));
            }
            let script = rest[..len].to_string();
            line_no += script.matches('\n').count() + 1;
            rest = &rest[len + 1..];
            (Action::Apply { file, script }, summary, digest)
        } else {
            let summary = field("summary", &mut rest, &mut line_no)?;
            let digest = field("digest", &mut rest, &mut line_no)?;
            (Action::Revert { of: of.unwrap_or(0) }, summary, digest)
        };
        let entry = Entry {
            seq,
            time,
            action: action.0,
            summary: action.1,
            digest: action.2,
        };
        let check = next_line(&mut rest, &mut line_no).unwrap_or_default();
        let want = format!("check #{:016x}", entry.check());
        if check != want {
            return Err(bad(
                line_no,
                &format!("entry {seq} (line {entry_line}) fails its check (damaged or edited by hand)"),
            ));
        }
        if next_line(&mut rest, &mut line_no).as_deref() != Some("end") {
            return Err(bad(line_no, "expected `end`"));
        }
        if entries.last().is_some_and(|e| e.seq >= seq) {
            return Err(bad(entry_line, "entry numbers must increase"));
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// Renders entries as a journal file's text.
pub fn render(entries: &[Entry]) -> String {
    let mut out = String::from("espell-journal 1\n");
    for e in entries {
        e.encode(&mut out);
    }
    out
}

/// Writes `text` to `dir/name` durably: temporary file, fsync, rename, fsync the directory.
pub fn write_durably(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(name))?;
    File::open(dir)?.sync_all()
}

/// Entries that are still in effect: every apply not undone by a later revert (the
/// reverts pair with the applies like brackets: a revert undoes the latest apply in
/// effect). Answers the pairs (apply, revert) that cancel out.
pub fn cancelled_pairs(entries: &[Entry]) -> Vec<(u64, u64)> {
    let mut stack: Vec<u64> = Vec::new();
    let mut pairs = Vec::new();
    for e in entries {
        match e.action {
            Action::Apply { .. } => stack.push(e.seq),
            Action::Revert { of } => {
                if let Some(pos) = stack.iter().rposition(|&s| s == of) {
                    stack.remove(pos);
                    pairs.push((of, e.seq));
                }
            }
        }
    }
    pairs
}

/// Compaction: drops every update that a later revert undid, with that revert. The
/// entries left replay to the same state (a revert restores exactly what its update
/// changed; updates in between were themselves reverted first). Digests stay as recorded.
pub fn compact(entries: &[Entry]) -> Vec<Entry> {
    let dropped: std::collections::HashSet<u64> =
        cancelled_pairs(entries).into_iter().flat_map(|(a, r)| [a, r]).collect();
    entries.iter().filter(|e| !dropped.contains(&e.seq)).cloned().collect()
}

/// A journal opened by a running program: the directory, the lock and the entries.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    /// The entries, oldest first.
    pub entries: Vec<Entry>,
    _lock: File,
}

/// Takes the exclusive lock on `dir/lock` (without waiting).
pub fn lock(dir: &Path) -> Result<File, String> {
    use std::os::fd::AsRawFd;
    let path = dir.join("lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(format!(
            "the journal {} is in use by a running program (lock {})",
            dir.display(),
            path.display()
        ));
    }
    Ok(f)
}

/// Reads `dir/journal` (none yet: no entries).
pub fn read(dir: &Path) -> Result<Vec<Entry>, String> {
    let path = dir.join("journal");
    match std::fs::read(&path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => parse(&text, &path.display().to_string()),
            Err(e) => {
                let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
                Err(format!("{}:{line}: not UTF-8 text (a damaged journal)", path.display()))
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

impl Journal {
    /// Opens (creating the directory if needed), locks and reads the journal in `dir`.
    pub fn open(dir: &Path) -> Result<Journal, String> {
        if dir.exists() && !dir.is_dir() {
            return Err(format!(
                "{}: not a directory (--journal names the directory that holds the journal)",
                dir.display()
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let lock = lock(dir)?;
        let entries = read(dir)?;
        Ok(Journal {
            dir: dir.to_path_buf(),
            entries,
            _lock: lock,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The next entry number.
    pub fn next_seq(&self) -> u64 {
        self.entries.last().map_or(1, |e| e.seq + 1)
    }

    /// Appends `entry` durably; on failure the journal (file and memory) is unchanged.
    pub fn append(&mut self, entry: Entry) -> Result<(), String> {
        self.entries.push(entry);
        let text = render(&self.entries);
        write_durably(&self.dir, "journal", &text).map_err(|e| {
            self.entries.pop();
            format!("cannot write the journal in {}: {e}", self.dir.display())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(seq: u64, script: &str) -> Entry {
        Entry {
            seq,
            time: 1_764_754_231 + seq,
            action: Action::Apply {
                file: format!("U{seq}.som"),
                script: script.into(),
            },
            summary: "changes: 1".into(),
            digest: format!("#{seq:016x}"),
        }
    }

    fn revert(seq: u64, of: u64) -> Entry {
        Entry {
            seq,
            time: 1_764_754_231 + seq,
            action: Action::Revert { of },
            summary: String::new(),
            digest: "#0".into(),
        }
    }

    #[test]
    fn round_trip_with_awkward_scripts() {
        let entries = vec![
            apply(1, "A = ChesterUpdate (\n run: app = ( ^'end\ncheck #' )\n)"),
            apply(2, "x\n\nend\n"),
            revert(3, 2),
            apply(4, "é ünïcode"),
        ];
        let text = render(&entries);
        assert_eq!(parse(&text, "j").unwrap(), entries);
    }

    #[test]
    fn damage_is_found_and_named() {
        let text = render(&[apply(1, "abc"), apply(2, "def")]);
        let edited = text.replace("def", "deg");
        let e = parse(&edited, "j").unwrap_err();
        assert!(e.contains("entry 2") && e.contains("check"), "{e}");
        let torn = &text[..text.len() - 20];
        assert!(parse(torn, "j").is_err());
        assert!(parse("hello\n", "j").unwrap_err().contains("not an espell journal"));
        // Every prefix either parses (a whole number of entries) or errs; never panics.
        for cut in 0..text.len() {
            if text.is_char_boundary(cut) {
                let _ = parse(&text[..cut], "j");
            }
        }
    }

    #[test]
    fn compaction_drops_reverted_pairs_like_brackets() {
        let entries = vec![
            apply(1, "a"),
            apply(2, "b"),
            apply(3, "c"),
            revert(4, 3),
            revert(5, 2),
            apply(6, "d"),
        ];
        let kept: Vec<u64> = compact(&entries).iter().map(|e| e.seq).collect();
        assert_eq!(kept, vec![1, 6]);
        assert_eq!(cancelled_pairs(&entries), vec![(3, 4), (2, 5)]);
    }

    #[test]
    fn durable_write_replaces_the_file_and_the_lock_is_exclusive() {
        let dir = std::env::temp_dir().join(format!("espell-journal-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut j = Journal::open(&dir).unwrap();
        j.append(apply(1, "a")).unwrap();
        j.append(apply(2, "b")).unwrap();
        assert_eq!(read(&dir).unwrap().len(), 2);
        assert!(!dir.join("journal.tmp").exists());
        assert!(Journal::open(&dir).unwrap_err().contains("in use"));
        drop(j);
        assert_eq!(Journal::open(&dir).unwrap().next_seq(), 3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_journal_that_is_not_text_or_not_a_directory_is_named() {
        let dir = std::env::temp_dir().join(format!("espell-journal-bytes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("journal"), b"espell-journal 1\nentry 1 apply 1\nfile: \xff\n").unwrap();
        let e = read(&dir).unwrap_err();
        assert!(e.ends_with("journal:3: not UTF-8 text (a damaged journal)"), "{e}");
        let file = dir.join("journal");
        let e = Journal::open(&file).unwrap_err();
        assert!(e.contains("not a directory"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_764_754_231), "2025-12-03 09:30:31 UTC");
    }
}
