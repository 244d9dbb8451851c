//! The attack list, replayed (and access by team, `access`): each finding of the security review as a test that failed before
//! its fix, beside the defences that held — the role × route matrix read from the OpenAPI
//! document and malformed input on every operation (`errors`), sessions, CSRF and sign-in
//! brakes (`sessions`), SSRF forms (`opora-channels` webhook tests and `integrations`), and
//! hostile markup in a real browser (`e2e/tests/safety.test.js`). Run with every other test
//! (`scripts/test`).

mod access;
mod accounts;
mod contract;
mod errors;
mod fanout;
mod hooks;
mod requests;
mod secrets;
mod sessions;
mod spoofing;
