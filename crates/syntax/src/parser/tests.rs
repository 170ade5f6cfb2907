use crate::ast::*;
use crate::{parse_class, parse_expression, parse_method, Diagnostic};

// ----- helpers ---------------------------------------------------------------

fn body(src: &str) -> Body {
    parse_expression(src, "t").unwrap_or_else(|e| panic!("{e}"))
}

fn stmts(src: &str) -> Vec<Stmt> {
    body(src).stmts
}

/// The single expression statement of `src`.
fn expr(src: &str) -> Expr {
    match stmts(src).as_slice() {
        [Stmt::Expr(e)] => e.clone(),
        other => panic!("expected one expression statement, got {other:?}"),
    }
}

fn lit(src: &str) -> Literal {
    match expr(src).kind {
        ExprKind::Literal(l) => l,
        other => panic!("not a literal: {other:?}"),
    }
}

fn err(src: &str) -> Diagnostic {
    match parse_expression(src, "t.st") {
        Err(e) => e,
        Ok(b) => panic!("{src:?} parsed: {b:?}"),
    }
}

fn class_err(src: &str) -> Diagnostic {
    match parse_class(src, "C.som") {
        Err(e) => e,
        Ok(c) => panic!("{src:?} parsed: {c:?}"),
    }
}

/// A compact rendering of an expression, to write expectations concisely.
fn show(e: &Expr) -> String {
    match &e.kind {
        ExprKind::SelfRef => "self".into(),
        ExprKind::Super => "super".into(),
        ExprKind::Nil => "nil".into(),
        ExprKind::True => "true".into(),
        ExprKind::False => "false".into(),
        ExprKind::ThisContext => "thisContext".into(),
        ExprKind::Var(v) => v.clone(),
        ExprKind::Assign(v, e) => format!("({v} := {})", show(e)),
        ExprKind::Literal(l) => format!("{l:?}"),
        ExprKind::Send(r, m) => format!("({} {})", show(r), show_msg(m)),
        ExprKind::Cascade(r, ms) => {
            let parts: Vec<_> = ms.iter().map(show_msg).collect();
            format!("({} {})", show(r), parts.join("; "))
        }
        ExprKind::Block(b) => {
            let s: Vec<_> = b.body.stmts.iter().map(show_stmt).collect();
            format!("[{:?} {:?} {}]", b.params, b.body.locals, s.join(". "))
        }
    }
}

fn show_msg(m: &Message) -> String {
    if m.args.is_empty() {
        return m.selector.clone();
    }
    let args: Vec<_> = m.args.iter().map(show).collect();
    format!("{}{}", m.selector, args.join(","))
}

fn show_stmt(s: &Stmt) -> String {
    match s {
        Stmt::Expr(e) => show(e),
        Stmt::Return(e) => format!("^{}", show(e)),
    }
}

fn shown(src: &str) -> String {
    let s: Vec<_> = stmts(src).iter().map(show_stmt).collect();
    s.join(". ")
}

fn at(d: &Diagnostic) -> (u32, u32) {
    (d.line, d.column)
}

// ----- expressions -------------------------------------------------------------

#[test]
fn pseudo_variables_and_vars() {
    assert_eq!(
        shown("self. super. nil. true. false. thisContext. selfish. _x. primitive"),
        "self. super. nil. true. false. thisContext. selfish. _x. primitive"
    );
}

#[test]
fn precedence_and_associativity() {
    assert_eq!(shown("a foo bar"), "((a foo) bar)");
    assert_eq!(shown("a + b * c"), "((a +b) *c)");
    assert_eq!(shown("a + b foo"), "(a +(b foo))");
    assert_eq!(shown("a at: b + 1 put: c foo"), "(a at:put:(b +Integer(1)),(c foo))");
    assert_eq!(shown("(a at: 1) foo"), "((a at:Integer(1)) foo)");
    assert_eq!(shown("a == b"), "(a ==b)");
    assert_eq!(shown("a --> b ~= c"), "((a -->b) ~=c)");
    assert_eq!(shown("a // b >>> c && d || e"), "((((a //b) >>>c) &&d) ||e)");
    assert_eq!(shown("a <= b , c @ d % e \\ f"), "(((((a <=b) ,c) @d) %e) \\f)");
}

