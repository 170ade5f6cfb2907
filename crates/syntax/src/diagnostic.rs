//! Syntax errors: where they are, what was expected, and how to show them.

use std::fmt;

/// A syntax error with its position and the source line it is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name given to the parser (only used for display).
    pub file: String,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters (not bytes).
    pub column: u32,
    /// What was expected and what was found.
    pub message: String,
    /// The source line the error is on, without its line terminator.
    pub line_text: String,
    /// True when the input ended too early (unclosed bracket, parenthesis, string or
    /// comment, or an expression cut short): a REPL may read more lines and retry.
    pub incomplete: bool,
}

impl Diagnostic {
    /// Builds a diagnostic for byte `offset` of `source` (clamped to the text and to a
    /// character boundary).
    pub fn new(source: &str, file: &str, offset: usize, message: impl Into<String>, incomplete: bool) -> Diagnostic {
        let offset = floor_char_boundary(source, offset);
        let (line, column) = line_col(source, offset);
        Diagnostic {
            file: file.to_string(),
            line,
            column,
            message: message.into(),
            line_text: line_text(source, offset).to_string(),
            incomplete,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}:{}:{}: error: {}",
            self.file, self.line, self.column, self.message
        )?;
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        // Keep tabs in the caret line so the caret lines up under tabbed text.
        let caret_pad: String = self
            .line_text
            .chars()
            .take(self.column.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        writeln!(f, "{pad} |")?;
        writeln!(f, "{number} | {}", self.line_text)?;
        write!(f, "{pad} | {caret_pad}^")
    }
}

impl std::error::Error for Diagnostic {}

/// The 1-based line and 1-based character column of byte `offset` in `source`.
/// Offsets past the end, or inside a multi-byte character, are clamped.
pub fn line_col(source: &str, offset: usize) -> (u32, u32) {
    let offset = floor_char_boundary(source, offset);
    let before = &source[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() + 1;
    (line as u32, column as u32)
}

/// The text of the line containing byte `offset`, without `\n` or `\r\n`.
fn line_text(source: &str, offset: usize) -> &str {
    let start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = source[offset..].find('\n').map_or(source.len(), |i| offset + i);
    source[start..end].trim_end_matches('\r')
}

/// The largest character boundary of `source` that is `<= offset`.
pub(crate) fn floor_char_boundary(source: &str, offset: usize) -> usize {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars() {
        let src = "ab\nçé x\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 2), (1, 3));
        assert_eq!(line_col(src, 3), (2, 1));
        // 'x' is after two 2-byte characters and a space.
        assert_eq!(line_col(src, 8), (2, 4));
        // Inside 'ç': clamped back to its start.
        assert_eq!(line_col(src, 4), (2, 1));
        assert_eq!(line_col(src, 1000), (3, 1));
    }

    #[test]
    fn display_is_rustc_like() {
        let d = Diagnostic::new("a := 1.\n\tb := ).\n", "t.som", 14, "oops", false);
        assert_eq!((d.line, d.column), (2, 7));
        assert_eq!(d.line_text, "\tb := ).");
        assert_eq!(
            d.to_string(),
            "t.som:2:7: error: oops\n  |\n2 | \tb := ).\n  | \t     ^"
        );
    }

    #[test]
    fn crlf_is_trimmed() {
        let d = Diagnostic::new("x\r\ny", "f", 3, "m", true);
        assert_eq!((d.line, d.column, d.line_text.as_str()), (2, 1, "y"));
        assert!(d.incomplete);
    }
}
