//! Espell's front end: lexer, parser, AST and diagnostics for the SOM dialect
//! (class files, Pharo-style method source and REPL expressions).

pub mod ast;
pub mod diagnostic;
mod lexer;
mod parser;

pub use ast::*;
pub use diagnostic::Diagnostic;

/// Parses a whole SOM class file (`Name = Super ( ... )`). `file` is only used in diagnostics.
pub fn parse_class(source: &str, file: &str) -> Result<ClassDef, Diagnostic> {
    parser::Parser::new(source, file).class_file()
}

/// Parses one method written Pharo-style (`at: i put: v  | t | stmts`) or SOM-style
/// (`at: i put: v = ( | t | stmts )`), as the MOP's compile takes it.
pub fn parse_method(source: &str, file: &str) -> Result<MethodDef, Diagnostic> {
    parser::Parser::new(source, file).method_source()
}

/// Parses temporaries and statements (REPL input, `espell eval`).
pub fn parse_expression(source: &str, file: &str) -> Result<Body, Diagnostic> {
    parser::Parser::new(source, file).expression_source()
}
