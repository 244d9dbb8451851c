//! The `opora` binary as a library, so the integration tests and benchmarks start exactly what
//! `opora serve` starts.

pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod demo_mail;
pub mod mail;
pub mod workers;
