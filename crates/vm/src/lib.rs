//! The Espell virtual machine: object spaces with their heaps, the bytecode compiler, the
//! interpreter and the primitives.

pub mod bootstrap;
pub mod bytecode;
pub mod class;
pub mod clock;
pub mod compiler;
pub mod context;
pub mod error;
pub mod heap;
pub mod hypervisor;
pub mod interpreter;
pub mod loader;
pub mod mop;
pub mod object;
pub mod primitives;
pub mod quiescence;
pub mod runner;
pub mod scheduler;
pub mod space;
pub mod value;
pub mod watchdog;

pub use error::VmError;
pub use interpreter::Interp;
pub use loader::Loader;
pub use value::Value;
