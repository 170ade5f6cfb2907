//! Checking what came back from a target before showing it as an instance's answer: an
//! espell answer is UTF-8 text whose first line begins with one of the words the protocol
//! uses (`crate::protocol`); anything else — a relay that printed a banner, a shell error,
//! binary noise — is refused with the first bytes, escaped (ADR 0021).

/// The beginnings of an answer's first line.
const FIRST_WORDS: &[&str] = &[
    "committed",
    "rolled back",
    "would commit",
    "would roll back",
    "not applied",
    "history",
    "state",
    "status",
    "error",
    "prepared",
    "applied in place",
    "in-place failed",
];

/// How many bytes of a refused answer are shown.
const SHOWN: usize = 80;

/// Answers `bytes` as the answer's text if it is an espell answer, otherwise the error
/// `TARGET: not an espell answer (got: "...")`.
pub fn check(target: &str, bytes: &[u8]) -> Result<String, String> {
    let refused = || format!("{target}: not an espell answer (got: {})", preview(bytes));
    let text = std::str::from_utf8(bytes).map_err(|_| refused())?;
    let first = text.lines().next().unwrap_or("");
    let known = FIRST_WORDS.iter().any(|w| {
        first.strip_prefix(w).is_some_and(|rest| {
            rest.is_empty() || rest.starts_with(':') || rest.starts_with(' ') || rest.starts_with('(')
        })
    });
    if known {
        Ok(text.to_string())
    } else {
        Err(refused())
    }
}

/// The first bytes of `bytes`, quoted and escaped (`\n`, `\x1b`, ...), with `...` when cut.
pub fn preview(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(SHOWN)];
    let mut out = String::from("\"");
    for chunk in shown.utf8_chunks() {
        for c in chunk.valid().chars() {
            out.extend(c.escape_debug());
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    if bytes.len() > SHOWN {
        out.push_str(&format!("... ({} bytes)", bytes.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_pass_and_garbage_is_named_with_its_first_bytes() {
        for good in [
            "committed: update Up\nchanges: 1\n",
            "rolled back: update X\nreason: boom\n",
            "would commit: update Up\n",
            "history: 0 committed update(s)\n",
            "state: code #00ff\n",
            "status\nuptime-ms: 3\n",
            "error: permission denied (uid 5 is not the owner)",
            "prepared: update Up (held)\n",
            "not applied: update X abandoned\n",
            "applied in place: update X (1.00 ms; no pause, no atomicity)\n",
        ] {
            assert_eq!(check("t", good.as_bytes()), Ok(good.to_string()), "{good}");
        }
        assert_eq!(
            check("exec:echo hi", b"hi\n").unwrap_err(),
            "exec:echo hi: not an espell answer (got: \"hi\\n\")"
        );
        assert!(check("t", b"stateless\n").is_err());
        assert!(check("t", b"").unwrap_err().contains("(got: \"\")"));
        let e = check("t", b"\x1b[31mWelcome\xff\xfe").unwrap_err();
        assert!(e.contains("\\u{1b}[31mWelcome\\xff\\xfe"), "{e}");
        let long = vec![b'y'; 1000];
        let e = check("t", &long).unwrap_err();
        assert!(e.ends_with("... (1000 bytes))") && e.len() < 200, "{e}");
        // A valid first line with binary after it is refused as a whole (not UTF-8).
        assert!(check("t", b"committed\n\xff").is_err());
    }
}
