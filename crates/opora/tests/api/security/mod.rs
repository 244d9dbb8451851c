//! The attack list, replayed: each finding of the security review as a test that failed before
//! its fix, beside the defences that held. Run with every other test (`scripts/test`).

mod accounts;
mod fanout;
mod requests;
mod secrets;
mod spoofing;
