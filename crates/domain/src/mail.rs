//! E-mail in the domain: mailboxes and their servers, the states of a received message, and the
//! threading hints read from a message itself — the case-number token in the subject, the case in
//! a plus address, and the subject stripped of reply and forward prefixes in the languages our
//! customers write.

use serde::Serialize;

use crate::error::{Errors, FieldError};
use crate::ids::ChannelId;
use crate::string_enum;
use crate::time::Timestamp;
use crate::validate::{EmailAddress, line};

string_enum! {
    /// How a connection to a mail server is protected.
    pub enum Security {
        Tls => "tls",
        Starttls => "starttls",
        Plain => "none",
    }
}

string_enum! {
    /// What became of a received message. Only `received` ones wait for processing.
    pub enum RawStatus {
        Received => "received",
        Processed => "processed",
        Duplicate => "duplicate",
        Quarantined => "quarantined",
        Ignored => "ignored",
    }
}

string_enum! {
    /// How a message reached us.
    pub enum MailSource {
        Lmtp => "lmtp",
        Pipe => "pipe",
        Imap => "imap",
        Api => "api",
    }
}

/// An IMAP or SMTP server and the account on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: Option<String>,
    /// Never shown back: the API reports only whether one is set.
    #[serde(skip)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Imap,
    Smtp,
}

impl Protocol {
    pub fn default_port(self, security: Security) -> u16 {
        match (self, security) {
            (Protocol::Imap, Security::Tls) => 993,
            (Protocol::Imap, _) => 143,
            (Protocol::Smtp, Security::Tls) => 465,
            (Protocol::Smtp, Security::Starttls) => 587,
            (Protocol::Smtp, Security::Plain) => 25,
        }
    }
}

/// A support address: where its mail is fetched from (IMAP, or delivered to us by an MTA over
/// LMTP or a pipe) and how replies leave (SMTP).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mailbox {
    pub id: ChannelId,
    pub name: String,
    pub address: String,
    pub sender_name: String,
    pub imap: Option<Server>,
    pub imap_folder: String,
    pub imap_archive_folder: Option<String>,
    pub smtp: Option<Server>,
    pub accept_invalid_certs: bool,
    pub acknowledge: bool,
    pub plus_addressing: bool,
    pub active: bool,
    pub is_default: bool,
    pub fetch_error: Option<String>,
    pub fetched_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Mailbox {
    /// Whether `address` is this mailbox's, with or without a `+tag`.
    pub fn owns(&self, address: &str) -> bool {
        let address = address.trim().to_ascii_lowercase();
        let Some((local, domain)) = address.rsplit_once('@') else { return false };
        let local = local.split('+').next().unwrap_or(local);
        self.address.eq_ignore_ascii_case(&format!("{local}@{domain}"))
    }

    pub fn domain(&self) -> &str {
        self.address.rsplit_once('@').map_or("localhost", |(_, d)| d)
    }

    /// Where a customer's reply to case `number` should go: a plus address when the MTA in
    /// front of us delivers those, else the mailbox itself.
    pub fn reply_address(&self, number: i64) -> String {
        match (self.plus_addressing, self.address.rsplit_once('@')) {
            (true, Some((local, domain))) => format!("{local}+c{number}@{domain}"),
            _ => self.address.clone(),
        }
    }
}

/// A mailbox as an admin describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxSpec {
    pub name: String,
    pub address: String,
    pub sender_name: String,
    pub imap: Option<Server>,
    pub imap_folder: String,
    pub imap_archive_folder: Option<String>,
    pub smtp: Option<Server>,
    pub accept_invalid_certs: bool,
    pub acknowledge: bool,
    pub plus_addressing: bool,
    pub active: bool,
    pub is_default: bool,
}

/// Server settings as typed in a form or a config file, before they are checked.
#[derive(Debug, Clone, Default)]
pub struct ServerInput<'a> {
    pub host: Option<&'a str>,
    pub port: Option<i64>,
    pub security: Option<&'a str>,
    pub user: Option<&'a str>,
    pub password: Option<&'a str>,
}

