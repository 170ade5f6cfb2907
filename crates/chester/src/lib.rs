//! Chester: delivers update scripts to a running application over a control socket, waits
//! for the application to reach quiescence (update points and safe waits), and runs each
//! script in the hypervisor as a transaction, answering what happened.

pub mod answer;
pub mod client;
pub mod connection;
pub mod control;
pub mod journal;
pub mod protocol;
pub mod runtime;
pub mod status;
pub mod transport;
pub mod two_phase;
