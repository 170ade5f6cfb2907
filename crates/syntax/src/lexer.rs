//! The lexer: turns source text into tokens on demand.
//!
//! It is a cheap `Copy` cursor over the text, so the parser can look ahead by
//! copying it, and re-lex from the middle of an operator run (to split `||`).

/// What a token is. Text-valued kinds (identifiers, numbers, operators) keep only
/// their span; strings and symbols carry their decoded value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TokenKind {
    /// `foo`, `_x`, also `self`, `nil`, `primitive`...
    Ident,
    /// `at:` (an identifier immediately followed by a colon).
    Keyword,
    /// `at:put:` written without spaces (only meaningful inside literal arrays).
    Keywords,
    /// A run of operator characters, e.g. `+`, `<=`, `-->`, `|`.
    Binary,
    /// `----` (four or more dashes): the class-side separator.
    Separator,
    /// `[0-9]+`.
    Integer,
    /// `[0-9]+.[0-9]+` with an optional exponent.
    Double,
    /// `'...'`, decoded.
    Str(String),
    /// `#foo`, `#at:put:`, `#+`, `#'text'`, decoded, without the `#`.
    Symbol(String),
    /// `#(`.
    HashParen,
    /// `:`.
    Colon,
    /// `:=`.
    Assign,
    /// `^`.
    Caret,
    /// `.`.
    Period,
    /// `;`.
    Semicolon,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `[`.
    LBracket,
    /// `]`.
    RBracket,
    /// End of input.
    Eof,
}

/// A token and the byte range it covers.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

/// A lexical error: message, byte offset, and whether it is due to the input ending.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LexError {
    pub message: String,
    pub offset: usize,
    pub incomplete: bool,
}

/// A cursor over the source that produces one token per `next_token` call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

