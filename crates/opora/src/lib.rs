//! The `opora` binary as a library, so the integration tests and benchmarks start exactly what
//! `opora serve` starts.

pub mod cli;
pub mod config;
pub mod demo_mail;
pub mod server;