impl ServerInput<'_> {
    /// `None` when no host is given (the mailbox does without this server).
    pub fn parse(&self, prefix: &str, protocol: Protocol, errors: &mut Errors) -> Option<Server> {
        let host = self.host.map(str::trim).filter(|h| !h.is_empty())?;
        let host = errors.take(host_name(&format!("{prefix}_host"), host));
        let security = match self.security {
            Some(text) => errors.take(Security::parse_field(&format!("{prefix}_security"), text)),
            None => Some(if protocol == Protocol::Imap { Security::Tls } else { Security::Starttls }),
        };
        let port = match self.port {
            Some(port) if (1..=65535).contains(&port) => Some(port as u16),
            Some(_) => {
                errors.push(FieldError::new(format!("{prefix}_port"), "out_of_range").with("min", 1).with("max", 65535));
                None
            }
            None => security.map(|s| protocol.default_port(s)),
        };
        let user = self.user.map(str::trim).filter(|u| !u.is_empty());
        let user = match user {
            Some(user) => errors.take(line(&format!("{prefix}_user"), user, 1, 320)),
            None => None,
        };
        let password = self.password.filter(|p| !p.is_empty()).map(str::to_owned);
        Some(Server { host: host?, port: port?, security: security?, user, password })
    }
}

/// A mailbox as typed in a form or a config file, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct MailboxInput<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub sender_name: &'a str,
    pub imap: ServerInput<'a>,
    pub imap_folder: Option<&'a str>,
    pub imap_archive_folder: Option<&'a str>,
    pub smtp: ServerInput<'a>,
    pub accept_invalid_certs: bool,
    pub acknowledge: bool,
    pub plus_addressing: bool,
    pub active: bool,
    pub is_default: bool,
}

impl MailboxInput<'_> {
    pub fn parse(&self, errors: &mut Errors) -> Option<MailboxSpec> {
        let name = errors.take(line("name", self.name, 1, 100));
        let address = errors.take(mailbox_address("address", self.address));
        let sender_name = errors.take(line("sender_name", self.sender_name, 0, 100));
        let imap = self.imap.parse("imap", Protocol::Imap, errors);
        if imap.as_ref().is_some_and(|s| s.user.is_none()) {
            errors.push(FieldError::required("imap_user"));
        }
        let imap_folder = errors.take(folder("imap_folder", self.imap_folder.unwrap_or("INBOX")));
        let archive = self.imap_archive_folder.map(str::trim).filter(|f| !f.is_empty());
        let imap_archive_folder = archive.map(|name| errors.take(folder("imap_archive_folder", name)));
        let smtp = self.smtp.parse("smtp", Protocol::Smtp, errors);
        Some(MailboxSpec {
            name: name?,
            address: address?,
            sender_name: sender_name?,
            imap,
            imap_folder: imap_folder?,
            imap_archive_folder: match imap_archive_folder {
                Some(checked) => Some(checked?),
                None => None,
            },
            smtp,
            accept_invalid_certs: self.accept_invalid_certs,
            acknowledge: self.acknowledge,
            plus_addressing: self.plus_addressing,
            active: self.active,
            is_default: self.is_default,
        })
    }
}

/// A DNS name or an IP address, as a mail server's host.
pub fn host_name(field: &str, value: &str) -> Result<String, FieldError> {
    let value = value.trim().trim_end_matches('.').to_ascii_lowercase();
    let literal = value.trim_start_matches('[').trim_end_matches(']');
    let valid = literal.parse::<std::net::IpAddr>().is_ok()
        || (!value.is_empty()
            && value.len() <= 253
            && value.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }));
    if valid { Ok(literal.to_owned()) } else { Err(FieldError::new(field, "invalid_host")) }
}

/// A mailbox's own address.
pub fn mailbox_address(field: &str, value: &str) -> Result<String, FieldError> {
    EmailAddress::parse(field, value).map(EmailAddress::into_string)
}

/// An IMAP folder name: `INBOX`, `Archive/2026`, `Входящие`.
pub fn folder(field: &str, value: &str) -> Result<String, FieldError> {
    line(field, value, 1, 200)
}

/// The delivery error of a reply whose mailbox has no SMTP server: a code, shown to agents in
/// their language (errors from mail servers are kept as the servers wrote them).
pub const NO_SMTP_SERVER: &str = "mailbox_without_smtp";

