//! A mailbox: an e-mail channel's settings (its address, its IMAP and SMTP servers and how it
//! answers), how an admin types them, and which addresses are its own (plus addresses too).

use opora_domain::channel::Channel;
use opora_domain::error::{Errors, FieldError};
use opora_domain::string_enum;
use opora_domain::validate::{EmailAddress, line};
use opora_domain::{ChannelId, Timestamp};
use serde::{Deserialize, Serialize};

string_enum! {
    /// How a connection to a mail server is protected.
    pub enum Security {
        Tls => "tls",
        Starttls => "starttls",
        Plain => "none",
    }
}

/// An IMAP or SMTP server and the account on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: Option<String>,
    /// Stored with the channel's settings; never shown back (the API says whether one is set).
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
/// LMTP or a pipe) and how replies leave (SMTP). A channel of kind `email`, seen through its
/// settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Mailbox {
    pub id: ChannelId,
    pub name: String,
    pub settings: Settings,
    pub active: bool,
    pub is_default: bool,
    pub fetch_error: Option<String>,
    pub fetched_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A mailbox's own settings, as the channel stores them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub address: String,
    #[serde(default)]
    pub sender_name: String,
    #[serde(default)]
    pub imap: Option<Server>,
    #[serde(default = "inbox")]
    pub imap_folder: String,
    #[serde(default)]
    pub imap_archive_folder: Option<String>,
    #[serde(default)]
    pub smtp: Option<Server>,
    #[serde(default)]
    pub accept_invalid_certs: bool,
    #[serde(default = "yes")]
    pub acknowledge: bool,
    #[serde(default)]
    pub plus_addressing: bool,
}

fn inbox() -> String {
    "INBOX".to_owned()
}

fn yes() -> bool {
    true
}

impl Settings {
    /// The settings of an e-mail channel; a channel whose settings cannot be read (edited by
    /// hand) gets none, and says so.
    pub fn of(channel: &Channel) -> Result<Settings, String> {
        serde_json::from_value(channel.settings.clone()).map_err(|e| format!("mailbox settings: {e}"))
    }
}

impl Mailbox {
    pub fn from_channel(channel: &Channel) -> Result<Mailbox, String> {
        Ok(Mailbox {
            id: channel.id,
            name: channel.name.clone(),
            settings: Settings::of(channel)?,
            active: channel.active,
            is_default: channel.is_default,
            fetch_error: channel.error.clone(),
            fetched_at: channel.checked_at,
            created_at: channel.created_at,
            updated_at: channel.updated_at,
        })
    }

    /// The spec that would give this mailbox, to compare with a configured one.
    pub fn spec(&self) -> MailboxSpec {
        MailboxSpec { name: self.name.clone(), settings: self.settings.clone(), active: self.active, is_default: self.is_default }
    }
}

impl Settings {
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
    pub settings: Settings,
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
        let Some(host) = self.host.map(str::trim).filter(|h| !h.is_empty()) else {
            // Without a host the server is not used, but a wrong value is still refused.
            if let Some(text) = self.security {
                errors.take(Security::parse_field(&format!("{prefix}_security"), text));
            }
            if self.port.is_some_and(|port| !(1..=65535).contains(&port)) {
                errors.push(FieldError::new(format!("{prefix}_port"), "out_of_range").with("min", 1).with("max", 65535));
            }
            return None;
        };
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
        let settings = Settings {
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
        };
        Some(MailboxSpec { name: name?, settings, active: self.active, is_default: self.is_default })
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

/// `support+c1042@example.ru`: the case a reply address carries.
pub fn plus_case(address: &str) -> Option<i64> {
    let local = address.split('@').next()?;
    let tag = local.split_once('+')?.1;
    tag.strip_prefix('c')?.parse().ok()
}

impl MailboxSpec {
    /// The settings as the mailbox form sends them (flat fields), every one given: what the
    /// driver's settings check takes, with nothing left to merge.
    pub fn form(&self) -> serde_json::Value {
        let s = &self.settings;
        let mut form = serde_json::json!({
            "address": s.address, "sender_name": s.sender_name, "imap_folder": s.imap_folder,
            "imap_archive_folder": s.imap_archive_folder, "accept_invalid_certs": s.accept_invalid_certs,
            "acknowledge": s.acknowledge, "plus_addressing": s.plus_addressing,
        });
        for (prefix, server) in [("imap", &s.imap), ("smtp", &s.smtp)] {
            let fields = match server {
                Some(s) => {
                    serde_json::json!({"host": s.host, "port": s.port, "security": s.security, "user": s.user.clone().unwrap_or_default(),
                                              "password": s.password.clone().unwrap_or_default()})
                }
                None => serde_json::json!({"host": null}),
            };
            if let (Some(form), Some(fields)) = (form.as_object_mut(), fields.as_object()) {
                for (key, value) in fields {
                    form.insert(format!("{prefix}_{key}"), value.clone());
                }
            }
        }
        form
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_addresses_name_a_case() {
        assert_eq!(plus_case("support+c1042@example.ru"), Some(1042));
        assert_eq!(plus_case("support@example.ru"), None);
        assert_eq!(plus_case("support+news@example.ru"), None);
    }
}
