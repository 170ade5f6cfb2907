//! Expressions: assignments, cascades, sends, primaries and literals.

use super::{Closer, CloserKind, PResult, Parser, MAX_HEIGHT, RESERVED};
use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::lexer::TokenKind;

/// An expression and the height of its tree (a leaf is 1).
pub(super) struct Node {
    pub expr: Expr,
    pub height: u32,
}

/// What the parser wanted when an operand is missing, rendered only on error.
#[derive(Clone, Copy)]
enum Wanted<'s> {
    /// A fixed description such as "an expression after '^'".
    Text(&'s str),
    /// An argument after the given selector part.
    ArgumentAfter(&'s str),
}

impl Wanted<'_> {
    fn render(self) -> String {
        match self {
            Wanted::Text(text) => text.to_string(),
            Wanted::ArgumentAfter(selector) => format!("an argument after '{selector}'"),
        }
    }
}

impl<'a> Parser<'a> {
    /// Parses `a := b := expr` or a (possibly cascaded) message expression.
    /// `wanted` describes the expression for the error when none is there.
    pub(super) fn expression(&mut self, wanted: &str) -> PResult<Node> {
        let mut targets = Vec::new();
        let mut wanted = Wanted::Text(wanted);
        while self.tok.kind == TokenKind::Ident && self.assignment_follows() {
            let name = self.text();
            if RESERVED.contains(&name) {
                return Err(self.error_at(self.tok.start, format!("cannot assign to '{name}'"), false));
            }
            targets.push((name, self.tok.start));
            self.advance()?;
            self.advance()?; // `:=`
            wanted = Wanted::Text("an expression after ':='");
        }
        let mut node = self.cascade(wanted)?;
        for (name, start) in targets.into_iter().rev() {
            let kind = ExprKind::Assign(name.to_string(), Box::new(node.expr));
            node = self.node(kind, start, node.height + 1)?;
        }
        Ok(node)
    }

    /// Whether the token after the current one is `:=`.
    fn assignment_follows(&self) -> bool {
        let mut lookahead = self.lexer;
        matches!(lookahead.next_token(), Ok(t) if t.kind == TokenKind::Assign)
    }

    /// Whether the current token can start an expression.
    pub(super) fn can_start_expression(&self) -> bool {
        matches!(
            self.tok.kind,
            TokenKind::Ident
                | TokenKind::Integer
                | TokenKind::Double
                | TokenKind::Str(_)
                | TokenKind::Symbol(_)
                | TokenKind::HashParen
                | TokenKind::LParen
                | TokenKind::LBracket
        ) || self.at_negative_number()
    }

    /// Parses a keyword expression, then `; message` parts if any.
    fn cascade(&mut self, wanted: Wanted<'_>) -> PResult<Node> {
        let first = self.keyword_expression(wanted)?;
        if self.tok.kind != TokenKind::Semicolon {
            return Ok(first);
        }
        let start = first.expr.span.start as usize;
        let (receiver, message) = match first.expr.kind {
            ExprKind::Send(receiver, message) => (receiver, message),
            _ => {
                let message = "a cascade needs a message before ';'";
                return Err(self.error_at(self.tok.start, message.to_string(), false));
            }
        };
        let mut height = first.height;
        let mut messages = vec![message];
        while self.tok.kind == TokenKind::Semicolon {
            self.advance()?;
            let (message, args_height) = self.cascade_message()?;
            height = height.max(args_height + 1);
            messages.push(message);
            if matches!(
                self.tok.kind,
                TokenKind::Ident | TokenKind::Keyword | TokenKind::Keywords | TokenKind::Binary
            ) {
                return Err(self.expected("';' or the end of the expression (each cascade part is a single message)"));
            }
        }
        self.node(ExprKind::Cascade(receiver, messages), start, height)
    }

    /// Parses one message after `;`: unary, binary with its argument, or keyword.
    fn cascade_message(&mut self) -> PResult<(Message, u32)> {
        match self.tok.kind {
            TokenKind::Ident => Ok((self.unary_message()?, 0)),
            TokenKind::Binary => self.binary_message(),
            TokenKind::Keyword => self.keyword_message(),
            _ => Err(self.expected("a message after ';'")),
        }
    }

    /// Parses `receiver key: arg key: arg ...` (or just a binary expression).
    fn keyword_expression(&mut self, wanted: Wanted<'_>) -> PResult<Node> {
        let receiver = self.binary_expression(wanted)?;
        match self.tok.kind {
            TokenKind::Keyword => {
                let (message, args_height) = self.keyword_message()?;
                self.send(receiver, message, args_height)
            }
            TokenKind::Keywords => Err(self.missing_keyword_argument()),
            _ => Ok(receiver),
        }
    }