/// The characters that make up binary selectors.
pub(crate) fn is_operator_char(b: u8) -> bool {
    matches!(
        b,
        b'~' | b'&' | b'|' | b'*' | b'/' | b'\\' | b'+' | b'=' | b'>' | b'<' | b',' | b'@' | b'%' | b'-'
    )
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src` (after a byte-order mark, if any).
    pub fn new(src: &'a str) -> Lexer<'a> {
        let pos = if src.starts_with('\u{FEFF}') { 3 } else { 0 };
        Lexer { src, pos }
    }

    /// Moves the cursor to byte `pos` (must be a character boundary).
    pub fn seek(&mut self, pos: usize) {
        self.pos = pos;
    }

    fn peek_at(&self, pos: usize) -> Option<u8> {
        self.src.as_bytes().get(pos).copied()
    }

    fn error(&self, message: String, offset: usize, incomplete: bool) -> LexError {
        LexError {
            message,
            offset,
            incomplete,
        }
    }

    /// Skips whitespace and comments.
    fn skip_trivia(&mut self) -> Result<(), LexError> {
        let bytes = self.src.as_bytes();
        loop {
            while self.pos < bytes.len() && bytes[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if self.peek_at(self.pos) != Some(b'"') {
                return Ok(());
            }
            let start = self.pos;
            match self.src[start + 1..].find('"') {
                Some(i) => self.pos = start + 1 + i + 1,
                None => {
                    return Err(self.error(
                        "unterminated comment: expected a closing '\"', found end of file".to_string(),
                        start,
                        true,
                    ))
                }
            }
        }
    }

    /// Produces the next token (an `Eof` token at the end, forever).
    pub fn next_token(&mut self) -> Result<Token, LexError> {
        self.skip_trivia()?;
        let start = self.pos;
        let Some(b) = self.peek_at(start) else {
            return Ok(Token {
                kind: TokenKind::Eof,
                start,
                end: start,
            });
        };
        let kind = match b {
            b'0'..=b'9' => self.number(),
            _ if is_ident_start(b) => self.identifier(),
            b'\'' => TokenKind::Str(self.string()?),
            b'#' => self.hash()?,
            _ if is_operator_char(b) => self.operator(),
            b':' => {
                if self.peek_at(start + 1) == Some(b'=') {
                    self.pos += 2;
                    TokenKind::Assign
                } else {
                    self.pos += 1;
                    TokenKind::Colon
                }
            }
            _ => {
                self.pos += 1;
                match b {
                    b'^' => TokenKind::Caret,
                    b'.' => TokenKind::Period,
                    b';' => TokenKind::Semicolon,
                    b'(' => TokenKind::LParen,
                    b')' => TokenKind::RParen,
                    b'[' => TokenKind::LBracket,
                    b']' => TokenKind::RBracket,
                    _ => {
                        self.pos = start;
                        return Err(self.unexpected_char(start));
                    }
                }
            }
        };
        Ok(Token {
            kind,
            start,
            end: self.pos,
        })
    }

    fn unexpected_char(&self, at: usize) -> LexError {
        let c = self.src[at..].chars().next().unwrap_or('?');
        let hint = if c == '$' {
            " (character literals are not supported; use a string)"
        } else {
            ""
        };
        self.error(format!("unexpected character {c:?}{hint}"), at, false)
    }

    fn skip_while(&mut self, pred: impl Fn(u8) -> bool) {
        while self.peek_at(self.pos).is_some_and(&pred) {
            self.pos += 1;
        }
    }

    fn number(&mut self) -> TokenKind {
        self.skip_while(|b| b.is_ascii_digit());
        let digit_at = |l: &Self, p: usize| l.peek_at(p).is_some_and(|b| b.is_ascii_digit());
        if self.peek_at(self.pos) != Some(b'.') || !digit_at(self, self.pos + 1) {
            return TokenKind::Integer;
        }
        self.pos += 1;
        self.skip_while(|b| b.is_ascii_digit());
        // Optional exponent: e10, e-3, e+3 (only when digits follow).
        if matches!(self.peek_at(self.pos), Some(b'e' | b'E')) {
            let mut p = self.pos + 1;
            if matches!(self.peek_at(p), Some(b'-' | b'+')) {
                p += 1;
            }
            if digit_at(self, p) {
                self.pos = p;
                self.skip_while(|b| b.is_ascii_digit());
            }
        }
        TokenKind::Double
    }

    /// The end of a keyword starting at `pos` (`name:` but not `name:=`), if there is one.
    fn keyword_end(&self, pos: usize) -> Option<usize> {
        if !self.peek_at(pos).is_some_and(is_ident_start) {
            return None;
        }
        let mut p = pos + 1;
        while self.peek_at(p).is_some_and(is_ident_char) {
            p += 1;
        }
        (self.peek_at(p) == Some(b':') && self.peek_at(p + 1) != Some(b'=')).then_some(p + 1)
    }

    fn identifier(&mut self) -> TokenKind {
        let Some(end) = self.keyword_end(self.pos) else {
            self.skip_while(is_ident_char);
            return TokenKind::Ident;
        };
        self.pos = end;
        let mut kind = TokenKind::Keyword;
        while let Some(end) = self.keyword_end(self.pos) {
            self.pos = end;
            kind = TokenKind::Keywords;
        }
        kind
    }

    fn operator(&mut self) -> TokenKind {
        if self.src[self.pos..].starts_with("----") {
            self.skip_while(|b| b == b'-');
            return TokenKind::Separator;
        }
        self.skip_while(is_operator_char);
        TokenKind::Binary
    }

    /// Lexes a string starting at the opening quote; returns its decoded value.
    fn string(&mut self) -> Result<String, LexError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut value = String::new();
        let mut p = start + 1;
        let mut chunk = p; // start of the not-yet-copied plain text
        loop {
            let Some(&b) = bytes.get(p) else {
                return Err(self.error(
                    "unterminated string: expected a closing \"'\", found end of file".to_string(),
                    start,
                    true,
                ));
            };
            match b {
                b'\'' if bytes.get(p + 1) == Some(&b'\'') => {
                    value.push_str(&self.src[chunk..p]);
                    value.push('\'');
                    p += 2;
                    chunk = p;
                }
                b'\'' => {
                    value.push_str(&self.src[chunk..p]);
                    self.pos = p + 1;
                    return Ok(value);
                }
                b'\\' => {
                    value.push_str(&self.src[chunk..p]);
                    let decoded = match bytes.get(p + 1) {
                        Some(b't') => Some('\t'),
                        Some(b'b') => Some('\u{8}'),
                        Some(b'n') => Some('\n'),
                        Some(b'r') => Some('\r'),
                        Some(b'f') => Some('\u{c}'),
                        Some(b'0') => Some('\0'),
                        Some(b'\'') => Some('\''),
                        Some(b'\\') => Some('\\'),
                        _ => None,
                    };
                    match decoded {
                        Some(c) => {
                            value.push(c);
                            p += 2;
                        }
                        // An unknown escape stays as written.
                        None => {
                            value.push('\\');
                            p += 1;
                        }
                    }
                    chunk = p;
                }
                _ => p += 1,
            }
        }
    }

    /// Lexes what follows `#`: a symbol or the start of a literal array.
    fn hash(&mut self) -> Result<TokenKind, LexError> {
        let start = self.pos;
        self.pos += 1;
        match self.peek_at(self.pos) {
            Some(b'(') => {
                self.pos += 1;
                Ok(TokenKind::HashParen)
            }
            Some(b'\'') => Ok(TokenKind::Symbol(self.string()?)),
            Some(b) if is_ident_start(b) => {
                self.skip_while(is_ident_char);
                // Keyword symbols: #at:put:, #foo:bar: (also #foo:bar).
                while self.peek_at(self.pos) == Some(b':') {
                    self.pos += 1;
                    self.skip_while(is_ident_char);
                }
                Ok(TokenKind::Symbol(self.src[start + 1..self.pos].to_string()))
            }
            Some(b) if is_operator_char(b) => {
                self.skip_while(is_operator_char);
                Ok(TokenKind::Symbol(self.src[start + 1..self.pos].to_string()))
            }
            _ => Err(self.error(
                format!(
                    "expected a symbol name, a string or '(' after '#', found {}",
                    describe_char(self.src, self.pos)
                ),
                self.pos,
                self.pos >= self.src.len(),
            )),
        }
    }
}

