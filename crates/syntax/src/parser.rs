//! The parser: class files, method source and REPL input, by recursive descent.
//!
//! Recursion only happens at nesting constructs (parentheses, blocks, literal
//! arrays), bounded by [`MAX_NESTING`]; chains of sends are parsed by loops, and
//! the height of every expression tree is bounded by [`MAX_HEIGHT`] so that
//! recursive consumers (drop, the compiler) cannot overflow the stack either.

mod expr;
#[cfg(test)]
mod tests;

use crate::ast::*;
use crate::diagnostic::{line_col, Diagnostic};
use crate::lexer::{LexError, Lexer, Token, TokenKind};

/// How deeply parentheses, blocks and literal arrays may nest.
pub(crate) const MAX_NESTING: u32 = 256;
/// How tall an expression tree may be (long send chains count, one level per send).
pub(crate) const MAX_HEIGHT: u32 = 1000;
/// How much machine stack the parser lets itself use. [`MAX_NESTING`] stays well
/// below it in optimized builds (a few KiB per level); this second guard protects
/// unoptimized builds, whose frames are several times larger.
const STACK_BUDGET: usize = 1 << 20;

/// An address in the current stack frame, to measure how much stack is in use.
#[inline(never)]
fn stack_address() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Names that cannot be declared or assigned.
const RESERVED: [&str; 6] = ["self", "super", "nil", "true", "false", "thisContext"];

/// Errors are boxed internally to keep the recursive functions' frames small.
type PResult<T> = Result<T, Box<Diagnostic>>;

/// What ends a statement list, and where it was opened (for error messages).
#[derive(Clone, Copy)]
struct Closer {
    kind: CloserKind,
    open: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum CloserKind {
    Block,
    MethodBody,
    EndOfInput,
}

impl Closer {
    fn token(&self) -> TokenKind {
        match self.kind {
            CloserKind::Block => TokenKind::RBracket,
            CloserKind::MethodBody => TokenKind::RParen,
            CloserKind::EndOfInput => TokenKind::Eof,
        }
    }
}

/// A recursive-descent parser over one source text.
pub(crate) struct Parser<'a> {
    src: &'a str,
    file: &'a str,
    lexer: Lexer<'a>,
    /// The current (not yet consumed) token.
    tok: Token,
    /// End of the last consumed token.
    prev_end: usize,
    /// Current nesting of parentheses, blocks and literal arrays.
    nesting: u32,
    /// A lexical error on the very first token, reported by the entry point.
    first_error: Option<LexError>,
    /// The stack address when parsing started (see [`STACK_BUDGET`]).
    stack_base: usize,
}