    /// Parses `key: arg key: arg ...`; answers the message and its arguments' height.
    fn keyword_message(&mut self) -> PResult<(Message, u32)> {
        let span = Span::new(self.tok.start, self.tok.end);
        let mut selector = String::new();
        let mut args = Vec::new();
        let mut height = 0;
        while self.tok.kind == TokenKind::Keyword {
            let keyword = self.text();
            selector.push_str(keyword);
            self.advance()?;
            let arg = self.binary_expression(Wanted::ArgumentAfter(keyword))?;
            height = height.max(arg.height);
            args.push(arg.expr);
        }
        if self.tok.kind == TokenKind::Keywords {
            return Err(self.missing_keyword_argument());
        }
        let message = Message { selector, args, span };
        Ok((message, height))
    }

    /// The error for `at:put:` written without arguments in a send.
    #[cold]
    #[inline(never)]
    fn missing_keyword_argument(&self) -> Box<Diagnostic> {
        let keyword = self.text().split(':').next().unwrap_or_default();
        let message = format!("expected an argument after '{keyword}:', found '{}'", self.text());
        self.error_at(self.tok.start, message, false)
    }

    /// Parses a unary expression followed by binary sends.
    fn binary_expression(&mut self, wanted: Wanted<'_>) -> PResult<Node> {
        let mut node = self.unary_expression(wanted)?;
        while self.tok.kind == TokenKind::Binary {
            let (message, arg_height) = self.binary_message()?;
            node = self.send(node, message, arg_height)?;
        }
        Ok(node)
    }

    /// Parses `op arg`, where arg is a unary expression.
    fn binary_message(&mut self) -> PResult<(Message, u32)> {
        let selector = self.text();
        let span = Span::new(self.tok.start, self.tok.end);
        self.advance()?;
        let arg = self.unary_expression(Wanted::ArgumentAfter(selector))?;
        let message = Message {
            selector: selector.to_string(),
            args: vec![arg.expr],
            span,
        };
        Ok((message, arg.height))
    }

    /// Parses a primary followed by unary sends.
    fn unary_expression(&mut self, wanted: Wanted<'_>) -> PResult<Node> {
        let mut node = self.primary(wanted)?;
        while self.tok.kind == TokenKind::Ident {
            let message = self.unary_message()?;
            node = self.send(node, message, 0)?;
        }
        Ok(node)
    }

    fn unary_message(&mut self) -> PResult<Message> {
        let message = Message {
            selector: self.text().to_string(),
            args: Vec::new(),
            span: Span::new(self.tok.start, self.tok.end),
        };
        self.advance()?;
        Ok(message)
    }

    /// Builds a send of `message` to `receiver`, spanning up to the last token.
    fn send(&self, receiver: Node, message: Message, args_height: u32) -> PResult<Node> {
        let start = receiver.expr.span.start as usize;
        let height = receiver.height.max(args_height) + 1;
        if height > MAX_HEIGHT {
            return Err(self.too_tall(message.span.start as usize));
        }
        let kind = ExprKind::Send(Box::new(receiver.expr), message);
        self.node(kind, start, height)
    }

    /// Builds a node from `start` to the end of the last token, checking its height.
    fn node(&self, kind: ExprKind, start: usize, height: u32) -> PResult<Node> {
        if height > MAX_HEIGHT {
            return Err(self.too_tall(start));
        }
        let span = Span::new(start, self.prev_end);
        Ok(Node {
            expr: Expr { kind, span },
            height,
        })
    }

    #[cold]
    #[inline(never)]
    fn too_tall(&self, at: usize) -> Box<Diagnostic> {
        let message =
            format!("nesting too deep: expression has more than {MAX_HEIGHT} levels of sends, assignments and blocks");
        self.error_at(at, message, false)
    }

    /// Parses a variable, literal, block or parenthesized expression.
    fn primary(&mut self, wanted: Wanted<'_>) -> PResult<Node> {
        let start = self.tok.start;
        let kind = match self.tok.kind {
            TokenKind::Ident => {
                let kind = match self.text() {
                    "self" => ExprKind::SelfRef,
                    "super" => ExprKind::Super,
                    "nil" => ExprKind::Nil,
                    "true" => ExprKind::True,
                    "false" => ExprKind::False,
                    "thisContext" => ExprKind::ThisContext,
                    name => ExprKind::Var(name.to_string()),
                };
                self.advance()?;
                kind
            }
            TokenKind::LParen => return self.parenthesized(),
            TokenKind::LBracket => return self.block(),
            _ if self.can_start_expression() => ExprKind::Literal(self.literal()?),
            _ => return Err(self.expected_with(|| wanted.render())),
        };
        self.node(kind, start, 1)
    }

