//! Errors that end a run: an explicit exit, an uncaught Smalltalk error, or a load failure.

use espell_syntax::Diagnostic;
use std::fmt;

/// Why execution stopped abnormally.
#[derive(Debug, Clone)]
pub enum VmError {
    /// `system exit: code`.
    Exit(i32),
    /// An error nobody handled: its message and the Smalltalk backtrace (innermost first).
    Uncaught {
        /// What went wrong.
        message: String,
        /// One line per activation, innermost first.
        backtrace: Vec<String>,
    },
    /// A primitive rejected its arguments (turned into `Uncaught` with a backtrace).
    PrimitiveFailed(String),
    /// A syntax or compile error while loading code.
    Compile(Box<Diagnostic>),
    /// A class file could not be found or read, or a load failed otherwise.
    Load(String),
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmError::Exit(code) => write!(f, "exit {code}"),
            VmError::Uncaught { message, backtrace } => {
                write!(f, "{message}")?;
                for line in backtrace {
                    write!(f, "\n    {line}")?;
                }
                Ok(())
            }
            VmError::PrimitiveFailed(m) => write!(f, "primitive failed: {m}"),
            VmError::Compile(d) => write!(f, "{d}"),
            VmError::Load(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for VmError {}

impl From<Diagnostic> for VmError {
    fn from(d: Diagnostic) -> Self {
        VmError::Compile(Box::new(d))
    }
}

/// A primitive's failure with a message.
pub fn prim_fail<T>(message: impl Into<String>) -> Result<T, VmError> {
    Err(VmError::PrimitiveFailed(message.into()))
}