/// Describes the character at `pos` for an error message.
fn describe_char(src: &str, pos: usize) -> String {
    match src[pos..].chars().next() {
        None => "end of file".to_string(),
        Some(c) if c.is_whitespace() => "white space".to_string(),
        Some(c) => format!("{c:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::TokenKind::*;
    use super::*;

    fn lex(src: &str) -> Vec<(TokenKind, &str)> {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token().expect("lex error");
            if t.kind == Eof {
                return out;
            }
            out.push((t.kind, &src[t.start..t.end]));
        }
    }

    fn lex_err(src: &str) -> LexError {
        let mut lexer = Lexer::new(src);
        loop {
            match lexer.next_token() {
                Err(e) => return e,
                Ok(t) if t.kind == Eof => panic!("no error in {src:?}"),
                Ok(_) => {}
            }
        }
    }

    #[test]
    fn identifiers_and_keywords() {
        assert_eq!(
            lex("foo _x a1_b at: put:x x:=1 at:put: y"),
            vec![
                (Ident, "foo"),
                (Ident, "_x"),
                (Ident, "a1_b"),
                (Keyword, "at:"),
                (Keyword, "put:"),
                (Ident, "x"),
                (Ident, "x"),
                (Assign, ":="),
                (Integer, "1"),
                (Keywords, "at:put:"),
                (Ident, "y"),
            ]
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(
            lex("12 1.5 1. 3.x 1.5e10 2.0e-3 2e3 1.5e"),
            vec![
                (Integer, "12"),
                (Double, "1.5"),
                (Integer, "1"),
                (Period, "."),
                (Integer, "3"),
                (Period, "."),
                (Ident, "x"),
                (Double, "1.5e10"),
                (Double, "2.0e-3"),
                (Integer, "2"),
                (Ident, "e3"),
                (Double, "1.5"),
                (Ident, "e"),
            ]
        );
    }

    #[test]
    fn operators_and_separator() {
        assert_eq!(
            lex("+ == ~= --> ---- ------- | || - -5 ,"),
            vec![
                (Binary, "+"),
                (Binary, "=="),
                (Binary, "~="),
                (Binary, "-->"),
                (Separator, "----"),
                (Separator, "-------"),
                (Binary, "|"),
                (Binary, "||"),
                (Binary, "-"),
                (Binary, "-"),
                (Integer, "5"),
                (Binary, ","),
            ]
        );
    }

    #[test]
    fn punctuation_and_comments() {
        assert_eq!(
            lex("\"c\" ^ . ; ( ) [ ] : := \"multi\nline\""),
            vec![
                (Caret, "^"),
                (Period, "."),
                (Semicolon, ";"),
                (LParen, "("),
                (RParen, ")"),
                (LBracket, "["),
                (RBracket, "]"),
                (Colon, ":"),
                (Assign, ":="),
            ]
        );
    }

    #[test]
    fn strings() {
        let s = |src: &str| match &lex(src)[0].0 {
            Str(v) => v.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(s("'abc'"), "abc");
        assert_eq!(s("'it''s'"), "it's");
        assert_eq!(s(r"'\t\b\n\r\f\0\'\\'"), "\t\u{8}\n\r\u{c}\0'\\");
        assert_eq!(s(r"'\d'"), "\\d");
        assert_eq!(s("'two\nlines é'"), "two\nlines é");
        assert_eq!(s("''"), "");
    }

    #[test]
    fn symbols() {
        let syms: Vec<_> = lex("#foo #at:put: #+ #'a b' #foo:bar: #-- #\\")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            syms,
            vec![
                Symbol("foo".into()),
                Symbol("at:put:".into()),
                Symbol("+".into()),
                Symbol("a b".into()),
                Symbol("foo:bar:".into()),
                Symbol("--".into()),
                Symbol("\\".into()),
            ]
        );
        assert_eq!(lex("#( )")[0].0, HashParen);
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        assert_eq!(lex("\u{FEFF}x"), vec![(Ident, "x")]);
    }

    #[test]
    fn errors() {
        let e = lex_err("x 'abc");
        assert_eq!((e.offset, e.incomplete), (2, true));
        assert!(e.message.contains("unterminated string"));
        let e = lex_err("x \"abc");
        assert_eq!((e.offset, e.incomplete), (2, true));
        assert!(e.message.contains("unterminated comment"));
        let e = lex_err("x $a");
        assert_eq!((e.offset, e.incomplete), (2, false));
        assert!(e.message.contains("character literals"));
        let e = lex_err("x é");
        assert_eq!((e.offset, e.incomplete), (2, false));
        let e = lex_err("# foo");
        assert_eq!((e.offset, e.incomplete), (1, false));
        assert!(e.message.contains("after '#'"));
        let e = lex_err("#");
        assert!(e.incomplete);
        let e = lex_err("'a\\");
        assert!(e.incomplete);
    }
}