    /// Parses `( expression )`; the result's span includes the parentheses.
    fn parenthesized(&mut self) -> PResult<Node> {
        let open = self.tok.start;
        self.enter(open)?;
        self.advance()?;
        let mut node = self.expression("an expression after '('")?;
        if self.tok.kind != TokenKind::RParen {
            return Err(self.expected_with(|| format!("')' to close the parenthesis opened at {}", self.pos(open))));
        }
        self.advance()?;
        self.leave();
        node.expr.span = Span::new(open, self.prev_end);
        Ok(node)
    }

    /// Parses `[:a :b | | t | statements ]`.
    fn block(&mut self) -> PResult<Node> {
        let open = self.tok.start;
        self.enter(open)?;
        self.advance()?;
        let mut params = Vec::new();
        while self.tok.kind == TokenKind::Colon {
            self.advance()?;
            params.push(self.name(|| "a block parameter name after ':'".to_string())?);
        }
        if !params.is_empty() {
            if self.at_bar() {
                self.split_bar()?;
            } else if self.tok.kind != TokenKind::RBracket {
                return Err(self.expected("'|' or ']' after the block parameters"));
            }
        }
        let closer = Closer {
            kind: CloserKind::Block,
            open,
        };
        let (body, height) = self.body(closer)?;
        self.advance()?; // the `]`, checked by `statements`
        self.leave();
        self.node(ExprKind::Block(Block { params, body }), open, height + 1)
    }

    /// Whether the current token is a `-` written right before a digit.
    pub(super) fn at_negative_number(&self) -> bool {
        self.at_op("-") && self.src.as_bytes().get(self.tok.end).is_some_and(u8::is_ascii_digit)
    }

    /// Parses a number (possibly negative), string, symbol or literal array.
    fn literal(&mut self) -> PResult<Literal> {
        let negative = self.at_negative_number();
        if negative {
            self.advance()?;
        }
        let text = self.text();
        let literal = match &mut self.tok.kind {
            TokenKind::Integer => integer(text, negative),
            TokenKind::Double => {
                let value: f64 = text.parse().unwrap_or(f64::NAN);
                Literal::Double(if negative { -value } else { value })
            }
            TokenKind::Str(value) => Literal::String(std::mem::take(value)),
            TokenKind::Symbol(value) => Literal::Symbol(std::mem::take(value)),
            TokenKind::HashParen => return self.literal_array(),
            _ => return Err(self.expected("a literal")),
        };
        self.advance()?;
        Ok(literal)
    }

    /// Parses `#( ... )` or, inside one, `( ... )`.
    fn literal_array(&mut self) -> PResult<Literal> {
        let open = self.tok.start;
        self.enter(open)?;
        self.advance()?;
        let mut items = Vec::new();
        loop {
            let item = match self.tok.kind {
                TokenKind::RParen => break,
                TokenKind::LParen => self.literal_array()?,
                TokenKind::Ident => {
                    let item = match self.text() {
                        "true" => Literal::True,
                        "false" => Literal::False,
                        "nil" => Literal::Nil,
                        name => Literal::Symbol(name.to_string()),
                    };
                    self.advance()?;
                    item
                }
                TokenKind::Binary if self.at_negative_number() => self.literal()?,
                TokenKind::Keyword | TokenKind::Keywords | TokenKind::Binary | TokenKind::Separator => {
                    let item = Literal::Symbol(self.text().to_string());
                    self.advance()?;
                    item
                }
                TokenKind::Integer
                | TokenKind::Double
                | TokenKind::Str(_)
                | TokenKind::Symbol(_)
                | TokenKind::HashParen => self.literal()?,
                _ => {
                    return Err(self.expected_with(|| {
                        format!(
                            "a literal or ')' to close the literal array opened at {}",
                            self.pos(open)
                        )
                    }));
                }
            };
            items.push(item);
        }
        self.advance()?;
        self.leave();
        Ok(Literal::Array(items))
    }
}

/// The integer literal for decimal `digits`, negated if `negative`.
fn integer(digits: &str, negative: bool) -> Literal {
    let parsed = if negative {
        format!("-{digits}").parse::<i64>()
    } else {
        digits.parse::<i64>()
    };
    match parsed {
        Ok(value) => Literal::Integer(value),
        Err(_) => {
            let significant = digits.trim_start_matches('0');
            let sign = if negative { "-" } else { "" };
            Literal::BigInteger(format!("{sign}{significant}"))
        }
    }
}