#[test]
fn statements_and_returns() {
    assert_eq!(shown("a. b."), "a. b");
    assert_eq!(shown("a.. b"), "a. b");
    assert_eq!(shown("^ a"), "^a");
    assert_eq!(shown("a. ^ b."), "a. ^b");
    assert_eq!(shown(""), "");
    assert_eq!(shown("\"only a comment\""), "");
}

#[test]
fn temporaries() {
    let b = body("| a b | a := 1");
    assert_eq!(b.locals, vec!["a", "b"]);
    assert_eq!(body("|| 3").locals, Vec::<String>::new());
    assert_eq!(body("| a |-1 abs").stmts.len(), 1);
}

#[test]
fn assignments() {
    assert_eq!(shown("a := b := 3 + 4"), "(a := (b := (Integer(3) +Integer(4))))");
    assert_eq!(shown("a:=b"), "(a := b)");
    let e = err("self := 3");
    assert_eq!(at(&e), (1, 1));
    assert!(e.message.contains("cannot assign to 'self'"), "{e}");
}

#[test]
fn blocks() {
    assert_eq!(
        shown("[:a :b | | t | t := a. b]"),
        "[[\"a\", \"b\"] [\"t\"] (t := a). b]"
    );
    assert_eq!(shown("[:a | ]"), "[[\"a\"] [] ]");
    assert_eq!(shown("[ ]"), "[[] [] ]");
    assert_eq!(shown("[:a]"), "[[\"a\"] [] ]");
    assert_eq!(shown("[:a || t | t]"), "[[\"a\"] [\"t\"] t]");
    assert_eq!(shown("[:a |-1]"), "[[\"a\"] [] Integer(-1)]");
    assert_eq!(shown("[ ^ 3 ]"), "[[] [] ^Integer(3)]");
    assert_eq!(shown("[:x | x | y]"), "[[\"x\"] [] (x |y)]");
}

#[test]
fn cascades() {
    assert_eq!(shown("a foo; bar; baz: 1"), "(a foo; bar; baz:Integer(1))");
    assert_eq!(
        shown("Transcript show: 'a'; cr; show: 'b' , 'c'"),
        "(Transcript show:String(\"a\"); cr; show:(String(\"b\") ,String(\"c\")))"
    );
    // The receiver is that of the last message before the first `;`.
    assert_eq!(shown("a b c; d"), "((a b) c; d)");
    assert_eq!(shown("3 + 4 foo; - 1"), "(Integer(3) +(Integer(4) foo); -Integer(1))");
    assert_eq!(shown("x := a foo; bar"), "(x := (a foo; bar))");
    assert_eq!(shown("(a foo; bar) baz"), "((a foo; bar) baz)");
    let e = err("a; foo");
    assert_eq!(at(&e), (1, 2));
    assert!(e.message.contains("cascade needs a message"), "{e}");
    let e = err("a foo; bar baz");
    assert_eq!(at(&e), (1, 12));
    let e = err("a foo; 3");
    assert!(e.message.contains("expected a message after ';', found '3'"), "{e}");
}

#[test]
fn cascade_spans() {
    let e = expr("  a foo; bar: 1 ");
    assert_eq!(e.span, Span::new(2, 15));
    let ExprKind::Cascade(r, ms) = e.kind else { panic!() };
    assert_eq!(r.span, Span::new(2, 3));
    assert_eq!(ms[0].span, Span::new(4, 7));
    assert_eq!(ms[1].span, Span::new(9, 13));
}

