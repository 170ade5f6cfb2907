//! The `espell` command's pieces: building interpreters from options, the Smalltalk test
//! runner, the benchmark driver and the REPL.

pub mod bench;
pub mod capture;
pub mod repl;
pub mod rusage;
pub mod setup;
pub mod testrunner;
