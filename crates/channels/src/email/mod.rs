//! The e-mail channel: parsing inbound mail, the LMTP listener, IMAP fetching, SMTP sending,
//! and the driver that puts them behind the channel interface.

mod driver;
mod form;
pub mod imap;
pub mod lmtp;
pub mod mailbox;
pub mod parse;
mod poll;
mod send;
pub mod smtp;
mod tls;

pub use driver::Email;
pub use parse::{Bounce, ParsedEmail, Part, Person, parse};

/// What the e-mail channel follows, from the `[mail]` configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Our name in LMTP greetings and the default EHLO name.
    pub hostname: String,
    pub max_message_bytes: usize,
    /// A reply without threading headers or a case token joins the same sender's case with the
    /// same subject when that case was active this recently.
    pub subject_window_ms: i64,
    /// How long an IMAP IDLE waits before it is renewed.
    pub idle_minutes: u64,
    /// How often a server without IDLE is polled.
    pub poll_seconds: u64,
    /// Limit for each network step with a mail server.
    pub timeout_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            hostname: "opora.localhost".into(),
            max_message_bytes: 50 << 20,
            subject_window_ms: 14 * 86_400_000,
            idle_minutes: 25,
            poll_seconds: 60,
            timeout_seconds: 60,
        }
    }
}