#[test]
fn spans() {
    let e = expr("(a + 1) at: 2 put: 3");
    assert_eq!(e.span, Span::new(0, 20));
    let ExprKind::Send(recv, m) = e.kind else { panic!() };
    assert_eq!(recv.span, Span::new(0, 7));
    assert_eq!(m.span, Span::new(8, 11));
    assert_eq!(m.args[1].span, Span::new(19, 20));
    assert_eq!(expr("[:a | a]").span, Span::new(0, 8));
    assert_eq!(expr("-5 abs").span, Span::new(0, 6));
    assert_eq!(expr("x := 'é' size").span, Span::new(0, 14));
}

// ----- literals -------------------------------------------------------------------

#[test]
fn integers() {
    assert_eq!(lit("42"), Literal::Integer(42));
    assert_eq!(lit("9223372036854775807"), Literal::Integer(i64::MAX));
    assert_eq!(lit("-9223372036854775808"), Literal::Integer(i64::MIN));
    assert_eq!(
        lit("9223372036854775808"),
        Literal::BigInteger("9223372036854775808".into())
    );
    assert_eq!(
        lit("1267650600228229401496703205376"),
        Literal::BigInteger("1267650600228229401496703205376".into())
    );
    assert_eq!(
        lit("-000000000000000000000099999999999999999999"),
        Literal::BigInteger("-99999999999999999999".into())
    );
    assert_eq!(lit("007"), Literal::Integer(7));
}

#[test]
fn doubles() {
    assert_eq!(lit("1.5"), Literal::Double(1.5));
    assert_eq!(lit("-200.25"), Literal::Double(-200.25));
    assert_eq!(lit("1.5e10"), Literal::Double(1.5e10));
    assert_eq!(lit("2.5e-3"), Literal::Double(2.5e-3));
    assert_eq!(shown("1."), "Integer(1)");
    assert_eq!(shown("x := 1. y"), "(x := Integer(1)). y");
}

#[test]
fn negative_literals_and_minus() {
    assert_eq!(shown("5 * -5"), "(Integer(5) *Integer(-5))");
    assert_eq!(shown("-4 abs"), "(Integer(-4) abs)");
    assert_eq!(shown("3-1"), "(Integer(3) -Integer(1))");
    assert_eq!(shown("3 - 1"), "(Integer(3) -Integer(1))");
    assert_eq!(shown("3 -1"), "(Integer(3) -Integer(1))");
    assert_eq!(shown("x-1"), "(x -Integer(1))");
    assert_eq!(shown("3 - -1"), "(Integer(3) -Integer(-1))");
    assert_eq!(shown("a at: -1"), "(a at:Integer(-1))");
    assert_eq!(shown("^-1"), "^Integer(-1)");
    assert_eq!(
        shown("self -- 1. self --> 1"),
        "(self --Integer(1)). (self -->Integer(1))"
    );
    let e = err("- 1");
    assert_eq!(at(&e), (1, 1));
    assert!(e.message.contains("expected a statement"), "{e}");
}

#[test]
fn strings_and_symbols() {
    assert_eq!(lit("'it''s'"), Literal::String("it's".into()));
    assert_eq!(lit(r"'a\nb\\'"), Literal::String("a\nb\\".into()));
    assert_eq!(lit("'two\nlines'"), Literal::String("two\nlines".into()));
    assert_eq!(lit("#foo"), Literal::Symbol("foo".into()));
    assert_eq!(lit("#at:put:"), Literal::Symbol("at:put:".into()));
    assert_eq!(lit("#+"), Literal::Symbol("+".into()));
    assert_eq!(lit("#'any text'"), Literal::Symbol("any text".into()));
    assert_eq!(lit("#foo:bar:"), Literal::Symbol("foo:bar:".into()));
}

#[test]
fn literal_arrays() {
    use Literal::*;
    assert_eq!(
        lit("#( 1 2.5 'a' #sym #(nested) -3 (x 4) true false nil foo at:put: + bar: - -2.5)"),
        Array(vec![
            Integer(1),
            Double(2.5),
            String("a".into()),
            Symbol("sym".into()),
            Array(vec![Symbol("nested".into())]),
            Integer(-3),
            Array(vec![Symbol("x".into()), Integer(4)]),
            True,
            False,
            Nil,
            Symbol("foo".into()),
            Symbol("at:put:".into()),
            Symbol("+".into()),
            Symbol("bar:".into()),
            Symbol("-".into()),
            Double(-2.5),
        ])
    );
    assert_eq!(lit("#()"), Array(vec![]));
    assert_eq!(lit("#(-1 -200.0)"), Array(vec![Integer(-1), Double(-200.0)]));
    let e = err("#(1 . 2)");
    assert_eq!(at(&e), (1, 5));
    assert!(
        e.message
            .contains("expected a literal or ')' to close the literal array opened at 1:1"),
        "{e}"
    );
}

