//! The e-mail channel: parsing inbound mail, the LMTP listener, the IMAP fetcher and the SMTP
//! sender. Threading hints that need no I/O live in `opora_domain::mail`.

pub mod imap;
pub mod lmtp;
pub mod parse;
pub mod smtp;
mod tls;

pub use parse::{Bounce, Mailbox, ParsedEmail, Part, parse};
