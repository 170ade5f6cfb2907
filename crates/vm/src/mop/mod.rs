//! The meta-object protocol (MOP.md): an update session over a paused application space,
//! whose every change is logged so that it can be committed or rolled back as a whole.
//!
//! `digest` fingerprints a space's classes, methods and special objects; `session` holds the Rust API (one method per MOP operation, snake_case of MOP.md's
//! names); `undo` the log; `mirrors` the Smalltalk mirror primitives of a hypervisor
//! space, which call the same Rust API.

mod active_code;
pub mod code_digest;
pub mod digest;
mod layout;
pub mod migrate;
pub mod mirrors;
mod revert_check;
pub mod session;
pub mod transfer;
pub mod undo;

pub use code_digest::{code_digest, CodeDigest};
pub use digest::{space_digest, SpaceDigest};
pub use session::{ChangeSummary, MopError, SlotRef, UndoLog, UpdateSession};