// ----- methods ---------------------------------------------------------------------

#[test]
fn pharo_style_methods() {
    let src = "do: aBlock  1 to: self size do: [:i | aBlock value: (self at: i)]";
    let m = parse_method(src, "m").unwrap();
    assert_eq!(m.selector, "do:");
    assert_eq!(m.params, vec!["aBlock"]);
    assert_eq!(m.span, Span::new(0, src.len()));
    let MethodBody::Code(b) = &m.body else { panic!() };
    assert_eq!(b.stmts.len(), 1);

    let m = parse_method("\"c\" at: i put: v | t | t := v. ^ t \"trailing\"\n", "m").unwrap();
    assert_eq!((m.selector.as_str(), m.params.len()), ("at:put:", 2));
    assert_eq!(m.span, Span::new(4, 34));
    let MethodBody::Code(b) = &m.body else { panic!() };
    assert_eq!(b.locals, vec!["t"]);

    let m = parse_method("= other ^ self == other", "m").unwrap();
    assert_eq!((m.selector.as_str(), m.params[0].as_str()), ("=", "other"));
    let m = parse_method("foo", "m").unwrap();
    assert_eq!(m.body, MethodBody::Code(Body::default()));
    let m = parse_method("| other ^ other", "m").unwrap();
    assert_eq!(m.selector, "|");
}

#[test]
fn som_style_methods_in_parse_method() {
    let m = parse_method("foo = primitive", "m").unwrap();
    assert_eq!(m.body, MethodBody::Primitive);
    let m = parse_method("+ x = ( ^ x )", "m").unwrap();
    assert_eq!(m.selector, "+");
    assert_eq!(m.span, Span::new(0, 13));
    let m = parse_method("= x = ( | t | ^ x )", "m").unwrap();
    let MethodBody::Code(b) = &m.body else { panic!() };
    assert_eq!(b.locals, vec!["t"]);
    let e = parse_method("foo = ( ) bar", "m").unwrap_err();
    assert_eq!(at(&e), (1, 11));
    assert!(e.message.contains("expected end of input after the method"));
}

// ----- class files ----------------------------------------------------------------

const CLASS: &str = "\"A test class\"
Counter = Object (
    | count step |
    count = ( ^ count )
    increment: by = ( count := count + by. ^ self )
    + other = primitive
    | other = ( ^ true )
    at: i put: v = ( | t | t := v. ^ t )
    -------
    | instances |
    new = ( ^ super new init )
)
";

#[test]
fn class_file() {
    let c = parse_class(CLASS, "Counter.som").unwrap();
    assert_eq!(c.name, "Counter");
    assert_eq!(c.name_span, Span::new(15, 22));
    assert_eq!(c.superclass, Superclass::Named("Object".into()));
    assert_eq!(c.instance_fields, vec!["count", "step"]);
    let sels: Vec<_> = c.instance_methods.iter().map(|m| m.selector.as_str()).collect();
    assert_eq!(sels, vec!["count", "increment:", "+", "|", "at:put:"]);
    assert_eq!(c.instance_methods[2].body, MethodBody::Primitive);
    assert_eq!(c.class_fields, vec!["instances"]);
    assert_eq!(c.class_methods.len(), 1);
    let m = &c.instance_methods[1];
    assert_eq!(
        &CLASS[m.span.start as usize..m.span.end as usize],
        "increment: by = ( count := count + by. ^ self )"
    );
    let m = &c.instance_methods[2];
    assert_eq!(
        &CLASS[m.span.start as usize..m.span.end as usize],
        "+ other = primitive"
    );
}