impl<'a> Parser<'a> {
    /// A parser for `source`; `file` is only used in diagnostics.
    pub(crate) fn new(source: &'a str, file: &'a str) -> Parser<'a> {
        let mut lexer = Lexer::new(source);
        let (tok, first_error) = match lexer.next_token() {
            Ok(tok) => (tok, None),
            Err(e) => (
                Token {
                    kind: TokenKind::Eof,
                    start: 0,
                    end: 0,
                },
                Some(e),
            ),
        };
        Parser {
            src: source,
            file,
            lexer,
            tok,
            prev_end: 0,
            nesting: 0,
            first_error,
            stack_base: stack_address(),
        }
    }

    /// Parses a class file: `Name = Super ( | fields | methods ---- | fields | methods )`.
    pub(crate) fn class_file(&mut self) -> Result<ClassDef, Diagnostic> {
        self.class_file_inner().map_err(|e| *e)
    }

    /// Parses one method, Pharo-style (`pattern | temps | statements`) or SOM-style
    /// (`pattern = ( ... )`, `pattern = primitive`), up to the end of the input.
    pub(crate) fn method_source(&mut self) -> Result<MethodDef, Diagnostic> {
        self.method_source_inner().map_err(|e| *e)
    }

    /// Parses optional temporaries and statements up to the end of the input.
    pub(crate) fn expression_source(&mut self) -> Result<Body, Diagnostic> {
        self.expression_source_inner().map_err(|e| *e)
    }

    fn class_file_inner(&mut self) -> PResult<ClassDef> {
        self.check_first_token()?;
        if self.tok.kind != TokenKind::Ident {
            return Err(self.expected("a class name"));
        }
        let name = self.text().to_string();
        let name_span = Span::new(self.tok.start, self.tok.end);
        self.advance()?;
        if !self.at_op("=") {
            return Err(self.expected_with(|| format!("'=' after the class name '{name}'")));
        }
        self.advance()?;
        let superclass = match self.tok.kind {
            TokenKind::Ident => {
                let sup = self.text();
                self.advance()?;
                match sup {
                    "nil" => Superclass::Nil,
                    _ => Superclass::Named(sup.to_string()),
                }
            }
            TokenKind::LParen => Superclass::Implicit,
            _ => return Err(self.expected("a superclass name or '(' to start the class body")),
        };
        if self.tok.kind != TokenKind::LParen {
            return Err(self.expected("'(' to start the class body"));
        }
        let open = self.tok.start;
        self.advance()?;
        let instance_fields = self.field_list()?;
        let instance_methods = self.methods(open, true)?;
        let (class_fields, class_methods) = if self.tok.kind == TokenKind::Separator {
            self.advance()?;
            (self.field_list()?, self.methods(open, false)?)
        } else {
            (Vec::new(), Vec::new())
        };
        if self.tok.kind != TokenKind::RParen {
            return Err(self.expected_with(|| format!("')' to close the class body opened at {}", self.pos(open))));
        }
        self.advance()?;
        if self.tok.kind != TokenKind::Eof {
            return Err(self.expected("end of file after the class definition"));
        }
        Ok(ClassDef {
            name,
            name_span,
            superclass,
            instance_fields,
            instance_methods,
            class_fields,
            class_methods,
        })
    }

    fn method_source_inner(&mut self) -> PResult<MethodDef> {
        self.check_first_token()?;
        let start = self.tok.start;
        let (selector, params) = self.pattern()?;
        let body = if self.at_op("=") {
            // No statement can start with `=`, so this is the SOM form.
            self.advance()?;
            let body = self.method_body(&selector)?;
            if self.tok.kind != TokenKind::Eof {
                return Err(self.expected("end of input after the method"));
            }
            body
        } else {
            let closer = Closer {
                kind: CloserKind::EndOfInput,
                open: start,
            };
            MethodBody::Code(self.body(closer)?.0)
        };
        Ok(MethodDef {
            selector,
            params,
            body,
            span: Span::new(start, self.prev_end),
        })
    }

    fn expression_source_inner(&mut self) -> PResult<Body> {
        self.check_first_token()?;
        let closer = Closer {
            kind: CloserKind::EndOfInput,
            open: 0,
        };
        Ok(self.body(closer)?.0)
    }

    // ----- class structure -------------------------------------------------

    /// Parses methods until `----` or `)`.
    fn methods(&mut self, class_open: usize, instance_side: bool) -> PResult<Vec<MethodDef>> {
        let mut methods = Vec::new();
        loop {
            match self.tok.kind {
                TokenKind::Ident | TokenKind::Keyword | TokenKind::Binary => methods.push(self.method_def()?),
                TokenKind::RParen | TokenKind::Separator => return Ok(methods),
                _ => {
                    return Err(self.expected_with(|| {
                        let separator = if instance_side { ", '----'" } else { "" };
                        format!(
                            "a method definition{separator} or ')' to close the class body opened at {}",
                            self.pos(class_open)
                        )
                    }));
                }
            }
        }
    }

    /// Parses `pattern = primitive` or `pattern = ( ... )` inside a class body.
    fn method_def(&mut self) -> PResult<MethodDef> {
        let start = self.tok.start;
        let (selector, params) = self.pattern()?;
        if !self.at_op("=") {
            return Err(self.expected_with(|| format!("'=' after the method pattern '{selector}'")));
        }
        self.advance()?;
        let body = self.method_body(&selector)?;
        Ok(MethodDef {
            selector,
            params,
            body,
            span: Span::new(start, self.prev_end),
        })
    }

    /// Parses a method pattern: `foo`, `+ x` or `at: i put: v`.
    fn pattern(&mut self) -> PResult<(String, Vec<String>)> {
        match self.tok.kind {
            TokenKind::Ident => {
                let selector = self.text().to_string();
                self.advance()?;
                Ok((selector, Vec::new()))
            }
            TokenKind::Binary => {
                let selector = self.text().to_string();
                self.advance()?;
                let param = self.name(|| format!("a parameter name after '{selector}'"))?;
                Ok((selector, vec![param]))
            }
            TokenKind::Keyword => {
                let mut selector = String::new();
                let mut params = Vec::new();
                while self.tok.kind == TokenKind::Keyword {
                    let keyword = self.text();
                    selector.push_str(keyword);
                    self.advance()?;
                    params.push(self.name(|| format!("a parameter name after '{keyword}'"))?);
                }
                Ok((selector, params))
            }
            _ => Err(self.expected("a method pattern (a unary, binary or keyword selector)")),
        }
    }

    /// Parses what follows `=` in a method definition.
    fn method_body(&mut self, selector: &str) -> PResult<MethodBody> {
        if self.tok.kind == TokenKind::Ident && self.text() == "primitive" {
            self.advance()?;
            return Ok(MethodBody::Primitive);
        }
        if self.tok.kind != TokenKind::LParen {
            return Err(
                self.expected_with(|| format!("'(' or 'primitive' after '=' in the definition of '{selector}'"))
            );
        }
        let closer = Closer {
            kind: CloserKind::MethodBody,
            open: self.tok.start,
        };
        self.advance()?;
        let body = self.body(closer)?.0;
        self.advance()?; // the `)`, checked by `statements`
        Ok(MethodBody::Code(body))
    }

    /// Parses an optional `| a b |` field list at the start of either side of a class.
    fn field_list(&mut self) -> PResult<Vec<String>> {
        if self.at_bar() && !self.bar_method_follows() {
            self.name_list("field")
        } else {
            Ok(Vec::new())
        }
    }

    /// Whether the `|` at hand starts a binary method `| arg = ...` rather than a field list.
    fn bar_method_follows(&self) -> bool {
        if self.text() != "|" {
            return false;
        }
        let mut lookahead = self.lexer;
        let next = lookahead.next_token();
        let after = lookahead.next_token();
        matches!((next, after), (Ok(n), Ok(a))
            if n.kind == TokenKind::Ident
                && a.kind == TokenKind::Binary
                && &self.src[a.start..a.end] == "=")
    }

    // ----- bodies and statements ------------------------------------------

    /// Parses `| temps |` (optional) and statements; stops at the closer without
    /// consuming it. Answers the body and the height of its tallest statement.
    fn body(&mut self, closer: Closer) -> PResult<(Body, u32)> {
        let locals = if self.at_bar() {
            self.name_list("temporary variable")?
        } else {
            Vec::new()
        };
        let (stmts, height) = self.statements(closer)?;
        Ok((Body { locals, stmts }, height))
    }

    /// Parses `| a b c |`, the current token being an operator starting with `|`.
    fn name_list(&mut self, what: &str) -> PResult<Vec<String>> {
        let open = self.tok.start;
        self.split_bar()?;
        let mut names = Vec::new();
        while self.tok.kind == TokenKind::Ident {
            names.push(self.name(|| format!("a {what} name"))?);
        }
        if !self.at_bar() {
            return Err(
                self.expected_with(|| format!("a {what} name or '|' to close the list opened at {}", self.pos(open)))
            );
        }
        self.split_bar()?;
        Ok(names)
    }

    /// Parses statements separated by periods, up to (not including) the closer.
    fn statements(&mut self, closer: Closer) -> PResult<(Vec<Stmt>, u32)> {
        let end = closer.token();
        let mut stmts = Vec::new();
        let mut height = 0;
        loop {
            while self.tok.kind == TokenKind::Period {
                self.advance()?;
            }
            if self.tok.kind == end {
                break;
            }
            if self.tok.kind == TokenKind::Caret {
                self.advance()?;
                let value = self.expression("an expression after '^'")?;
                height = height.max(value.height);
                stmts.push(Stmt::Return(value.expr));
                while self.tok.kind == TokenKind::Period {
                    self.advance()?;
                }
                if self.tok.kind != end {
                    return Err(self.expected_with(|| {
                        format!("{} (nothing may follow a return statement)", self.closer_text(closer))
                    }));
                }
                break;
            }
            if !self.can_start_expression() {
                return Err(self.expected_with(|| format!("a statement or {}", self.closer_text(closer))));
            }
            let value = self.expression("a statement")?;
            height = height.max(value.height);
            stmts.push(Stmt::Expr(value.expr));
            if self.tok.kind == end {
                break;
            }
            if self.tok.kind != TokenKind::Period {
                return Err(self.expected_with(|| format!("'.' or {}", self.closer_text(closer))));
            }
        }
        Ok((stmts, height))
    }

    /// Describes the closer for "expected ..." messages.
    fn closer_text(&self, closer: Closer) -> String {
        let at = self.pos(closer.open);
        match closer.kind {
            CloserKind::Block => format!("']' to close the block opened at {at}"),
            CloserKind::MethodBody => format!("')' to close the method body opened at {at}"),
            CloserKind::EndOfInput => "end of input".to_string(),
        }
    }

    // ----- token helpers ---------------------------------------------------

    /// Reports a lexical error found on the first token.
    fn check_first_token(&mut self) -> PResult<()> {
        match self.first_error.take() {
            Some(e) => Err(self.lex_error(e)),
            None => Ok(()),
        }
    }

    /// Consumes the current token and lexes the next one.
    fn advance(&mut self) -> PResult<()> {
        self.prev_end = self.tok.end;
        self.tok = self.lexer.next_token().map_err(|e| self.lex_error(e))?;
        Ok(())
    }

    /// Consumes one `|` from an operator token starting with `|` (splitting `||`, `|-`...).
    fn split_bar(&mut self) -> PResult<()> {
        if self.tok.end - self.tok.start == 1 {
            return self.advance();
        }
        let rest = self.tok.start + 1;
        self.prev_end = rest;
        self.lexer.seek(rest);
        self.tok = self.lexer.next_token().map_err(|e| self.lex_error(e))?;
        Ok(())
    }

    /// The source text of the current token.
    fn text(&self) -> &'a str {
        &self.src[self.tok.start..self.tok.end]
    }

    /// Whether the current token is the operator `op`.
    fn at_op(&self, op: &str) -> bool {
        self.tok.kind == TokenKind::Binary && self.text() == op
    }

    /// Whether the current token is an operator starting with `|`.
    fn at_bar(&self) -> bool {
        self.tok.kind == TokenKind::Binary && self.text().starts_with('|')
    }

    /// Consumes an identifier being declared (parameter, temporary, field).
    fn name(&mut self, expected: impl FnOnce() -> String) -> PResult<String> {
        if self.tok.kind != TokenKind::Ident {
            return Err(self.expected_with(expected));
        }
        let name = self.text();
        if RESERVED.contains(&name) {
            return Err(self.reserved_name(name));
        }
        self.advance()?;
        Ok(name.to_string())
    }

    /// Enters a nesting construct opened at `open`, failing when nested too deeply.
    fn enter(&mut self, open: usize) -> PResult<()> {
        let stack_used = stack_address().abs_diff(self.stack_base);
        if self.nesting >= MAX_NESTING || stack_used > STACK_BUDGET {
            return Err(self.too_deep(open));
        }
        self.nesting += 1;
        Ok(())
    }

    /// Leaves a nesting construct.
    fn leave(&mut self) {
        self.nesting -= 1;
    }

    // ----- diagnostics -----------------------------------------------------

    /// `line:column` of a byte offset, for messages.
    fn pos(&self, offset: usize) -> String {
        let (line, column) = line_col(self.src, offset);
        format!("{line}:{column}")
    }

    #[cold]
    #[inline(never)]
    fn error_at(&self, offset: usize, message: String, incomplete: bool) -> Box<Diagnostic> {
        Box::new(Diagnostic::new(self.src, self.file, offset, message, incomplete))
    }

    #[cold]
    #[inline(never)]
    fn lex_error(&self, e: LexError) -> Box<Diagnostic> {
        self.error_at(e.offset, e.message, e.incomplete)
    }

    #[cold]
    #[inline(never)]
    fn reserved_name(&self, name: &str) -> Box<Diagnostic> {
        let message = format!("'{name}' is a reserved word and cannot be declared as a name");
        self.error_at(self.tok.start, message, false)
    }

    #[cold]
    #[inline(never)]
    fn too_deep(&self, open: usize) -> Box<Diagnostic> {
        let message =
            format!("nesting too deep: parentheses, blocks and literal arrays may nest at most {MAX_NESTING} levels");
        self.error_at(open, message, false)
    }

    /// Like [`Parser::expected`], building the description only when needed.
    #[cold]
    #[inline(never)]
    fn expected_with(&self, what: impl FnOnce() -> String) -> Box<Diagnostic> {
        self.expected(&what())
    }

    /// "expected {what}, found {current token}", at the current token (or just after
    /// the last token at end of input, which makes the diagnostic `incomplete`).
    #[cold]
    #[inline(never)]
    fn expected(&self, what: &str) -> Box<Diagnostic> {
        let message = format!("expected {what}, found {}", self.describe_token());
        if self.tok.kind == TokenKind::Eof {
            self.error_at(self.prev_end, message, true)
        } else {
            self.error_at(self.tok.start, message, false)
        }
    }

    /// Describes the current token for messages.
    fn describe_token(&self) -> String {
        const MAX_CHARS: usize = 30;
        let text = self.text();
        let shown: String = text.chars().take(MAX_CHARS).collect();
        let ellipsis = if shown.len() < text.len() { "..." } else { "" };
        match self.tok.kind {
            TokenKind::Eof => "end of file".to_string(),
            TokenKind::Str(_) => format!("string {shown}{ellipsis}"),
            _ => format!("'{shown}{ellipsis}'"),
        }
    }
}
