//! The control protocol: one request per connection, one answer.
//!
//! A request is a header line `ESPELL/1 <kind> <file name>` followed by the update
//! script's source; the client then shuts its writing side. The answer is text whose first
//! line is `committed`, `rolled back`, `would commit`, `would roll back`, `not applied`,
//! `history`, `state`, `status` or `error: ...`, followed by details.
//!
//! A fleet update's prepare (`Prepared`) is the one exception: its header gives the
//! script's length, the connection stays open, the first answer is framed
//! (`frame_answer`), and the coordinator's decision follows as a line (`two_phase`).

/// The largest request accepted (bytes).
pub const MAX_MESSAGE: usize = 1 << 20;
/// The header's protocol tag.
pub const TAG: &str = "ESPELL/1";

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Run the script and commit it (or roll back on failure).
    Apply,
    /// Run the script and always roll back, answering what it would change.
    DryRun,
    /// Answer the list of committed updates.
    History,
    /// Undo the last committed update (as a new transaction, from its undo information).
    Revert,
    /// Answer the digest of the application's classes, methods and special objects (no
    /// pause: answered at the next safe point).
    State,
    /// The baseline: run the script inside the application by plain reflection, without
    /// pause or atomicity.
    InPlace,
    /// Phase 1 of a fleet update: run the script and hold the application paused with the
    /// changes made but not committed, until a decision or the prepare timeout. On the wire
    /// it has its own header (`prepare_header`); inside, `file` carries a `Prepared`.
    Prepare,
    /// Phase 2: commit the held update (internal: sent by the control thread that holds the
    /// prepare's connection; `file` is the transaction number).
    Commit,
    /// Phase 2: roll the held update back (internal, like `Commit`).
    Abort,
    /// Answer uptime, processes, GC counters, the digest and the update log (no pause;
    /// see `crate::status`).
    Status,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Apply => "apply",
            Kind::DryRun => "dry-run",
            Kind::History => "history",
            Kind::Revert => "revert",
            Kind::State => "state",
            Kind::InPlace => "in-place",
            Kind::Prepare => "prepare",
            Kind::Commit => "commit",
            Kind::Abort => "abort",
            Kind::Status => "status",
        }
    }
}

/// One request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// What to do.
    pub kind: Kind,
    /// The script's file name (for messages).
    pub file: String,
    /// The script's source.
    pub script: String,
}

impl Request {
    /// The bytes sent on the wire.
    pub fn encode(&self) -> Vec<u8> {
        format!(
            "{TAG} {} {}\n{}",
            self.kind.word(),
            self.file.replace('\n', " "),
            self.script
        )
        .into_bytes()
    }

    /// Parses a request, or says what is wrong with it.
    pub fn decode(bytes: &[u8]) -> Result<Request, String> {
        if bytes.len() > MAX_MESSAGE {
            return Err(format!(
                "message too large ({} bytes, at most {MAX_MESSAGE})",
                bytes.len()
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| "the message is not UTF-8 text".to_string())?;
        let (header, script) = text.split_once('\n').unwrap_or((text, ""));
        let mut words = header.splitn(3, ' ');
        if words.next() != Some(TAG) {
            return Err(format!("not an {TAG} request"));
        }
        let kind = match words.next() {
            Some("apply") => Kind::Apply,
            Some("dry-run") => Kind::DryRun,
            Some("history") => Kind::History,
            Some("revert") => Kind::Revert,
            Some("state") => Kind::State,
            Some("in-place") => Kind::InPlace,
            Some("status") => Kind::Status,
            other => return Err(format!("unknown request kind {:?}", other.unwrap_or(""))),
        };
        let file = words.next().unwrap_or("update").trim().to_string();
        if matches!(kind, Kind::Apply | Kind::DryRun | Kind::InPlace) && script.trim().is_empty() {
            return Err("the request has no script".into());
        }
        Ok(Request {
            kind,
            file,
            script: script.to_string(),
        })
    }
}

/// The header word of a two-phase prepare request.
pub const PREPARE: &str = "prepare";
/// The header word of a two-phase revert (no script: the last update is undone at commit).
pub const PREPARE_REVERT: &str = "prepare-revert";
/// The longest a prepared instance waits for its decision (whatever the coordinator asks).
pub const MAX_PREPARE_TIMEOUT_MS: u64 = 60_000;

/// A prepare request's parameters (wire: `ESPELL/1 prepare TIMEOUT_MS LENGTH FILE`, then
/// exactly LENGTH bytes of script, or `ESPELL/1 prepare-revert TIMEOUT_MS 0 revert`; the
/// connection stays open for the decision line `commit` or `abort`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// The transaction number (given by the control thread; unique in the process).
    pub txn: u64,
    /// A revert of the last update instead of a script.
    pub revert: bool,
    /// How long the instance holds the prepared update without a decision (ms).
    pub timeout_ms: u64,
    /// The script's file name.
    pub file: String,
}

impl Prepared {
    /// The header line a coordinator sends (with the script's length).
    pub fn header(timeout_ms: u64, length: usize, file: &str) -> String {
        format!("{TAG} {PREPARE} {timeout_ms} {length} {}\n", file.replace('\n', " "))
    }

    /// The header line of a two-phase revert.
    pub fn revert_header(timeout_ms: u64) -> String {
        format!("{TAG} {PREPARE_REVERT} {timeout_ms} 0 revert\n")
    }