#[test]
fn class_variants() {
    let c = parse_class("Object = nil ()", "f").unwrap();
    assert_eq!(c.superclass, Superclass::Nil);
    let c = parse_class("Foo = ( foo = ( ) )", "f").unwrap();
    assert_eq!(c.superclass, Superclass::Implicit);
    assert!(c.instance_fields.is_empty());
    let c = parse_class("Foo = ( ---- | a | )", "f").unwrap();
    assert_eq!(c.class_fields, vec!["a"]);
    let c = parse_class("Foo = ( | a | ---- bar = ( ^ 1 ) )", "f").unwrap();
    assert_eq!(c.class_methods[0].selector, "bar");
    // A leading `| x = (` is a binary method named `|`, not a field list.
    let c = parse_class("Foo = ( | x = ( ^ x ) )", "f").unwrap();
    assert_eq!(c.instance_methods[0].selector, "|");
    let c = parse_class("Foo = ( || )", "f").unwrap();
    assert!(c.instance_fields.is_empty());
}

// ----- errors ----------------------------------------------------------------------

#[test]
fn unclosed_constructs_are_incomplete() {
    let e = err("[:a | a foo");
    assert_eq!(at(&e), (1, 12));
    assert!(e.incomplete);
    assert_eq!(
        e.message,
        "expected '.' or ']' to close the block opened at 1:1, found end of file"
    );
    let e = err("x := (3 +\n 4");
    assert_eq!(at(&e), (2, 3));
    assert!(e.incomplete);
    assert_eq!(
        e.message,
        "expected ')' to close the parenthesis opened at 1:6, found end of file"
    );
    let e = err("x := 'abc\ndef");
    assert_eq!((at(&e), e.incomplete), ((1, 6), true));
    let e = err("x \"comment");
    assert_eq!((at(&e), e.incomplete), ((1, 3), true));
    let e = err("#(1 2");
    assert!(e.incomplete);
    assert!(e.message.contains("literal array opened at 1:1"));
    let e = err("3 +");
    assert_eq!(e.message, "expected an argument after '+', found end of file");
    assert!(e.incomplete);
    let e = err("x at:");
    assert_eq!(e.message, "expected an argument after 'at:', found end of file");
    let e = class_err("Foo = (\n  bar = (\n ^ 1\n");
    assert!(e.incomplete);
    assert_eq!(at(&e), (3, 5));
    assert!(e.message.contains("')' to close the method body opened at 2:9"), "{e}");
    let e = class_err("Foo = (\n  bar = ( ^ 1 )\n");
    assert!(e.incomplete);
    assert!(e.message.contains("class body opened at 1:7"), "{e}");
}

#[test]
fn complete_errors_are_not_incomplete() {
    for src in ["3 + )", "x := .", "a b: c d: ]", "^ 1. 2", "$a", "x é", "# 3"] {
        let e = err(src);
        assert!(!e.incomplete, "{src:?}: {e}");
    }
}

#[test]
fn error_positions_and_messages() {
    let e = err("x := 3 +\n  ) foo");
    assert_eq!(at(&e), (2, 3));
    assert_eq!(e.line_text, "  ) foo");
    assert_eq!(e.message, "expected an argument after '+', found ')'");
    assert_eq!(e.file, "t.st");

    let e = err("a foo ]");
    assert_eq!(e.message, "expected '.' or end of input, found ']'");
    assert_eq!(at(&e), (1, 7));

    let e = err("^ 1. 2");
    assert_eq!(at(&e), (1, 6));
    assert!(e.message.contains("nothing may follow a return"), "{e}");

    let e = err("[:a b]");
    assert_eq!(e.message, "expected '|' or ']' after the block parameters, found 'b'");
    let e = err("[: 3 | ]");
    assert_eq!(at(&e), (1, 4));
    let e = err("| a 3 | a");
    assert_eq!(at(&e), (1, 5));
    assert!(e.message.contains("'|' to close the list opened at 1:1"), "{e}");
    let e = err("| self |");
    assert!(e.message.contains("reserved"), "{e}");

    let e = err("'héllo' foo: é");
    assert_eq!(at(&e), (1, 14));
    assert!(e.message.contains("unexpected character 'é'"), "{e}");

    let e = err("x at:put: 3");
    assert_eq!(at(&e), (1, 3));
    assert!(e.message.contains("after 'at:'"), "{e}");

    let e = err("x ---- y");
    assert!(e.message.contains("found '----'"), "{e}");
}

