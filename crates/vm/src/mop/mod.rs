//! The meta-object protocol (MOP.md): an update session over a paused application space,
//! whose every change is logged so that it can be committed or rolled back as a whole.
//!
//! `session` holds the Rust API (one method per MOP operation, snake_case of MOP.md's
//! names); `undo` the log; `mirrors` the Smalltalk mirror primitives of a hypervisor
//! space, which call the same Rust API.

pub mod mirrors;
pub mod session;
pub mod undo;

pub use session::{ChangeSummary, MopError, SlotRef, UndoLog, UpdateSession};