/// `[#1042]` as we put it in outgoing subjects.
pub fn case_token(subject: &str) -> Option<i64> {
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        let after = &rest[start + 2..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && after[digits.len()..].starts_with(']') {
            return digits.parse().ok();
        }
        rest = after;
    }
    None
}

/// `support+c1042@example.ru`: the case a reply address carries.
pub fn plus_case(address: &str) -> Option<i64> {
    let local = address.split('@').next()?;
    let tag = local.split_once('+')?.1;
    tag.strip_prefix('c')?.parse().ok()
}

const PREFIXES: &[&str] = &[
    "re",
    "fw",
    "fwd",
    "aw",
    "wg",
    "sv",
    "vs",
    "tr",
    "antw",
    "antwort",
    "rif",
    "r",
    "odp",
    "отв",
    "ответ",
    "пересл",
    "переслано",
    "пер",
    "отв.",
    "ha",
];

/// Strips reply and forward prefixes (with counters like `Re[2]:` or `Re(3):`) and our case
/// token; says whether any prefix was there.
fn strip_prefixes(subject: &str) -> (String, bool) {
    let mut text = subject.trim().to_owned();
    if let Some(number) = case_token(&text) {
        text = text.replace(&format!("[#{number}]"), " ");
    }
    let mut stripped = false;
    loop {
        let trimmed = text.trim_start();
        // The colon is found in the original text: lower-casing may change byte offsets.
        let Some(colon) = trimmed.find(':') else { break };
        let label = trimmed[..colon].trim().to_lowercase();
        let head = label.split(['[', '(']).next().unwrap_or(&label).trim();
        let counter = label[head.len()..].trim();
        let counter_ok = counter.is_empty()
            || ((counter.starts_with('[') && counter.ends_with(']')) || (counter.starts_with('(') && counter.ends_with(')')))
                && counter.len() >= 2
                && counter[1..counter.len() - 1].chars().all(|c| c.is_ascii_digit());
        if PREFIXES.contains(&head) && counter_ok {
            text = trimmed[colon + 1..].to_owned();
            stripped = true;
        } else {
            break;
        }
    }
    (text, stripped)
}

/// A subject without `Re:`, `Fwd:`, `Отв:`, `Ответ:`, `Пересл:`, `AW:`, `SV:` and counters,
/// without our case token, lower-cased with whitespace collapsed.
pub fn normalize_subject(subject: &str) -> String {
    strip_prefixes(subject).0.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Whether the subject says the message answers or forwards another.
pub fn is_reply_subject(subject: &str) -> bool {
    strip_prefixes(subject).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_plus_addresses() {
        assert_eq!(case_token("Re: Не приехал курьер [#1042]"), Some(1042));
        assert_eq!(case_token("Order [#12a] [#7]"), Some(7));
        assert_eq!(case_token("#1042 without brackets"), None);
        assert_eq!(plus_case("support+c1042@example.ru"), Some(1042));
        assert_eq!(plus_case("support@example.ru"), None);
        assert_eq!(plus_case("support+news@example.ru"), None);
    }

    #[test]
    fn prefixes_in_many_languages_are_stripped() {
        for subject in [
            "Re: Заказ 5512",
            "RE: Re: Заказ 5512",
            "Отв: Заказ 5512",
            "Ответ: Заказ  5512",
            "Пересл: Заказ 5512",
            "AW: Заказ 5512",
            "SV: Заказ 5512",
            "Re[2]: Заказ 5512",
            "Fwd: Re(3): Заказ 5512",
            "Re: Заказ 5512 [#1042]",
        ] {
            assert_eq!(normalize_subject(subject), "заказ 5512", "{subject}");
        }
        assert_eq!(normalize_subject("Reason: broken"), "reason: broken", "a word is not a prefix");
        assert_eq!(normalize_subject("Refund: please"), "refund: please");
        assert_eq!(normalize_subject("İİ: x"), "i̇i̇: x", "lower-casing that changes lengths does not panic");
        assert!(is_reply_subject("Отв: Заказ"));
        assert!(!is_reply_subject("Заказ: доставка"));
    }
}