#[test]
fn class_errors() {
    let e = class_err("");
    assert_eq!(e.message, "expected a class name, found end of file");
    assert_eq!(at(&e), (1, 1));
    let e = class_err("Foo (");
    assert_eq!(e.message, "expected '=' after the class name 'Foo', found '('");
    let e = class_err("Foo = Bar baz (");
    assert_eq!(at(&e), (1, 11));
    let e = class_err("Foo = ( bar ^ 1 )");
    assert_eq!(e.message, "expected '=' after the method pattern 'bar', found '^'");
    let e = class_err("Foo = ( bar = 3 )");
    assert!(e.message.contains("'(' or 'primitive'"), "{e}");
    let e = class_err("Foo = ( ---- ---- )");
    assert!(e.message.contains("')' to close the class body"), "{e}");
    let e = class_err("Foo = ( 3 )");
    assert!(e.message.contains("a method definition, '----' or ')'"), "{e}");
    let e = class_err("Foo = ( ) x");
    assert_eq!(e.message, "expected end of file after the class definition, found 'x'");
    let e = class_err("Foo = ( at: = ( ) )");
    assert_eq!(e.message, "expected a parameter name after 'at:', found '='");
    let e = class_err("Foo = ( bar = ( ^ 1 ^ 2 ) )");
    assert_eq!(at(&e), (1, 21));
}

#[test]
fn display_format() {
    let e = err("x := 3 +\n  ) foo");
    assert_eq!(
        e.to_string(),
        "t.st:2:3: error: expected an argument after '+', found ')'\n  |\n2 |   ) foo\n  |   ^"
    );
}

// ----- limits ------------------------------------------------------------------------

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for (open, close) in [("(", ")"), ("[", "]"), ("#(", ")")] {
        // 64 levels fit even in unoptimized builds (see STACK_BUDGET).
        let ok = format!("{}1{}", open.repeat(64), close.repeat(64));
        assert!(parse_expression(&ok, "t").is_ok(), "{open}");
        let limit = super::MAX_NESTING as usize + 1;
        let deep = format!("{}1{}", open.repeat(limit), close.repeat(limit));
        let e = parse_expression(&deep, "t").unwrap_err();
        assert!(e.message.contains("nesting too deep"), "{e}");
        let deep = format!("{}1{}", open.repeat(100_000), close.repeat(100_000));
        let e = parse_expression(&deep, "t").unwrap_err();
        assert!(e.message.contains("nesting too deep"), "{e}");
        assert!(!e.incomplete);
        // Unclosed: still a clean error.
        let e = parse_expression(&open.repeat(100_000), "t").unwrap_err();
        assert!(e.message.contains("nesting too deep"), "{e}");
    }
}

#[test]
fn long_chains_are_bounded() {
    let ok = format!("x{}", " foo".repeat(900));
    assert!(parse_expression(&ok, "t").is_ok());
    for src in [
        format!("x{}", " foo".repeat(100_000)),
        format!("x{}", " + 1".repeat(100_000)),
        format!("{}3", "a := ".repeat(100_000)),
        format!("{}x{}{}", "[".repeat(200), " foo".repeat(900), "]".repeat(200)),
    ] {
        let e = parse_expression(&src, "t").unwrap_err();
        assert!(e.message.contains("nesting too deep"), "{e}");
    }
    // Many statements are fine: they are not nested.
    let many = "x foo. ".repeat(100_000);
    assert_eq!(stmts(&many).len(), 100_000);
}