    /// Parses a prepare header line: answers (revert?, timeout, script length, file name).
    pub fn parse_header(line: &str) -> Result<(bool, u64, usize, String), String> {
        let mut words = line.trim_end_matches(['\r', '\n']).splitn(5, ' ');
        if words.next() != Some(TAG) {
            return Err(format!("not an {TAG} {PREPARE} request"));
        }
        let revert = match words.next() {
            Some(PREPARE) => false,
            Some(PREPARE_REVERT) => true,
            _ => return Err(format!("not an {TAG} {PREPARE} request")),
        };
        let timeout = words
            .next()
            .and_then(|w| w.parse::<u64>().ok())
            .filter(|&t| t > 0 && t <= MAX_PREPARE_TIMEOUT_MS)
            .ok_or_else(|| format!("the prepare timeout must be 1..{MAX_PREPARE_TIMEOUT_MS} ms"))?;
        let length = words
            .next()
            .and_then(|w| w.parse::<usize>().ok())
            .filter(|&n| if revert { n == 0 } else { n > 0 && n <= MAX_MESSAGE })
            .ok_or_else(|| {
                if revert {
                    "a prepare-revert has no script (length 0)".to_string()
                } else {
                    format!("the script length must be 1..{MAX_MESSAGE} bytes")
                }
            })?;
        let file = words.next().unwrap_or("update").trim().to_string();
        Ok((revert, timeout, length, file))
    }

    /// Packs the parameters into a request's `file` field (between the control thread and
    /// the VM thread only).
    pub fn to_field(&self) -> String {
        let what = if self.revert { "revert" } else { "apply" };
        format!("{} {} {what} {}", self.txn, self.timeout_ms, self.file)
    }

    /// Unpacks `to_field`.
    pub fn from_field(field: &str) -> Option<Prepared> {
        let mut w = field.splitn(4, ' ');
        Some(Prepared {
            txn: w.next()?.parse().ok()?,
            timeout_ms: w.next()?.parse().ok()?,
            revert: match w.next()? {
                "revert" => true,
                "apply" => false,
                _ => return None,
            },
            file: w.next().unwrap_or("").to_string(),
        })
    }
}

/// Frames an answer sent while the connection stays open (the prepare's first answer):
/// `ESPELL/1 answer LENGTH` and the text.
pub fn frame_answer(text: &str) -> Vec<u8> {
    format!("{TAG} answer {}\n{text}", text.len()).into_bytes()
}

/// Reads the length from a framed answer's header line.
pub fn parse_answer_header(line: &str) -> Option<usize> {
    line.trim_end()
        .strip_prefix(&format!("{TAG} answer "))
        .and_then(|n| n.parse().ok())
        .filter(|&n| n <= MAX_MESSAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let r = Request {
            kind: Kind::DryRun,
            file: "up.som".into(),
            script: "X = ChesterUpdate ()\n".into(),
        };
        assert_eq!(Request::decode(&r.encode()), Ok(r));
    }

    #[test]
    fn random_messages_never_panic_and_valid_ones_round_trip() {
        // A small xorshift generator: deterministic, no dependency.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let words = [
            "ESPELL/1", "apply", "dry-run", "history", "revert", "state", "in-place", "x", "\n", " ",
        ];
        for _ in 0..20_000 {
            let mut msg = Vec::new();
            for _ in 0..(next() % 8) {
                if next() % 3 == 0 {
                    msg.push((next() % 256) as u8);
                } else {
                    msg.extend_from_slice(words[(next() % words.len() as u64) as usize].as_bytes());
                }
            }
            if let Ok(r) = Request::decode(&msg) {
                assert_eq!(Request::decode(&r.encode()).map(|d| d.kind), Ok(r.kind));
            }
        }
    }

    #[test]
    fn prepare_headers_round_trip_and_bad_ones_are_refused() {
        let h = Prepared::header(2000, 17, "up date.som");
        assert_eq!(
            Prepared::parse_header(&h),
            Ok((false, 2000, 17, "up date.som".to_string()))
        );
        let r = Prepared::revert_header(1500);
        assert_eq!(Prepared::parse_header(&r), Ok((true, 1500, 0, "revert".to_string())));
        assert!(Prepared::parse_header("ESPELL/1 prepare-revert 1500 3 x").is_err());
        assert!(Prepared::parse_header("ESPELL/1 prepare 0 17 x").is_err());
        assert!(Prepared::parse_header("ESPELL/1 prepare 2000 0 x").is_err());
        assert!(Prepared::parse_header("ESPELL/1 prepare 99999999 5 x").is_err());
        assert!(Prepared::parse_header("ESPELL/1 apply x").is_err());
        let p = Prepared {
            txn: 7,
            revert: false,
            timeout_ms: 2000,
            file: "a b.som".into(),
        };
        assert_eq!(Prepared::from_field(&p.to_field()), Some(p));
        let framed = String::from_utf8(frame_answer("prepared: x\n")).unwrap();
        let (head, body) = framed.split_once('\n').unwrap();
        assert_eq!(parse_answer_header(head), Some(body.len()));
        // The internal kinds never come from the wire.
        assert!(Request::decode(b"ESPELL/1 commit 1\n").is_err());
        assert!(Request::decode(b"ESPELL/1 abort 1\n").is_err());
    }

    #[test]
    fn garbage_and_oversize_are_refused() {
        assert!(Request::decode(b"hello").unwrap_err().contains("not an"));
        assert!(Request::decode(b"ESPELL/1 explode x\nbody")
            .unwrap_err()
            .contains("unknown request kind"));
        assert!(Request::decode(b"ESPELL/1 apply x\n   ")
            .unwrap_err()
            .contains("no script"));
        assert!(Request::decode(&[0xff, 0xfe]).unwrap_err().contains("UTF-8"));
        assert!(Request::decode(&vec![b'a'; MAX_MESSAGE + 1])
            .unwrap_err()
            .contains("too large"));
    }
}
