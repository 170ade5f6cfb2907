//! The control protocol: one request per connection, one answer.
//!
//! A request is a header line `ESPELL/1 <kind> <file name>` followed by the update
//! script's source; the client then shuts its writing side. The answer is text whose first
//! line is `committed`, `rolled back`, `would commit`, `would roll back`, `not applied`,
//! `history`, `state`, `status` or `error: ...`, followed by details.

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
