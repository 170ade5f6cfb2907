//! The `espell` command's pieces: building interpreters from options, the Smalltalk test
//! runner, the benchmark driver, the REPL, and the update experiment with its HTTP load
//! driver.

pub mod bench;
pub mod bridge;
pub mod capture;
pub mod closed_stdout;
pub mod dashboard;
pub mod experiment;
pub mod fleet;
pub mod http_client;
pub mod journal_cmd;
pub mod repl;
pub mod rusage;
pub mod setup;
pub mod testrunner;
pub mod workload;
